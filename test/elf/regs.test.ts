// Register tables of all architectures: their shape (sizeof(elf_gregset_t), offsets, names), and
// eu-readelf's reading of an NT_PRSTATUS coreshot writes for each arch with a distinct value in
// every 4-byte word of pr_reg. eu-readelf prints registers only when the note has exactly the
// kernel's size, so this also checks the table sizes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { codecFor } from '../../src/bytes/endian.js';
import { decodeRegisters, encodeRegisters, registerTable } from '../../src/elf/regs/index.js';
import { openSink } from '../../src/io/sink.js';
import { SplicedAddressSpace } from '../../src/model/address-space.js';
import {
  ARCHES,
  type ArchInfo,
  type ArchName,
  type KnownArch,
  type ProcessImage,
} from '../../src/model/process-image.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { euReadelfNotes, registerMismatches } from '../helpers/eu-readelf.js';
import { tempDir } from '../helpers/proc.js';

/** sizeof(elf_gregset_t) per arch, from the kernel headers. */
const GREGSET_SIZE: Record<ArchName, number> = {
  x86_64: 216,
  i386: 68,
  aarch64: 272,
  arm: 72,
  ppc64le: 384,
  ppc64: 384,
  s390x: 216,
  riscv64: 256,
  x32: 216,
  ppc: 192,
  s390: 144,
  m68k: 80,
  sparc64: 288,
};

/** Registers in pr_reg that eu-readelf does not print (it skips these ppc64 slots). */
const NOT_PRINTED: Partial<Record<ArchName, string[]>> = {
  ppc64le: ['trap', 'result'],
  ppc64: ['trap', 'result'],
  ppc: ['trap', 'result'],
  m68k: ['orig_d0'],
};

const ALL = Object.keys(ARCHES) as ArchName[];

describe('register tables', () => {
  for (const name of ALL) {
    it(`${name}: size, offsets and names`, () => {
      const t = registerTable(name);
      assert.equal(t.size, GREGSET_SIZE[name], 'sizeof(elf_gregset_t)');
      const names = t.fields.map((f) => f.name);
      assert.equal(new Set(names).size, names.length, 'unique names');
      assert.ok(names.includes(t.pc) && names.includes(t.sp), 'pc and sp are registers');
      let end = 0;
      for (const f of t.fields) {
        assert.ok(f.size === 4 || f.size === 8, `${f.name} size`);
        assert.ok(f.offset >= end, `${f.name} does not overlap the previous register`);
        assert.equal(f.offset % f.size, 0, `${f.name} is aligned`);
        end = f.offset + f.size;
      }
      assert.ok(end <= t.size, 'registers fit in pr_reg');
    });

    it(`${name}: encode and decode are inverse`, () => {
      const arch = ARCHES[name];
      const values = new Map(
        registerTable(name).fields.map((f, i) => [
          f.name,
          BigInt.asUintN(f.size * 8, 0x0102030405060708n * BigInt(i + 1)),
        ]),
      );
      assert.deepEqual(decodeRegisters(arch, encodeRegisters(arch, values)), values);
    });
  }
});

/** pr_reg with word j (4 bytes) = 0x5a000000 + 259 j: every register and every 16-bit tail differs. */
function patternRegs(arch: KnownArch): Buffer {
  const buf = Buffer.alloc(registerTable(arch.name).size);
  const c = codecFor(arch.endian);
  for (let j = 0; j * 4 < buf.length; j++) c.put32(buf, j * 4, 0x5a000000 + 259 * j);
  return buf;
}

function imageWith(arch: ArchInfo, gpRegs: Buffer): ProcessImage {
  const tv = { sec: 0n, usec: 0n };
  return {
    arch,
    process: {
      pid: 42,
      ppid: 1,
      pgrp: 42,
      sid: 42,
      uid: 0,
      gid: 0,
      state: 0,
      sname: 'R',
      zomb: 0,
      nice: 0,
      flag: 0n,
      comm: 'regs',
      psargs: 'regs',
    },
    threads: [
      {
        tid: 42,
        status: {
          info: { signo: 11, code: 0, errno: 0 },
          cursig: 11,
          sigpend: 0n,
          sighold: 0n,
          pid: 42,
          ppid: 1,
          pgrp: 42,
          sid: 42,
          utime: tv,
          stime: tv,
          cutime: tv,
          cstime: tv,
          fpvalid: 0,
        },
        gpRegs,
        regsets: [],
      },
    ],
    mappings: [],
    auxv: [],
    memory: new SplicedAddressSpace([]),
    extraNotes: [],
  };
}

describe('eu-readelf reads the registers coreshot writes', () => {
  const dir = tempDir();
  after(dir.cleanup);
  for (const name of ALL) {
    it(`${name}: every register by name and value`, async () => {
      const arch = ARCHES[name];
      const gpRegs = patternRegs(arch);
      const path = join(dir.path, `${name}.core`);
      await writeElfCore(imageWith(arch, gpRegs), openSink(path));
      const eu = euReadelfNotes(path);
      assert.equal(eu.threads.length, 1);
      const printed = eu.threads[0]!.registers;
      const ours = decodeRegisters(arch, gpRegs);
      assert.deepEqual(registerMismatches(printed, ours), []);
      const unprinted = [...ours.keys()].filter((n) => !printed.has(n));
      assert.deepEqual(unprinted, NOT_PRINTED[name] ?? [], 'registers eu-readelf does not print');
    });
  }
});
