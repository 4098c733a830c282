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
} from './constants.js';
import type { ElfFile } from './reader.js';

/** A defined symbol: its link-time value (add the load bias for a PIE) and size. */
export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
}

/** Symbol and string tables larger than this are refused (QEMU's are a few MiB). */
const MAX_TABLE = 256 << 20;

/** Field offsets of Elf32_Sym / Elf64_Sym. */
const SYM = {
  32: { size: 16, name: 0, value: 4, symSize: 8, shndx: 14 },
  64: { size: 24, name: 0, value: 8, symSize: 16, shndx: 6 },
} as const;

/**
 * Looks up defined dynamic symbols by name: `.dynsym` found through the section headers, or,
 * when those are stripped, through PT_DYNAMIC's DT_SYMTAB / DT_STRTAB (counted by DT_HASH, or
 * by the usual placement of the string table right after the symbol table).
 */
export function findDynamicSymbols(elf: ElfFile, names: readonly string[]): Map<string, ElfSymbol> {
  const tables = tablesFromSections(elf) ?? tablesFromDynamic(elf);
  const out = new Map<string, ElfSymbol>();
  if (!tables) return out;
  const want = new Set(names);
  const { syms, strs } = tables;
  const s = SYM[elf.layout.elfClass];
  const c = elf.layout.codec;
  for (let off = 0; off + s.size <= syms.length && out.size < want.size; off += s.size) {
    if (c.u16(syms, off + s.shndx) === SHN_UNDEF) continue;
    const nameOff = c.u32(syms, off + s.name);
    if (nameOff >= strs.length) continue;
    const end = strs.indexOf(0, nameOff);
    const name = strs.toString('latin1', nameOff, end < 0 ? strs.length : end);
    if (!want.has(name) || out.has(name)) continue;
    const value = elf.layout.word(syms, off + s.value);
    out.set(name, { name, value, size: elf.layout.word(syms, off + s.symSize) });
  }
  return out;
}

function readTable(elf: ElfFile, offset: bigint, size: bigint, what: string): Buffer {
  if (size > BigInt(MAX_TABLE)) throw new FormatError(offset, `${what} is implausibly large`, size);
  const { data, truncated } = elf.readRange(offset, size);
  if (truncated) throw new FormatError(offset, `${what} runs past the end of the file`, size);
  return data;
}

function tablesFromSections(elf: ElfFile): { syms: Buffer; strs: Buffer } | undefined {
  const sections = elf.sections;
  const dynsym = sections.find((s) => s.sh_type === SHT_DYNSYM);
  if (!dynsym) return undefined;
  const strtab = sections[dynsym.sh_link];
  if (!strtab)
    throw new FormatError(dynsym.sh_offset, '.dynsym links to a missing string table', dynsym.sh_link);
  return {
    syms: readTable(elf, dynsym.sh_offset, dynsym.sh_size, '.dynsym'),
    strs: readTable(elf, strtab.sh_offset, strtab.sh_size, '.dynstr'),
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
