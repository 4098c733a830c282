import { SysError, sys } from './libc.js';

const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

/**
 * Gives an open file without a name (made with O_TMPFILE) the name `path`:
 * linkat(AT_SYMLINK_FOLLOW) through /proc/self/fd. Fails with EEXIST if `path` exists.
 */
export function linkOpenFile(fd: number, path: string): void {
  if (sys().linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, path, AT_SYMLINK_FOLLOW) === -1) {
    throw new SysError('linkat', sys().errno(), path);
  }
}
