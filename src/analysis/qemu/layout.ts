/**
 * Offsets of the QEMU structures coreshot walks, per QEMU version (64-bit hosts). Each entry is
 * tried in turn; the first whose structures all validate is used. Facts come from QEMU's headers
 * (include/exec/ramblock.h, include/exec/memory.h, softmmu/memory.c, include/hw/misc/vmcoreinfo.h)
 * and were checked against Debian's 7.2 build.
 */
export interface QemuLayout {
  /** Versions this layout is known to fit, for messages. */
  versions: string;
  /** struct RAMList (the global `ram_list`). */
  ramList: { mruBlock: number; blocks: number };
  /** struct RAMBlock. */
  ramBlock: {
    size: number;
    mr: number;
    host: number;
    offset: number;
    usedLength: number;
    maxLength: number;
    flags: number;
    idstr: number;
    idstrSize: number;
    next: number;
    prev: number;
  };
  /** struct MemoryRegion. */
  memoryRegion: {
    size: number;
    ram: number;
    nonvolatile: number;
    ramBlock: number;
    terminates: number;
    ramDevice: number;
    name: number;
  };
  /** struct AddressSpace (the global `address_space_memory`). */
  addressSpace: { size: number; name: number; root: number; currentMap: number };
  /** struct FlatView. */
  flatView: { size: number; ranges: number; nr: number; nrAllocated: number };
  /** struct FlatRange. */
  flatRange: {
    size: number;
    mr: number;
    offsetInRegion: number;
    start: number;
    size128: number;
    nonvolatile: number;
  };
  /** struct MachineState (`current_machine` points to it). */
  machine: { size: number; dumpGuestCore: number; ram: number; ramSize: number };
  /** QOM: Object.class at +0, ObjectClass.type at +0, TypeImpl.name at +0. */
  qom: { objectClass: number; classType: number; typeName: number };
  /** VMCoreInfoState (the vmcoreinfo device): has_vmcoreinfo, then FWCfgVMCoreInfo. */
  vmcoreinfo: { size: number; hasVmcoreinfo: number; guestFormat: number; noteSize: number; paddr: number };
}

export const QEMU_LAYOUTS: readonly QemuLayout[] = [
  {
    versions: '7.2',
    ramList: { mruBlock: 48, blocks: 56 },
    ramBlock: {
      size: 352,
      mr: 16,
      host: 24,
      offset: 40,
      usedLength: 48,
      maxLength: 56,
      flags: 72,
      idstr: 76,
      idstrSize: 256,
      next: 336,
      prev: 344,
    },
    memoryRegion: {
      size: 240,
      ram: 41,
      nonvolatile: 44,
      ramBlock: 56,
      terminates: 152,
      ramDevice: 153,
      name: 232,
    },
    addressSpace: { size: 40, name: 16, root: 24, currentMap: 32 },
    flatView: { size: 40, ranges: 24, nr: 32, nrAllocated: 36 },
    flatRange: { size: 64, mr: 0, offsetInRegion: 8, start: 16, size128: 32, nonvolatile: 51 },
    machine: { size: 144, dumpGuestCore: 80, ram: 120, ramSize: 136 },
    qom: { objectClass: 0, classType: 0, typeName: 0 },
    vmcoreinfo: { size: 184, hasVmcoreinfo: 160, guestFormat: 170, noteSize: 172, paddr: 176 },
  },
];
