// The DWARF register numbers of the register tables agree with what compilers write in call frame
// information: each arch's CIE return address column is the register that holds the return
// address, and the CFA is defined from the stack pointer (readelf --debug-dump=frames of a
// function compiled by the arch's gcc). Numbers are unique within a table.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { registerTable } from '../../src/elf/regs/index.js';
import { ARCHES, type ArchName } from '../../src/model/process-image.js';
import { requireTool } from '../helpers/cores.js';
import { runOk, tempDir } from '../helpers/proc.js';

/** The compiler of each arch and the register its calls leave the return address in. */
const CASES: Partial<Record<ArchName, { cc: string[]; ra: string }>> = {
  x86_64: { cc: ['gcc'], ra: 'rip' },
  i386: { cc: ['gcc', '-m32'], ra: 'eip' },
  aarch64: { cc: ['aarch64-linux-gnu-gcc'], ra: 'x30' },
  arm: { cc: ['arm-linux-gnueabihf-gcc'], ra: 'lr' },
  ppc64le: { cc: ['powerpc64le-linux-gnu-gcc'], ra: 'lr' },
  s390x: { cc: ['s390x-linux-gnu-gcc'], ra: 'r14' },
};

describe('DWARF register numbers', () => {
  for (const name of Object.keys(ARCHES) as ArchName[]) {
    it(`${name}: unique`, () => {
      const nums = registerTable(name).fields.flatMap((f) => (f.dwarf === undefined ? [] : [f.dwarf]));
      assert.ok(nums.length > 0);
      assert.equal(new Set(nums).size, nums.length);
    });
  }
  for (const [name, c] of Object.entries(CASES) as [ArchName, { cc: string[]; ra: string }][]) {
    it(`${name}: return address column and CFA register of gcc's CFI`, () => {
      requireTool(c.cc[0]!);
      const t = tempDir('coreshot-dwarfregs-');
      try {
        const src = join(t.path, 'f.c');
        runOk('sh', ['-c', `printf 'int g(int);\\nint f(int x){return g(x)+1;}\\n' > ${src}`]);
        runOk(c.cc[0]!, [...c.cc.slice(1), '-O2', '-g', '-c', '-o', join(t.path, 'f.o'), src]);
        const frames = runOk('readelf', ['--debug-dump=frames', join(t.path, 'f.o')]).stdout;
        const ra = Number(/Return address column: (\d+)/.exec(frames)![1]);
        const cfa = Number(/DW_CFA_def_cfa: r(\d+)/.exec(frames)![1]);
        const table = registerTable(name);
        assert.equal(table.fields.find((f) => f.dwarf === ra)?.name, c.ra, 'return address column');
        assert.equal(table.fields.find((f) => f.dwarf === cfa)?.name, table.sp, 'CFA register');
      } finally {
        t.cleanup();
      }
    });
  }
});
