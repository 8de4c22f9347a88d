/** lvs_sync_daemon following a VRRP instance: the pure steps and the driver over a recording client. */
import t from 'tap'
import { LvsSyncDaemon, syncDaemonSteps } from '../../src/vrrp/sync-daemon.js'
import { NetError } from '../../src/net/errors.js'
import { captureLogging } from '../../src/log/logger.js'
import type { IpvsSyncDaemon } from '../../src/net/ipvs-types.js'

t.test('steps: master while MASTER, backup otherwise, nothing when unchanged, stop at STOP', async (t) => {
  t.same(syncDaemonSteps(undefined, 'BACKUP'), [{ op: 'start', state: 'backup' }])
  t.same(syncDaemonSteps('backup', 'MASTER'), [{ op: 'stop', state: 'backup' }, { op: 'start', state: 'master' }])
  t.same(syncDaemonSteps('master', 'FAULT'), [{ op: 'stop', state: 'master' }, { op: 'start', state: 'backup' }])
  t.same(syncDaemonSteps('backup', 'FAULT'), [])
  t.same(syncDaemonSteps('master', 'STOP'), [{ op: 'stop', state: 'master' }])
  t.same(syncDaemonSteps(undefined, 'STOP'), [])
})

function recorder(failStart = false) {
  const calls: string[] = []
  return {
    calls,
    startDaemon: (d: IpvsSyncDaemon) => {
      calls.push(`start ${d.state} ${d.interface} ${d.syncId}`)
      return Promise.resolve(failStart ? new NetError('KA_NET_IPVS', 'refused', { operation: 'IPVS_CMD_NEW_DAEMON', errno: { name: 'EINVAL', number: 22 } }) : undefined)
    },
    stopDaemon: (s: 'master' | 'backup') => {
      calls.push(`stop ${s}`)
      return Promise.resolve(new NetError('KA_NET_IPVS', 'not running', { operation: 'IPVS_CMD_DEL_DAEMON', errno: { name: 'ESRCH', number: 3 } }))
    },
    close: () => void calls.push('close'),
  }
}

const CONF = { interface: 'eth1', instance: 'VI_1', id: 7, maxlen: undefined, port: undefined, ttl: undefined, group: undefined }

t.test('following VI_1: leftovers stopped, backup, master, backup, everything stopped at exit', async (t) => {
  const c = recorder()
  const logging = captureLogging()
  const d = new LvsSyncDaemon(CONF, c, logging.logging.logger('vrrp'))
  await d.start()
  await d.transition('BACKUP')
  await d.transition('MASTER')
  await d.transition('MASTER')
  await d.transition('BACKUP')
  await d.stop()
  t.same(c.calls, ['stop master', 'stop backup', 'start backup eth1 7', 'stop backup', 'start master eth1 7', 'stop master', 'start backup eth1 7', 'stop backup', 'close'])
  t.same(logging.texts().filter((l) => l.startsWith('IPVS')), [], 'ESRCH on stop is not an error')
})

t.test('without an instance both daemons run; a refused start is logged, not fatal', async (t) => {
  const c = recorder(true)
  const logging = captureLogging()
  const d = new LvsSyncDaemon({ ...CONF, instance: undefined }, c, logging.logging.logger('vrrp'))
  await d.start()
  await d.stop()
  t.same(c.calls, ['stop master', 'stop backup', 'start master eth1 7', 'start backup eth1 7', 'stop master', 'stop backup', 'close'])
  t.match(logging.texts()[0], /^IPVS: cannot start the master sync daemon on eth1: refused/)
})
