import { NT_X86_XSTATE } from '../../abi/notes.js';
import { XSAVE_XCR0_OFFSET } from '../../elf/notes/x86.js';
import { INTEL_XSAVE_LAYOUT } from '../../elf/xsave.js';
import type { RawNote, RegSet } from '../../model/process-image.js';

/** The legacy FXSAVE area plus the XSAVE header: components start after it. */
const LEGACY = 576;

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
  const xcr0 = area.readBigUInt64LE(XSAVE_XCR0_OFFSET);
  const present = INTEL_XSAVE_LAYOUT.components.filter((c) => (xcr0 & (1n << BigInt(c.bit))) !== 0n);
  const knownMask = INTEL_XSAVE_LAYOUT.components.reduce((m, c) => m | (1n << BigInt(c.bit)), 3n);
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
  return {
    regset: { type: NT_X86_XSTATE, owner: 'LINUX', data },
    layout: INTEL_XSAVE_LAYOUT.note(xcr0),
  };
}
