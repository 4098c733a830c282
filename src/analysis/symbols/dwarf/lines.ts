/**
 * A unit's line number program (.debug_line, DWARF 2-5): its file names and the rows of its
 * sequences, and the row for a pc chosen the way gdb chooses it: the last row at or below the pc in
 * the sequence holding it, preferring an is_stmt row at the same address.
 */
import { Cursor } from '../../../bytes/cursor.js';
import { FormatError } from '../../../bytes/errors.js';
import {
  DW_FORM,
  DW_LNCT_directory_index,
  DW_LNCT_path,
  DW_LNE_end_sequence,
  DW_LNE_set_address,
  DW_LNS_advance_line,
  DW_LNS_advance_pc,
  DW_LNS_const_add_pc,
  DW_LNS_copy,
  DW_LNS_fixed_advance_pc,
  DW_LNS_set_file,
} from './constants.js';
import type { Dwarf, Unit } from './unit.js';

/** DW_LNS_negate_stmt (the other standard opcodes only set flags the symboliser ignores). */
const DW_LNS_negate_stmt = 6;
/** Line programs with more rows than this are refused. */
const MAX_ROWS = 1 << 24;

interface Sequence {
  start: bigint;
  end: bigint;
  /** Rows sorted by address (a stable sort keeps their order at one address). */
  addrs: bigint[];
  files: number[];
  lines: number[];
  stmts: boolean[];
}

export interface LineRow {
  file: string;
  line: number;
}

export class LineTable {
  /** File names by the index the program (and DW_AT_call_file) uses. */
  readonly files: (string | undefined)[];
  private readonly sequences: Sequence[];

  constructor(files: (string | undefined)[], sequences: Sequence[]) {
    this.files = files;
    this.sequences = sequences.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  /** The row for `pc`, or undefined when no sequence holds it or its line is 0. */
  lookup(pc: bigint): LineRow | undefined {
    const seq = this.sequences.find((s) => s.start <= pc && pc < s.end);
    if (!seq) return undefined;
    let lo = 0;
    let hi = seq.addrs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seq.addrs[mid]! <= pc) lo = mid + 1;
      else hi = mid;
    }
    let i = lo - 1;
    if (i < 0) return undefined;
    if (!seq.stmts[i]) {
      let j = i;
      while (j > 0 && seq.addrs[j - 1] === seq.addrs[j] && seq.lines[j - 1] !== 0 && !seq.stmts[j]) j--;
      if (seq.stmts[j]) i = j;
    }
    const line = seq.lines[i]!;
    const file = this.files[seq.files[i]!];
    return line === 0 || file === undefined ? undefined : { file, line };
  }
}

/** Reads the line program of `unit` (DW_AT_stmt_list); undefined when it has none. */
export function readLineTable(dwarf: Dwarf, unit: Unit): LineTable | undefined {
  const sec = dwarf.s.line;
  if (unit.stmtList === undefined || !sec) return undefined;
  const c = new Cursor(sec, dwarf.s.codec);
  if (unit.stmtList > sec.length) throw new FormatError(unit.stmtList, 'DW_AT_stmt_list outside .debug_line');
  c.seek(unit.stmtList);
  let length = c.u32('line program length');
  let offsetSize: 4 | 8 = 4;
  if (length === 0xffffffff) {
    length = Number(c.u64('line program length'));
    offsetSize = 8;
  }
  const end = c.pos + length;
  if (end > sec.length) throw new FormatError(unit.stmtList, 'line program runs past .debug_line', length);
  const p = new Cursor(sec.subarray(0, end), dwarf.s.codec).seek(c.pos);
  const version = p.u16('line program version');
  if (version < 2 || version > 5)
    throw new FormatError(unit.stmtList, 'unsupported line program version', version);
  let addressSize = unit.addressSize as number;
  if (version >= 5) {
    addressSize = p.u8('address size');
    p.u8('segment selector size');
  }
  const headerLength = Number(p.word(offsetSize, 'header length'));
  const programStart = p.pos + headerLength;
  const minInst = p.u8('minimum instruction length');
  if (version >= 4) p.u8('maximum operations per instruction');
  const defaultStmt = p.u8('default is_stmt') !== 0;
  const lineBase = (p.u8('line base') << 24) >> 24;
  const lineRange = p.u8('line range');
  const opcodeBase = p.u8('opcode base');
  if (lineRange === 0) throw new FormatError(p.offset, 'line range is 0');
  const argCounts: number[] = [];
  for (let i = 1; i < opcodeBase; i++) argCounts.push(p.u8('standard opcode length'));
  const files = (version >= 5 ? filesV5(dwarf, unit, p, offsetSize) : filesV4(unit, p)).map((f) =>
    f !== undefined && unit.name !== undefined && sameFile(unit.compDir, f, unit.name) ? unit.name : f,
  );
  if (programStart > end) throw new FormatError(unit.stmtList, 'line program header runs past the program');
  p.seek(programStart);
  return new LineTable(
    files,
    runProgram(p, { minInst, defaultStmt, lineBase, lineRange, opcodeBase, argCounts, addressSize }),
  );
}

/**
 * File names as gdb shows them: a relative name joined to its directory (DWARF 5 includes
 * directory 0, the compilation directory; DWARF 2-4 leaves names in directory 0 alone), and the
 * unit's own file by the unit's DW_AT_name.
 */
function join(dir: string | undefined, name: string): string {
  if (name.startsWith('/') || !dir) return name;
  return `${dir}/${name}`;
}

function sameFile(compDir: string | undefined, a: string, b: string): boolean {
  return join(compDir, a) === join(compDir, b);
}

/** DWARF 2-4: include_directories then file_names; index 0 is the unit's own file. */
function filesV4(unit: Unit, p: Cursor): (string | undefined)[] {
  const dirs: (string | undefined)[] = [undefined];
  for (;;) {
    const d = p.cstring('include directory');
    if (d === '') break;
    dirs.push(d);
  }
  const files: (string | undefined)[] = [unit.name];
  for (;;) {
    const name = p.cstring('file name');
    if (name === '') break;
    const dir = p.uleb('directory index');
    p.uleb('modification time');
    p.uleb('file length');
    files.push(join(dir === 0 ? undefined : dirs[dir], name));
  }
  return files;
}

/** DWARF 5: entry formats then entries, for directories and for files; index 0 is the unit's. */
function filesV5(dwarf: Dwarf, unit: Unit, p: Cursor, offsetSize: 4 | 8): (string | undefined)[] {
  const table = () => {
    const formats: [number, number][] = [];
    const count = p.u8('entry format count');
    for (let i = 0; i < count; i++) formats.push([p.uleb('content type'), p.uleb('form')]);
    const n = p.uleb('entry count');
    const entries: { path?: string; dir: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e: { path?: string; dir: number } = { dir: 0 };
      for (const [type, form] of formats) {
        const v = entryValue(dwarf, unit, p, form, offsetSize);
        if (type === DW_LNCT_path && typeof v === 'string') e.path = v;
        else if (type === DW_LNCT_directory_index && typeof v === 'number') e.dir = v;
      }
      entries.push(e);
    }
    return entries;
  };
  const dirs = table();
  return table().map((f) => {
    if (f.path === undefined) return undefined;
    return join(dirs[f.dir]?.path, f.path);
  });
}

/** One field of a v5 directory or file entry: a string, a number, or skipped (MD5, blocks). */
function entryValue(
  dwarf: Dwarf,
  unit: Unit,
  p: Cursor,
  form: number,
  offsetSize: 4 | 8,
): string | number | undefined {
  const F = DW_FORM;
  switch (form) {
    case F.string:
      return p.cstring('path');
    case F.line_strp:
      return dwarf.string(unit, { k: 'strp', section: 'lineStr', off: Number(p.word(offsetSize)) });
    case F.strp:
      return dwarf.string(unit, { k: 'strp', section: 'str', off: Number(p.word(offsetSize)) });
    case F.strx:
      return dwarf.string(unit, { k: 'strx', i: p.uleb() });
    case F.udata:
      return p.uleb();
    case F.data1:
      return p.u8();
    case F.data2:
      return p.u16();
    case F.data4:
      return p.u32();
    case F.data8:
      p.skip(8);
      return undefined;
    case F.data16:
      p.skip(16);
      return undefined;
    case F.block:
      p.skip(p.uleb());
      return undefined;
    default:
      throw new FormatError(p.offset, 'unsupported form in a line table entry', form);
  }
}

interface ProgramHeader {
  minInst: number;
  defaultStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  argCounts: number[];
  addressSize: number;
}

function runProgram(p: Cursor, h: ProgramHeader): Sequence[] {
  const out: Sequence[] = [];
  let seq = newSequence();
  let addr = 0n;
  let file = 1;
  let line = 1;
  let stmt = h.defaultStmt;
  let rows = 0;
  const emit = () => {
    if (++rows > MAX_ROWS) throw new FormatError(p.offset, 'line program has too many rows');
    seq.addrs.push(addr);
    seq.files.push(file);
    seq.lines.push(line);
    seq.stmts.push(stmt);
  };
  const minInst = BigInt(h.minInst);
  while (p.remaining > 0) {
    const op = p.u8('line opcode');
    if (op >= h.opcodeBase) {
      const adj = op - h.opcodeBase;
      addr += minInst * BigInt(Math.floor(adj / h.lineRange));
      line += h.lineBase + (adj % h.lineRange);
      emit();
    } else if (op === 0) {
      const len = p.uleb('extended opcode length');
      if (len === 0) continue;
      const next = p.pos + len;
      const sub = p.u8('extended opcode');
      if (sub === DW_LNE_end_sequence) {
        if (seq.addrs.length > 0) {
          seq.start = seq.addrs[0]!;
          seq.end = addr;
          sortRows(seq);
          out.push(seq);
        }
        seq = newSequence();
        addr = 0n;
        file = 1;
        line = 1;
        stmt = h.defaultStmt;
      } else if (sub === DW_LNE_set_address) {
        addr = p.word(h.addressSize === 8 ? 8 : 4, 'DW_LNE_set_address');
      }
      // Other extended opcodes (DW_LNE_define_file, set_discriminator, vendor ones) are skipped.
      p.seek(next);
    } else if (op === DW_LNS_copy) emit();
    else if (op === DW_LNS_advance_pc) addr += minInst * p.ulebBig('DW_LNS_advance_pc');
    else if (op === DW_LNS_advance_line) line += Number(p.sleb('DW_LNS_advance_line'));
    else if (op === DW_LNS_set_file) file = p.uleb('DW_LNS_set_file');
    else if (op === DW_LNS_negate_stmt) stmt = !stmt;
    else if (op === DW_LNS_const_add_pc)
      addr += minInst * BigInt(Math.floor((255 - h.opcodeBase) / h.lineRange));
    else if (op === DW_LNS_fixed_advance_pc) addr += BigInt(p.u16('DW_LNS_fixed_advance_pc'));
    else for (let i = 0; i < (h.argCounts[op - 1] ?? 0); i++) p.ulebBig('opcode argument');
  }
  return out;
}

function newSequence(): Sequence {
  return { start: 0n, end: 0n, addrs: [], files: [], lines: [], stmts: [] };
}

/** Rows are nearly always in address order already; sort (stably) only when they are not. */
function sortRows(seq: Sequence): void {
  const n = seq.addrs.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (seq.addrs[i]! < seq.addrs[i - 1]!) sorted = false;
  if (sorted) return;
  const order = [...Array(n).keys()].sort((a, b) =>
    seq.addrs[a]! < seq.addrs[b]! ? -1 : seq.addrs[a]! > seq.addrs[b]! ? 1 : a - b,
  );
  seq.addrs = order.map((i) => seq.addrs[i]!);
  seq.files = order.map((i) => seq.files[i]!);
  seq.lines = order.map((i) => seq.lines[i]!);
  seq.stmts = order.map((i) => seq.stmts[i]!);
  seq.start = seq.addrs[0]!;
}
