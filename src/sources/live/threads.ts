import { readlinkSync } from 'node:fs';
import { ESRCH } from '../../abi/errno.js';
import { NT_PRFPREG, NT_PRSTATUS, NT_X86_XSTATE } from '../../abi/notes.js';
import { SIGTRAP } from '../../abi/signals.js';
import { psargsFromArgv } from '../../elf/notes/prpsinfo.js';
import type { ProcessInfo, ThreadState, TimeVal } from '../../model/process-image.js';
import { SysError } from '../../sys/libc.js';
import { type ProcStat, parseStat, parseStatus, readProc, readStat, readStatus } from '../../sys/proc.js';
import { getRegSet, PTRACE_EVENT_STOP } from '../../sys/ptrace.js';
import type { StoppedThread } from '../../sys/tracee.js';
import { xstateRegset } from './xstate.js';

/** USER_HZ: /proc reports times in these ticks. */
const TICKS = 100n;

function timeval(ticks: bigint): TimeVal {
  return { sec: ticks / TICKS, usec: (ticks % TICKS) * (1_000_000n / TICKS) };
}

function hexMask(text: string | undefined): bigint {
  return text ? BigInt(`0x${text}`) : 0n;
}

/**
 * What must be read while a thread is stopped: its registers as ptrace returns them, the siginfo
 * of its stop, and its /proc stat and status (times, signal masks: once the target runs on it
 * may exit, and a snapshot dump must not need it then). Nothing is converted yet, to keep the
 * pause short.
 */
export interface ThreadRegisters {
  tid: number;
  /** user_regs_struct (NT_PRSTATUS regset). */
  gpRegs: Buffer;
  fpRegs: Buffer;
  /** The XSAVE area in the CPU's standard format (NT_X86_XSTATE regset). */
  xstate: Buffer;
  siginfo: Buffer;
  /** /proc stat (the process's for the main thread: it carries the group's times) and status; undefined for a thread that exited meanwhile. */
  proc?: { stat: Buffer; status: Buffer };
}

export function readRegisters(pid: number, t: StoppedThread): ThreadRegisters {
  return {
    tid: t.tid,
    gpRegs: getRegSet(t.tid, NT_PRSTATUS, 1024),
    fpRegs: getRegSet(t.tid, NT_PRFPREG, 1024),
    xstate: getRegSet(t.tid, NT_X86_XSTATE),
    siginfo: t.siginfo,
    proc: readThreadProc(pid, t.tid),
  };
}

function readThreadProc(pid: number, tid: number): ThreadRegisters['proc'] {
  try {
    return {
      stat: readProc(tid === pid ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`),
      status: readProc(`/proc/${pid}/task/${tid}/status`),
    };
  } catch (err) {
    if (tid === pid || !(err instanceof SysError) || err.errno !== ESRCH) throw err;
    return undefined;
  }
}

/**
 * A thread's NT_PRSTATUS content: its registers plus the fields the kernel takes from the task
 * (signal masks, ids, times), as read from /proc while it was held, and its register sets as the
 * kernel puts them in a core: NT_PRFPREG and NT_X86_XSTATE (see xstate.ts for its layout).
 * `processStat` (/proc/PID/stat read while held) stands in for a thread that had exited. In
 * snapshot mode this runs after the target resumed, to keep the pause short, and reads nothing.
 */
export function threadState(r: ThreadRegisters, processStat: Buffer): ThreadState {
  const tid = r.tid;
  // A thread that exited meanwhile: the process's ids, no times or masks of its own.
  const stat: ProcStat = r.proc
    ? parseStat(r.proc.stat.toString('latin1'))
    : { ...parseStat(processStat.toString('latin1')), utime: 0n, stime: 0n };
  const status = r.proc ? parseStatus(r.proc.status.toString('latin1')) : new Map<string, string>();
  // The stop coreshot itself caused (PTRACE_INTERRUPT: SIGTRAP with PTRACE_EVENT_STOP in the
  // code) is no signal of the process: record none, as gcore does, rather than a ptrace artifact.
  const ownStop = r.siginfo.readInt32LE(0) === SIGTRAP && r.siginfo.readInt32LE(8) >> 8 === PTRACE_EVENT_STOP;
  const siginfo = ownStop ? Buffer.alloc(r.siginfo.length) : r.siginfo;
  const signo = siginfo.readInt32LE(0);
  return {
    tid,
    status: {
      info: { signo, errno: siginfo.readInt32LE(4), code: siginfo.readInt32LE(8) },
      cursig: signo,
      sigpend: hexMask(status.get('SigPnd')),
      sighold: hexMask(status.get('SigBlk')),
      pid: tid,
      ppid: stat.ppid,
      pgrp: stat.pgrp,
      sid: stat.session,
      utime: timeval(stat.utime),
      stime: timeval(stat.stime),
      cutime: timeval(stat.cutime),
      cstime: timeval(stat.cstime),
      fpvalid: 1,
    },
    gpRegs: r.gpRegs,
    regsets: [{ type: NT_PRFPREG, owner: 'CORE', data: r.fpRegs }, xstateRegset(r.xstate).regset],
    siginfo,
  };
}

/** NT_PRPSINFO fields from /proc/PID/{stat,status,cmdline,exe}. */
export function readProcessInfo(pid: number): ProcessInfo {
  const stat = readStat(`/proc/${pid}/stat`);
  const status = readStatus(`/proc/${pid}/status`);
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  const args = cmdline.length ? cmdline.toString('utf8').replace(/\0$/, '').split('\0') : [];
  const sname = stat.state === 't' ? 'T' : stat.state;
  const idx = 'RSDTZW'.indexOf(sname);
  let executable: string | undefined;
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    executable = undefined;
  }
  return {
    pid,
    ppid: stat.ppid,
    pgrp: stat.pgrp,
    sid: stat.session,
    uid: Number((status.get('Uid') ?? '0').split(/\s+/)[0]),
    gid: Number((status.get('Gid') ?? '0').split(/\s+/)[0]),
    state: idx < 0 ? 0 : idx,
    sname: idx < 0 ? '.' : sname,
    zomb: sname === 'Z' ? 1 : 0,
    nice: stat.nice,
    flag: stat.flags,
    comm: stat.comm.slice(0, 15),
    psargs: psargsFromArgv(cmdline),
    args,
    executable,
  };
}
