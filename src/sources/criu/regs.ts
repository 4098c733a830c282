import { NT_ARM_VFP, NT_FPREGSET, NT_X86_XSTATE } from '../../elf/constants.js';
import { encodeRegisters } from '../../elf/regs/index.js';
import { ARCHES, type ArchInfo, type RegSet } from '../../model/process-image.js';
import type { core_entry, thread_info_aarch64, thread_info_arm, thread_info_x86 } from './gen/criu_pb.js';

/** core_entry.mtype values. */
const MARCH_X86_64 = 1;
const MARCH_ARM = 2;
const MARCH_AARCH64 = 3;

/** One thread's registers in the kernel's core-file layouts. */
export interface ThreadRegisters {
  arch: ArchInfo;
  gpRegs: Buffer;
  regsets: RegSet[];
}

/** Converts a thread's CRIU register state into pr_reg and register-set notes. */
export function threadRegisters(core: core_entry, what: string): ThreadRegisters {
  if (core.mtype === MARCH_X86_64 && core.threadInfo) return x86Registers(core.threadInfo, what);
  if (core.mtype === MARCH_AARCH64 && core.tiAarch64) return aarch64Registers(core.tiAarch64);
  if (core.mtype === MARCH_ARM && core.tiArm) return armRegisters(core.tiArm);
  throw new Error(`${what}: unsupported or missing thread state for machine type ${core.mtype}`);
}

// --- x86_64 ---------------------------------------------------------------------------------

/** XSAVE state components (standard, non-compacted format): XCR0 bit, offset, size. */
const XSAVE_COMPONENTS = {
  ymmh: { bit: 2, offset: 576, size: 256 },
  bndregs: { bit: 3, offset: 960, size: 64 },
  bndcsr: { bit: 4, offset: 1024, size: 64 },
  opmask: { bit: 5, offset: 1088, size: 64 },
  zmmHi256: { bit: 6, offset: 1152, size: 512 },
  hi16Zmm: { bit: 7, offset: 1664, size: 1024 },
  pkru: { bit: 9, offset: 2688, size: 8 },
} as const;

const FXSAVE_SIZE = 512;
const XSAVE_HEADER_SIZE = 64;
/** Where the kernel (and gdb) keep XCR0 in the fxsave area's software-reserved bytes. */
const XSAVE_XCR0_OFFSET = 464;
const XCR0_X87_SSE = 0x3n;

function x86Registers(ti: thread_info_x86, what: string): ThreadRegisters {
  const g = ti.gpregs!;
  if (g.mode === 2) throw new Error(`${what}: 32-bit (compat) x86 tasks are not supported`);
  const arch = ARCHES.x86_64;
  const gpRegs = encodeRegisters(arch, {
    r15: g.r15,
    r14: g.r14,
    r13: g.r13,
    r12: g.r12,
    rbp: g.bp,
    rbx: g.bx,
    r11: g.r11,
    r10: g.r10,
    r9: g.r9,
    r8: g.r8,
    rax: g.ax,
    rcx: g.cx,
    rdx: g.dx,
    rsi: g.si,
    rdi: g.di,
    orig_rax: g.origAx,
    rip: g.ip,
    cs: g.cs,
    rflags: g.flags,
    rsp: g.sp,
    ss: g.ss,
    'fs.base': g.fsBase,
    'gs.base': g.gsBase,
    ds: g.ds,
    es: g.es,
    fs: g.fs,
    gs: g.gs,
  });
  const fxsave = buildFxsave(ti);
  const regsets: RegSet[] = [{ type: NT_FPREGSET, owner: 'CORE', data: fxsave }];
  const xstate = buildXstate(ti, fxsave);
  if (xstate) regsets.push({ type: NT_X86_XSTATE, owner: 'LINUX', data: xstate });
  return { arch, gpRegs, regsets };
}

/** The 512-byte fxsave area (struct user_i387_struct) from CRIU's field-by-field copy. */
function buildFxsave(ti: thread_info_x86): Buffer {
  const f = ti.fpregs!;
  const b = Buffer.alloc(FXSAVE_SIZE);
  b.writeUInt16LE(f.cwd & 0xffff, 0);
  b.writeUInt16LE(f.swd & 0xffff, 2);
  b.writeUInt16LE(f.twd & 0xffff, 4);
  b.writeUInt16LE(f.fop & 0xffff, 6);
  b.writeBigUInt64LE(f.rip, 8);
  b.writeBigUInt64LE(f.rdp, 16);
  b.writeUInt32LE(f.mxcsr >>> 0, 24);
  b.writeUInt32LE(f.mxcsrMask >>> 0, 28);
  putWords32(b, 32, 128, f.stSpace);
  putWords32(b, 160, 256, f.xmmSpace);
  putWords32(b, 416, 96, f.padding);
  return b;
}

/**
 * The full XSAVE area in the standard layout, sized to the highest component the checkpoint
 * holds, with XCR0 (the components present) in the software-reserved bytes for gdb.
 */
function buildXstate(ti: thread_info_x86, fxsave: Buffer): Buffer | undefined {
  const x = ti.fpregs!.xsave;
  if (!x) return undefined;
  const parts: [keyof typeof XSAVE_COMPONENTS, Buffer][] = [
    ['ymmh', words32(x.ymmhSpace)],
    ['bndregs', words64(x.bndregState)],
    ['bndcsr', words64(x.bndcsrState)],
    ['opmask', words64(x.opmaskReg)],
    ['zmmHi256', words64(x.zmmUpper)],
    ['hi16Zmm', words64(x.hi16Zmm)],
    ['pkru', words32(x.pkru)],
  ];
  let xcr0 = XCR0_X87_SSE;
  let size = FXSAVE_SIZE + XSAVE_HEADER_SIZE;
  for (const [name, data] of parts) {
    if (data.length === 0) continue;
    const c = XSAVE_COMPONENTS[name];
    xcr0 |= 1n << BigInt(c.bit);
    size = Math.max(size, c.offset + c.size);
  }
  const out = Buffer.alloc(size);
  fxsave.copy(out, 0);
  out.writeBigUInt64LE(xcr0, XSAVE_XCR0_OFFSET);
  // XSAVE header: XSTATE_BV (only components that exist), XCOMP_BV 0 = standard format.
  out.writeBigUInt64LE(x.xstateBv & xcr0, FXSAVE_SIZE);
  for (const [name, data] of parts) {
    const c = XSAVE_COMPONENTS[name];
    data.copy(out, c.offset, 0, Math.min(data.length, c.size));
  }
  return out;
}

function words32(v: readonly number[]): Buffer {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((w, i) => {
    b.writeUInt32LE(w >>> 0, i * 4);
  });
  return b;
}

function words64(v: readonly bigint[]): Buffer {
  const b = Buffer.alloc(v.length * 8);
  v.forEach((w, i) => {
    b.writeBigUInt64LE(BigInt.asUintN(64, w), i * 8);
  });
  return b;
}

function putWords32(b: Buffer, offset: number, max: number, v: readonly number[]): void {
  words32(v).copy(b, offset, 0, Math.min(max, v.length * 4));
}

// --- aarch64 --------------------------------------------------------------------------------

function aarch64Registers(ti: thread_info_aarch64): ThreadRegisters {
  const arch = ARCHES.aarch64;
  const g = ti.gpregs!;
  const values: Record<string, bigint> = { sp: g.sp, pc: g.pc, pstate: g.pstate };
  g.regs.slice(0, 31).forEach((v, i) => {
    values[`x${i}`] = v;
  });
  const gpRegs = encodeRegisters(arch, values);
  // NT_FPREGSET on arm64 is struct user_fpsimd_state: 32 x 128-bit vregs, fpsr, fpcr, padding.
  const f = ti.fpsimd!;
  const fp = Buffer.alloc(528);
  words64(f.vregs).copy(fp, 0, 0, Math.min(512, f.vregs.length * 8));
  fp.writeUInt32LE(f.fpsr >>> 0, 512);
  fp.writeUInt32LE(f.fpcr >>> 0, 516);
  return { arch, gpRegs, regsets: [{ type: NT_FPREGSET, owner: 'CORE', data: fp }] };
}

// --- arm ------------------------------------------------------------------------------------

function armRegisters(ti: thread_info_arm): ThreadRegisters {
  const arch = ARCHES.arm;
  const g = ti.gpregs!;
  const values: Record<string, bigint> = {
    r0: BigInt(g.r0),
    r1: BigInt(g.r1),
    r2: BigInt(g.r2),
    r3: BigInt(g.r3),
    r4: BigInt(g.r4),
    r5: BigInt(g.r5),
    r6: BigInt(g.r6),
    r7: BigInt(g.r7),
    r8: BigInt(g.r8),
    r9: BigInt(g.r9),
    r10: BigInt(g.r10),
    fp: BigInt(g.fp),
    ip: BigInt(g.ip),
    sp: BigInt(g.sp),
    lr: BigInt(g.lr),
    pc: BigInt(g.pc),
    cpsr: BigInt(g.cpsr),
    orig_r0: BigInt(g.origR0),
  };
  const gpRegs = encodeRegisters(arch, values);
  // NT_ARM_VFP: 32 x 64-bit d registers, then fpscr (struct user_vfp).
  const v = ti.fpstate!;
  const vfp = Buffer.alloc(260);
  words64(v.vfpRegs).copy(vfp, 0, 0, Math.min(256, v.vfpRegs.length * 8));
  vfp.writeUInt32LE(v.fpscr >>> 0, 256);
  return { arch, gpRegs, regsets: [{ type: NT_ARM_VFP, owner: 'LINUX', data: vfp }] };
}
