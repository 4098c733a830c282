// A note as `coreshot notes` shows it: owner, eu-readelf's type name, size, offset and the
// decoded contents the note table's row gives (table.ts).
import type { ArchInfo } from '../../model/process-image.js';
import type { ElfLayout } from '../layout.js';
import type { ElfNote } from './note.js';
import { noteRow, noteTypeName } from './table.js';

export interface DescribedNote {
  owner: string;
  type: number;
  typeName: string;
  size: number;
  offset: bigint;
  /** Typed contents, when the note is one coreshot decodes. */
  decoded?: unknown;
}

/** Decodes a note into plain data for display. Never throws: undecodable notes stay raw. */
export function describeNote(arch: ArchInfo, layout: ElfLayout, n: ElfNote): DescribedNote {
  const out: DescribedNote = {
    owner: n.owner,
    type: n.type,
    typeName: noteTypeName(n.owner, n.type),
    size: n.desc.length,
    offset: n.offset,
  };
  try {
    const decoded = noteRow(n.owner, n.type)?.show?.({ arch, layout }, n.desc, n.offset + 12n);
    if (decoded !== undefined) out.decoded = decoded;
  } catch (err) {
    out.decoded = { error: err instanceof Error ? err.message : String(err) };
  }
  return out;
}
