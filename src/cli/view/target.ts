// What `coreshot view` shows about its target, opened once: an ELF core (kernel, gdb, QEMU
// vmcore, coreshot) or one process of a CRIU image directory, as a ProcessImage with the facts
// `info`, `maps`, `notes` and `stack` print, in the shapes the page reads as JSON.
import { loadModules, type ModuleSet } from '../../analysis/modules.js';
import { type CoreReport, coreReport } from '../../analysis/report.js';
import { unwindImage } from '../../analysis/stack/index.js';
import { symbolize } from '../../analysis/symbols/symbolize.js';
import { layoutFor } from '../../elf/layout.js';
import { buildCoreNotes } from '../../elf/notes/core-notes.js';
import { type DescribedNote, describeNote } from '../../elf/notes/describe.js';
import { parseNotes } from '../../elf/notes/note.js';
import { decodeRegisters, registerTableOf } from '../../elf/regs/index.js';
import { readSymbols } from '../../elf/symbols.js';
import type { Mapping, ProcessImage } from '../../model/process-image.js';
import { type OpenImageOptions, openImage } from '../open-image.js';

export type ViewOptions = OpenImageOptions;

/** What a mapping holds, for the map's colours. */
export type MappingKind = 'executable' | 'library' | 'heap' | 'stack' | 'anonymous' | 'file' | 'special';

export interface ViewFrame {
  pc: bigint;
  function: string | null;
  offset: bigint;
  module: string | null;
  file: string | null;
  line: number | null;
  how: string;
  signal: boolean;
  /** Functions inlined at the pc, innermost first. */
  inlined: string[];
}

export interface ViewThread {
  tid: number;
  signal: number;
  pc: bigint;
  sp: bigint;
  pcName: string;
  spName: string;
  registers: [string, bigint][];
  frames: ViewFrame[];
  stopped: string | null;
}

export interface ViewTarget {
  kind: 'core' | 'criu';
  image: ProcessImage;
  report: CoreReport;
  /** The kind of each mapping, in the image's order. */
  kinds: MappingKind[];
  notes: DescribedNote[];
  /** Where the notes come from (a CRIU checkpoint has none: those `convert` would write). */
  notesSource: string;
  /** Backtraces, computed on first use (symbols can take a moment). */
  threads(): ViewThread[];
  /** The address of a symbol in a loaded module. */
  symbol(name: string): bigint | undefined;
  close(): void;
}

export async function openTarget(path: string, opts: ViewOptions): Promise<ViewTarget> {
  const opened = await openImage(path, opts);
  try {
    const { image } = opened;
    const report = coreReport(opened.report);
    if (opened.kind === 'core') {
      const { core } = opened;
      const notes = core.notes.map((n) => describeNote(image.arch, core.elf.layout, n));
      return withThreads('core', image, report, notes, 'the core', opts, opened.close);
    }
    const layout = layoutFor(image.arch.elfClass, image.arch.endian);
    const notes = parseNotes(buildCoreNotes({ arch: image.arch, layout }, image), layout.codec, 0n).map((n) =>
      describeNote(image.arch, layout, n),
    );
    return withThreads(
      'criu',
      image,
      report,
      notes,
      'the notes `coreshot convert` writes',
      opts,
      opened.close,
    );
  } catch (err) {
    opened.close();
    throw err;
  }
}

function withThreads(
  kind: ViewTarget['kind'],
  image: ProcessImage,
  report: CoreReport,
  notes: DescribedNote[],
  notesSource: string,
  opts: ViewOptions,
  closeImage: () => void,
): ViewTarget {
  let modules: ModuleSet | undefined;
  let threads: ViewThread[] | undefined;
  const loaded = () => {
    modules ??= loadModules(image, { root: opts.root });
    return modules;
  };
  return {
    kind,
    image,
    report,
    kinds: mappingKinds(image, report.summary.executable),
    notes,
    notesSource,
    threads() {
      threads ??= backtraces(image, loaded());
      return threads;
    },
    symbol: (name) => findSymbol(loaded(), name),
    close() {
      modules?.close();
      closeImage();
    },
  };
}

/** Registers and symbolized frames of every thread; an arch without an unwinder has no frames. */
function backtraces(image: ProcessImage, modules: ModuleSet): ViewThread[] {
  const names = registerTableOf(image.arch) ?? { pc: 'pc', sp: 'sp' };
  let unwound: ReturnType<typeof unwindImage> = [];
  let why: string | null = null;
  try {
    unwound = unwindImage(image, modules);
  } catch (err) {
    why = err instanceof Error ? err.message : String(err);
  }
  return image.threads.map((t) => {
    const regs = decodeRegisters(image.arch, t.gpRegs);
    const u = unwound.find((x) => x.tid === t.tid);
    const frames = (u?.frames ?? []).map((f) => {
      const s = symbolize(modules, f.pc, { isCallSite: f.callSite });
      return {
        pc: f.pc,
        function: s.function,
        offset: s.offset,
        module: s.module,
        file: s.file ?? null,
        line: s.line ?? null,
        how: f.how,
        signal: f.signal,
        inlined: s.inlined.map((i) => i.function ?? '??'),
      };
    });
    return {
      tid: t.tid,
      signal: t.status.cursig,
      pc: regs.get(names.pc) ?? 0n,
      sp: regs.get(names.sp) ?? 0n,
      pcName: names.pc,
      spName: names.sp,
      registers: [...regs],
      frames,
      stopped: u?.stopped ?? why,
    };
  });
}

const LIBRARY = /\.so(\.[0-9.]+)?$|\/ld-linux[^/]*$/;
const SPECIAL = /^\[(vdso|vvar|vsyscall|vectors|uprobes|sigpage)[^\]]*\]$/;

interface KindContext {
  exe: string | null;
  /** The threads' stack pointers. */
  sps: readonly bigint[];
  /** Where the brk heap starts, as far as the mappings tell (kernel cores do not name [heap]). */
  brk: bigint | undefined;
}

const isAnonymous = (m: Mapping) => m.path === undefined || m.path === '' || m.path.startsWith('[anon');

/** The rules, first match wins: a table, so a new kind is one line. */
const KIND_RULES: readonly { kind: MappingKind; test: (m: Mapping, c: KindContext) => boolean }[] = [
  { kind: 'heap', test: (m, c) => m.path === '[heap]' || (isAnonymous(m) && m.start === c.brk) },
  {
    kind: 'stack',
    test: (m, c) => m.path?.startsWith('[stack') === true || c.sps.some((sp) => m.start <= sp && sp < m.end),
  },
  { kind: 'special', test: (m) => m.path !== undefined && SPECIAL.test(m.path) },
  { kind: 'executable', test: (m, c) => c.exe !== null && m.path === c.exe },
  { kind: 'library', test: (m) => m.path !== undefined && LIBRARY.test(m.path) },
  { kind: 'anonymous', test: isAnonymous },
  { kind: 'file', test: (m) => !m.path?.startsWith('[') },
  { kind: 'special', test: () => true },
];

/**
 * The brk heap: [heap] when named, else the first anonymous writable mapping past a gap after
 * the executable's last mapping (the kernel puts the randomized brk start there; an anonymous
 * mapping right at the executable's end is its .bss).
 */
function brkStart(mappings: readonly Mapping[], exe: string | null): bigint | undefined {
  const named = mappings.find((m) => m.path === '[heap]');
  if (named) return named.start;
  let exeEnd: bigint | undefined;
  for (const m of mappings) if (exe !== null && m.path === exe) exeEnd = m.end;
  if (exeEnd === undefined) return undefined;
  let end = exeEnd;
  for (const m of mappings) {
    if (m.start < exeEnd) continue;
    if (m.start === end && isAnonymous(m)) {
      end = m.end; // the executable's .bss
      continue;
    }
    return isAnonymous(m) && m.write ? m.start : undefined;
  }
  return undefined;
}

/** The kind of each mapping; thread stacks are the anonymous mappings holding a stack pointer. */
export function mappingKinds(image: ProcessImage, exe: string | null): MappingKind[] {
  const spName = registerTableOf(image.arch)?.sp;
  const sps = spName ? image.threads.map((t) => decodeRegisters(image.arch, t.gpRegs).get(spName) ?? 0n) : [];
  const c: KindContext = { exe, sps, brk: brkStart(image.mappings, exe) };
  return image.mappings.map((m) => KIND_RULES.find((r) => r.test(m, c))!.kind);
}

/** The address of a function or object named `name` in any loaded module (symtab, then dynsym). */
export function findSymbol(modules: ModuleSet, name: string): bigint | undefined {
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
