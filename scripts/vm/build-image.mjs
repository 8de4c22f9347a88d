// Builds (once, then from a cache) what boots Debian's kernel in qemu for the
// IPVS tests:
// - the tiny initramfs: busybox-static, guest-init.sh as /init, and the
//   modules /init needs before it can reach the host's root over 9p (virtio,
//   9p and their dependencies, overlay). Everything else, ip_vs included, is
//   loaded later with kmod's modprobe from the host's own /lib/modules.
// - the kernel's uncompressed ELF image (vmlinux), which qemu starts through
//   its PVH entry point: that skips the BIOS boot and the in-guest xz
//   decompression, 3-4 s of an emulated boot. Without xz it falls back to
//   the compressed vmlinuz.
//
//   node scripts/vm/build-image.mjs     # prints {"kernel", "initrd", "version", "cached"}
//
// The kernel is the newest /boot/vmlinuz-*-amd64 (not -cloud-amd64, which
// lacks 9p) that has its modules, or the version in KATS_VM_KERNEL. The archive (cpio newc, gzip) is written without
// the cpio binary. Both files live under /var/cache/keepalived-ts-vm (or
// $TMPDIR/keepalived-ts-vm when that is not writable), named by a hash of
// what they are made of (kernel version, /init, this script, busybox, module
// files), and are renamed into place so that concurrent builds cannot tear them.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const INIT_SCRIPT = fileURLToPath(new URL('guest-init.sh', import.meta.url))
const BUSYBOX = '/bin/busybox'
/** What /init insmods; their dependencies are found with modinfo and come first. */
const EARLY_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay']

function fail(message) {
  process.stderr.write(`build-initramfs: ${message}\n`)
  process.exit(1)
}

function compareVersions(a, b) {
  const pa = a.split(/[.-]/)
  const pb = b.split(/[.-]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? ''
    const y = pb[i] ?? ''
    const nx = Number(x)
    const ny = Number(y)
    const d = Number.isInteger(nx) && Number.isInteger(ny) && x !== '' && y !== '' ? nx - ny : x.localeCompare(y)
    if (d !== 0) return d
  }
  return 0
}

function pickKernel() {
  const wanted = process.env.KATS_VM_KERNEL
  const versions = readdirSync('/boot')
    .map((f) => /^vmlinuz-(.+-amd64)$/.exec(f)?.[1])
    // Debian's cloud kernel has no 9p.
    .filter((v) => v !== undefined && !v.endsWith('-cloud-amd64') && (wanted === undefined || v === wanted))
    .filter((v) => existsSync(`/lib/modules/${v}/modules.dep`))
    .sort(compareVersions)
  const version = versions.at(-1)
  if (version === undefined) {
    fail(`no /boot/vmlinuz-*-amd64 with /lib/modules/<version>/modules.dep${wanted ? ` for KATS_VM_KERNEL=${wanted}` : ''}: install linux-image-amd64 (scripts/test.sh does)`)
  }
  return version
}

function modinfo(version, name, ...options) {
  try {
    return execFileSync('modinfo', ['-k', version, ...options, name], { encoding: 'utf8', timeout: 10_000 }).trim()
  } catch (err) {
    fail(`modinfo -k ${version} ${options.join(' ')} ${name} failed (kmod installed? module present?): ${err.message}`)
  }
}

/** Module files in insmod order (dependencies first); built-in modules are left out. */
function resolveModules(version) {
  const ordered = []
  const seen = new Set()
  const visit = (name, depth) => {
    if (seen.has(name)) return
    if (depth > 20) fail(`module dependency chain too deep at ${name}`)
    seen.add(name)
    const path = modinfo(version, name, '-n')
    if (path === '(builtin)') return
    for (const dep of modinfo(version, name, '-F', 'depends').split(',').filter(Boolean)) visit(dep, depth + 1)
    ordered.push({ name, path })
  }
  for (const name of EARLY_MODULES) visit(name, 0)
  return ordered
}

/** busybox insmod takes plain .ko files only. */
function moduleBytes(path) {
  if (path.endsWith('.ko')) return readFileSync(path)
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dcq'] : path.endsWith('.gz') ? ['gzip', '-dc'] : undefined
  if (tool === undefined) fail(`unknown module compression: ${path}`)
  try {
    return execFileSync(tool[0], [...tool.slice(1), path], { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 })
  } catch (err) {
    fail(`cannot decompress ${path} with ${tool[0]}: ${err.message}`)
  }
}

/** One cpio "newc" record: 110-byte ASCII header, name, data, each padded to 4 bytes. */
function cpioEntry(name, mode, data, ino, rdev = [0, 0]) {
  const field = (n) => n.toString(16).padStart(8, '0')
  const nameBytes = Buffer.from(`${name}\0`)
  const header = Buffer.from('070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0].map(field).join(''))
  const pad = (len) => Buffer.alloc((4 - (len % 4)) % 4)
  return Buffer.concat([header, nameBytes, pad(header.length + nameBytes.length), data, pad(data.length)])
}

function cacheDir() {
  for (const dir of ['/var/cache/keepalived-ts-vm', join(tmpdir(), 'keepalived-ts-vm')]) {
    try {
      mkdirSync(dir, { recursive: true })
      accessSync(dir, constants.W_OK)
      return dir
    } catch {
      // try the next one
    }
  }
  fail('no writable cache directory')
}

/**
 * vmlinuz is a boot stub followed by the compressed ELF kernel; the kernel's
 * own scripts/extract-vmlinux finds the payload by its magic in the same way.
 * xz exits non-zero on the stub's trailing bytes after a complete stream, so
 * success is judged by the output: an ELF image.
 */
function extractVmlinux(vmlinuz, out) {
  const image = readFileSync(vmlinuz)
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
  if (at < 0) return false
  const r = spawnSync('xz', ['-dc'], { input: image.subarray(at), maxBuffer: 512 * 1024 * 1024, timeout: 60_000 })
  const elf = r.stdout
  if (!Buffer.isBuffer(elf) || elf.length < 1024 * 1024 || elf.readUInt32BE(0) !== 0x7f454c46) return false
  const part = `${out}.${process.pid}.part`
  writeFileSync(part, elf)
  renameSync(part, out)
  return true
}

/** Images of other kernels or older scripts, once no boot can still be about to open them. */
function pruneCache(dir, keep) {
  const cutoff = Date.now() - 10 * 60 * 1000
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (keep.includes(path) || !/^(initramfs|vmlinux)-/.test(name)) continue
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { force: true })
    } catch {
      // another build pruned it first
    }
  }
}

const version = pickKernel()
const vmlinuz = `/boot/vmlinuz-${version}`
if (!existsSync(BUSYBOX)) fail(`${BUSYBOX} missing: install busybox-static`)
const modules = resolveModules(version)
const init = readFileSync(INIT_SCRIPT)
const busyboxStat = statSync(BUSYBOX)
const key = createHash('sha256')
  .update(version)
  .update(init)
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .update(`${busyboxStat.size}:${busyboxStat.mtimeMs}`)
  .update(modules.map((m) => `${m.path}:${statSync(m.path).size}:${statSync(m.path).mtimeMs}`).join('\n'))
  .digest('hex')
  .slice(0, 16)
const dir = cacheDir()
const initrd = join(dir, `initramfs-${version}-${key}.cpio.gz`)
const cached = existsSync(initrd)
if (!cached) {
  const dirMode = 0o040755
  const fileMode = 0o100644
  const execMode = 0o100755
  let ino = 1
  const entries = []
  for (const d of ['bin', 'dev', 'proc', 'sys', 'modules', 'lower', 'io', 'rw', 'newroot']) entries.push(cpioEntry(d, dirMode, Buffer.alloc(0), ino++))
  // The kernel opens /dev/console for init's stdio before anything is mounted.
  entries.push(cpioEntry('dev/console', 0o020600, Buffer.alloc(0), ino++, [5, 1]))
  entries.push(cpioEntry('bin/busybox', execMode, readFileSync(BUSYBOX), ino++))
  entries.push(cpioEntry('init', execMode, init, ino++))
  for (const m of modules) entries.push(cpioEntry(`modules/${m.name}.ko`, fileMode, moduleBytes(m.path), ino++))
  entries.push(cpioEntry('modules/order', fileMode, Buffer.from(modules.map((m) => `${m.name}.ko\n`).join('')), ino++))
  entries.push(cpioEntry('TRAILER!!!', 0, Buffer.alloc(0), 0))
  const part = `${initrd}.${process.pid}.part`
  writeFileSync(part, gzipSync(Buffer.concat(entries), { level: 6 }))
  renameSync(part, initrd)
}
const vmlinuzStat = statSync(vmlinuz)
const vmlinux = join(dir, `vmlinux-${version}-${vmlinuzStat.size}-${Math.trunc(vmlinuzStat.mtimeMs)}`)
let kernel = vmlinux
if (!existsSync(vmlinux) && !extractVmlinux(vmlinuz, vmlinux)) {
  process.stderr.write(`build-image: cannot extract vmlinux from ${vmlinuz} (xz-utils missing?); booting the compressed kernel, which is slower\n`)
  kernel = vmlinuz
}
pruneCache(dir, [initrd, vmlinux])
process.stdout.write(`${JSON.stringify({ kernel, initrd, version, cached })}\n`)
