import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { EFAULT, EPERM, ESRCH } from '../abi/errno.js';
import { SysError, sys } from './libc.js';

const MAX_OFFSET = (1n << 63n) - 1n;

/** Positional access to another process's memory through /proc/PID/mem. */
export class ProcMem {
  readonly pid: number;
  private fd: number;
  /** Whether process_vm_readv works for this process (it may be refused where /proc/PID/mem is not). */
  private fast = true;

  constructor(pid: number, writable = false) {
    this.pid = pid;
    try {
      this.fd = openSync(`/proc/${pid}/mem`, writable ? 'r+' : 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new SysError('open', ESRCH, `/proc/${pid}/mem`);
      if (code === 'EACCES' || code === 'EPERM') throw new SysError('open', EPERM, `/proc/${pid}/mem`);
      throw err;
    }
  }

  /**
   * Reads at `addr` into `target`; returns the bytes read, short at the first unreadable page
   * (EIO/EFAULT for guard pages, [vvar], I/O mappings) instead of failing. Bulk reads use
   * process_vm_readv (pages pinned in batches, about 2.5x faster than /proc/PID/mem, which
   * copies one page at a time); the rest, and what it cannot read, goes through /proc/PID/mem.
   */
  readInto(addr: bigint, target: Buffer): number {
    // Offsets beyond 2^63 ([vsyscall]) cannot be passed to pread from Node.
    if (addr + BigInt(target.length) > MAX_OFFSET) return 0;
    let done = 0;
    if (this.fast && target.length >= 65536) {
      const n = Number(
        sys().processVmReadv(
          this.pid,
          [{ base: target, len: target.length }],
          1,
          [{ base: addr, len: target.length }],
          1,
          0,
        ),
      );
      if (n > 0) done = n;
      else if (n < 0 && sys().errno() !== EFAULT) this.fast = false;
    }
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

  /** Writes all of `data` at `addr`; a process that has exited (nothing written) is ESRCH. */
  write(addr: bigint, data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      const n = writeSync(this.fd, data, done, data.length - done, Number(addr) + done);
      if (n === 0) throw new SysError('write', ESRCH, `/proc/${this.pid}/mem`);
      done += n;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
