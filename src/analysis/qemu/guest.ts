// QEMU guest discovery: finds a guest's RAM blocks, guest-physical memory map, machine state and
// VMCOREINFO in an image of the QEMU process, through QEMU's symbols or by scanning its heap.
import { codecFor } from '../../bytes/endian.js';
import type { ProcessImage } from '../../model/process-image.js';
import { type RamBlockInfo, readBlock, regionName } from './blocks.js';
import type { QemuLayout } from './layout.js';
import { QEMU_LAYOUTS } from './layout.js';
import { HostMemory, hex, Invalid, type Segment } from './memory.js';
import { ramListFromBlock, scanForAddressSpaces } from './scan.js';

/** A guest-physical range backed by contiguous host memory. */
export interface GuestRange {
  /** Guest-physical start. */
  start: bigint;
  size: bigint;
  /** Host virtual address of `start` in the QEMU process. */
  host: bigint;
  /** idstr of the RAMBlock it lies in, and the name of its MemoryRegion. */
  block: string;
  region: string;
}

/** Where the guest registered its VMCOREINFO note through QEMU's vmcoreinfo device. */
export interface VmcoreinfoRef {
  /** Address of the device state in the QEMU process. */
  device: bigint;
  /** Guest-physical address and size of the note. */
  paddr: bigint;
  size: number;
}

export type { RamBlockInfo };

export interface QemuGuest {
  /** QEMU versions whose layout matched. */
  layout: string;
  /** How the structures were found. */
  method: 'symbols' | 'scan';
  blocks: RamBlockInfo[];
  /** The guest-physical RAM map, sorted, merged where contiguous in guest and host. */
  ranges: GuestRange[];
  vmcoreinfo?: VmcoreinfoRef;
  /** From current_machine, when its symbol is known. */
  machine?: MachineInfo;
  /** Things worth telling the user (symbols not usable, vmcoreinfo not registered, ...). */
  notes: string[];
}

/** Addresses of QEMU's globals, from its dynamic symbols plus the load bias. */
export interface QemuSymbols {
  ramList: bigint;
  addressSpaceMemory: bigint;
  currentMachine?: bigint;
}

/** What current_machine tells. */
export interface MachineInfo {
  /** QOM type, e.g. pc-i440fx-7.2-machine. */
  type: string;
  /** -machine dump-guest-core: off means QEMU excluded guest RAM from core dumps. */
  dumpGuestCore: boolean;
}

/** The core is not of a QEMU process, or QEMU's structures could not be found in it. */
export class NotQemuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotQemuError';
  }
}

/** Upper bounds that keep a corrupt structure from making us loop or allocate without end. */
const MAX_BLOCKS = 4096;
const MAX_RANGES = 1 << 20;

/**
 * Finds the guest's RAM blocks and guest-physical memory map in a 64-bit QEMU process image.
 * With symbols, it walks `ram_list` and `address_space_memory`; without (or if they do not
 * validate), it scans QEMU's heap for RAMBlocks. Every structure is validated before use.
 */
export function findGuest(
  image: ProcessImage,
  symbols: QemuSymbols | undefined,
  notes: string[] = [],
): QemuGuest {
  if (image.arch.elfClass !== 64) {
    throw new NotQemuError(
      `the core is of a ${image.arch.elfClass}-bit process; only 64-bit QEMU hosts are supported`,
    );
  }
  const mem = new HostMemory(image, codecFor(image.arch.endian));
  const failures: string[] = [];
  for (const layout of symbols ? QEMU_LAYOUTS : []) {
    try {
      const walked = walkWithSymbols(mem, layout, symbols!);
      const machine = symbols!.currentMachine
        ? tryMachine(mem, layout, symbols!.currentMachine, walked, notes)
        : undefined;
      return finish(walked, mem, layout, 'symbols', notes, machine);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      failures.push(`QEMU ${layout.versions} layout via symbols: ${err.message}`);
    }
  }
  for (const layout of QEMU_LAYOUTS) {
    try {
      const walked = scanWalk(mem, layout, notes);
      if (walked) {
        notes.push(...failures.map((f) => `${f}; found by scanning instead`));
        return finish(walked, mem, layout, 'scan', notes, undefined);
      }
      failures.push(`QEMU ${layout.versions} layout by scanning: no address space "memory" found`);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      failures.push(`QEMU ${layout.versions} layout by scanning: ${err.message}`);
    }
  }
  throw new NotQemuError(`no QEMU guest memory structures found (${failures.join('; ')})`);
}

interface Walked {
  blocks: RamBlockInfo[];
  ranges: GuestRange[];
}

function finish(
  walked: Walked,
  mem: HostMemory,
  layout: QemuLayout,
  method: 'symbols' | 'scan',
  notes: string[],
  machine: MachineInfo | undefined,
): QemuGuest {
  const guest: QemuGuest = { layout: layout.versions, method, ...walked, notes };
  if (machine) guest.machine = machine;
  const vmci = findVmcoreinfo(mem, layout, guest);
  if (vmci) guest.vmcoreinfo = vmci;
  return guest;
}

/**
 * Without symbols: the AddressSpace named "memory" found by scanning, its RAM blocks, and the
 * ram_list they hang on (found through their back-pointers), walked as with symbols.
 */
function scanWalk(mem: HostMemory, L: QemuLayout, notes: string[]): Walked | undefined {
  const errors: string[] = [];
  let empty: Walked | undefined;
  for (const as of scanForAddressSpaces(mem, L)) {
    try {
      const first = walkMap(mem, L, as, undefined);
      const block = first.blocks[0];
      if (!block || first.ranges.length === 0) {
        empty ??= first;
        continue;
      }
      try {
        return walkWithSymbols(mem, L, {
          ramList: ramListFromBlock(mem, L, block.address),
          addressSpaceMemory: as,
        });
      } catch (err) {
        if (!(err instanceof Invalid)) throw err;
        notes.push(
          `the RAMBlock list does not validate (${err.message}): using the blocks the memory map names`,
        );
        return first;
      }
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      errors.push(err.message);
    }
  }
  // An address space without RAM is the answer only if no other candidate was damaged.
  if (errors.length > 0) throw new Invalid(errors.join('; '));
  return empty;
}

function tryMachine(
  mem: HostMemory,
  L: QemuLayout,
  currentMachine: bigint,
  walked: Walked,
  notes: string[],
): MachineInfo | undefined {
  try {
    return readMachine(mem, L, currentMachine, walked);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    notes.push(`current_machine not usable: ${err.message}`);
    return undefined;
  }
}

/** current_machine: its QOM type and whether QEMU runs with dump-guest-core=on. */
function readMachine(mem: HostMemory, L: QemuLayout, currentMachine: bigint, walked: Walked): MachineInfo {
  const ms = mem.ptr(currentMachine, 'current_machine');
  const M = L.machine;
  const raw = mem.bytes(ms, M.size, 'MachineState');
  const c = mem.codec;
  const type = qomTypeName(mem, L, ms);
  if (!type.endsWith('-machine')) throw new Invalid(`current_machine is of type "${type}", not a machine`);
  const ram = c.u64(raw, M.ram);
  if (ram !== 0n) {
    const rb = mem.ptr(ram + BigInt(L.memoryRegion.ramBlock), 'machine RAM MemoryRegion');
    const block = walked.blocks.find((b) => b.address === rb);
    if (!block || block.usedLength !== c.u64(raw, M.ramSize)) {
      throw new Invalid(`current_machine's RAM does not match the RAM blocks`);
    }
  }
  const flag = raw[M.dumpGuestCore]!;
  if (flag > 1) throw new Invalid(`current_machine->dump_guest_core is ${flag}`);
  return { type, dumpGuestCore: flag === 1 };
}

/** The QOM type name of an object: object->class->type->name. */
function qomTypeName(mem: HostMemory, L: QemuLayout, obj: bigint): string {
  const cls = mem.ptr(obj + BigInt(L.qom.objectClass), 'Object class');
  const type = mem.ptr(cls + BigInt(L.qom.classType), 'ObjectClass type');
  return mem.string(mem.ptr(type + BigInt(L.qom.typeName), 'TypeImpl name'), 'TypeImpl name');
}

function walkWithSymbols(mem: HostMemory, L: QemuLayout, sym: QemuSymbols): Walked {
  const blocks = walkRamList(mem, L, sym.ramList);
  return walkMap(mem, L, sym.addressSpaceMemory, blocks);
}

/** Walks ram_list.blocks, checking each block and the list's back-pointers. */
function walkRamList(mem: HostMemory, L: QemuLayout, ramList: bigint): Map<bigint, RamBlockInfo> {
  const blocks = new Map<bigint, RamBlockInfo>();
  let link = ramList + BigInt(L.ramList.blocks);
  let at = mem.ptr(link, 'ram_list.blocks');
  while (at !== 0n) {
    if (blocks.has(at)) throw new Invalid(`ram_list: the block list loops at ${hex(at)}`);
    if (blocks.size >= MAX_BLOCKS) throw new Invalid(`ram_list: more than ${MAX_BLOCKS} blocks`);
    const raw = mem.bytes(at, L.ramBlock.size, 'RAMBlock');
    const prev = mem.codec.u64(raw, L.ramBlock.prev);
    if (prev !== link)
      throw new Invalid(`RAMBlock ${hex(at)}: next.le_prev is ${hex(prev)}, expected ${hex(link)}`);
    blocks.set(at, readBlock(mem, L, at, raw));
    link = at + BigInt(L.ramBlock.next);
    at = mem.codec.u64(raw, L.ramBlock.next);
  }
  if (blocks.size > 0) {
    const mru = mem.ptr(ramList + BigInt(L.ramList.mruBlock), 'ram_list.mru_block');
    if (mru !== 0n && !blocks.has(mru))
      throw new Invalid(`ram_list.mru_block ${hex(mru)} is not on the block list`);
  }
  return blocks;
}

/** Reads an Int128 that must fit in 64 bits (sizes up to and including 2^64). */
function int128(mem: HostMemory, buf: Buffer, off: number, what: string): bigint {
  const le = mem.codec.endian === 'le';
  const lo = mem.codec.u64(buf, le ? off : off + 8);
  const hi = mem.codec.u64(buf, le ? off + 8 : off);
  if (hi === 0n) return lo;
  if (hi === 1n && lo === 0n) return 1n << 64n;
  throw new Invalid(`${what} does not fit in 64 bits`);
}

/**
 * Walks address_space_memory's current FlatView: the RAM ranges of the guest-physical map.
 * `known` holds the blocks from ram_list; without it (scan), blocks are read from the ranges.
 */
function walkMap(
  mem: HostMemory,
  L: QemuLayout,
  as: bigint,
  known: Map<bigint, RamBlockInfo> | undefined,
): Walked {
  const c = mem.codec;
  const asRaw = mem.bytes(as, L.addressSpace.size, 'AddressSpace');
  const name = mem.string(c.u64(asRaw, L.addressSpace.name), 'AddressSpace name');
  if (name !== 'memory') throw new Invalid(`address space ${hex(as)} is named "${name}", not "memory"`);
  const fv = c.u64(asRaw, L.addressSpace.currentMap);
  const fvRaw = mem.bytes(fv, L.flatView.size, 'FlatView');
  const nr = c.u32(fvRaw, L.flatView.nr);
  const nrAllocated = c.u32(fvRaw, L.flatView.nrAllocated);
  if (nr > nrAllocated || nr > MAX_RANGES)
    throw new Invalid(`FlatView ${hex(fv)}: nr ${nr}, nr_allocated ${nrAllocated}`);
  const F = L.flatRange;
  const rangesRaw =
    nr === 0 ? Buffer.alloc(0) : mem.bytes(c.u64(fvRaw, L.flatView.ranges), nr * F.size, 'FlatView ranges');
  const blocks = known ?? new Map<bigint, RamBlockInfo>();
  const ranges: GuestRange[] = [];
  const M = L.memoryRegion;
  let prevEnd = 0n;
  for (let i = 0; i < nr; i++) {
    const fr = rangesRaw.subarray(i * F.size, (i + 1) * F.size);
    const start = int128(mem, fr, F.start, `FlatRange ${i} start`);
    const size = int128(mem, fr, F.size128, `FlatRange ${i} size`);
    if (start < prevEnd || start + size > 1n << 64n)
      throw new Invalid(`FlatView ${hex(fv)}: ranges overlap or are unsorted`);
    prevEnd = start + size;
    const mr = c.u64(fr, F.mr);
    const mrRaw = mem.bytes(mr, M.size, `FlatRange ${i} MemoryRegion`);
    if (mrRaw[M.ram] !== 1 || mrRaw[M.ramDevice] === 1 || fr[F.nonvolatile] === 1) continue;
    const rb = c.u64(mrRaw, M.ramBlock);
    let block = blocks.get(rb);
    if (!block && !known) {
      block = readBlock(mem, L, rb, mem.bytes(rb, L.ramBlock.size, 'RAMBlock'));
      blocks.set(rb, block);
    }
    if (!block) throw new Invalid(`FlatRange ${i} uses RAMBlock ${hex(rb)}, which is not on ram_list`);
    const offset = c.u64(fr, F.offsetInRegion);
    if (offset + size > block.maxLength) {
      throw new Invalid(`FlatRange ${i} (${hex(start)}+${hex(size)}) runs past its block ${block.idstr}`);
    }
    const host = block.host + offset;
    const last = ranges[ranges.length - 1];
    if (last && last.start + last.size === start && last.host + last.size === host) {
      last.size += size;
      continue;
    }
    ranges.push({ start, size, host, block: block.idstr, region: regionName(mem, L, mrRaw) });
  }
  return { blocks: [...blocks.values()], ranges };
}

/** Largest VMCOREINFO note QEMU accepts from a guest (MAX_GUEST_NOTE_SIZE). */
const MAX_GUEST_NOTE = 1 << 20;
const FW_CFG_VMCOREINFO_FORMAT_ELF = 1;

/**
 * Finds the vmcoreinfo device by its QOM type name (Object -> class -> type -> name) and returns
 * the note the guest registered in it, if any. The device is looked for in QEMU's heap: first the
 * type name string, then pointers to it (TypeImpl), to those (ObjectClass), to those (the object).
 */
function findVmcoreinfo(mem: HostMemory, L: QemuLayout, guest: QemuGuest): VmcoreinfoRef | undefined {
  const V = L.vmcoreinfo;
  for (const dev of findObjectsOfType(mem, L, guest, 'vmcoreinfo')) {
    const got = mem.image.memory.read(dev, V.size);
    const raw = got.data;
    if (got.missing.length > 0 || raw[V.hasVmcoreinfo] !== 1) continue;
    const c = mem.codec;
    const paddr = c.u64(raw, V.paddr);
    const size = c.u32(raw, V.noteSize);
    if (c.u16(raw, V.guestFormat) !== FW_CFG_VMCOREINFO_FORMAT_ELF || size < 12 || size > MAX_GUEST_NOTE) {
      guest.notes.push('the guest registered a VMCOREINFO note QEMU would not use; it is left out');
      continue;
    }
    return { device: dev, paddr, size };
  }
  return undefined;
}

/** Heap addresses of QOM objects whose type is `typeName`. */
function findObjectsOfType(mem: HostMemory, L: QemuLayout, guest: QemuGuest, typeName: string): bigint[] {
  const heap = mem.heapSegments(guest.blocks.map((b) => ({ start: b.host, end: b.host + b.maxLength })));
  const strings = mem.search(heap, [Buffer.from(`${typeName}\0`, 'latin1')], 1);
  const types = searchPointers(mem, heap, strings, L.qom.typeName);
  const classes = searchPointers(mem, heap, types, L.qom.classType);
  return searchPointers(mem, heap, classes, L.qom.objectClass);
}

/** Addresses of structures holding one of `targets` as a pointer at `fieldOffset`. */
function searchPointers(
  mem: HostMemory,
  segments: readonly Segment[],
  targets: readonly bigint[],
  fieldOffset: number,
): bigint[] {
  return mem
    .search(
      segments,
      targets.map((t) => mem.pointerBytes(t)),
      8,
    )
    .map((a) => a - BigInt(fieldOffset));
}
