// What `coreshot view` shows about its target, opened once: an ELF core (kernel, gdb, QEMU
// vmcore, coreshot) or one process of a CRIU image directory, as a ProcessImage with the facts
// `info`, `maps`, `notes` and `stack` print, in the shapes the page reads as JSON.
import { loadModules, type ModuleSet } from '../../analysis/modules.js';
import { type CoreReport, coreReport } from '../../analysis/report.js';
import { unwindImage } from '../../analysis/stack/index.js';
import { symbolize } from '../../analysis/symbols/symbolize.js';
import { symbolAddress } from '../../analysis/symbols/symtab.js';
import { layoutFor } from '../../elf/layout.js';
import { buildCoreNotes } from '../../elf/notes/core-notes.js';
import { type DescribedNote, describeNotes } from '../../elf/notes/describe.js';
import { parseNotes } from '../../elf/notes/note.js';
import { decodeRegisters, registerTableOf } from '../../elf/regs/index.js';
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
      const notes = describeNotes(image.arch, core.elf.layout, core.notes);
      return withThreads('core', image, report, notes, 'the core', opts, opened.close);
    }
    const layout = layoutFor(image.arch.elfClass, image.arch.endian);
    const notes = describeNotes(
      image.arch,
      layout,
      parseNotes(buildCoreNotes({ arch: image.arch, layout }, image), layout.codec, 0n),
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
    kinds: mappingKinds(image, report),
    notes,
    notesSource,
    threads() {
      threads ??= backtraces(image, loaded());
      return threads;
    },
    symbol: (name) => symbolAddress(loaded(), name),
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
  /** The mapping's label ([heap], [stack], [stack:TID], [vdso], ...: analysis/labels.ts). */
  label: string | null;
}

const isAnonymous = (m: Mapping) => m.path === undefined || m.path === '' || m.path.startsWith('[anon');

/** The rules, first match wins: a table, so a new kind is one line. */
const KIND_RULES: readonly { kind: MappingKind; test: (m: Mapping, c: KindContext) => boolean }[] = [
  { kind: 'heap', test: (_m, c) => c.label === '[heap]' },
  { kind: 'stack', test: (_m, c) => c.label?.startsWith('[stack') === true },
  { kind: 'special', test: (_m, c) => c.label !== null && SPECIAL.test(c.label) },
  { kind: 'executable', test: (m, c) => c.exe !== null && m.path === c.exe },
  { kind: 'library', test: (m) => m.path !== undefined && LIBRARY.test(m.path) },
  { kind: 'anonymous', test: isAnonymous },
  { kind: 'file', test: (m) => !m.path?.startsWith('[') },
  { kind: 'special', test: () => true },
];

/** The kind of each mapping, from its file and the label the report gives it. */
export function mappingKinds(image: ProcessImage, report: CoreReport): MappingKind[] {
  const exe = report.summary.executable;
  return image.mappings.map(
    (m, i) => KIND_RULES.find((r) => r.test(m, { exe, label: report.mappings[i]?.label ?? null }))!.kind,
  );
}
