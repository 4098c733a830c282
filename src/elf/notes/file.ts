import { Cursor } from '../../bytes/cursor.js';
import { FormatError } from '../../bytes/errors.js';
import type { ElfLayout } from '../layout.js';

/** One NT_FILE entry: a file-backed mapping. */
export interface FileMapping {
  start: bigint;
  end: bigint;
  /** File offset in bytes (NT_FILE stores it in pages). */
  offset: bigint;
  path: string;
}

/**
 * More NT_FILE entries than this are refused: each costs far more memory decoded than its 24
 * bytes, and Linux caps the whole note at 4 MiB by default (about 100,000 entries).
 */
const MAX_FILES = 1n << 20n;

/** Decodes NT_FILE: count, page size, count × (start, end, page offset), then count names. */
export function decodeNtFile(
  layout: ElfLayout,
  desc: Buffer,
  base: bigint,
): { pageSize: bigint; files: FileMapping[] } {
  const w = layout.wordSize;
  const c = new Cursor(desc, layout.codec, base);
  const count = c.word(w, 'NT_FILE count');
  const pageSize = c.word(w, 'NT_FILE page size');
  if (count * BigInt(3 * w) > BigInt(c.remaining))
    throw new FormatError(base, 'NT_FILE count exceeds its note', count);
  if (count > MAX_FILES) throw new FormatError(base, 'implausibly many NT_FILE entries', count);
  const n = Number(count);
  const ranges: Array<[bigint, bigint, bigint]> = [];
  for (let i = 0; i < n; i++) ranges.push([c.word(w), c.word(w), c.word(w)]);
  const files = ranges.map(([start, end, pgoff]) => ({
    start,
    end,
    offset: pgoff * pageSize,
    path: c.cstring('NT_FILE name'),
  }));
  return { pageSize, files };
}

export function encodeNtFile(layout: ElfLayout, pageSize: bigint, files: readonly FileMapping[]): Buffer {
  const w = layout.wordSize;
  const head = Buffer.alloc((2 + 3 * files.length) * w);
  layout.putWord(head, 0, BigInt(files.length));
  layout.putWord(head, w, pageSize);
  files.forEach((f, i) => {
    const o = (2 + 3 * i) * w;
    layout.putWord(head, o, f.start);
    layout.putWord(head, o + w, f.end);
    layout.putWord(head, o + 2 * w, f.offset / pageSize);
  });
  return Buffer.concat([head, ...files.map((f) => Buffer.from(`${f.path}\0`, 'utf8'))]);
}
