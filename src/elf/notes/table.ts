// The one table of ELF note types in process cores (in the manner of elfutils'
// backends/linux-core-note.c): per owner and type, the name eu-readelf prints, where the core
// reader puts the note in a ProcessImage and the writer takes it from, in which order writers
// emit it, and what `coreshot notes` shows of it. Adding a note type is adding one row.
import { auxvName } from '../../abi/auxv.js';
import * as NT from '../../abi/notes.js';
import { signalName } from '../../abi/signals.js';
import { fixedString } from '../../bytes/cursor.js';
import {
  type ArchInfo,
  type ArchName,
  type AuxvEntry,
  isFileBacked,
  type ProcessImage,
  type ProcessInfo,
  type RawNote,
  type ThreadState,
} from '../../model/process-image.js';
import { archElf } from '../arch.js';
import type { ElfLayout } from '../layout.js';
import { decodeRegisters, registerTableOf } from '../regs/index.js';
import { layoutOfArea, type XsaveLayout, xsaveVectors } from '../xsave.js';
import { decodeAuxv, encodeAuxv } from './auxv.js';
import { CORESHOT_OWNER, decodeCoreshotFd, decodeCoreshotProcess, decodeCoreshotThread } from './coreshot.js';
import { decodeNtFile, encodeNtFile, type FileMapping } from './file.js';
import type { ElfNote } from './note.js';
import { decodePrPsInfo, encodePrPsInfo } from './prpsinfo.js';
import { decodePrStatus, encodePrStatus } from './prstatus.js';
import { decodeSigInfo } from './siginfo.js';
import { decodeFxSave, decodeQemuCpuState, decodeXSaveLayout, decodeXState, leHex } from './x86.js';

/** What decoding and encoding a note depends on: the architecture and its ELF layout. */
export interface NoteContext {
  arch: ArchInfo;
  layout: ElfLayout;
  /** For showing NT_X86_XSTATE: the layout an NT_X86_XSAVE_LAYOUT note of the core states. */
  xsave?: XsaveLayout;
}

/** The notes of a core being read, sorted into the places of a ProcessImage. */
export interface CoreNotes {
  threads: ThreadState[];
  process?: ProcessInfo;
  auxv?: AuxvEntry[];
  files?: FileMapping[];
  /** Notes no row took: kept as they are. */
  extraNotes: RawNote[];
}

/**
 * Where a note lives in a ProcessImage:
 * - 'thread': it starts a thread (NT_PRSTATUS); the writer puts it first in each thread's notes;
 * - 'process': decoded into the image; written once, after the first thread's 'thread' note;
 * - 'regset': a register set kept raw in the thread whose notes it follows;
 * - 'carried': kept raw in the image's extraNotes, written after all threads.
 */
export type NotePlace = 'thread' | 'process' | 'regset' | 'carried';

export interface NoteRow {
  owner: string;
  /** The note type; absent: every type of this owner (QEMU, VMCOREINFO). */
  type?: number;
  /** The name eu-readelf prints. */
  name: string;
  place: NotePlace;
  /**
   * 'thread' and 'process' rows: decodes the note into `into`; false when it has no place
   * there (a second NT_PRPSINFO, a siginfo before any thread): the note is then carried.
   */
  read?: (ctx: NoteContext, note: ElfNote, into: CoreNotes) => boolean;
  /** 'thread' and 'process' rows: the descriptor to write for a thread, if any. */
  write?: (ctx: NoteContext, image: ProcessImage, thread: ThreadState) => Buffer | undefined;
  /** What `coreshot notes` shows (undefined: nothing beyond the header). */
  show?: (ctx: NoteContext, desc: Buffer, base: bigint) => unknown;
}

const ROWS: NoteRow[] = [];
const BY_KEY = new Map<string, NoteRow>();
/** Each row's position in ROWS. */
const RANK = new Map<NoteRow, number>();
const keyOf = (owner: string, type: number | undefined) => `${owner}\0${type ?? '*'}`;

/**
 * Adds a row to the table (every built-in row is added this way). The writers emit 'process'
 * notes and a thread's register sets in table order: a row goes right after `after`, else last.
 */
export function defineNote(row: NoteRow, after?: NoteRow): NoteRow {
  const key = keyOf(row.owner, row.type);
  if (BY_KEY.has(key)) throw new Error(`note ${row.owner}/${row.name} is defined twice`);
  BY_KEY.set(key, row);
  const anchor = after ? RANK.get(after) : undefined;
  ROWS.splice(anchor === undefined ? ROWS.length : anchor + 1, 0, row);
  for (const [i, r] of ROWS.entries()) RANK.set(r, i);
  return row;
}

/** The row of a note: its own, or its owner's catch-all row. */
export function noteRow(owner: string, type: number): NoteRow | undefined {
  return BY_KEY.get(keyOf(owner, type)) ?? BY_KEY.get(keyOf(owner, undefined));
}

/** The rows of one place, in the writers' order. */
export function rowsIn(place: NotePlace): NoteRow[] {
  return ROWS.filter((r) => r.place === place);
}

/** A row's position in the writers' order (-1 when the table has none). */
export function writerRank(owner: string, type: number): number {
  const row = noteRow(owner, type);
  return row ? (RANK.get(row) ?? -1) : -1;
}

/** Register-set notes of an owner the table has no row for: those of owner LINUX. */
const REGSET_OWNERS = new Set(['LINUX']);

/** Where the reader puts a note. */
export function placeOf(owner: string, type: number): NotePlace {
  return noteRow(owner, type)?.place ?? (REGSET_OWNERS.has(owner) ? 'regset' : 'carried');
}

/**
 * The name eu-readelf gives a note type, or a hex number. eu-readelf names a CORE note with a
 * LINUX type number by its LINUX name.
 */
export function noteTypeName(owner: string, type: number): string {
  const row = noteRow(owner, type) ?? (owner === 'CORE' ? BY_KEY.get(keyOf('LINUX', type)) : undefined);
  return row?.name ?? `0x${type.toString(16)}`;
}

/** A `show` that decodes only on the given architectures. */
function onArches(
  decoders: Partial<Record<ArchName, (ctx: NoteContext, desc: Buffer, base: bigint) => unknown>>,
): NoteRow['show'] {
  return (ctx, desc, base) =>
    ctx.arch.name === 'unknown' ? undefined : decoders[ctx.arch.name]?.(ctx, desc, base);
}

const fxsave = (xmm: number) => (ctx: NoteContext, desc: Buffer) => decodeFxSave(ctx.layout.codec, desc, xmm);

/**
 * NT_X86_XSTATE: the header, the legacy registers and the vector registers of the extended
 * components, placed by the core's NT_X86_XSAVE_LAYOUT, else by the vendor layout that ends
 * where the area does (the kernel writes the standard format of the CPU it ran on).
 */
const xstate = (registers: 8 | 16) => (ctx: NoteContext, desc: Buffer) => {
  const head = decodeXState(ctx.layout.codec, desc);
  if (!head) return undefined;
  const layout = head.compacted ? undefined : (ctx.xsave ?? layoutOfArea(head.xcr0, desc.length));
  const placed = layout?.source ?? (head.compacted ? 'compacted: not decoded' : 'unknown: not decoded');
  return {
    ...head,
    layout: placed,
    ...decodeFxSave(ctx.layout.codec, desc, registers),
    ...(layout && xsaveVectors(desc, layout, registers)),
  };
};

/** arm64 NT_FPREGSET (struct user_fpsimd_state): v0-v31 (128 bits each), fpsr, fpcr. */
const fpsimd = (ctx: NoteContext, desc: Buffer) => {
  if (desc.length < 32 * 16 + 8) return undefined;
  const v = (b: Buffer) => (ctx.arch.endian === 'le' ? leHex(b) : `0x${b.toString('hex')}`);
  return {
    v: Array.from({ length: 32 }, (_, i) => v(desc.subarray(i * 16, i * 16 + 16))),
    fpsr: ctx.layout.codec.u32(desc, 512),
    fpcr: ctx.layout.codec.u32(desc, 516),
  };
};
const xsaveLayout = (ctx: NoteContext, desc: Buffer) => decodeXSaveLayout(ctx.layout.codec, desc);

/** A 'process' row's read: the first note of its type (with content) fills `key`; later ones are carried. */
function fillOnce<K extends 'process' | 'auxv' | 'files'>(
  key: K,
  decode: (ctx: NoteContext, n: ElfNote) => CoreNotes[K],
): NoteRow['read'] {
  return (ctx, n, into) => {
    const had = into[key];
    if (Array.isArray(had) ? had.length > 0 : had !== undefined) return false;
    into[key] = decode(ctx, n);
    return true;
  };
}

/** A row with only a name: the reader and writer treat it by its place. */
const named = (owner: string, type: number, name: string, place: NotePlace = 'regset'): NoteRow => ({
  owner,
  type,
  name,
  place,
});

const BUILT_IN: NoteRow[] = [
  {
    owner: 'CORE',
    type: NT.NT_PRSTATUS,
    name: 'PRSTATUS',
    place: 'thread',
    read: (ctx, n, into) => {
      const { status, gpRegs } = decodePrStatus(ctx.arch, n.desc, n.offset + 12n);
      into.threads.push({ tid: status.pid, status, gpRegs, regsets: [] });
      return true;
    },
    write: (ctx, _image, t) => encodePrStatus(ctx.arch, t.status, t.gpRegs),
    show: (ctx, desc, base) => {
      const { status, gpRegs } = decodePrStatus(ctx.arch, desc, base);
      const signal = status.cursig ? signalName(status.cursig) : undefined;
      // Without a register table pr_reg is shown as the bytes it is.
      if (!registerTableOf(ctx.arch)) return { ...status, signal, pr_reg: gpRegs.toString('hex') };
      return { ...status, signal, registers: Object.fromEntries(decodeRegisters(ctx.arch, gpRegs)) };
    },
  },
  {
    owner: 'CORE',
    type: NT.NT_PRPSINFO,
    name: 'PRPSINFO',
    place: 'process',
    read: fillOnce('process', (ctx, n) => decodePrPsInfo(ctx.arch, n.desc, n.offset + 12n)),
    write: (ctx, image) => encodePrPsInfo(ctx.arch, image.process),
    show: (ctx, desc, base) => decodePrPsInfo(ctx.arch, desc, base),
  },
  {
    owner: 'CORE',
    type: NT.NT_SIGINFO,
    name: 'SIGINFO',
    place: 'process',
    read: (_ctx, n, into) => {
      const current = into.threads[into.threads.length - 1];
      if (!current || current.siginfo) return false;
      current.siginfo = n.desc;
      return true;
    },
    write: (_ctx, _image, t) => t.siginfo,
    show: (ctx, desc) => {
      const si = decodeSigInfo(ctx.arch, desc);
      return si && { ...si, signal: signalName(si.signo) };
    },
  },
  {
    owner: 'CORE',
    type: NT.NT_AUXV,
    name: 'AUXV',
    place: 'process',
    read: fillOnce('auxv', (ctx, n) => decodeAuxv(ctx.layout, n.desc, n.offset + 12n)),
    write: (ctx, image) => encodeAuxv(ctx.layout, image.auxv),
    // By name (a repeated key gets #2, #3, ...).
    show: (ctx, desc, base) => {
      const out: Record<string, bigint> = {};
      for (const e of decodeAuxv(ctx.layout, desc, base)) {
        const name = auxvName(e.type);
        let key = name;
        for (let n = 2; key in out; n++) key = `${name}#${n}`;
        out[key] = e.value;
      }
      return out;
    },
  },
  {
    owner: 'CORE',
    type: NT.NT_FILE,
    name: 'FILE',
    place: 'process',
    read: fillOnce('files', (ctx, n) => decodeNtFile(ctx.layout, n.desc, n.offset + 12n).files),
    write: (ctx, image) => {
      const files: FileMapping[] = image.mappings
        .filter(isFileBacked)
        .map((m) => ({ start: m.start, end: m.end, offset: m.offset, path: m.path! }));
      const pageSize = BigInt(archElf(ctx.arch).pageSize);
      return files.length > 0 ? encodeNtFile(ctx.layout, pageSize, files) : undefined;
    },
    show: (ctx, desc, base) => decodeNtFile(ctx.layout, desc, base),
  },
  { ...named('CORE', NT.NT_FPREGSET, 'FPREGSET'), show: onArches({ x86_64: fxsave(16), aarch64: fpsimd }) },
  { ...named('CORE', NT.NT_PRXFPREG, 'PRXFPREG'), show: onArches({ x86_64: fxsave(16), i386: fxsave(8) }) },
  named('CORE', NT.NT_TASKSTRUCT, 'TASKSTRUCT', 'carried'),
  named('LINUX', NT.NT_PPC_VMX, 'PPC_VMX'),
  named('LINUX', NT.NT_PPC_VSX, 'PPC_VSX'),
  {
    ...named('LINUX', NT.NT_X86_XSTATE, 'X86_XSTATE'),
    show: onArches({ x86_64: xstate(16), i386: xstate(8) }),
  },
  named('LINUX', NT.NT_386_TLS, '386_TLS'),
  named('LINUX', NT.NT_386_IOPERM, '386_IOPERM'),
  named('LINUX', NT.NT_X86_SHSTK, 'X86_SHSTK'),
  {
    ...named('LINUX', NT.NT_X86_XSAVE_LAYOUT, 'X86_XSAVE_LAYOUT'),
    show: onArches({ x86_64: xsaveLayout, i386: xsaveLayout }),
  },
  named('LINUX', NT.NT_S390_HIGH_GPRS, 'S390_HIGH_GPRS'),
  named('LINUX', NT.NT_S390_TIMER, 'S390_TIMER'),
  named('LINUX', NT.NT_S390_TODCMP, 'S390_TODCMP'),
  named('LINUX', NT.NT_S390_TODPREG, 'S390_TODPREG'),
  named('LINUX', NT.NT_S390_CTRS, 'S390_CTRS'),
  named('LINUX', NT.NT_S390_PREFIX, 'S390_PREFIX'),
  named('LINUX', NT.NT_S390_LAST_BREAK, 'S390_LAST_BREAK'),
  named('LINUX', NT.NT_S390_SYSTEM_CALL, 'S390_SYSTEM_CALL'),
  named('LINUX', NT.NT_S390_VXRS_LOW, 'S390_VXRS_LOW'),
  named('LINUX', NT.NT_S390_VXRS_HIGH, 'S390_VXRS_HIGH'),
  named('LINUX', NT.NT_ARM_VFP, 'ARM_VFP'),
  named('LINUX', NT.NT_ARM_TLS, 'ARM_TLS'),
  named('LINUX', NT.NT_ARM_HW_BREAK, 'ARM_HW_BREAK'),
  named('LINUX', NT.NT_ARM_HW_WATCH, 'ARM_HW_WATCH'),
  named('LINUX', NT.NT_ARM_SYSTEM_CALL, 'ARM_SYSTEM_CALL'),
  named('LINUX', NT.NT_ARM_SVE, 'ARM_SVE'),
  named('LINUX', NT.NT_ARM_PAC_MASK, 'ARM_PAC_MASK'),
  named('LINUX', NT.NT_ARM_PAC_ENABLED_KEYS, 'ARM_PAC_ENABLED_KEYS'),
  named('LINUX', NT.NT_ARM_TAGGED_ADDR_CTRL, 'ARM_TAGGED_ADDR_CTRL'),
  named('LINUX', NT.NT_RISCV_CSR, 'RISCV_CSR'),
  named('LINUX', NT.NT_RISCV_VECTOR, 'RISCV_VECTOR'),
  {
    ...named('GNU', NT.NT_GNU_BUILD_ID, 'GNU_BUILD_ID', 'carried'),
    show: (_ctx, desc) => desc.toString('hex'),
  },
  { ...named('GDB', NT.NT_GDB_TDESC, 'GDB_TDESC', 'carried'), show: (_ctx, desc) => targetDescription(desc) },
  {
    owner: 'QEMU',
    name: 'QEMU_CPU_STATE',
    place: 'carried',
    show: onArches({ x86_64: (ctx, desc) => decodeQemuCpuState(ctx.layout.codec, desc) }),
  },
  { owner: 'VMCOREINFO', name: 'VMCOREINFO', place: 'carried', show: (_ctx, desc) => parseVmcoreInfo(desc) },
  {
    ...named(CORESHOT_OWNER, NT.NT_CORESHOT_PROCESS, 'CORESHOT_PROCESS', 'carried'),
    show: (ctx, desc, base) => decodeCoreshotProcess(ctx.arch, desc, base),
  },
  {
    ...named(CORESHOT_OWNER, NT.NT_CORESHOT_FD, 'CORESHOT_FD', 'carried'),
    show: (ctx, desc, base) => decodeCoreshotFd(ctx.arch, desc, base),
  },
  {
    ...named(CORESHOT_OWNER, NT.NT_CORESHOT_THREAD, 'CORESHOT_THREAD'),
    show: (ctx, desc, base) => decodeCoreshotThread(ctx.arch, desc, base),
  },
];
for (const row of BUILT_IN) defineNote(row);

/** What gdb's target description (XML) says: the architecture and the register features. */
function targetDescription(desc: Buffer): { architecture: string | null; feature: string[] } {
  const xml = fixedString(desc);
  return {
    architecture: /<architecture>([^<]*)<\/architecture>/.exec(xml)?.[1] ?? null,
    feature: [...xml.matchAll(/<feature\s+name="([^"]*)"/g)].map((m) => m[1]!),
  };
}

/** VMCOREINFO text: KEY=VALUE lines. */
export function parseVmcoreInfo(desc: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fixedString(desc).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
