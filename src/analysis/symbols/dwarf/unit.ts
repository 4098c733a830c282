/**
 * DWARF 2-5 compilation units in `.debug_info`: unit headers (32- and 64-bit formats), abbreviation
 * tables, DIEs and their attribute values, and the indexed forms of DWARF 5 (strx, addrx, rnglistx)
 * resolved through the unit's bases. Everything is read through bounds-checked Cursors: a malformed
 * section raises FormatError, never a RangeError or a hang (every step consumes input).
 */
import { Cursor } from '../../../bytes/cursor.js';
import { type IntCodec, LE } from '../../../bytes/endian.js';
import { FormatError } from '../../../bytes/errors.js';
import {
  DW_AT_addr_base,
  DW_AT_comp_dir,
  DW_AT_GNU_addr_base,
  DW_AT_low_pc,
  DW_AT_name,
  DW_AT_rnglists_base,
  DW_AT_stmt_list,
  DW_AT_str_offsets_base,
  DW_FORM,
  DW_UT_skeleton,
  DW_UT_split_compile,
  DW_UT_split_type,
  DW_UT_type,
} from './constants.js';

/** The DWARF sections of one file (absent ones undefined), in the file's byte order. */
export interface DwarfSections {
  codec: IntCodec;
  info: Buffer;
  abbrev: Buffer;
  str?: Buffer;
  lineStr?: Buffer;
  line?: Buffer;
  ranges?: Buffer;
  rnglists?: Buffer;
  addr?: Buffer;
  strOffsets?: Buffer;
  aranges?: Buffer;
}

/** An attribute value, by the class of its form. Forms the symboliser has no use for are 'other'. */
export type AttrValue =
  | { k: 'const'; v: bigint }
  | { k: 'addr'; v: bigint }
  | { k: 'addrx'; i: number }
  | { k: 'str'; s: string }
  | { k: 'strp'; section: 'str' | 'lineStr'; off: number }
  | { k: 'strx'; i: number }
  | { k: 'ref'; off: number }
  | { k: 'rnglistx'; i: number }
  | { k: 'other' };

export interface AbbrevAttr {
  at: number;
  form: number;
  implicit?: bigint;
}

export interface Abbrev {
  tag: number;
  children: boolean;
  attrs: AbbrevAttr[];
}

export interface Die {
  offset: number;
  tag: number;
  children: boolean;
  attrs: [number, AttrValue][];
}

export class Unit {
  /** Offset of the unit header in .debug_info, first DIE, end of the unit. */
  readonly offset: number;
  readonly dieOffset: number;
  readonly end: number;
  readonly version: number;
  readonly offsetSize: 4 | 8;
  readonly addressSize: 4 | 8;
  readonly abbrevOffset: number;
  /** Filled by Dwarf on first use. */
  abbrevs?: Map<number, Abbrev>;
  /** From the root DIE. */
  addrBase = 0;
  strOffsetsBase = 0;
  rnglistsBase = 0;
  /** The unit's base address (DW_AT_low_pc of the root DIE) for range lists. */
  base = 0n;
  name?: string;
  compDir?: string;
  stmtList?: number;
  root?: Die;

  constructor(init: {
    offset: number;
    dieOffset: number;
    end: number;
    version: number;
    offsetSize: 4 | 8;
    addressSize: 4 | 8;
    abbrevOffset: number;
  }) {
    this.offset = init.offset;
    this.dieOffset = init.dieOffset;
    this.end = init.end;
    this.version = init.version;
    this.offsetSize = init.offsetSize;
    this.addressSize = init.addressSize;
    this.abbrevOffset = init.abbrevOffset;
  }
}

/** More abbreviations than this in one table are refused. */
const MAX_ABBREVS = 1 << 20;

/** The DWARF data of one file: its units (headers read once, DIEs on demand). */
export class Dwarf {
  readonly s: DwarfSections;
  private unitList?: Unit[];
  private readonly abbrevCache = new Map<number, Map<number, Abbrev>>();

  constructor(sections: DwarfSections) {
    this.s = sections;
  }

  /** Every compile/partial unit, sorted by offset (type and split units are skipped). */
  get units(): readonly Unit[] {
    if (!this.unitList) this.unitList = this.readUnits();
    return this.unitList;
  }

  /** The unit whose bytes (header or DIEs) include section offset `off`. */
  unitAt(off: number): Unit | undefined {
    const list = this.units;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.end <= off) lo = mid + 1;
      else hi = mid;
    }
    const u = list[lo];
    return u && u.offset <= off ? u : undefined;
  }

  /** The DIE at an absolute .debug_info offset (and where the next one starts); null entries are undefined. */
  die(unit: Unit, off: number): { die?: Die; next: number } {
    const c = new Cursor(this.s.info.subarray(0, unit.end), this.s.codec).seek(off);
    const code = c.uleb('abbreviation code');
    if (code === 0) return { next: c.pos };
    unit.abbrevs ??= this.abbrevTable(unit.abbrevOffset);
    const ab = unit.abbrevs.get(code);
    if (!ab) throw new FormatError(off, 'DIE uses an undefined abbreviation', code);
    const attrs: [number, AttrValue][] = [];
    for (const a of ab.attrs) attrs.push([a.at, this.readForm(c, unit, a.form, a.implicit)]);
    return { die: { offset: off, tag: ab.tag, children: ab.children, attrs }, next: c.pos };
  }

  /** The root DIE of a unit, with the unit's bases and names filled in. */
  rootOf(unit: Unit): Die | undefined {
    if (unit.root) return unit.root;
    const { die } = this.die(unit, unit.dieOffset);
    if (!die) return undefined;
    unit.root = die;
    const num = (at: number) => {
      const v = attr(die, at);
      return v && v.k === 'const' ? Number(v.v) : undefined;
    };
    unit.addrBase = num(DW_AT_addr_base) ?? num(DW_AT_GNU_addr_base) ?? 0;
    unit.strOffsetsBase =
      num(DW_AT_str_offsets_base) ?? (unit.version >= 5 ? (unit.offsetSize === 8 ? 16 : 8) : 0);
    unit.rnglistsBase = num(DW_AT_rnglists_base) ?? 0;
    const stmt = num(DW_AT_stmt_list);
    if (stmt !== undefined) unit.stmtList = stmt;
    const low = attr(die, DW_AT_low_pc);
    unit.base = low ? (this.address(unit, low) ?? 0n) : 0n;
    const name = this.string(unit, attr(die, DW_AT_name));
    if (name !== undefined) unit.name = name;
    const dir = this.string(unit, attr(die, DW_AT_comp_dir));
    if (dir !== undefined) unit.compDir = dir;
    return die;
  }

  /** The string an attribute names (DW_FORM_string, strp, line_strp, strx), if it is one. */
  string(unit: Unit, v: AttrValue | undefined): string | undefined {
    if (!v) return undefined;
    if (v.k === 'str') return v.s;
    if (v.k === 'strp') return cstr(v.section === 'str' ? this.s.str : this.s.lineStr, v.off);
    if (v.k === 'strx') {
      const table = this.s.strOffsets;
      if (!table) throw new FormatError(0, 'DW_FORM_strx without .debug_str_offsets');
      const c = new Cursor(table, this.s.codec).seek(
        checked(unit.strOffsetsBase + v.i * unit.offsetSize, table),
      );
      return cstr(this.s.str, Number(c.word(unit.offsetSize, 'string offset')));
    }
    return undefined;
  }

  /** The address an attribute holds (DW_FORM_addr, addrx), if it is one. */
  address(unit: Unit, v: AttrValue): bigint | undefined {
    if (v.k === 'addr') return v.v;
    if (v.k === 'addrx') return this.indexedAddress(unit, v.i);
    return undefined;
  }

  /** Entry `i` of the unit's .debug_addr table. */
  indexedAddress(unit: Unit, i: number): bigint {
    const table = this.s.addr;
    if (!table) throw new FormatError(0, 'DW_FORM_addrx without .debug_addr');
    const c = new Cursor(table, this.s.codec).seek(checked(unit.addrBase + i * unit.addressSize, table));
    return c.word(unit.addressSize, '.debug_addr entry');
  }

  private readUnits(): Unit[] {
    const info = this.s.info;
    const c = new Cursor(info, this.s.codec);
    const out: Unit[] = [];
    while (c.remaining > 0) {
      const offset = c.pos;
      let length = c.u32('unit length');
      let offsetSize: 4 | 8 = 4;
      if (length === 0xffffffff) {
        const long = c.u64('64-bit unit length');
        if (long > BigInt(info.length)) throw new FormatError(offset, 'unit runs past .debug_info', long);
        length = Number(long);
        offsetSize = 8;
      } else if (length >= 0xfffffff0) throw new FormatError(offset, 'reserved unit length', length);
      const end = c.pos + length;
      if (end > info.length) throw new FormatError(offset, 'unit runs past .debug_info', length);
      const version = c.u16('unit version');
      if (version < 2 || version > 5) throw new FormatError(offset, 'unsupported DWARF version', version);
      let unitType = 1;
      let addressSize: number;
      let abbrevOffset: bigint;
      if (version >= 5) {
        unitType = c.u8('unit type');
        addressSize = c.u8('address size');
        abbrevOffset = c.word(offsetSize, 'abbreviation offset');
        if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) c.skip(8, 'dwo id');
        if (unitType === DW_UT_type || unitType === DW_UT_split_type)
          c.skip(8 + offsetSize, 'type signature');
      } else {
        abbrevOffset = c.word(offsetSize, 'abbreviation offset');
        addressSize = c.u8('address size');
      }
      if (addressSize !== 4 && addressSize !== 8)
        throw new FormatError(offset, 'unsupported address size', addressSize);
      const isType =
        unitType === DW_UT_type || unitType === DW_UT_split_type || unitType === DW_UT_split_compile;
      if (!isType) {
        out.push(
          new Unit({
            offset,
            dieOffset: c.pos,
            end,
            version,
            offsetSize,
            addressSize,
            abbrevOffset: Number(abbrevOffset),
          }),
        );
      }
      c.seek(end);
    }
    return out;
  }

  private abbrevTable(off: number): Map<number, Abbrev> {
    let table = this.abbrevCache.get(off);
    if (table) return table;
    table = new Map();
    const c = new Cursor(this.s.abbrev, this.s.codec).seek(checked(off, this.s.abbrev));
    for (;;) {
      const code = c.uleb('abbreviation code');
      if (code === 0) break;
      if (table.size >= MAX_ABBREVS) throw new FormatError(c.offset, 'too many abbreviations');
      const tag = c.uleb('tag');
      const children = c.u8('children flag') !== 0;
      const attrs: AbbrevAttr[] = [];
      for (;;) {
        const at = c.uleb('attribute');
        const form = c.uleb('form');
        if (at === 0 && form === 0) break;
        const spec: AbbrevAttr = { at, form };
        if (form === DW_FORM.implicit_const) spec.implicit = c.sleb('implicit constant');
        attrs.push(spec);
      }
      table.set(code, { tag, children, attrs });
    }
    this.abbrevCache.set(off, table);
    return table;
  }

  private readForm(c: Cursor, unit: Unit, form: number, implicit?: bigint, depth = 0): AttrValue {
    const F = DW_FORM;
    const off = unit.offsetSize;
    switch (form) {
      case F.addr:
        return { k: 'addr', v: c.word(unit.addressSize, 'address') };
      case F.data1:
      case F.flag:
        return { k: 'const', v: BigInt(c.u8()) };
      case F.data2:
        return { k: 'const', v: BigInt(c.u16()) };
      case F.data4:
        return { k: 'const', v: BigInt(c.u32()) };
      case F.data8:
        return { k: 'const', v: c.u64() };
      case F.sdata:
        return { k: 'const', v: c.sleb() };
      case F.udata:
        return { k: 'const', v: c.ulebBig() };
      case F.implicit_const:
        return { k: 'const', v: implicit ?? 0n };
      case F.flag_present:
        return { k: 'const', v: 1n };
      case F.sec_offset:
        return { k: 'const', v: c.word(off, 'section offset') };
      case F.string:
        return { k: 'str', s: c.cstring() };
      case F.strp:
        return { k: 'strp', section: 'str', off: Number(c.word(off, 'string offset')) };
      case F.line_strp:
        return { k: 'strp', section: 'lineStr', off: Number(c.word(off, 'string offset')) };
      case F.strx:
      case F.GNU_str_index:
        return { k: 'strx', i: c.uleb() };
      case F.strx1:
        return { k: 'strx', i: c.u8() };
      case F.strx2:
        return { k: 'strx', i: c.u16() };
      case F.strx3:
        return { k: 'strx', i: u24(c) };
      case F.strx4:
        return { k: 'strx', i: c.u32() };
      case F.addrx:
      case F.GNU_addr_index:
        return { k: 'addrx', i: c.uleb() };
      case F.addrx1:
        return { k: 'addrx', i: c.u8() };
      case F.addrx2:
        return { k: 'addrx', i: c.u16() };
      case F.addrx3:
        return { k: 'addrx', i: u24(c) };
      case F.addrx4:
        return { k: 'addrx', i: c.u32() };
      case F.ref1:
        return { k: 'ref', off: unit.offset + c.u8() };
      case F.ref2:
        return { k: 'ref', off: unit.offset + c.u16() };
      case F.ref4:
        return { k: 'ref', off: unit.offset + c.u32() };
      case F.ref8:
        return { k: 'ref', off: unit.offset + Number(c.u64()) };
      case F.ref_udata:
        return { k: 'ref', off: unit.offset + c.uleb() };
      case F.ref_addr:
        return { k: 'ref', off: Number(c.word(unit.version <= 2 ? unit.addressSize : off, 'reference')) };
      case F.rnglistx:
        return { k: 'rnglistx', i: c.uleb() };
      case F.loclistx:
        c.uleb();
        return { k: 'other' };
      case F.block1:
        c.skip(c.u8(), 'block');
        return { k: 'other' };
      case F.block2:
        c.skip(c.u16(), 'block');
        return { k: 'other' };
      case F.block4:
        c.skip(c.u32(), 'block');
        return { k: 'other' };
      case F.block:
      case F.exprloc:
        c.skip(c.uleb(), 'block');
        return { k: 'other' };
      case F.data16:
        c.skip(16);
        return { k: 'other' };
      case F.ref_sig8:
        c.skip(8);
        return { k: 'other' };
      case F.ref_sup4:
        c.skip(4);
        return { k: 'other' };
      case F.ref_sup8:
        c.skip(8);
        return { k: 'other' };
      case F.strp_sup:
      case F.GNU_ref_alt:
      case F.GNU_strp_alt:
        c.skip(off);
        return { k: 'other' };
      case F.indirect:
        if (depth > 4) throw new FormatError(c.offset, 'DW_FORM_indirect chain too long');
        return this.readForm(c, unit, c.uleb('form'), implicit, depth + 1);
      default:
        throw new FormatError(c.offset, 'unknown attribute form', form);
    }
  }
}

/** The value of attribute `at` of a DIE. */
export function attr(die: Die, at: number): AttrValue | undefined {
  for (const [a, v] of die.attrs) if (a === at) return v;
  return undefined;
}

function u24(c: Cursor): number {
  const b = c.bytes(3, 'u24');
  return c.codec === LE ? b.readUIntLE(0, 3) : b.readUIntBE(0, 3);
}

function checked(off: number, buf: Buffer): number {
  if (!Number.isSafeInteger(off) || off < 0 || off > buf.length)
    throw new FormatError(off, 'offset outside its section', off);
  return off;
}

function cstr(buf: Buffer | undefined, off: number): string {
  if (!buf) throw new FormatError(off, 'string form without its string section');
  return new Cursor(buf, LE).seek(checked(off, buf)).cstring('DWARF string');
}
