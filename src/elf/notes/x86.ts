import type { IntCodec } from '../../bytes/endian.js';
import { FormatError } from '../../bytes/errors.js';

/** The legacy FXSAVE region (512 bytes): NT_FPREGSET on x86_64, NT_PRXFPREG on i386. */
export interface FxSave {
  fcw: number;
  fsw: number;
  ftw: number;
  fop: number;
  fip: bigint;
  fdp: bigint;
  mxcsr: number;
  mxcsr_mask: number;
  /** st0..st7 as 80-bit values (hex of 10 bytes, little endian order as stored). */
  st: string[];
  /** xmm0..xmm15 (xmm0..xmm7 on i386) as 128-bit hex values. */
  xmm: string[];
}

export const FXSAVE_SIZE = 512;

/** Hex of a little-endian integer stored in `b` (most significant digit first). */
export function leHex(b: Buffer): string {
  return `0x${Buffer.from(b).reverse().toString('hex')}`;
}

export function decodeFxSave(c: IntCodec, b: Buffer, xmmCount: number): FxSave | undefined {
  if (b.length < FXSAVE_SIZE) return undefined;
  const st: string[] = [];
  for (let i = 0; i < 8; i++) st.push(leHex(b.subarray(32 + i * 16, 32 + i * 16 + 10)));
  const xmm: string[] = [];
  for (let i = 0; i < xmmCount; i++) xmm.push(leHex(b.subarray(160 + i * 16, 176 + i * 16)));
  return {
    fcw: c.u16(b, 0),
    fsw: c.u16(b, 2),
    ftw: c.u16(b, 4),
    fop: c.u16(b, 6),
    fip: c.u64(b, 8),
    fdp: c.u64(b, 16),
    mxcsr: c.u32(b, 24),
    mxcsr_mask: c.u32(b, 28),
    st,
    xmm,
  };
}

/** XSAVE state components, by bit number. */
export const XFEATURE_NAMES: Readonly<Record<number, string>> = {
  0: 'x87',
  1: 'sse',
  2: 'avx',
  3: 'mpx-bndregs',
  4: 'mpx-bndcsr',
  5: 'avx512-opmask',
  6: 'avx512-zmm-hi256',
  7: 'avx512-hi16-zmm',
  8: 'pt',
  9: 'pkru',
  10: 'pasid',
  11: 'cet-user',
  12: 'cet-supervisor',
  13: 'hdc',
  14: 'uintr',
  15: 'lbr',
  16: 'hwp',
  17: 'amx-tilecfg',
  18: 'amx-tiledata',
  19: 'apx',
};

export interface XSaveHeader {
  /** XCR0 as Linux records it in the FXSAVE software-reserved bytes (offset 464). */
  xcr0: bigint;
  xstate_bv: bigint;
  xcomp_bv: bigint;
  /** Whether the area is in the compacted format (xcomp_bv bit 63). */
  compacted: boolean;
  /** Names of the components enabled in XCR0, and of those holding non-init state (space-separated). */
  enabled: string;
  inUse: string;
  size: number;
}

export const XSAVE_XCR0_OFFSET = 464;
export const XSAVE_HEADER_OFFSET = 512;

function featureNames(mask: bigint): string {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(XFEATURE_NAMES[bit] ?? `bit${bit}`);
  }
  return out.join(' ');
}

/** Decodes the header of NT_X86_XSTATE: Linux's XCR0 word and the XSAVE header. */
export function decodeXState(c: IntCodec, b: Buffer): XSaveHeader | undefined {
  if (b.length < XSAVE_HEADER_OFFSET + 64) return undefined;
  const xcr0 = c.u64(b, XSAVE_XCR0_OFFSET);
  const xstate_bv = c.u64(b, XSAVE_HEADER_OFFSET);
  const xcomp_bv = c.u64(b, XSAVE_HEADER_OFFSET + 8);
  return {
    xcr0,
    xstate_bv,
    xcomp_bv,
    compacted: xcomp_bv >> 63n === 1n,
    enabled: featureNames(xcr0),
    inUse: featureNames(xstate_bv),
    size: b.length,
  };
}

/** One entry of NT_X86_XSAVE_LAYOUT (struct x86_xfeat_component). */
export interface XSaveComponent {
  type: number;
  name: string;
  size: number;
  offset: number;
  flags: number;
}

export function decodeXSaveLayout(c: IntCodec, b: Buffer): XSaveComponent[] {
  // XCR0 has 64 bits: at most 64 components.
  if (b.length > 64 * 16)
    throw new FormatError(undefined, 'NT_X86_XSAVE_LAYOUT is implausibly large', b.length);
  const out: XSaveComponent[] = [];
  for (let o = 0; o + 16 <= b.length; o += 16) {
    const type = c.u32(b, o);
    out.push({
      type,
      name: XFEATURE_NAMES[type] ?? `component ${type}`,
      size: c.u32(b, o + 4),
      offset: c.u32(b, o + 8),
      flags: c.u32(b, o + 12),
    });
  }
  return out;
}

/** QEMU's x86_64 "QEMU" note (QEMUCPUState): version, size, then the CPU's registers. */
export function decodeQemuCpuState(c: IntCodec, b: Buffer): Record<string, bigint | number> | undefined {
  const gprs = [
    'rax',
    'rbx',
    'rcx',
    'rdx',
    'rsi',
    'rdi',
    'rsp',
    'rbp',
    'r8',
    'r9',
    'r10',
    'r11',
    'r12',
    'r13',
    'r14',
    'r15',
    'rip',
    'rflags',
  ];
  if (b.length < 8 + gprs.length * 8) return undefined;
  const out: Record<string, bigint | number> = { version: c.u32(b, 0), size: c.u32(b, 4) };
  gprs.forEach((name, i) => {
    out[name] = c.u64(b, 8 + i * 8);
  });
  // Ten segment descriptors of 24 bytes follow, then cr0..cr4.
  const crAt = 8 + gprs.length * 8 + 10 * 24;
  for (let i = 0; i < 5 && crAt + (i + 1) * 8 <= b.length; i++) out[`cr${i}`] = c.u64(b, crAt + i * 8);
  return out;
}
