import { FormatError } from '../../bytes/errors.js';
import type { AuxvEntry } from '../../model/process-image.js';
import type { ElfLayout } from '../layout.js';

/** Linux's auxiliary vector has a few dozen entries; more than this is not an auxv. */
const MAX_AUXV = 4096;

/** Decodes NT_AUXV (pairs of words), stopping after AT_NULL. */
export function decodeAuxv(layout: ElfLayout, desc: Buffer, base: bigint): AuxvEntry[] {
  const w = layout.wordSize;
  if (desc.length % (2 * w) !== 0)
    throw new FormatError(base, 'NT_AUXV size is not a multiple of an entry', desc.length);
  if (desc.length > MAX_AUXV * 2 * w)
    throw new FormatError(base, 'NT_AUXV is implausibly large', desc.length);
  const out: AuxvEntry[] = [];
  for (let o = 0; o + 2 * w <= desc.length; o += 2 * w) {
    const type = layout.word(desc, o);
    const value = layout.word(desc, o + w);
    out.push({ type, value });
    if (type === 0n) break;
  }
  return out;
}

/** Encodes NT_AUXV; appends AT_NULL if the entries do not end with it. */
export function encodeAuxv(layout: ElfLayout, entries: readonly AuxvEntry[]): Buffer {
  const list = [...entries];
  if (list.length === 0 || list[list.length - 1]!.type !== 0n) list.push({ type: 0n, value: 0n });
  const w = layout.wordSize;
  const b = Buffer.alloc(list.length * 2 * w);
  list.forEach((e, i) => {
    layout.putWord(b, i * 2 * w, e.type);
    layout.putWord(b, i * 2 * w + w, e.value);
  });
  return b;
}
