/**
 * ppc64 prologue reading for frames unwound through the back chain (no CFI): where the function
 * saved the caller's non-volatile general registers (r14-r31), so that a caller whose CFI uses
 * one of them (glibc's start_thread computes its CFA from r31) is unwound with the right value,
 * as gdb's prologue analysis does. ELFv2 code saves them with `std rS, D(r1)`, before or after
 * the `stdu r1, -N(r1)` that allocates the frame, in any order the scheduler chose.
 */
import type { IntCodec } from '../../bytes/endian.js';

/** A saved register: the caller's `reg` is at `offset` from the callee's stack pointer. */
export interface Ppc64Save {
  reg: number;
  offset: number;
}

/** Primary opcodes: DS-form stores (std, stdu), branches (b/bl, bc) and XL-form (blr, bctr). */
const OP_STD = 62;
const OP_B = 18;
const OP_BC = 16;
const OP_XL = 19;
const SP = 1;
const FIRST_NONVOLATILE = 14;

/**
 * The saves in `code` (the function's first bytes) before byte `upTo` (the pc's offset), up to
 * the first branch, as offsets from the stack pointer the function runs with after its
 * prologue. Saves made before the frame was allocated are relative to the caller's stack
 * pointer, which is `frameSize` above that one.
 */
export function ppc64Saves(code: Buffer, upTo: number, codec: IntCodec): Ppc64Save[] {
  const saves: { reg: number; offset: number; framed: boolean }[] = [];
  let frameSize = 0;
  for (let at = 0; at + 4 <= code.length && at < upTo; at += 4) {
    const w = codec.u32(code, at);
    const op = w >>> 26;
    if (op === OP_B || op === OP_BC || op === OP_XL) break;
    if (op !== OP_STD || ((w >>> 16) & 31) !== SP) continue;
    const rs = (w >>> 21) & 31;
    const ds = ((w & 0xfffc) << 16) >> 16;
    if ((w & 3) === 1 && rs === SP) frameSize = -ds;
    else if ((w & 3) === 0 && rs >= FIRST_NONVOLATILE && !saves.some((s) => s.reg === rs)) {
      saves.push({ reg: rs, offset: ds, framed: frameSize !== 0 });
    }
  }
  return saves.map((s) => ({ reg: s.reg, offset: s.framed ? s.offset : s.offset + frameSize }));
}
