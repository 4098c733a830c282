// System call numbers and flags of the calls coreshot makes in another process (asm/unistd_64.h
// for x86_64, asm-generic/unistd.h for aarch64), and clone's flags (linux/sched.h).

export type SyscallName =
  | 'read'
  | 'pread64'
  | 'write'
  | 'close'
  | 'lseek'
  | 'mmap'
  | 'mprotect'
  | 'munmap'
  | 'rt_sigaction'
  | 'rt_sigprocmask'
  | 'rt_sigreturn'
  | 'madvise'
  | 'dup2'
  | 'getpid'
  | 'clone'
  | 'exit'
  | 'prctl'
  | 'arch_prctl'
  | 'gettid'
  | 'set_tid_address'
  | 'restart_syscall'
  | 'exit_group'
  | 'tgkill'
  | 'openat'
  | 'set_robust_list'
  | 'prlimit64'
  | 'rseq'
  | 'clone3'
  | 'close_range'
  | 'mremap'
  | 'chdir'
  | 'sigaltstack'
  | 'brk'
  | 'dup3'
  | 'get_robust_list'
  | 'userfaultfd'
  | 'pidfd_open'
  | 'pidfd_getfd';

export const SYSCALLS: Readonly<Record<'x86_64', Readonly<Record<SyscallName, number>>>> = {
  x86_64: {
    read: 0,
    pread64: 17,
    write: 1,
    close: 3,
    lseek: 8,
    mmap: 9,
    mprotect: 10,
    brk: 12,
    munmap: 11,
    mremap: 25,
    rt_sigaction: 13,
    rt_sigprocmask: 14,
    rt_sigreturn: 15,
    madvise: 28,
    dup2: 33,
    getpid: 39,
    clone: 56,
    exit: 60,
    chdir: 80,
    sigaltstack: 131,
    prctl: 157,
    arch_prctl: 158,
    gettid: 186,
    set_tid_address: 218,
    restart_syscall: 219,
    exit_group: 231,
    tgkill: 234,
    openat: 257,
    set_robust_list: 273,
    get_robust_list: 274,
    dup3: 292,
    prlimit64: 302,
    userfaultfd: 323,
    rseq: 334,
    pidfd_open: 434,
    clone3: 435,
    close_range: 436,
    pidfd_getfd: 438,
  },
};

export const CLONE_VM = 0x100;
export const CLONE_FS = 0x200;
export const CLONE_FILES = 0x400;
export const CLONE_SIGHAND = 0x800;
export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;
export const CLONE_SYSVSEM = 0x40000;
export const CLONE_SETTLS = 0x80000;
export const CLONE_PARENT_SETTID = 0x100000;
export const CLONE_CHILD_CLEARTID = 0x200000;
