import type { Endian } from '../bytes/endian.js';
import type { AddressSpace } from './address-space.js';

/** Architectures coreshot knows register layouts for. */
export type ArchName =
  | 'x86_64'
  | 'i386'
  | 'aarch64'
  | 'arm'
  | 'ppc64le'
  | 'ppc64'
  | 's390x'
  | 'riscv64'
  | 'x32'
  | 'ppc'
  | 's390'
  | 'sparc64'
  | 'm68k';

/** A known architecture. */
export interface KnownArch {
  readonly name: ArchName;
  readonly elfClass: 32 | 64;
  readonly endian: Endian;
}

/**
 * An architecture coreshot has no tables for (a core from SPARC, MIPS, ...): its memory, mappings
 * and notes are still readable, its registers are not named.
 */
export interface UnknownArch {
  readonly name: 'unknown';
  /** The ELF e_machine number. */
  readonly machine: number;
  readonly elfClass: 32 | 64;
  readonly endian: Endian;
}

export type ArchInfo = KnownArch | UnknownArch;

export const ARCHES: Readonly<Record<ArchName, KnownArch>> = {
  x86_64: { name: 'x86_64', elfClass: 64, endian: 'le' },
  i386: { name: 'i386', elfClass: 32, endian: 'le' },
  aarch64: { name: 'aarch64', elfClass: 64, endian: 'le' },
  arm: { name: 'arm', elfClass: 32, endian: 'le' },
  ppc64le: { name: 'ppc64le', elfClass: 64, endian: 'le' },
  ppc64: { name: 'ppc64', elfClass: 64, endian: 'be' },
  s390x: { name: 's390x', elfClass: 64, endian: 'be' },
  riscv64: { name: 'riscv64', elfClass: 64, endian: 'le' },
  x32: { name: 'x32', elfClass: 32, endian: 'le' },
  ppc: { name: 'ppc', elfClass: 32, endian: 'be' },
  s390: { name: 's390', elfClass: 32, endian: 'be' },
  m68k: { name: 'm68k', elfClass: 32, endian: 'be' },
  sparc64: { name: 'sparc64', elfClass: 64, endian: 'be' },
};

/** A `struct timeval` as stored in prstatus. */
export interface TimeVal {
  sec: bigint;
  usec: bigint;
}

/** The non-register fields of NT_PRSTATUS (struct elf_prstatus). */
export interface ThreadStatus {
  /** si_signo/si_code/si_errno of pr_info. */
  info: { signo: number; code: number; errno: number };
  cursig: number;
  sigpend: bigint;
  sighold: bigint;
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
  utime: TimeVal;
  stime: TimeVal;
  cutime: TimeVal;
  cstime: TimeVal;
  fpvalid: number;
}

/** Raw contents of one register-set note (NT_FPREGSET, NT_X86_XSTATE, NT_ARM_VFP, ...). */
export interface RegSet {
  /** Note type, e.g. NT_X86_XSTATE (0x202). */
  type: number;
  /** Note owner name: "CORE" for NT_FPREGSET/NT_PRXFPREG, "LINUX" for most others. */
  owner: string;
  data: Buffer;
}

export interface ThreadState {
  tid: number;
  status: ThreadStatus;
  /** General registers (pr_reg) in the arch's kernel layout; elf/regs names them. */
  gpRegs: Buffer;
  /** Further register sets; writers emit them in the note table's order (elf/notes/table.ts). */
  regsets: RegSet[];
  /** Raw siginfo_t (NT_SIGINFO), when known. */
  siginfo?: Buffer;
}

/** The fields of NT_PRPSINFO (struct elf_prpsinfo). */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  sid: number;
  uid: number;
  gid: number;
  /** pr_state, pr_sname ('R', 'S', ...), pr_zomb, pr_nice, pr_flag */
  state: number;
  sname: string;
  zomb: number;
  nice: number;
  flag: bigint;
  /** pr_fname: the executable's base name, at most 15 characters. */
  comm: string;
  /** pr_psargs: the command line, space-separated, at most 80 bytes. */
  psargs: string;
  /** The full argv, when the source knows it. */
  args?: string[];
  /** The executable's path, when known. */
  executable?: string;
}

/** One virtual memory area. */
export interface Mapping {
  start: bigint;
  end: bigint;
  read: boolean;
  write: boolean;
  exec: boolean;
  /** MAP_SHARED ('s' in maps) rather than private; absent when the source does not say (ELF cores). */
  shared?: boolean;
  /**
   * Set when the source does not know read/write/exec (an NT_FILE range no segment covers): the
   * three flags are then a guess (read-only) that views show as unknown.
   */
  protUnknown?: true;
  /** File offset of `start`, in bytes. */
  offset: bigint;
  /** Mapped file path, or a pseudo name such as [heap], [stack], [vdso]; absent for anonymous. */
  path?: string;
  /** The mapped file's GNU build-id (hex), when known. */
  buildId?: string;
  /** Bytes from `start` that the image holds (or a writer is to store): p_filesz of its PT_LOAD. */
  dumped: bigint;
}

/** Whether a mapping is backed by a file, not a pseudo area ([heap], [vdso]) or anonymous. */
export function isFileBacked(m: Mapping): boolean {
  return m.path !== undefined && m.path !== '' && !m.path.startsWith('[');
}

export interface AuxvEntry {
  type: bigint;
  value: bigint;
}

/** A note carried through unchanged (owner, type, descriptor). */
export interface RawNote {
  owner: string;
  type: number;
  desc: Buffer;
}

/** Everything known about one process at one instant: the hub between sources and sinks. */
export interface ProcessImage {
  arch: ArchInfo;
  process: ProcessInfo;
  /** Threads; the first is the one that "caused" the dump (it is written first). */
  threads: ThreadState[];
  /** Mappings sorted by start address. */
  mappings: Mapping[];
  auxv: AuxvEntry[];
  memory: AddressSpace;
  /** Notes that have no place in the model but should be kept (gdb tdesc, QEMU CPU state, ...). */
  extraNotes: RawNote[];
}
