import { NT_X86_XSTATE } from '../../abi/notes.js';
import { XSAVE_HEADER_OFFSET, XSAVE_XCR0_OFFSET } from '../../elf/notes/x86.js';
import { INTEL_XSAVE_LAYOUT, layoutOfArea, relayArea } from '../../elf/xsave.js';
import type { RawNote, RegSet } from '../../model/process-image.js';

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
  if (area.length < XSAVE_HEADER_OFFSET + 64) return keep;
  const xcr0 = area.readBigUInt64LE(XSAVE_XCR0_OFFSET);
  const known = INTEL_XSAVE_LAYOUT.components.reduce((m, c) => m | (1n << BigInt(c.bit)), 3n);
  const from = (xcr0 & ~known) === 0n ? layoutOfArea(xcr0, area.length) : undefined;
  if (!from) return keep;
  let data = area;
  if (from !== INTEL_XSAVE_LAYOUT) {
    const base = Buffer.alloc(INTEL_XSAVE_LAYOUT.end(xcr0));
    base.writeBigUInt64LE(xcr0, XSAVE_XCR0_OFFSET);
    data = relayArea(area, from, base, INTEL_XSAVE_LAYOUT);
    // The legacy area, Linux's software-reserved bytes and the XSAVE header stay as they were.
    area.copy(data, 0, 0, XSAVE_HEADER_OFFSET + 64);
  }
  return { regset: { type: NT_X86_XSTATE, owner: 'LINUX', data }, layout: INTEL_XSAVE_LAYOUT.note(xcr0) };
}
