import { Cursor, fixedString } from '../../bytes/cursor.js';
import { codecFor } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';
import type { ArchInfo, ProcessInfo } from '../../model/process-image.js';
import { archElf } from '../arch.js';
import { layoutFor } from '../layout.js';

/** ELF_PRARGSZ: bytes of pr_psargs, including its terminating NUL. */
export const ELF_PRARGSZ = 80;
const FNAME = 16;

/**
 * struct elf_prpsinfo: pr_state, pr_sname, pr_zomb, pr_nice (chars), pr_flag (long), pr_uid and
 * pr_gid (__kernel_uid_t: 2 bytes on i386/arm, 4 elsewhere), pr_pid/ppid/pgrp/sid (ints),
 * pr_fname[16], pr_psargs[80].
 */
function shape(arch: ArchInfo) {
  const w = arch.elfClass === 64 ? 8 : 4;
  const uid = archElf(arch.name).uidSize;
  const flag = w;
  const uidAt = flag + w;
  const pidAt = Math.ceil((uidAt + 2 * uid) / 4) * 4;
  const fname = pidAt + 16;
  const psargs = fname + FNAME;
  const size = Math.ceil((psargs + ELF_PRARGSZ) / w) * w;
  return { w, uid, flag, uidAt, pidAt, fname, psargs, size };
}

export function decodePrPsInfo(arch: ArchInfo, desc: Buffer, base: bigint): ProcessInfo {
  const s = shape(arch);
  if (desc.length < s.psargs + ELF_PRARGSZ)
    throw new FormatError(base, `NT_PRPSINFO too small for ${arch.name}`, desc.length);
  const c = new Cursor(desc, codecFor(arch.endian), base);
  const state = c.u8();
  const sname = String.fromCharCode(c.u8());
  const zomb = c.u8();
  const nice = (c.u8() << 24) >> 24;
  c.seek(s.flag);
  const flag = c.word(s.w as 4 | 8);
  c.seek(s.uidAt);
  const uid = s.uid === 2 ? c.u16() : c.u32();
  const gid = s.uid === 2 ? c.u16() : c.u32();
  c.seek(s.pidAt);
  const pid = c.i32();
  const ppid = c.i32();
  const pgrp = c.i32();
  const sid = c.i32();
  const comm = fixedString(c.bytes(FNAME));
  const psargs = fixedString(c.bytes(ELF_PRARGSZ));
  return { state, sname, zomb, nice, flag, uid, gid, pid, ppid, pgrp, sid, comm, psargs };
}

export function encodePrPsInfo(arch: ArchInfo, p: ProcessInfo): Buffer {
  const s = shape(arch);
  const layout = layoutFor(arch.elfClass, arch.endian);
  const c = layout.codec;
  const b = Buffer.alloc(s.size);
  b[0] = p.state & 0xff;
  b[1] = (p.sname.charCodeAt(0) || 0) & 0xff;
  b[2] = p.zomb & 0xff;
  b[3] = p.nice & 0xff;
  layout.putWord(b, s.flag, p.flag);
  if (s.uid === 2) {
    c.put16(b, s.uidAt, p.uid);
    c.put16(b, s.uidAt + 2, p.gid);
  } else {
    c.put32(b, s.uidAt, p.uid);
    c.put32(b, s.uidAt + 4, p.gid);
  }
  c.put32(b, s.pidAt, p.pid);
  c.put32(b, s.pidAt + 4, p.ppid);
  c.put32(b, s.pidAt + 8, p.pgrp);
  c.put32(b, s.pidAt + 12, p.sid);
  Buffer.from(p.comm, 'utf8').copy(b, s.fname, 0, FNAME - 1);
  psargsBytes(p.psargs).copy(b, s.psargs);
  return b;
}

/** pr_psargs as the kernel fills it: at most 79 bytes of text and a NUL. */
export function psargsBytes(text: string): Buffer {
  const out = Buffer.alloc(ELF_PRARGSZ);
  Buffer.from(text, 'utf8').copy(out, 0, 0, ELF_PRARGSZ - 1);
  return out;
}

/**
 * The kernel's psargs from a raw argv area: NULs become spaces, cut to ELF_PRARGSZ - 1 bytes.
 * The cut moves back to a whole UTF-8 character, so the text encodes (psargsBytes) to the same
 * bytes and never to more than fit.
 */
export function psargsFromArgv(raw: Buffer): string {
  let n = Math.min(raw.length, ELF_PRARGSZ - 1);
  if (n < raw.length) while (n > 0 && (raw[n]! & 0xc0) === 0x80) n--;
  let bytes = raw.subarray(0, n);
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, bytes.length - 1);
  return Buffer.from(bytes.map((b) => (b === 0 ? 0x20 : b))).toString('utf8');
}
