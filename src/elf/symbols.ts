import { FormatError } from '../bytes/errors.js';
import {
  DT_HASH,
  DT_NULL,
  DT_STRSZ,
  DT_STRTAB,
  DT_SYMENT,
  DT_SYMTAB,
  PT_DYNAMIC,
  PT_LOAD,
  SHN_UNDEF,
  SHT_DYNSYM,
  SHT_SYMTAB,
} from './constants.js';
import type { ElfFile } from './reader.js';

/** A defined symbol: its link-time value (add the load bias for a PIE) and size. */
export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

/** A symbol table entry with its kind: st_info's type (STT_*) and binding (STB_*), st_shndx. */
export interface ElfSymbolEntry extends ElfSymbol {
  type: number;
  bind: number;
  shndx: number;
  /** The first byte of the name (0: it has none), known without reading the name. */
  nameByte: number;
}

/** Symbol and string tables larger than this are refused (QEMU's are a few MiB). */
const MAX_TABLE = 256 << 20;

/** Field offsets of Elf32_Sym / Elf64_Sym. */
const SYM = {
  32: { size: 16, name: 0, value: 4, symSize: 8, info: 12, shndx: 14 },
  64: { size: 24, name: 0, value: 8, symSize: 16, info: 4, shndx: 6 },
} as const;

/**
 * Looks up defined dynamic symbols by name: `.dynsym` found through the section headers, or,
 * when those are stripped, through PT_DYNAMIC's DT_SYMTAB / DT_STRTAB (counted by DT_HASH, or
 * by the usual placement of the string table right after the symbol table).
 */
export function findDynamicSymbols(elf: ElfFile, names: readonly string[]): Map<string, ElfSymbol> {
  const tables = tablesFromSections(elf, SHT_DYNSYM) ?? tablesFromDynamic(elf);
  const out = new Map<string, ElfSymbol>();
  if (!tables) return out;
  const want = new Set(names);
  eachSymbol(elf, tables, (nameOff, off) => {
    const name = nameAt(tables.strs, nameOff);
    if (!want.has(name) || out.has(name)) return out.size < want.size;
    const e = entryAt(elf, tables, off, nameOff);
    out.set(name, { name, value: e.value, size: e.size });
    return out.size < want.size;
  });
  return out;
}

/**
 * Every defined symbol of `.symtab` (`which` = 'symtab') or of the dynamic symbol table ('dynsym':
 * `.dynsym`, or PT_DYNAMIC's when the section headers are stripped). Empty when there is none.
 */
export function readSymbols(elf: ElfFile, which: 'symtab' | 'dynsym'): ElfSymbolEntry[] {
  const tables =
    which === 'symtab'
      ? tablesFromSections(elf, SHT_SYMTAB)
      : (tablesFromSections(elf, SHT_DYNSYM) ?? tablesFromDynamic(elf));
  const out: ElfSymbolEntry[] = [];
  if (!tables) return out;
  eachSymbol(elf, tables, (nameOff, off) => {
    out.push(entryAt(elf, tables, off, nameOff));
    return true;
  });
  return out;
}

/** Calls `visit` with the name's and the entry's offset of each defined symbol until it returns false. */
function eachSymbol(
  elf: ElfFile,
  { syms, strs }: { syms: Buffer; strs: Buffer },
  visit: (nameOff: number, off: number) => boolean,
): void {
  const s = SYM[elf.layout.elfClass];
  const c = elf.layout.codec;
  for (let off = 0; off + s.size <= syms.length; off += s.size) {
    if (c.u16(syms, off + s.shndx) === SHN_UNDEF) continue;
    const nameOff = c.u32(syms, off + s.name);
    if (nameOff >= strs.length) continue;
    if (!visit(nameOff, off)) return;
  }
}

function nameAt(strs: Buffer, nameOff: number): string {
  const end = strs.indexOf(0, nameOff);
  return strs.toString('latin1', nameOff, end < 0 ? strs.length : end);
}

/**
 * An entry whose name is read from the string table when first asked for: a module's index holds
 * every symbol, and a backtrace names a few of them.
 */
class TableSymbol implements ElfSymbolEntry {
  readonly value: bigint;
  readonly size: bigint;
  readonly type: number;
  readonly bind: number;
  readonly shndx: number;
  private readonly strs: Buffer;
  private readonly nameOff: number;
  private decoded: string | undefined;

  constructor(strs: Buffer, nameOff: number, fields: Omit<ElfSymbolEntry, 'name' | 'nameByte'>) {
    this.strs = strs;
    this.nameOff = nameOff;
    this.value = fields.value;
    this.size = fields.size;
    this.type = fields.type;
    this.bind = fields.bind;
    this.shndx = fields.shndx;
  }

  get name(): string {
    this.decoded ??= nameAt(this.strs, this.nameOff);
    return this.decoded;
  }

  get nameByte(): number {
    return this.strs[this.nameOff]!;
  }
}

function entryAt(
  elf: ElfFile,
  tables: { syms: Buffer; strs: Buffer },
  off: number,
  nameOff: number,
): TableSymbol {
  const s = SYM[elf.layout.elfClass];
  const info = tables.syms[off + s.info]!;
  return new TableSymbol(tables.strs, nameOff, {
    value: elf.layout.word(tables.syms, off + s.value),
    size: elf.layout.word(tables.syms, off + s.symSize),
    type: info & 0xf,
    bind: info >> 4,
    shndx: elf.layout.codec.u16(tables.syms, off + s.shndx),
  });
}

function readTable(elf: ElfFile, offset: bigint, size: bigint, what: string): Buffer {
  if (size > BigInt(MAX_TABLE)) throw new FormatError(offset, `${what} is implausibly large`, size);
  const { data, truncated } = elf.readRange(offset, size);
  if (truncated) throw new FormatError(offset, `${what} runs past the end of the file`, size);
  return data;
}

function tablesFromSections(elf: ElfFile, type: number): { syms: Buffer; strs: Buffer } | undefined {
  const sections = elf.sections;
  const table = sections.find((s) => s.sh_type === type);
  if (!table) return undefined;
  const what = type === SHT_DYNSYM ? '.dynsym' : '.symtab';
  const strtab = sections[table.sh_link];
  if (!strtab)
    throw new FormatError(table.sh_offset, `${what} links to a missing string table`, table.sh_link);
  return {
    syms: readTable(elf, table.sh_offset, table.sh_size, what),
    strs: readTable(elf, strtab.sh_offset, strtab.sh_size, `${what}'s string table`),
  };
}

function tablesFromDynamic(elf: ElfFile): { syms: Buffer; strs: Buffer } | undefined {
  const dyn = elf.programHeaders.find((p) => p.p_type === PT_DYNAMIC);
  if (!dyn) return undefined;
  const layout = elf.layout;
  const w = layout.wordSize;
  const raw = readTable(elf, dyn.p_offset, dyn.p_filesz, 'PT_DYNAMIC');
  const tags = new Map<bigint, bigint>();
  for (let off = 0; off + 2 * w <= raw.length; off += 2 * w) {
    const tag = layout.word(raw, off);
    if (tag === BigInt(DT_NULL)) break;
    if (!tags.has(tag)) tags.set(tag, layout.word(raw, off + w));
  }
  const symtab = tags.get(BigInt(DT_SYMTAB));
  const strtab = tags.get(BigInt(DT_STRTAB));
  const strsz = tags.get(BigInt(DT_STRSZ));
  if (symtab === undefined || strtab === undefined || strsz === undefined) return undefined;
  const entsize = tags.get(BigInt(DT_SYMENT)) ?? BigInt(SYM[layout.elfClass].size);
  if (entsize !== BigInt(SYM[layout.elfClass].size)) {
    throw new FormatError(dyn.p_offset, 'unexpected DT_SYMENT', entsize);
  }
  const symOff = fileOffset(elf, symtab);
  const strOff = fileOffset(elf, strtab);
  let count: bigint | undefined;
  const hash = tags.get(BigInt(DT_HASH));
  if (hash !== undefined) {
    const head = readTable(elf, fileOffset(elf, hash), 8n, 'DT_HASH header');
    count = BigInt(layout.codec.u32(head, 4));
  } else if (strtab > symtab) {
    count = (strtab - symtab) / entsize;
  }
  if (count === undefined) return undefined;
  return {
    syms: readTable(elf, symOff, count * entsize, 'DT_SYMTAB'),
    strs: readTable(elf, strOff, strsz, 'DT_STRTAB'),
  };
}

/** The file offset of a link-time address, through the PT_LOAD that holds it. */
function fileOffset(elf: ElfFile, vaddr: bigint): bigint {
  for (const p of elf.programHeaders) {
    if (p.p_type === PT_LOAD && vaddr >= p.p_vaddr && vaddr < p.p_vaddr + p.p_filesz) {
      return p.p_offset + (vaddr - p.p_vaddr);
    }
  }
  throw new FormatError(undefined, 'dynamic table address is outside every PT_LOAD', vaddr);
}
