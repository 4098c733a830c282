import { NT_GNU_BUILD_ID } from '../abi/notes.js';
import type { IntCodec } from '../bytes/endian.js';
import { EI_NIDENT, ELFMAG, PT_NOTE } from './constants.js';
import { layoutFromIdent } from './layout.js';
import { parseNotes } from './notes/note.js';

function buildIdIn(data: Buffer, codec: IntCodec, offset: bigint, align: 4 | 8): string | undefined {
  try {
    const note = parseNotes(data, codec, offset, align).find(
      (n) => n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID,
    );
    return note && note.desc.length > 0 ? note.desc.toString('hex') : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `length` bytes at `offset` of an ELF file (on disk, or as mapped from offset 0). */
export type ByteReader = (offset: bigint, length: number) => Buffer | undefined;

/** Only notes within this many bytes of the start are looked at (they sit in the first page). */
const HEAD_LIMIT = 64n * 1024n;

/**
 * The GNU build-id (hex) of an ELF image, from the PT_NOTE segments its program headers name.
 * Returns undefined for anything that is not a well-formed ELF with a build-id note; never throws.
 */
export function readBuildId(read: ByteReader, limit: bigint = HEAD_LIMIT): string | undefined {
  try {
    const ident = read(0n, 64);
    if (!ident || ident.length < EI_NIDENT || !ident.subarray(0, 4).equals(ELFMAG)) return undefined;
    const layout = layoutFromIdent(ident);
    if (ident.length < layout.ehdrSize) return undefined;
    const h = layout.decodeEhdr(ident);
    if (h.e_phentsize !== layout.phdrSize || h.e_phnum === 0 || h.e_phnum > 256) return undefined;
    const tableEnd = h.e_phoff + BigInt(h.e_phnum * layout.phdrSize);
    if (tableEnd > limit) return undefined;
    const table = read(h.e_phoff, h.e_phnum * layout.phdrSize);
    if (!table || table.length < h.e_phnum * layout.phdrSize) return undefined;
    for (let i = 0; i < h.e_phnum; i++) {
      const p = layout.decodePhdr(table, i * layout.phdrSize);
      if (p.p_type !== PT_NOTE || p.p_filesz === 0n || p.p_offset + p.p_filesz > limit) continue;
      const data = read(p.p_offset, Number(p.p_filesz));
      if (!data || data.length < Number(p.p_filesz)) continue;
      const id = buildIdIn(data, layout.codec, p.p_offset, p.p_align === 8n ? 8 : 4);
      if (id) return id;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
