import * as net from 'node:net'
import t from 'tap'
import { emptyGlobalDefs, type GlobalDefs } from '../../src/config/global/model.js'
import { SmtpAlerter, type SmtpAlerterOptions } from '../../src/daemon/smtp-alert.js'
import {
  messageData, parseReply, quorumMailBody, realServerMail, realServerSmtpAlert, rfc2822Date, smtpConfigured,
  virtualServerMail, virtualServerSmtpAlert, vrrpGroupMail, vrrpInstanceMail, vrrpSmtpAlert,
} from '../../src/daemon/smtp-message.js'
import { captureLogging } from '../../src/log/logger.js'
import { connectStream } from '../../src/net/stream-probe.js'
import { closedPort } from '../fixtures/check/servers.js'
import { loadText } from '../helpers/config.js'

// ---------------------------------------------------------------------------
// An in-process SMTP server that records each session

interface Session {
  readonly commands: string[]
  /** Everything after DATA's 354 up to and including the final `.` line, byte for byte. */
  data: string | undefined
  readonly ended: Promise<void>
}

interface FakeServerOptions {
  /** The greeting; null: never greet. */
  greeting?: string | null
  /** The reply to a command; undefined: keepalived's happy path; null: no reply at all; 'hang-up': close the connection. */
  reply?: (command: string) => string | null | 'hang-up' | undefined
  /** The reply to the message. */
  dataReply?: string
}

interface FakeServer {
  readonly port: number
  readonly sessions: Session[]
}

const DEFAULT_REPLY: Record<string, string> = { HELO: '250 hello\r\n', MAIL: '250 ok\r\n', RCPT: '250 ok\r\n', DATA: '354 go ahead\r\n', QUIT: '221 bye\r\n' }

interface Teardown {
  teardown(fn: () => unknown): void
}

async function smtpServer(t: Teardown, o: FakeServerOptions = {}): Promise<FakeServer> {
  const sockets = new Set<net.Socket>()
  const sessions: Session[] = []
  const server = net.createServer((socket) => {
    sockets.add(socket)
    let ended!: () => void
    const session: Session = { commands: [], data: undefined, ended: new Promise((r) => (ended = r)) }
    sessions.push(session)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      sockets.delete(socket)
      ended()
    })
    if (o.greeting !== null) socket.write(o.greeting ?? '220 fake ESMTP\r\n')
    let buffer = ''
    let inData = false
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n')
          if (end < 0) return
          session.data = buffer.slice(0, end + 5)
          buffer = buffer.slice(end + 5)
          inData = false
          socket.write(o.dataReply ?? '250 queued\r\n')
          continue
        }
        const eol = buffer.indexOf('\r\n')
        if (eol < 0) return
        const command = buffer.slice(0, eol)
        buffer = buffer.slice(eol + 2)
        session.commands.push(command)
        const verb = command.split(/[ :]/)[0]!
        const scripted = o.reply?.(command)
        const reply = scripted === undefined ? DEFAULT_REPLY[verb] ?? '500 what\r\n' : scripted
        if (reply === null) continue
        if (reply === 'hang-up') {
          socket.end()
          return
        }
        socket.write(reply)
        if (verb === 'DATA' && reply.startsWith('354')) inData = true
        if (verb === 'QUIT') socket.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as net.AddressInfo).port, sessions }
}

function globalDefs(port: number | undefined, extra: Partial<GlobalDefs> = {}): GlobalDefs {
  return {
    ...emptyGlobalDefs(),
    notificationEmail: ['ops@example.com', 'noc@example.com'],
    notificationEmailFrom: 'lb1@example.com',
    smtpServer: port === undefined ? undefined : { host: '127.0.0.1', port },
    smtpHeloName: 'lb1.example.com',
    routerId: 'LB1',
    ...extra,
  }
}

const FIXED = new Date(Date.UTC(2021, 2, 1, 9, 44, 8))

function alerter(t: Teardown, global: GlobalDefs, extra: Partial<SmtpAlerterOptions> = {}) {
  const cap = captureLogging({ detail: true })
  const a = new SmtpAlerter({ global, log: cap.logging.logger('vrrp'), now: () => FIXED, hostname: 'node1', userName: 'root', ...extra })
  t.teardown(() => a.close())
  return { a, lines: () => cap.texts() }
}

// ---------------------------------------------------------------------------
// Pure parts

t.test('who gets mail: nothing without smtp_server and a recipient; keepalived\'s defaults per object', async (t) => {
  const g = globalDefs(25)
  t.ok(smtpConfigured(g))
  t.notOk(smtpConfigured({ ...g, smtpServer: undefined }))
  t.notOk(smtpConfigured({ ...g, notificationEmail: [] }))
  t.notOk(smtpConfigured({ ...g, notificationEmail: undefined }))

  t.equal(realServerSmtpAlert(undefined, g), true, 'a real server mails by default (backward compatibility)')
  t.equal(virtualServerSmtpAlert(undefined, g), false, 'a virtual server does not')
  t.equal(vrrpSmtpAlert(undefined, g), false, 'nor does an instance or group')
  const checkerOff = { ...g, smtpAlert: true, smtpAlertChecker: false }
  t.equal(realServerSmtpAlert(undefined, checkerOff), false, 'smtp_alert_checker before smtp_alert')
  t.equal(virtualServerSmtpAlert(undefined, checkerOff), false)
  t.equal(vrrpSmtpAlert(undefined, checkerOff), true, 'smtp_alert for VRRP when smtp_alert_vrrp is unset')
  t.equal(vrrpSmtpAlert(undefined, { ...checkerOff, smtpAlertVrrp: false }), false)
  t.equal(realServerSmtpAlert(undefined, { ...g, smtpAlert: false }), false)
  t.equal(virtualServerSmtpAlert(undefined, { ...g, smtpAlert: true }), true)
  t.equal(realServerSmtpAlert(true, checkerOff), true, 'as written wins')
  t.equal(vrrpSmtpAlert(false, { ...g, smtpAlert: true }), false)
})

t.test('subjects and bodies as keepalived writes them', async (t) => {
  t.same(vrrpInstanceMail('LB1', 'VI_1', 'MASTER'), { subject: '[LB1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' })
  t.same(vrrpInstanceMail('LB1', 'VI_1', 'BACKUP'), { subject: '[LB1] VRRP Instance VI_1 - Entering BACKUP state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' })
  t.same(vrrpInstanceMail('LB1', 'VI_1', 'FAULT'), { subject: '[LB1] VRRP Instance VI_1 - Entering FAULT state', body: '=> VRRP Instance is no longer owning VRRP VIPs <=' })
  t.same(vrrpInstanceMail('LB1', 'VI_1', 'STOP'), { subject: '[LB1] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' })
  t.same(vrrpGroupMail('LB1', 'VG1', 'BACKUP'), { subject: '[LB1] VRRP Group VG1 - Entering BACKUP state', body: '=> All VRRP group instances are now in BACKUP state <=' })
  t.same(vrrpGroupMail('LB1', 'VG1', 'STOP'), { subject: '[LB1] VRRP Group VG1 - Stopping', body: '=> All VRRP group instances are now stopping <=' })
  t.same(realServerMail('LB1', '[10.0.0.2]:tcp:80', '[10.0.0.1]:tcp:80', false, '=> TCP CHECK failed on service <='), {
    subject: '[LB1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN',
    body: '=> TCP CHECK failed on service <=',
  })
  t.equal(virtualServerMail('LB1', '[10.0.0.1]:tcp:80', true, 'x').subject, '[LB1] Virtualserver [10.0.0.1]:tcp:80 - UP')
  t.equal(quorumMailBody({ up: true, quorum: 1, hysteresis: 0, threshold: 1, weightSum: 2 }), '=> Gained quorum 1+0=1 <= 2 <=')
  t.equal(quorumMailBody({ up: false, quorum: 2, hysteresis: 1, threshold: 1, weightSum: 0 }), '=> Lost quorum 2+1=1 <= 0 <=')
  t.equal(quorumMailBody({ up: false, init: true, quorum: 1, hysteresis: 0, threshold: 1, weightSum: 0 }), '=> Starting with quorum down 1+0=1 <= 0 <=')
  t.equal(quorumMailBody({ up: true, stopping: true, quorum: 1, hysteresis: 0, threshold: 1, weightSum: 1 }), '=> Shutting down <=')
})

t.test('Date in RFC 2822 form, C locale, with the zone offset', async (t) => {
  t.equal(rfc2822Date(FIXED, 0), 'Mon, 01 Mar 2021 09:44:08 +0000')
  t.equal(rfc2822Date(FIXED, 60), 'Mon, 01 Mar 2021 10:44:08 +0100')
  t.equal(rfc2822Date(FIXED, -330), 'Mon, 01 Mar 2021 04:14:08 -0530')
  t.equal(rfc2822Date(new Date(Date.UTC(2020, 11, 31, 23, 30, 0)), 60), 'Fri, 01 Jan 2021 00:30:00 +0100')
  t.match(rfc2822Date(new Date()), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/)
})

t.test('the message: keepalived\'s headers in order, CRLF, the extra blank line, dot-stuffing', async (t) => {
  const base = { date: 'Mon, 01 Mar 2021 09:44:08 +0000', from: 'lb1@example.com', to: ['a@x', 'b@y'] }
  t.equal(
    messageData({ ...base, subject: '[LB1] VRRP Instance VI_1 - Entering MASTER state', body: '=> VRRP Instance is now owning VRRP VIPs <=' }),
    'Date: Mon, 01 Mar 2021 09:44:08 +0000\r\n' +
      'From: lb1@example.com\r\n' +
      'Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n' +
      'X-Mailer: Keepalived\r\n' +
      'To: a@x, b@y\r\n' +
      '\r\n' +
      '=> VRRP Instance is now owning VRRP VIPs <=\r\n' +
      '\r\n' +
      '.\r\n',
  )
  t.equal(
    messageData({ ...base, subject: 'a\r\nBcc: evil@x', body: '.hidden\nline\r\n..two\r.' }),
    'Date: Mon, 01 Mar 2021 09:44:08 +0000\r\nFrom: lb1@example.com\r\nSubject: a Bcc: evil@x\r\nX-Mailer: Keepalived\r\nTo: a@x, b@y\r\n\r\n' +
      '..hidden\r\nline\r\n...two\r\n..\r\n\r\n.\r\n',
    'a header stays one line; body lines starting with a dot are stuffed; bare CR and LF become CRLF',
  )
  const long = messageData({ ...base, subject: 's'.repeat(400), body: 'b'.repeat(600) })
  t.match(long, `Subject: ${'s'.repeat(255)}\r\n`)
  t.match(long, `\r\n\r\n${'b'.repeat(511)}\r\n\r\n.\r\n`)
})

t.test('replies: continuation lines skipped, the final line\'s code taken', async (t) => {
  t.same(parseReply(Buffer.from('220 ready\r\n')), { kind: 'reply', code: 220, length: 11 })
  t.same(parseReply(Buffer.from('250-a\r\n250-b\r\n250 c\r\nextra')), { kind: 'reply', code: 250, length: 21 })
  t.same(parseReply(Buffer.from('250-a\r\n250 c')), { kind: 'partial' })
  t.same(parseReply(Buffer.from('hello\r\n')), { kind: 'reply', code: 0, length: 7 })
})

// ---------------------------------------------------------------------------
// The dialogue

t.test('keepalived\'s dialogue and message, byte for byte, to every recipient', async (t) => {
  const server = await smtpServer(t)
  const { a, lines } = alerter(t, globalDefs(server.port))
  t.equal(a.vrrpInstance('VI_1', 'MASTER', true), true)
  await a.whenIdle()
  t.equal(server.sessions.length, 1)
  const s = server.sessions[0]!
  await s.ended
  t.same(s.commands, ['HELO lb1.example.com', 'MAIL FROM:<lb1@example.com>', 'RCPT TO:<ops@example.com>', 'RCPT TO:<noc@example.com>', 'DATA', 'QUIT'])
  t.equal(
    s.data,
    `Date: ${rfc2822Date(FIXED)}\r\n` +
      'From: lb1@example.com\r\n' +
      'Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n' +
      'X-Mailer: Keepalived\r\n' +
      'To: ops@example.com, noc@example.com\r\n' +
      '\r\n' +
      '=> VRRP Instance is now owning VRRP VIPs <=\r\n' +
      '\r\n' +
      '.\r\n',
  )
  t.same(lines(), [`Remote SMTP server [127.0.0.1]:${server.port} connected.`, 'SMTP alert successfully sent.'])
})

t.test('defaults: router_id and HELO are the host name, From is <user>@<host name>; multi-line replies', async (t) => {
  const server = await smtpServer(t, {
    greeting: '220-fake.example ESMTP\r\n220-more\r\n220 ready\r\n',
    reply: (c) => (c.startsWith('HELO') ? '250-fake.example\r\n250 hi\r\n' : undefined),
  })
  const g = { ...globalDefs(server.port), notificationEmail: ['ops@example.com'], notificationEmailFrom: undefined, smtpHeloName: undefined, routerId: undefined }
  const { a } = alerter(t, g)
  a.realServer('[10.0.0.2]:tcp:80', '[10.0.0.1]:tcp:80', false, '=> CHECK failed on service : HTTP request failed <=', undefined)
  await a.whenIdle()
  const s = server.sessions[0]!
  t.same(s.commands, ['HELO node1', 'MAIL FROM:<root@node1>', 'RCPT TO:<ops@example.com>', 'DATA', 'QUIT'])
  t.match(s.data, 'From: root@node1\r\nSubject: [node1] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN\r\n')
  t.match(s.data, '\r\n\r\n=> CHECK failed on service : HTTP request failed <=\r\n\r\n.\r\n')
})

t.test('global_defs as written: smtp_connect_timeout in seconds, a host-name smtp_server resolved once', async (t) => {
  const server = await smtpServer(t)
  const { config } = loadText(`global_defs {
  notification_email {
    ops@example.com
  }
  notification_email_from "Keepalived <ka@example.com>"
  smtp_server smtp.example.com ${server.port}
  smtp_connect_timeout 5
  router_id LB9
}
`)
  t.equal(config.global.smtpConnectTimeout, 5_000_000)
  const looked: string[] = []
  const { a } = alerter(t, config.global, { lookup: async (h) => (looked.push(h), { address: '127.0.0.1', family: 4 }) })
  a.vrrpGroup('VG1', 'BACKUP', true)
  a.virtualServer('[10.0.0.1]:tcp:80', true, quorumMailBody({ up: true, quorum: 1, hysteresis: 0, threshold: 1, weightSum: 2 }), true)
  await a.whenIdle()
  t.same(looked, ['smtp.example.com'])
  t.same(server.sessions.map((s) => s.commands[1]), ['MAIL FROM:<ka@example.com>', 'MAIL FROM:<ka@example.com>'], 'an address with its own brackets keeps them')
  t.match(server.sessions[0]!.data, 'From: Keepalived <ka@example.com>\r\nSubject: [LB9] VRRP Group VG1 - Entering BACKUP state\r\n')
  t.match(server.sessions[1]!.data, 'Subject: [LB9] Virtualserver [10.0.0.1]:tcp:80 - UP\r\n')
  t.match(server.sessions[1]!.data, '\r\n\r\n=> Gained quorum 1+0=1 <= 2 <=\r\n\r\n.\r\n')
})

t.test('a server that never greets: the timeout line within smtp_connect_timeout, then QUIT', async (t) => {
  const server = await smtpServer(t, { greeting: null, reply: () => null })
  const { a, lines } = alerter(t, globalDefs(server.port, { smtpConnectTimeout: 200_000 }))
  const start = Date.now()
  a.vrrpInstance('VI_1', 'BACKUP', true)
  await a.whenIdle()
  const elapsed = Date.now() - start
  t.ok(elapsed >= 350 && elapsed < 1500, `two reads of 200 ms bounded the mail (${elapsed} ms)`)
  const host = `[127.0.0.1]:${server.port}`
  t.same(lines(), [`Remote SMTP server ${host} connected.`, `Timeout reading data to remote SMTP server ${host}.`, `Timeout reading data to remote SMTP server ${host}.`])
  await server.sessions[0]!.ended
  t.same(server.sessions[0]!.commands, ['QUIT'], 'keepalived says QUIT and gives up when that goes unanswered too')
})

t.test('a refused RCPT: keepalived\'s error line, QUIT, no DATA', async (t) => {
  const server = await smtpServer(t, { reply: (c) => (c === 'RCPT TO:<noc@example.com>' ? '550 5.1.1 no such user\r\n' : undefined) })
  const { a, lines } = alerter(t, globalDefs(server.port))
  a.vrrpInstance('VI_1', 'FAULT', true)
  await a.whenIdle()
  const s = server.sessions[0]!
  await s.ended
  t.same(s.commands, ['HELO lb1.example.com', 'MAIL FROM:<lb1@example.com>', 'RCPT TO:<ops@example.com>', 'RCPT TO:<noc@example.com>', 'QUIT'])
  t.equal(s.data, undefined)
  t.same(lines().slice(1), [`Error processing RCPT cmd on SMTP server [127.0.0.1]:${server.port}. SMTP status code = 550`])
})

t.test('a wrong greeting, a refused message, a bad QUIT reply: each logged with keepalived\'s command name', async (t) => {
  const bad = await smtpServer(t, { greeting: '554 go away\r\n' })
  const refused = await smtpServer(t, { dataReply: '552 too big\r\n', reply: (c) => (c === 'QUIT' ? '500 huh\r\n' : undefined) })
  const one = alerter(t, globalDefs(bad.port))
  one.a.vrrpInstance('VI_1', 'MASTER', true)
  await one.a.whenIdle()
  t.same(bad.sessions[0]!.commands, ['QUIT'])
  t.same(one.lines().slice(1), [`Error processing (E)SMTP cmd on SMTP server [127.0.0.1]:${bad.port}. SMTP status code = 554`])
  const two = alerter(t, globalDefs(refused.port))
  two.a.vrrpInstance('VI_1', 'MASTER', true)
  await two.a.whenIdle()
  t.same(refused.sessions[0]!.commands.at(-1), 'QUIT')
  t.same(two.lines().slice(1), [
    `Error processing BODY cmd on SMTP server [127.0.0.1]:${refused.port}. SMTP status code = 552`,
    `Error processing QUIT cmd on SMTP server [127.0.0.1]:${refused.port}. SMTP status code = 500`,
  ])
})

t.test('a server that hangs up, and one whose reply never ends', async (t) => {
  const hangup = await smtpServer(t, { reply: (c) => (c.startsWith('MAIL') ? 'hang-up' : undefined) })
  const flood = await smtpServer(t, { greeting: 'x'.repeat(2000) })
  const one = alerter(t, globalDefs(hangup.port))
  one.a.vrrpInstance('VI_1', 'MASTER', true)
  await one.a.whenIdle()
  t.same(hangup.sessions[0]!.commands, ['HELO lb1.example.com', 'MAIL FROM:<lb1@example.com>'])
  t.same(one.lines().slice(1), [`Remote SMTP server [127.0.0.1]:${hangup.port} has closed the connection.`])

  const two = alerter(t, globalDefs(flood.port))
  two.a.vrrpInstance('VI_1', 'MASTER', true)
  await two.a.whenIdle()
  t.same(two.lines().slice(1), [`Received buffer from remote SMTP server [127.0.0.1]:${flood.port} overflow our get read buffer length.`])
  await flood.sessions[0]!.ended
  t.same(flood.sessions[0]!.commands, ['QUIT'])
})

t.test('connection refused and connection timeout', async (t) => {
  const port = await closedPort()
  const one = alerter(t, globalDefs(port))
  one.a.vrrpInstance('VI_1', 'MASTER', true)
  await one.a.whenIdle()
  t.same(one.lines(), [`SMTP connection ERROR to [127.0.0.1]:${port}.`])

  const seen: number[] = []
  const slow: typeof connectStream = async (o) => {
    seen.push(o.timeoutMs)
    return { ok: false, error: { kind: 'connect-timeout', errno: undefined, message: 'no connection' } }
  }
  const two = alerter(t, globalDefs(25), { connect: slow })
  two.a.vrrpInstance('VI_1', 'MASTER', true)
  await two.a.whenIdle()
  t.same(seen, [30_000], 'smtp_connect_timeout defaults to 30 s')
  t.same(two.lines(), ['Timeout opening connection to remote SMTP server [127.0.0.1]:25.'])

  const three = alerter(t, { ...globalDefs(25), smtpServer: { host: 'nowhere.invalid', port: 25 } }, { lookup: async () => undefined })
  three.a.vrrpInstance('VI_1', 'MASTER', true)
  await three.a.whenIdle()
  t.same(three.lines(), ['SMTP connection ERROR to [nowhere.invalid]:25.'])
})

t.test('the enable rules decide what is queued; nothing at all without smtp_server', async (t) => {
  let connects = 0
  const counting: typeof connectStream = async () => {
    connects++
    return { ok: false, error: { kind: 'connect-failed', errno: undefined, message: 'refused' } }
  }
  const off = alerter(t, globalDefs(undefined), { connect: counting })
  t.equal(off.a.vrrpInstance('VI_1', 'MASTER', true), false)
  t.equal(off.a.realServer('[r]:tcp:80', '[v]:tcp:80', true, 'x', true), false)
  t.equal(off.a.virtualServer('[v]:tcp:80', true, 'x', true), false)
  const noRecipients = alerter(t, { ...globalDefs(25), notificationEmail: undefined }, { connect: counting })
  t.equal(noRecipients.a.vrrpInstance('VI_1', 'MASTER', true), false)

  const on = alerter(t, globalDefs(25), { connect: counting })
  t.equal(on.a.realServer('[r]:tcp:80', '[v]:tcp:80', false, 'x', undefined), true, 'a real server mails by default')
  t.equal(on.a.realServer('[r]:tcp:80', '[v]:tcp:80', false, 'x', false), false)
  t.equal(on.a.virtualServer('[v]:tcp:80', false, 'x', undefined), false, 'a virtual server does not by default')
  t.equal(on.a.virtualServer('[v]:tcp:80', false, 'x', true), true)
  t.equal(on.a.vrrpInstance('VI_1', 'MASTER', false), false, 'an instance with smtp_alert off')
  t.equal(on.a.vrrpInstance('VI_2', 'MASTER'), false, 'an instance follows the global default, false')
  t.equal(on.a.vrrpInstance('VI_3', 'MASTER', true), true)
  t.equal(on.a.vrrpInstance('VI_3', 'MASTER', true), false, 'one mail per state entered (last_email_state)')
  t.equal(on.a.vrrpInstance('VI_3', 'BACKUP', true), true)
  t.equal(on.a.vrrpGroup('VI_3', 'BACKUP', true), true, 'groups are tracked apart from instances')
  await on.a.whenIdle()
  t.equal(connects, 5)

  const vrrpOn = alerter(t, globalDefs(25, { smtpAlertVrrp: true, smtpAlertChecker: false, unsupported: [
    { keyword: 'no_email_faults', args: [], block: undefined },
    { keyword: 'no_checker_emails', args: [], block: undefined },
  ] }), { connect: counting })
  t.equal(vrrpOn.a.vrrpInstance('VI_1', 'MASTER'), true, 'smtp_alert_vrrp')
  t.equal(vrrpOn.a.vrrpInstance('VI_1', 'FAULT'), false, 'no_email_faults')
  t.equal(vrrpOn.a.realServer('[r]:tcp:80', '[v]:tcp:80', false, 'x', undefined), false, 'smtp_alert_checker off')
  t.equal(vrrpOn.a.realServer('[r]:tcp:80', '[v]:tcp:80', false, 'x', true, false), false, 'no_checker_emails: the real server did not change')
  t.equal(vrrpOn.a.realServer('[r]:tcp:80', '[v]:tcp:80', false, 'x', true, true), true)
})

t.test('one connection at a time, in the order queued; a full queue drops with a line', async (t) => {
  const server = await smtpServer(t)
  // Counted on our side: the server may see the next connection before the previous one's close.
  let open = 0
  let maxOpen = 0
  const tracking: typeof connectStream = async (o) => {
    const r = await connectStream(o)
    if (!r.ok) return r
    maxOpen = Math.max(maxOpen, ++open)
    const close = r.stream.close
    let closed = false
    return { ok: true, stream: { ...r.stream, close: () => (closed ? undefined : ((closed = true), open--, close())) } }
  }
  const { a, lines } = alerter(t, globalDefs(server.port), { queueMax: 2, connect: tracking })
  t.equal(a.vrrpInstance('VI_1', 'MASTER', true), true, 'starts at once')
  t.equal(a.vrrpInstance('VI_2', 'MASTER', true), true)
  t.equal(a.vrrpGroup('VG1', 'MASTER', true), true)
  t.equal(a.pending, 2)
  t.equal(a.vrrpInstance('VI_3', 'MASTER', true), false)
  t.equal(lines()[0], 'SMTP alert queue full (2) - dropping alert "[LB1] VRRP Instance VI_3 - Entering MASTER state"')
  await a.whenIdle()
  t.equal(maxOpen, 1)
  t.equal(open, 0, 'every connection closed')
  t.same(server.sessions.map((s) => /Subject: (.*)\r\n/.exec(s.data ?? '')?.[1]), [
    '[LB1] VRRP Instance VI_1 - Entering MASTER state',
    '[LB1] VRRP Instance VI_2 - Entering MASTER state',
    '[LB1] VRRP Group VG1 - Entering MASTER state',
  ])
  t.equal(lines().filter((l) => l === 'SMTP alert successfully sent.').length, 3)
})

t.test('close() while sending aborts the mail, drops the queue and sends nothing more', async (t) => {
  const server = await smtpServer(t, { reply: (c) => (c.startsWith('HELO') ? null : undefined) })
  const { a, lines } = alerter(t, globalDefs(server.port, { smtpConnectTimeout: 10_000_000 }))
  a.vrrpInstance('VI_1', 'MASTER', true)
  a.vrrpInstance('VI_2', 'MASTER', true)
  for (let i = 0; i < 200 && (server.sessions[0]?.commands.length ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10))
  t.same(server.sessions[0]!.commands, ['HELO lb1.example.com'])
  const start = Date.now()
  a.close()
  await a.whenIdle()
  await server.sessions[0]!.ended
  t.ok(Date.now() - start < 1000, 'the socket is closed at once')
  t.equal(a.vrrpInstance('VI_3', 'MASTER', true), false)
  await new Promise((r) => setTimeout(r, 50))
  t.equal(server.sessions.length, 1, 'the queued mail was dropped')
  t.same(lines(), [`Remote SMTP server [127.0.0.1]:${server.port} connected.`], 'an abort is not an error')
  a.close()
})
