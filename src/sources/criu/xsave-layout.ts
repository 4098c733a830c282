import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import {
  AMD_XSAVE_LAYOUT,
  INTEL_XSAVE_LAYOUT,
  type XsaveComponent,
  XsaveLayout,
  xsaveComponent,
} from '../../elf/xsave.js';

export { AMD_XSAVE_LAYOUT, INTEL_XSAVE_LAYOUT, XsaveLayout } from '../../elf/xsave.js';

const XSAVE_BITS = [2, 3, 4, 5, 6, 7, 9];

/**
 * The layout of this machine's CPU: CPUID leaf 0xD through /dev/cpu/0/cpuid when the cpuid
 * driver is there, else the vendor's known layout from /proc/cpuinfo. Checkpoints do not record
 * it; they are converted on (or for) the machine type that made them.
 */
export function hostXsaveLayout(): XsaveLayout {
  try {
    const fd = openSync('/dev/cpu/0/cpuid', 'r');
    try {
      const comps: XsaveComponent[] = [];
      for (const bit of XSAVE_BITS) {
        const regs = Buffer.alloc(16);
        if (readSync(fd, regs, 0, 16, (BigInt(bit) << 32n) | 0xdn) !== 16)
          throw new Error('short cpuid read');
        const size = regs.readUInt32LE(0);
        const offset = regs.readUInt32LE(4);
        if (size > 0 && offset >= 576) comps.push(xsaveComponent(bit, offset, size));
      }
      return new XsaveLayout(comps, 'CPUID leaf 0xD of this machine');
    } finally {
      closeSync(fd);
    }
  } catch {
    try {
      const info = readFileSync('/proc/cpuinfo', 'utf8');
      if (/^vendor_id\s*:\s*(AuthenticAMD|HygonGenuine)/m.test(info)) return AMD_XSAVE_LAYOUT;
    } catch {
      // not Linux, or no /proc: assume the architectural layout
    }
    return INTEL_XSAVE_LAYOUT;
  }
}
