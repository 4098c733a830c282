// The guest-memory pipeline through the library API (no CLI): each refusal arrives as a
// GuestMemoryError of its kind with no file left behind, and a guest that passes the checks is
// written byte-identical to QEMU's own dump-guest-memory.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSink } from '../../src/io/sink.js';
import {
  GuestMemoryError,
  type GuestMemoryErrorKind,
  writeGuestMemory,
} from '../../src/pipelines/guest-memory.js';
import { openQemuCore, type QemuCore } from '../../src/pipelines/qemu-core.js';
import { tempDir } from '../helpers/proc.js';
import { assertSameGuestMemory, gcore, qemuDump, requireTools, startGuest, stopGuest } from './guest.js';

requireTools('qemu-system-x86_64', 'gcore', 'eu-readelf');

describe('guest-memory pipeline (library API)', () => {
  const tmp = tempDir('coreshot-qemu-pipeline-');
  const out = join(tmp.path, 'out');
  const qemuVmcore = join(tmp.path, 'qemu.vmcore');
  let onCore: string;
  let offCore: string;
  let noneCore: string;

  /** A core of QEMU started with `machine` (64 MiB for a pc), stopped before its first instruction. */
  async function qemuCore(name: string, machine: string, dump?: string): Promise<string> {
    const dir = join(tmp.path, name);
    mkdirSync(dir);
    const memory = machine.startsWith('pc') ? { memory: '64M' } : {};
    const guest = await startGuest(dir, { ...memory, machine, stopped: true });
    try {
      if (dump) await qemuDump(guest, dump);
      return gcore(guest, join(dir, 'gcore'));
    } finally {
      await stopGuest(guest);
    }
  }

  before(async () => {
    mkdirSync(out);
    onCore = await qemuCore('on', 'pc,dump-guest-core=on', qemuVmcore);
    offCore = await qemuCore('off', 'pc,dump-guest-core=off');
    noneCore = await qemuCore('none', 'none');
  });
  after(() => tmp.cleanup());

  /** Runs the pipeline on `q` into a file sink; asserts the refusal's kind and that no file is left. */
  async function assertRefused(q: QemuCore, kind: GuestMemoryErrorKind): Promise<GuestMemoryError> {
    const path = join(out, `${kind}.vmcore`);
    let caught: unknown;
    await writeGuestMemory(q, new FileSink(path)).catch((err: unknown) => {
      caught = err;
    });
    assert.ok(caught instanceof GuestMemoryError, `expected a GuestMemoryError, got ${String(caught)}`);
    assert.equal(caught.kind, kind, caught.message);
    assert.deepEqual(readdirSync(out), [], 'no output and no temporary file');
    return caught;
  }

  /** Opens a QEMU core, runs `fn` on it, closes it. */
  async function withQemu(path: string, fn: (q: QemuCore) => Promise<void>, root?: string): Promise<void> {
    const q = openQemuCore(path, root ? { root } : {});
    try {
      await fn(q);
    } finally {
      q.close();
    }
  }

  test('dump-guest-core=off, known from QEMU machine state through its symbols', async () => {
    await withQemu(offCore, async (q) => {
      assert.equal(q.guest.method, 'symbols');
      assert.equal(q.guest.machine?.dumpGuestCore, false);
      await assertRefused(q, 'dump-guest-core-off');
    });
  });

  test('without QEMU symbols (scan), RAM blocks the core lacks are refused and named', async () => {
    const emptyRoot = join(tmp.path, 'empty-root');
    mkdirSync(emptyRoot);
    await withQemu(
      offCore,
      async (q) => {
        assert.equal(q.guest.method, 'scan');
        assert.equal(q.guest.machine, undefined);
        const err = await assertRefused(q, 'guest-ram-absent');
        assert.ok(err.blocks.includes('pc.ram'), err.blocks.join(', '));
      },
      emptyRoot,
    );
  });

  test('a QEMU without guest RAM (-machine none)', async () => {
    await withQemu(noneCore, (q) => assertRefused(q, 'no-guest-ram').then(() => undefined));
  });

  test('an executable whose name does not tell the arch needs one; given, the vmcore matches QEMU', async () => {
    await withQemu(onCore, async (q) => {
      const renamed: QemuCore = { ...q, executable: '/opt/emulators/bin/vm-runner' };
      await assertRefused(renamed, 'unknown-arch');
      const path = join(tmp.path, 'guest.vmcore');
      const res = await writeGuestMemory(renamed, new FileSink(path), { arch: 'x86_64' });
      assert.equal(res.arch, 'x86_64');
      assertSameGuestMemory(qemuVmcore, path);
    });
  });
});
