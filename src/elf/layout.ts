import { codecFor, type Endian, type IntCodec } from '../bytes/endian.js';
import { FormatError } from '../bytes/errors.js';
import {
  EI_CLASS,
  EI_DATA,
  EI_NIDENT,
  EI_OSABI,
  EI_VERSION,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  ELFMAG,
  EV_CURRENT,
} from './constants.js';

export interface Ehdr {
  e_type: number;
  e_machine: number;
  e_version: number;
  e_entry: bigint;
  e_phoff: bigint;
  e_shoff: bigint;
  e_flags: number;
  e_ehsize: number;
  e_phentsize: number;
  e_phnum: number;
  e_shentsize: number;
  e_shnum: number;
  e_shstrndx: number;
  /** e_ident[EI_OSABI] */
  osabi: number;
}

export interface Phdr {
  p_type: number;
  p_flags: number;
  p_offset: bigint;
  p_vaddr: bigint;
  p_paddr: bigint;
  p_filesz: bigint;
  p_memsz: bigint;
  p_align: bigint;
}

export interface Shdr {
  sh_name: number;
  sh_type: number;
  sh_flags: bigint;
  sh_addr: bigint;
  sh_offset: bigint;
  sh_size: bigint;
  sh_link: number;
  sh_info: number;
  sh_addralign: bigint;
  sh_entsize: bigint;
}

/** Header codecs for one ELF class and byte order. */
export interface ElfLayout {
  readonly elfClass: 32 | 64;
  readonly endian: Endian;
  readonly codec: IntCodec;
  /** Bytes in a word (long / pointer): 4 or 8. */
  readonly wordSize: 4 | 8;
  readonly ehdrSize: number;
  readonly phdrSize: number;
  readonly shdrSize: number;
  encodeEhdr(h: Ehdr): Buffer;
  decodeEhdr(buf: Buffer): Ehdr;
  encodePhdr(p: Phdr): Buffer;
  /** Decodes the phdr at `off` in `buf` (which must hold phdrSize bytes there). */
  decodePhdr(buf: Buffer, off: number): Phdr;
  encodeShdr(s: Shdr): Buffer;
  decodeShdr(buf: Buffer, off: number): Shdr;
  /** Reads / writes a word at `off`. */
  word(buf: Buffer, off: number): bigint;
  putWord(buf: Buffer, off: number, v: bigint): void;
}

function makeLayout(elfClass: 32 | 64, endian: Endian): ElfLayout {
  const c = codecFor(endian);
  const is64 = elfClass === 64;
  const w = is64 ? 8 : 4;
  const word = (b: Buffer, o: number): bigint => (is64 ? c.u64(b, o) : BigInt(c.u32(b, o)));
  const putWord = (b: Buffer, o: number, v: bigint): void => {
    if (is64) c.put64(b, o, v);
    else c.put32(b, o, Number(BigInt.asUintN(32, v)));
  };
  const ehdrSize = is64 ? 64 : 52;
  const phdrSize = is64 ? 56 : 32;
  const shdrSize = is64 ? 64 : 40;
  // Offsets of the e_* fields after e_ident/e_type/e_machine/e_version (identical up to e_entry).
  const E = { entry: 24, phoff: 24 + w, shoff: 24 + 2 * w, flags: 24 + 3 * w };
  const tail = E.flags + 4;

  return {
    elfClass,
    endian,
    codec: c,
    wordSize: w,
    ehdrSize,
    phdrSize,
    shdrSize,
    word,
    putWord,
    encodeEhdr(h) {
      const b = Buffer.alloc(ehdrSize);
      ELFMAG.copy(b, 0);
      b[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
      b[EI_DATA] = endian === 'le' ? ELFDATA2LSB : ELFDATA2MSB;
      b[EI_VERSION] = EV_CURRENT;
      b[EI_OSABI] = h.osabi;
      c.put16(b, 16, h.e_type);
      c.put16(b, 18, h.e_machine);
      c.put32(b, 20, h.e_version);
      putWord(b, E.entry, h.e_entry);
      putWord(b, E.phoff, h.e_phoff);
      putWord(b, E.shoff, h.e_shoff);
      c.put32(b, E.flags, h.e_flags);
      c.put16(b, tail, h.e_ehsize);
      c.put16(b, tail + 2, h.e_phentsize);
      c.put16(b, tail + 4, h.e_phnum);
      c.put16(b, tail + 6, h.e_shentsize);
      c.put16(b, tail + 8, h.e_shnum);
      c.put16(b, tail + 10, h.e_shstrndx);
      return b;
    },
    decodeEhdr(b) {
      if (b.length < ehdrSize) throw new FormatError(b.length, 'truncated ELF header');
      return {
        osabi: b[EI_OSABI]!,
        e_type: c.u16(b, 16),
        e_machine: c.u16(b, 18),
        e_version: c.u32(b, 20),
        e_entry: word(b, E.entry),
        e_phoff: word(b, E.phoff),
        e_shoff: word(b, E.shoff),
        e_flags: c.u32(b, E.flags),
        e_ehsize: c.u16(b, tail),
        e_phentsize: c.u16(b, tail + 2),
        e_phnum: c.u16(b, tail + 4),
        e_shentsize: c.u16(b, tail + 6),
        e_shnum: c.u16(b, tail + 8),
        e_shstrndx: c.u16(b, tail + 10),
      };
    },
    encodePhdr(p) {
      const b = Buffer.alloc(phdrSize);
      c.put32(b, 0, p.p_type);
      if (is64) {
        c.put32(b, 4, p.p_flags);
        c.put64(b, 8, p.p_offset);
        c.put64(b, 16, p.p_vaddr);
        c.put64(b, 24, p.p_paddr);
        c.put64(b, 32, p.p_filesz);
        c.put64(b, 40, p.p_memsz);
        c.put64(b, 48, p.p_align);
      } else {
        putWord(b, 4, p.p_offset);
        putWord(b, 8, p.p_vaddr);
        putWord(b, 12, p.p_paddr);
        putWord(b, 16, p.p_filesz);
        putWord(b, 20, p.p_memsz);
        c.put32(b, 24, p.p_flags);
        putWord(b, 28, p.p_align);
      }
      return b;
    },
    decodePhdr(b, o) {
      if (is64) {
        return {
          p_type: c.u32(b, o),
          p_flags: c.u32(b, o + 4),
          p_offset: c.u64(b, o + 8),
          p_vaddr: c.u64(b, o + 16),
          p_paddr: c.u64(b, o + 24),
          p_filesz: c.u64(b, o + 32),
          p_memsz: c.u64(b, o + 40),
          p_align: c.u64(b, o + 48),
        };
      }
      return {
        p_type: c.u32(b, o),
        p_offset: word(b, o + 4),
        p_vaddr: word(b, o + 8),
        p_paddr: word(b, o + 12),
        p_filesz: word(b, o + 16),
        p_memsz: word(b, o + 20),
        p_flags: c.u32(b, o + 24),
        p_align: word(b, o + 28),
      };
    },
    encodeShdr(s) {
      const b = Buffer.alloc(shdrSize);
      c.put32(b, 0, s.sh_name);
      c.put32(b, 4, s.sh_type);
      putWord(b, 8, s.sh_flags);
      putWord(b, 8 + w, s.sh_addr);
      putWord(b, 8 + 2 * w, s.sh_offset);
      putWord(b, 8 + 3 * w, s.sh_size);
      c.put32(b, 8 + 4 * w, s.sh_link);
      c.put32(b, 12 + 4 * w, s.sh_info);
      putWord(b, 16 + 4 * w, s.sh_addralign);
      putWord(b, 16 + 5 * w, s.sh_entsize);
      return b;
    },
    decodeShdr(b, o) {
      return {
        sh_name: c.u32(b, o),
        sh_type: c.u32(b, o + 4),
        sh_flags: word(b, o + 8),
        sh_addr: word(b, o + 8 + w),
        sh_offset: word(b, o + 8 + 2 * w),
        sh_size: word(b, o + 8 + 3 * w),
        sh_link: c.u32(b, o + 8 + 4 * w),
        sh_info: c.u32(b, o + 12 + 4 * w),
        sh_addralign: word(b, o + 16 + 4 * w),
        sh_entsize: word(b, o + 16 + 5 * w),
      };
    },
  };
}

const LAYOUTS = {
  '32le': makeLayout(32, 'le'),
  '32be': makeLayout(32, 'be'),
  '64le': makeLayout(64, 'le'),
  '64be': makeLayout(64, 'be'),
} as const;

export function layoutFor(elfClass: 32 | 64, endian: Endian): ElfLayout {
  return LAYOUTS[`${elfClass}${endian}`];
}

/** Reads e_ident and returns the layout it announces; throws FormatError if it is not ELF. */
export function layoutFromIdent(ident: Buffer): ElfLayout {
  if (ident.length < EI_NIDENT)
    throw new FormatError(undefined, 'file too short for an ELF header', ident.length);
  if (!ident.subarray(0, 4).equals(ELFMAG)) throw new FormatError(undefined, 'not an ELF file (bad magic)');
  const cls = ident[EI_CLASS];
  const data = ident[EI_DATA];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw new FormatError(EI_CLASS, 'unknown ELF class', cls);
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB)
    throw new FormatError(EI_DATA, 'unknown ELF data encoding', data);
  return layoutFor(cls === ELFCLASS64 ? 64 : 32, data === ELFDATA2LSB ? 'le' : 'be');
}
