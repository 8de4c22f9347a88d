/**
 * The benchmarks' way into the IPVS test VM: the call test/helpers/vm.ts
 * makes (scripts/vm/build-image.mjs for the kernel and initramfs,
 * scripts/vm/boot.sh for qemu, a job folder with env.sh and script.sh, the
 * exit status in `status`), written again in plain JavaScript so a bench runs
 * with `node` alone, and with the two knobs a benchmark wants and a test does
 * not: the guest's memory and number of CPUs. It also echoes the guest's
 * output while it runs (`onOutput`), since a bench run lasts minutes.
 *
 * The guest sees this checkout at the same path, its writes in RAM; qemu is
 * killed past `timeoutMs` and whenever this process ends (boot.sh is leashed
 * to our pipe).
 */
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
const VM_SCRIPTS = join(REPO_ROOT, 'scripts', 'vm')
const BUILD_TIMEOUT_MS = 180_000
const KILL_GRACE_MS = 5_000
const POLL_MS = 500

/** @returns {Promise<{ kernel: string, initrd: string, version: string }>} */
export function vmImage() {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(VM_SCRIPTS, 'build-image.mjs')], { timeout: BUILD_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`cannot build the VM image: ${err.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout))
      } catch (e) {
        reject(new Error(`scripts/vm/build-image.mjs printed no usable image: ${e.message}\n${stdout}${stderr}`))
      }
    })
  })
}

const shellQuote = (v) => `'${String(v).replaceAll("'", "'\\''")}'`

/**
 * Boot, run `script` (bash, as root, cwd = the checkout), return its status
 * and output. Throws when the VM cannot boot, the guest setup fails or the
 * run outlives `timeoutMs`.
 *
 * @param {{ script: string, timeoutMs: number, env?: Record<string, string>, memoryMb?: number, cpus?: number,
 *           onOutput?: (text: string) => void }} opts
 */
export async function runInVm(opts) {
  const { kernel, initrd, version } = await vmImage()
  const job = mkdtempSync(join(tmpdir(), 'kats-bench-vm-'))
  const env = { ...(opts.env ?? {}), KATS_VM_CWD: REPO_ROOT, KATS_VM_TIMEOUT_S: String(Math.ceil(opts.timeoutMs / 1000)) }
  copyFileSync(join(VM_SCRIPTS, 'guest-session.sh'), join(job, 'session.sh'))
  writeFileSync(join(job, 'env.sh'), Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''))
  writeFileSync(join(job, 'script.sh'), opts.script)

  const started = Date.now()
  const args = [join(VM_SCRIPTS, 'boot.sh'), kernel, initrd, job, String(opts.memoryMb ?? 1024), String(opts.cpus ?? 1)]
  const child = spawn('bash', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let consoleText = ''
  const keep = (chunk) => { consoleText = (consoleText + chunk.toString('utf8')).slice(-32_768) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.stdin.on('error', () => {})
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.stdin.destroy()
    setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref()
  }
  const onSignal = (sig) => { kill(); process.exit(sig === 'SIGINT' ? 130 : 143) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  process.once('exit', kill)

  // Echo the guest's output as it grows (the job folder is shared with the guest, uncached).
  let shown = 0
  const echo = () => {
    const path = join(job, 'output')
    if (!opts.onOutput || !existsSync(path)) return
    const text = readFileSync(path, 'utf8')
    if (text.length > shown) opts.onOutput(text.slice(shown))
    shown = text.length
  }
  const poller = setInterval(echo, POLL_MS)
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; kill() }, opts.timeoutMs)
  try {
    const code = await new Promise((resolve) => {
      child.once('error', () => resolve(null))
      child.once('close', resolve)
    })
    echo()
    const read = (name) => (existsSync(join(job, name)) ? readFileSync(join(job, name), 'utf8') : undefined)
    const output = read('output') ?? ''
    const details = () => `\n--- guest output (tail) ---\n${output.slice(-4000)}\n--- setup.log ---\n${read('setup.log') ?? ''}\n--- console (tail) ---\n${consoleText.slice(-4000)}`
    if (timedOut) throw new Error(`VM run exceeded ${opts.timeoutMs} ms; qemu killed${details()}`)
    const status = read('status')?.trim()
    if (status === undefined) throw new Error(`VM ended (boot.sh exit ${code}) without the script's exit status${details()}`)
    if (status === 'setup-failed') throw new Error(`guest setup failed${details()}`)
    const ready = join(job, 'ready')
    const bootMs = existsSync(ready) ? statSync(ready).mtimeMs - started : Number.NaN
    return { exitCode: Number(status), output, durationMs: Date.now() - started, bootMs, kernel: version }
  } finally {
    clearInterval(poller)
    clearTimeout(timer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.off('exit', kill)
    kill()
    rmSync(job, { recursive: true, force: true })
  }
}

/** The JSON value of every `@@BENCH name {json}` line the guest printed, by name (the last wins). */
export function benchResults(output) {
  const out = new Map()
  for (const line of output.split('\n')) {
    const m = /^@@BENCH (\S+) (.*)$/.exec(line)
    if (m) out.set(m[1], JSON.parse(m[2]))
  }
  return out
}

/** Print a table: `rows` are arrays of cells, the first row the header; numbers right-aligned. */
export function formatTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)))
  const right = rows[0].map((_, i) => rows.slice(1).every((r) => typeof r[i] === 'number' || /^[-+]?[\d.,]+( ?[%×a-zA-Z]+)?$|^—$/.test(String(r[i]))))
  return rows
    .map((r) => r.map((c, i) => (right[i] && i > 0 ? String(c ?? '').padStart(widths[i]) : String(c ?? '').padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n')
}
