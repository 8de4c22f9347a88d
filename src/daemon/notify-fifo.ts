/**
 * notify_fifo writing (reference §5.16): created 0644 if absent, opened
 * O_RDWR|O_NONBLOCK so the daemon never waits for a reader, one line per
 * event; a full pipe drops the line rather than block VRRP.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, constants, fstatSync, openSync, rmSync, writeSync } from 'node:fs'
import type { Logger } from '../log/logger.js'

export class NotifyFifo {
  /** Lines dropped because the pipe was full or broken. */
  dropped = 0

  private constructor(
    readonly path: string,
    private fd: number | undefined,
    private readonly created: boolean,
  ) {}

  /**
   * Create (mkfifo, mode 0644) if needed and open. undefined, with keepalived's
   * log line, when it cannot be used. `type` is `vrrp_` / `lvs_` / `` for the texts.
   */
  static open(path: string, log: Logger, type = ''): NotifyFifo | undefined {
    const made = spawnSync('mkfifo', ['-m', '0644', '--', path], { encoding: 'utf8', timeout: 5000 })
    const created = made.status === 0
    if (!created && !/File exists/.test(made.stderr ?? '')) {
      log.info(`Unable to create ${type}notify fifo ${path}`)
      return undefined
    }
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW)
    } catch (err) {
      log.info(`Unable to open ${type}notify fifo ${path} - errno ${(err as NodeJS.ErrnoException).errno ?? ''}`)
      if (created) rmSync(path, { force: true })
      return undefined
    }
    const st = fstatSync(fd)
    if (!st.isFIFO() || st.uid !== process.getuid?.()) {
      // An existing path may be a file someone planted: use only a FIFO we own.
      log.info(`${type}notify fifo ${path} is not a fifo we own - not using`)
      closeSync(fd)
      return undefined
    }
    return new NotifyFifo(path, fd, created)
  }

  /** Write one line; false when it was dropped. Never blocks, never throws. */
  write(line: string): boolean {
    if (this.fd === undefined) return false
    try {
      writeSync(this.fd, line)
      return true
    } catch {
      this.dropped++
      return false
    }
  }

  /** Unlink first (if we created it) so a reader looping on open cannot reopen it, then close. */
  close(): void {
    if (this.fd === undefined) return
    if (this.created) rmSync(this.path, { force: true })
    closeSync(this.fd)
    this.fd = undefined
  }
}
