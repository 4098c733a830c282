/**
 * General-register (pr_reg) tables per architecture, named as `eu-readelf -n` names them.
 *
 * eu-readelf (0.188) also names registers kept outside pr_reg, in other notes; they are not in
 * these tables: x86_64 FPREGSET (xmm0-15, st0-7, mxcsr, fcw, fsw); i386 FPREGSET (st0-7, fctrl,
 * fstat) and PRXFPREG (xmm0-7, st0-7, mxcsr, fctrl, fstat); aarch64 FPREGSET (v0-v31, fpsr,
 * fpcr), ARM_TLS (tls), ARM_SYSTEM_CALL (syscall), ARM_HW_BREAK/WATCH (DBGBVRn_EL1...);
 * arm FPREGSET (f0-f7), ARM_VFP (d0-d31, fpscr); ppc64 FPREGSET (f0-f31, fpscr), PPC_VMX
 * (vr0-vr31, vscr, vrsave); s390x FPREGSET (fpc, f0-f15), S390_LAST_BREAK (last_break),
 * S390_SYSTEM_CALL (system_call). It decodes no X86_XSTATE, PPC_VSX, riscv64 FPREGSET or other
 * S390_* notes.
 */
import { codecFor, type IntCodec, readUint, writeUint } from '../../bytes/endian.js';
import type { ArchInfo, ArchName, KnownArch } from '../../model/process-image.js';
import { AARCH64 } from './aarch64.js';
import { ARM } from './arm.js';
import { I386 } from './i386.js';
import { M68K } from './m68k.js';
import { PPC, PPC64 } from './ppc64.js';
import { RISCV64 } from './riscv64.js';
import { S390, S390X } from './s390x.js';
import { SPARC64 } from './sparc64.js';
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
  // x32 keeps x86_64's 64-bit user_regs_struct.
  x32: X86_64,
  ppc: PPC,
  s390: S390,
  m68k: M68K,
  sparc64: SPARC64,
};

/** The general-register table of an architecture. */
export function registerTable(arch: ArchName): RegisterTable {
  return TABLES[arch];
}

/** The general-register table of an architecture, if coreshot has one for it. */
export function registerTableOf(arch: ArchInfo): RegisterTable | undefined {
  return arch.name === 'unknown' ? undefined : TABLES[arch.name];
}

/** Names every register of a pr_reg block; values are unsigned. None for an unknown architecture. */
export function decodeRegisters(arch: ArchInfo, gpRegs: Buffer): Map<string, bigint> {
  const codec: IntCodec = codecFor(arch.endian);
  const out = new Map<string, bigint>();
  for (const f of registerTableOf(arch)?.fields ?? []) {
    if (f.offset + f.size <= gpRegs.length) out.set(f.name, readUint(codec, gpRegs, f.offset, f.size));
  }
  return out;
}

/** Builds a pr_reg block from named values; registers not given are zero. */
export function encodeRegisters(
  arch: KnownArch,
  values: ReadonlyMap<string, bigint> | Record<string, bigint>,
): Buffer {
  const table = TABLES[arch.name];
  const codec = codecFor(arch.endian);
  const buf = Buffer.alloc(table.size);
  const get = (n: string) => (values instanceof Map ? values.get(n) : (values as Record<string, bigint>)[n]);
  for (const f of table.fields) {
    const v = get(f.name);
    if (v !== undefined) writeUint(codec, buf, f.offset, f.size, v);
  }
  return buf;
}
