import { ERESTARTSYS } from '../../abi/errno.js';
import { NT_ARM_TLS, NT_ARM_VFP, NT_FPREGSET, NT_X86_XSTATE } from '../../abi/notes.js';
import { FormatError } from '../../bytes/errors.js';
import { FXSAVE_SIZE, XSAVE_XCR0_OFFSET } from '../../elf/notes/x86.js';
import { encodeRegisters } from '../../elf/regs/index.js';
import type { AddressSpace } from '../../model/address-space.js';
import { ARCHES, type ArchInfo, type RegSet } from '../../model/process-image.js';
import type { core_entry, thread_info_aarch64, thread_info_arm, thread_info_x86 } from './gen/criu_pb.js';
import type { XsaveLayout } from './xsave-layout.js';

/** core_entry.mtype values. */
const MARCH_X86_64 = 1;
const MARCH_ARM = 2;
const MARCH_AARCH64 = 3;

/** What converting registers needs besides the core image. */
export interface RegisterContext {
  /** The standard XSAVE layout to write NT_X86_XSTATE in. */
  layout: XsaveLayout;
  /** The process memory (to recognise a system call instruction). */
  memory: AddressSpace;
}

/** One thread's registers in the kernel's core-file layouts. */
export interface ThreadRegisters {
  arch: ArchInfo;
  gpRegs: Buffer;
  regsets: RegSet[];
}

/** Converts a thread's CRIU register state into pr_reg and register-set notes. */
export function threadRegisters(core: core_entry, what: string, ctx: RegisterContext): ThreadRegisters {
  if (core.mtype === MARCH_X86_64 && core.threadInfo) return x86Registers(core.threadInfo, what, ctx);
  if (core.mtype === MARCH_AARCH64 && core.tiAarch64) return aarch64Registers(core.tiAarch64);
  if (core.mtype === MARCH_ARM && core.tiArm) return armRegisters(core.tiArm);
  throw new FormatError(0, `${what}: unsupported or missing thread state for machine type`, core.mtype);
}

// --- x86_64 ---------------------------------------------------------------------------------

/** The XSAVE components CRIU stores, by XCR0 bit. */
const XFEATURE_YMM = 2;
const XFEATURE_BNDREGS = 3;
const XFEATURE_BNDCSR = 4;
const XFEATURE_OPMASK = 5;
const XFEATURE_ZMM_HI256 = 6;
const XFEATURE_HI16_ZMM = 7;
const XFEATURE_PKRU = 9;

const XCR0_X87_SSE = 0x3n;

function x86Registers(ti: thread_info_x86, what: string, ctx: RegisterContext): ThreadRegisters {
  const g = ti.gpregs!;
  if (g.mode === 2) throw new FormatError(0, `${what}: 32-bit (compat) x86 tasks are not supported`);
  const arch = ARCHES.x86_64;
  // CRIU rewinds a thread caught inside a restartable system call to the `syscall` instruction
  // (ip - 2, ax = orig_ax) so that restore re-issues it. The kernel, ptrace and gdb see the
  // thread after the instruction, waiting in the call: undo the rewind.
  let ip = g.ip;
  let ax = g.ax;
  // `syscall` leaves the return address in rcx, which confirms it.
  if (BigInt.asIntN(64, g.origAx) >= 0n && g.ax === g.origAx && g.cx === g.ip + 2n) {
    const insn = ctx.memory.read(g.ip, 2);
    if (insn.missing.length === 0 && insn.data[0] === 0x0f && insn.data[1] === 0x05) {
      ip = g.ip + 2n;
      ax = BigInt.asUintN(64, ERESTARTSYS);
    }
  }
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
    rax: ax,
    rcx: g.cx,
    rdx: g.dx,
    rsi: g.si,
    rdi: g.di,
    orig_rax: g.origAx,
    rip: ip,
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
  const xstate = buildXstate(ti, fxsave, ctx.layout);
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
 * The full XSAVE area in the standard (non-compacted) layout of `layout`, with XCR0 (the
 * components present) in the software-reserved bytes where the kernel and gdb keep it.
 */
function buildXstate(ti: thread_info_x86, fxsave: Buffer, layout: XsaveLayout): Buffer | undefined {
  const x = ti.fpregs!.xsave;
  if (!x) return undefined;
  const parts: [number, Buffer][] = [
    [XFEATURE_YMM, words32(x.ymmhSpace)],
    [XFEATURE_BNDREGS, words64(x.bndregState)],
    [XFEATURE_BNDCSR, words64(x.bndcsrState)],
    [XFEATURE_OPMASK, words64(x.opmaskReg)],
    [XFEATURE_ZMM_HI256, words64(x.zmmUpper)],
    [XFEATURE_HI16_ZMM, words64(x.hi16Zmm)],
    [XFEATURE_PKRU, words32(x.pkru)],
  ];
  const present = parts.filter(([, data]) => data.length > 0);
  const xcr0 = present.reduce((m, [bit]) => m | (1n << BigInt(bit)), XCR0_X87_SSE);
  const where = layout.for(xcr0);
  const out = Buffer.alloc(where.areaSize(xcr0));
  fxsave.copy(out, 0);
  out.writeBigUInt64LE(xcr0, XSAVE_XCR0_OFFSET);
  // XSAVE header: XSTATE_BV (only components that exist), XCOMP_BV 0 = standard format.
  out.writeBigUInt64LE(x.xstateBv & xcr0, FXSAVE_SIZE);
  for (const [bit, data] of present) {
    const c = where.component(bit)!;
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
  // NT_ARM_TLS: tpidr_el0, where gdb finds the thread pointer.
  const tls = Buffer.alloc(8);
  tls.writeBigUInt64LE(ti.tls);
  return {
    arch,
    gpRegs,
    regsets: [
      { type: NT_FPREGSET, owner: 'CORE', data: fp },
      { type: NT_ARM_TLS, owner: 'LINUX', data: tls },
    ],
  };
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
    r11: BigInt(g.fp),
    r12: BigInt(g.ip),
    sp: BigInt(g.sp),
    lr: BigInt(g.lr),
    pc: BigInt(g.pc),
    spsr: BigInt(g.cpsr),
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
