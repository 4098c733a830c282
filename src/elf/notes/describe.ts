// A note as `coreshot notes` shows it: owner, eu-readelf's type name, size, offset and the
// decoded contents the note table's row gives (table.ts).
import { NT_X86_XSAVE_LAYOUT } from '../../abi/notes.js';
import type { ArchInfo } from '../../model/process-image.js';
import type { ElfLayout } from '../layout.js';
import { layoutOfNote, type XsaveLayout } from '../xsave.js';
import type { ElfNote } from './note.js';
import { type NoteContext, noteRow, noteTypeName } from './table.js';
import { decodeXSaveLayout } from './x86.js';

export interface DescribedNote {
  owner: string;
  type: number;
  typeName: string;
  size: number;
  offset: bigint;
  /** Typed contents, when the note is one coreshot decodes. */
  decoded?: unknown;
}

/**
 * Every note of a core decoded for display; an NT_X86_XSAVE_LAYOUT note places the vector
 * registers of the NT_X86_XSTATE notes.
 */
export function describeNotes(arch: ArchInfo, layout: ElfLayout, notes: readonly ElfNote[]): DescribedNote[] {
  const stated = notes.find((n) => n.owner === 'LINUX' && n.type === NT_X86_XSAVE_LAYOUT);
  let xsave: XsaveLayout | undefined;
  try {
    if (stated) xsave = layoutOfNote(decodeXSaveLayout(layout.codec, stated.desc));
  } catch {
    // An implausible layout note is shown as such by its own row; the areas are placed without it.
  }
  return notes.map((n) => describeNote(arch, layout, n, xsave));
}

/**
 * Decodes a note into plain data for display (`xsave`: where NT_X86_XSTATE places its
 * components, when the core says). Never throws: undecodable notes stay raw.
 */
export function describeNote(
  arch: ArchInfo,
  layout: ElfLayout,
  n: ElfNote,
  xsave?: XsaveLayout,
): DescribedNote {
  const ctx: NoteContext = xsave ? { arch, layout, xsave } : { arch, layout };
  const out: DescribedNote = {
    owner: n.owner,
    type: n.type,
    typeName: noteTypeName(n.owner, n.type),
    size: n.desc.length,
    offset: n.offset,
  };
  try {
    const decoded = noteRow(n.owner, n.type)?.show?.(ctx, n.desc, n.offset + 12n);
    if (decoded !== undefined) out.decoded = decoded;
  } catch (err) {
    out.decoded = { error: err instanceof Error ? err.message : String(err) };
  }
  return out;
}
