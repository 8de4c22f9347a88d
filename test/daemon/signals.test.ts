/** keepalived's signal numbers (`--signum`) and the real-time signals Node's process.on cannot take. */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { processSignals, realtimeSignalsAvailable, signalNumber } from '../../src/daemon/signals.js'

const NAMES = ['STOP', 'RELOAD', 'DATA', 'STATS', 'STATS_CLEAR', 'JSON']

t.test('--signum numbers: those of the reference, and Debian\'s keepalived when it is installed', async (t) => {
  t.same(NAMES.map(signalNumber), [15, 1, 10, 12, 63, 36])
  t.equal(signalNumber('json'), undefined, 'case-sensitive, as keepalived')
  t.equal(signalNumber('KILL'), undefined)
  if (existsSync('/usr/sbin/keepalived')) {
    for (const name of NAMES) {
      const r = spawnSync('/usr/sbin/keepalived', [`--signum=${name}`], { encoding: 'utf8', timeout: 5000 })
      t.equal(Number(r.stdout.trim()), signalNumber(name), `${name} as keepalived prints it`)
    }
  }
})

t.test('SIGRTMIN+2 and SIGRTMAX-1 reach their listeners (unhandled, they would kill this process)', async (t) => {
  t.ok(realtimeSignalsAvailable())
  const signals = processSignals()
  const before = process.listenerCount('SIGUSR2')
  const got: string[] = []
  const json = () => got.push('json')
  const clear = () => got.push('clear')
  const usr2 = () => got.push('usr2')
  signals.on('SIGRTMIN+2', json)
  signals.on('SIGRTMAX-1', clear)
  signals.on('SIGUSR2', usr2)
  process.kill(process.pid, 36)
  process.kill(process.pid, 63)
  process.kill(process.pid, 'SIGUSR2')
  const end = Date.now() + 2000
  while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  t.same(got.sort(), ['clear', 'json', 'usr2'])
  signals.off('SIGRTMIN+2', json)
  signals.off('SIGRTMAX-1', clear)
  signals.off('SIGUSR2', usr2)
  t.equal(process.listenerCount('SIGUSR2'), before)
})
