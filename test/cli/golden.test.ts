// Golden tests of every inspect command (info, threads, maps, notes, read), text and JSON, on a
// deterministic core: the shared synthetic image plus a siginfo and a file-backed mapping whose
// pages come from a file the test writes under --root, written by writeElfCore. Regenerate the
// files in test/cli/golden/ with UPDATE_GOLDEN=1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileSink } from '../../src/io/sink.js';
import type { ProcessImage } from '../../src/model/process-image.js';
import { writeElfCore } from '../../src/sinks/elfcore/write.js';
import { CLI, coreshot, tempDir } from '../helpers/proc.js';
import { patternByte, syntheticImage } from '../helpers/synthetic.js';

const GOLDEN = new URL('./golden/', import.meta.url).pathname;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const MAPPED = '/opt/demo/lib/libdemo.so.1';

const tmp = tempDir('coreshot-golden-');
const core = join(tmp.path, 'synthetic.core');
const root = join(tmp.path, 'root');
let image: ProcessImage;

/** The mapped file's bytes: a pattern distinct from the synthetic memory's. */
function mappedFileBytes(): Buffer {
  const b = Buffer.alloc(0x3000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

before(async () => {
  image = syntheticImage({ mappedFile: MAPPED });
  // SIGSEGV (11), SEGV_MAPERR (1), fault address 0x10: x86_64 siginfo_t is 128 bytes.
  const si = Buffer.alloc(128);
  si.writeInt32LE(11, 0);
  si.writeInt32LE(1, 8);
  si.writeBigUInt64LE(0x10n, 16);
  image.threads[0]!.siginfo = si;
  await writeElfCore(image, new FileSink(core));
  mkdirSync(join(root, dirname(MAPPED)), { recursive: true });
  writeFileSync(join(root, MAPPED), mappedFileBytes());
});
after(() => tmp.cleanup());

/** Output with the temporary directory replaced, so goldens hold no machine-specific path. */
const sanitize = (s: string) => s.split(tmp.path).join('<TMP>');

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing: run the tests with UPDATE_GOLDEN=1`);
  assert.equal(
    actual,
    readFileSync(file, 'utf8'),
    `${name} differs from its golden file (UPDATE_GOLDEN=1 regenerates)`,
  );
}

const CASES: Record<string, string[]> = {
  info: ['info'],
  threads: ['threads'],
  maps: ['maps'],
  notes: ['notes'],
  // Crosses from held bytes into bytes that are not in the core.
  'read-partial': ['read', '0x600ff0', '48'],
  // Pages supplied by the mapped file.
  'read-file': ['read', '0x900ff8', '24'],
};

describe('golden output on a synthetic core', () => {
  for (const [name, args] of Object.entries(CASES)) {
    for (const json of [false, true]) {
      test(`${args.join(' ')}${json ? ' --json' : ''}`, () => {
        const [cmd, ...rest] = args;
        const res = coreshot([cmd!, '--root', root, ...(json ? ['--json'] : []), core, ...rest]);
        assert.equal(res.status, 0, res.stderr);
        assert.equal(res.stderr, '');
        if (json) JSON.parse(res.stdout);
        golden(`${name}.${json ? 'json' : 'txt'}`, sanitize(res.stdout));
      });
    }
  }

  test('read --raw writes exactly the bytes; --zero-fill for bytes not in core', () => {
    const raw = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'read', '--raw', '--root', root, core, ...args]);
    const held = raw(['0x400ff0', '64']);
    assert.equal(held.status, 0);
    assert.deepEqual(
      [...held.stdout],
      [...Array(64).keys()].map((i) => patternByte(0x400ff0n + BigInt(i))),
    );
    const file = raw(['0x900000', '0x2000']);
    assert.equal(file.status, 0);
    assert.ok(
      file.stdout.equals(mappedFileBytes().subarray(0x1000, 0x3000)),
      'mapped file pages at their offset',
    );
    const partial = raw(['0x600ff0', '48']);
    assert.equal(partial.status, 1);
    assert.equal(partial.stdout.length, 0);
    assert.equal(
      partial.stderr.toString(),
      'coreshot: not all of that memory is available: 0x601000-0x601020 not-in-core (--zero-fill writes zeros there)\n',
    );
    const filled = raw(['--zero-fill', '0x600ff0', '48']);
    assert.equal(filled.status, 0);
    assert.ok(filled.stdout.subarray(16).equals(Buffer.alloc(32)));
  });
});

describe('reads longer than one chunk (1 MiB raw/JSON, 64 KiB hexdump)', () => {
  // 0x3ff000 + 5 MiB: unmapped, the text pattern, unmapped, a partly held mapping, zeros, the file.
  const at = 0x3ff000n;
  const len = 0x520000;
  const expected = () => image.memory.read(at, len);

  test('--raw --zero-fill writes every byte; --raw alone writes nothing and names the gaps', () => {
    const args = ['read', '--raw', '--root', root, core, `0x${at.toString(16)}`, String(len)];
    const filled = spawnSync(process.execPath, [CLI, ...args.slice(0, 2), '--zero-fill', ...args.slice(2)], {
      maxBuffer: 64 << 20,
    });
    assert.equal(filled.status, 0, filled.stderr.toString());
    const want = expected().data;
    // The file-backed pages come from the file under --root, which the image does not know.
    const fileAt = Number(0x900000n - at);
    mappedFileBytes().copy(want, fileAt, 0x1000, 0x1000 + Math.min(0x2000, len - fileAt));
    assert.ok(filled.stdout.equals(want));
    const strict = spawnSync(process.execPath, [CLI, ...args]);
    assert.equal(strict.status, 1);
    assert.equal(strict.stdout.length, 0);
    assert.match(
      strict.stderr.toString(),
      /^coreshot: not all of that memory is available: 0x3ff000-0x400000 unmapped, 0x404000-0x600000 unmapped, 0x601000-0x610000 not-in-core, 0x610000-0x700000 unmapped, 0x800000-0x900000 unmapped/,
    );
  });

  test('--json and the hexdump cover every byte once', () => {
    const j = JSON.parse(
      coreshot(['read', '--json', '--root', root, core, `0x${at.toString(16)}`, String(len)]).stdout,
    );
    assert.equal(j.hex.length, 2 * len);
    assert.equal(
      j.hex.slice(2 * 0x1000, 2 * 0x5000),
      expected().data.subarray(0x1000, 0x5000).toString('hex'),
    );
    assert.equal(j.missing.length, 6);
    const dump = coreshot(['read', '--root', root, core, `0x${at.toString(16)}`, String(len)])
      .stdout.trimEnd()
      .split('\n');
    assert.equal(dump.length, len / 16 + 1);
    assert.ok(dump[0x10000 / 16]!.startsWith(`0x${(at + 0x10000n).toString(16).padStart(12, '0')}  `));
  });
});

describe('output errors', () => {
  test('a reader that goes away (| head) ends the output quietly; a full disk is one error line', () => {
    const cmd = `'${process.execPath}' '${CLI}' read '${core}' 0x700000 0x100000`;
    const piped = spawnSync('bash', ['-c', `${cmd} | head -1 >/dev/null; echo "status \${PIPESTATUS[0]}"`], {
      encoding: 'utf8',
    });
    assert.equal(piped.stdout, 'status 0\n');
    assert.equal(piped.stderr, '');
    const full = spawnSync('sh', ['-c', `${cmd} --raw >/dev/full`], { encoding: 'utf8' });
    assert.equal(full.status, 1);
    assert.equal(full.stderr, 'coreshot: writing the output: no space left on device\n');
  });
});

describe('--help', () => {
  const options: Record<string, string[]> = {
    info: ['--root <dir>', '--json'],
    threads: ['--root <dir>', '--json'],
    maps: ['--root <dir>', '--json'],
    notes: ['--root <dir>', '--json'],
    read: ['--root <dir>', '--json', '--raw', '--zero-fill'],
  };
  for (const [cmd, opts] of Object.entries(options)) {
    test(cmd, () => {
      const res = coreshot([cmd, '--help']);
      assert.equal(res.status, 0);
      assert.match(res.stdout, new RegExp(`^Usage: coreshot ${cmd} \\[options\\] <core>`));
      const description = res.stdout.split('\n\n')[1] ?? '';
      assert.ok(description.trim().length > 30, `${cmd} has a real description`);
      for (const o of opts) assert.ok(res.stdout.includes(o), `${cmd} --help lists ${o}`);
    });
  }
});

describe('bad input: one line on stderr, exit 1, no stack trace, no output', () => {
  const inputs: Record<string, () => string> = {
    'a missing file': () => join(tmp.path, 'no-such-core'),
    'a directory': () => tmp.path,
    'not an ELF file': () => {
      const p = join(tmp.path, 'text');
      writeFileSync(p, 'this is not an ELF file at all, just some text\n');
      return p;
    },
    'an empty file': () => {
      const p = join(tmp.path, 'empty');
      writeFileSync(p, '');
      return p;
    },
    'an ELF executable (ET_EXEC)': () => '/bin/busybox',
  };
  const expected: Record<string, RegExp> = {
    'a missing file': /no such file or directory/,
    'a directory': /is not a CRIU checkpoint \(it has no inventory\.img\)/,
    'not an ELF file': /malformed input: .*ELF/i,
    'an empty file': /malformed input/,
    'an ELF executable (ET_EXEC)': /not a core file: e_type is ET_EXEC, expected ET_CORE/,
  };
  for (const [what, make] of Object.entries(inputs)) {
    test(what, () => {
      const path = make();
      for (const args of [
        ['info'],
        ['threads', '--json'],
        ['maps'],
        ['notes', '--json'],
        ['read', '--raw'],
      ]) {
        const extra = args[0] === 'read' ? ['0x1000', '16'] : [];
        const res = coreshot([...args, path, ...extra]);
        assert.equal(res.status, 1, `${args.join(' ')} on ${what}`);
        assert.equal(res.stdout, '');
        const lines = res.stderr.split('\n');
        assert.equal(lines.length, 2, `one line: ${res.stderr}`);
        assert.match(lines[0]!, /^coreshot: /);
        assert.match(lines[0]!, expected[what]!);
        assert.doesNotMatch(res.stderr, /\n\s+at /);
      }
    });
  }

  test('a bad address or length: a usage error (exit 2)', () => {
    for (const [addr, len, re] of [
      ['zz', '16', /ADDRESS: no symbol named 'zz'/],
      ['$nosuch', '16', /ADDRESS: no register \$nosuch \(registers: \$r15 /],
      ['0x1000+', '16', /ADDRESS: '0x1000\+' ends with an operator/],
      ['0x1000', '0', /LENGTH must be between 1 and/],
      ['0x1000', '0x100000000', /LENGTH must be between 1 and/],
    ] as const) {
      const res = coreshot(['read', core, addr, len]);
      assert.equal(res.status, 2);
      assert.match(res.stderr, re);
      assert.equal(res.stderr.split('\n').length, 2);
    }
  });
});
