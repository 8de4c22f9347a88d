/**
 * The checker subsystem end to end on this host: real TCP_CHECKs against local
 * listeners, a recording IPVS client in place of the kernel (the VM suite,
 * test/vm, does the same against a real IPVS). Real time, short delay_loop.
 */
import t from 'tap'
import { createServer, type Server } from 'node:net'
import { CheckerRuntime } from '../../src/check/runtime.js'
import type { SubsystemContext } from '../../src/daemon/subsystem.js'
import { captureLogging } from '../../src/log/logger.js'
import { NetError } from '../../src/net/errors.js'
import type { IpvsServiceEntry } from '../../src/net/ipvs-types.js'
import { loadText } from '../helpers/config.js'
import { closedPort, closeServer as close, serverPort as portOf, tcpListener as listen } from '../fixtures/check/servers.js'
import { fakeIpvs } from '../helpers/fake-ipvs.js'
import { until } from '../helpers/process.js'

const waitFor = (what: string, test: () => boolean, timeoutMs = 8000): Promise<void> => until(test, what, timeoutMs)

const conf = (text: string) => loadText(text).config





function context(logging: ReturnType<typeof captureLogging>, stops: string[], dontReleaseIpvs = false): SubsystemContext {
  return {
    role: 'checkers',
    log: logging.logging.logger('checkers'),
    options: { logDetail: true, releaseVips: false, dontReleaseVrrp: false, dontReleaseIpvs, addressMonitoring: false },
    requestStop: (_code, reason) => void stops.push(reason),
  }
}

t.test('TCP_CHECK verdicts drive the table: removal, inhibit, return, quorum, clean stop', async (t) => {
  const a = await listen()
  const b = await listen()
  const pa = portOf(a)
  const pb = portOf(b)
  const config = conf(`
global_defs {
    lvs_timeouts tcp 600 tcpfin 30 udp 60
}
virtual_server 10.0.0.1 80 {
    delay_loop 0.3
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 ${pa} {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 127.0.0.1 ${pb} {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`)
  const ipvs = fakeIpvs()
  const logging = captureLogging()
  const stops: string[] = []
  const rt = new CheckerRuntime(context(logging, stops), { openIpvs: () => Promise.resolve(ipvs.client), random: () => 0 })
  const lines = () => logging.texts('Keepalived_healthcheckers')
  const has = (text: string) => () => lines().includes(text)
  const A = `[127.0.0.1]:tcp:${pa}`
  const B = `[127.0.0.1]:tcp:${pb}`
  const VS = '[10.0.0.1]:tcp:80'
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await rt.stop()
    if (a.listening) await close(a)
    if (b.listening) await close(b)
  })

  await rt.start(config)
  t.same(ipvs.calls, ['set-timeouts 600/30/60', 'add-service 80 rr', `add-dest 80 ${pa} w2`, `add-dest 80 ${pb} w1`], 'both real servers start in the pool')
  t.ok(lines().includes(`Activating healthchecker for service ${A} for VS ${VS}`))

  await waitFor('first successes', () => has(`TCP connection to ${A} success.`)() && has(`TCP connection to ${B} success.`)())
  t.same(ipvs.calls.length, 4, 'a success on a server already in the pool changes nothing')

  ipvs.calls.length = 0
  await close(a)
  await waitFor('A removed', () => ipvs.calls.includes(`delete-dest 80 ${pa}`))
  t.ok(lines().includes(`TCP_CHECK on service ${A} failed.`))
  t.ok(lines().includes(`Removing service ${A} from VS ${VS}`))
  t.same(ipvs.calls, [`delete-dest 80 ${pa}`], 'one DEL_DEST, nothing else')

  ipvs.calls.length = 0
  await close(b)
  await waitFor('B inhibited', () => ipvs.calls.includes(`edit-dest 80 ${pb} w0`))
  t.ok(lines().includes(`Disabling service ${B} of VS ${VS}`))
  await waitFor('quorum lost', () => lines().some((l) => l.startsWith('Lost quorum') && l.endsWith(`for VS ${VS}`)))
  t.same(ipvs.calls, [`edit-dest 80 ${pb} w0`], 'inhibit is one SET_DEST with weight 0')

  ipvs.calls.length = 0
  const a2 = await listen(pa)
  t.teardown(() => close(a2))
  await waitFor('A back', () => ipvs.calls.includes(`add-dest 80 ${pa} w2`))
  t.ok(lines().includes(`Adding service ${A} to VS ${VS}`))
  await waitFor('quorum regained', () => lines().some((l) => l.startsWith('Gained quorum')))

  stopped = true
  await rt.stop()
  t.ok(lines().includes(`Shutting down service ${A} from VS ${VS}`))
  t.ok(lines().includes(`Shutting down (inhibited) service ${B} from VS ${VS}`))
  t.same(ipvs.calls.slice(-3), ['delete-service 80', 'set-timeouts 900/120/300', 'close'], 'our service removed, timeouts restored')
  t.equal(ipvs.table.size, 0)
  t.same(stops, [])
})

t.test('a foreign service is left alone, and -I keeps ours at stop', async (t) => {
  const a = await listen()
  t.teardown(() => close(a))
  const config = conf(`
virtual_server 10.0.0.1 80 {
    delay_loop 5
    protocol TCP
    real_server 127.0.0.1 ${portOf(a)} {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`)
  const foreign: IpvsServiceEntry = {
    service: { key: { kind: 'fwmark', family: 4, fwmark: 7 }, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 0xffffffff, persistenceEngine: undefined },
    dests: [],
  }
  const ipvs = fakeIpvs([foreign])
  const logging = captureLogging()
  const rt = new CheckerRuntime(context(logging, [], true), { openIpvs: () => Promise.resolve(ipvs.client), random: () => 0 })
  await rt.start(config)
  t.same(ipvs.calls, ['add-service 80 wlc', `add-dest 80 ${portOf(a)} w1`], 'the default scheduler is wlc; the fwmark 7 service is not ours')
  await rt.stop()
  t.same(ipvs.calls.slice(2), ['close'], '-I: nothing removed')
  t.equal(ipvs.table.size, 2)
})

t.test('no IPVS in the kernel: keepalived\'s line, the checker side idles, nothing asks the daemon to stop', async (t) => {
  const config = conf(`
virtual_server 10.0.0.1 80 {
    protocol TCP
    real_server 10.0.0.2 80 {
        TCP_CHECK {
        }
    }
}
`)
  const logging = captureLogging()
  const stops: string[] = []
  const rt = new CheckerRuntime(context(logging, stops), {
    openIpvs: () => Promise.resolve(new NetError('KA_NET_IPVS_UNAVAILABLE', 'the kernel has no IPVS (generic netlink family "IPVS" not found)', { operation: 'CTRL_CMD_GETFAMILY' })),
  })
  await rt.start(config)
  await rt.stop()
  t.match(logging.texts('Keepalived_healthcheckers')[1], /^IPVS: Can't initialize ipvs: the kernel has no IPVS/)
  t.same(stops, [])
})

/** A minimal SMTP server that keeps each message's DATA. */
function smtpServer(): Promise<{ server: Server; port: number; messages: string[] }> {
  const messages: string[] = []
  const server = createServer((c) => {
    let data: string | undefined
    let buffer = ''
    c.write('220 test ESMTP\r\n')
    c.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      for (;;) {
        if (data !== undefined) {
          const end = buffer.indexOf('\r\n.\r\n')
          if (end < 0) return
          messages.push(data + buffer.slice(0, end))
          buffer = buffer.slice(end + 5)
          data = undefined
          c.write('250 queued\r\n')
          continue
        }
        const nl = buffer.indexOf('\r\n')
        if (nl < 0) return
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 2)
        if (line === 'DATA') {
          data = ''
          c.write('354 go ahead\r\n')
        } else if (line === 'QUIT') {
          c.end('221 bye\r\n')
        } else c.write('250 ok\r\n')
      }
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: portOf(server), messages })))
}

t.test('smtp_alert: a real server going down mails the checker\'s text; the LVS notify FIFO gets RS and VS lines', async (t) => {
  const smtp = await smtpServer()
  const a = await listen()
  const pa = portOf(a)
  const { mkdtempSync, openSync, readSync, rmSync, constants } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'kats-chk-rt-'))
  const fifoPath = join(dir, 'lvs.fifo')
  const config = conf(`
global_defs {
    router_id r1
    notification_email {
        ops@example.com
    }
    notification_email_from lb@example.com
    smtp_server 127.0.0.1 ${smtp.port}
    lvs_notify_fifo ${fifoPath}
}
virtual_server 10.0.0.1 80 {
    delay_loop 0.3
    protocol TCP
    real_server 127.0.0.1 ${pa} {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`)
  const ipvs = fakeIpvs()
  const logging = captureLogging()
  const rt = new CheckerRuntime(context(logging, []), { openIpvs: () => Promise.resolve(ipvs.client), random: () => 0 })
  t.teardown(async () => {
    await rt.stop()
    smtp.server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await rt.start(config)
  const reader = openSync(fifoPath, constants.O_RDONLY | constants.O_NONBLOCK)
  await close(a)
  await waitFor('the mail', () => smtp.messages.length > 0)
  const mail = smtp.messages[0]!
  t.match(mail, `Subject: [r1] Realserver [127.0.0.1]:tcp:${pa} of virtual server [10.0.0.1]:tcp:80 - DOWN\r\n`)
  t.match(mail, '\r\n=> TCP CHECK failed on service <=\r\n')
  t.match(mail, 'From: lb@example.com\r\n')
  await waitFor('quorum lost', () => logging.texts().some((l) => l.startsWith('Lost quorum')))
  const buf = Buffer.alloc(4096)
  const n = readSync(reader, buf, 0, buf.length, null)
  const lines = buf.subarray(0, n).toString().split('\n').filter((l) => l !== '')
  t.same(lines, [`VS [10.0.0.1]:tcp:80 UP`, `RS [127.0.0.1]:tcp:${pa} [10.0.0.1]:tcp:80 DOWN`, `VS [10.0.0.1]:tcp:80 DOWN`],
    'quorum up at start, then the real server and the quorum down')
  t.equal(smtp.messages.length, 1, 'the virtual server mails nothing (its smtp_alert defaults to off)')
})
