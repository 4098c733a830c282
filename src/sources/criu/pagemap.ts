import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FormatError } from '../../bytes/errors.js';
import { FileAccess } from '../../io/random-access.js';
import type { Region } from '../../model/address-space.js';
import { pagemap_entrySchema, pagemap_headSchema } from './gen/criu_pb.js';
import { CheckpointError, decodeEntry, PAGEMAP_MAGIC, readEntries } from './image.js';

/** pagemap_entry.flags bits. */
export const PE_PARENT = 1;
export const PE_LAZY = 2;
export const PE_PRESENT = 4;

/** Where a run of pages' data is. */
export type RunSource = 'pages' | 'parent' | 'lazy';

/** A run of consecutive pages described by one pagemap entry. */
export interface PageRun {
  vaddr: bigint;
  end: bigint;
  source: RunSource;
  /** Byte offset of the run's first page in pages-N.img (only for 'pages'). */
  fileOffset: bigint;
}

/**
 * The pages of one pagemap image (a process's, or a shared memory object's): runs sorted by
 * address, with their cumulative offsets into pages-N.img, looked up by binary search. Page
 * data is read lazily, one positional read per request; pages flagged PE_PARENT (or the legacy
 * in_parent) are looked up in the same-named pagemap of the `parent` image directory.
 */
export class PageIndex {
  readonly file: string;
  readonly runs: readonly PageRun[];
  readonly pageSize: bigint;
  private pages: FileAccess | undefined;
  private readonly pagesPath: string;
  private readonly parentIndex: PageIndex | undefined;

  private constructor(dir: string, name: string, pageSize: bigint) {
    this.file = join(dir, name);
    this.pageSize = pageSize;
    const entries = readEntries(this.file, PAGEMAP_MAGIC);
    const headEntry = entries[0];
    if (!headEntry) throw new FormatError(undefined, `pagemap image has no head entry`, undefined, name);
    const head = decodeEntry(pagemap_headSchema, headEntry, this.file);
    this.pagesPath = join(dir, `pages-${head.pagesId}.img`);
    const runs: PageRun[] = [];
    let fileOffset = 0n;
    for (let i = 1; i < entries.length; i++) {
      const raw = entries[i]!;
      const e = decodeEntry(pagemap_entrySchema, raw, this.file);
      const count = e.nrPages64 !== 0n ? e.nrPages64 : BigInt(e.nrPages);
      const flags = e.flags !== 0 || e.inParent ? e.flags : PE_PRESENT;
      const end = e.vaddr + count * pageSize;
      if (e.vaddr % pageSize !== 0n || end > 1n << 64n)
        throw new FormatError(raw.offset, `bad pagemap entry`, e.vaddr, name);
      if (count === 0n) continue;
      const source: RunSource =
        flags & PE_PARENT || e.inParent ? 'parent' : flags & PE_PRESENT ? 'pages' : 'lazy';
      runs.push({ vaddr: e.vaddr, end, source, fileOffset });
      if (source === 'pages') fileOffset += end - e.vaddr;
    }
    runs.sort((a, b) => (a.vaddr < b.vaddr ? -1 : a.vaddr > b.vaddr ? 1 : 0));
    for (let i = 1; i < runs.length; i++) {
      if (runs[i]!.vaddr < runs[i - 1]!.end)
        throw new FormatError(undefined, `overlapping pagemap entries`, runs[i]!.vaddr, name);
    }
    this.runs = runs;
    if (runs.some((r) => r.source === 'parent')) {
      const parentDir = join(dir, 'parent');
      if (!existsSync(join(parentDir, name)))
        throw new CheckpointError(
          `${this.file}: pages are in the parent checkpoint, but ${join(parentDir, name)} is missing`,
        );
      this.parentIndex = new PageIndex(parentDir, name, pageSize);
    }
    if (fileOffset > 0n) {
      if (!existsSync(this.pagesPath))
        throw new CheckpointError(
          `${this.pagesPath}: image missing from the checkpoint (${name} refers to it)`,
        );
      this.pages = new FileAccess(this.pagesPath);
      if (this.pages.size < fileOffset) {
        const size = this.pages.size;
        this.close();
        throw new FormatError(
          size,
          `truncated: ${name} needs ${fileOffset} bytes of pages, the file has ${size}`,
          undefined,
          basename(this.pagesPath),
        );
      }
    }
  }

  /** Opens `name` (pagemap-PID.img, pagemap-shmem-ID.img) in `dir`. */
  static open(dir: string, name: string, pageSize: bigint): PageIndex {
    return new PageIndex(dir, name, pageSize);
  }

  /** Index of the run containing vaddr, or -1. O(log n). */
  find(vaddr: bigint): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.runs[mid]!.end <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const r = this.runs[lo];
    return r && r.vaddr <= vaddr ? lo : -1;
  }

  /** Pages that are neither here nor in a parent (left for lazy restore), in bytes. */
  get lazyBytes(): bigint {
    let n = 0n;
    for (const r of this.runs) if (r.source === 'lazy') n += r.end - r.vaddr;
    return n;
  }

  /**
   * Fills `target` with the bytes at `vaddr`, following parent images; returns how many bytes
   * from the start could be supplied (it stops at the first page with no data).
   */
  read(vaddr: bigint, target: Buffer): number {
    let done = 0;
    while (done < target.length) {
      const at = vaddr + BigInt(done);
      const i = this.find(at);
      if (i < 0) return done;
      const run = this.runs[i]!;
      const span = run.end - at;
      const want = Math.min(
        target.length - done,
        span < BigInt(target.length) ? Number(span) : target.length,
      );
      const part = target.subarray(done, done + want);
      const got = this.readRun(run, at, part);
      done += got;
      if (got < want) return done;
    }
    return done;
  }

  /**
   * Address-space regions for the runs that intersect [from, to) of this index's address space,
   * placed at `from + shift`: data runs read from pages-N.img or the parent, lazy runs missing.
   */
  regions(from: bigint, to: bigint, shift: bigint): Region[] {
    const out: Region[] = [];
    let i = this.find(from);
    if (i < 0) {
      i = this.runs.findIndex((r) => r.vaddr >= from);
      if (i < 0) return out;
    }
    for (; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (run.vaddr >= to) break;
      const start = run.vaddr > from ? run.vaddr : from;
      const end = run.end < to ? run.end : to;
      if (run.source === 'lazy') {
        out.push({ start: start + shift, end: end + shift, kind: 'missing', reason: 'not-in-core' });
      } else {
        out.push({
          start: start + shift,
          end: end + shift,
          kind: 'core',
          reason: 'truncated',
          reader: (off, target) => this.readRun(run, start + off, target),
        });
      }
    }
    return out;
  }

  close(): void {
    this.pages?.close();
    this.pages = undefined;
    this.parentIndex?.close();
  }

  private readRun(run: PageRun, at: bigint, target: Buffer): number {
    if (run.source === 'pages')
      return this.pages ? this.pages.readInto(run.fileOffset + (at - run.vaddr), target) : 0;
    if (run.source === 'parent') return this.parentIndex ? this.parentIndex.read(at, target) : 0;
    return 0;
  }
}
