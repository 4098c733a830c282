// Declarative C struct layouts for note descriptors (elf_prstatus, elf_prpsinfo, ...): each
// struct's fields are listed once, and that one list lays the struct out for an architecture,
// decodes it, encodes it and names what `coreshot notes` prints.
import { fixedString } from '../../bytes/cursor.js';
import { FormatError } from '../../bytes/errors.js';
import type { ArchInfo } from '../../model/process-image.js';
import { archElf } from '../arch.js';
import { type ElfLayout, layoutFor } from '../layout.js';

/** What a struct's layout depends on, per architecture. */
export interface StructContext {
  /** Byte order and sizeof(long). */
  layout: ElfLayout;
  /** sizeof(__kernel_uid_t). */
  uidSize: 2 | 4;
  /** sizeof(elf_gregset_t): the general registers (pr_reg). */
  regsSize: number;
  /** The alignment of pr_reg (more than a word on x32 and 31-bit s390). */
  regsAlign: number;
  /** No member is aligned more than this (m68k: 2). */
  maxAlign: number;
}

/**
 * One member. Integers decode to numbers (`word`, a C long, to a bigint), `char` to a
 * one-character string, `string` (a char array) to its text up to the first NUL, `regs` to a copy
 * of the bytes, `struct` to a nested object. An `optional` member (and all after it) may be
 * missing from a short descriptor; it then decodes as 0.
 */
export type Field = { name: string; optional?: boolean } & (
  | { kind: 'u8' | 'i8' | 'char' | 'u16' | 'i32' | 'u32' | 'u64' | 'word' | 'uid' }
  | { kind: 'string'; size: number }
  | { kind: 'regs' }
  | { kind: 'struct'; fields: readonly Field[] }
);

/** A named C struct: its name appears in errors ("NT_PRSTATUS too small for x86_64"). */
export interface StructDef {
  name: string;
  fields: readonly Field[];
}

/** The context of an architecture; `regsSize` only matters to structs holding pr_reg. */
export function archContext(arch: ArchInfo, regsSize = 0): StructContext {
  const facts = archElf(arch);
  const layout = layoutFor(arch.elfClass, arch.endian);
  return {
    layout,
    uidSize: facts.uidSize,
    regsSize,
    regsAlign: facts.regAlign ?? layout.wordSize,
    maxAlign: facts.maxAlign ?? 8,
  };
}

/** Consecutive members of one scalar kind (`int pr_pid, pr_ppid, ...`). */
export function members(kind: Scalar, ...names: string[]): Field[] {
  return names.map((name) => ({ name, kind }));
}

/** struct timeval: two longs. */
export const timeval = (name: string): Field => ({
  name,
  kind: 'struct',
  fields: members('word', 'sec', 'usec'),
});

type Scalar = Exclude<Field['kind'], 'string' | 'regs' | 'struct'>;

function scalarSize(kind: Scalar, ctx: StructContext): number {
  const sizes: Record<Scalar, number> = {
    u8: 1,
    i8: 1,
    char: 1,
    u16: 2,
    i32: 4,
    u32: 4,
    u64: 8,
    word: ctx.layout.wordSize,
    uid: ctx.uidSize,
  };
  return sizes[kind];
}

/** A member placed at its offset (natural C alignment). */
interface Placed {
  field: Field;
  offset: number;
  size: number;
  /** For a struct member: its own members, offsets relative to it. */
  inner?: Layout;
}

interface Layout {
  members: Placed[];
  /** sizeof, padded to the struct's alignment. */
  size: number;
  align: number;
  /** Bytes a descriptor must hold: the end of the last member that is not optional. */
  required: number;
}

function layOut(fields: readonly Field[], ctx: StructContext): Layout {
  const members: Placed[] = [];
  let at = 0;
  let align = 1;
  let required = 0;
  for (const field of fields) {
    let size: number;
    let fieldAlign: number;
    let inner: Layout | undefined;
    if (field.kind === 'string') [size, fieldAlign] = [field.size, 1];
    else if (field.kind === 'regs') [size, fieldAlign] = [ctx.regsSize, ctx.regsAlign];
    else if (field.kind === 'struct') {
      inner = layOut(field.fields, ctx);
      [size, fieldAlign] = [inner.size, inner.align];
    } else [size, fieldAlign] = [scalarSize(field.kind, ctx), scalarSize(field.kind, ctx)];
    fieldAlign = Math.min(fieldAlign, ctx.maxAlign);
    at = Math.ceil(at / fieldAlign) * fieldAlign;
    members.push(inner ? { field, offset: at, size, inner } : { field, offset: at, size });
    at += size;
    align = Math.max(align, fieldAlign);
    if (!field.optional) required = at;
  }
  return { members, size: Math.ceil(at / align) * align, align, required };
}

/** sizeof the struct on an architecture. */
export function structSize(def: StructDef, ctx: StructContext): number {
  return layOut(def.fields, ctx).size;
}

/** Byte offset of a top-level member. */
export function fieldOffset(def: StructDef, ctx: StructContext, name: string): number {
  const m = layOut(def.fields, ctx).members.find((p) => p.field.name === name);
  if (!m) throw new Error(`${def.name} has no member ${name}`);
  return m.offset;
}

/**
 * Decodes a descriptor into an object whose keys are the member names, in declaration order.
 * `base` is the descriptor's file offset, for the error a too short descriptor raises.
 */
export function decodeStruct(
  def: StructDef,
  ctx: StructContext,
  desc: Buffer,
  base: bigint,
  archName: string,
): Record<string, unknown> {
  const layout = layOut(def.fields, ctx);
  if (desc.length < layout.required)
    throw new FormatError(base, `${def.name} too small for ${archName}`, desc.length);
  return decodeMembers(layout, ctx.layout, desc, 0);
}

function decodeMembers(layout: Layout, l: ElfLayout, b: Buffer, at: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of layout.members) {
    const o = at + m.offset;
    const f = m.field;
    if (o + m.size > b.length) out[f.name] = f.kind === 'word' || f.kind === 'u64' ? 0n : 0;
    else if (m.inner) out[f.name] = decodeMembers(m.inner, l, b, o);
    else out[f.name] = decodeValue(f, l, b, o, m.size);
  }
  return out;
}

function decodeValue(f: Field, l: ElfLayout, b: Buffer, o: number, size: number): unknown {
  const c = l.codec;
  switch (f.kind) {
    case 'u8':
      return b[o]!;
    case 'i8':
      return (b[o]! << 24) >> 24;
    case 'char':
      return String.fromCharCode(b[o]!);
    case 'u16':
      return c.u16(b, o);
    case 'i32':
      return c.i32(b, o);
    case 'u32':
      return c.u32(b, o);
    case 'u64':
      return c.u64(b, o);
    case 'uid':
      return size === 2 ? c.u16(b, o) : c.u32(b, o);
    case 'word':
      return l.word(b, o);
    case 'string':
      return fixedString(b.subarray(o, o + size));
    default:
      return Buffer.from(b.subarray(o, o + size));
  }
}

/**
 * Encodes an object with the member names as keys (missing members are zero). A char array
 * holds at most size - 1 bytes of UTF-8, so it stays NUL-terminated; `regs` bytes are cut to fit.
 */
export function encodeStruct(def: StructDef, ctx: StructContext, value: Record<string, unknown>): Buffer {
  const layout = layOut(def.fields, ctx);
  const b = Buffer.alloc(layout.size);
  encodeMembers(layout, ctx.layout, b, 0, value);
  return b;
}

function encodeMembers(layout: Layout, l: ElfLayout, b: Buffer, at: number, value: Record<string, unknown>) {
  for (const m of layout.members) {
    const v = value[m.field.name];
    if (v === undefined) continue;
    const o = at + m.offset;
    if (m.inner) encodeMembers(m.inner, l, b, o, v as Record<string, unknown>);
    else encodeValue(m.field, l, b, o, m.size, v);
  }
}

function encodeValue(f: Field, l: ElfLayout, b: Buffer, o: number, size: number, v: unknown): void {
  const c = l.codec;
  switch (f.kind) {
    case 'u8':
    case 'i8':
      b[o] = (v as number) & 0xff;
      return;
    case 'char':
      b[o] = ((v as string).charCodeAt(0) || 0) & 0xff;
      return;
    case 'u16':
      c.put16(b, o, v as number);
      return;
    case 'i32':
    case 'u32':
      c.put32(b, o, v as number);
      return;
    case 'u64':
      c.put64(b, o, v as bigint);
      return;
    case 'uid':
      if (size === 2) c.put16(b, o, v as number);
      else c.put32(b, o, v as number);
      return;
    case 'word':
      l.putWord(b, o, v as bigint);
      return;
    case 'string':
      Buffer.from(v as string, 'utf8').copy(b, o, 0, size - 1);
      return;
    default:
      (v as Buffer).copy(b, o, 0, Math.min((v as Buffer).length, size));
  }
}
