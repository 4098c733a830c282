// NT_PRPSINFO (struct elf_prpsinfo): the process's state, ids, name and command line; and the
// kernel's rules for pr_psargs.
import type { ArchInfo, ProcessInfo } from '../../model/process-image.js';
import { archContext, decodeStruct, encodeStruct, members, type StructDef } from './fields.js';

/** ELF_PRARGSZ: bytes of pr_psargs, including its terminating NUL. */
export const ELF_PRARGSZ = 80;

/** struct elf_prpsinfo; pr_uid and pr_gid are __kernel_uid_t (2 bytes on i386 and arm). */
export const ELF_PRPSINFO: StructDef = {
  name: 'NT_PRPSINFO',
  fields: [
    { name: 'state', kind: 'u8' },
    { name: 'sname', kind: 'char' },
    { name: 'zomb', kind: 'u8' },
    { name: 'nice', kind: 'i8' },
    { name: 'flag', kind: 'word' },
    ...members('uid', 'uid', 'gid'),
    ...members('i32', 'pid', 'ppid', 'pgrp', 'sid'),
    /** pr_fname */
    { name: 'comm', kind: 'string', size: 16 },
    { name: 'psargs', kind: 'string', size: ELF_PRARGSZ },
  ],
};

export function decodePrPsInfo(arch: ArchInfo, desc: Buffer, base: bigint): ProcessInfo {
  return decodeStruct(ELF_PRPSINFO, archContext(arch), desc, base, arch.name) as unknown as ProcessInfo;
}

export function encodePrPsInfo(arch: ArchInfo, p: ProcessInfo): Buffer {
  return encodeStruct(ELF_PRPSINFO, archContext(arch), { ...p });
}

/**
 * The kernel's psargs from a raw argv area: NULs become spaces, cut to ELF_PRARGSZ - 1 bytes.
 * The cut moves back to a whole UTF-8 character, so the text encodes (pr_psargs in ELF_PRPSINFO)
 * to the same bytes and never to more than fit.
 */
export function psargsFromArgv(raw: Buffer): string {
  let n = Math.min(raw.length, ELF_PRARGSZ - 1);
  if (n < raw.length) while (n > 0 && (raw[n]! & 0xc0) === 0x80) n--;
  let bytes = raw.subarray(0, n);
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, bytes.length - 1);
  return Buffer.from(bytes.map((b) => (b === 0 ? 0x20 : b))).toString('utf8');
}
