/**
 * The call-frame tables of each loaded module, built on first use and kept for the whole run:
 * `.eh_frame` with `.eh_frame_hdr`'s search table, on arm `.ARM.exidx` (the EHABI table), then
 * `.debug_frame` (from the file or its separate debug file, read only when the others have no
 * entry for a pc), and the PLT sections.
 * Bad CFI in one module is remembered as a problem and that module is unwound without it.
 */
import { codecFor } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';
import { findSection } from '../../elf/sections.js';
import { ARCHES } from '../../model/process-image.js';
import type { Module, ModuleSet } from '../modules.js';
import { symbolIndex } from '../symbols/symtab.js';
import type { UnwindArch } from './arches.js';
import { ArmExidx } from './arm-exidx.js';
import { CallFrameTable } from './cfi.js';
import type { FrameInfo, FrameInfoLookup } from './unwind.js';

/** .eh_frame found without a section header is read up to this many bytes (to its segment's end). */
const MAX_EH_FRAME = 64 << 20;

const PLT_SECTIONS = ['.plt', '.plt.sec', '.plt.got', '.iplt'];

interface ModuleFrames {
  eh?: CallFrameTable;
  exidx?: ArmExidx;
  debug?: CallFrameTable | null;
  plt: { start: bigint; end: bigint }[];
}

/** Problems met while reading a module's CFI, by module path (for the report). */
export type CfiProblems = Map<string, string>;

/** A lookup from pc to the CFI that covers it, over every module of the set. */
export function frameInfoLookup(
  modules: ModuleSet,
  arch: UnwindArch,
  problems: CfiProblems = new Map(),
): FrameInfoLookup {
  const cache = new Map<Module, ModuleFrames>();
  const codec = codecFor(ARCHES[arch.name].endian);
  const opts = (m: Module) => ({
    codec,
    addressSize: arch.addressSize,
    bases: { text: m.sectionAddress('.text'), data: m.sectionAddress('.got') },
  });
  const table = (m: Module, kind: 'eh_frame' | 'debug_frame') => {
    const name = `.${kind}`;
    const hdrData = kind === 'eh_frame' ? m.section('.eh_frame_hdr') : undefined;
    const hdrAddr = m.sectionAddress('.eh_frame_hdr');
    const hdr = hdrData && hdrAddr !== undefined ? { data: hdrData, addr: hdrAddr } : undefined;
    let data = m.section(name);
    let addr = m.sectionAddress(name);
    if (!data && hdr) {
      // No section headers (an ELF read from memory): .eh_frame is where eh_frame_hdr points.
      addr = CallFrameTable.ehFramePointer(hdr, opts(m));
      data = addr === undefined ? undefined : m.loadedBytes(addr, MAX_EH_FRAME);
    }
    if (!data || addr === undefined) return undefined;
    return new CallFrameTable(kind, { data, addr }, opts(m), hdr);
  };
  const framesOf = (m: Module): ModuleFrames => {
    let f = cache.get(m);
    if (!f) {
      // PLT sections of the file itself (not its debug file, which need not be opened for this).
      const elf = m.elf;
      const plt = elf
        ? PLT_SECTIONS.flatMap((name) => {
            const sh = findSection(elf, name);
            return sh && sh.sh_size > 0n
              ? [{ start: sh.sh_addr + m.bias, end: sh.sh_addr + sh.sh_size + m.bias }]
              : [];
          })
        : [];
      let eh: CallFrameTable | undefined;
      try {
        eh = table(m, 'eh_frame');
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        problems.set(m.path, `.eh_frame_hdr: ${err.message}`);
      }
      f = { eh, plt, ...(arch.name === 'arm' ? { exidx: armTable(m) } : {}) };
      cache.set(m, f);
    }
    return f;
  };
  const armTable = (m: Module): ArmExidx | undefined => {
    const data = m.section('.ARM.exidx');
    const addr = m.sectionAddress('.ARM.exidx');
    if (!data || addr === undefined) return undefined;
    const tab = m.section('.ARM.extab');
    const tabAddr = m.sectionAddress('.ARM.extab');
    const extab = tab && tabAddr !== undefined ? { data: tab, addr: tabAddr } : undefined;
    return new ArmExidx({ data, addr }, extab, codec);
  };
  const armSearch = (m: Module, t: ArmExidx | undefined, linkPc: bigint): FrameInfo['exidx'] => {
    if (!t) return undefined;
    try {
      return t.find(linkPc);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      problems.set(m.path, `.ARM.exidx: ${err.message}`);
      return undefined;
    }
  };
  const search = (m: Module, t: CallFrameTable | undefined, linkPc: bigint): FrameInfo['fde'] => {
    if (!t) return undefined;
    try {
      const fde = t.find(linkPc);
      return fde ? { table: t, fde, linkPc } : undefined;
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      problems.set(m.path, `${t.kind}: ${err.message}`);
      return undefined;
    }
  };
  return (pc) => {
    const m = modules.find(pc);
    if (!m) return undefined;
    const f = framesOf(m);
    const linkPc = pc - m.bias;
    const plt = f.plt.some((r) => r.start <= pc && pc < r.end);
    let fde = search(m, f.eh, linkPc);
    const exidx = fde ? undefined : armSearch(m, f.exidx, linkPc);
    // Where the function's prologue is (gdb's prologue analysis goes on from there).
    const prologue = (length: number) => {
      const sym = symbolIndex(m).lookup(linkPc);
      const code = sym && m.loadedBytes(sym.start, length);
      return sym && code ? { start: sym.start + m.bias, code } : undefined;
    };
    if (exidx && exidx !== 'cantunwind') return { exidx, plt, prologue };
    if (!fde) {
      if (f.debug === undefined)
        f.debug = m.section('.debug_frame') ? (table(m, 'debug_frame') ?? null) : null;
      fde = search(m, f.debug ?? undefined, linkPc);
    }
    // The linker marks code built without unwind tables EXIDX_CANTUNWIND: .debug_frame may
    // still describe it; else the function is an outermost one.
    if (!fde && exidx) return { exidx, plt, prologue };
    return fde ? { fde, plt } : { plt, prologue };
  };
}
