import { basename } from 'node:path';
import type { Endian, IntCodec } from '../../bytes/endian.js';
import type { Finding } from '../../bytes/errors.js';
import {
  EM_386,
  EM_AARCH64,
  EM_PPC64,
  EM_S390,
  EM_X86_64,
  PF_R,
  PF_W,
  PF_X,
  PT_LOAD,
  PT_NOTE,
} from '../../elf/constants.js';
import { coreHeadSize, encodeCoreHead } from '../../elf/core-head.js';
import { layoutFor, type Phdr } from '../../elf/layout.js';
import { type Sink, writeAtomically, writeSparse } from '../../io/sink.js';
import type { AddressSpace, MissingReason } from '../../model/address-space.js';
import type { LongRunOptions } from '../../model/progress.js';

/** Guest architectures, named as QEMU's dump-guest-memory.py names them. */
export type VmcoreArch = 'x86_64' | '386' | 'aarch64-le' | 'aarch64-be' | 's390' | 'ppc64-le' | 'ppc64-be';

export const VMCORE_ARCHES: Readonly<
  Record<VmcoreArch, { machine: number; endian: Endian; elfClass: 32 | 64 }>
> = {
  x86_64: { machine: EM_X86_64, endian: 'le', elfClass: 64 },
  '386': { machine: EM_386, endian: 'le', elfClass: 32 },
  'aarch64-le': { machine: EM_AARCH64, endian: 'le', elfClass: 64 },
  'aarch64-be': { machine: EM_AARCH64, endian: 'be', elfClass: 64 },
  s390: { machine: EM_S390, endian: 'be', elfClass: 64 },
  'ppc64-le': { machine: EM_PPC64, endian: 'le', elfClass: 64 },
  'ppc64-be': { machine: EM_PPC64, endian: 'be', elfClass: 64 },
};

const BINARY_ARCH: Readonly<Record<string, VmcoreArch>> = {
  x86_64: 'x86_64',
  i386: '386',
  aarch64: 'aarch64-le',
  s390x: 's390',
  ppc64: 'ppc64-le',
};

/** The guest architecture a QEMU executable emulates, from its name (qemu-system-ARCH). */
export function vmcoreArchOfBinary(path: string): VmcoreArch | undefined {
  const m = /^qemu-system-([a-z0-9_]+)$/.exec(basename(path));
  return m ? BINARY_ARCH[m[1]!] : undefined;
}

/** A guest-physical range and where its bytes are in `memory` (the QEMU process). */
export interface GuestSegment {
  start: bigint;
  size: bigint;
  host: bigint;
}

export interface VmcoreInput {
  arch: VmcoreArch;
  /** Sorted, non-overlapping. */
  segments: readonly GuestSegment[];
  memory: AddressSpace;
  /**
   * Memory the source does not hold ('not-in-core', 'unmapped') is zeros: true when the source
   * knows it was left out only for never having been written. Otherwise it is an error.
   */
  absentIsZero?: boolean;
  /** The guest's VMCOREINFO note, as registered with QEMU (guest-physical address, size). */
  vmcoreinfo?: { paddr: bigint; size: number };
}

export interface VmcoreResult {
  bytes: bigint;
  segments: number;
  /** Whether a VMCOREINFO note was copied. */
  vmcoreinfo: boolean;
  warnings: Finding[];
}

/** Guest memory the source cannot supply: the dump would be wrong, so it is refused. */
export class GuestMemoryMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestMemoryMissingError';
  }
}

const PAGE = 4096;
const CHUNK = 4 << 20;
const _ZERO_PAGE = Buffer.alloc(PAGE);
const FOUR_GIB = 1n << 32n;
const ZERO_REASONS: ReadonlySet<MissingReason> = new Set(['not-in-core', 'unmapped']);

const hex = (v: bigint) => `0x${v.toString(16)}`;
const align = (v: bigint, a: bigint) => (v + a - 1n) & ~(a - 1n);

/**
 * Writes guest physical memory as an ELF vmcore the way QEMU's dump-guest-memory does (ELF,
 * paging off): a PT_NOTE (the guest's VMCOREINFO when it registered one), then one PT_LOAD per
 * segment with p_paddr = p_vaddr = guest-physical address. Zero pages become holes; the data
 * of each segment sits at a file offset congruent to its address modulo the page size.
 * Calls sink.commit() on success and sink.abort() on failure.
 */
export async function writeVmcore(
  input: VmcoreInput,
  sink: Sink,
  opts: LongRunOptions = {},
): Promise<VmcoreResult> {
  return writeAtomically(sink, () => write(input, sink, opts));
}

async function write(input: VmcoreInput, sink: Sink, opts: LongRunOptions): Promise<VmcoreResult> {
  const a = VMCORE_ARCHES[input.arch];
  const top = input.segments.reduce((m, s) => (s.start + s.size > m ? s.start + s.size : m), 0n);
  // Like QEMU: a 32-bit guest whose memory reaches past 4 GiB gets ELFCLASS64.
  const elfClass = a.elfClass === 32 && top > FOUR_GIB ? 64 : a.elfClass;
  const layout = layoutFor(elfClass, a.endian);
  const warnings: Finding[] = [];
  const note = input.vmcoreinfo ? readVmcoreinfo(input, layout.codec, warnings) : undefined;

  const phnum = 1 + input.segments.length;
  const noteOff = coreHeadSize(layout, phnum);
  const noteSize = BigInt(note?.length ?? 0);
  let at = noteOff + noteSize;
  const phdrs: Phdr[] = [
    {
      p_type: PT_NOTE,
      p_flags: 0,
      p_offset: noteOff,
      p_vaddr: 0n,
      p_paddr: 0n,
      p_filesz: noteSize,
      p_memsz: noteSize,
      p_align: 0n,
    },
  ];
  const offsets: bigint[] = [];
  for (const s of input.segments) {
    // The smallest offset >= at that is congruent to the guest address modulo the page size.
    const off = align(at - (s.start % BigInt(PAGE)), BigInt(PAGE)) + (s.start % BigInt(PAGE));
    offsets.push(off);
    phdrs.push({
      p_type: PT_LOAD,
      p_flags: PF_R | PF_W | PF_X,
      p_offset: off,
      p_vaddr: s.start,
      p_paddr: s.start,
      p_filesz: s.size,
      p_memsz: s.size,
      p_align: 0n,
    });
    at = off + s.size;
  }
  if (elfClass === 32 && at > FOUR_GIB) {
    throw new GuestMemoryMissingError(
      'the guest memory does not fit an ELFCLASS32 vmcore (over 4 GiB of data)',
    );
  }

  sink.write(Buffer.concat([encodeCoreHead(layout, a.machine, phdrs), note ?? Buffer.alloc(0)]));

  const total = input.segments.reduce((n, s) => n + s.size, 0n);
  let done = 0n;
  let lastYield = Date.now();
  for (let i = 0; i < input.segments.length; i++) {
    const s = input.segments[i]!;
    const off = offsets[i]!;
    if (off > sink.position) sink.hole(off - sink.position);
    for (let pos = 0n; pos < s.size; ) {
      const len = Number(s.size - pos < BigInt(CHUNK) ? s.size - pos : BigInt(CHUNK));
      const r = input.memory.read(s.host + pos, len);
      const missing = input.absentIsZero ? r.missing.filter((m) => !ZERO_REASONS.has(m.reason)) : r.missing;
      if (missing.length > 0) {
        const m = missing[0]!;
        const paddr = s.start + (m.start - s.host);
        throw new GuestMemoryMissingError(
          `guest memory at ${hex(paddr)} (host ${hex(m.start)}) is not available: ${m.reason}`,
        );
      }
      writeSparse(sink, r.data);
      pos += BigInt(len);
      done += BigInt(len);
      if (Date.now() - lastYield > 100) {
        opts.onProgress?.({ bytesDone: done, bytesTotal: total, stage: `${hex(s.start)}` });
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
        if (opts.signal?.aborted) throw opts.signal.reason;
      }
    }
  }
  opts.onProgress?.({ bytesDone: done, bytesTotal: total, stage: 'done' });
  return { bytes: sink.position, segments: input.segments.length, vmcoreinfo: note !== undefined, warnings };
}

/**
 * The guest's VMCOREINFO note, read from guest memory and trimmed to its real size, as QEMU
 * does; undefined (with a warning) when what the guest registered is not such a note.
 */
function readVmcoreinfo(input: VmcoreInput, codec: IntCodec, warnings: Finding[]): Buffer | undefined {
  const { paddr, size } = input.vmcoreinfo!;
  const seg = input.segments.find((s) => s.start <= paddr && paddr + BigInt(size) <= s.start + s.size);
  if (!seg) {
    warnings.push({
      kind: 'skipped',
      what: `the guest's VMCOREINFO note at ${hex(paddr)} is outside guest RAM; not copied`,
    });
    return undefined;
  }
  const r = input.memory.read(seg.host + (paddr - seg.start), size);
  if (r.missing.length > 0 || size < 12) {
    warnings.push({
      kind: 'skipped',
      what: `the guest's VMCOREINFO note at ${hex(paddr)} is unreadable; not copied`,
    });
    return undefined;
  }
  const namesz = codec.u32(r.data, 0);
  const descsz = codec.u32(r.data, 4);
  const full = 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3);
  const name = r.data.toString('latin1', 12, 12 + Math.min(namesz, size - 12));
  if (full > size || namesz !== 11 || name !== 'VMCOREINFO\0') {
    warnings.push({
      kind: 'skipped',
      what: `the guest's note at ${hex(paddr)} is not a VMCOREINFO note; not copied`,
    });
    return undefined;
  }
  return Buffer.from(r.data.subarray(0, full));
}
