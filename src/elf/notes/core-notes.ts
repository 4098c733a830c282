// The notes of a process core, read into the places of a ProcessImage and written from them, both
// driven by the note table (table.ts): this file knows no note type.
import type { ProcessImage, RegSet, ThreadState } from '../../model/process-image.js';
import { type ElfNote, encodeNote } from './note.js';
import {
  type CoreNotes,
  type NoteContext,
  type NoteRow,
  noteRow,
  placeOf,
  rowsIn,
  writerRank,
} from './table.js';

/** Sorts notes, in file order, into threads, process-level data and notes carried as they are. */
export function collectCoreNotes(ctx: NoteContext, notes: readonly ElfNote[]): CoreNotes {
  const into: CoreNotes = { threads: [], extraNotes: [] };
  for (const n of notes) {
    if (!take(ctx, n, into)) into.extraNotes.push({ owner: n.owner, type: n.type, desc: n.desc });
  }
  return into;
}

function take(ctx: NoteContext, n: ElfNote, into: CoreNotes): boolean {
  const place = placeOf(n.owner, n.type);
  if (place === 'regset') {
    const current = into.threads[into.threads.length - 1];
    current?.regsets.push({ type: n.type, owner: n.owner, data: n.desc });
    return current !== undefined;
  }
  const read = noteRow(n.owner, n.type)?.read;
  return place !== 'carried' && read !== undefined && read(ctx, n, into);
}

/**
 * All notes of a process core, in the order fs/binfmt_elf.c writes them: per thread its 'thread'
 * note, after the first thread's the 'process' notes, then its register sets in table order (a
 * type the table does not know stays after the set it followed); the carried notes last.
 */
export function buildCoreNotes(ctx: NoteContext, image: ProcessImage): Buffer {
  const c = ctx.layout.codec;
  const parts: Buffer[] = [];
  const emit = (rows: readonly NoteRow[], t: ThreadState) => {
    for (const row of rows) {
      const desc = row.write?.(ctx, image, t);
      if (desc) parts.push(encodeNote(c, row.owner, row.type ?? 0, desc));
    }
  };
  const threadRows = rowsIn('thread');
  const processRows = rowsIn('process');
  image.threads.forEach((t, i) => {
    emit(threadRows, t);
    if (i === 0) emit(processRows, t);
    for (const r of inWriterOrder(t.regsets)) parts.push(encodeNote(c, r.owner, r.type, r.data));
  });
  for (const n of image.extraNotes) parts.push(encodeNote(c, n.owner, n.type, n.desc));
  return Buffer.concat(parts);
}

/** Register sets in the table's order; one of a type without a row keeps its predecessor's rank. */
function inWriterOrder(regsets: readonly RegSet[]): RegSet[] {
  let rank = -1;
  const ranked = regsets.map((r, index) => {
    const own = writerRank(r.owner, r.type);
    if (own >= 0) rank = own;
    return { r, rank, index };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return ranked.map((x) => x.r);
}
