/**
 * A DWARF expression evaluator for call-frame rules (DW_CFA_def_cfa_expression, DW_CFA_expression,
 * DW_CFA_val_expression): the stack operations, constants, arithmetic and logic, branches,
 * register-relative addresses and memory dereferences that glibc's and the kernel's hand-written
 * CFI use. Values are unsigned words of the address size; comparisons and division are signed.
 */
import type { FrameReader } from './pointer.js';

/** Why an unwind step could not be done: a message for the user, with a kind for callers. */
export class UnwindError extends Error {
  readonly kind: 'memory' | 'cfi' | 'expression';
  constructor(kind: UnwindError['kind'], message: string) {
    super(message);
    this.name = 'UnwindError';
    this.kind = kind;
  }
}

export interface ExpressionContext {
  /** The value of DWARF register `n` in the frame being unwound, if known. */
  register(n: number): bigint | undefined;
  /** An unsigned value of `size` bytes at `addr` (throws UnwindError when unreadable). */
  read(addr: bigint, size: number): bigint;
}

/** Operations beyond this many are refused (a DW_OP_bra loop). */
const MAX_STEPS = 10_000;
const MAX_STACK = 256;

type Binary = (a: bigint, b: bigint, bits: number) => bigint;
const signed = (v: bigint, bits: number) => BigInt.asIntN(bits, v);
const flag = (c: boolean) => (c ? 1n : 0n);

/** Two-operand operations: `a` was pushed first, `b` is the top of the stack. */
const BINARY: Readonly<Record<number, Binary>> = {
  26: (a, b) => a & b, // and
  27: (a, b, n) => (b === 0n ? divideByZero() : signed(a, n) / signed(b, n)), // div
  28: (a, b) => a - b, // minus
  29: (a, b) => (b === 0n ? divideByZero() : a % b), // mod
  30: (a, b) => a * b, // mul
  33: (a, b) => a | b, // or
  34: (a, b) => a + b, // plus
  36: (a, b) => (b >= BigInt(64) ? 0n : a << b), // shl
  37: (a, b) => (b >= BigInt(64) ? 0n : a >> b), // shr
  38: (a, b, n) => signed(a, n) >> (b >= 64n ? 63n : b), // shra
  39: (a, b) => a ^ b, // xor
  41: (a, b, n) => flag(signed(a, n) === signed(b, n)), // eq
  42: (a, b, n) => flag(signed(a, n) >= signed(b, n)), // ge
  43: (a, b, n) => flag(signed(a, n) > signed(b, n)), // gt
  44: (a, b, n) => flag(signed(a, n) <= signed(b, n)), // le
  45: (a, b, n) => flag(signed(a, n) < signed(b, n)), // lt
  46: (a, b, n) => flag(signed(a, n) !== signed(b, n)), // ne
};

function divideByZero(): never {
  throw new UnwindError('expression', 'division by zero in a DWARF expression');
}

/** Fixed-size constants: opcode → [size, signed]. */
const CONSTANTS: Readonly<Record<number, readonly [number, boolean]>> = {
  8: [1, false],
  9: [1, true],
  10: [2, false],
  11: [2, true],
  12: [4, false],
  13: [4, true],
  14: [8, false],
  15: [8, true],
};

/**
 * Evaluates the expression at [start, start + length) of the reader's buffer; `initial` is pushed
 * first (the CFA, for register rules). Returns the top of the stack.
 */
export function evaluate(
  r: FrameReader,
  start: number,
  length: number,
  ctx: ExpressionContext,
  initial?: bigint,
): bigint {
  const bits = r.addressSize * 8;
  const wrap = (v: bigint) => BigInt.asUintN(bits, v);
  const stack: bigint[] = initial === undefined ? [] : [initial];
  const pop = () => {
    const v = stack.pop();
    if (v === undefined) throw new UnwindError('expression', 'DWARF expression stack underflow');
    return v;
  };
  const push = (v: bigint) => {
    if (stack.length >= MAX_STACK) throw new UnwindError('expression', 'DWARF expression stack overflow');
    stack.push(wrap(v));
  };
  const reg = (n: number) => {
    const v = ctx.register(n);
    if (v === undefined) throw new UnwindError('expression', `DWARF expression uses unknown register ${n}`);
    return v;
  };
  const end = start + length;
  r.pos = start;
  r.limit = end;
  let steps = 0;
  while (r.pos < end) {
    if (++steps > MAX_STEPS) throw new UnwindError('expression', 'DWARF expression does not terminate');
    const op = r.u8('DWARF operation');
    const binary = BINARY[op];
    if (binary) {
      const b = pop();
      push(binary(pop(), b, bits));
      continue;
    }
    const constant = CONSTANTS[op];
    if (constant) {
      const [size, isSigned] = constant;
      const v =
        size === 1 ? BigInt(r.u8()) : size === 2 ? BigInt(r.u16()) : size === 4 ? BigInt(r.u32()) : r.u64();
      push(isSigned ? BigInt.asIntN(size * 8, v) : v);
      continue;
    }
    if (op >= 0x30 && op <= 0x4f) {
      push(BigInt(op - 0x30)); // lit0-31
      continue;
    }
    if (op >= 0x70 && op <= 0x8f) {
      push(reg(op - 0x70) + r.sleb()); // breg0-31
      continue;
    }
    switch (op) {
      case 0x03: // addr
        push(r.address());
        break;
      case 0x06: // deref
        push(ctx.read(pop(), r.addressSize));
        break;
      case 0x94: {
        // deref_size
        const size = r.u8();
        if (size < 1 || size > r.addressSize)
          throw new UnwindError('expression', `bad DW_OP_deref_size ${size}`);
        push(ctx.read(pop(), size));
        break;
      }
      case 0x10: // constu
        push(r.ulebBig());
        break;
      case 0x11: // consts
        push(r.sleb());
        break;
      case 0x12: // dup
        push(top(stack, 0));
        break;
      case 0x13: // drop
        pop();
        break;
      case 0x14: // over
        push(top(stack, 1));
        break;
      case 0x15: // pick
        push(top(stack, r.u8()));
        break;
      case 0x16: {
        // swap
        const a = pop();
        const b = pop();
        push(a);
        push(b);
        break;
      }
      case 0x17: {
        // rot: the top three entries rotate, the top going third
        const a = pop();
        const b = pop();
        const c = pop();
        push(a);
        push(c);
        push(b);
        break;
      }
      case 0x19: {
        // abs
        const v = BigInt.asIntN(bits, pop());
        push(v < 0n ? -v : v);
        break;
      }
      case 0x1f: // neg
        push(-pop());
        break;
      case 0x20: // not
        push(~pop());
        break;
      case 0x23: // plus_uconst
        push(pop() + r.ulebBig());
        break;
      case 0x28: {
        // bra
        const delta = signedShort(r.u16());
        if (pop() !== 0n) jump(r, delta, start, end);
        break;
      }
      case 0x2f: // skip
        jump(r, signedShort(r.u16()), start, end);
        break;
      case 0x92: {
        // bregx
        const n = r.uleb();
        push(reg(n) + r.sleb());
        break;
      }
      case 0x96: // nop
        break;
      default:
        throw new UnwindError(
          'expression',
          `unsupported DWARF operation 0x${op.toString(16)} in call-frame information`,
        );
    }
  }
  return pop();
}

function top(stack: bigint[], depth: number): bigint {
  const v = stack[stack.length - 1 - depth];
  if (v === undefined) throw new UnwindError('expression', 'DWARF expression stack underflow');
  return v;
}

function signedShort(v: number): number {
  return v >= 0x8000 ? v - 0x10000 : v;
}

function jump(r: FrameReader, delta: number, start: number, end: number): void {
  const to = r.pos + delta;
  if (to < start || to > end) throw new UnwindError('expression', 'DWARF expression branches outside itself');
  r.pos = to;
}
