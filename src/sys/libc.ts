import { createRequire } from 'node:module';
import type { IKoffiLib } from 'koffi';

/** A failed system call: `call` names it, `errno` is the raw error number. */
export class SysError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly code: string;

  constructor(call: string, errno: number, detail?: string) {
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${call}${detail ? ` ${detail}` : ''}: ${ERRNO_TEXT[errno] ?? code}`);
    this.name = 'SysError';
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}

export const EPERM = 1;
export const ESRCH = 3;
export const EINTR = 4;
export const EFAULT = 14;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  10: 'ECHILD',
  11: 'EAGAIN',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  22: 'EINVAL',
  28: 'ENOSPC',
};

const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted',
  3: 'no such process',
  4: 'interrupted system call',
  5: 'input/output error',
  10: 'no child processes',
  11: 'resource temporarily unavailable',
  13: 'permission denied',
  14: 'bad address',
  16: 'device or resource busy',
  17: 'file exists',
  22: 'invalid argument',
  28: 'no space left on device',
};

interface Libc {
  ptrace(req: number, pid: number, addr: bigint | number, data: bigint | number): number | bigint;
  ptraceBuf(req: number, pid: number, addr: bigint | number, data: Buffer): number | bigint;
  ptraceIov(
    req: number,
    pid: number,
    addr: bigint | number,
    iov: { base: Buffer; len: number },
  ): number | bigint;
  waitpid(pid: number, status: number[], options: number): number;
  tgkill(pid: number, tid: number, sig: number): number;
  processVmReadv(
    pid: number,
    local: { base: Buffer; len: number }[],
    nlocal: number,
    remote: { base: bigint; len: number }[],
    nremote: number,
    flags: number,
  ): number | bigint;
  linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): number;
  errno(): number;
}

let libc: Libc | undefined;

/** The libc functions coreshot calls, loaded on first use (koffi is imported nowhere else). */
export function sys(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib: IKoffiLib = koffi.load('libc.so.6');
  koffi.struct('coreshot_iovec', { base: 'void *', len: 'size_t' });
  koffi.struct('coreshot_remote_iovec', { base: 'uintptr_t', len: 'size_t' });
  const syscall = lib.func('long syscall(long nr, long a, long b, long c)');
  const SYS_tgkill = 234;
  libc = {
    ptrace: lib.func('long ptrace(long req, int pid, uintptr_t addr, uintptr_t data)'),
    ptraceBuf: lib.func('long ptrace(long req, int pid, uintptr_t addr, _Inout_ uint8_t *data)'),
    ptraceIov: lib.func('long ptrace(long req, int pid, uintptr_t addr, _Inout_ coreshot_iovec *data)'),
    waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
    tgkill: (pid, tid, sig) => Number(syscall(SYS_tgkill, pid, tid, sig)),
    processVmReadv: lib.func(
      'long process_vm_readv(int pid, coreshot_iovec *local, unsigned long nlocal, ' +
        'coreshot_remote_iovec *remote, unsigned long nremote, unsigned long flags)',
    ),
    linkat: lib.func(
      'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
    ),
    errno: () => koffi.errno(),
  };
  return libc;
}
