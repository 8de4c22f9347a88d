/**
 * Runs bash as root inside a qemu VM that has a real IPVS: Debian's kernel
 * (this machine's kernel has none), booted by scripts/vm/ with the host's root
 * under a RAM overlay, so the guest sees this checkout, node, ipvsadm and
 * keepalived at their host paths and its writes never reach the host. Every
 * IPVS scheduler module, veth, bridge, dummy, ipip and ip6_tunnel are loaded
 * before the script runs; test/vm/guest/cluster.sh builds LVS topologies.
 *
 * Each run has its own job folder (script, environment, output, exit status),
 * so runs can go in parallel; a run is bounded by `timeoutMs` (qemu killed),
 * and qemu also dies with this process, however it ends (scripts/vm/boot.sh
 * ties it to a pipe). A VM that cannot be built or booted, a setup that fails
 * in the guest and a timeout all throw a VmError carrying what the console
 * and the script printed: a VM test never passes without having run.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { guardCleanup } from './cleanup.js'

/** The checkout's root: the guest's working directory (same path in the guest). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const VM_SCRIPTS = join(REPO_ROOT, 'scripts', 'vm')
/** The guest library that builds client/director/real-server topologies. */
export const CLUSTER_LIB = join(REPO_ROOT, 'test', 'vm', 'guest', 'cluster.sh')
/** Prefix of the result lines guest scripts print (cluster.sh's `result NAME VALUE`). */
export const RESULT_MARKER = '@@RESULT'

const BUILD_TIMEOUT_MS = 180_000
const KILL_GRACE_MS = 5_000
const MAX_TIMEOUT_MS = 30 * 60_000
const CONSOLE_KEEP = 64 * 1024
const MEMORY_MB = 1024

export class VmError extends Error {
  readonly code = 'KA_TEST_VM'
}

export interface VmRun {
  readonly exitCode: number
  /** The guest command's stdout and stderr, interleaved as written. */
  readonly output: string
  /** qemu's start to its exit. */
  readonly durationMs: number
  /** qemu's start to the moment the guest was ready to run the script (modules loaded). */
  readonly bootMs: number
}

export interface VmOptions {
  /** bash, run as root in the guest with cwd = REPO_ROOT. */
  readonly script: string
  /** The whole run, boot included; qemu is killed and the call throws past it. */
  readonly timeoutMs: number
  /** Exported to the script (names are shell identifiers; KATS_VM_* is reserved). */
  readonly env?: Record<string, string>
}

interface VmImage {
  readonly kernel: string
  readonly initrd: string
  readonly version: string
}

let image: Promise<VmImage> | undefined

/** The kernel and initramfs (built once per process, cached across processes by scripts/vm/build-image.mjs). */
export function vmImage(): Promise<VmImage> {
  image ??= new Promise<VmImage>((resolvePromise, reject) => {
    execFile(process.execPath, [join(VM_SCRIPTS, 'build-image.mjs')], { timeout: BUILD_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        reject(new VmError(`cannot build the VM image (scripts/test.sh installs qemu-system-x86, linux-image-amd64, busybox-static, xz-utils): ${err.message}\n${stderr}`))
        return
      }
      try {
        const parsed = JSON.parse(stdout) as VmImage
        if (!existsSync(parsed.kernel) || !existsSync(parsed.initrd)) throw new Error(`missing ${parsed.kernel} or ${parsed.initrd}`)
        resolvePromise(parsed)
      } catch (e) {
        reject(new VmError(`scripts/vm/build-image.mjs printed no usable image: ${(e as Error).message}\n${stdout}${stderr}`))
      }
    })
  })
  image.catch(() => { image = undefined })
  return image
}

/** Boot a VM, run `script` in it, return its exit status and output. */
export async function runInVm(opts: VmOptions): Promise<VmRun> {
  if (!(opts.timeoutMs > 0 && opts.timeoutMs <= MAX_TIMEOUT_MS)) throw new VmError(`timeoutMs must be in (0, ${MAX_TIMEOUT_MS}]`)
  const env = opts.env ?? {}
  for (const name of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith('KATS_VM_')) throw new VmError(`bad environment name for the guest: ${name}`)
  }
  const { kernel, initrd } = await vmImage()

  const job = mkdtempSync(join(tmpdir(), 'kats-vm-'))
  const exports = { ...env, KATS_VM_CWD: REPO_ROOT, KATS_VM_TIMEOUT_S: String(Math.ceil(opts.timeoutMs / 1000)) }
  copyFileSync(join(VM_SCRIPTS, 'guest-session.sh'), join(job, 'session.sh'))
  writeFileSync(join(job, 'env.sh'), Object.entries(exports).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''))
  writeFileSync(join(job, 'script.sh'), opts.script)

  const started = Date.now()
  const child = spawn('bash', [join(VM_SCRIPTS, 'boot.sh'), kernel, initrd, job, String(MEMORY_MB)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let consoleText = ''
  const keep = (chunk: Buffer): void => {
    consoleText = (consoleText + chunk.toString('utf8')).slice(-CONSOLE_KEEP)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  child.stdin!.on('error', () => { /* boot.sh gone: nothing left to leash */ })
  const stop = guardCleanup(() => killVm(child))
  try {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killVm(child)
    }, opts.timeoutMs)
    const exit = await new Promise<{ code: number | null; error?: Error }>((res) => {
      child.once('error', (error) => res({ code: null, error }))
      child.once('close', (code) => res({ code }))
    })
    clearTimeout(timer)
    const durationMs = Date.now() - started
    const read = (name: string): string | undefined => {
      const path = join(job, name)
      return existsSync(path) ? readFileSync(path, 'utf8') : undefined
    }
    const output = read('output') ?? ''
    const details = (): string =>
      `\n--- guest output (tail) ---\n${tail(output)}\n--- setup.log ---\n${tail(read('setup.log') ?? '')}\n--- console (tail) ---\n${tail(consoleText)}`
    if (exit.error) throw new VmError(`cannot start scripts/vm/boot.sh: ${exit.error.message}`)
    if (timedOut) throw new VmError(`VM run exceeded ${opts.timeoutMs} ms; qemu killed${details()}`)
    const status = read('status')?.trim()
    if (status === undefined) throw new VmError(`VM ended (boot.sh exit ${exit.code}) without the script's exit status: boot or guest setup failed${details()}`)
    if (status === 'setup-failed') throw new VmError(`guest setup failed${details()}`)
    const exitCode = Number(status)
    if (!Number.isInteger(exitCode)) throw new VmError(`unreadable exit status ${JSON.stringify(status)}${details()}`)
    const readyPath = join(job, 'ready')
    const bootMs = existsSync(readyPath) ? statSync(readyPath).mtimeMs - started : Number.NaN
    return { exitCode, output, durationMs, bootMs }
  } finally {
    stop()
    rmSync(job, { recursive: true, force: true })
  }
}

/** Closing boot.sh's stdin makes it kill qemu; SIGKILL follows if it lingers. */
function killVm(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.stdin?.destroy()
  const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
  timer.unref()
  child.once('exit', () => clearTimeout(timer))
}

/** Every `@@RESULT name value` line, by name, values in order; `\n` in a value stands for a newline. */
export function vmResults(output: string): Map<string, string[]> {
  const results = new Map<string, string[]>()
  for (const line of output.split('\n')) {
    const m = /^@@RESULT (\S+)(?: (.*))?$/.exec(line)
    if (!m) continue
    const values = results.get(m[1]!) ?? []
    values.push((m[2] ?? '').replaceAll('\\n', '\n'))
    results.set(m[1]!, values)
  }
  return results
}

/** The last value printed for `name`; throws (showing the output) when the script never printed it. */
export function vmResult(run: VmRun, name: string): string {
  const value = vmResults(run.output).get(name)?.at(-1)
  if (value === undefined) throw new VmError(`the guest printed no ${RESULT_MARKER} ${name} (exit ${run.exitCode})\n--- guest output (tail) ---\n${tail(run.output)}`)
  return value
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n')
}
