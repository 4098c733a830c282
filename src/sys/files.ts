import { AT_FDCWD, AT_SYMLINK_FOLLOW, O_CLOEXEC } from '../abi/fcntl.js';
import { SysError, sys } from './libc.js';

/**
 * Gives an open file without a name (made with O_TMPFILE) the name `path`:
 * linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd. Fails with EEXIST if `path` exists.
 */
export function linkOpenFile(fd: number, path: string): void {
  if (sys().linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, path, AT_SYMLINK_FOLLOW) === -1) {
    throw new SysError('linkat', sys().errno(), path);
  }
}

/** A pipe: [read end, write end], both close-on-exec (a child gets one only through its stdio). */
export function makePipe(): [number, number] {
  const fds = [-1, -1];
  if (sys().pipe2(fds, O_CLOEXEC) === -1) throw new SysError('pipe2', sys().errno());
  return [fds[0]!, fds[1]!];
}
