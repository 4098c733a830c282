// NT_PRSTATUS (struct elf_prstatus): a thread's signal state, ids, times and general registers.
import type { ArchInfo, ThreadStatus } from '../../model/process-image.js';
import { registerTableOf } from '../regs/index.js';
import {
  archContext,
  decodeStruct,
  encodeStruct,
  fieldOffset,
  members,
  type StructContext,
  type StructDef,
  structSize,
  timeval,
} from './fields.js';

/** struct elf_prstatus; pr_reg is the arch's elf_gregset_t, pr_fpvalid may be cut off. */
export const ELF_PRSTATUS: StructDef = {
  name: 'NT_PRSTATUS',
  fields: [
    { name: 'info', kind: 'struct', fields: members('i32', 'signo', 'code', 'errno') },
    { name: 'cursig', kind: 'u16' },
    ...members('word', 'sigpend', 'sighold'),
    ...members('i32', 'pid', 'ppid', 'pgrp', 'sid'),
    timeval('utime'),
    timeval('stime'),
    timeval('cutime'),
    timeval('cstime'),
    { name: 'gpRegs', kind: 'regs' },
    { name: 'fpvalid', kind: 'i32', optional: true },
  ],
};

/** The struct's context: pr_reg is `unknownRegsSize` bytes when the arch has no register table. */
function context(arch: ArchInfo, unknownRegsSize: number): StructContext {
  return archContext(arch, registerTableOf(arch)?.size ?? unknownRegsSize);
}

/**
 * pr_reg's size in a descriptor of an unknown architecture: what it leaves between the times and
 * pr_fpvalid, a whole number of words.
 */
function regsSizeIn(arch: ArchInfo, descSize: number): number {
  const ctx = archContext(arch);
  const w = ctx.layout.wordSize;
  const free = descSize - fieldOffset(ELF_PRSTATUS, ctx, 'gpRegs') - 4;
  return Math.max(0, Math.floor(free / w) * w);
}

export function prstatusSize(arch: ArchInfo): number {
  return structSize(ELF_PRSTATUS, context(arch, 0));
}

export interface DecodedPrStatus {
  status: ThreadStatus;
  gpRegs: Buffer;
}

export function decodePrStatus(arch: ArchInfo, desc: Buffer, base: bigint): DecodedPrStatus {
  const fields = decodeStruct(
    ELF_PRSTATUS,
    context(arch, regsSizeIn(arch, desc.length)),
    desc,
    base,
    arch.name,
  );
  const { gpRegs, ...status } = fields as unknown as ThreadStatus & { gpRegs: Buffer };
  return { status, gpRegs };
}

export function encodePrStatus(arch: ArchInfo, status: ThreadStatus, gpRegs: Buffer): Buffer {
  return encodeStruct(ELF_PRSTATUS, context(arch, gpRegs.length), { ...status, gpRegs });
}
