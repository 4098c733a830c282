import { encodeRegisters } from '../../src/elf/regs/index.js';
import { type Region, SplicedAddressSpace } from '../../src/model/address-space.js';
import { ARCHES, type Mapping, type ProcessImage, type ThreadState } from '../../src/model/process-image.js';

/** A deterministic byte pattern for address a (from its low 32 bits). */
export function patternByte(a: bigint): number {
  return patternOf(Number(a & 0xffffffffn));
}

function patternOf(low: number): number {
  return (Math.imul(low, 2654435761) >>> 13) & 0xff;
}

function patternRegion(start: bigint, end: bigint): Region {
  return {
    start,
    end,
    kind: 'core',
    reader: (off, target) => {
      const low = Number((start + off) & 0xffffffffn);
      for (let i = 0; i < target.length; i++) target[i] = patternOf((low + i) >>> 0);
      return target.length;
    },
  };
}

function thread(tid: number, rip: bigint, rsp: bigint): ThreadState {
  const arch = ARCHES.x86_64;
  const zero = { sec: 0n, usec: 0n };
  return {
    tid,
    status: {
      info: { signo: 0, code: 0, errno: 0 },
      cursig: tid === 4242 ? 11 : 0,
      sigpend: 0n,
      sighold: 0n,
      pid: tid,
      ppid: 1,
      pgrp: 4242,
      sid: 4242,
      utime: { sec: 1n, usec: 500n },
      stime: zero,
      cutime: zero,
      cstime: zero,
      fpvalid: 1,
    },
    gpRegs: encodeRegisters(arch, {
      rip,
      rsp,
      rax: 0x1122334455667788n,
      r12: BigInt(tid),
      cs: 0x33n,
      ss: 0x2bn,
      rflags: 0x246n,
    }),
    regsets: [{ type: 2, owner: 'CORE', data: Buffer.alloc(512, tid & 0xff) }],
  };
}

export interface SyntheticOptions {
  /** Number of extra anonymous one-page mappings (for PN_XNUM tests). */
  extraMappings?: number;
  /** Path of a file to name in a file-backed mapping whose pages are not in the core. */
  mappedFile?: string;
}

/**
 * A fixed x86_64 process image: two threads, a data mapping with a byte pattern, a mapping of
 * which only the first page is held, an all-zero mapping (holes), and optionally a file mapping.
 */
export function syntheticImage(opts: SyntheticOptions = {}): ProcessImage {
  const mappings: Mapping[] = [
    {
      start: 0x400000n,
      end: 0x404000n,
      read: true,
      write: false,
      exec: true,
      shared: false,
      offset: 0n,
      dumped: 0x4000n,
      path: '[text]',
    },
    {
      start: 0x600000n,
      end: 0x610000n,
      read: true,
      write: true,
      exec: false,
      shared: false,
      offset: 0n,
      dumped: 0x1000n,
    },
    {
      start: 0x700000n,
      end: 0x800000n,
      read: true,
      write: true,
      exec: false,
      shared: false,
      offset: 0n,
      dumped: 0x100000n,
    },
  ];
  const regions: Region[] = [
    patternRegion(0x400000n, 0x404000n),
    patternRegion(0x600000n, 0x601000n),
    { start: 0x700000n, end: 0x800000n, kind: 'zero' },
  ];
  if (opts.mappedFile) {
    mappings.push({
      start: 0x900000n,
      end: 0x902000n,
      read: true,
      write: false,
      exec: false,
      shared: false,
      offset: 0x1000n,
      dumped: 0n,
      path: opts.mappedFile,
    });
  }
  for (let i = 0; i < (opts.extraMappings ?? 0); i++) {
    const start = 0x10000000n + BigInt(i) * 0x2000n;
    mappings.push({
      start,
      end: start + 0x1000n,
      read: true,
      write: i % 2 === 0,
      exec: false,
      shared: false,
      offset: 0n,
      dumped: 0x1000n,
    });
    regions.push(patternRegion(start, start + 0x1000n));
  }
  return {
    arch: ARCHES.x86_64,
    process: {
      pid: 4242,
      ppid: 1,
      pgrp: 4242,
      sid: 4242,
      uid: 1000,
      gid: 1000,
      state: 0,
      sname: 'R',
      zomb: 0,
      nice: 0,
      flag: 0x400000n,
      comm: 'synthetic',
      psargs: '/usr/bin/synthetic --flag value',
    },
    threads: [thread(4242, 0x401000n, 0x7ffff000n), thread(4243, 0x402000n, 0x7fffe000n)],
    mappings,
    auxv: [
      { type: 6n, value: 4096n },
      { type: 9n, value: 0x401000n },
      { type: 0n, value: 0n },
    ],
    memory: new SplicedAddressSpace([regions]),
    extraNotes: [],
  };
}
