/**
 * The unwind loop: from a thread's registers to its chain of frames. Each step uses, in order,
 * a kernel signal trampoline recognised by its instructions (registers from the signal frame),
 * the module's DWARF CFI or ARM EHABI entry, and without either the arch's leaf rule (frame 0, after a signal frame,
 * PLT stubs) or its frame-pointer chain. Memory is read only through the image's AddressSpace.
 * Unwinding stops at an undefined return address (the outermost frame), a zero pc, a step that
 * does not move outwards, a repeated frame, or the frame limit; anything else is named.
 */
import { codecFor, type IntCodec, readUint } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';
import type { AddressSpace } from '../../model/address-space.js';
import { ARCHES } from '../../model/process-image.js';
import type { BackChain, UnwindArch } from './arches.js';
import { armStep, type ExidxEntry, PROLOGUE_BYTES, thumbPrologue } from './arm-exidx.js';
import { type CallFrameTable, type Fde, type Row, RULE } from './cfi.js';
import { evaluate, UnwindError } from './expression.js';
import { FrameReader } from './pointer.js';
import { ppc64Saves } from './ppc64-prologue.js';

export type FrameHow =
  | 'initial'
  | 'cfi'
  | 'arm-exidx'
  | 'prologue'
  | 'frame-pointer'
  | 'back-chain'
  | 'signal-frame'
  | 'leaf';

export interface RawFrame {
  pc: bigint;
  /** How this frame's registers were found from the frame inside it. */
  how: FrameHow;
  /** pc is a return address: the call is at pc - 1 (for CFI and for symbols). */
  callSite: boolean;
  /** This frame is a signal trampoline ("<signal handler called>"). */
  signal: boolean;
}

export interface UnwoundThread {
  frames: RawFrame[];
  /** Why unwinding stopped early; absent when it reached the outermost frame. */
  stopped?: string;
}

/** The CFI of the module holding a pc. */
export interface FrameInfo {
  /** The FDE covering the pc and the table it is in (.eh_frame first, then .debug_frame). */
  fde?: { table: CallFrameTable; fde: Fde; linkPc: bigint };
  /** arm: the function's .ARM.exidx entry, when no FDE covers the pc. */
  exidx?: ExidxEntry;
  /**
   * The function's start and its first `length` bytes (from its file), for prologue analysis:
   * arm under EXIDX_CANTUNWIND, and in the innermost frame, where an .ARM.exidx entry cannot be
   * trusted; ppc64 frames unwound through the back chain. Looked up only when asked (a symbol
   * lookup and a read; most frames never need it).
   */
  prologue?: (length: number) => { start: bigint; code: Buffer } | undefined;
  /** The pc is in a PLT section (a stub that has not touched the stack). */
  plt: boolean;
}

export type FrameInfoLookup = (pc: bigint) => FrameInfo | undefined;

export interface UnwindOptions {
  /** Frames beyond this are not unwound (default 1024). */
  maxFrames?: number;
  /** aarch64 NT_ARM_PAC_MASK insn_mask: bits of signed return addresses to clear. */
  pacMask?: bigint;
  /** arm: the thread runs Thumb code (the CPSR's T bit): the instruction set of frame 0. */
  thumb?: boolean;
}

/** Registers of one frame: DWARF number → value (undefined: unknown). */
type Registers = (bigint | undefined)[];

/** Reads words of the image's memory, naming what is missing. */
class MemoryWords {
  private readonly mem: AddressSpace;
  readonly codec: IntCodec;
  private readonly buf = Buffer.alloc(8);
  constructor(mem: AddressSpace, codec: IntCodec) {
    this.mem = mem;
    this.codec = codec;
  }
  read(addr: bigint, size: number): bigint {
    const target = this.buf.subarray(0, size);
    const missing = this.mem.readInto(addr, target);
    if (missing.length) {
      throw new UnwindError(
        'memory',
        `memory at 0x${addr.toString(16)} is not available (${missing[0]!.reason})`,
      );
    }
    return readUint(this.codec, target, 0, size);
  }
  bytes(addr: bigint, size: number): Buffer | undefined {
    const r = this.mem.read(addr, size);
    return r.missing.length ? undefined : r.data;
  }
}

interface State {
  pc: bigint;
  regs: Registers;
  callSite: boolean;
}

/** Unwinds one thread from its registers (DWARF-numbered) and pc. */
export function unwindThread(
  arch: UnwindArch,
  memory: AddressSpace,
  lookup: FrameInfoLookup,
  pc: bigint,
  regs: Registers,
  options: UnwindOptions = {},
): UnwoundThread {
  const words = new MemoryWords(memory, codecFor(ARCHES[arch.name].endian));
  const max = options.maxFrames ?? 1024;
  const frames: RawFrame[] = [
    { pc: clean(arch, pc, options), how: 'initial', callSite: false, signal: false },
  ];
  const seen = new Set<string>();
  let state: State = { pc: frames[0]!.pc, regs, callSite: false };
  for (;;) {
    const frame = frames[frames.length - 1]!;
    if (frames.length >= max) return { frames, stopped: `frame limit (${max}) reached` };
    let next: Step;
    try {
      next = step(arch, words, lookup, state, frames.length === 1, options);
    } catch (err) {
      if (err instanceof UnwindError || err instanceof FormatError) return { frames, stopped: err.message };
      throw err;
    }
    if (next.kind === 'end') return next.reason ? { frames, stopped: next.reason } : { frames };
    frame.signal = next.signal;
    const sp = state.regs[arch.sp];
    const nsp = next.state.regs[arch.sp];
    if (next.state.pc === 0n) return { frames };
    if (sp !== undefined && nsp !== undefined && nsp < sp && !next.signal)
      return { frames, stopped: 'previous frame inner to this frame (corrupt stack?)' };
    const key = `${next.state.pc}:${nsp}`;
    if (seen.has(key)) return { frames, stopped: 'previous frame identical to this frame (corrupt stack?)' };
    seen.add(key);
    frames.push({ pc: next.state.pc, how: next.how, callSite: next.state.callSite, signal: false });
    state = next.state;
  }
}

type Step =
  | { kind: 'end'; reason?: string }
  | { kind: 'frame'; state: State; how: FrameHow; signal: boolean };

function clean(arch: UnwindArch, pc: bigint, options: UnwindOptions): bigint {
  let v = pc & ~arch.pcAlign;
  if (options.pacMask) v &= ~options.pacMask;
  return v;
}

function step(
  arch: UnwindArch,
  words: MemoryWords,
  lookup: FrameInfoLookup,
  s: State,
  first: boolean,
  options: UnwindOptions,
): Step {
  const trampoline = fromTrampoline(arch, words, s, options);
  if (trampoline) return trampoline;
  const at = s.callSite ? s.pc - 1n : s.pc;
  const info = lookup(at);
  if (info?.fde) {
    const { table, fde, linkPc } = info.fde;
    const row = table.row(fde, linkPc, arch.regs);
    return fromRow(arch, words, table, row, fde.cie.raRegister, fde.cie.signal, s, options);
  }
  if (info?.exidx) return fromExidx(arch, words, info, s, first, options);
  // Without CFI: a PLT stub, or the innermost frame of a function without a frame pointer, has
  // its return address where the call left it; other frames follow the frame-pointer chain.
  // A pc outside every module in frame 0 is a call through a bad pointer: its caller's return
  // address is where the call left it. A back chain says nothing of whether the innermost
  // function has made its frame yet (a leaf never does): there the link register is taken.
  const innermost = first || !s.callSite;
  if (
    info?.plt ||
    (first && !info) ||
    (innermost && (arch.chain?.how === 'back-chain' || !chainUsable(arch, s)))
  )
    return leaf(arch, words, s, options);
  if (arch.chain?.how === 'back-chain') return fromBackChain(arch, arch.chain, words, info, s, options);
  return fromChain(arch, words, s, options);
}

/** Registers saved by the kernel in a signal frame, when pc is at a sigreturn trampoline. */
function fromTrampoline(
  arch: UnwindArch,
  words: MemoryWords,
  s: State,
  options: UnwindOptions,
): Step | undefined {
  const sp = s.regs[arch.sp];
  if (sp === undefined) return undefined;
  for (const t of arch.trampolines) {
    const code = words.bytes(s.pc, t.code.length);
    if (!code?.equals(t.code)) continue;
    const base = sp + BigInt(t.context);
    const regs: Registers = new Array(arch.regs).fill(undefined);
    for (const slot of t.regs)
      if (slot.reg < arch.regs) regs[slot.reg] = words.read(base + BigInt(slot.offset), arch.addressSize);
    const pc = clean(arch, words.read(base + BigInt(t.pc), arch.addressSize), options);
    return { kind: 'frame', state: { pc, regs, callSite: false }, how: 'signal-frame', signal: true };
  }
  return undefined;
}

function fromRow(
  arch: UnwindArch,
  words: MemoryWords,
  table: CallFrameTable,
  row: Row,
  raRegister: number,
  signal: boolean,
  s: State,
  options: UnwindOptions,
): Step {
  const reader = new FrameReader(table.data, 0n, words.codec, arch.addressSize);
  const ctx = {
    register: (n: number) => s.regs[n],
    read: (addr: bigint, size: number) => words.read(addr, size),
  };
  let cfa: bigint;
  if (row.cfaKind === 'expr') cfa = evaluate(reader, row.cfaOffset, row.cfaLength, ctx);
  else {
    const base = s.regs[row.cfaReg];
    if (base === undefined)
      throw new UnwindError('cfi', `the CFA is based on register ${row.cfaReg}, whose value is unknown`);
    cfa = base + BigInt(row.cfaOffset);
  }
  cfa = wrap(arch, cfa);
  const regs: Registers = new Array(arch.regs);
  for (let i = 0; i < arch.regs; i++) {
    const kind = row.kinds[i]!;
    const a = row.a[i]!;
    try {
      regs[i] = ruleValue(arch, words, reader, row, i, kind, a, cfa, s.regs, ctx);
    } catch (err) {
      // A callee-saved register that cannot be read only matters if it is needed later.
      if (i === raRegister || !(err instanceof UnwindError)) throw err;
      regs[i] = undefined;
    }
  }
  if ((row.kinds[arch.sp] === RULE.unset && !arch.spKeeps) || arch.sp >= arch.regs) regs[arch.sp] = cfa;
  if (raRegister >= arch.regs || row.kinds[raRegister] === RULE.undefined) return { kind: 'end' };
  const ra = regs[raRegister];
  if (ra === undefined) return { kind: 'end' };
  const pc = clean(arch, ra, options);
  return {
    kind: 'frame',
    state: { pc, regs, callSite: !signal },
    how: signal ? 'signal-frame' : 'cfi',
    signal,
  };
}

/**
 * arm: the caller's registers from the function's EHABI unwind instructions, or from its Thumb
 * prologue (none that saves lr: a leaf in the innermost frame, else an outermost function) for a
 * function under EXIDX_CANTUNWIND, and in the innermost frame unless it is blocked in a system
 * call: an EHABI entry holds only at call sites (and, by the C library's care, after `svc`), so a
 * thread stopped in a prologue or epilogue is unwound from the prologue, as gdb does.
 */
function fromExidx(
  arch: UnwindArch,
  words: MemoryWords,
  info: FrameInfo,
  s: State,
  first: boolean,
  options: UnwindOptions,
): Step {
  let ops: Uint8Array | undefined;
  let how: FrameHow = 'arm-exidx';
  const inPrologue = first && options.thumb === true && !afterThumbSvc(words, s.pc);
  const p = info.exidx === 'cantunwind' || inPrologue ? info.prologue?.(PROLOGUE_BYTES) : undefined;
  if (info.exidx === 'cantunwind' || p) {
    if (p && p.start <= s.pc) ops = thumbPrologue(p.code, Number(s.pc - p.start), words.codec);
    how = 'prologue';
    // No push of lr before the pc in the innermost frame: a leaf, returning through lr.
    if (!ops && (first || !s.callSite)) return leaf(arch, words, s, options);
  } else ops = info.exidx?.ops;
  if (!ops) return { kind: 'end' };
  const res = armStep(ops, s.regs, (addr) => words.read(addr, 4));
  if (!res) return { kind: 'end' };
  if (res.pc === undefined) return { kind: 'end', reason: 'the return address is unknown' };
  return {
    kind: 'frame',
    state: { pc: clean(arch, res.pc, options), regs: res.regs, callSite: true },
    how,
    signal: false,
  };
}

/** Whether the Thumb instruction before `pc` is `svc` (a thread blocked in a system call). */
function afterThumbSvc(words: MemoryWords, pc: bigint): boolean {
  const code = words.bytes(pc - 2n, 2);
  return code !== undefined && (words.codec.u16(code, 0) & 0xff00) === 0xdf00;
}

function ruleValue(
  arch: UnwindArch,
  words: MemoryWords,
  reader: FrameReader,
  row: Row,
  i: number,
  kind: number,
  a: number,
  cfa: bigint,
  old: Registers,
  ctx: { register: (n: number) => bigint | undefined; read: (addr: bigint, size: number) => bigint },
): bigint | undefined {
  switch (kind) {
    case RULE.unset:
    case RULE.same:
      return old[i];
    case RULE.undefined:
      return undefined;
    case RULE.offset:
      return words.read(wrap(arch, cfa + BigInt(a)), arch.addressSize);
    case RULE.valOffset:
      return wrap(arch, cfa + BigInt(a));
    case RULE.register:
      return old[a];
    case RULE.expression:
      return words.read(evaluate(reader, a, row.b[i]!, ctx, cfa), arch.addressSize);
    case RULE.valExpression:
      return evaluate(reader, a, row.b[i]!, ctx, cfa);
    default:
      throw new UnwindError('cfi', `unknown register rule ${kind}`);
  }
}

function wrap(arch: UnwindArch, v: bigint): bigint {
  return BigInt.asUintN(arch.addressSize * 8, v);
}

/** Whether the frame-pointer chain looks usable: the pointer lies above sp, aligned, not far. */
function chainUsable(arch: UnwindArch, s: State): boolean {
  const chain = arch.chain;
  if (chain?.how !== 'frame-pointer') return false;
  const base = s.regs[chain.base];
  const sp = s.regs[arch.sp];
  return (
    base !== undefined &&
    sp !== undefined &&
    base >= sp &&
    base - sp < 1n << 24n &&
    base % BigInt(arch.addressSize) === 0n
  );
}

/** A function that has not set up a frame: the return address is in the link register or at sp. */
function leaf(arch: UnwindArch, words: MemoryWords, s: State, options: UnwindOptions): Step {
  const regs = s.regs.slice();
  let ra: bigint | undefined;
  if ('register' in arch.leaf) ra = s.regs[arch.leaf.register];
  else {
    const sp = s.regs[arch.sp];
    if (sp === undefined) return { kind: 'end', reason: 'the stack pointer is unknown' };
    ra = words.read(sp, arch.addressSize);
    regs[arch.sp] = sp + BigInt(arch.addressSize);
  }
  if (ra === undefined) return { kind: 'end', reason: 'the return address is unknown' };
  return {
    kind: 'frame',
    state: { pc: clean(arch, ra, options), regs, callSite: true },
    how: 'leaf',
    signal: false,
  };
}

/** Bytes of a ppc64 function read for the registers its prologue saves (64 instructions). */
const PPC64_PROLOGUE_BYTES = 256;

/**
 * The caller of a function without CFI through the back chain: its stack pointer is the word at
 * the callee's, its pc the link register the callee saved in the caller's frame, its
 * non-volatile registers where the callee's prologue saved them (the others as they are). A zero
 * back chain ends the stack; one that does not lead up the stack (nor stay within 16 MiB) is
 * broken.
 */
function fromBackChain(
  arch: UnwindArch,
  chain: BackChain,
  words: MemoryWords,
  info: FrameInfo | undefined,
  s: State,
  options: UnwindOptions,
): Step {
  const sp = s.regs[arch.sp];
  if (sp === undefined) return { kind: 'end', reason: 'the stack pointer is unknown' };
  const caller = words.read(sp, arch.addressSize);
  if (caller === 0n) return { kind: 'end' };
  if (caller <= sp || caller - sp >= 1n << 24n || caller % BigInt(arch.addressSize) !== 0n) {
    return { kind: 'end', reason: `the back chain at 0x${sp.toString(16)} is broken` };
  }
  const regs = s.regs.slice();
  const p = info?.prologue?.(PPC64_PROLOGUE_BYTES);
  if (p && p.start <= s.pc) {
    for (const save of ppc64Saves(p.code, Number(s.pc - p.start), words.codec))
      regs[save.reg] = words.read(sp + BigInt(save.offset), arch.addressSize);
  }
  regs[arch.sp] = caller;
  const ra = words.read(caller + BigInt(chain.link), arch.addressSize);
  return {
    kind: 'frame',
    state: { pc: clean(arch, ra, options), regs, callSite: true },
    how: 'back-chain',
    signal: false,
  };
}

function fromChain(arch: UnwindArch, words: MemoryWords, s: State, options: UnwindOptions): Step {
  const chain = arch.chain?.how === 'frame-pointer' ? arch.chain : undefined;
  // The outermost frames (_start, a thread's clone) clear the frame pointer.
  if (chain && s.regs[chain.base] === 0n) return { kind: 'end' };
  if (!chain || !chainUsable(arch, s))
    return { kind: 'end', reason: `no unwind information for 0x${s.pc.toString(16)}` };
  const base = s.regs[chain.base]!;
  const regs = s.regs.slice();
  let ra: bigint | undefined;
  for (const slot of chain.saved) {
    const v = words.read(base + BigInt(slot.offset), arch.addressSize);
    if (slot.reg === arch.ra) ra = v;
    if (slot.reg < arch.regs) regs[slot.reg] = v;
  }
  regs[arch.sp] = base + BigInt(chain.cfa);
  if (ra === undefined) return { kind: 'end', reason: 'the return address is unknown' };
  return {
    kind: 'frame',
    state: { pc: clean(arch, ra, options), regs, callSite: true },
    how: chain.how,
    signal: false,
  };
}
