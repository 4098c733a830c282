/**
 * The DWARF of a module: from its separate debug file when that has .debug_info, else from the
 * file itself; all sections from that one file (decompressed). Built once per file; a file
 * without usable DWARF gets the reason instead.
 */
import type { ElfFile } from '../../../elf/reader.js';
import { findSection, sectionData } from '../../../elf/sections.js';
import type { Module } from '../../modules.js';
import { DwarfIndex } from './lookup.js';
import type { DwarfSections } from './unit.js';

const SECTIONS = {
  str: '.debug_str',
  lineStr: '.debug_line_str',
  line: '.debug_line',
  ranges: '.debug_ranges',
  rnglists: '.debug_rnglists',
  addr: '.debug_addr',
  strOffsets: '.debug_str_offsets',
  aranges: '.debug_aranges',
} as const satisfies Record<string, string>;

/** Per file, not per module: a debug file found later (debuginfod) gets its own entry. */
const cache = new WeakMap<ElfFile, DwarfIndex | string>();

/** The module's DWARF index, or why there is none. */
export function moduleDwarf(module: Module): DwarfIndex | string {
  const file = [module.debug, module.elf].find((f) => f && hasDwarf(f));
  if (!file) return 'no DWARF debug info';
  let hit = cache.get(file);
  if (hit === undefined) {
    hit = load(file);
    cache.set(file, hit);
  }
  return hit;
}

function load(file: ElfFile): DwarfIndex | string {
  try {
    const get = (name: string) => {
      const s = findSection(file, name);
      return s ? sectionData(file, s) : undefined;
    };
    const info = get('.debug_info');
    const abbrev = get('.debug_abbrev');
    if (!info || !abbrev) return 'no .debug_info or .debug_abbrev';
    const sections: DwarfSections = { codec: file.layout.codec, info, abbrev };
    for (const [key, name] of Object.entries(SECTIONS) as [keyof typeof SECTIONS, string][]) {
      const data = get(name);
      if (data) sections[key] = data;
    }
    return new DwarfIndex(sections);
  } catch (err) {
    return (err as Error).message;
  }
}

function hasDwarf(elf: ElfFile): boolean {
  try {
    const s = findSection(elf, '.debug_info');
    return s !== undefined && sectionData(elf, s) !== undefined;
  } catch {
    return true; // present but unreadable: load() reports why
  }
}
