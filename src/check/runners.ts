/**
 * From the configuration to runnable checkers: one {@link CheckerRunner} per
 * configured checker of a real server (SMTP_CHECK's deprecated `host` blocks
 * add one each), with the target keepalived names in its lines. A checker that
 * cannot run (MISC_CHECK whose script is refused, FILE_CHECK naming a missing
 * track_file, BFD_CHECK) is left out with a line saying so; keepalived drops
 * such checkers too, so its real server is judged by the others.
 */
import type { Checker, RealServer, VirtualServer } from '../config/lvs/model.js'
import type { TrackFile } from '../config/vrrp/model.js'
import type { ScriptRunner } from '../daemon/notify.js'
import { rsText, vsText } from '../ipvs/desired.js'
import { createDnsCheckRunner } from './dns.js'
import { createFileCheckRunner } from './file.js'
import { httpRunner } from './http.js'
import { createMiscCheckRunner } from './misc.js'
import { createPingCheckRunner } from './ping.js'
import type { CheckerRunner, CheckTarget } from './probe.js'
import { smtpRunners } from './smtp.js'
import { tcpRunner } from './tcp.js'
import { createUdpCheckRunner } from './udp.js'

export interface RunnerEnv {
  readonly scripts: ScriptRunner
  readonly trackFiles: readonly TrackFile[]
  readonly log: { info(text: string): void; warning(text: string): void }
}

/** What keepalived's lines call the real server and its virtual server, and where checkers connect by default. */
export function targetOf(rs: RealServer, vs: VirtualServer): CheckTarget {
  return {
    address: rs.address,
    port: rs.port,
    family: rs.address.includes(':') ? 6 : 4,
    protocol: vs.protocol,
    text: rsText(rs, vs),
    vsText: vsText(vs),
    virtualhost: rs.virtualhost ?? vs.virtualhost,
  }
}

/** The runners for one configured checker; `id` is unique in the daemon (SMTP hosts get `id/hN`). */
export function runnersFor(checker: Checker, rs: RealServer, vs: VirtualServer, id: string, env: RunnerEnv): CheckerRunner[] {
  const target = targetOf(rs, vs)
  switch (checker.kind) {
    case 'TCP_CHECK':
      return [tcpRunner(checker, target, id)]
    case 'HTTP_GET':
    case 'SSL_GET':
      return [httpRunner(checker, target, id)]
    case 'SMTP_CHECK':
      return smtpRunners(checker, target, id)
    case 'DNS_CHECK':
      return [createDnsCheckRunner({ id, target, check: checker })]
    case 'UDP_CHECK':
      return [createUdpCheckRunner({ id, target, check: checker })]
    case 'PING_CHECK':
      return [createPingCheckRunner({ id, target, check: checker })]
    case 'MISC_CHECK': {
      const runner = createMiscCheckRunner({ id, target, check: checker, scripts: env.scripts, virtualServerDelayLoop: vs.delayLoop, realServerWeight: rs.weight })
      return runner ? [runner] : []
    }
    case 'FILE_CHECK': {
      const file = env.trackFiles.find((f) => f.name === checker.trackFile)
      if (!file) {
        env.log.warning(`FILE_CHECK on service ${target.text} of VS ${target.vsText}: track_file ${checker.trackFile} is not defined - ignoring`)
        return []
      }
      const trackFile = { name: file.name, file: file.file, weight: checker.weight ?? file.weight, reverse: checker.weight === undefined ? file.reverse : checker.reverse }
      return [createFileCheckRunner({ id, target, check: checker, trackFile, realServerWeight: rs.weight, log: env.log })]
    }
    case 'BFD_CHECK':
      env.log.warning(`BFD_CHECK on service ${target.text} of VS ${target.vsText} is not supported yet - the real server is judged by its other checkers`)
      return []
  }
}

/** The body keepalived's checker puts in a real server's mail (each check_*.c's smtp_alert call). */
export function checkerMailBody(kind: string, up: boolean): string {
  const word = up ? 'succeed' : 'failed'
  switch (kind) {
    case 'TCP_CHECK': return `=> TCP CHECK ${word} on service <=`
    case 'UDP_CHECK': return `=> UDP CHECK ${word} on service <=`
    case 'MISC_CHECK': return `=> MISC CHECK ${word} on service <=`
    case 'FILE_CHECK': return `=> FILE CHECK ${word} on service <=`
    case 'PING_CHECK': return `=> PING CHECK ${word} on service <=`
    case 'DNS_CHECK': return `=> DNS_CHECK: ${word} on service <=`
    case 'HTTP_GET':
    case 'SSL_GET': return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP request failed <='
    default: return `=> CHECK ${word} on service <=`
  }
}
