import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { ESRCH, SysError } from './libc.js';

const MAX_OFFSET = (1n << 63n) - 1n;

/** Positional access to another process's memory through /proc/PID/mem. */
export class ProcMem {
  readonly pid: number;
  private fd: number;

  constructor(pid: number, writable = false) {
    this.pid = pid;
    try {
      this.fd = openSync(`/proc/${pid}/mem`, writable ? 'r+' : 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SysError('open', ESRCH, `/proc/${pid}/mem`);
      throw err;
    }
  }

  /**
   * Reads at `addr` into `target`; returns the bytes read, short at the first unreadable page
   * (EIO/EFAULT for guard pages, [vvar], I/O mappings) instead of failing.
   */
  readInto(addr: bigint, target: Buffer): number {
    // Offsets beyond 2^63 ([vsyscall]) cannot be passed to pread from Node.
    if (addr + BigInt(target.length) > MAX_OFFSET) return 0;
    let done = 0;
    while (done < target.length) {
      let n: number;
      try {
        n = readSync(this.fd, target, done, target.length - done, addr + BigInt(done));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINTR' || code === 'EAGAIN') continue;
        if (code === 'EIO' || code === 'EFAULT' || code === 'EINVAL' || code === 'ESRCH') break;
        throw err;
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  read(addr: bigint, length: number): Buffer {
    const buf = Buffer.alloc(length);
    return buf.subarray(0, this.readInto(addr, buf));
  }

  write(addr: bigint, data: Buffer): void {
    let done = 0;
    while (done < data.length)
      done += writeSync(this.fd, data, done, data.length - done, Number(addr) + done);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
