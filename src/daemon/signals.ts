/**
 * keepalived's signals (reference §3.2): the names `--signum` answers for, the
 * numbers on Linux/glibc (SIGRTMIN is 34 there, SIGRTMAX 64), and a signal
 * source that also delivers the two real-time signals Node's `process.on` does
 * not know (SIGRTMIN+2 for JSON, SIGRTMAX-1 for STATS_CLEAR). Left unhandled, a
 * real-time signal kills the process, so every keepalived-ts process listens
 * for both as soon as it runs.
 */
import { constants } from 'node:os'

/** What a signal means to the daemon, by keepalived's `--signum` names. */
export type SignalFunction = 'STOP' | 'RELOAD' | 'DATA' | 'STATS' | 'STATS_CLEAR' | 'JSON'

const RTMIN = 34
const RTMAX = 64

/** The signals keepalived-ts handles; the two real-time ones by keepalived's spelling. */
export type DaemonSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2' | 'SIGRTMIN+2' | 'SIGRTMAX-1'

export const SIGNAL_NUMBERS: Readonly<Record<DaemonSignal, number>> = {
  SIGTERM: constants.signals.SIGTERM,
  SIGINT: constants.signals.SIGINT,
  SIGHUP: constants.signals.SIGHUP,
  SIGUSR1: constants.signals.SIGUSR1,
  SIGUSR2: constants.signals.SIGUSR2,
  'SIGRTMIN+2': RTMIN + 2,
  'SIGRTMAX-1': RTMAX - 1,
}

const FUNCTION_SIGNALS: Readonly<Record<SignalFunction, DaemonSignal>> = {
  STOP: 'SIGTERM',
  RELOAD: 'SIGHUP',
  DATA: 'SIGUSR1',
  STATS: 'SIGUSR2',
  STATS_CLEAR: 'SIGRTMAX-1',
  JSON: 'SIGRTMIN+2',
}

/** `--signum=NAME`: the number, or undefined for a name keepalived does not know (it is case-sensitive). */
export function signalNumber(name: string): number | undefined {
  const sig = FUNCTION_SIGNALS[name as SignalFunction]
  return sig === undefined ? undefined : SIGNAL_NUMBERS[sig]
}

/** Where signals come from; {@link processSignals} in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: DaemonSignal, listener: () => void): unknown
  off(signal: DaemonSignal, listener: () => void): unknown
}

interface SignalWrap {
  onsignal: ((signum: number) => void) | undefined
  start(signum: number): number
  close(): void
  unref(): void
}

type SignalWrapClass = new () => SignalWrap

let signalWrapClass: SignalWrapClass | null | undefined

/**
 * Node's own signal handle class, the one `process.on('SIGUSR1')` uses: it
 * takes any signal number. Reached through the deprecated `process.binding`
 * (no warning printed); null when a future Node removes it.
 */
function signalWrap(): SignalWrapClass | null {
  if (signalWrapClass !== undefined) return signalWrapClass
  const quiet = process.noDeprecation
  try {
    process.noDeprecation = true
    const binding = (process as unknown as { binding(name: string): { Signal?: SignalWrapClass } }).binding('signal_wrap')
    signalWrapClass = typeof binding.Signal === 'function' ? binding.Signal : null
  } catch {
    signalWrapClass = null
  } finally {
    process.noDeprecation = quiet
  }
  return signalWrapClass
}

/** True when this Node can receive the real-time signals (JSON, STATS_CLEAR). */
export function realtimeSignalsAvailable(): boolean {
  return signalWrap() !== null
}

/** The process's signals, the real-time ones included when {@link realtimeSignalsAvailable}. */
export function processSignals(): SignalSource {
  const handles = new Map<() => void, { signal: DaemonSignal; wrap: SignalWrap }>()
  return {
    on(signal, listener) {
      if (signal !== 'SIGRTMIN+2' && signal !== 'SIGRTMAX-1') return process.on(signal, listener)
      const Wrap = signalWrap()
      if (!Wrap) return undefined
      const wrap = new Wrap()
      wrap.onsignal = () => listener()
      wrap.start(SIGNAL_NUMBERS[signal])
      // Like process.on: a signal listener alone does not keep the loop alive.
      wrap.unref()
      handles.set(listener, { signal, wrap })
      return undefined
    },
    off(signal, listener) {
      if (signal !== 'SIGRTMIN+2' && signal !== 'SIGRTMAX-1') return process.off(signal, listener)
      const h = handles.get(listener)
      if (h && h.signal === signal) {
        h.wrap.close()
        handles.delete(listener)
      }
      return undefined
    },
  }
}

/** strsignal(3) text for the signals a child is likely to die of, for `exited due to signal %d (%s)`. */
const SIGNAL_TEXT: Readonly<Record<string, string>> = {
  SIGHUP: 'Hangup', SIGINT: 'Interrupt', SIGQUIT: 'Quit', SIGILL: 'Illegal instruction', SIGTRAP: 'Trace/breakpoint trap',
  SIGABRT: 'Aborted', SIGBUS: 'Bus error', SIGFPE: 'Floating point exception', SIGKILL: 'Killed', SIGUSR1: 'User defined signal 1',
  SIGSEGV: 'Segmentation fault', SIGUSR2: 'User defined signal 2', SIGPIPE: 'Broken pipe', SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated', SIGXCPU: 'CPU time limit exceeded', SIGXFSZ: 'File size limit exceeded', SIGSYS: 'Bad system call',
}

/** A signal name's number and strsignal text (`SIGKILL` → 9, `Killed`). */
export function describeSignal(name: string): { number: number; text: string } {
  const number = (constants.signals as Record<string, number>)[name] ?? 0
  return { number, text: SIGNAL_TEXT[name] ?? `Unknown signal ${number}` }
}
