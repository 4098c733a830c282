/**
 * An ELF file as it lies in a process image's memory: a RandomAccess whose file offsets are
 * translated to addresses through the mappings that map the file (offset → start). Used for the
 * vdso (mapped whole, read from AT_SYSINFO_EHDR) and for modules whose file is not on disk: their
 * headers, program headers, PT_DYNAMIC and .eh_frame_hdr are in memory, section headers usually
 * are not. A read stops at the first byte the image cannot supply.
 */
import type { RandomAccess } from '../io/random-access.js';
import type { AddressSpace } from '../model/address-space.js';

/** One mapped piece of the file: file offset `offset` is at address `start`, up to `end`. */
export interface FilePiece {
  offset: bigint;
  start: bigint;
  end: bigint;
}

export class ImageFileAccess implements RandomAccess {
  readonly size: bigint;
  private readonly memory: AddressSpace;
  private readonly pieces: readonly FilePiece[];

  constructor(memory: AddressSpace, pieces: readonly FilePiece[]) {
    this.memory = memory;
    this.pieces = [...pieces].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    let size = 0n;
    for (const p of this.pieces) if (p.offset + (p.end - p.start) > size) size = p.offset + (p.end - p.start);
    this.size = size;
  }

  read(offset: bigint, length: number): Buffer {
    const buf = Buffer.alloc(length);
    return buf.subarray(0, this.readInto(offset, buf));
  }

  readInto(offset: bigint, target: Buffer): number {
    let done = 0;
    while (done < target.length) {
      const at = offset + BigInt(done);
      const p = this.pieces.find((q) => at >= q.offset && at < q.offset + (q.end - q.start));
      if (!p) break;
      const avail = p.offset + (p.end - p.start) - at;
      const n = Number(avail < BigInt(target.length - done) ? avail : BigInt(target.length - done));
      const part = target.subarray(done, done + n);
      const addr = p.start + (at - p.offset);
      const missing = this.memory.readInto(addr, part);
      if (missing.length > 0) return done + Number(missing[0]!.start - addr);
      done += n;
    }
    return done;
  }

  close(): void {}
}
