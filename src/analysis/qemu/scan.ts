// Finding QEMU's structures without symbols: candidates for address_space_memory and ram_list,
// found by searching QEMU's heap; the caller validates each by walking it.
import type { QemuLayout } from './layout.js';
import { type HostMemory, Invalid } from './memory.js';

/**
 * Without symbols: candidates for `address_space_memory`, found in QEMU's writable memory as
 * structures whose name field points to a "memory" string. The caller validates each by walking it.
 */
export function scanForAddressSpaces(mem: HostMemory, L: QemuLayout): bigint[] {
  const segments = mem.heapSegments();
  const names = mem.search(segments, [Buffer.from('\0memory\0', 'latin1')], 1).map((a) => a + 1n);
  return mem
    .search(
      segments,
      names.map((n) => mem.pointerBytes(n)),
      8,
    )
    .map((a) => a - BigInt(L.addressSpace.name));
}

/**
 * The address of `ram_list`, found from one of its RAMBlocks by following next.le_prev back
 * to the list head (the link that is not inside a RAMBlock whose next points forward).
 */
export function ramListFromBlock(mem: HostMemory, L: QemuLayout, block: bigint): bigint {
  const R = L.ramBlock;
  let at = block;
  for (let i = 0; i < 4096; i++) {
    const prevLink = mem.ptr(at + BigInt(R.prev), 'RAMBlock next.le_prev');
    const prevBlock = prevLink - BigInt(R.next);
    let isBlock = false;
    try {
      const mr = mem.ptr(prevBlock + BigInt(R.mr), 'RAMBlock mr');
      isBlock = mem.ptr(mr + BigInt(L.memoryRegion.ramBlock), 'MemoryRegion ram_block') === prevBlock;
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
    }
    if (!isBlock) return prevLink - BigInt(L.ramList.blocks);
    at = prevBlock;
  }
  throw new Invalid('RAMBlock list: no head found');
}
