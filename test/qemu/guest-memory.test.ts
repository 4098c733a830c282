import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ElfFile } from '../../src/elf/reader.js';
import { FileAccess } from '../../src/io/random-access.js';
import { CLI, coreshot, killAndWait, runOk, startDetached, tempDir } from '../helpers/proc.js';
import {
  assertSameGuestMemory,
  coreshotDump,
  type Guest,
  gcore,
  kernelCore,
  loads,
  makePatterns,
  type Pattern,
  qemuDump,
  readPhys,
  requireTools,
  sleep,
  startGuest,
  startLinuxGuest,
  stopGuest,
} from './guest.js';

requireTools('qemu-system-x86_64', 'gcore', 'eu-readelf', 'cpio', '/usr/bin/python3');

interface ListJson {
  method: string;
  executable: string;
  ranges: { start: string; size: number; block: string }[];
  blocks: { idstr: string; coverage: string }[];
  vmcoreinfo?: { paddr: string; size: number };
  notes: string[];
}

function extract(core: string, out: string, extra: string[] = []): void {
  const r = coreshot(['guest-memory', core, '-o', out, ...extra], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(out).mode & 0o777, 0o600);
}

function list(core: string, extra: string[] = []): ListJson {
  const r = coreshot(['guest-memory', core, '--list', '--json', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ListJson;
}

function assertPatterns(vmcore: string, patterns: Pattern[]): void {
  const segs = loads(vmcore);
  for (const p of patterns) {
    assert.ok(
      readPhys(vmcore, segs, p.addr, p.data.length).equals(p.data),
      `pattern at 0x${p.addr.toString(16)}`,
    );
  }
}

describe('guest-memory: small guest (64 MiB, stopped, loader patterns)', () => {
  const tmp = tempDir('coreshot-qemu-');
  let guest: Guest;
  let patterns: Pattern[];
  const dump = join(tmp.path, 'qemu.vmcore');
  let gcoreFile: string;
  let kernelFile: string;
  let dumpFile: string;

  before(async () => {
    patterns = makePatterns(tmp.path, [0x1000000n, 0x2345000n, 0x3ff0000n]);
    guest = await startGuest(tmp.path, { memory: '64M', patterns, stopped: true, kernelCore: true });
    await qemuDump(guest, dump);
    gcoreFile = gcore(guest, join(tmp.path, 'gcore'));
    dumpFile = coreshotDump(guest, join(tmp.path, 'coreshot.core'));
    kernelFile = await kernelCore(guest);
  });
  after(async () => {
    if (guest) await stopGuest(guest);
    tmp.cleanup();
  });

  test('from a gcore: every range of QEMU dump-guest-memory is byte-identical', () => {
    const out = join(tmp.path, 'gcore.vmcore');
    extract(gcoreFile, out);
    assertSameGuestMemory(dump, out);
    assertPatterns(out, patterns);
    const h = runOk('eu-readelf', ['-h', out]).stdout;
    assert.match(h, /ELF64/);
    assert.match(h, /CORE \(Core file\)/);
    assert.match(h, /AMD x86-64/);
  });

  test('from coreshot dump: identical as well', () => {
    const out = join(tmp.path, 'dump.vmcore');
    extract(dumpFile, out);
    assertSameGuestMemory(dump, out);
    assertPatterns(out, patterns);
  });

  test('from the kernel core (SIGABRT): identical as well', () => {
    const out = join(tmp.path, 'kernel.vmcore');
    extract(kernelFile, out);
    assertSameGuestMemory(dump, out);
    assertPatterns(out, patterns);
  });

  test('--list names the blocks and the map, found through the dynamic symbols', () => {
    const j = list(gcoreFile);
    assert.equal(j.method, 'symbols');
    assert.equal(j.executable, '/usr/bin/qemu-system-x86_64');
    assert.ok(j.blocks.some((b) => b.idstr === 'pc.ram' && b.coverage === 'held'));
    assert.deepEqual(
      j.ranges.map((r) => [BigInt(r.start), BigInt(r.size)]),
      loads(dump).map((s) => [s.paddr, s.filesz]),
    );
    const text = coreshot(['guest-memory', gcoreFile, '--list']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /pc\.ram/);
    assert.match(text.stdout, /VMCOREINFO: not registered/);
  });

  test('without the executable (--root elsewhere) it scans the heap and finds the same', () => {
    const empty = join(tmp.path, 'emptyroot');
    runOk('mkdir', [empty]);
    const j = list(gcoreFile, ['--root', empty]);
    assert.equal(j.method, 'scan');
    assert.ok(j.notes.some((n) => n.includes('not readable')));
    const out = join(tmp.path, 'scan.vmcore');
    extract(gcoreFile, out, ['--root', empty]);
    assertSameGuestMemory(dump, out);
  });

  test('--root: symbols from a sysroot copy; an executable with another build-id is not trusted', () => {
    const good = join(tmp.path, 'sysroot');
    mkdirSync(join(good, 'usr/bin'), { recursive: true });
    copyFileSync('/usr/bin/qemu-system-x86_64', join(good, 'usr/bin/qemu-system-x86_64'));
    assert.equal(list(gcoreFile, ['--root', good]).method, 'symbols');
    const bad = join(tmp.path, 'badroot');
    mkdirSync(join(bad, 'usr/bin'), { recursive: true });
    copyFileSync('/usr/bin/gdb', join(bad, 'usr/bin/qemu-system-x86_64'));
    const j = list(gcoreFile, ['--root', bad]);
    assert.equal(j.method, 'scan');
    assert.ok(
      j.notes.some((n) => /build-id .* not using its symbols/.test(n)),
      j.notes.join('\n'),
    );
  });

  test('-o - streams the same vmcore to stdout; --arch 386 gives ELFCLASS32; a bad --arch is refused', () => {
    const piped = join(tmp.path, 'piped.vmcore');
    runOk('sh', ['-c', `'${process.execPath}' '${CLI}' guest-memory '${gcoreFile}' -o - > '${piped}'`]);
    assertSameGuestMemory(dump, piped);
    const i386 = join(tmp.path, 'i386.vmcore');
    extract(gcoreFile, i386, ['--arch', '386']);
    const h = runOk('eu-readelf', ['-h', i386]).stdout;
    assert.match(h, /Class:\s+ELF32/);
    assert.match(h, /Machine:\s+Intel 80386/);
    assertSameGuestMemory(dump, i386);
    const bad = coreshot(['guest-memory', gcoreFile, '-o', join(tmp.path, 'bad.vmcore'), '--arch', 'vax']);
    assert.equal(bad.status, 2, 'a usage error');
    assert.match(bad.stderr, /--arch must be one of .*x86_64.*got .vax./);
  });

  test('refuses to overwrite without --force, overwrites with it', () => {
    const out = join(tmp.path, 'gcore.vmcore');
    const r = coreshot(['guest-memory', gcoreFile, '-o', out]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /already exists/);
    extract(gcoreFile, out, ['--force']);
  });
});

describe('guest-memory: guest larger than the below-4G window (3.75 GiB)', () => {
  const tmp = tempDir('coreshot-qemu-big-');
  let guest: Guest;
  let patterns: Pattern[];
  const dump = join(tmp.path, 'qemu.vmcore');
  let gcoreFile: string;
  let dumpFile: string;

  before(async () => {
    patterns = makePatterns(tmp.path, [0x1000000n, 0xbfff0000n, 0x100000000n, 0x12fff0000n]);
    guest = await startGuest(tmp.path, { memory: '3840M', patterns, stopped: true });
    await qemuDump(guest, dump);
    gcoreFile = gcore(guest, join(tmp.path, 'gcore'));
    dumpFile = coreshotDump(guest, join(tmp.path, 'coreshot.core'));
    await stopGuest(guest);
  });
  after(async () => {
    if (guest) await stopGuest(guest);
    tmp.cleanup();
  });

  test('captured with coreshot dump: identical too', () => {
    const out = join(tmp.path, 'dump.vmcore');
    extract(dumpFile, out);
    assertSameGuestMemory(dump, out);
    assertPatterns(out, patterns);
  });

  test('SIGINT during extraction leaves neither the output nor a temporary file (none is ever named)', async () => {
    const dir = join(tmp.path, 'interrupted');
    mkdirSync(dir);
    const child = spawn(process.execPath, [CLI, 'guest-memory', gcoreFile, '-o', join(dir, 'out.vmcore')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // The output has no name while it is written (O_TMPFILE): wait until coreshot holds it open.
    const writing = () =>
      readdirSync(`/proc/${child.pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith(`${dir}/#`);
        } catch {
          return false;
        }
      });
    const end = Date.now() + 60_000;
    while (!writing() && Date.now() < end) await sleep(5);
    assert.ok(writing(), 'the writer started');
    assert.deepEqual(readdirSync(dir), [], 'nothing in the directory while writing');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted by SIGINT/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('RAM split below and above 4 GiB is byte-identical to QEMU dump-guest-memory', () => {
    const j = list(gcoreFile);
    const ram = j.ranges
      .filter((r) => r.block === 'pc.ram')
      .map((r) => [BigInt(r.start), BigInt(r.start) + BigInt(r.size)]);
    assert.deepEqual(ram.at(-1), [0x100000000n, 0x130000000n]);
    assert.ok(ram.some(([, end]) => end === 0xc0000000n));
    const out = join(tmp.path, 'gcore.vmcore');
    extract(gcoreFile, out);
    assertSameGuestMemory(dump, out);
    assertPatterns(out, patterns);
    // Sparse: the untouched guest RAM takes no disk space.
    assert.ok(statSync(out).blocks * 512 < 64 << 20, 'the vmcore is not sparse');
  });
});

describe('guest-memory: Linux guest with -device vmcoreinfo', () => {
  const tmp = tempDir('coreshot-qemu-linux-');
  let guest: Guest;
  const dump = join(tmp.path, 'qemu.vmcore');
  let gcoreFile: string;

  before(async () => {
    guest = await startLinuxGuest(tmp.path);
    await qemuDump(guest, dump);
    gcoreFile = gcore(guest, join(tmp.path, 'gcore'));
    await stopGuest(guest);
  });
  after(async () => {
    if (guest) await stopGuest(guest);
    tmp.cleanup();
  });

  test('the vmcore carries the guest VMCOREINFO and drgn reads guest memory from it', () => {
    const j = list(gcoreFile);
    assert.ok(j.vmcoreinfo, 'the guest registered VMCOREINFO');
    const out = join(tmp.path, 'linux.vmcore');
    extract(gcoreFile, out);
    assertSameGuestMemory(dump, out);
    const vmcoreinfo = (f: string) => {
      const ra = new FileAccess(f);
      try {
        const note = ElfFile.open(ra)
          .notes()
          .find((n) => n.owner === 'VMCOREINFO');
        assert.ok(note, `${f} has no VMCOREINFO note`);
        return note.desc.toString('latin1');
      } finally {
        ra.close();
      }
    };
    assert.equal(vmcoreinfo(out), vmcoreinfo(dump));
    const script = [
      'import sys, drgn',
      'p = drgn.Program()',
      'p.set_core_dump(sys.argv[1])',
      'assert p.flags & drgn.ProgramFlags.IS_LINUX_KERNEL, p.flags',
      'info = dict(l.split("=", 1) for l in sys.argv[2].splitlines() if "=" in l)',
      'virt = int(info["SYMBOL(init_uts_ns)"], 16)',
      'phys = virt - 0xffffffff80000000 + int(info["NUMBER(phys_base)"])',
      'uts = p.read(phys + int(info.get("OFFSET(uts_namespace.name)", "0")), 65 * 3, True)',
      'print(uts[0:65].split(b"\\0")[0].decode(), uts[130:195].split(b"\\0")[0].decode())',
    ].join('\n');
    const text = vmcoreinfo(out);
    const release = /OSRELEASE=(\S+)/.exec(text)?.[1];
    assert.ok(release);
    const r = runOk('/usr/bin/python3', ['-c', script, out, text]);
    assert.equal(r.stdout.trim(), `Linux ${release}`);
  });
});

describe('guest-memory: clear errors', () => {
  const tmp = tempDir('coreshot-qemu-err-');
  after(() => tmp.cleanup());

  function assertFails(core: string, pattern: RegExp): void {
    const out = join(tmp.path, 'never.vmcore');
    const r = coreshot(['guest-memory', core, '-o', out]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(out), 'no output file on failure');
  }

  test('a core of a process that is not QEMU', async () => {
    const pid = startDetached('sleep', ['100']);
    try {
      runOk('gcore', ['-o', join(tmp.path, 'sleep'), String(pid)]);
    } finally {
      await killAndWait(pid);
    }
    assertFails(join(tmp.path, `sleep.${pid}`), /is not the core of a QEMU process/);
  });

  test('a QEMU core whose guest RAM was excluded (dump-guest-core=off)', async () => {
    const dir = join(tmp.path, 'off');
    runOk('mkdir', [dir]);
    const guest = await startGuest(dir, { memory: '64M', machine: 'pc,dump-guest-core=off', stopped: true });
    try {
      const core = gcore(guest, join(dir, 'gcore'));
      assertFails(core, /dump-guest-core=off/);
    } finally {
      await stopGuest(guest);
    }
  });

  test('a QEMU core without guest RAM (-machine none)', async () => {
    const dir = join(tmp.path, 'none');
    runOk('mkdir', [dir]);
    const guest = await startGuest(dir, { machine: 'none', stopped: true });
    try {
      const core = gcore(guest, join(dir, 'gcore'));
      assertFails(core, /no guest RAM/);
    } finally {
      await stopGuest(guest);
    }
  });
});
