/**
 * 32-bit ARM's own unwind tables (the ARM EHABI), which arm programs carry instead of .eh_frame:
 * `.ARM.exidx`, one 8-byte entry per function sorted by address, and `.ARM.extab` for the
 * entries that do not fit in one word; then the interpreter of their unwind instructions.
 *
 *   new ArmExidx(exidx, extab, codec).find(linkPc) → { ops } | 'cantunwind' | undefined
 *   armStep(ops, regs, read) → the caller's registers (r0-r15, DWARF numbering)
 *
 * An entry's first word is a prel31 offset to its function; the second is EXIDX_CANTUNWIND (1),
 * the instructions themselves (bit 31 set: personality 0, three instruction bytes), or a prel31
 * offset to the .ARM.extab record. A record is either compact (bit 31: personality 0 with three
 * bytes, 1 or 2 with a count of extra words) or a personality routine's prel31 followed by GCC's
 * data, which starts with the same word-count-and-instructions layout. Instruction bytes are read
 * from the most significant byte of each word down.
 */
import type { IntCodec } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';
import { UnwindError } from './expression.js';

const EXIDX_CANTUNWIND = 1;
const ENTRY = 8;
/** At most this many words of instructions in one record (the count is one byte). */
const MAX_EXTRA_WORDS = 255;

const SP = 13;
const LR = 14;
const PC = 15;

/** One section's bytes and its link-time address. */
export interface Section {
  data: Buffer;
  addr: bigint;
}

export type ExidxEntry = { ops: Uint8Array } | 'cantunwind';

export class ArmExidx {
  private readonly exidx: Section;
  private readonly extab: Section | undefined;
  private readonly codec: IntCodec;

  constructor(exidx: Section, extab: Section | undefined, codec: IntCodec) {
    this.exidx = exidx;
    this.extab = extab;
    this.codec = codec;
  }

  /** The entry of the function holding `linkPc`, or undefined when no entry starts before it. */
  find(linkPc: bigint): ExidxEntry | undefined {
    const n = Math.floor(this.exidx.data.length / ENTRY);
    let lo = 0;
    let hi = n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.functionAt(mid) <= linkPc) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const off = found * ENTRY + 4;
    const word = this.codec.u32(this.exidx.data, off);
    if (word === EXIDX_CANTUNWIND) return 'cantunwind';
    if (word & 0x80000000) return { ops: compact(word, [], off) };
    return this.record(prel31(this.exidx.addr + BigInt(off), word));
  }

  private functionAt(i: number): bigint {
    const off = i * ENTRY;
    return prel31(this.exidx.addr + BigInt(off), this.codec.u32(this.exidx.data, off));
  }

  /** The instructions of an .ARM.extab record at link-time address `addr`. */
  private record(addr: bigint): ExidxEntry {
    const t = this.extab;
    const at = t ? Number(addr - t.addr) : -1;
    const word = (i: number) => {
      if (!t || at < 0 || at + 4 * (i + 1) > t.data.length)
        throw new FormatError(addr, '.ARM.exidx entry points outside .ARM.extab');
      return this.codec.u32(t.data, at + 4 * i);
    };
    const first = word(0);
    // Compact: personality 0 (three bytes), or 1/2 with a count of extra words.
    // Generic (a personality routine): GCC's data after it starts with a count and three bytes.
    const head = first & 0x80000000 ? 0 : 1;
    const w = word(head);
    const personality = head === 0 ? (w >>> 24) & 0x0f : 0;
    const extra = head === 0 && personality === 0 ? 0 : (w >>> (head === 0 ? 16 : 24)) & 0xff;
    if (extra > MAX_EXTRA_WORDS) throw new FormatError(addr, 'too many .ARM.extab words');
    const more = Array.from({ length: extra }, (_, i) => word(head + 1 + i));
    if (head === 0) return { ops: compact(w, more, addr) };
    return { ops: bytesOf([w & 0x00ffffff, ...more], 3) };
  }
}

/** A prel31 field: a 31-bit signed offset from the field's own address. */
function prel31(at: bigint, word: number): bigint {
  return at + BigInt((word << 1) >> 1);
}

/** The instruction bytes of a compact-model word (and its extra words). */
function compact(word: number, more: number[], where: bigint | number): Uint8Array {
  const personality = (word >>> 24) & 0x0f;
  if (personality === 0) return bytesOf([word & 0x00ffffff], 3);
  if (personality === 1 || personality === 2) return bytesOf([word & 0xffff, ...more], 2);
  throw new FormatError(where, 'unknown ARM EHABI personality', personality);
}

/** Instruction bytes, most significant first: `first` bytes of the first word, all of the rest. */
function bytesOf(words: number[], first: number): Uint8Array {
  const out: number[] = [];
  words.forEach((w, i) => {
    for (let b = (i === 0 ? first : 4) - 1; b >= 0; b--) out.push((w >>> (b * 8)) & 0xff);
  });
  return Uint8Array.from(out);
}

/** Registers by DWARF number (r0-r15); undefined when unknown. */
type Registers = (bigint | undefined)[];

/**
 * Runs a function's unwind instructions on the callee's registers: the caller's registers, its
 * pc (popped, else the link register) and stack pointer (the virtual sp at the end, unless
 * popped). Returns undefined when the instructions refuse to unwind (the outermost frame).
 */
export function armStep(
  ops: Uint8Array,
  regs: Registers,
  read: (addr: bigint) => bigint,
): { regs: Registers; pc: bigint | undefined } | undefined {
  const out = regs.slice();
  const start = regs[SP];
  if (start === undefined) throw new UnwindError('cfi', 'the stack pointer is unknown');
  let vsp = start;
  let spPopped = false;
  let pcPopped = false;
  const pop = (mask: number, first: number) => {
    for (let bit = 0; bit < 16; bit++) {
      if (!(mask & (1 << bit))) continue;
      const r = first + bit;
      out[r] = read(vsp);
      vsp = (vsp + 4n) & 0xffffffffn;
      if (r === SP) spPopped = true;
      if (r === PC) pcPopped = true;
    }
    if (spPopped) vsp = out[SP]!;
  };
  const skip = (n: number) => {
    vsp = (vsp + BigInt(n)) & 0xffffffffn;
  };
  let i = 0;
  const next = () => {
    const b = ops[i++];
    if (b === undefined) throw new UnwindError('cfi', 'ARM unwind instructions end in the middle of one');
    return b;
  };
  while (i < ops.length) {
    const op = next();
    if (op < 0x40) skip((op << 2) + 4);
    else if (op < 0x80) vsp = (vsp - BigInt(((op & 0x3f) << 2) + 4)) & 0xffffffffn;
    else if (op < 0x90) {
      const mask = ((op & 0x0f) << 8) | next();
      if (mask === 0) return undefined;
      pop(mask, 4);
    } else if (op < 0xa0) {
      const r = op & 0x0f;
      if (r === SP || r === PC)
        throw new UnwindError('cfi', `reserved ARM unwind instruction 0x${op.toString(16)}`);
      const v = out[r];
      if (v === undefined)
        throw new UnwindError('cfi', `the stack pointer comes from r${r}, whose value is unknown`);
      vsp = v;
    } else if (op < 0xb0) {
      const mask = (1 << ((op & 0x07) + 1)) - 1;
      pop(op & 0x08 ? mask | (1 << (LR - 4)) : mask, 4);
    } else if (op === 0xb0) break;
    else if (op === 0xb1) {
      const mask = next();
      if (mask === 0 || mask & 0xf0) throw new UnwindError('cfi', 'spare ARM unwind instruction 0xb1');
      pop(mask, 0);
    } else if (op === 0xb2) {
      let v = 0n;
      let shift = 0n;
      for (let b = next(); ; b = next()) {
        v |= BigInt(b & 0x7f) << shift;
        shift += 7n;
        if (!(b & 0x80)) break;
        if (shift > 35n) throw new UnwindError('cfi', 'ARM unwind ULEB128 too long');
      }
      skip(0x204 + Number(v << 2n));
    } else if (op === 0xb3) skip(((next() & 0x0f) + 1) * 8 + 4);
    else if (op === 0xb4)
      skip(4); // the return address authentication code (PAC), not needed here
    else if (op < 0xb8) throw new UnwindError('cfi', `spare ARM unwind instruction 0x${op.toString(16)}`);
    else if (op < 0xc0) skip(((op & 0x07) + 1) * 8 + 4);
    else if (op < 0xc6) skip(((op & 0x07) + 1) * 8);
    else if (op === 0xc6) skip(((next() & 0x0f) + 1) * 8);
    else if (op === 0xc7) skip(4 * popcount(next() & 0x0f));
    else if (op === 0xc8 || op === 0xc9) skip(((next() & 0x0f) + 1) * 8);
    else if (op >= 0xd0 && op < 0xd8) skip(((op & 0x07) + 1) * 8);
    else throw new UnwindError('cfi', `spare ARM unwind instruction 0x${op.toString(16)}`);
  }
  if (!spPopped) out[SP] = vsp;
  return { regs: out, pc: pcPopped ? out[PC] : out[LR] };
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v; x; x &= x - 1) n++;
  return n;
}

/** Bytes of a Thumb function's start read for prologue analysis. */
export const PROLOGUE_BYTES = 64;

/**
 * The unwind instructions equivalent to a Thumb-2 function's prologue, for functions under an
 * EXIDX_CANTUNWIND entry that are not outermost (glibc's nptl code is built without unwind
 * tables), as gdb's prologue analysis does: the pushes (`push`, `push.w`/`stmdb sp!`, `str.w Rt,
 * [sp, #-4]!`, `vpush`) and stack allocations (`sub sp, #imm`) before `upTo` bytes, undone in
 * reverse; from a frame pointer (`add r7, sp, #imm`, `mov r7, sp`) when the prologue sets one. Undefined when no push of lr is found (an outermost function such as _start).
 */
export function thumbPrologue(code: Buffer, upTo: number, codec: IntCodec): Uint8Array | undefined {
  const undo: number[][] = [];
  let lrSaved = false;
  const pushed = (mask: number) => {
    if (mask & (1 << LR)) lrSaved = true;
    const high = mask >> 4;
    const low = mask & 0x0f;
    const ops: number[] = [];
    if (low) ops.push(0xb1, low);
    if (high) ops.push(0x80 | (high >> 8), high & 0xff);
    undo.push(ops);
  };
  const grew = (n: number) => undo.push(vspPlus(n));
  const end = Math.min(upTo, code.length);
  for (let at = 0; at + 2 <= end; ) {
    const h = codec.u16(code, at);
    const wide = h >>> 11 >= 0x1d;
    if (wide && at + 4 > code.length) break;
    const h2 = wide ? codec.u16(code, at + 2) : 0;
    if ((h & 0xfe00) === 0xb400) pushed((h & 0xff) | (h & 0x100 ? 1 << LR : 0));
    else if ((h & 0xff80) === 0xb080) grew((h & 0x7f) * 4);
    else if (h === 0xe92d) pushed(h2);
    else if (h === 0xf84d && (h2 & 0x0fff) === 0x0d04) pushed(1 << (h2 >>> 12));
    else if ((h & 0xfbff) === 0xf1ad && (h2 & 0x8f00) === 0x0d00 && (h & 0x0400) === 0 && (h2 & 0x7000) === 0)
      grew(h2 & 0xff); // sub.w sp, sp, #imm8
    else if ((h & 0xfbff) === 0xf2ad && (h2 & 0x8f00) === 0x0d00)
      grew(((h & 0x0400) << 1) | ((h2 & 0x7000) >> 4) | (h2 & 0xff)); // subw sp, sp, #imm12
    else if ((h & 0xffbf) === 0xed2d && (h2 & 0x0e00) === 0x0a00)
      grew((h2 & 0xff) * 4); // vpush
    else if ((h & 0xff00) === 0xaf00 || h === 0x466f) {
      // add r7, sp, #imm / mov r7, sp: r7 is the frame pointer, where the rest is found from.
      undo.push([0x97, ...vspPlus((h & 0xff) * 4 * Number(h !== 0x466f))]);
      break;
    } else if (isBranch(h, h2, wide)) break;
    at += wide ? 4 : 2;
  }
  if (!lrSaved) return undefined;
  return Uint8Array.from(undo.reverse().flat());
}

/** Thumb branches and returns, which end a prologue: b, bl, b.w, bx/blx, pop, cbz/cbnz. */
function isBranch(h: number, h2: number, wide: boolean): boolean {
  if (wide) return (h & 0xf800) === 0xf000 && (h2 & 0x8000) === 0x8000;
  return (
    (h & 0xf000) === 0xd000 ||
    (h & 0xf800) === 0xe000 ||
    (h & 0xff00) === 0x4700 ||
    (h & 0xfe00) === 0xbc00 ||
    (h & 0xf500) === 0xb100
  );
}

/** The unwind instructions adding `n` (a multiple of 4) to the virtual stack pointer. */
function vspPlus(n: number): number[] {
  const ops: number[] = [];
  let left = n;
  while (left > 0x100) {
    ops.push(0x3f);
    left -= 0x100;
  }
  if (left > 0) ops.push((left - 4) >> 2);
  return ops;
}
