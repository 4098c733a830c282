import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NT_SIGINFO, NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE } from '../../src/abi/notes.js';
import { convertCheckpoint } from '../../src/pipelines/criu.js';
import { Checkpoint } from '../../src/sources/criu/checkpoint.js';
import {
  AMD_XSAVE_LAYOUT,
  hostXsaveLayout,
  INTEL_XSAVE_LAYOUT,
  XsaveLayout,
} from '../../src/sources/criu/xsave-layout.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { runOk, tempDir } from '../helpers/proc.js';
import { CRIU, requireFixtures } from './helpers.js';
import { VDSO, writeCheckpoint } from './synth.js';

const tmp = tempDir('coreshot-criu-notes-');
after(() => tmp.cleanup());

describe('convert criu: notes and substitutes', () => {
  it('a queued signal becomes NT_SIGINFO and the thread status signal', async () => {
    const siginfo = Buffer.alloc(128);
    siginfo.writeInt32LE(10, 0); // SIGUSR1
    siginfo.writeInt32LE(0, 4);
    siginfo.writeInt32LE(-6, 8); // SI_TKILL
    siginfo.writeInt32LE(77, 12); // si_pid
    const images = join(tmp.path, 'sig', 'images');
    writeCheckpoint(images, { arch: 'x86_64', siginfo });
    const {
      cores: [res],
    } = await convertCheckpoint(images, join(tmp.path, 'sig', 'out'));
    const core = openCore(res!.path);
    try {
      const note = core.notes.find((n) => n.type === NT_SIGINFO);
      assert.ok(note);
      assert.deepEqual(note.desc, siginfo);
      assert.equal(core.image.threads[0]!.status.cursig, 10);
      const text = runOk('eu-readelf', ['-n', res!.path]).stdout;
      assert.match(text, /si_signo: 10/);
    } finally {
      core.close();
    }
  });

  it('[vdso] missing from the images is taken from the running kernel', async () => {
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
    const line = maps.find((l) => l.endsWith('[vdso]'));
    assert.ok(line, 'this process has a [vdso]');
    const [lo, hi] = line
      .split(' ')[0]!
      .split('-')
      .map((h) => BigInt(`0x${h}`));
    const images = join(tmp.path, 'vdso', 'images');
    writeCheckpoint(images, { arch: 'x86_64', vdsoSize: hi! - lo! });
    const {
      cores: [res],
    } = await convertCheckpoint(images, join(tmp.path, 'vdso', 'out'));
    assert.deepEqual(res!.problems, ['[vdso] is not in the images: taken from the running kernel']);
    const core = openCore(res!.path);
    try {
      const got = core.image.memory.read(VDSO, Number(hi! - lo!));
      assert.deepEqual(got.missing, []);
      assert.equal(got.data.subarray(0, 4).toString('latin1'), '\x7fELF');
      const m = core.image.mappings.find((x) => x.start === VDSO);
      assert.equal(m?.path, undefined, 'NT_FILE does not list [vdso]');
    } finally {
      core.close();
    }
  });

  it('NT_X86_XSTATE follows the given XSAVE layout, described by NT_X86_XSAVE_LAYOUT', () => {
    requireFixtures();
    const dir = join(CRIU, 'single');
    // A CPU without AVX-512 has no place for the checkpoint's zmm state: Intel's layout is used.
    const avxOnly = new XsaveLayout([{ bit: 2, offset: 576, size: 256 }], 'AVX only');
    for (const [layout, zmmH] of [
      [INTEL_XSAVE_LAYOUT, 1152],
      [AMD_XSAVE_LAYOUT, 896],
      [avxOnly, 1152],
    ] as const) {
      const ck = Checkpoint.open(join(dir, 'images'), { root: join(dir, 'root'), xsaveLayout: layout });
      const { image, close } = ck.processImage(18851);
      try {
        const spin = image.threads.find((t) => t.tid === 18856)!;
        const xs = spin.regsets.find((r) => r.type === NT_X86_XSTATE)!.data;
        assert.equal(xs.length, 2688, 'the size debuggers expect for x87|SSE|AVX|AVX-512');
        assert.equal(xs.readBigUInt64LE(464), 0xe7n, 'XCR0 in the software-reserved bytes');
        assert.equal(xs.readBigUInt64LE(512), 0xe6n, 'XSTATE_BV as checkpointed');
        // zmm0 = 01..08 per qword: its upper half (05..08) is the first ZMM_Hi256 entry.
        assert.equal(xs.readBigUInt64LE(zmmH), 0x0505050505050505n);
        assert.equal(xs.readBigUInt64LE(576), 0x0303030303030303n, 'ymm0 high half');
        assert.equal(xs.readBigUInt64LE(160), 0x0101010101010101n, 'xmm0');
        const note = image.extraNotes.find((n) => n.type === NT_X86_XSAVE_LAYOUT)!;
        const comps = [];
        for (let i = 0; i < note.desc.length; i += 16)
          comps.push([
            note.desc.readUInt32LE(i),
            note.desc.readUInt32LE(i + 4),
            note.desc.readUInt32LE(i + 8),
          ]);
        assert.deepEqual(
          comps.find((c) => c[0] === 6),
          [6, 512, zmmH],
        );
      } finally {
        close();
      }
    }
  });

  it("the host layout comes from this machine's CPUID (or its vendor)", () => {
    const host = hostXsaveLayout();
    assert.deepEqual(host.component(2), { bit: 2, offset: 576, size: 256 }, 'AVX is architectural');
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512f\b/.test(cpuinfo)) {
      const zmmH = host.component(6)?.offset;
      const amd = /^vendor_id\s*:\s*AuthenticAMD/m.test(cpuinfo);
      assert.equal(zmmH, amd ? 896 : 1152, `${host.source}: ZMM_Hi256 offset`);
    }
  });
});
