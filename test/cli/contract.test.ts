// The CLI's contract (README "JSON output"), run for real: the shape of every command's --json
// (field names, JSON types, "0x..." addresses) against golden files in test/cli/golden/*.shape.json
// (UPDATE_GOLDEN=1 brings them up to date; types a run did not show, such as null for a field
// that may be null, are added by hand and kept), on a kernel core, a CRIU fixture, coreshot dumps of a live
// program and of a QEMU process, and a restored process; exit status 2 and one `coreshot:` line
// for every usage error; an "Examples:" section in every --help, whose examples run as written.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { misfits, type Shape, shapeOf, updated } from '../helpers/json-shape.js';
import { CLI, coreshot, FIXTURES, killAndWait, run, startDetached, tempDir } from '../helpers/proc.js';
import { startGuest, stopGuest } from '../qemu/guest.js';

const GOLDEN = new URL('./golden/', import.meta.url).pathname;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const CRIU = join(FIXTURES, 'criu/single');

/** Fields the contract has that only some outputs hold (absent, never null, otherwise). */
const OPTIONAL = new Set([
  'registerNames',
  'decoded',
  'copy',
  'zombie',
  'notFrozenReason',
  'noSnapshotReason',
  'vmcoreinfo',
  'machine',
]);

/** Notes whose decoded form is the same on every x86_64 machine (XSAVE state depends on the CPU). */
const STABLE_NOTES = ['PRSTATUS', 'PRPSINFO', 'SIGINFO', 'AUXV', 'FILE', 'FPREGSET'];

/**
 * The naming rules themselves, on every field of a document: addresses are "0x..." strings, byte
 * counts and file offsets integers, durations (...Ms) numbers with at most one decimal.
 */
function namingMisfits(v: unknown, at = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => namingMisfits(x, `${at}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const where = `${at}.${k}`;
    if (['start', 'end', 'address', 'pc'].includes(k) && !(typeof x === 'string' && /^0x[0-9a-f]+$/.test(x)))
      out.push(`${where}: an address, not a "0x..." string: ${JSON.stringify(x)}`);
    if (
      /^(size|length|bytes|offset)$|(Size|Bytes|Length)$/.test(k) &&
      !(x === null || Number.isSafeInteger(x))
    )
      out.push(`${where}: a byte count, not an integer: ${JSON.stringify(x)}`);
    if (/Ms$/.test(k) && !(typeof x === 'number' && Math.round(x * 10) / 10 === x))
      out.push(`${where}: a duration, not milliseconds rounded to 0.1: ${JSON.stringify(x)}`);
    out.push(...namingMisfits(x, where));
  }
  return out;
}

/** Checks a command's JSON output against its golden shape (and the naming rules). */
function contract(
  name: string,
  res: { status: number; stdout: string; stderr: string },
  view = (d: unknown) => d,
) {
  assert.equal(res.status, 0, res.stderr);
  const doc = JSON.parse(res.stdout) as unknown;
  assert.deepEqual(namingMisfits(doc), [], `${name}: the naming rules`);
  const shown = view(doc);
  const file = join(GOLDEN, `${name}.shape.json`);
  if (UPDATE) {
    const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Shape) : undefined;
    writeFileSync(file, `${JSON.stringify(updated(old, shapeOf(shown), OPTIONAL), null, 2)}\n`);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing: run the tests with UPDATE_GOLDEN=1`);
  const golden = JSON.parse(readFileSync(file, 'utf8')) as Shape;
  assert.deepEqual(misfits(shown, golden, OPTIONAL), [], `${name} --json differs from ${file}`);
}

let made: MadeCore;
const tmp = tempDir('coreshot-contract-');
before(() => {
  made = kernelCore('x86_64', { flags: ['-g'] });
});
after(() => {
  made?.cleanup();
  tmp.cleanup();
});

describe('the JSON contract: a kernel core', () => {
  for (const cmd of ['info', 'threads', 'maps'])
    test(`${cmd} --json`, () => contract(cmd, coreshot([cmd, '--json', made.core])));

  test('notes --json', () =>
    contract('notes', coreshot(['notes', '--json', made.core]), (d) => {
      const doc = d as { notes: { typeName: string; decoded?: unknown }[]; buildIds: unknown };
      const decoded = Object.fromEntries(
        STABLE_NOTES.map((t) => [t, doc.notes.find((n) => n.typeName === t)?.decoded ?? null]),
      );
      return { notes: doc.notes.map(({ decoded: _, ...n }) => n), decoded, buildIds: doc.buildIds };
    }));

  test('read --json (across the end of a mapping)', () => {
    const { mappings } = JSON.parse(coreshot(['maps', '--json', made.core]).stdout) as {
      mappings: { start: string; end: string }[];
    };
    const m = mappings.find((x, i) => mappings[i + 1]?.start !== x.end)!;
    const at = `0x${(BigInt(m.end) - 16n).toString(16)}`;
    contract('read', coreshot(['read', '--json', made.core, at, '32']));
  });

  test('find --json', () =>
    contract(
      'find',
      coreshot(['find', '--json', made.core, 'x86-threads', '--encoding', 'utf-8', '--max', '3']),
    ));

  test('stack --json', () => contract('stack', coreshot(['stack', '--json', made.core])));
});

describe('the JSON contract: a CRIU checkpoint, a live process, a QEMU process', () => {
  test('convert criu --json', () =>
    contract(
      'convert',
      coreshot([
        'convert',
        'criu',
        join(CRIU, 'images'),
        '-o',
        join(tmp.path, 'converted'),
        '--root',
        join(CRIU, 'root'),
        '--xsave-layout',
        'amd',
        '--json',
      ]),
    ));

  test('dump --json of a live process; restore --json of its core', async () => {
    const pid = startDetached('sleep', ['600']);
    const core = join(tmp.path, 'sleep.core');
    let restored = 0;
    try {
      contract('dump', coreshot(['dump', String(pid), '-o', core, '--json']));
      const res = coreshot(['restore', core, '--stopped', '--json']);
      restored = Number((JSON.parse(res.stdout || '{}') as { pid?: number }).pid ?? 0);
      contract('restore', res);
    } finally {
      await killAndWait(pid);
      if (restored > 0) await killAndWait(restored);
    }
  });

  test('guest-memory --list --json and -o --json, from a coreshot dump of QEMU', async () => {
    const dir = join(tmp.path, 'qemu');
    run('mkdir', [dir]);
    const guest = await startGuest(dir, { memory: '16M', stopped: true });
    const core = join(dir, 'qemu.core');
    try {
      const dumped = coreshot(['dump', String(guest.pid), '-o', core], { timeoutMs: 300_000 });
      assert.equal(dumped.status, 0, dumped.stderr);
    } finally {
      await stopGuest(guest);
    }
    contract('guest-memory-list', coreshot(['guest-memory', core, '--list', '--json']));
    const out = join(dir, 'guest.vmcore');
    contract('guest-memory', coreshot(['guest-memory', core, '-o', out, '--json'], { timeoutMs: 300_000 }));
  });
});

describe("usage errors: exit status 2, one line in coreshot's voice", () => {
  const usage = (): string[][] => {
    const core = made.core;
    const images = join(CRIU, 'images');
    return [
      [],
      ['frobnicate'],
      ['help', 'frobnicate'],
      ['--bogus'],
      ['convert'],
      ['info'],
      ['info', '--bogus', core],
      ['info', core, 'extra'],
      ['threads', core, '--jsn'],
      ['read', core, 'zz', '16'],
      ['read', core, '0x1000'],
      ['read', core, '0x1000', '0'],
      ['read', core, '0x1000', '16', '--raw', '--json'],
      ['find', core],
      ['find', core, 'x', '--hex', '--regex'],
      ['find', core, 'x', '--encoding', 'latin1'],
      ['find', core, 'ab', '--hex', '--encoding', 'utf-8'],
      ['find', core, 'x', '--max', 'lots'],
      ['find', core, '--hex', 'xyz'],
      ['find', core, '--regex', '(unclosed'],
      ['stack', core, '--thread', 'x'],
      ['dump'],
      ['dump', 'abc'],
      ['dump', '1', '--filter'],
      ['dump', '1', '--filter', '0x400'],
      ['dump', '1', '--tree', '-o', '-'],
      ['dump', '1', '--compress', 'bzip2'],
      ['convert', 'criu', images],
      ['convert', 'criu', images, '-o', join(tmp.path, 'never'), '--pid', 'x'],
      ['convert', 'criu', images, '-o', join(tmp.path, 'never'), '--xsave-layout', 'arm'],
      ['guest-memory', core],
      ['guest-memory', core, '--list', '--arch', 'vax'],
      ['guest-memory', core, '--list', '-o', join(tmp.path, 'never')],
      ['restore', images, '--lazy'],
      ['restore', core, '--pid', 'x'],
      ['view', core, '--port', '70000'],
      ['view', core, '--port', 'x'],
      ['demo', '--bogus'],
    ];
  };

  test('every usage error', () => {
    for (const args of usage()) {
      const res = coreshot(args);
      const what = `coreshot ${args.join(' ')}`;
      assert.equal(res.status, 2, `${what}: ${res.stderr}`);
      assert.equal(res.stdout, '', what);
      assert.match(res.stderr, /^coreshot: [^\n]+ \(see coreshot [a-z -]*--help\)\n$/, what);
      assert.doesNotMatch(res.stderr, /error:|\n\s+at /, what);
    }
  });

  test('the command is named, and told where to look', () => {
    assert.equal(coreshot(['dump']).stderr, 'coreshot: dump: missing PID (see coreshot dump --help)\n');
    assert.equal(coreshot([]).stderr, 'coreshot: missing command (see coreshot --help)\n');
    assert.match(
      coreshot(['convert', 'criu', join(CRIU, 'images')]).stderr,
      /^coreshot: convert criu: required option '-o, --output <outdir>' not specified \(see coreshot convert criu --help\)\n$/,
    );
  });

  test('a failure that is not a usage error stays 1; --help and --version are 0', () => {
    const missing = coreshot(['info', join(tmp.path, 'no-such-core')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^coreshot: .*no such file or directory\n$/);
    assert.equal(coreshot(['--version']).status, 0);
    assert.equal(coreshot(['info', '--help']).status, 0);
  });
});

describe('--help', () => {
  /** The command names a --help lists under "Commands:" (without `help`). */
  const listed = (args: string[]) =>
    [
      ...(coreshot(args).stdout.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '').matchAll(
        /^ {2}([a-z-]+)/gm,
      ),
    ]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
  const commands = listed(['--help']);
  const subcommands = listed(['convert', '--help']).map((c) => `convert ${c}`);

  test('lists the commands', () => {
    assert.ok(commands.length >= 12, commands.join(' '));
    assert.deepEqual(subcommands, ['convert criu']);
  });

  for (const path of ['', ...commands, ...subcommands]) {
    test(`coreshot ${path} --help has examples`.replace('  ', ' '), () => {
      const res = coreshot([...path.split(' ').filter(Boolean), '--help']);
      assert.equal(res.status, 0);
      assert.equal(res.stderr, '');
      const examples = res.stdout.split('\nExamples:\n')[1];
      assert.ok(examples, `an Examples section:\n${res.stdout}`);
      assert.match(examples, /^ {2}\S.* {2}# \S/m);
    });
  }

  test('the examples of the inspecting commands run as written, on a core named core', () => {
    const dir = made.dir;
    run('ln', ['-sf', made.core, join(dir, 'core')]);
    let ran = 0;
    for (const cmd of ['info', 'threads', 'maps', 'notes', 'read', 'find']) {
      const text = coreshot([cmd, '--help']).stdout.split('\nExamples:\n')[1] ?? '';
      for (const line of text.split('\n')) {
        const example = /^ {2}(coreshot .*?)\s+# /.exec(line)?.[1];
        if (!example) continue;
        const res = run('sh', ['-c', example.replace(/^coreshot/, `'${process.execPath}' '${CLI}'`)], {
          cwd: dir,
        });
        assert.equal(res.status, 0, `${example}: ${res.stderr}`);
        ran++;
      }
    }
    assert.ok(ran >= 10, `${ran} examples ran`);
  });
});
