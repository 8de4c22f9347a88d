/** Notify plans: state script argv only, generic notify with 4 extra words, the FIFO line (§5.15, §5.16). */
import t from 'tap'
import type { NotifyScripts } from '../../src/config/vrrp/model.js'
import { groupNotifyPlan, instanceNotifyPlan, masterRxLowerPriFifoLine, splitCommand } from '../../src/vrrp/notify-plan.js'

const spec = (command: string, user?: string) => ({ command, user, group: undefined })
const none: NotifyScripts = { notifyMaster: undefined, notifyBackup: undefined, notifyFault: undefined, notifyStop: undefined, notify: undefined }

t.test('instance: the state script, then the generic notify with INSTANCE name state priority', async (t) => {
  const scripts: NotifyScripts = { ...none, notifyMaster: spec('/etc/keepalived/master.sh', 'root'), notify: spec('/etc/keepalived/notify.sh node1') }
  t.same(instanceNotifyPlan(scripts, 'VI_1', 'MASTER', 150), {
    scripts: [
      { argv: ['/etc/keepalived/master.sh'], user: 'root', group: undefined },
      { argv: ['/etc/keepalived/notify.sh', 'node1', 'INSTANCE', 'VI_1', 'MASTER', '150'], user: undefined, group: undefined },
    ],
    fifoLine: 'INSTANCE "VI_1" MASTER 150',
  })
  t.same(instanceNotifyPlan(scripts, 'VI_1', 'STOP', 150).scripts.map((s) => s.argv.join(' ')), ['/etc/keepalived/notify.sh node1 INSTANCE VI_1 STOP 150'])
  t.same(instanceNotifyPlan(none, 'VI_1', 'FAULT', 100), { scripts: [], fifoLine: 'INSTANCE "VI_1" FAULT 100' })
})

t.test('group: GROUP name state 0', async (t) => {
  const scripts: NotifyScripts = { ...none, notifyBackup: spec('/bin/backup.sh'), notify: spec('/etc/keepalived/notify.sh node1') }
  const plan = groupNotifyPlan(scripts, 'VG1', 'BACKUP')
  t.same(plan.scripts.map((s) => s.argv), [['/bin/backup.sh'], ['/etc/keepalived/notify.sh', 'node1', 'GROUP', 'VG1', 'BACKUP', '0']])
  t.equal(plan.fifoLine, 'GROUP "VG1" BACKUP 0')
})

t.test('master_rx_lower_pri FIFO line', async (t) => {
  t.equal(masterRxLowerPriFifoLine('VI_1', 150), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150')
})

t.test('splitCommand: words, quotes, escapes', async (t) => {
  t.same(splitCommand('/bin/sh -c "echo a b"'), ['/bin/sh', '-c', 'echo a b'])
  t.same(splitCommand("  one  'two three'\\ four "), ['one', 'two three four'])
  t.same(splitCommand('a ""'), ['a', ''])
  t.same(splitCommand(''), [])
})
