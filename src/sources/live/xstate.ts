import type { RawNote, RegSet } from '../../model/process-image.js';

const NT_X86_XSTATE = 0x202;
const NT_X86_XSAVE_LAYOUT = 0x205;
/** The legacy FXSAVE area plus the XSAVE header: components start after it. */
const LEGACY = 576;
/** Where the kernel puts XCR0 inside the legacy area's software-reserved bytes. */
const XCR0_OFFSET = 464;

/** XSAVE components (number, size) with their standard-format offsets on Intel CPUs. */
const INTEL: ReadonlyArray<{ id: number; size: number; offset: number }> = [
  { id: 2, size: 256, offset: 576 }, // AVX (upper halves of ymm0-15)
  { id: 3, size: 64, offset: 960 }, // MPX bound registers
  { id: 4, size: 64, offset: 1024 }, // MPX bound config/status
  { id: 5, size: 64, offset: 1088 }, // AVX-512 opmask k0-7
  { id: 6, size: 512, offset: 1152 }, // AVX-512 upper halves of zmm0-15
  { id: 7, size: 1024, offset: 1664 }, // AVX-512 zmm16-31
  { id: 9, size: 8, offset: 2688 }, // PKRU
];

/**
 * The XSAVE area as the kernel returns it (PTRACE_GETREGSET NT_X86_XSTATE) uses the CPU's
 * standard-format offsets. Debuggers read NT_X86_XSTATE by Intel's offsets (gdb 13 warns and
 * loses the upper vector halves otherwise), so a packed layout (AMD Zen 4: no MPX gap) is moved
 * to Intel's offsets, as gcore writes it; an area already in Intel's layout, or with components
 * not known here, is kept as is. Returns the NT_X86_XSTATE regset and, when the layout is
 * known, the NT_X86_XSAVE_LAYOUT note (struct x86_xfeat_component[]) the kernel writes once,
 * after all threads.
 */
export function xstateRegset(area: Buffer): { regset: RegSet; layout?: RawNote } {
  const keep = { regset: { type: NT_X86_XSTATE, owner: 'LINUX', data: area } };
  if (area.length < LEGACY) return keep;
  const xcr0 = area.readBigUInt64LE(XCR0_OFFSET);
  const present = INTEL.filter((c) => (xcr0 & (1n << BigInt(c.id))) !== 0n);
  const knownMask = INTEL.reduce((m, c) => m | (1n << BigInt(c.id)), 3n);
  if ((xcr0 & ~knownMask) !== 0n || present.length === 0) return keep;
  const intelEnd = Math.max(...present.map((c) => c.offset + c.size));
  let packedAt = LEGACY;
  const packed = present.map((c) => {
    const at = packedAt;
    packedAt += c.size;
    return at;
  });
  let data = area;
  if (area.length !== intelEnd) {
    if (area.length !== packedAt) return keep;
    data = Buffer.alloc(intelEnd);
    area.copy(data, 0, 0, LEGACY);
    present.forEach((c, i) => {
      area.copy(data, c.offset, packed[i]!, packed[i]! + c.size);
    });
  }
  const layout = Buffer.alloc(present.length * 16);
  present.forEach((c, i) => {
    layout.writeUInt32LE(c.id, i * 16);
    layout.writeUInt32LE(c.size, i * 16 + 4);
    layout.writeUInt32LE(c.offset, i * 16 + 8);
  });
  return {
    regset: { type: NT_X86_XSTATE, owner: 'LINUX', data },
    layout: { owner: 'LINUX', type: NT_X86_XSAVE_LAYOUT, desc: layout },
  };
}
