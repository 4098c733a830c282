// Memory read through openCore().image.memory and `coreshot read --raw` equals what gdb's `x`
// prints, on a kernel core and a gcore of the same multi-threaded program: stack, heap, .data and
// a text page that only the mapped executable holds. Then --root: build-id mismatch and missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeRegisters } from '../../src/elf/regs/index.js';
import { FileSink } from '../../src/io/sink.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { CLI, coreshot, runOk, tempDir } from '../helpers/proc.js';
import { syntheticImage } from '../helpers/synthetic.js';
import { buildVariant, gdbBytes, type TargetCore, targetGcore, targetKernelCore } from './cores.js';

const tmp = tempDir('coreshot-gdbmem-');
let kernel: TargetCore;
let gcore: TargetCore;

before(async () => {
  kernel = targetKernelCore();
  gcore = await targetGcore();
});
after(() => {
  kernel?.cleanup();
  gcore?.cleanup();
  tmp.cleanup();
});

/** `coreshot read --raw`, its stdout as bytes. */
function readRaw(core: string, addr: bigint, length: number): Buffer {
  const res = spawnSync(process.execPath, [
    CLI,
    'read',
    '--raw',
    core,
    `0x${addr.toString(16)}`,
    String(length),
  ]);
  assert.equal(res.status, 0, res.stderr.toString());
  return res.stdout;
}

for (const which of ['kernel', 'gcore'] as const) {
  describe(`${which} core: memory equals gdb's x`, () => {
    test('stack, heap, .data and a file-only text page', () => {
      const built = which === 'kernel' ? kernel : gcore;
      const core = openCore(built.core);
      try {
        const { image } = core;
        assert.equal(image.threads.length, 4);
        const rsp = decodeRegisters(image.arch, image.threads[0]!.gpRegs).get('rsp')!;
        const textMap = image.mappings.find((m) => m.start <= built.addrs.text && built.addrs.text < m.end)!;
        assert.ok(textMap, 'a mapping holds the text address');
        assert.equal(textMap.dumped, 0n, 'the text page is not in the core (p_filesz 0)');
        assert.equal(textMap.path, built.exe);
        const reads = [
          { what: 'stack marker', addr: built.addrs.stack, length: 64, marker: 'CORESHOT-STACK-MARKER' },
          { what: 'rsp', addr: rsp, length: 256 },
          { what: 'heap', addr: built.addrs.heap, length: 200, marker: 'CORESHOT-HEAP-MARKER' },
          { what: '.data', addr: built.addrs.data, length: 64, marker: 'CORESHOT-DATA-MARKER' },
          { what: 'text', addr: built.addrs.text, length: 256 },
          { what: 'text page', addr: textMap.start, length: 4096 },
        ];
        const fromGdb = gdbBytes(built.exe, built.core, reads);
        reads.forEach((r, i) => {
          const got = image.memory.read(r.addr, r.length);
          assert.deepEqual(got.missing, [], `${r.what}: nothing missing`);
          assert.ok(got.data.equals(fromGdb[i]!), `${r.what} at 0x${r.addr.toString(16)} equals gdb`);
          if (r.marker) assert.ok(got.data.includes(r.marker), `${r.what} holds its marker`);
          assert.ok(readRaw(built.core, r.addr, r.length).equals(got.data), `read --raw of ${r.what}`);
        });
      } finally {
        core.close();
      }
    });
  });
}

describe('mapped files under --root', () => {
  test('a different build of the executable: reported, and its pages are not used', () => {
    const root = join(tmp.path, 'root-mismatch');
    mkdirSync(join(root, dirname(kernel.exe)), { recursive: true });
    buildVariant(join(root, kernel.exe));
    const core = openCore(kernel.core, { root });
    try {
      const st = core.fileStatus.find((f) => f.path === kernel.exe)!;
      assert.equal(st.status, 'build-id-mismatch');
      assert.ok(st.coreBuildId && st.fileBuildId && st.coreBuildId !== st.fileBuildId);
      assert.ok(core.problems.some((p) => p.what.includes('does not match')));
      const r = core.image.memory.read(kernel.addrs.text, 16);
      assert.deepEqual(
        r.missing.map((m) => m.reason),
        ['file-unavailable'],
      );
    } finally {
      core.close();
    }
    const info = coreshot(['info', '--root', root, kernel.core]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /1 build-id mismatch/);
    assert.match(info.stdout, /does not match the core's/);
    const raw = coreshot([
      'read',
      '--raw',
      '--root',
      root,
      kernel.core,
      `0x${kernel.addrs.text.toString(16)}`,
      '16',
    ]);
    assert.equal(raw.status, 1);
    assert.match(raw.stderr, /file-unavailable/);
  });

  test('the same build copied under --root is used', () => {
    const root = join(tmp.path, 'root-same');
    mkdirSync(join(root, dirname(kernel.exe)), { recursive: true });
    copyFileSync(kernel.exe, join(root, kernel.exe));
    const core = openCore(kernel.core, { root });
    try {
      assert.equal(core.fileStatus.find((f) => f.path === kernel.exe)!.status, 'used');
      const direct = openCore(kernel.core);
      try {
        assert.ok(
          core.image.memory
            .read(kernel.addrs.text, 256)
            .data.equals(direct.image.memory.read(kernel.addrs.text, 256).data),
        );
      } finally {
        direct.close();
      }
    } finally {
      core.close();
    }
  });

  test('a missing file is reported with the --root hint', () => {
    const root = join(tmp.path, 'root-empty');
    mkdirSync(root);
    const core = openCore(kernel.core, { root });
    try {
      const st = core.fileStatus.find((f) => f.path === kernel.exe)!;
      assert.equal(st.status, 'missing');
      assert.equal(st.hostPath, join(root, kernel.exe));
      assert.deepEqual(
        core.image.memory.read(kernel.addrs.text, 16).missing.map((m) => m.reason),
        ['file-unavailable'],
      );
    } finally {
      core.close();
    }
    const info = coreshot(['info', '--root', root, kernel.core]);
    assert.equal(info.status, 0, info.stderr);
    assert.ok(
      info.stdout.includes(`${join(root, kernel.exe)} (use --root DIR to look for mapped files elsewhere)`),
      info.stdout,
    );
    const json = JSON.parse(coreshot(['info', '--json', '--root', root, kernel.core]).stdout);
    assert.ok(json.mappedFiles.missing.includes(join(root, kernel.exe)));
  });

  test('a FIFO named by the core is neither opened nor read (it would block)', async () => {
    const root = join(tmp.path, 'root-fifo');
    const fifo = '/srv/pipe';
    mkdirSync(join(root, '/srv'), { recursive: true });
    runOk('mkfifo', [join(root, fifo)]);
    const core = join(tmp.path, 'fifo.core');
    await writeElfCore(syntheticImage({ mappedFile: fifo }), new FileSink(core));
    const res = coreshot(['info', '--json', '--root', root, core], { timeoutMs: 20_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout).mappedFiles.missing, [join(root, fifo)]);
  });
});
