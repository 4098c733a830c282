import { EINTR, ESRCH } from '../abi/errno.js';
import { SIGTRAP } from '../abi/signals.js';
import { SysError, sys } from './libc.js';

const PTRACE_CONT = 7;
const PTRACE_DETACH = 17;
const PTRACE_SYSCALL = 24;
const PTRACE_SETOPTIONS = 0x4200;
const PTRACE_GETEVENTMSG = 0x4201;
const PTRACE_GETSIGINFO = 0x4202;
const PTRACE_SETSIGINFO = 0x4203;
const PTRACE_GETREGSET = 0x4204;
const PTRACE_SETREGSET = 0x4205;
const PTRACE_SEIZE = 0x4206;
const PTRACE_INTERRUPT = 0x4207;
const PTRACE_GETSIGMASK = 0x420a;
const PTRACE_SETSIGMASK = 0x420b;
const PTRACE_GET_SYSCALL_INFO = 0x420e;
const PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;

export const PTRACE_O_TRACESYSGOOD = 0x1;
export const PTRACE_O_TRACEFORK = 0x2;
export const PTRACE_O_TRACECLONE = 0x8;
export const PTRACE_O_EXITKILL = 0x100000;

export const PTRACE_EVENT_FORK = 1;
export const PTRACE_EVENT_VFORK = 2;
export const PTRACE_EVENT_CLONE = 3;
export const PTRACE_EVENT_STOP = 128;

/** The stop signal of a syscall-stop with PTRACE_O_TRACESYSGOOD. */
export const SIGTRAP_SYSCALL = SIGTRAP | 0x80;

const WNOHANG = 1;
const WALL = 0x40000000;

/** sizeof(siginfo_t) on Linux. */
const SIGINFO_SIZE = 128;

function check(call: string, tid: number, ret: number | bigint): void {
  if (Number(ret) === -1) throw new SysError(call, sys().errno(), `(thread ${tid})`);
}

function req(call: string, request: number, tid: number, addr: bigint | number, data: bigint | number): void {
  check(call, tid, sys().ptrace(request, tid, addr, data));
}

export function seize(tid: number, options = 0): void {
  req('ptrace(PTRACE_SEIZE)', PTRACE_SEIZE, tid, 0, options);
}

export function interrupt(tid: number): void {
  req('ptrace(PTRACE_INTERRUPT)', PTRACE_INTERRUPT, tid, 0, 0);
}

export function setOptions(tid: number, options: number): void {
  req('ptrace(PTRACE_SETOPTIONS)', PTRACE_SETOPTIONS, tid, 0, options);
}

export function cont(tid: number, sig = 0): void {
  req('ptrace(PTRACE_CONT)', PTRACE_CONT, tid, 0, sig);
}

/** Resumes until the next system call entry or exit (PTRACE_SYSCALL). */
export function syscallStep(tid: number, sig = 0): void {
  req('ptrace(PTRACE_SYSCALL)', PTRACE_SYSCALL, tid, 0, sig);
}

/** The blocked-signal mask of a stopped thread (a 64-bit sigset). */
export function getSigMask(tid: number): bigint {
  const buf = Buffer.alloc(8);
  check('ptrace(PTRACE_GETSIGMASK)', tid, sys().ptraceBuf(PTRACE_GETSIGMASK, tid, 8, buf));
  return buf.readBigUInt64LE(0);
}

export function setSigMask(tid: number, mask: bigint): void {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(mask);
  check('ptrace(PTRACE_SETSIGMASK)', tid, sys().ptraceBuf(PTRACE_SETSIGMASK, tid, 8, buf));
}

/** Where a thread in a syscall-stop is: entering `nr`, or leaving with `rval`. */
export type SyscallStop = { op: 'entry'; nr: bigint } | { op: 'exit'; rval: bigint } | { op: 'other' };

/** PTRACE_GET_SYSCALL_INFO for a thread in a syscall-stop. */
export function getSyscallInfo(tid: number): SyscallStop {
  const buf = Buffer.alloc(88);
  check('ptrace(PTRACE_GET_SYSCALL_INFO)', tid, sys().ptraceBuf(PTRACE_GET_SYSCALL_INFO, tid, 88, buf));
  // struct ptrace_syscall_info: u8 op, u8 pad[3], u32 arch, u64 ip, u64 sp, then the union.
  if (buf[0] === 1) return { op: 'entry', nr: buf.readBigUInt64LE(24) };
  if (buf[0] === 2) return { op: 'exit', rval: buf.readBigInt64LE(24) };
  return { op: 'other' };
}

export function detach(tid: number, sig = 0): void {
  req('ptrace(PTRACE_DETACH)', PTRACE_DETACH, tid, 0, sig);
}

export function getEventMsg(tid: number): bigint {
  const buf = Buffer.alloc(8);
  check('ptrace(PTRACE_GETEVENTMSG)', tid, sys().ptraceBuf(PTRACE_GETEVENTMSG, tid, 0, buf));
  return buf.readBigUInt64LE(0);
}

export function getSigInfo(tid: number): Buffer {
  const buf = Buffer.alloc(SIGINFO_SIZE);
  check('ptrace(PTRACE_GETSIGINFO)', tid, sys().ptraceBuf(PTRACE_GETSIGINFO, tid, 0, buf));
  return buf;
}

export function setSigInfo(tid: number, info: Buffer): void {
  check('ptrace(PTRACE_SETSIGINFO)', tid, sys().ptraceBuf(PTRACE_SETSIGINFO, tid, 0, Buffer.from(info)));
}

/**
 * PTRACE_GETREGSET: the register set `type` (NT_PRSTATUS, ...), at the size the kernel returns
 * (the buffer grows until the kernel's set fits).
 */
export function getRegSet(tid: number, type: number, size = 16384): Buffer {
  for (let room = size; ; room *= 4) {
    const buf = Buffer.alloc(room);
    const iov = { base: buf, len: room };
    check('ptrace(PTRACE_GETREGSET)', tid, sys().ptraceIov(PTRACE_GETREGSET, tid, type, iov));
    if (iov.len < room || room >= 1 << 20) return buf.subarray(0, iov.len);
  }
}

export function setRegSet(tid: number, type: number, data: Buffer): void {
  const iov = { base: Buffer.from(data), len: data.length };
  check('ptrace(PTRACE_SETREGSET)', tid, sys().ptraceIov(PTRACE_SETREGSET, tid, type, iov));
}

/** A thread's rseq registration (struct ptrace_rseq_configuration); size 0 when it has none. */
export interface RseqConfig {
  address: bigint;
  size: number;
  signature: number;
}

export function getRseqConfig(tid: number): RseqConfig {
  const buf = Buffer.alloc(24);
  check(
    'ptrace(PTRACE_GET_RSEQ_CONFIGURATION)',
    tid,
    sys().ptraceBuf(PTRACE_GET_RSEQ_CONFIGURATION, tid, 24, buf),
  );
  return { address: buf.readBigUInt64LE(0), size: buf.readUInt32LE(8), signature: buf.readUInt32LE(12) };
}

/** Sends a signal to one thread (tgkill). */
export function tgkill(pid: number, tid: number, sig: number): void {
  if (sys().tgkill(pid, tid, sig) === -1) throw new SysError('tgkill', sys().errno(), `(thread ${tid})`);
}

/** A decoded wait status. */
export type WaitStatus =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number }
  | { kind: 'stopped'; signal: number; event: number };

function decodeStatus(s: number): WaitStatus {
  const low = s & 0x7f;
  if (low === 0) return { kind: 'exited', code: (s >> 8) & 0xff };
  if ((s & 0xff) === 0x7f) return { kind: 'stopped', signal: (s >> 8) & 0xff, event: (s >>> 16) & 0xff };
  return { kind: 'signaled', signal: low };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** How long waitThread polls without sleeping: a ptrace stop usually comes within this. */
const SPIN_MS = 0.3;

/**
 * Waits for a state change of traced thread `tid` (waitpid with __WALL), polling so a thread
 * that never stops cannot hang the caller: null after `timeoutMs`. It polls without sleeping
 * for SPIN_MS first (a sleep costs more than the stop itself: the stepping of injected system
 * calls waits for hundreds of stops while the target is held), then with short sleeps.
 */
export function waitThread(tid: number, timeoutMs = 5000): WaitStatus | null {
  const status = [0];
  const end = Date.now() + timeoutMs;
  const spinUntil = performance.now() + SPIN_MS;
  let pause = 0.05;
  for (;;) {
    const r = sys().waitpid(tid, status, WALL | WNOHANG);
    if (r === tid) return decodeStatus(status[0]!);
    if (r === -1) {
      const errno = sys().errno();
      if (errno === EINTR) continue;
      throw new SysError('waitpid', errno, `(thread ${tid})`);
    }
    if (performance.now() < spinUntil) continue;
    if (Date.now() > end) return null;
    Atomics.wait(sleeper, 0, 0, pause);
    pause = Math.min(pause * 2, 0.2);
  }
}

/** Whether an error means the thread is gone (exited meanwhile). */
export function isGone(err: unknown): boolean {
  return err instanceof SysError && err.errno === ESRCH;
}
