import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { EFAULT, EPERM, ESRCH } from '../abi/errno.js';
import { SysError, sys } from './libc.js';
import { openPagemap, pinRun } from './proc.js';

const MAX_OFFSET = (1n << 63n) - 1n;
/** Reads shorter than this go through /proc/PID/mem at once. */
const PIN_MIN = 65536;
const PAGE_SIZE = 4096;

/** Positional access to another process's memory through /proc/PID/mem. */
export class ProcMem {
  readonly pid: number;
  private fd: number;
  /** Whether process_vm_readv works for this process (it may be refused where /proc/PID/mem is not). */
  private fast = true;
  /** /proc/PID/pagemap, which says which pages pinning would copy (none: nothing is pinned). */
  private pagemap: number | undefined;
  private readonly scratch = Buffer.allocUnsafe(8192);

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
    this.pagemap = openPagemap(pid);
  }

  /**
   * Reads at `addr` into `target`; returns the bytes read, short at the first unreadable page
   * (EIO/EFAULT for guard pages, [vvar], I/O mappings) instead of failing. Runs of pages that
   * pinning does not copy are read with process_vm_readv (pages pinned in batches, about 1.5x
   * faster than /proc/PID/mem, which copies one page at a time); pages shared copy-on-write with
   * a fork (all of a snapshot copy's, until the target writes them) go through /proc/PID/mem:
   * pinning would make the process take a private copy of each, doubling its memory.
   */
  readInto(addr: bigint, target: Buffer): number {
    // Offsets beyond 2^63 ([vsyscall]) cannot be passed to pread from Node.
    if (addr + BigInt(target.length) > MAX_OFFSET) return 0;
    let done = 0;
    while (done < target.length) {
      const at = addr + BigInt(done);
      const rest = target.subarray(done);
      const run =
        this.fast && this.pagemap !== undefined && rest.length >= PIN_MIN
          ? pinRun(this.pagemap, at, rest.length, PAGE_SIZE, this.scratch)
          : { bytes: rest.length, copied: true };
      const part = rest.subarray(0, run.bytes);
      let got = run.copied || part.length < PIN_MIN ? 0 : this.pinned(at, part);
      if (got < part.length) got += this.readMem(at + BigInt(got), part.subarray(got));
      done += got;
      if (got < part.length) break;
    }
    return done;
  }

  /** process_vm_readv: the bytes read (0 on failure; errors other than EFAULT end its use). */
  private pinned(addr: bigint, target: Buffer): number {
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
    if (n > 0) return n;
    if (n < 0 && sys().errno() !== EFAULT) this.fast = false;
    return 0;
  }

  /** Reads through /proc/PID/mem, short at the first unreadable page. */
  private readMem(addr: bigint, target: Buffer): number {
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
    if (this.pagemap !== undefined) closeSync(this.pagemap);
    this.pagemap = undefined;
  }
}
