// errno values (asm-generic/errno-base.h) with the text the CLI shows, and the kernel-internal
// restart codes (include/linux/errno.h) a stopped thread's return register can hold.

const ERRNOS = [
  ['EPERM', 1, 'operation not permitted'],
  ['ENOENT', 2, 'no such file or directory'],
  ['ESRCH', 3, 'no such process'],
  ['EINTR', 4, 'interrupted system call'],
  ['EIO', 5, 'input/output error'],
  ['ENXIO', 6, 'no such device or address'],
  ['ECHILD', 10, 'no child processes'],
  ['EAGAIN', 11, 'resource temporarily unavailable'],
  ['ENOMEM', 12, 'cannot allocate memory'],
  ['EACCES', 13, 'permission denied'],
  ['EFAULT', 14, 'bad address'],
  ['EBUSY', 16, 'device or resource busy'],
  ['EEXIST', 17, 'file exists'],
  ['EINVAL', 22, 'invalid argument'],
  ['ENOSPC', 28, 'no space left on device'],
  ['EPIPE', 32, 'broken pipe'],
  ['ENOSYS', 38, 'function not implemented'],
] as const;

export const EPERM = 1;
export const ENXIO = 6;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;

/** The C name of an errno value (`EPERM`), or `errno N`. */
export function errnoName(errno: number): string {
  return ERRNOS.find((e) => e[1] === errno)?.[0] ?? `errno ${errno}`;
}

/** What an errno value means, in words (`operation not permitted`). */
export function errnoText(errno: number): string {
  return ERRNOS.find((e) => e[1] === errno)?.[2] ?? errnoName(errno);
}

// A system call interrupted by a signal returns one of these to the kernel's signal code, which
// restarts it (rewinding the pc to the syscall instruction) or turns it into EINTR.
export const ERESTARTSYS = -512n;
export const ERESTARTNOINTR = -513n;
export const ERESTARTNOHAND = -514n;
export const ERESTART_RESTARTBLOCK = -516n;
