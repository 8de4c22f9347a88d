/**
 * The VRRP runtime (dist/vrrp/runtime.js) in a process of its own, with no
 * daemon shell around it: what the VRRP child does, driven by signals, for
 * the lab tests that must not depend on the process model.
 *
 *   node vrrp-runtime-driver.mjs CONF [HINTS_JSON]
 *
 * Starts with the hints (a respawn: `{"respawn":true,"vrrpStates":{"VI_1":"MASTER"}}`),
 * logs keepalived's lines to stderr (-D), prints `STARTED`, `STATE <instance> <state>`
 * on each change; SIGHUP reloads CONF (`RELOADED`), SIGUSR1 prints
 * `STATUS <json>`, SIGUSR2 writes the three dumps (`DUMPED`), SIGTERM stops (`STOPPED`).
 */
import { loadConfig } from '../../dist/config/config.js'
import { createLogging } from '../../dist/log/logger.js'
import { VrrpRuntime } from '../../dist/vrrp/runtime.js'

const [confPath, hintsText] = process.argv.slice(2)
const log = createLogging({ console: true, detail: true, syslog: false }).logger('vrrp')
const out = (line) => process.stdout.write(`${line}\n`)

function load() {
  const { config, diagnostics } = loadConfig(confPath, { configId: 'lab' })
  const errors = diagnostics.list.filter((d) => d.severity === 'error')
  if (errors.length) {
    for (const e of errors) log.error(e.message)
    process.exit(2)
  }
  return config
}

const runtime = new VrrpRuntime({
  role: 'vrrp',
  log,
  options: { logDetail: true, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs: false, addressMonitoring: false },
  requestStop(code, reason) {
    log.error(`stop requested: ${reason}`)
    process.exit(code)
  },
})
runtime.onStateChange((instance, state) => out(`STATE ${instance} ${state}`))
process.on('SIGHUP', () => void runtime.reload(load()).then(() => out('RELOADED')))
process.on('SIGUSR1', () => out(`STATUS ${JSON.stringify(runtime.status())}`))
process.on('SIGUSR2', () => {
  runtime.dumpJson()
  runtime.dumpStats()
  runtime.dumpData()
  out('DUMPED')
})
process.on('SIGTERM', () => void runtime.stop().then(() => {
  out('STOPPED')
  process.exit(0)
}))
setInterval(() => {}, 1 << 30)
await runtime.start(load(), hintsText ? JSON.parse(hintsText) : undefined)
out('STARTED')
