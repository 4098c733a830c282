// File-descriptor flags and *at() conventions (asm-generic/fcntl.h, linux/fcntl.h) for calls
// coreshot makes itself through FFI or in another process (Node's `constants` cover its own).

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_CLOEXEC = 0o2000000;
export const O_TMPFILE = 0o20200000;
export const AT_FDCWD = -100;
/** lseek(2) whences: the next data, the next hole. */
export const SEEK_SET = 0;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
export const AT_SYMLINK_FOLLOW = 0x400;
