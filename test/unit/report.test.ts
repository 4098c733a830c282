// Unit tests of analysis/report.ts on synthetic images (no files, no processes): where each byte
// of a mapping comes from, the totals and missing ranges built from it, truncation, the producer,
// the executable, the signal and the command.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AT } from '../../src/abi/auxv.js';
import { NT_PRPSINFO, NT_PRSTATUS } from '../../src/abi/notes.js';
import { coreReport, executablePath, type ReportInput } from '../../src/analysis/report.js';
import type { Phdr } from '../../src/elf/layout.js';
import { type Region, SplicedAddressSpace } from '../../src/model/address-space.js';
import type { Mapping, ProcessImage } from '../../src/model/process-image.js';
import { syntheticImage } from '../helpers/synthetic.js';

const LIB = '/usr/lib/libdemo.so.1';
const GONE = '/usr/lib/libgone.so.2';

/** A region whose bytes are all `fill`. */
function filled(start: bigint, end: bigint, kind: 'core' | 'file', fill: number): Region {
  return {
    start,
    end,
    kind,
    reader: (_off, target) => {
      target.fill(fill);
      return target.length;
    },
  };
}

function mapping(start: bigint, end: bigint, dumped: bigint, path?: string): Mapping {
  const m: Mapping = { start, end, read: true, write: false, exec: false, shared: false, offset: 0n, dumped };
  if (path) m.path = path;
  return m;
}

function load(vaddr: bigint, offset: bigint, filesz: bigint, memsz: bigint): Phdr {
  return {
    p_type: 1,
    p_flags: 4,
    p_offset: offset,
    p_vaddr: vaddr,
    p_paddr: 0n,
    p_filesz: filesz,
    p_memsz: memsz,
    p_align: 0x1000n,
  };
}

/**
 * The synthetic image plus two file mappings (one supplied by its file, one whose file is gone)
 * and an anonymous mapping no region covers at all, as an ELF core source would open it.
 */
function input(): ReportInput {
  const image = syntheticImage();
  image.mappings.push(
    mapping(0x900000n, 0x903000n, 0x1000n, LIB),
    mapping(0x903000n, 0x905000n, 0n, GONE),
    mapping(0xa00000n, 0xa01000n, 0n),
  );
  const spliced = image.memory.regions();
  image.memory = new SplicedAddressSpace([
    [...spliced, filled(0x900000n, 0x901000n, 'core', 1)],
    [filled(0x901000n, 0x903000n, 'file', 2)],
    [{ start: 0x903000n, end: 0x905000n, kind: 'missing', reason: 'file-unavailable' }],
    [{ start: 0x601000n, end: 0x610000n, kind: 'missing', reason: 'not-in-core' }],
  ]);
  return {
    path: '/cores/core.4242',
    elf: { ra: { size: 0x200000n } },
    image,
    notes: [
      { owner: 'CORE', type: NT_PRSTATUS },
      { owner: 'CORE', type: NT_PRPSINFO },
    ],
    loads: image.mappings.map((m) => load(m.start, 0x1000n, m.dumped, m.end - m.start)),
    fileStatus: [
      { path: LIB, hostPath: `/root${LIB}`, status: 'used' },
      { path: GONE, hostPath: `/root${GONE}`, status: 'missing' },
    ],
    problems: [{ what: 'first problem' }, { what: 'second problem' }],
  };
}

describe('report: where memory comes from', () => {
  const report = coreReport(input());
  const byStart = new Map(report.mappings.map((m) => [m.start, m]));
  const sources = (start: bigint) =>
    byStart.get(start)!.sources.map((s) => [s.start, s.end, s.kind, s.reason ?? null]);

  test('each mapping is split by source, clipped to the mapping', () => {
    assert.deepEqual(sources(0x600000n), [
      [0x600000n, 0x601000n, 'core', null],
      [0x601000n, 0x610000n, 'missing', 'not-in-core'],
    ]);
    assert.deepEqual(sources(0x700000n), [[0x700000n, 0x800000n, 'zero', null]]);
    assert.deepEqual(sources(0x900000n), [
      [0x900000n, 0x901000n, 'core', null],
      [0x901000n, 0x903000n, 'file', null],
    ]);
    assert.deepEqual(sources(0x903000n), [[0x903000n, 0x905000n, 'missing', 'file-unavailable']]);
  });

  test('a mapping no region covers is unmapped, not silently empty', () => {
    assert.deepEqual(sources(0xa00000n), [[0xa00000n, 0xa01000n, 'missing', 'unmapped']]);
  });

  test('coverage and the rest column follow the dumped size and the mapped file', () => {
    const row = (start: bigint) => {
      const m = byStart.get(start)!;
      return [m.coverage, m.rest, m.perms, m.size];
    };
    assert.deepEqual(row(0x400000n), ['all', null, 'r-xp', 0x4000n]);
    assert.deepEqual(row(0x600000n), ['partial', 'absent', 'rw-p', 0x10000n]);
    assert.deepEqual(row(0x900000n), ['partial', 'file', 'r--p', 0x3000n]);
    assert.deepEqual(row(0x903000n), ['none', 'missing', 'r--p', 0x2000n]);
  });

  test('missing ranges list every byte that cannot be supplied, adjacent ones of one reason merged', () => {
    assert.deepEqual(
      report.missing.map((m) => [m.start, m.end, m.reason]),
      [
        [0x601000n, 0x610000n, 'not-in-core'],
        [0x903000n, 0x905000n, 'file-unavailable'],
        [0xa00000n, 0xa01000n, 'unmapped'],
      ],
    );
    const im = input();
    im.image.mappings = [mapping(0x1000n, 0x2000n, 0n), mapping(0x2000n, 0x3000n, 0n)];
    im.image.memory = new SplicedAddressSpace([
      [{ start: 0x1000n, end: 0x3000n, kind: 'missing', reason: 'not-in-core' }],
    ]);
    assert.deepEqual(
      coreReport(im).missing.map((m) => [m.start, m.end, m.reason]),
      [[0x1000n, 0x3000n, 'not-in-core']],
    );
  });

  test('totals: in core from the dumped sizes, the rest by region kind', () => {
    const dumped = input().image.mappings.reduce((n, m) => n + m.dumped, 0n);
    assert.deepEqual(report.summary.memory, {
      inCore: dumped,
      fromFiles: 0x2000n,
      unavailable: 0x2000n,
      notInCore: 0xf000n,
      truncated: 0n,
    });
    assert.equal(report.summary.mappings, 6);
  });

  test('segment data past the end of the file counts as truncated, from where the file ends', () => {
    const im = input();
    im.elf = { ra: { size: 0x3000n } };
    im.loads = [load(0x400000n, 0x1000n, 0x4000n, 0x4000n), load(0x600000n, 0x5000n, 0x1000n, 0x10000n)];
    // The first segment loses [0x3000, 0x5000) of the file, the second all its 0x1000 bytes.
    assert.equal(coreReport(im).summary.memory.truncated, 0x3000n);
  });

  test('mapped files: counted by status, the unusable named by their host path', () => {
    assert.deepEqual(report.summary.mappedFiles, {
      total: 2,
      used: 1,
      missing: [`/root${GONE}`],
      buildIdMismatch: [],
    });
    assert.deepEqual(report.summary.problems, ['first problem', 'second problem']);
  });
});

describe('report: who wrote the core', () => {
  const producer = (notes: ReportInput['notes']) => coreReport({ ...input(), notes }).summary.producer;

  test('QEMU and GDB owners, gdb note order, else the kernel layout', () => {
    assert.equal(producer([{ owner: 'QEMU', type: 1 }]), 'QEMU');
    assert.equal(
      producer([
        { owner: 'CORE', type: NT_PRSTATUS },
        { owner: 'GDB', type: 0x201 },
      ]),
      'gdb',
    );
    assert.equal(producer([{ owner: 'CORE', type: NT_PRPSINFO }]), 'gdb');
    assert.equal(producer([{ owner: 'CORE', type: NT_PRSTATUS }]), 'kernel layout');
    assert.equal(producer([]), 'kernel layout');
  });
});

describe('report: executable', () => {
  /** The synthetic image with AT_EXECFN pointing at `text` (NUL-terminated) in core memory. */
  function withExecfn(text: string, held = true): ProcessImage {
    const image = syntheticImage();
    const bytes = Buffer.from(`${text}\0`);
    const at = 0xb00000n;
    const regions: Region[] = [...image.memory.regions()];
    if (held)
      regions.push({
        start: at,
        end: at + 0x1000n,
        kind: 'core',
        reader: (off, target) => {
          target.fill(0);
          bytes.copy(target, 0, Number(off));
          return target.length;
        },
      });
    image.memory = new SplicedAddressSpace([regions]);
    image.auxv = [{ type: BigInt(AT.EXECFN), value: at }];
    return image;
  }

  test('the file mapped at AT_ENTRY comes first', () => {
    const image = withExecfn('/bin/other');
    image.mappings[0]!.path = '/usr/bin/synthetic';
    image.auxv.push({ type: BigInt(AT.ENTRY), value: 0x401000n });
    image.process.executable = '/proc/says/this';
    assert.equal(executablePath(image), '/usr/bin/synthetic');
  });

  test("then the source's own path, then the AT_EXECFN string in memory", () => {
    const image = withExecfn('/usr/local/bin/from-execfn');
    assert.equal(executablePath(image), '/usr/local/bin/from-execfn');
    image.process.executable = '/proc/says/this';
    assert.equal(executablePath(image), '/proc/says/this');
  });

  test('an AT_EXECFN string the core does not hold, or an empty one, is unknown', () => {
    assert.equal(executablePath(withExecfn('/bin/x', false)), undefined);
    assert.equal(executablePath(withExecfn('')), undefined);
    assert.equal(coreReport({ ...input(), image: withExecfn('', false) }).summary.executable, null);
  });
});

describe('report: signal and command', () => {
  /** siginfo_t on x86_64: signo, errno, code, then the fault address at 16. */
  function siginfo(signo: number, code: number, addr: bigint): Buffer {
    const b = Buffer.alloc(128);
    b.writeInt32LE(signo, 0);
    b.writeInt32LE(code, 8);
    b.writeBigUInt64LE(addr, 16);
    return b;
  }

  test('the killing signal with the details of its own siginfo', () => {
    const im = input();
    im.image.threads[0]!.siginfo = siginfo(11, 1, 0x10n);
    assert.deepEqual(coreReport(im).summary.signal, {
      number: 11,
      name: 'SIGSEGV',
      code: 1,
      address: 0x10n,
      senderPid: null,
    });
  });

  test('siginfo of another signal adds nothing; no pr_cursig means no signal', () => {
    const im = input();
    im.image.threads[0]!.siginfo = siginfo(7, 2, 0x20n);
    assert.deepEqual(coreReport(im).summary.signal, {
      number: 11,
      name: 'SIGSEGV',
      code: null,
      address: null,
      senderPid: null,
    });
    im.image.threads[0]!.status.cursig = 0;
    assert.equal(coreReport(im).summary.signal, null);
  });

  test('the full argv when known; pr_psargs of 79 bytes or more is marked as cut', () => {
    const im = input();
    const r = coreReport(im);
    assert.equal(r.summary.command, '/usr/bin/synthetic --flag value');
    assert.equal(r.commandCut, false);
    im.image.process.psargs = 'x'.repeat(79);
    assert.equal(coreReport(im).commandCut, true);
    im.image.process.args = ['/bin/prog', 'a b', 'c'];
    const withArgs = coreReport(im);
    assert.equal(withArgs.summary.command, '/bin/prog a b c');
    assert.equal(withArgs.commandCut, false);
  });
});
