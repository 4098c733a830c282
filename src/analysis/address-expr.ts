// Address expressions as `read` (and the web viewer) take them: numbers (decimal or 0x hex),
// registers of a thread (`$rsp`, and `$pc`/`$sp` on every architecture), symbol names, joined
// by `+` and `-` (`$rsp+0x20`, `main+16`). Parsing and evaluation are pure; what a name means
// comes from a lookup, so the grammar is the same whatever image it is evaluated against.
import { decodeRegisters, registerTableOf } from '../elf/regs/index.js';
import type { ProcessImage } from '../model/process-image.js';

/** One operand. */
export type AddressTerm =
  | { kind: 'number'; value: bigint }
  | { kind: 'register'; name: string }
  | { kind: 'symbol'; name: string };

/** Operands with their signs, in order. */
export type AddressExpr = { sign: 1n | -1n; term: AddressTerm }[];

/** Why an expression has no address: a value with a kind, worded by the caller. */
export interface AddressError {
  kind: 'syntax' | 'unknown-register' | 'unknown-symbol' | 'unknown-thread' | 'out-of-range';
  what: string;
}

export const isAddressError = (v: unknown): v is AddressError =>
  typeof v === 'object' && v !== null && 'kind' in v && 'what' in v;

/** What the names of an expression stand for (undefined: no such name). */
export interface AddressLookup {
  register(name: string): bigint | undefined;
  /** Register names, for the error that names a wrong one. */
  registerNames(): readonly string[];
  symbol(name: string): bigint | undefined;
}

const TOKEN = /\s*(?:(0x[0-9a-f_]+|[0-9][0-9_]*)|\$([a-z_][a-z0-9_.]*)|([a-z_.][a-z0-9_.@]*)|([+-]))/iy;

/** Parses an expression; `+` and `-` separate operands, spaces are allowed around them. */
export function parseAddressExpr(text: string): AddressExpr | AddressError {
  const out: AddressExpr = [];
  let sign: 1n | -1n | undefined = 1n;
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length && text.slice(at).trim() !== '') {
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) return { kind: 'syntax', what: `cannot read '${text.slice(at).trim()}' in '${text}'` };
    at = TOKEN.lastIndex;
    const [, num, reg, sym, op] = m;
    if (op !== undefined) {
      if (sign !== undefined)
        return { kind: 'syntax', what: `'${op}' where an operand belongs in '${text}'` };
      sign = op === '-' ? -1n : 1n;
      continue;
    }
    if (sign === undefined)
      return { kind: 'syntax', what: `missing + or - before '${m[0].trim()}' in '${text}'` };
    const term: AddressTerm =
      num !== undefined
        ? { kind: 'number', value: BigInt(num.replace(/_/g, '')) }
        : reg !== undefined
          ? { kind: 'register', name: reg.toLowerCase() }
          : { kind: 'symbol', name: sym! };
    out.push({ sign, term });
    sign = undefined;
  }
  if (out.length === 0) return { kind: 'syntax', what: 'empty address' };
  if (sign !== undefined) return { kind: 'syntax', what: `'${text.trim()}' ends with an operator` };
  return out;
}

/** The address an expression names: within [0, 2^64). */
export function evaluateAddress(expr: AddressExpr, lookup: AddressLookup): bigint | AddressError {
  let sum = 0n;
  for (const { sign, term } of expr) {
    let v: bigint | undefined;
    if (term.kind === 'number') v = term.value;
    else if (term.kind === 'register') {
      v = lookup.register(term.name);
      if (v === undefined)
        return {
          kind: 'unknown-register',
          what: `no register $${term.name} (registers: ${lookup
            .registerNames()
            .map((n) => `$${n}`)
            .join(' ')})`,
        };
    } else {
      v = lookup.symbol(term.name);
      if (v === undefined) return { kind: 'unknown-symbol', what: `no symbol named '${term.name}'` };
    }
    sum += sign * v;
  }
  if (sum < 0n || sum >= 1n << 64n)
    return {
      kind: 'out-of-range',
      what: `the address ${sum < 0n ? '-' : ''}0x${(sum < 0n ? -sum : sum).toString(16)} is outside the 64-bit address space`,
    };
  return sum;
}

/** Parses and evaluates in one step. */
export function resolveAddress(text: string, lookup: AddressLookup): bigint | AddressError {
  const expr = parseAddressExpr(text);
  return isAddressError(expr) ? expr : evaluateAddress(expr, lookup);
}

/**
 * What names mean in an image: the registers of thread `tid` (the first when undefined) under
 * their register-table names, plus `pc` and `sp` for the architecture's program counter and
 * stack pointer; symbols as `symbol` finds them.
 */
export function imageLookup(
  image: ProcessImage,
  tid: number | undefined,
  symbol: (name: string) => bigint | undefined,
): AddressLookup | AddressError {
  const t = tid === undefined ? image.threads[0] : image.threads.find((x) => x.tid === tid);
  if (!t) {
    const tids = image.threads.map((x) => x.tid).join(' ') || 'none';
    return { kind: 'unknown-thread', what: `no thread ${tid ?? ''} in the image (threads: ${tids})` };
  }
  const regs = decodeRegisters(image.arch, t.gpRegs);
  const table = registerTableOf(image.arch);
  if (table) {
    for (const alias of ['pc', 'sp'] as const) {
      const v = regs.get(table[alias]);
      if (v !== undefined && !regs.has(alias)) regs.set(alias, v);
    }
  }
  return { register: (name) => regs.get(name), registerNames: () => [...regs.keys()], symbol };
}
