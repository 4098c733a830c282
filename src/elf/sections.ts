/**
 * Sections by name, and their contents: section names from the section header string table,
 * and the bytes of a section with SHF_COMPRESSED (zlib) undone. zstd-compressed sections are
 * declined with a reason (Node 20's zlib has no zstd). Sizes are checked before anything is read.
 */
import { inflateSync } from 'node:zlib';
import { FormatError } from '../bytes/errors.js';
import { ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD, SHF_COMPRESSED, SHN_XINDEX, SHT_NOBITS } from './constants.js';
import type { Shdr } from './layout.js';
import type { ElfFile } from './reader.js';

/** Sections larger than this (stored or decompressed) are refused: libc's .debug_info is ~10 MiB. */
export const MAX_SECTION = 512 << 20;

const namesCache = new WeakMap<ElfFile, string[]>();

/** The names of an ELF file's sections, by index ('' when the name table is unusable). */
export function sectionNames(elf: ElfFile): string[] {
  let names = namesCache.get(elf);
  if (!names) {
    names = readNames(elf);
    namesCache.set(elf, names);
  }
  return names;
}

function readNames(elf: ElfFile): string[] {
  const sections = elf.sections;
  let index = elf.header.e_shstrndx;
  if (index === SHN_XINDEX) index = sections[0]?.sh_link ?? 0;
  const table = sections[index];
  if (!table || table.sh_type === SHT_NOBITS || table.sh_size > BigInt(MAX_SECTION))
    return sections.map(() => '');
  const { data } = elf.readRange(table.sh_offset, table.sh_size);
  return sections.map((s) => {
    if (s.sh_name >= data.length) return '';
    const end = data.indexOf(0, s.sh_name);
    return data.toString('latin1', s.sh_name, end < 0 ? data.length : end);
  });
}

/** The first section named `name`, if any. */
export function findSection(elf: ElfFile, name: string): Shdr | undefined {
  const i = sectionNames(elf).indexOf(name);
  return i < 0 ? undefined : elf.sections[i];
}

/**
 * The contents of a section, decompressed when SHF_COMPRESSED. Throws FormatError for a section
 * that runs past the end of the file, is implausibly large, or uses an unsupported compression.
 * SHT_NOBITS sections (stripped debug files keep their headers) have no contents: undefined.
 */
export function sectionData(elf: ElfFile, s: Shdr): Buffer | undefined {
  if (s.sh_type === SHT_NOBITS) return undefined;
  if (s.sh_size > BigInt(MAX_SECTION))
    throw new FormatError(s.sh_offset, 'section is implausibly large', s.sh_size);
  const { data, truncated } = elf.readRange(s.sh_offset, s.sh_size);
  if (truncated) throw new FormatError(s.sh_offset, 'section runs past the end of the file', s.sh_size);
  if ((s.sh_flags & SHF_COMPRESSED) === 0n) return data;
  const layout = elf.layout;
  const chdrSize = layout.elfClass === 64 ? 24 : 12;
  if (data.length < chdrSize)
    throw new FormatError(s.sh_offset, 'compressed section shorter than its header');
  const type = layout.codec.u32(data, 0);
  const size = layout.elfClass === 64 ? layout.codec.u64(data, 8) : BigInt(layout.codec.u32(data, 4));
  if (type === ELFCOMPRESS_ZSTD)
    throw new FormatError(s.sh_offset, 'zstd-compressed section not supported (Node 20 has no zstd)');
  if (type !== ELFCOMPRESS_ZLIB) throw new FormatError(s.sh_offset, 'unknown section compression', type);
  if (size > BigInt(MAX_SECTION))
    throw new FormatError(s.sh_offset, 'compressed section is implausibly large', size);
  let out: Buffer;
  try {
    out = inflateSync(data.subarray(chdrSize), { maxOutputLength: Math.max(1, Number(size)) });
  } catch (err) {
    throw new FormatError(s.sh_offset, `corrupt zlib data in section: ${(err as Error).message}`);
  }
  if (out.length !== Number(size))
    throw new FormatError(s.sh_offset, 'decompressed section size differs from its header', out.length);
  return out;
}
