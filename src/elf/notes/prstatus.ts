import { Cursor } from '../../bytes/cursor.js';
import { codecFor } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';
import type { ArchInfo, ThreadStatus, TimeVal } from '../../model/process-image.js';
import { archElf } from '../arch.js';
import { layoutFor } from '../layout.js';
import { registerTable } from '../regs/index.js';

/**
 * struct elf_prstatus: pr_info (3 ints), pr_cursig (short), pr_sigpend, pr_sighold (longs),
 * pr_pid/ppid/pgrp/sid (ints), four timevals (two longs each), pr_reg, pr_fpvalid (int), padded
 * to the struct's alignment. Members are naturally aligned up to the arch's maxAlign (m68k: 2);
 * pr_reg may be aligned more (regAlign: x32, s390). With the defaults pr_reg is at 32 + 10 words.
 */
function shape(arch: ArchInfo) {
  const w = arch.elfClass === 64 ? 8 : 4;
  const facts = archElf(arch.name);
  const max = facts.maxAlign ?? 8;
  const align = (off: number, n: number) => {
    const a = Math.min(n, max);
    return Math.ceil(off / a) * a;
  };
  const sigpend = align(14, w);
  const pid = align(sigpend + 2 * w, 4);
  const times = align(pid + 16, w);
  const regAlign = facts.regAlign ?? w;
  const regOffset = align(times + 8 * w, regAlign);
  const regSize = registerTable(arch.name).size;
  const fpvalidOffset = align(regOffset + regSize, 4);
  const structAlign = Math.min(Math.max(w, regAlign), max);
  const size = Math.ceil((fpvalidOffset + 4) / structAlign) * structAlign;
  return { w, sigpend, pid, times, regOffset, regSize, fpvalidOffset, size };
}

export function prstatusSize(arch: ArchInfo): number {
  return shape(arch).size;
}

export interface DecodedPrStatus {
  status: ThreadStatus;
  gpRegs: Buffer;
}

export function decodePrStatus(arch: ArchInfo, desc: Buffer, base: bigint): DecodedPrStatus {
  const s = shape(arch);
  if (desc.length < s.fpvalidOffset) {
    throw new FormatError(base, `NT_PRSTATUS too small for ${arch.name}`, desc.length);
  }
  const c = new Cursor(desc, codecFor(arch.endian), base);
  const word = () => c.word(s.w as 4 | 8);
  const info = { signo: c.i32(), code: c.i32(), errno: c.i32() };
  const cursig = c.u16();
  c.seek(s.sigpend);
  const sigpend = word();
  const sighold = word();
  c.seek(s.pid);
  const pid = c.i32();
  const ppid = c.i32();
  const pgrp = c.i32();
  const sid = c.i32();
  const tv = (): TimeVal => ({ sec: word(), usec: word() });
  c.seek(s.times);
  const utime = tv();
  const stime = tv();
  const cutime = tv();
  const cstime = tv();
  c.seek(s.regOffset);
  const gpRegs = Buffer.from(c.bytes(s.regSize, 'pr_reg'));
  const fpvalid = c.remaining >= 4 ? c.i32() : 0;
  return {
    status: { info, cursig, sigpend, sighold, pid, ppid, pgrp, sid, utime, stime, cutime, cstime, fpvalid },
    gpRegs,
  };
}

export function encodePrStatus(arch: ArchInfo, status: ThreadStatus, gpRegs: Buffer): Buffer {
  const s = shape(arch);
  const layout = layoutFor(arch.elfClass, arch.endian);
  const c = layout.codec;
  const b = Buffer.alloc(s.size);
  c.put32(b, 0, status.info.signo);
  c.put32(b, 4, status.info.code);
  c.put32(b, 8, status.info.errno);
  c.put16(b, 12, status.cursig);
  layout.putWord(b, s.sigpend, status.sigpend);
  layout.putWord(b, s.sigpend + s.w, status.sighold);
  c.put32(b, s.pid, status.pid);
  c.put32(b, s.pid + 4, status.ppid);
  c.put32(b, s.pid + 8, status.pgrp);
  c.put32(b, s.pid + 12, status.sid);
  let at = s.times;
  for (const t of [status.utime, status.stime, status.cutime, status.cstime]) {
    layout.putWord(b, at, t.sec);
    layout.putWord(b, at + s.w, t.usec);
    at += 2 * s.w;
  }
  gpRegs.copy(b, s.regOffset, 0, Math.min(gpRegs.length, s.regSize));
  c.put32(b, s.fpvalidOffset, status.fpvalid);
  return b;
}
