import { codecFor, type IntCodec, readUint, writeUint } from '../../bytes/endian.js';
import type { ArchInfo, ArchName } from '../../model/process-image.js';
import { AARCH64 } from './aarch64.js';
import { ARM } from './arm.js';
import { I386 } from './i386.js';
import { PPC64 } from './ppc64.js';
import { RISCV64 } from './riscv64.js';
import { S390X } from './s390x.js';
import type { RegisterTable } from './types.js';
import { X86_64 } from './x86_64.js';

export type { RegisterField, RegisterTable } from './types.js';

const TABLES: Record<ArchName, RegisterTable> = {
  x86_64: X86_64,
  i386: I386,
  aarch64: AARCH64,
  arm: ARM,
  ppc64le: PPC64,
  ppc64: PPC64,
  s390x: S390X,
  riscv64: RISCV64,
};

/** The general-register table of an architecture. */
export function registerTable(arch: ArchName): RegisterTable {
  return TABLES[arch];
}

/** Names every register of a pr_reg block; values are unsigned. */
export function decodeRegisters(arch: ArchInfo, gpRegs: Buffer): Map<string, bigint> {
  const table = registerTable(arch.name);
  const codec: IntCodec = codecFor(arch.endian);
  const out = new Map<string, bigint>();
  for (const f of table.fields) {
    if (f.offset + f.size <= gpRegs.length) out.set(f.name, readUint(codec, gpRegs, f.offset, f.size));
  }
  return out;
}

/** Builds a pr_reg block from named values; registers not given are zero. */
export function encodeRegisters(
  arch: ArchInfo,
  values: ReadonlyMap<string, bigint> | Record<string, bigint>,
): Buffer {
  const table = registerTable(arch.name);
  const codec = codecFor(arch.endian);
  const buf = Buffer.alloc(table.size);
  const get = (n: string) => (values instanceof Map ? values.get(n) : (values as Record<string, bigint>)[n]);
  for (const f of table.fields) {
    const v = get(f.name);
    if (v !== undefined) writeUint(codec, buf, f.offset, f.size, v);
  }
  return buf;
}
