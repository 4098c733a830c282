import { type Finding, FormatError } from '../bytes/errors.js';
import type { RandomAccess } from '../io/random-access.js';
import { EI_NIDENT, PN_XNUM, PT_NOTE } from './constants.js';
import { type Ehdr, type ElfLayout, layoutFromIdent, type Phdr, type Shdr } from './layout.js';
import { type ElfNote, MAX_NOTES, parseNotes } from './notes/note.js';

/** Notes larger than this in one segment are refused (a real core's notes are a few MiB). */
const MAX_NOTE_SEGMENT = 256n << 20n;
/**
 * More program headers than this are refused before reading them (PN_XNUM allows 2^32 - 1): a
 * process with the kernel's default vm.max_map_count has at most 65,530 mappings.
 */
const MAX_SEGMENTS = 1 << 21;
/** Section header tables larger than this are refused. */
const MAX_SECTIONS = 1 << 20;

/**
 * An ELF file read lazily through positional reads: the header and program headers on open,
 * sections and notes on demand. Sizes in headers are checked against the file before use.
 */
export class ElfFile {
  readonly ra: RandomAccess;
  readonly layout: ElfLayout;
  readonly header: Ehdr;
  readonly programHeaders: readonly Phdr[];
  /** Survivable defects found so far (truncation). */
  readonly problems: Finding[] = [];
  private sectionCache?: Shdr[];

  private constructor(ra: RandomAccess, layout: ElfLayout, header: Ehdr, phdrs: Phdr[], problems: Finding[]) {
    this.ra = ra;
    this.layout = layout;
    this.header = header;
    this.programHeaders = phdrs;
    this.problems.push(...problems);
  }

  static open(ra: RandomAccess): ElfFile {
    const ident = ra.read(0n, 64);
    const layout = layoutFromIdent(ident.subarray(0, Math.max(EI_NIDENT, Math.min(ident.length, 64))));
    if (ident.length < layout.ehdrSize)
      throw new FormatError(undefined, 'file too short for an ELF header', ident.length);
    const header = layout.decodeEhdr(ident);
    const problems: Finding[] = [];
    let phnum = header.e_phnum;
    if (phnum === PN_XNUM) {
      const s0 = readSection0(ra, layout, header);
      phnum = s0.sh_info;
    }
    if (phnum > MAX_SEGMENTS)
      throw new FormatError(layout.ehdrSize - 10, 'implausibly many program headers', phnum);
    const phdrs: Phdr[] = [];
    if (phnum > 0) {
      if (header.e_phentsize !== layout.phdrSize) {
        throw new FormatError(layout.ehdrSize - 10, 'unexpected e_phentsize', header.e_phentsize);
      }
      const tableSize = BigInt(phnum) * BigInt(layout.phdrSize);
      if (header.e_phoff < BigInt(layout.ehdrSize) && header.e_phoff !== 0n) {
        throw new FormatError(undefined, 'e_phoff overlaps the ELF header', header.e_phoff);
      }
      if (header.e_phoff + tableSize > ra.size) {
        throw new FormatError(
          header.e_phoff,
          `program header table (${phnum} entries) runs past the end of the file`,
          ra.size,
        );
      }
      const buf = ra.read(header.e_phoff, Number(tableSize));
      for (let i = 0; i < phnum; i++) phdrs.push(layout.decodePhdr(buf, i * layout.phdrSize));
    }
    return new ElfFile(ra, layout, header, phdrs, problems);
  }

  /** Section headers (empty when there are none). */
  get sections(): readonly Shdr[] {
    if (!this.sectionCache) this.sectionCache = readSections(this.ra, this.layout, this.header);
    return this.sectionCache;
  }

  /** The bytes of a file range, clipped to the file; `truncated` says whether it was clipped. */
  readRange(offset: bigint, size: bigint): { data: Buffer; truncated: boolean } {
    const end = offset + size;
    const avail = offset >= this.ra.size ? 0n : (end > this.ra.size ? this.ra.size : end) - offset;
    return {
      data: avail > 0n ? this.ra.read(offset, Number(avail)) : Buffer.alloc(0),
      truncated: avail < size,
    };
  }

  /**
   * Every note of every PT_NOTE segment, in file order. A note segment cut short by the end of
   * the file yields the notes that are complete and records a problem.
   */
  notes(): ElfNote[] {
    const out: ElfNote[] = [];
    // The budget is for all note segments together: many PT_NOTE headers may name the same bytes.
    let budget = MAX_NOTE_SEGMENT;
    for (const p of this.programHeaders) {
      if (p.p_type !== PT_NOTE || p.p_filesz === 0n) continue;
      if (p.p_filesz > budget)
        throw new FormatError(p.p_offset, 'PT_NOTE segments are implausibly large', p.p_filesz);
      budget -= p.p_filesz;
      const { data, truncated } = this.readRange(p.p_offset, p.p_filesz);
      if (truncated)
        this.problems.push({
          kind: 'truncated',
          what: `note segment truncated: ${data.length} of ${p.p_filesz} bytes present`,
          offset: p.p_offset,
        });
      const parsed = parseNotes(data, this.layout.codec, p.p_offset, p.p_align === 8n ? 8 : 4, truncated);
      if (out.length + parsed.length > MAX_NOTES)
        throw new FormatError(p.p_offset, 'implausibly many notes', out.length + parsed.length);
      // Not push(...parsed): a spread of millions of notes overflows the call stack.
      for (const n of parsed) out.push(n);
    }
    return out;
  }
}

function readSection0(ra: RandomAccess, layout: ElfLayout, h: Ehdr): Shdr {
  if (h.e_shoff === 0n)
    throw new FormatError(layout.ehdrSize - 10, 'e_phnum is PN_XNUM but there is no section header table');
  if (h.e_shentsize !== layout.shdrSize)
    throw new FormatError(layout.ehdrSize - 6, 'unexpected e_shentsize', h.e_shentsize);
  const buf = ra.read(h.e_shoff, layout.shdrSize);
  if (buf.length < layout.shdrSize)
    throw new FormatError(h.e_shoff, 'section header 0 runs past the end of the file');
  return layout.decodeShdr(buf, 0);
}

function readSections(ra: RandomAccess, layout: ElfLayout, h: Ehdr): Shdr[] {
  if (h.e_shoff === 0n) return [];
  let count = h.e_shnum;
  if (count === 0)
    count = readSection0(ra, layout, h).sh_size > 0n ? Number(readSection0(ra, layout, h).sh_size) : 1;
  if (count > MAX_SECTIONS) throw new FormatError(h.e_shoff, 'too many sections', count);
  if (h.e_shentsize !== layout.shdrSize)
    throw new FormatError(layout.ehdrSize - 6, 'unexpected e_shentsize', h.e_shentsize);
  const size = BigInt(count) * BigInt(layout.shdrSize);
  if (h.e_shoff + size > ra.size)
    throw new FormatError(h.e_shoff, 'section header table runs past the end of the file', ra.size);
  const buf = ra.read(h.e_shoff, Number(size));
  const out: Shdr[] = [];
  for (let i = 0; i < count; i++) out.push(layout.decodeShdr(buf, i * layout.shdrSize));
  return out;
}
