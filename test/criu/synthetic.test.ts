import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  NT_ARM_TLS,
  NT_ARM_VFP,
  NT_FPREGSET,
  NT_X86_XSAVE_LAYOUT,
  NT_X86_XSTATE,
} from '../../src/abi/notes.js';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import { convertCheckpoint } from '../../src/pipelines/criu.js';
import { PE_LAZY, PE_PARENT, PE_PRESENT } from '../../src/sources/criu/pagemap.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { coreshot, runOk, tempDir } from '../helpers/proc.js';
import { BASE, PAGE, PC, PID, SP, type SynthOptions, writeCheckpoint } from './synth.js';

// What the real fixtures do not cover, from synthetic image directories written here:
// aarch64 and arm thread state, pages in a parent checkpoint (PE_PARENT and the legacy
// in_parent), and lazy pages that are absent.

const tmp = tempDir('coreshot-criu-synth-');
after(() => tmp.cleanup());
let n = 0;

async function convert(opts: SynthOptions) {
  const dir = join(tmp.path, `case-${n++}`);
  const images = join(dir, 'images');
  writeCheckpoint(images, opts);
  const {
    cores: [res],
  } = await convertCheckpoint(images, join(dir, 'out'));
  assert.ok(res);
  const core = openCore(res.path);
  return { res, core, images };
}

function page(core: ReturnType<typeof openCore>, i: number) {
  return core.image.memory.read(BASE + BigInt(i * PAGE), PAGE);
}

describe('convert criu: synthetic checkpoints', () => {
  it('aarch64: registers through the aarch64 table, fpsimd as NT_FPREGSET', async () => {
    const { core, res } = await convert({ arch: 'aarch64' });
    // elfutils reads the registers where the aarch64 table put them.
    const eu = runOk('eu-readelf', ['-n', res.path]).stdout;
    assert.match(eu, /pc: 0x0000000000401234, pstate: 0x0000000060000000/);
    assert.match(eu, /x30:\s+4126\s+sp:\s+0x000000007ff00000/);
    try {
      const img = core.image;
      assert.equal(img.arch.name, 'aarch64');
      const [t] = img.threads;
      const regs = decodeRegisters(img.arch, t!.gpRegs);
      for (let i = 0; i < 31; i++) assert.equal(regs.get(`x${i}`), 0x1000n + BigInt(i), `x${i}`);
      assert.equal(regs.get('sp'), SP);
      assert.equal(regs.get('pc'), PC);
      assert.equal(regs.get('pstate'), 0x6000_0000n);
      const fp = t!.regsets.find((r) => r.type === NT_FPREGSET);
      assert.ok(fp);
      assert.equal(fp.data.length, 528);
      assert.equal(fp.data.readBigUInt64LE(8), 1n, 'v0 high word');
      assert.equal(fp.data.readUInt32LE(512), 0x11, 'fpsr');
      assert.equal(fp.data.readUInt32LE(516), 0x22, 'fpcr');
      const tls = t!.regsets.find((r) => r.type === NT_ARM_TLS);
      assert.equal(tls?.data.readBigUInt64LE(0), 0x1234n, 'tpidr_el0');
      assert.equal(img.process.psargs, 'prog --flag');
      assert.equal(img.process.uid, 1000);
      assert.equal(img.process.pid, PID);
      assert.match(page(core, 1).data.toString('latin1'), /SYNTH-PAGE-1/);
    } finally {
      core.close();
    }
  });

  it('arm: registers through the arm table (fp, ip, cpsr as r11, r12, spsr), VFP state', async () => {
    const { core, res } = await convert({ arch: 'arm' });
    const eu = runOk('eu-readelf', ['-n', res.path]).stdout;
    assert.match(eu, /pc:\s+0x00401234/);
    assert.match(eu, /r11:\s+4107/);
    try {
      const img = core.image;
      assert.equal(img.arch.name, 'arm');
      const [t] = img.threads;
      const regs = decodeRegisters(img.arch, t!.gpRegs);
      for (let i = 0; i <= 12; i++) assert.equal(regs.get(`r${i}`), BigInt(0x1000 + i), `r${i}`);
      assert.equal(regs.get('sp'), SP);
      assert.equal(regs.get('lr'), 0x100en);
      assert.equal(regs.get('pc'), PC);
      assert.equal(regs.get('spsr'), 0x10n);
      assert.equal(regs.get('orig_r0'), 0xffffffffn);
      const vfp = t!.regsets.find((r) => r.type === NT_ARM_VFP);
      assert.ok(vfp);
      assert.equal(vfp.data.readBigUInt64LE(8), 1n, 'd1');
      assert.equal(vfp.data.readUInt32LE(256), 0x33, 'fpscr');
    } finally {
      core.close();
    }
  });

  it('x86_64 without xsave: NT_FPREGSET only, no XSTATE or layout note', async () => {
    const { core } = await convert({ arch: 'x86_64' });
    try {
      const [t] = core.image.threads;
      const regs = decodeRegisters(core.image.arch, t!.gpRegs);
      assert.equal(regs.get('rip'), PC);
      assert.equal(regs.get('rsp'), SP);
      assert.equal(regs.get('r15'), 0x1000n);
      assert.deepEqual(
        t!.regsets.map((r) => r.type),
        [NT_FPREGSET],
      );
      assert.ok(!core.notes.some((x) => x.type === NT_X86_XSTATE || x.type === NT_X86_XSAVE_LAYOUT));
    } finally {
      core.close();
    }
  });

  for (const [what, run] of [
    ['PE_PARENT', { flags: PE_PARENT }],
    ['legacy in_parent', { inParent: true }],
  ] as const) {
    it(`${what} pages are read from the parent image directory`, async () => {
      const { core, res } = await convert({ arch: 'x86_64', run, parent: true });
      try {
        assert.deepEqual(res.problems, []);
        for (const i of [0, 1]) {
          const r = page(core, i);
          assert.deepEqual(r.missing, []);
          assert.match(r.data.toString('latin1'), new RegExp(`SYNTH-PAGE-${i}`));
        }
        assert.equal(core.image.process.psargs, 'prog --flag');
      } finally {
        core.close();
      }
    });
  }

  it('PE_PARENT without the parent directory is a clear error', async () => {
    const dir = join(tmp.path, 'orphan');
    writeCheckpoint(join(dir, 'images'), { arch: 'x86_64', run: { flags: PE_PARENT } });
    await assert.rejects(
      convertCheckpoint(join(dir, 'images'), join(dir, 'out')),
      /parent checkpoint.*parent\/pagemap-4242\.img is missing/,
    );
    const cli = coreshot(['convert', 'criu', join(dir, 'images'), '-o', join(dir, 'out')]);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /^coreshot: .*parent/);
    assert.equal(cli.stderr.trim().split('\n').length, 1);
  });

  it('lazy pages (PE_LAZY, not present) are reported and left out, the rest converts', async () => {
    const { core, res, images } = await convert({ arch: 'x86_64', run: { flags: PE_LAZY } });
    try {
      assert.equal(res.problems.length, 1);
      assert.match(res.problems[0]!, /2 pages .* lazy restore/);
      const r = page(core, 1);
      assert.ok(
        r.data.every((b) => b === 0),
        'lazy pages are not invented',
      );
      assert.equal(core.image.process.psargs, '');
    } finally {
      core.close();
    }
    const cli = coreshot(['convert', 'criu', images, '-o', join(tmp.path, 'lazy-cli')]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /note: 2 pages of process 4242 were left for lazy restore/);
  });

  it('PE_LAZY together with PE_PRESENT is ordinary data', async () => {
    const { core, res } = await convert({ arch: 'x86_64', run: { flags: PE_LAZY | PE_PRESENT } });
    try {
      assert.deepEqual(res.problems, []);
      assert.match(page(core, 0).data.toString('latin1'), /SYNTH-PAGE-0/);
    } finally {
      core.close();
    }
  });

  it('a zombie is skipped, and asking for it by --pid says why', async () => {
    const images = join(tmp.path, 'zombie', 'images');
    writeCheckpoint(images, { arch: 'x86_64', taskState: 6 });
    const res = await convertCheckpoint(images, join(tmp.path, 'zombie', 'out'));
    assert.deepEqual(res.cores, []);
    assert.deepEqual(res.skipped, [
      { pid: PID, reason: `process ${PID} is a zombie: it has no memory or registers to convert` },
    ]);
    const cli = coreshot([
      'convert',
      'criu',
      images,
      '-o',
      join(tmp.path, 'zombie', 'cli'),
      '--pid',
      String(PID),
    ]);
    assert.equal(cli.status, 1);
    assert.equal(
      cli.stderr,
      `coreshot: process ${PID} is a zombie: it has no memory or registers to convert\n`,
    );
  });

  it('a thread CRIU rewound onto its syscall instruction is shown where the kernel had it', async () => {
    const { core } = await convert({ arch: 'x86_64', rewoundSyscall: true });
    try {
      const regs = decodeRegisters(core.image.arch, core.image.threads[0]!.gpRegs);
      assert.equal(regs.get('rip'), PC + 2n, 'after the syscall instruction, as rcx says');
      assert.equal(regs.get('rax'), BigInt.asUintN(64, -512n), '-ERESTARTSYS');
      assert.equal(regs.get('orig_rax'), 34n);
    } finally {
      core.close();
    }
  });

  it('psargs: 79 bytes of the command line at most, never half a UTF-8 character', async () => {
    // 76 ASCII bytes, then 'é' (2 bytes) twice: the first ends at byte 78, the second would
    // straddle the 79-byte limit and is left out whole.
    const arg = 'x'.repeat(70);
    const { core } = await convert({ arch: 'x86_64', argv: `prog\0${arg}\0éé\0more\0` });
    try {
      const want = `prog ${arg} é`;
      assert.equal(Buffer.byteLength(want), 78);
      assert.equal(core.image.process.psargs, want);
    } finally {
      core.close();
    }
  });
});
