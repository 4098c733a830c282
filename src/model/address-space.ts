/** A half-open virtual address range [start, end). */
export interface Range {
  start: bigint;
  end: bigint;
}

/** Why bytes could not be supplied. */
export type MissingReason =
  | 'unmapped' // no mapping covers the address
  | 'not-in-core' // mapped, but the image holds no data for it (p_filesz < p_memsz, excluded)
  | 'truncated' // the image should hold it, but the file ends early
  | 'file-unavailable' // would come from a mapped file that is absent or has another build-id
  | 'unreadable'; // a live source could not read it (EIO, guard page)

export interface MissingRange extends Range {
  reason: MissingReason;
}

/** Result of a read: missing bytes are zero in `data` and listed in `missing`. */
export interface MemoryRead {
  data: Buffer;
  missing: MissingRange[];
}

/** Reads one region's bytes: fills `target` from `offset` into the region; returns bytes supplied. */
export type RegionReader = (offset: bigint, target: Buffer) => number;

/** One contiguous piece of address space with a single data source. */
export interface Region extends Range {
  /** Where its bytes come from, for display. */
  kind: 'core' | 'file' | 'zero' | 'live' | 'missing';
  /** Reason reported when `kind` is 'missing' or the reader comes up short. */
  reason?: MissingReason;
  /** Absent for 'zero' and 'missing'. */
  reader?: RegionReader;
}

export interface AddressSpace {
  /** Reads `length` bytes at `addr`. Never throws for unavailable data: it reports it. */
  read(addr: bigint, length: number): MemoryRead;
  /** Fills `target` from `addr`; bytes it cannot supply are zeroed and listed. */
  readInto(addr: bigint, target: Buffer): MissingRange[];
  /** Where every byte comes from: non-overlapping regions sorted by address (gaps are unmapped). */
  regions(): readonly Region[];
  regionAt(addr: bigint): Region | undefined;
}

/**
 * An address space made of regions, looked up by binary search. Regions come in tiers, highest
 * priority first: a lower tier only fills addresses no higher tier covers. A source passes its
 * core segments as the first tier, file-backed pages as the next, zero fill last. Building costs
 * O(n log n) in the number of regions.
 */
export class SplicedAddressSpace implements AddressSpace {
  private readonly placed: Region[];

  constructor(tiers: Region[][]) {
    let placed: Region[] = [];
    for (const tier of tiers) placed = underlay(placed, disjoint(tier));
    this.placed = placed;
  }

  regions(): readonly Region[] {
    return this.placed;
  }

  read(addr: bigint, length: number): MemoryRead {
    const data = Buffer.alloc(length);
    return { data, missing: this.readInto(addr, data) };
  }

  readInto(addr: bigint, data: Buffer): MissingRange[] {
    const missing: MissingRange[] = [];
    const end = addr + BigInt(data.length);
    let at = addr;
    let i = this.find(addr);
    while (at < end) {
      const r = i < this.placed.length ? this.placed[i] : undefined;
      if (!r || r.start >= end) {
        data.fill(0, Number(at - addr));
        appendMissing(missing, at, end, 'unmapped');
        break;
      }
      if (r.start > at) {
        data.fill(0, Number(at - addr), Number(r.start - addr));
        appendMissing(missing, at, r.start, 'unmapped');
        at = r.start;
      }
      const stop = r.end < end ? r.end : end;
      const target = data.subarray(Number(at - addr), Number(stop - addr));
      if (r.kind === 'zero') {
        target.fill(0);
      } else if (r.kind === 'missing' || !r.reader) {
        target.fill(0);
        appendMissing(missing, at, stop, r.reason ?? 'not-in-core');
      } else {
        const got = r.reader(at - r.start, target);
        if (got < target.length) {
          target.fill(0, got);
          appendMissing(missing, at + BigInt(got), stop, r.reason ?? 'truncated');
        }
      }
      at = stop;
      i++;
    }
    return missing;
  }

  regionAt(addr: bigint): Region | undefined {
    const r = this.placed[this.find(addr)];
    return r && r.start <= addr ? r : undefined;
  }

  /** Index of the first region whose end is above addr. */
  private find(addr: bigint): number {
    let lo = 0;
    let hi = this.placed.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.placed[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Appends [start, end) to sorted `out`, merging it into the last range when it continues it. */
export function appendMissing(out: MissingRange[], start: bigint, end: bigint, reason: MissingReason): void {
  const last = out[out.length - 1];
  if (last && last.end === start && last.reason === reason) last.end = end;
  else out.push({ start, end, reason });
}

function byStart(a: Region, b: Region): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : 0;
}

/** Sorts one tier and clips overlaps (the earlier-starting region keeps the bytes). */
function disjoint(tier: Region[]): Region[] {
  const sorted = tier.filter((r) => r.end > r.start).sort(byStart);
  const out: Region[] = [];
  let end = -1n;
  for (const r of sorted) {
    if (r.end <= end) continue;
    out.push(r.start < end ? sub(r, end, r.end) : r);
    end = r.end;
  }
  return out;
}

/** Merges sorted disjoint `low` under sorted disjoint `high`: low fills only the gaps. */
function underlay(high: Region[], low: Region[]): Region[] {
  if (high.length === 0) return low;
  const out: Region[] = [];
  let h = 0;
  for (const r of low) {
    let at = r.start;
    while (h < high.length && high[h]!.end <= at) out.push(high[h++]!);
    let k = h;
    while (at < r.end) {
      const next = high[k];
      if (!next || next.start >= r.end) {
        out.push(sub(r, at, r.end));
        break;
      }
      if (next.start > at) out.push(sub(r, at, next.start));
      at = next.end;
      k++;
    }
  }
  while (h < high.length) out.push(high[h++]!);
  return out.sort(byStart);
}

/** The part [start, end) of region r, with its reader shifted accordingly. */
function sub(r: Region, start: bigint, end: bigint): Region {
  if (start === r.start && end === r.end) return r;
  const shift = start - r.start;
  const reader = r.reader;
  return {
    ...r,
    start,
    end,
    reader: reader ? (off: bigint, target: Buffer) => reader(off + shift, target) : undefined,
  };
}
