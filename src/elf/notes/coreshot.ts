// coreshot's own notes (owner "CORESHOT"): the process state a restore needs that an ELF core
// does not carry. NT_CORESHOT_PROCESS (mm bounds, rlimits, signal dispositions) and one
// NT_CORESHOT_FD per open file (the working directory as fd AT_FDCWD) are process notes;
// NT_CORESHOT_THREAD (sigaltstack, rseq, robust list, clear-child-tid) follows each thread's
// NT_PRSTATUS. Each struct is a field list (fields.ts); a file note's path follows its struct.
import { AT_FDCWD } from '../../abi/fcntl.js';
import { NT_CORESHOT_FD, NT_CORESHOT_PROCESS, NT_CORESHOT_THREAD } from '../../abi/notes.js';
import { PRCTL_MM_MAP_FIELDS } from '../../abi/prctl.js';
import { RLIMIT_NAMES } from '../../abi/resource.js';
import { fixedString } from '../../bytes/cursor.js';
import type { ArchInfo, RawNote, RegSet } from '../../model/process-image.js';
import {
  archContext,
  decodeStruct,
  encodeStruct,
  type Field,
  members,
  type StructDef,
  structSize,
} from './fields.js';

/** The kernel's struct sigaction as rt_sigaction(2) takes it (sa_mask is one 64-bit word). */
const SIGACTION: Field[] = [
  ...members('word', 'handler', 'flags', 'restorer'),
  { name: 'mask', kind: 'u64' },
];

/** The highest signal number. */
export const NSIG = 64;

export const CORESHOT_PROCESS: StructDef = {
  name: 'NT_CORESHOT_PROCESS',
  fields: [
    { name: 'mm', kind: 'struct', fields: members('word', ...PRCTL_MM_MAP_FIELDS) },
    {
      name: 'rlimits',
      kind: 'struct',
      fields: RLIMIT_NAMES.map((name) => ({ name, kind: 'struct', fields: members('u64', 'cur', 'max') })),
    },
    {
      name: 'sigactions',
      kind: 'struct',
      fields: Array.from({ length: NSIG }, (_, i) => ({
        name: `${i + 1}`,
        kind: 'struct',
        fields: SIGACTION,
      })),
    },
  ],
};

export const CORESHOT_FD: StructDef = {
  name: 'NT_CORESHOT_FD',
  fields: [
    { name: 'fd', kind: 'i32' },
    /** The open flags as /proc/PID/fdinfo shows them (O_ACCMODE, O_APPEND, O_CLOEXEC, ...). */
    { name: 'flags', kind: 'u32' },
    { name: 'pos', kind: 'u64' },
    /** st_mode of the open file: its type (regular, directory, pipe, socket, device). */
    { name: 'mode', kind: 'u32' },
  ],
};

export const CORESHOT_THREAD: StructDef = {
  name: 'NT_CORESHOT_THREAD',
  fields: [
    {
      name: 'sigaltstack',
      kind: 'struct',
      fields: [...members('word', 'sp'), ...members('i32', 'flags'), ...members('word', 'size')],
    },
    {
      name: 'rseq',
      kind: 'struct',
      fields: [...members('u64', 'address'), ...members('u32', 'size', 'signature')],
    },
    { name: 'robust_list', kind: 'struct', fields: members('u64', 'head', 'len') },
    { name: 'clear_child_tid', kind: 'u64' },
  ],
};

export interface Sigaction {
  handler: bigint;
  flags: bigint;
  restorer: bigint;
  mask: bigint;
}

export interface RecordedProcess {
  mm: Record<(typeof PRCTL_MM_MAP_FIELDS)[number], bigint>;
  rlimits: Record<(typeof RLIMIT_NAMES)[number], { cur: bigint; max: bigint }>;
  /** Indexed by signal number - 1. */
  sigactions: Sigaction[];
}

export interface RecordedFile {
  /** The descriptor number; AT_FDCWD for the working directory. */
  fd: number;
  flags: number;
  pos: bigint;
  mode: number;
  /** What /proc/PID/fd/N links to ("pipe:[123]" for what has no path). */
  path: string;
}

export interface RecordedThread {
  sigaltstack: { sp: bigint; flags: number; size: bigint };
  rseq: { address: bigint; size: number; signature: number };
  robust_list: { head: bigint; len: bigint };
  clear_child_tid: bigint;
}

export const CORESHOT_OWNER = 'CORESHOT';

export function encodeCoreshotProcess(arch: ArchInfo, p: RecordedProcess): Buffer {
  const sigactions = Object.fromEntries(p.sigactions.map((a, i) => [`${i + 1}`, a]));
  return encodeStruct(CORESHOT_PROCESS, archContext(arch), { mm: p.mm, rlimits: p.rlimits, sigactions });
}

export function decodeCoreshotProcess(arch: ArchInfo, desc: Buffer, base = 0n): RecordedProcess {
  const d = decodeStruct(CORESHOT_PROCESS, archContext(arch), desc, base, arch.name);
  return {
    mm: d.mm as RecordedProcess['mm'],
    rlimits: d.rlimits as RecordedProcess['rlimits'],
    sigactions: Object.values(d.sigactions as Record<string, Sigaction>),
  };
}

export function encodeCoreshotFd(arch: ArchInfo, f: RecordedFile): Buffer {
  const head = encodeStruct(CORESHOT_FD, archContext(arch), { ...f });
  return Buffer.concat([head, Buffer.from(`${f.path}\0`)]);
}

export function decodeCoreshotFd(arch: ArchInfo, desc: Buffer, base = 0n): RecordedFile {
  const ctx = archContext(arch);
  const d = decodeStruct(CORESHOT_FD, ctx, desc, base, arch.name);
  return {
    ...(d as Omit<RecordedFile, 'path'>),
    path: fixedString(desc.subarray(structSize(CORESHOT_FD, ctx))),
  };
}

export function encodeCoreshotThread(arch: ArchInfo, t: RecordedThread): Buffer {
  return encodeStruct(CORESHOT_THREAD, archContext(arch), { ...t });
}

export function decodeCoreshotThread(arch: ArchInfo, desc: Buffer, base = 0n): RecordedThread {
  return decodeStruct(CORESHOT_THREAD, archContext(arch), desc, base, arch.name) as unknown as RecordedThread;
}

/** What an image's CORESHOT notes record, decoded; undefined parts were not recorded. */
export interface RecordedState {
  process?: RecordedProcess;
  files: RecordedFile[];
  cwd?: string;
  /** Per thread of the image, in its order. */
  threads: (RecordedThread | undefined)[];
}

/** The recorded state of an image: its CORESHOT notes decoded. */
export function recordedState(
  arch: ArchInfo,
  extraNotes: readonly RawNote[],
  threadRegsets: readonly (readonly RegSet[])[],
): RecordedState {
  const ours = extraNotes.filter((n) => n.owner === CORESHOT_OWNER);
  const proc = ours.find((n) => n.type === NT_CORESHOT_PROCESS);
  const all = ours.filter((n) => n.type === NT_CORESHOT_FD).map((n) => decodeCoreshotFd(arch, n.desc));
  const cwd = all.find((f) => f.fd === AT_FDCWD)?.path;
  const threads = threadRegsets.map((sets) => {
    const t = sets.find((r) => r.owner === CORESHOT_OWNER && r.type === NT_CORESHOT_THREAD);
    return t && decodeCoreshotThread(arch, t.data);
  });
  return {
    ...(proc ? { process: decodeCoreshotProcess(arch, proc.desc) } : {}),
    files: all.filter((f) => f.fd !== AT_FDCWD),
    ...(cwd === undefined ? {} : { cwd }),
    threads,
  };
}
