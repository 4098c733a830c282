import { createRequire } from 'node:module';
import type { IKoffiLib } from 'koffi';
import { errnoName, errnoText } from '../abi/errno.js';
import { SYSCALLS } from '../abi/syscalls.js';

/** A failed system call: `call` names it, `errno` is the raw error number. */
export class SysError extends Error {
  readonly call: string;
  readonly errno: number;
  readonly code: string;

  constructor(call: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    super(`${call}${detail ? ` ${detail}` : ''}: ${errnoText(errno)}`);
    this.name = 'SysError';
    this.call = call;
    this.errno = errno;
    this.code = code;
  }
}

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
  pipe2(fds: number[], flags: number): number;
  ioctl(fd: number, request: number, arg: Buffer): number;
  mmap(addr: bigint, len: bigint, prot: number, flags: number, fd: number, offset: bigint): number | bigint;
  munmap(addr: bigint, len: bigint): number;
  lseek(fd: number, offset: bigint, whence: number): number | bigint;
  /** A raw system call with up to three arguments: -1 and errno on failure. */
  syscall(nr: number, a: number, b: number, c: number): number | bigint;
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
  libc = {
    ptrace: lib.func('long ptrace(long req, int pid, uintptr_t addr, uintptr_t data)'),
    ptraceBuf: lib.func('long ptrace(long req, int pid, uintptr_t addr, _Inout_ uint8_t *data)'),
    ptraceIov: lib.func('long ptrace(long req, int pid, uintptr_t addr, _Inout_ coreshot_iovec *data)'),
    waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
    tgkill: (pid, tid, sig) => Number(syscall(SYSCALLS.x86_64.tgkill, pid, tid, sig)),
    processVmReadv: lib.func(
      'long process_vm_readv(int pid, coreshot_iovec *local, unsigned long nlocal, ' +
        'coreshot_remote_iovec *remote, unsigned long nremote, unsigned long flags)',
    ),
    pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)'),
    mmap: lib.func('uintptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, int64_t offset)'),
    munmap: lib.func('int munmap(uintptr_t addr, size_t len)'),
    lseek: lib.func('int64_t lseek(int fd, int64_t offset, int whence)'),
    syscall,
    linkat: lib.func(
      'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
    ),
    errno: () => koffi.errno(),
  };
  return libc;
}
