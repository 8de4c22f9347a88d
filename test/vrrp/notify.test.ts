/** Notify plans: state script argv only, generic notify with 4 extra words, the FIFO line (§5.15, §5.16). */
import t from 'tap'
import type { NotifyScripts } from '../../src/config/vrrp/model.js'
import { splitScriptWords } from '../../src/daemon/script-words.js'
import { groupNotifyPlan, instanceNotifyPlan, masterRxLowerPriFifoLine, type NotifyCommand } from '../../src/vrrp/notify-plan.js'

/** What runs: the script's words (split by the script runner), then the words the plan appends. */
const argv = (c: NotifyCommand): string[] => [...splitScriptWords(c.script.command), ...c.args]
const view = (c: NotifyCommand) => ({ argv: argv(c), user: c.script.user, group: c.script.group })

const spec = (command: string, user?: string) => ({ command, user, group: undefined })
const none: NotifyScripts = { notifyMaster: undefined, notifyBackup: undefined, notifyFault: undefined, notifyStop: undefined, notify: undefined }

t.test('instance: the state script, then the generic notify with INSTANCE name state priority', async (t) => {
  const scripts: NotifyScripts = { ...none, notifyMaster: spec('/etc/keepalived/master.sh', 'root'), notify: spec('/etc/keepalived/notify.sh node1') }
  const master = instanceNotifyPlan(scripts, 'VI_1', 'MASTER', 150)
  t.same({ scripts: master.scripts.map(view), fifoLine: master.fifoLine }, {
    scripts: [
      { argv: ['/etc/keepalived/master.sh'], user: 'root', group: undefined },
      { argv: ['/etc/keepalived/notify.sh', 'node1', 'INSTANCE', 'VI_1', 'MASTER', '150'], user: undefined, group: undefined },
    ],
    fifoLine: 'INSTANCE "VI_1" MASTER 150',
  })
  t.same(instanceNotifyPlan(scripts, 'VI_1', 'STOP', 150).scripts.map((s) => argv(s).join(' ')), ['/etc/keepalived/notify.sh node1 INSTANCE VI_1 STOP 150'])
  t.same(instanceNotifyPlan(none, 'VI_1', 'FAULT', 100), { scripts: [], fifoLine: 'INSTANCE "VI_1" FAULT 100' })
})

t.test('group: GROUP name state 0', async (t) => {
  const scripts: NotifyScripts = { ...none, notifyBackup: spec('/bin/backup.sh'), notify: spec('/etc/keepalived/notify.sh node1') }
  const plan = groupNotifyPlan(scripts, 'VG1', 'BACKUP')
  t.same(plan.scripts.map(argv), [['/bin/backup.sh'], ['/etc/keepalived/notify.sh', 'node1', 'GROUP', 'VG1', 'BACKUP', '0']])
  t.equal(plan.fifoLine, 'GROUP "VG1" BACKUP 0')
})

t.test('master_rx_lower_pri FIFO line', async (t) => {
  t.equal(masterRxLowerPriFifoLine('VI_1', 150), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150')
})

t.test('notify script words: quotes, escapes (the script runner splits them)', async (t) => {
  t.same(splitScriptWords('/bin/sh -c "echo a b"'), ['/bin/sh', '-c', 'echo a b'])
  t.same(splitScriptWords("  one  'two three'\\ four "), ['one', 'two three four'])
  t.same(splitScriptWords('a ""'), ['a', ''])
  t.same(splitScriptWords(''), [])
})
