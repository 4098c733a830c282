// Filling another process's anonymous memory with a file's pages through a userfaultfd of that
// process taken into coreshot (pidfd_getfd): UFFDIO_COPY allocates each missing page and copies
// into it, where a read into fresh memory first zeroes every page it faults in. The file is
// mapped into coreshot a window at a time, so the copy is the only one.
import { closeSync } from 'node:fs';
import { ENXIO } from '../abi/errno.js';
import { SEEK_DATA, SEEK_HOLE } from '../abi/fcntl.js';
import { MAP_SHARED, PROT_READ } from '../abi/mman.js';
import { SYSCALLS } from '../abi/syscalls.js';
import {
  UFFD_API,
  UFFDIO_API,
  UFFDIO_COPY,
  UFFDIO_REGISTER,
  UFFDIO_REGISTER_MODE_MISSING,
  UFFDIO_UNREGISTER,
} from '../abi/userfaultfd.js';
import { SysError, sys } from './libc.js';

const MAP_FAILED = (1n << 64n) - 1n;
/** The file is mapped into coreshot this much at a time. */
const WINDOW = 64n << 20n;

function check(call: string, r: number | bigint): bigint {
  const v = BigInt(r);
  if (v === -1n || v === MAP_FAILED) throw new SysError(call, sys().errno());
  return v;
}

/** A duplicate in coreshot of descriptor `fd` of process `pid` (pidfd_open + pidfd_getfd). */
function takeDescriptor(pid: number, fd: number): number {
  const nr = SYSCALLS.x86_64;
  const pidfd = Number(check('pidfd_open', sys().syscall(nr.pidfd_open, pid, 0, 0)));
  try {
    return Number(check('pidfd_getfd', sys().syscall(nr.pidfd_getfd, pidfd, fd, 0)));
  } finally {
    closeSync(pidfd);
  }
}

/** Bytes [start, end) of a file. */
export interface FileRun {
  start: bigint;
  end: bigint;
}

/** The runs of data of file `fd` in [from, to) (SEEK_DATA/SEEK_HOLE): holes read as zero. */
export function dataRuns(fd: number, from: bigint, to: bigint): FileRun[] {
  const out: FileRun[] = [];
  for (let off = from; off < to; ) {
    const data = BigInt(sys().lseek(fd, off, SEEK_DATA));
    if (data === -1n) {
      if (sys().errno() === ENXIO) break; // no data after off
      throw new SysError('lseek', sys().errno());
    }
    if (data >= to) break;
    let hole = check('lseek', sys().lseek(fd, data, SEEK_HOLE));
    if (hole > to) hole = to;
    out.push({ start: data, end: hole });
    off = hole;
  }
  return out;
}

/** A userfaultfd of another process (see the top of this file). */
export class MemoryFiller {
  private fd: number;

  /** Takes `remoteFd`, a userfaultfd process `pid` opened, and makes the API handshake. */
  constructor(pid: number, remoteFd: number) {
    this.fd = takeDescriptor(pid, remoteFd);
    try {
      const api = Buffer.alloc(24);
      api.writeBigUInt64LE(UFFD_API, 0);
      this.ioctl('UFFDIO_API', UFFDIO_API, api);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private ioctl(name: string, request: number, arg: Buffer): void {
    if (sys().ioctl(this.fd, request, arg) === -1) throw new SysError(`ioctl(${name})`, sys().errno());
  }

  /**
   * Fills the process's anonymous mapping [start, end), registered for the while, with `runs`
   * of file `file` (page-aligned), the mapping's first byte being at offset `at` of the file.
   */
  fill(start: bigint, end: bigint, file: number, at: bigint, runs: readonly FileRun[]): void {
    const range = Buffer.alloc(32);
    range.writeBigUInt64LE(start, 0);
    range.writeBigUInt64LE(end - start, 8);
    range.writeBigUInt64LE(UFFDIO_REGISTER_MODE_MISSING, 16);
    this.ioctl('UFFDIO_REGISTER', UFFDIO_REGISTER, range);
    try {
      for (const r of runs) {
        for (let off = r.start; off < r.end; off += WINDOW) {
          const len = r.end - off < WINDOW ? r.end - off : WINDOW;
          const src = check('mmap', sys().mmap(0n, len, PROT_READ, MAP_SHARED, file, off));
          try {
            this.copy(start + (off - at), src, len);
          } finally {
            sys().munmap(src, len);
          }
        }
      }
    } finally {
      this.ioctl('UFFDIO_UNREGISTER', UFFDIO_UNREGISTER, range.subarray(0, 16));
    }
  }

  private copy(dst: bigint, src: bigint, len: bigint): void {
    const arg = Buffer.alloc(40);
    for (let done = 0n; done < len; ) {
      arg.writeBigUInt64LE(dst + done, 0);
      arg.writeBigUInt64LE(src + done, 8);
      arg.writeBigUInt64LE(len - done, 16);
      arg.writeBigUInt64LE(0n, 24);
      arg.writeBigInt64LE(0n, 32);
      const failed = sys().ioctl(this.fd, UFFDIO_COPY, arg) === -1;
      const copied = arg.readBigInt64LE(32);
      if (copied > 0n) done += copied;
      else throw new SysError('ioctl(UFFDIO_COPY)', failed ? sys().errno() : 0);
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
