// maps, notes and read on a kernel core of test/cli/c/views.c, judged by what the process
// itself recorded before it crashed (its /proc/self/maps, its thread ids), by the values it
// loaded into ymm0..ymm15, and by gdb on the same core; zmm and k registers by a real CRIU
// checkpoint of an AVX-512 process (the fixtures), converted to a core, against the values its
// program (fixtures/criu/target.c) loaded; arm64 v0..v31 by gdb's gcore of a qemu-aarch64
// process (test/cli/c/fpsimd.c).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertFixture, parseGdb, reference, requireFixtures } from '../criu/helpers.js';
import { gcoreCore, kernelCore, type MadeCore, requireTool } from '../helpers/cores.js';
import { compileC, coreshot, killAndWait, ROOT, run, startDetached, tempDir } from '../helpers/proc.js';

const YMM_BASE = 0x5100000000000000n;

interface MapLine {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
}

/** /proc/PID/maps lines. */
function procMaps(text: string): MapLine[] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => {
      const [range, perms, , , , ...name] = l.split(/\s+/);
      const [s, e] = range!.split('-');
      return { start: BigInt(`0x${s}`), end: BigInt(`0x${e}`), perms: perms!, name: name.join(' ') };
    });
}

interface Mapped {
  start: string;
  end: string;
  perms: string;
  path: string | null;
  label: string | null;
}

let made: MadeCore;
let live: MapLine[];
let pid: number;
let workers: number[];

function ok(args: string[]): string {
  const res = coreshot(args);
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** gdb on the core, with the program as its executable. */
function gdb(...commands: string[]): string {
  const res = run('gdb', [
    '-batch',
    '-nx',
    '-ex',
    'set debuginfod enabled off',
    '-ex',
    `file ${made.exe}`,
    '-ex',
    `core ${made.core}`,
    ...commands.flatMap((c) => ['-ex', c]),
  ]);
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** The bytes of gdb's `x/Nxb` output, as hex. */
const xbytes = (text: string) => [...text.matchAll(/\t0x([0-9a-f]{2})/g)].map((m) => m[1]).join('');

before(() => {
  requireTool('gdb');
  made = kernelCore('x86_64', { source: join(ROOT, 'test/cli/c/views.c'), args: [] });
  live = procMaps(readFileSync(join(made.dir, 'maps.txt'), 'utf8'));
  [pid, ...workers] = readFileSync(join(made.dir, 'tids.txt'), 'utf8').trim().split(' ').map(Number) as [
    number,
    ...number[],
  ];
});
after(() => made?.cleanup());

describe('maps on a kernel core, against the process its own /proc/self/maps', () => {
  let maps: Mapped[];
  before(() => {
    maps = (JSON.parse(ok(['maps', '--json', made.core])) as { mappings: Mapped[] }).mappings;
  });
  const at = (l: MapLine) => maps.find((m) => BigInt(m.start) === l.start && BigInt(m.end) === l.end);

  test('r, w, x as the process had them; shared or private is unknown (?)', () => {
    let compared = 0;
    for (const l of live) {
      const m = at(l);
      if (!m) continue;
      assert.equal(m.perms, `${l.perms.slice(0, 3)}?`, `${l.start.toString(16)} ${l.name}`);
      compared++;
    }
    assert.ok(compared >= live.length - 1, `${compared} of ${live.length} mappings compared`);
    // The shared page is rw-s in /proc, and not shown as private.
    const shared = live.find((l) => l.perms === 'rw-s')!;
    assert.equal(at(shared)?.perms, 'rw-?');
    const text = ok(['maps', made.core]);
    assert.doesNotMatch(text, /\s[r-][w-][x-][ps]\s/);
  });

  test('[heap], [stack], [vdso] and [vvar] where /proc/PID/maps named them', () => {
    const named = live.filter((l) => /^\[(heap|stack|vdso|vvar|vvar_vclock|vsyscall)\]$/.test(l.name));
    for (const n of ['[heap]', '[stack]', '[vdso]', '[vvar]'])
      assert.ok(
        named.some((l) => l.name === n),
        n,
      );
    for (const l of named) {
      // Newer kernels split the vvar pages into [vvar] and [vvar_vclock]: both are [vvar].
      const want = l.name === '[vvar_vclock]' ? '[vvar]' : l.name;
      assert.equal(at(l)?.label, want, `${l.start.toString(16)}-${l.end.toString(16)}`);
    }
    // No other mapping carries these labels, and the text shows them in the FILE column.
    const labelled = maps.filter((m) => m.label && !m.label.startsWith('[stack:'));
    assert.equal(labelled.length, named.length);
    const text = ok(['maps', made.core]);
    for (const n of ['[heap]', '[stack]', '[vdso]', '[vvar]'])
      assert.match(text, new RegExp(`\\s${n.replace(/[[\]]/g, '\\$&')}$`, 'm'));
  });

  test('[stack:TID] for each other thread: the mapping that holds its stack pointer in gdb', () => {
    const sps = new Map<number, bigint>();
    let lwp = 0;
    for (const line of gdb('thread apply all p/x $sp').split('\n')) {
      const head = /\(LWP (\d+)\)/.exec(line);
      if (head) lwp = Number(head[1]);
      const v = /^\$\d+ = (0x[0-9a-f]+)/.exec(line);
      if (v) sps.set(lwp, BigInt(v[1]!));
    }
    assert.deepEqual([...sps.keys()].sort(), [pid, ...workers].sort());
    for (const [tid, sp] of sps) {
      const m = maps.find((x) => BigInt(x.start) <= sp && sp < BigInt(x.end));
      assert.equal(m?.label, tid === pid ? '[stack]' : `[stack:${tid}]`, `thread ${tid}`);
      // An anonymous rw-p mapping of the live process.
      const l = live.find((x) => x.start === BigInt(m!.start));
      assert.equal(l?.perms, 'rw-p');
    }
  });
});

test('maps on a gcore core: the NT_FILE ranges gcore wrote no segment for have unknown permissions', async () => {
  const g = await gcoreCore();
  try {
    const { mappings } = JSON.parse(ok(['maps', '--json', g.core])) as {
      mappings: (Mapped & { inCore: string; rest: string | null })[];
    };
    const fileOnly = mappings.filter((m) => m.perms === '????');
    assert.ok(fileOnly.length > 0, 'gcore leaves unmodified file pages out');
    for (const m of fileOnly) {
      assert.equal(BigInt(m.inCore), 0n);
      assert.equal(m.rest, 'file');
      assert.ok(m.path?.startsWith('/'), m.path ?? 'no path');
    }
    for (const m of mappings) assert.match(m.perms, /^([r-][w-][x-]|\?\?\?)\?$/);
  } finally {
    g.cleanup();
  }
});

describe('notes: one layout, vector registers', () => {
  test('every note: a header, then key: value lines at one indentation', () => {
    const text = ok(['notes', made.core]);
    const heads = text.split('\n').filter((l) => !l.startsWith(' ') && l !== '');
    for (const h of heads.slice(0, -1))
      assert.match(h, /^[A-Z]+ [A-Z0-9_]+ {2}type 0x[0-9a-f]+ {2}size \d+ {2}at 0x[0-9a-f]+$/);
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(\S.*| {4}[^ :]+: .*)$/, line);
  });

  test('ymm0..ymm15 of the crashing thread: the values it loaded; the low halves as gdb reads them', () => {
    const j = JSON.parse(ok(['notes', '--json', made.core])) as {
      notes: { typeName: string; decoded?: { ymm?: string[]; xmm?: string[] } }[];
    };
    const xstates = j.notes.filter((n) => n.typeName === 'X86_XSTATE');
    assert.equal(xstates.length, 1 + workers.length);
    const ymm = xstates[0]!.decoded!.ymm!;
    assert.equal(ymm.length, 16);
    ymm.forEach((v, i) => {
      const lanes = [0, 1, 2, 3].map((k) => YMM_BASE + BigInt(16 * i + k));
      const want = lanes.reduce((acc, lane, k) => acc | (lane << BigInt(64 * k)), 0n);
      assert.equal(BigInt(v), want, `ymm${i}`);
    });
    // This gdb reads the xmm half of the kernel's (AMD, 2440-byte) XSAVE area only; it agrees.
    const g = gdb(...ymm.map((_, i) => `p/x $xmm${i}.v2_int64`));
    const pairs = [...g.matchAll(/^\$\d+ = \{(0x[0-9a-f]+), (0x[0-9a-f]+)\}$/gm)];
    assert.equal(pairs.length, 16);
    pairs.forEach((p, i) => {
      assert.equal(BigInt(p[1]!) | (BigInt(p[2]!) << 64n), BigInt(xstates[0]!.decoded!.xmm![i]!), `xmm${i}`);
    });
    assert.match(ok(['notes', made.core]), /^ {4}ymm15: 0x510000000000000?f3510000000000000?f2/m);
  });

  test('zmm0..31 and k0..7 of a real AVX-512 checkpoint converted to a core', () => {
    requireFixtures();
    const tmp = tempDir('coreshot-views-criu-');
    try {
      const res = convertFixture('single', tmp.path);
      assert.equal(res.status, 0, res.stderr);
      const core = join(tmp.path, 'core.18851');
      const j = JSON.parse(ok(['notes', '--json', core])) as {
        notes: { typeName: string; decoded?: Record<string, unknown> }[];
      };
      // Threads in note order: PRSTATUS pids, each followed by its XSTATE.
      const tids: number[] = [];
      const vectors = new Map<number, { zmm: string[]; ymm: string[]; k: string[] }>();
      for (const n of j.notes) {
        if (n.typeName === 'PRSTATUS') tids.push(n.decoded!.pid as number);
        if (n.typeName === 'X86_XSTATE') vectors.set(tids.at(-1)!, n.decoded as never);
      }
      // worker_spin (fixtures/criu/target.c): zmm0 = pat, zmm1 = pat + pat, ymm2 = pat[0..3].
      const spin = 18856;
      const v = vectors.get(spin)!;
      assert.equal(v.zmm.length, 32);
      assert.equal(v.k.length, 8);
      const pat = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].map((b) => b * 0x0101010101010101n);
      const wide = (lanes: bigint[]) => lanes.reduce((acc, l, i) => acc | (l << BigInt(64 * i)), 0n);
      assert.equal(BigInt(v.zmm[0]!), wide(pat));
      assert.equal(BigInt(v.zmm[1]!), wide(pat.map((l) => l + l)));
      assert.equal(BigInt(v.ymm[2]!), wide(pat.slice(0, 4)));
      assert.equal(BigInt(v.zmm[2]!), wide(pat.slice(0, 4)), 'a VEX load clears the upper half');
      // zmm16..31 and k0..7 hold what glibc's AVX-512 string functions left there: unknown here.
      // The low half (xmm and the AVX half) as gdb printed it on the live process.
      const live0 = parseGdb(reference('single', 18851)).get(spin)!.zmm0!;
      const lanes = live0
        .slice(1, -1)
        .split(', ')
        .map((x) => BigInt(x));
      assert.equal(BigInt(v.ymm[0]!), wide(lanes.slice(0, 4)));
    } finally {
      tmp.cleanup();
    }
  });
});

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('arm64 NT_FPREGSET: v0..v31 of gdb gcore of a qemu-aarch64 process: the values it loaded, as gdb prints them', async () => {
  for (const tool of ['aarch64-linux-gnu-gcc', 'qemu-aarch64-static', 'gdb-multiarch']) requireTool(tool);
  const tmp = tempDir('coreshot-views-arm64-');
  let pid = 0;
  try {
    const exe = compileC(
      join(ROOT, 'test/cli/c/fpsimd.c'),
      join(tmp.path, 'fpsimd'),
      ['-static', '-O1'],
      'aarch64-linux-gnu-gcc',
    );
    const core = join(tmp.path, 'gcore');
    const port = await freePort();
    // A CPU without SVE: gdb then writes the FP/SIMD registers as NT_FPREGSET.
    pid = startDetached('qemu-aarch64-static', ['-cpu', 'cortex-a57', '-g', String(port), exe], {
      cwd: tmp.path,
    });
    // gdb retries the connection until the stub listens (tcp auto-retry).
    const gdbArgs = ['-batch', '-nx', '-ex', 'set debuginfod enabled off', '-ex', `file ${exe}`];
    const live = run('gdb-multiarch', [
      ...gdbArgs,
      '-ex',
      `target remote 127.0.0.1:${port}`,
      '-ex',
      'continue',
      '-ex',
      `gcore ${core}`,
      '-ex',
      'kill',
    ]);
    assert.match(live.stdout + live.stderr, /SIGSEGV/);
    const j = JSON.parse(ok(['notes', '--json', core])) as {
      notes: { typeName: string; decoded?: { v?: string[] } }[];
    };
    const v = j.notes.find((n) => n.typeName === 'FPREGSET')?.decoded?.v;
    assert.equal(v?.length, 32);
    const printed = run('gdb-multiarch', [
      ...gdbArgs,
      '-ex',
      `core ${core}`,
      ...v!.flatMap((_, i) => ['-ex', `p/x $v${i}.d.u`]),
    ]);
    const pairs = [...printed.stdout.matchAll(/^\$\d+ = \{(0x[0-9a-f]+), (0x[0-9a-f]+)\}$/gm)];
    assert.equal(pairs.length, 32, printed.stdout + printed.stderr);
    v!.forEach((value, i) => {
      const lo = 0xa500000000000000n + BigInt(2 * i);
      assert.equal(BigInt(value), lo | ((lo + 1n) << 64n), `v${i}`);
      assert.equal(
        BigInt(value),
        BigInt(pairs[i]![1]!) | (BigInt(pairs[i]![2]!) << 64n),
        `v${i} as gdb prints it`,
      );
    });
  } finally {
    if (pid > 0) await killAndWait(pid);
    tmp.cleanup();
  }
});

describe('read ADDRESS-EXPRESSION', () => {
  const hexOf = (args: string[]) =>
    (JSON.parse(ok(['read', '--json', made.core, ...args])) as { hex: string }).hex;

  test('$rsp, $sp and $pc of the first thread: the bytes gdb shows there', () => {
    assert.equal(hexOf(['$rsp', '16']), xbytes(gdb('x/16xb $rsp')));
    assert.equal(hexOf(['$sp+0x20', '16']), xbytes(gdb('x/16xb $sp+0x20')));
    assert.equal(hexOf(['$pc-4', '8']), xbytes(gdb('x/8xb $pc-4')));
  });

  test('--thread TID picks the thread whose registers are read', () => {
    const out = gdb('thread apply all x/16xb $sp+8');
    for (const tid of workers) {
      const block = out.split(/\n(?=Thread \d+ )/).find((b) => b.includes(`(LWP ${tid})`))!;
      assert.equal(hexOf(['--thread', String(tid), '$rsp+8', '16']), xbytes(block), `thread ${tid}`);
    }
  });

  test('symbols, with offsets', () => {
    const marker = Buffer.from(hexOf(['views_marker', '21']), 'hex').toString();
    assert.equal(marker, 'coreshot-views-marker');
    assert.equal(hexOf(['main+16', '16']), xbytes(gdb('x/16xb main+16')));
    assert.equal(hexOf(['views_marker+9-1', '8']), Buffer.from('-views-m').toString('hex'));
  });

  test('unknown registers, symbols and threads: one line each', () => {
    for (const [args, re] of [
      [
        ['$xmm99', '16'],
        /^coreshot: read: ADDRESS: no register \$xmm99 \(registers: \$r15 .* \$pc \$sp\) \(see/,
      ],
      [['no_such_symbol+8', '16'], /^coreshot: read: ADDRESS: no symbol named 'no_such_symbol' \(see/],
      [
        ['--thread', '1', '$rsp', '16'],
        /^coreshot: read: no thread 1 in the image \(threads: \d+( \d+)+\) \(see/,
      ],
    ] as const) {
      const res = coreshot(['read', made.core, ...args]);
      // Usage errors: the arguments name what the core does not have.
      assert.equal(res.status, 2);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, re);
      assert.equal(res.stderr.split('\n').length, 2, res.stderr);
    }
  });
});
