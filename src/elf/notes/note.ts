import { Cursor } from '../../bytes/cursor.js';
import type { IntCodec } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';

/** One ELF note, undecoded. */
export interface ElfNote {
  owner: string;
  type: number;
  desc: Buffer;
  /** Absolute file offset of the note header. */
  offset: bigint;
}

const align4 = (n: number) => (n + 3) & ~3;

/** More notes than this are refused: a core with 80,000 threads has about 500,000. */
export const MAX_NOTES = 1 << 19;

/** Encodes a note with 4-byte padding of name and descriptor (the layout Linux cores use). */
export function encodeNote(codec: IntCodec, owner: string, type: number, desc: Buffer): Buffer {
  const name = Buffer.from(`${owner}\0`, 'latin1');
  const out = Buffer.alloc(12 + align4(name.length) + align4(desc.length));
  codec.put32(out, 0, name.length);
  codec.put32(out, 4, desc.length);
  codec.put32(out, 8, type);
  name.copy(out, 12);
  desc.copy(out, 12 + align4(name.length));
  return out;
}

/** Size of an encoded note. */
export function noteSize(owner: string, descSize: number): number {
  return 12 + align4(owner.length + 1) + align4(descSize);
}

/**
 * Parses a PT_NOTE segment's bytes. `base` is their file offset, for errors. `align` is the
 * segment's p_align (8 for .note.gnu.property segments): name and descriptor start at multiples
 * of it from the note's start. In a whole segment a note whose sizes run past it raises
 * FormatError, and so does trailing garbage that is not padding; in a segment `cut` short by the
 * end of the file, parsing ends at the first note that is not complete.
 */
export function parseNotes(
  buf: Buffer,
  codec: IntCodec,
  base: bigint,
  align: 4 | 8 = 4,
  cut = false,
): ElfNote[] {
  const padTo = (pos: number, start: number) => start + Math.ceil((pos - start) / align) * align;
  const cur = new Cursor(buf, codec, base);
  const notes: ElfNote[] = [];
  while (cur.remaining >= 12) {
    const start = cur.pos;
    const offset = cur.offset;
    const namesz = cur.u32('note namesz');
    const descsz = cur.u32('note descsz');
    const type = cur.u32('note type');
    const descAt = padTo(cur.pos + namesz, start);
    if (cut && (namesz > cur.remaining || descAt + descsz > buf.length)) return notes;
    if (namesz > cur.remaining) throw new FormatError(offset, 'note name runs past its segment', namesz);
    const nameBytes = cur.bytes(namesz, 'note name');
    cur.seek(Math.min(descAt, buf.length));
    if (descsz > cur.remaining)
      throw new FormatError(offset, 'note descriptor runs past its segment', descsz);
    const desc = cur.bytes(descsz, 'note descriptor');
    cur.seek(Math.min(padTo(cur.pos, start), buf.length));
    const nul = nameBytes.indexOf(0);
    const owner = nameBytes.toString('latin1', 0, nul < 0 ? nameBytes.length : nul);
    if (notes.length === MAX_NOTES) throw new FormatError(offset, 'implausibly many notes', notes.length + 1);
    notes.push({ owner, type, desc, offset });
  }
  if (!cut && cur.remaining > 0 && buf.subarray(cur.pos).some((b) => b !== 0)) {
    throw new FormatError(cur.offset, 'trailing bytes after the last note', cur.remaining);
  }
  return notes;
}
