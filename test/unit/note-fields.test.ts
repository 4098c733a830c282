// The declarative struct layouts of NT_PRSTATUS and NT_PRPSINFO (src/elf/notes/fields.ts): the
// offsets the kernel's headers give, round trips on every architecture, short and unknown cases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError } from '../../src/bytes/errors.js';
import { archElf } from '../../src/elf/arch.js';
import { archContext, fieldOffset, structSize } from '../../src/elf/notes/fields.js';
import { decodePrPsInfo, ELF_PRPSINFO, encodePrPsInfo } from '../../src/elf/notes/prpsinfo.js';
import { decodePrStatus, ELF_PRSTATUS, encodePrStatus, prstatusSize } from '../../src/elf/notes/prstatus.js';
import { registerTable } from '../../src/elf/regs/index.js';
import {
  ARCHES,
  type ArchInfo,
  type ArchName,
  type ProcessInfo,
  type ThreadStatus,
} from '../../src/model/process-image.js';

const ALL = Object.keys(ARCHES) as ArchName[];

const status: ThreadStatus = {
  info: { signo: 11, code: -6, errno: 3 },
  cursig: 11,
  sigpend: 0x1234n,
  sighold: 0x7fffn,
  pid: 101,
  ppid: 100,
  pgrp: 99,
  sid: 98,
  utime: { sec: 5n, usec: 6n },
  stime: { sec: 7n, usec: 8n },
  cutime: { sec: 9n, usec: 10n },
  cstime: { sec: 11n, usec: 12n },
  fpvalid: 1,
};

const info: ProcessInfo = {
  state: 1,
  sname: 'S',
  zomb: 0,
  nice: -5,
  flag: 0x400140n,
  uid: 1000,
  gid: 1001,
  pid: 101,
  ppid: 100,
  pgrp: 99,
  sid: 98,
  comm: 'prog',
  psargs: './prog --flag',
};

describe('elf_prstatus from its field list', () => {
  test("x86_64 offsets are the kernel's: pr_pid 32, pr_utime 48, pr_reg 112, pr_fpvalid 328, size 336", () => {
    const arch = ARCHES.x86_64;
    const regs = Buffer.alloc(registerTable('x86_64').size, 0xab);
    const b = encodePrStatus(arch, status, regs);
    assert.equal(b.length, 336);
    assert.equal(b.readInt16LE(12), 11);
    assert.equal(b.readBigUInt64LE(16), 0x1234n);
    assert.equal(b.readInt32LE(32), 101);
    assert.equal(b.readInt32LE(44), 98);
    assert.equal(b.readBigUInt64LE(48), 5n);
    assert.equal(b.readBigUInt64LE(104), 12n);
    assert.ok(b.subarray(112, 328).every((x) => x === 0xab));
    assert.equal(b.readInt32LE(328), 1);
  });

  test('i386: 4-byte words, pr_reg at 72, 144 bytes', () => {
    const ctx = archContext(ARCHES.i386, registerTable('i386').size);
    assert.equal(fieldOffset(ELF_PRSTATUS, ctx, 'gpRegs'), 72);
    assert.equal(prstatusSize(ARCHES.i386), 144);
  });

  for (const name of ALL) {
    test(`${name}: decode(encode(x)) is x`, () => {
      const arch = ARCHES[name];
      const regs = Buffer.alloc(registerTable(name).size);
      for (let i = 0; i < regs.length; i++) regs[i] = (i * 7) & 0xff;
      const b = encodePrStatus(arch, status, regs);
      assert.equal(b.length, prstatusSize(arch));
      assert.deepEqual(decodePrStatus(arch, b, 0n), { status, gpRegs: regs });
    });
  }

  test('a descriptor without pr_fpvalid decodes it as 0; one cut inside pr_reg is refused', () => {
    const arch = ARCHES.x86_64;
    const full = encodePrStatus(arch, status, Buffer.alloc(216));
    assert.equal(decodePrStatus(arch, full.subarray(0, 328), 0n).status.fpvalid, 0);
    assert.throws(
      () => decodePrStatus(arch, full.subarray(0, 327), 0x40n),
      (e: unknown) => e instanceof FormatError && /NT_PRSTATUS too small for x86_64/.test(e.message),
    );
  });

  test('an architecture without a register table: pr_reg is what lies between the times and pr_fpvalid', () => {
    const sparc: ArchInfo = { name: 'unknown', machine: 43, elfClass: 64, endian: 'be' };
    const regs = Buffer.alloc(19 * 8, 0x5c);
    const b = encodePrStatus(sparc, status, regs);
    assert.equal(b.length, 112 + regs.length + 8);
    assert.equal(b.readInt32BE(32), 101);
    assert.deepEqual(decodePrStatus(sparc, b, 0n), { status, gpRegs: regs });
  });
});

describe('elf_prpsinfo from its field list', () => {
  test('sizes: 136 bytes on 64-bit arches, 124 on 32-bit ones with 16-bit uids (i386, arm), 128 with 32-bit uids', () => {
    for (const name of ALL) {
      const arch = ARCHES[name];
      const size = arch.elfClass === 64 ? 136 : archElf(arch).uidSize === 2 ? 124 : 128;
      assert.equal(encodePrPsInfo(arch, info).length, size, name);
    }
    const i386 = archContext(ARCHES.i386);
    assert.equal(fieldOffset(ELF_PRPSINFO, i386, 'uid'), 8);
    assert.equal(fieldOffset(ELF_PRPSINFO, i386, 'pid'), 12);
    assert.equal(fieldOffset(ELF_PRPSINFO, archContext(ARCHES.x86_64), 'comm'), 40);
    assert.equal(structSize(ELF_PRPSINFO, archContext(ARCHES.ppc64)), 136);
  });

  for (const name of ALL) {
    test(`${name}: decode(encode(x)) is x, pr_nice signed`, () => {
      const arch = ARCHES[name];
      assert.deepEqual(decodePrPsInfo(arch, encodePrPsInfo(arch, info), 0n), info);
    });
  }

  test('char arrays keep their NUL: pr_fname holds 15 bytes, pr_psargs 79', () => {
    const arch = ARCHES.x86_64;
    const long = { ...info, comm: 'abcdefghijklmnopqrst', psargs: 'x'.repeat(100) };
    const got = decodePrPsInfo(arch, encodePrPsInfo(arch, long), 0n);
    assert.equal(got.comm, 'abcdefghijklmno');
    assert.equal(got.psargs, 'x'.repeat(79));
  });

  test('big-endian s390x: pr_uid at 16, pr_pid at 24', () => {
    const b = encodePrPsInfo(ARCHES.s390x, info);
    assert.equal(b.readUInt32BE(16), 1000);
    assert.equal(b.readUInt32BE(20), 1001);
    assert.equal(b.readInt32BE(24), 101);
    assert.equal(b.readInt8(3), -5);
  });
});
