/**
 * What DWARF says about one pc of a module: the unit holding it (.debug_aranges when present,
 * else the units' own ranges), the chain of scopes containing it (the DW_TAG_subprogram, then each
 * DW_TAG_inlined_subroutine nested in it, with their names through DW_AT_abstract_origin and
 * DW_AT_specification, and their call sites), and its line table row. Units are parsed only when a
 * pc falls in them, and their scopes and line tables are kept for further pcs.
 */
import { Cursor } from '../../../bytes/cursor.js';
import { FormatError } from '../../../bytes/errors.js';
import {
  DW_AT_abstract_origin,
  DW_AT_call_file,
  DW_AT_call_line,
  DW_AT_linkage_name,
  DW_AT_MIPS_linkage_name,
  DW_AT_name,
  DW_AT_sibling,
  DW_AT_specification,
  DW_TAG_enumeration_type,
  DW_TAG_inlined_subroutine,
  DW_TAG_structure_type,
  DW_TAG_subprogram,
  DW_TAG_subroutine_type,
  DW_TAG_union_type,
} from './constants.js';
import { type LineRow, type LineTable, readLineTable } from './lines.js';
import { dieRanges, type PcRange } from './ranges.js';
import { type AttrValue, attr, type Die, Dwarf, type DwarfSections, type Unit } from './unit.js';

/** One scope containing the pc, outermost (the subprogram) first. */
export interface Scope {
  name: string | null;
  /** Lowest address of the scope. */
  low: bigint;
  /** Where an inlined scope was called from (in the enclosing scope). */
  callFile?: string;
  callLine?: number;
}

export interface DwarfAnswer {
  /** The subprogram, then the inlined subroutines nested in it; empty when no DIE holds the pc. */
  scopes: Scope[];
  row?: LineRow;
}

interface ScopeDie {
  die: Die;
  ranges: PcRange[];
  /** Where the DIE's children start. */
  next: number;
}

/** Tags whose subtrees hold no code: skipped on the way to a pc. */
const SKIPPED = new Set([
  DW_TAG_structure_type,
  DW_TAG_union_type,
  DW_TAG_enumeration_type,
  DW_TAG_subroutine_type,
]);

/** Name chains through DW_AT_abstract_origin / DW_AT_specification are followed this far. */
const MAX_ORIGIN_HOPS = 8;
/** A unit with more DIEs than this is refused. */
const MAX_DIES = 1 << 22;

export class DwarfIndex {
  readonly dwarf: Dwarf;
  private aranges?: { start: bigint; end: bigint; unit: number }[];
  private unitRanges?: { start: bigint; end: bigint; unit: Unit }[];
  /** Each unit's line table, read on first use (undefined: the unit has none). */
  private readonly lines = new Map<number, LineTable | undefined>();
  /** Each unit's subprograms, read on first use. */
  private readonly subprograms = new Map<number, ScopeDie[]>();

  constructor(sections: DwarfSections) {
    this.dwarf = new Dwarf(sections);
  }

  lookup(pc: bigint): DwarfAnswer {
    const unit = this.unitFor(pc);
    if (!unit) return { scopes: [] };
    const lines = this.linesOf(unit);
    const scopes: Scope[] = this.scopesAt(unit, pc).map((s) => {
      const scope: Scope = { name: this.nameOf(unit, s.die), low: minStart(s.ranges) };
      if (s.die.tag === DW_TAG_inlined_subroutine) {
        const file = attr(s.die, DW_AT_call_file);
        const line = attr(s.die, DW_AT_call_line);
        const name = file?.k === 'const' ? lines?.files[Number(file.v)] : undefined;
        if (name !== undefined) scope.callFile = name;
        if (line?.k === 'const') scope.callLine = Number(line.v);
      }
      return scope;
    });
    const row = lines?.lookup(pc);
    return row ? { scopes, row } : { scopes };
  }

  private unitFor(pc: bigint): Unit | undefined {
    const fromAranges = this.arangeUnit(pc);
    if (fromAranges !== undefined) {
      const u = this.dwarf.unitAt(fromAranges);
      if (u && u.offset === fromAranges) return u;
    }
    if (!this.unitRanges) {
      this.unitRanges = [];
      for (const u of this.dwarf.units) {
        const root = this.dwarf.rootOf(u);
        if (!root) continue;
        for (const r of dieRanges(this.dwarf, u, root)) this.unitRanges.push({ ...r, unit: u });
      }
    }
    return this.unitRanges.find((r) => r.start <= pc && pc < r.end)?.unit;
  }

  /** The unit offset .debug_aranges gives for pc. */
  private arangeUnit(pc: bigint): number | undefined {
    if (!this.aranges) this.aranges = readAranges(this.dwarf.s);
    return this.aranges.find((r) => r.start <= pc && pc < r.end)?.unit;
  }

  private linesOf(unit: Unit): LineTable | undefined {
    if (!this.lines.has(unit.offset)) {
      this.dwarf.rootOf(unit);
      this.lines.set(unit.offset, readLineTable(this.dwarf, unit));
    }
    return this.lines.get(unit.offset);
  }

  /**
   * The subprogram holding pc and the inlined subroutines nested in it, outermost first. Only
   * the way to pc is read: the unit's subprograms once (their subtrees, and those of types,
   * skipped through DW_AT_sibling), then the subtree of the one holding pc.
   */
  private scopesAt(unit: Unit, pc: bigint): ScopeDie[] {
    const top = this.subprogramsOf(unit).find((t) => holds(t.ranges, pc));
    if (!top) return [];
    const chain: ScopeDie[] = [top];
    if (!top.die.children) return chain;
    this.walk(unit, top.next, 1, (die, next) => {
      if (die.tag !== DW_TAG_subprogram && die.tag !== DW_TAG_inlined_subroutine) return true;
      const ranges = dieRanges(this.dwarf, unit, die);
      if (!holds(ranges, pc)) return false;
      chain.push({ die, ranges, next });
      return true;
    });
    return chain;
  }

  /** The subprograms of a unit that cover some address (outside other subprograms), read once. */
  private subprogramsOf(unit: Unit): ScopeDie[] {
    const known = this.subprograms.get(unit.offset);
    if (known) return known;
    const out: ScopeDie[] = [];
    this.walk(unit, unit.dieOffset, 0, (die, next) => {
      if (die.tag !== DW_TAG_subprogram) return true;
      const ranges = dieRanges(this.dwarf, unit, die);
      if (ranges.length > 0) out.push({ die, ranges, next });
      return false;
    });
    this.subprograms.set(unit.offset, out);
    return out;
  }

  /**
   * Walks the DIEs from `pos`, `depth` levels down (0: the unit's own DIE; 1: the first child of
   * a DIE), to the end of that subtree. `visit` sees each DIE outside the SKIPPED kinds and says
   * whether to go into its children; the subtrees not gone into are jumped over.
   */
  private walk(unit: Unit, pos: number, depth: number, visit: (die: Die, next: number) => boolean): void {
    let at = pos;
    let level = depth;
    for (let n = 0; at < unit.end; n++) {
      if (n > MAX_DIES) throw new FormatError(at, 'unit has too many DIEs');
      const { die, next } = this.dwarf.die(unit, at);
      at = next;
      if (!die) {
        if (--level <= 0) break;
        continue;
      }
      const enter = !SKIPPED.has(die.tag) && visit(die, next) && die.children;
      if (die.children && !enter) at = this.skipChildren(unit, die, at);
      else if (die.children) level++;
      else if (level === 0) break;
    }
  }

  /** The offset past a DIE's children (`pos` is where they start). */
  private skipChildren(unit: Unit, die: Die, pos: number): number {
    const sibling = attr(die, DW_AT_sibling);
    if (sibling?.k === 'ref' && sibling.off > die.offset && sibling.off <= unit.end) return sibling.off;
    let depth = 1;
    let at = pos;
    for (let n = 0; depth > 0 && at < unit.end; n++) {
      if (n > MAX_DIES) throw new FormatError(at, 'unit has too many DIEs');
      const { die: child, next } = this.dwarf.die(unit, at);
      at = next;
      if (!child) depth--;
      else if (child.children) depth++;
    }
    return at;
  }

  private nameOf(unit: Unit, die: Die): string | null {
    let u: Unit | undefined = unit;
    let d: Die | undefined = die;
    for (let hop = 0; u && d && hop <= MAX_ORIGIN_HOPS; hop++) {
      // The linkage name (glibc's __GI_raise for raise, like gdb; a C++ function's mangled name,
      // which says its scope, template arguments and parameters), else the name.
      const linkage = this.dwarf.string(u, attr(d, DW_AT_linkage_name) ?? attr(d, DW_AT_MIPS_linkage_name));
      if (linkage !== undefined) return linkage;
      const name = this.dwarf.string(u, attr(d, DW_AT_name));
      if (name !== undefined) return name;
      const ref: AttrValue | undefined = attr(d, DW_AT_abstract_origin) ?? attr(d, DW_AT_specification);
      if (ref?.k !== 'ref') return null;
      u = this.dwarf.unitAt(ref.off);
      if (u) this.dwarf.rootOf(u);
      d = u ? this.dwarf.die(u, ref.off).die : undefined;
    }
    return null;
  }
}

function holds(ranges: readonly PcRange[], pc: bigint): boolean {
  return ranges.some((r) => r.start <= pc && pc < r.end);
}

function minStart(ranges: readonly PcRange[]): bigint {
  let low = ranges[0]!.start;
  for (const r of ranges) if (r.start < low) low = r.start;
  return low;
}

/** .debug_aranges: (start, end, unit offset) for every address range it lists. */
function readAranges(s: DwarfSections): { start: bigint; end: bigint; unit: number }[] {
  const sec = s.aranges;
  if (!sec) return [];
  const out: { start: bigint; end: bigint; unit: number }[] = [];
  const c = new Cursor(sec, s.codec);
  while (c.remaining > 0) {
    const setStart = c.pos;
    let length = c.u32('aranges length');
    let offsetSize: 4 | 8 = 4;
    if (length === 0xffffffff) {
      length = Number(c.u64('aranges length'));
      offsetSize = 8;
    }
    const end = c.pos + length;
    if (end > sec.length)
      throw new FormatError(setStart, 'address range set runs past .debug_aranges', length);
    c.u16('aranges version');
    const unit = Number(c.word(offsetSize, 'unit offset'));
    const addressSize = c.u8('address size');
    c.u8('segment selector size');
    if (addressSize !== 4 && addressSize !== 8)
      throw new FormatError(setStart, 'unsupported address size', addressSize);
    const tuple = 2 * addressSize;
    c.seek(setStart + Math.ceil((c.pos - setStart) / tuple) * tuple);
    while (c.pos + tuple <= end) {
      const start = c.word(addressSize, 'range start');
      const size = c.word(addressSize, 'range length');
      if (start === 0n && size === 0n) break;
      if (size > 0n) out.push({ start, end: start + size, unit });
    }
    c.seek(end);
  }
  return out;
}
