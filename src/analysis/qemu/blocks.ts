// QEMU's RAMBlocks as read from the QEMU process image: decoded, validated, and whether the core
// holds their memory.
import type { QemuLayout } from './layout.js';
import { cString, type HostMemory, hex, Invalid } from './memory.js';

const MAX_RAM = 1n << 52n;
const PAGE = 4096n;

/** One RAMBlock of the QEMU process. */
export interface RamBlockInfo {
  /** Address of the RAMBlock structure. */
  address: bigint;
  idstr: string;
  /** Host virtual address of its memory. */
  host: bigint;
  /** ram_addr_t offset in QEMU's RAM address space. */
  offset: bigint;
  usedLength: bigint;
  maxLength: bigint;
  flags: number;
  /** Name of its MemoryRegion. */
  region: string;
  /**
   * Whether the core holds all of its memory. 'absent': some is left out, because QEMU ran with
   * dump-guest-core=off, or (kernel cores) because it was never written and reads as zeros.
   */
  coverage: 'held' | 'absent';
}

/** Decodes and validates one RAMBlock (raw holds its bytes). */
export function readBlock(mem: HostMemory, L: QemuLayout, at: bigint, raw: Buffer): RamBlockInfo {
  const c = mem.codec;
  const R = L.ramBlock;
  const where = `RAMBlock ${hex(at)}`;
  const idstr = cString(raw.subarray(R.idstr, R.idstr + R.idstrSize), `${where} idstr`);
  if (idstr.length === 0) throw new Invalid(`${where}: empty idstr`);
  const host = c.u64(raw, R.host);
  const usedLength = c.u64(raw, R.usedLength);
  const maxLength = c.u64(raw, R.maxLength);
  if (usedLength === 0n || usedLength > maxLength || maxLength > MAX_RAM) {
    throw new Invalid(
      `${where} (${idstr}): implausible lengths used ${hex(usedLength)}, max ${hex(maxLength)}`,
    );
  }
  if (host === 0n || host % PAGE !== 0n)
    throw new Invalid(`${where} (${idstr}): host ${hex(host)} is not page-aligned`);
  const mr = c.u64(raw, R.mr);
  const M = L.memoryRegion;
  const mrRaw = mem.bytes(mr, M.size, `${where} (${idstr}) MemoryRegion`);
  const back = c.u64(mrRaw, M.ramBlock);
  if (back !== at) throw new Invalid(`${where} (${idstr}): its MemoryRegion's ram_block is ${hex(back)}`);
  if (mrRaw[M.ram] !== 1) throw new Invalid(`${where} (${idstr}): its MemoryRegion is not RAM`);
  const region = regionName(mem, L, mrRaw);
  // gcore leaves VM_DONTDUMP mappings out entirely, the kernel writes them with no bytes.
  const coverage = mem.holds(host, host + usedLength) ? 'held' : 'absent';
  return {
    address: at,
    idstr,
    host,
    offset: c.u64(raw, R.offset),
    usedLength,
    maxLength,
    flags: c.u32(raw, R.flags),
    region,
    coverage,
  };
}

export function regionName(mem: HostMemory, L: QemuLayout, mrRaw: Buffer): string {
  const p = mem.codec.u64(mrRaw, L.memoryRegion.name);
  return p === 0n ? '' : mem.string(p, 'MemoryRegion name');
}
