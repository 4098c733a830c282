/**
 * A module's ELF symbols as one sorted index, and the symbol that names a pc. Symbols come from
 * the file's .symtab and dynamic symbol table, its separate debug file's .symtab and its
 * MiniDebugInfo. The choice, as readers expect it: the symbol whose [value, value + size) holds
 * the pc, the nearest (highest) start first; at one start global over weak over local and
 * functions over other kinds; ARM mapping symbols ($a, $t, $d, $x) never; a zero-size symbol only
 * when no sized one holds the pc and nothing sized starts between it and the pc.
 */
import {
  EM_ARM,
  STB_GLOBAL,
  STB_WEAK,
  STT_FILE,
  STT_FUNC,
  STT_GNU_IFUNC,
  STT_SECTION,
  STT_TLS,
} from '../../elf/constants.js';
import type { ElfFile } from '../../elf/reader.js';
import { type ElfSymbolEntry, readSymbols } from '../../elf/symbols.js';
import type { Module, ModuleSet } from '../modules.js';
import { miniDebugInfo } from './minidebuginfo.js';

/** STB_GNU_UNIQUE binds like a global. */
const STB_GNU_UNIQUE = 10;
/** Symbols walked back over looking for one that contains a pc (nesting is rarely deep). */
const MAX_WALK = 4096;

interface IndexedSymbol {
  /** Its name is read only when a lookup returns it. */
  entry: ElfSymbolEntry;
  start: bigint;
  size: bigint;
  /** Lower is better: binding, then kind. */
  rank: number;
}

export interface SymbolHit {
  name: string;
  /** Link-time start and size. */
  start: bigint;
  size: bigint;
}

export class SymbolIndex {
  /** Sorted by start, then best rank last (a backward walk meets the best first). */
  private readonly syms: IndexedSymbol[];
  /** maxEnd[i]: the highest end among syms[0..i]; a backward walk stops below the pc. */
  private readonly maxEnd: bigint[];
  /** Why some symbol source was unusable. */
  readonly problems: string[];

  constructor(entries: IndexedSymbol[], problems: string[]) {
    this.syms = entries.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : b.rank - a.rank));
    this.maxEnd = [];
    let max = 0n;
    for (const s of this.syms) {
      if (s.start + s.size > max) max = s.start + s.size;
      this.maxEnd.push(max);
    }
    this.problems = problems;
  }

  get size(): number {
    return this.syms.length;
  }

  /** The symbol naming a link-time pc, if any. */
  lookup(pc: bigint): SymbolHit | undefined {
    let lo = 0;
    let hi = this.syms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.syms[mid]!.start <= pc) lo = mid + 1;
      else hi = mid;
    }
    const top = lo - 1;
    for (let i = top; i >= 0 && top - i < MAX_WALK && this.maxEnd[i]! > pc; i--) {
      const s = this.syms[i]!;
      if (s.size > 0n && pc < s.start + s.size) return hit(s);
    }
    // Last resort: the zero-size symbols at the highest start below the pc, unless a sized one
    // starts there too (it ends before the pc).
    const last = this.syms[top];
    if (!last) return undefined;
    for (let i = top; i >= 0 && top - i < MAX_WALK && this.syms[i]!.start === last.start; i--)
      if (this.syms[i]!.size > 0n) return undefined;
    return hit(last);
  }
}

function hit(s: IndexedSymbol): SymbolHit {
  return { name: s.entry.name, start: s.start, size: s.size };
}

const indexes = new WeakMap<Module, { index: SymbolIndex; debug: ElfFile | undefined }>();

/** The symbol index of a module, built on first use (and again once a debug file turns up). */
export function symbolIndex(module: Module): SymbolIndex {
  const hit = indexes.get(module);
  if (hit && hit.debug === module.debug) return hit.index;
  const index = buildIndex(module);
  indexes.set(module, { index, debug: module.debug });
  return index;
}

function buildIndex(module: Module): SymbolIndex {
  const problems: string[] = [];
  const out: IndexedSymbol[] = [];
  // A symbol found in two tables is kept twice: the copies give the same answer.
  const add = (elf: ElfFile | undefined, which: 'symtab' | 'dynsym', what: string) => {
    if (!elf) return;
    let entries: ElfSymbolEntry[];
    try {
      entries = readSymbols(elf, which);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
      return;
    }
    const arm = elf.header.e_machine === EM_ARM;
    for (const e of entries) {
      if (!usable(e)) continue;
      // Thumb functions have the low bit set in st_value.
      const start = arm && e.type === STT_FUNC ? e.value & ~1n : e.value;
      out.push({ entry: e, start, size: e.size, rank: rank(e) });
    }
  };
  add(module.elf, 'symtab', '.symtab');
  add(module.elf, 'dynsym', 'dynamic symbols');
  if (module.elf && !module.fromMemory) {
    try {
      add(miniDebugInfo(module.elf), 'symtab', 'MiniDebugInfo .symtab');
    } catch (err) {
      problems.push(`MiniDebugInfo: ${(err as Error).message}`);
    }
  }
  add(module.debug, 'symtab', 'debug file .symtab');
  return new SymbolIndex(out, problems);
}

const ARM_MAPPING = /^\$[atdx](\..*)?$/;

/** The first byte of every ARM mapping symbol. */
const DOLLAR = 0x24;

function usable(e: ElfSymbolEntry): boolean {
  if (e.nameByte === 0 || e.type === STT_SECTION || e.type === STT_FILE || e.type === STT_TLS) return false;
  return e.nameByte !== DOLLAR || !ARM_MAPPING.test(e.name);
}

function rank(e: ElfSymbolEntry): number {
  const bind = e.bind === STB_GLOBAL || e.bind === STB_GNU_UNIQUE ? 0 : e.bind === STB_WEAK ? 1 : 2;
  const func = e.type === STT_FUNC || e.type === STT_GNU_IFUNC ? 0 : 1;
  return bind * 2 + func;
}

/**
 * The run-time address of a function or object named `name` in the first loaded module that
 * defines it (its file's .symtab, then .dynsym, then its debug file's).
 */
export function symbolAddress(modules: ModuleSet, name: string): bigint | undefined {
  for (const m of modules.list) {
    for (const elf of [m.elf, m.debug]) {
      if (!elf) continue;
      for (const which of ['symtab', 'dynsym'] as const) {
        const s = readSymbols(elf, which).find((e) => e.name === name && e.value !== 0n);
        if (s) return s.value + m.bias;
      }
    }
  }
  return undefined;
}
