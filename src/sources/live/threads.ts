import { readlinkSync } from 'node:fs';
import type { ProcessInfo, RawNote, ThreadState, TimeVal } from '../../model/process-image.js';
import { readProc, readStat, readStatus } from '../../sys/proc.js';
import { getRegSet } from '../../sys/ptrace.js';
import type { StoppedThread } from '../../sys/tracee.js';
import { xstateRegset } from './xstate.js';

const NT_PRSTATUS = 1;
const NT_PRFPREG = 2;
const NT_X86_XSTATE = 0x202;
/** USER_HZ: /proc reports times in these ticks. */
const TICKS = 100n;

function timeval(ticks: bigint): TimeVal {
  return { sec: ticks / TICKS, usec: (ticks % TICKS) * (1_000_000n / TICKS) };
}

function hexMask(text: string | undefined): bigint {
  return text ? BigInt(`0x${text}`) : 0n;
}

/**
 * The state of one stopped thread as the kernel would put it in a core: general registers
 * (NT_PRSTATUS regset), NT_PRFPREG and NT_X86_XSTATE at the size the kernel returns, the stop's
 * siginfo, and prstatus fields from /proc (the thread group leader carries the group's times).
 */
export function readThreadState(pid: number, t: StoppedThread): { state: ThreadState; layout?: RawNote } {
  const tid = t.tid;
  const gpRegs = getRegSet(tid, NT_PRSTATUS, 1024);
  const fp = getRegSet(tid, NT_PRFPREG, 1024);
  const xstate = xstateRegset(getRegSet(tid, NT_X86_XSTATE));
  const stat = readStat(tid === pid ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`);
  const status = readStatus(`/proc/${pid}/task/${tid}/status`);
  const signo = t.siginfo.readInt32LE(0);
  const state: ThreadState = {
    tid,
    status: {
      info: { signo, errno: t.siginfo.readInt32LE(4), code: t.siginfo.readInt32LE(8) },
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
    gpRegs,
    regsets: [{ type: NT_PRFPREG, owner: 'CORE', data: fp }, xstate.regset],
    siginfo: t.siginfo,
  };
  return { state, layout: xstate.layout };
}

const PRARGSZ = 80;

/** NT_PRPSINFO fields from /proc/PID/{stat,status,cmdline,exe}. */
export function readProcessInfo(pid: number): ProcessInfo {
  const stat = readStat(`/proc/${pid}/stat`);
  const status = readStatus(`/proc/${pid}/status`);
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  const args = cmdline.length ? cmdline.toString('utf8').replace(/\0$/, '').split('\0') : [];
  // Like the kernel: the first PRARGSZ-1 bytes of the argument area, NULs turned into spaces.
  const ps = Buffer.from(cmdline.subarray(0, PRARGSZ - 1));
  for (let i = 0; i < ps.length; i++) if (ps[i] === 0) ps[i] = 0x20;
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
    psargs: ps.toString('utf8'),
    args,
    executable,
  };
}
