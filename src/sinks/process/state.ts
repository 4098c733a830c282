// The process state a restore gives the new process beyond memory and registers: what the
// image's CORESHOT notes record (elf/notes/coreshot.ts) made true again by system calls the
// process being built runs (open files on their numbers at their offsets, the working
// directory, signal dispositions, rlimits; per thread its sigaltstack, robust list,
// clear-child-tid address and rseq), and for an image without them the defaults, listed.
import { constants } from 'node:fs';
import { join } from 'node:path';
import {
  AT_FDCWD,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_NOCTTY,
  O_RDWR,
  O_TRUNC,
  SEEK_SET,
} from '../../abi/fcntl.js';
import { RLIMIT_NAMES } from '../../abi/resource.js';
import { SIGKILL, SIGSTOP } from '../../abi/signals.js';
import type { SyscallName } from '../../abi/syscalls.js';
import type { RecordedFile, RecordedState, RecordedThread } from '../../elf/notes/coreshot.js';
import { SysError } from '../../sys/libc.js';

/** What the restore's builder offers: system calls in the new process and its scratch data. */
export interface Calls {
  call(name: SyscallName, ...args: bigint[]): bigint;
  callIn(tid: number, name: SyscallName, ...args: bigint[]): bigint;
  data(bytes: Buffer): bigint;
  clearData(): void;
  readonly notRestored: string[];
}

/** Flags that create or truncate: never given when a file is opened again. */
const CREATING = O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY;
/** The kind of an open file, from its st_mode, in the words the restore lists it with. */
const KINDS: Record<number, string> = {
  [constants.S_IFIFO]: 'a pipe',
  [constants.S_IFSOCK]: 'a socket',
  [constants.S_IFCHR]: 'a character device',
  [constants.S_IFBLK]: 'a block device',
  0: 'of unknown type',
};

/** Character devices that are the same whoever opens them (a tty is not). */
const PLAIN_DEVICES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom']);

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** Whether a file is opened again by its path: a regular file, a directory, a plain device. */
function reopenable(f: RecordedFile): boolean {
  const type = f.mode & constants.S_IFMT;
  if (type === constants.S_IFCHR) return PLAIN_DEVICES.has(f.path);
  return (type === constants.S_IFREG || type === constants.S_IFDIR) && f.path.startsWith('/');
}

/**
 * The open files: regular files and directories (and /dev/null, /dev/zero, ...) opened again on
 * their numbers, at their offsets, with their flags; everything else (pipes, sockets, ttys,
 * anonymous inodes, files gone) on /dev/null with its access mode, listed. Without a record: 0, 1 and 2 on /dev/null.
 */
export function restoreFiles(b: Calls, state: RecordedState, root: string | undefined): void {
  if (state.files.length === 0) {
    const devNull = b.data(cstr('/dev/null'));
    b.call('openat', BigInt(AT_FDCWD), devNull, BigInt(O_RDWR), 0n);
    b.call('dup2', 0n, 1n);
    b.call('dup2', 0n, 2n);
    b.clearData();
    b.notRestored.push('open files: not in the image; 0, 1 and 2 are /dev/null');
    return;
  }
  for (const f of [...state.files].sort((x, y) => x.fd - y.fd)) {
    let fd: bigint | undefined;
    if (reopenable(f)) {
      try {
        const device = (f.mode & constants.S_IFMT) === constants.S_IFCHR;
        fd = open(b, root && !device ? join(root, f.path) : f.path, f.flags & ~CREATING);
        if (f.pos !== 0n) b.call('lseek', fd, f.pos, BigInt(SEEK_SET));
      } catch (err) {
        if (!(err instanceof SysError)) throw err;
        if (fd !== undefined) b.call('close', fd);
        fd = undefined;
        b.notRestored.push(`fd ${f.fd} (${f.path}): cannot be opened again (${err.code}), it is /dev/null`);
      }
    } else {
      b.notRestored.push(`fd ${f.fd} (${f.path}): ${kindOf(f)}, cannot be opened again: it is /dev/null`);
    }
    fd ??= open(b, '/dev/null', f.flags & (O_ACCMODE | O_CLOEXEC));
    if (fd !== BigInt(f.fd)) {
      b.call('dup3', fd, BigInt(f.fd), BigInt(f.flags & O_CLOEXEC));
      b.call('close', fd);
    }
  }
}

function kindOf(f: RecordedFile): string {
  if ((f.mode & constants.S_IFMT) === constants.S_IFREG) return 'a file without a path';
  return KINDS[f.mode & constants.S_IFMT] ?? 'not a regular file';
}

function open(b: Calls, path: string, flags: number): bigint {
  try {
    return b.call('openat', BigInt(AT_FDCWD), b.data(cstr(path)), BigInt(flags), 0n);
  } finally {
    b.clearData();
  }
}

/**
 * The working directory (else the husk's, /), the signal dispositions and the rlimits. `huskSet`:
 * the signals whose action in the husk is not the default (bit n-1 for signal n); only those and
 * the recorded ones that are not the default need a call.
 */
export function restoreProcessState(
  b: Calls,
  state: RecordedState,
  root: string | undefined,
  huskSet: bigint,
): void {
  if (state.cwd?.startsWith('/')) {
    try {
      b.call('chdir', b.data(cstr(root ? join(root, state.cwd) : state.cwd)));
    } catch (err) {
      if (!(err instanceof SysError)) throw err;
      b.notRestored.push(`working directory ${state.cwd}: ${err.code}, it is /`);
    }
    b.clearData();
  } else b.notRestored.push('working directory: not in the image, it is /');
  const actions = state.process?.sigactions;
  for (let sig = 1; sig <= 64; sig++) {
    if (sig === SIGKILL || sig === SIGSTOP) continue;
    const a = actions?.[sig - 1];
    const recordedDefault = !a || (a.handler === 0n && a.flags === 0n && a.mask === 0n);
    if (recordedDefault && !((huskSet >> BigInt(sig - 1)) & 1n)) continue;
    const act = Buffer.alloc(32);
    if (a) {
      act.writeBigUInt64LE(a.handler, 0);
      act.writeBigUInt64LE(a.flags, 8);
      act.writeBigUInt64LE(a.restorer, 16);
      act.writeBigUInt64LE(a.mask, 24);
    }
    b.call('rt_sigaction', BigInt(sig), b.data(act), 0n, 8n);
    b.clearData();
  }
  if (!actions)
    b.notRestored.push('signal dispositions: not in the image; every signal has its default action');
  const limits = state.process?.rlimits;
  if (!limits) {
    b.notRestored.push("rlimits: not in the image; the new process has coreshot's");
    return;
  }
  RLIMIT_NAMES.forEach((name, i) => {
    const lim = Buffer.alloc(16);
    lim.writeBigUInt64LE(limits[name].cur, 0);
    lim.writeBigUInt64LE(limits[name].max, 8);
    try {
      b.call('prlimit64', 0n, BigInt(i), b.data(lim), 0n);
    } catch (err) {
      if (!(err instanceof SysError)) throw err;
      b.notRestored.push(
        `rlimit ${name}: the kernel refused ${limits[name].cur}/${limits[name].max} (${err.code})`,
      );
    }
    b.clearData();
  });
}

/** A thread's sigaltstack, robust futex list and clear-child-tid address, as recorded. */
export function restoreThreadState(b: Calls, tid: number, t: RecordedThread): void {
  const ss = Buffer.alloc(24);
  ss.writeBigUInt64LE(t.sigaltstack.sp, 0);
  ss.writeInt32LE(t.sigaltstack.flags, 8);
  ss.writeBigUInt64LE(t.sigaltstack.size, 16);
  b.callIn(tid, 'sigaltstack', b.data(ss), 0n);
  b.clearData();
  if (t.robust_list.head !== 0n) b.callIn(tid, 'set_robust_list', t.robust_list.head, t.robust_list.len);
  b.callIn(tid, 'set_tid_address', t.clear_child_tid);
}
