import { readBlock } from './blocks.js';
import type { QemuLayout } from './layout.js';
import { type HostMemory, Invalid, type Segment } from './memory.js';

/** Mappings larger than this are not scanned for QEMU's own structures (they are guest RAM). */
const MAX_SCANNED_MAPPING = 256n << 20n;
const CHUNK = 16 << 20;
const MAX_CANDIDATES = 4096;

/**
 * Without symbols: finds `address_space_memory` by scanning QEMU's heap. RAMBlocks are found by
 * their shape (a printable, NUL-padded idstr; page-aligned host and lengths; a MemoryRegion
 * pointing back), then the FlatRanges naming their MemoryRegions, the FlatView holding those,
 * and the AddressSpace named "memory" whose current map it is. Returns undefined if none.
 */
export function scanForAddressSpace(mem: HostMemory, L: QemuLayout): bigint | undefined {
  const segments = mem.image.mappings
    .filter((m) => m.write && !m.exec && m.dumped > 0n && m.dumped <= MAX_SCANNED_MAPPING)
    .map((m) => ({ start: m.start, end: m.start + m.dumped }));
  const regions = scanBlocks(mem, L, segments);
  if (regions.length === 0) return undefined;
  const entries = mem
    .search(
      segments,
      regions.map((r) => mem.pointerBytes(r)),
      8,
    )
    .map((a) => a - BigInt(L.flatRange.mr));
  const arrayStarts = new Set<bigint>();
  for (const e of entries.slice(0, MAX_CANDIDATES))
    for (const r of rangeArrayStarts(mem, L, e)) arrayStarts.add(r);
  const views = mem
    .search(
      segments,
      [...arrayStarts].map((r) => mem.pointerBytes(r)),
      8,
    )
    .map((a) => a - BigInt(L.flatView.ranges));
  const spaces = mem
    .search(
      segments,
      views.map((v) => mem.pointerBytes(v)),
      8,
    )
    .map((a) => a - BigInt(L.addressSpace.currentMap));
  for (const as of spaces) {
    try {
      const name = mem.ptr(as + BigInt(L.addressSpace.name), 'AddressSpace name');
      if (mem.string(name, 'AddressSpace name') === 'memory') return as;
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
    }
  }
  return undefined;
}

/** MemoryRegion addresses of the RAMBlocks found in the segments. */
function scanBlocks(mem: HostMemory, L: QemuLayout, segments: readonly Segment[]): bigint[] {
  const R = L.ramBlock;
  const c = mem.codec;
  const lowHost = c.endian === 'le' ? R.host : R.host + 4;
  const lowUsed = c.endian === 'le' ? R.usedLength : R.usedLength + 4;
  const found: bigint[] = [];
  for (const seg of segments) {
    for (let at = seg.start; at < seg.end; at += BigInt(CHUNK)) {
      const left = seg.end - at;
      const len = Number(left < BigInt(CHUNK + R.size) ? left : BigInt(CHUNK + R.size));
      const { data } = mem.image.memory.read(at, len);
      const first = Number((8n - (at % 8n)) % 8n);
      for (let o = first; o + R.size <= data.length && o < CHUNK; o += 8) {
        const ch = data[o + R.idstr]!;
        if (ch < 0x21 || ch > 0x7e) continue;
        if ((c.u32(data, o + lowHost) & 0xfff) !== 0 || (c.u32(data, o + lowUsed) & 0xfff) !== 0) continue;
        if (data[o + R.idstr + R.idstrSize - 1] !== 0) continue;
        const addr = at + BigInt(o);
        try {
          readBlock(mem, L, addr, data.subarray(o, o + R.size));
          found.push(c.u64(data, o + R.mr));
        } catch (err) {
          if (!(err instanceof Invalid)) throw err;
        }
      }
    }
  }
  return found;
}

/** Plausible starts of the FlatRange array holding the entry at `e`: walks back while entries fit. */
function rangeArrayStarts(mem: HostMemory, L: QemuLayout, e: bigint): bigint[] {
  const F = L.flatRange;
  const out = [e];
  let next = e;
  let nextStart = startOf(mem, L, e);
  if (nextStart === undefined) return [];
  for (let k = 0; k < MAX_CANDIDATES; k++) {
    const prev = next - BigInt(F.size);
    const s = startOf(mem, L, prev);
    if (
      s === undefined ||
      s.end > nextStart.start ||
      !mem.mappingAt(mem.ptr(prev + BigInt(F.mr), 'FlatRange mr'))
    ) {
      break;
    }
    out.push(prev);
    next = prev;
    nextStart = s;
  }
  return out;
}

/** The [start, end) of a FlatRange, if its Int128 fields are plausible and it is readable. */
function startOf(mem: HostMemory, L: QemuLayout, e: bigint): { start: bigint; end: bigint } | undefined {
  const F = L.flatRange;
  if (!mem.mappingAt(e)) return undefined;
  const r = mem.image.memory.read(e, F.size);
  if (r.missing.length > 0) return undefined;
  const c = mem.codec;
  const le = c.endian === 'le';
  const half = (off: number, hi: boolean) => c.u64(r.data, off + (le === hi ? 8 : 0));
  if (half(F.start, true) !== 0n || half(F.size128, true) !== 0n) return undefined;
  const start = half(F.start, false);
  return { start, end: start + half(F.size128, false) };
}
