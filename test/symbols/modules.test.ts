// loadModules() on a kernel core agrees with `eu-unstrip -n --core`: each module's start (load
// bias + first PT_LOAD, page-aligned), build-id and separate debug file (libc6-dbg's, by
// build-id); the vdso is read from the image's memory; find() maps pcs to the right module;
// --root with a different file refuses it (build-id) and falls back to the ELF in memory.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModules } from '../../src/analysis/modules.js';
import { PT_LOAD } from '../../src/elf/constants.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore, type MadeCore, requireTool } from '../helpers/cores.js';
import { compileC, runOk, tempDir } from '../helpers/proc.js';

let made: MadeCore;
before(() => {
  requireTool('eu-unstrip');
  made = kernelCore();
});
after(() => made?.cleanup());

interface UnstripLine {
  start: bigint;
  size: bigint;
  buildId: string;
  debug: string;
  name: string;
}

function euUnstrip(core: string, exe: string): UnstripLine[] {
  const out = runOk('eu-unstrip', ['-n', `--core=${core}`, '-e', exe]).stdout;
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [range, id, , debug, name] = line.split(' ');
      const [start, size] = range!.split('+');
      return {
        start: BigInt(start!),
        size: BigInt(size!),
        buildId: id!.split('@')[0]!,
        debug: debug!,
        name: name!,
      };
    });
}

function firstLoadPage(vaddr: bigint): bigint {
  return vaddr - (vaddr % 4096n);
}

test('modules equal eu-unstrip -n: start, build-id, debug file; vdso from memory', () => {
  const core = openCore(made.core);
  const modules = loadModules(core.image);
  try {
    const expected = euUnstrip(made.core, made.exe);
    assert.equal(modules.list.length, expected.length, modules.list.map((m) => m.path).join(', '));
    for (const e of expected) {
      const m = modules.list.find((x) => x.buildId === e.buildId);
      assert.ok(m, `a module with build-id ${e.buildId} (${e.name})`);
      assert.ok(m.elf, `${m.path} has an ELF`);
      const load = m.elf.programHeaders.find((p) => p.p_type === PT_LOAD)!;
      assert.equal(m.runtime(firstLoadPage(load.p_vaddr)), e.start, `${m.path} start`);
      assert.equal(modules.find(e.start), m, `find(start) of ${m.path}`);
      assert.equal(modules.find(e.start + e.size - 1n), m, `find(last byte) of ${m.path}`);
      if (e.name === 'linux-vdso.so.1') {
        assert.equal(m.path, '[vdso]');
        assert.equal(m.fromMemory, true);
        assert.ok(m.section('.dynsym'), 'the vdso has its section headers in memory');
      } else {
        assert.equal(m.fromMemory, false, `${m.path} is read from disk`);
      }
      assert.equal(m.debugPath ?? '-', e.debug === '-' ? '-' : e.debug, `${m.path} debug file`);
      assert.ok(m.section('.eh_frame_hdr'), `${m.path} has .eh_frame_hdr`);
      assert.ok(m.section('.eh_frame'), `${m.path} has .eh_frame`);
    }
    assert.equal(modules.find(1n), undefined);
  } finally {
    modules.close();
    core.close();
  }
});

test('--root with another build of the program: refused with a reason, read from memory', () => {
  const t = tempDir('coreshot-modules-');
  try {
    const fake = join(t.path, made.exe);
    mkdirSync(dirname(fake), { recursive: true });
    compileC('/dev/null', fake, ['-x', 'c', '-nostdlib', '-Wl,-e,0', '-Wl,--build-id']);
    const core = openCore(made.core);
    const libs = [...new Set(core.image.mappings.map((m) => m.path ?? ''))].filter((p) => p.includes('.so'));
    for (const lib of libs) {
      mkdirSync(join(t.path, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(t.path, lib));
    }
    const modules = loadModules(core.image, { root: t.path });
    try {
      const exe = modules.list.find((m) => m.path === made.exe)!;
      assert.match(exe.reason ?? '', /build-id .* does not match the image's/);
      assert.equal(exe.fromMemory, true);
      assert.ok(exe.elf, 'the ELF header is in the core');
      const hdr = exe.section('.eh_frame_hdr');
      assert.ok(hdr, '.eh_frame_hdr through PT_GNU_EH_FRAME');
      // eh_frame_ptr (DW_EH_PE_pcrel | sdata4) leads to the .eh_frame the file's headers name.
      const ptr = exe.sectionAddress('.eh_frame_hdr')! + 4n + BigInt(hdr.readInt32LE(4));
      const onDisk = loadModules(core.image).list.find((m) => m.path === made.exe)!;
      assert.equal(ptr, onDisk.sectionAddress('.eh_frame'));
      const frame = onDisk.section('.eh_frame')!;
      assert.deepEqual(exe.loadedBytes(ptr, frame.length), frame);
      onDisk.close();
      const libc = modules.list.find((m) => m.path.endsWith('/libc.so.6'))!;
      assert.equal(libc.hostPath, join(t.path, libc.path), libc.reason);
      assert.equal(libc.reason, undefined);
    } finally {
      modules.close();
      core.close();
    }
  } finally {
    t.cleanup();
  }
});

test('--exe replaces an executable whose recorded path is gone', () => {
  const t = tempDir('coreshot-modules-');
  try {
    const core = openCore(made.core);
    const copy = join(t.path, 'renamed');
    copyFileSync(made.exe, copy);
    const modules = loadModules(core.image, { root: t.path, exe: copy });
    try {
      const exe = modules.list.find((m) => m.path === made.exe)!;
      assert.equal(exe.hostPath, copy);
      assert.equal(exe.fromMemory, false);
      assert.ok(exe.section('.symtab'));
    } finally {
      modules.close();
      core.close();
    }
  } finally {
    t.cleanup();
  }
});
