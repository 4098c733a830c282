import { NT_AUXV, NT_FILE, NT_PRPSINFO, NT_PRSTATUS, NT_SIGINFO } from '../../abi/notes.js';
import { archElf, machineOf } from '../../elf/arch.js';
import { PF_R, PF_W, PF_X, PT_LOAD, PT_NOTE } from '../../elf/constants.js';
import { coreHeadSize, encodeCoreHead } from '../../elf/core-head.js';
import { type ElfLayout, layoutFor, type Phdr } from '../../elf/layout.js';
import { encodeAuxv } from '../../elf/notes/auxv.js';
import { encodeNtFile, type FileMapping } from '../../elf/notes/file.js';
import { encodeNote } from '../../elf/notes/note.js';
import { encodePrPsInfo } from '../../elf/notes/prpsinfo.js';
import { encodePrStatus } from '../../elf/notes/prstatus.js';
import { type Sink, writeAtomically, writeSparse } from '../../io/sink.js';
import type { AddressSpace } from '../../model/address-space.js';
import type { Mapping, ProcessImage } from '../../model/process-image.js';
import type { LongRunOptions } from '../../model/progress.js';

export interface WriteSummary {
  /** Size of the core file. */
  bytes: bigint;
  /** Number of program headers (PT_NOTE included). */
  segments: number;
  /** Bytes of mapped memory stored in the core. */
  memoryBytes: bigint;
  /** Bytes the image could not supply, written as zeros. */
  missingBytes: bigint;
}

const CHUNK = 4 << 20;
const PAGE = 4096;
const _ZERO_PAGE = Buffer.alloc(PAGE);

/** Whether a mapping gets an NT_FILE entry: it is backed by a file, not a pseudo area. */
export function isFileBacked(m: Mapping): boolean {
  return m.path !== undefined && m.path !== '' && !m.path.startsWith('[');
}

/** All notes of a process core, in the order fs/binfmt_elf.c writes them. */
export function buildCoreNotes(image: ProcessImage, layout: ElfLayout): Buffer {
  const { arch } = image;
  const c = layout.codec;
  const parts: Buffer[] = [];
  const pageSize = BigInt(archElf(arch.name).pageSize);
  image.threads.forEach((t, i) => {
    parts.push(encodeNote(c, 'CORE', NT_PRSTATUS, encodePrStatus(arch, t.status, t.gpRegs)));
    if (i === 0) {
      parts.push(encodeNote(c, 'CORE', NT_PRPSINFO, encodePrPsInfo(arch, image.process)));
      if (t.siginfo) parts.push(encodeNote(c, 'CORE', NT_SIGINFO, t.siginfo));
      parts.push(encodeNote(c, 'CORE', NT_AUXV, encodeAuxv(layout, image.auxv)));
      const files: FileMapping[] = image.mappings
        .filter(isFileBacked)
        .map((m) => ({ start: m.start, end: m.end, offset: m.offset, path: m.path! }));
      if (files.length > 0) parts.push(encodeNote(c, 'CORE', NT_FILE, encodeNtFile(layout, pageSize, files)));
    }
    for (const r of t.regsets) parts.push(encodeNote(c, r.owner, r.type, r.data));
  });
  for (const n of image.extraNotes) parts.push(encodeNote(c, n.owner, n.type, n.desc));
  return Buffer.concat(parts);
}

function flagsOf(m: Mapping): number {
  return (m.read ? PF_R : 0) | (m.write ? PF_W : 0) | (m.exec ? PF_X : 0);
}

const roundUp = (n: bigint, to: bigint) => ((n + to - 1n) / to) * to;

/**
 * Streams a ProcessImage to `sink` as an ELF core: ELF header, program headers (PN_XNUM with a
 * section header 0 beyond 65,534 segments), notes, then each mapping's first `dumped` bytes,
 * page aligned, with all-zero pages left as holes. Commits the sink on success and aborts it
 * (removing any partial file) on failure or when `signal` aborts.
 */
export async function writeElfCore(
  image: ProcessImage,
  sink: Sink,
  opts: LongRunOptions = {},
): Promise<WriteSummary> {
  return writeAtomically(sink, () => writeBody(image, sink, opts));
}

async function writeBody(image: ProcessImage, sink: Sink, opts: LongRunOptions): Promise<WriteSummary> {
  const layout = layoutFor(image.arch.elfClass, image.arch.endian);
  const pageSize = BigInt(archElf(image.arch.name).pageSize);
  const notes = buildCoreNotes(image, layout);
  const segs = image.mappings.length + 1;
  const notesOff = coreHeadSize(layout, segs);
  let dataOff = roundUp(notesOff + BigInt(notes.length), pageSize);

  const phdrs: Phdr[] = [
    {
      p_type: PT_NOTE,
      p_flags: 0,
      p_offset: notesOff,
      p_vaddr: 0n,
      p_paddr: 0n,
      p_filesz: BigInt(notes.length),
      p_memsz: 0n,
      p_align: 4n,
    },
  ];
  let memoryTotal = 0n;
  for (const m of image.mappings) {
    const size = m.end - m.start;
    const filesz = m.dumped > size ? size : m.dumped;
    phdrs.push({
      p_type: PT_LOAD,
      p_flags: flagsOf(m),
      p_offset: dataOff,
      p_vaddr: m.start,
      p_paddr: 0n,
      p_filesz: filesz,
      p_memsz: size,
      p_align: pageSize,
    });
    dataOff += filesz;
    memoryTotal += filesz;
  }

  sink.write(Buffer.concat([encodeCoreHead(layout, machineOf(image.arch.name), phdrs), notes]));

  let done = 0n;
  let missingBytes = 0n;
  const buf = Buffer.allocUnsafe(CHUNK);
  const report = (stage?: string) => opts.onProgress?.({ bytesDone: done, bytesTotal: memoryTotal, stage });
  report();
  for (let i = 0; i < image.mappings.length; i++) {
    const p = phdrs[i + 1]!;
    if (p.p_filesz === 0n) continue;
    if (sink.position < p.p_offset) sink.hole(p.p_offset - sink.position);
    const m = image.mappings[i]!;
    for (let off = 0n; off < p.p_filesz; ) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const left = p.p_filesz - off;
      const zero = knownZero(image.memory, m.start + off, left);
      if (zero > 0n) {
        // Memory the source knows is zero (never-touched anonymous pages) is a hole, unread.
        sink.hole(zero);
        off += zero;
        done += zero;
        continue;
      }
      const chunk = left < BigInt(CHUNK) ? buf.subarray(0, Number(left)) : buf;
      for (const r of image.memory.readInto(m.start + off, chunk)) missingBytes += r.end - r.start;
      writeSparse(sink, chunk);
      off += BigInt(chunk.length);
      done += BigInt(chunk.length);
      report(m.path);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  // A trailing hole still has to extend the file to its full size.
  if (sink.position < dataOff) sink.hole(dataOff - sink.position);
  return { bytes: sink.position, segments: segs, memoryBytes: memoryTotal, missingBytes };
}

/** How many bytes from `addr` (at most `max`) the address space has as a zero region. */
function knownZero(memory: AddressSpace, addr: bigint, max: bigint): bigint {
  const r = memory.regionAt(addr);
  if (!r || r.kind !== 'zero') return 0n;
  return r.end - addr < max ? r.end - addr : max;
}
