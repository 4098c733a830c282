// Compressed and streamed inputs: a kernel core compressed by the Debian tools (zstd, xz, lz4,
// gzip), each read from its file and through a pipe on standard input, must print exactly what
// the plain core prints (info, threads --json, read); truncated and corrupt inputs end in one
// line and exit 1; no cache file is ever left behind.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { CLI, run, runOk, tempDir } from '../helpers/proc.js';

/** The Debian tool and arguments that compress stdin to stdout, per format. */
const TOOLS = {
  zstd: ['zstd', '-q', '-c'],
  xz: ['xz', '-c'],
  lz4: ['lz4', '-q', '-c'],
  gzip: ['gzip', '-c'],
} as const;
type Format = keyof typeof TOOLS;
const FORMATS = Object.keys(TOOLS) as Format[];

let made: MadeCore;
const cache = tempDir('coreshot-cache-');
const env = { ...process.env, XDG_CACHE_HOME: cache.path };
const compressed = (f: Format) => join(made.dir, `core.${f}`);

/** Where a command's arguments take the image. */
const IMAGE = '{image}';

/** coreshot with ARGS, reading INPUT's bytes through a pipe (`-`) or from the file. */
function coreshotOn(input: string, viaPipe: boolean, args: string[]) {
  const argv = [CLI, ...args.map((a) => (a === IMAGE ? (viaPipe ? '-' : input) : a))];
  if (!viaPipe) return run(process.execPath, argv, { env });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return run('sh', ['-c', `cat ${q(input)} | ${[process.execPath, ...argv].map(q).join(' ')}`], { env });
}

/** Output with the input's name (info's first line) left out. */
const unnamed = (out: string) => out.replace(/^core +\S+ /, 'core ');

/** The decompression scratch files in the cache directory (v8-code is the CLI's code cache). */
function cacheFiles(): string[] {
  const dir = join(cache.path, 'coreshot');
  try {
    return readdirSync(dir).filter((f) => f !== 'v8-code');
  } catch {
    return [];
  }
}

let readArgs: string[];
const plain: Record<string, string> = {};

before(() => {
  made = kernelCore();
  for (const f of FORMATS) {
    const [cmd, ...args] = TOOLS[f];
    run('sh', ['-c', `${[cmd, ...args].join(' ')} < '${made.core}' > '${compressed(f)}'`]);
    assert.ok(statSync(compressed(f)).size > 0);
  }
  // A range of a mapping held in the core: its last 4 KiB cross into the middle of the file.
  const maps = JSON.parse(runOk(process.execPath, [CLI, 'maps', '--json', made.core], { env }).stdout);
  const m = maps.mappings.filter((x: { coverage: string }) => x.coverage === 'all').at(-1);
  readArgs = ['read', IMAGE, `0x${(BigInt(m.end) - 0x1000n).toString(16)}`, '4096'];
  for (const [name, args] of commands()) plain[name] = unnamed(coreshotOn(made.core, false, args).stdout);
});
after(() => {
  made?.cleanup();
  cache.cleanup();
});

function commands(): [string, string[]][] {
  return [
    ['info', ['info', IMAGE]],
    ['threads', ['threads', '--json', IMAGE]],
    ['read', readArgs],
  ];
}

describe('compressed cores read like the plain core', () => {
  for (const f of FORMATS) {
    for (const viaPipe of [false, true]) {
      test(`${f} ${viaPipe ? 'on standard input' : 'file'}: info, threads --json, read`, () => {
        for (const [name, args] of commands()) {
          const res = coreshotOn(compressed(f), viaPipe, args);
          assert.equal(res.stderr, '', `${name}: ${res.stderr}`);
          assert.equal(res.status, 0);
          assert.equal(unnamed(res.stdout), plain[name], `${name} differs`);
          assert.deepEqual(cacheFiles(), []);
        }
      });
    }
  }

  test('an uncompressed core on standard input', () => {
    for (const [name, args] of commands()) {
      const res = coreshotOn(made.core, true, args);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(unnamed(res.stdout), plain[name]);
    }
  });

  test('the cache directory is private', () => {
    coreshotOn(compressed('gzip'), false, ['info', IMAGE]);
    assert.equal(statSync(join(cache.path, 'coreshot')).mode & 0o777, 0o700);
  });
});

describe('truncated and corrupt compressed inputs', () => {
  for (const f of FORMATS) {
    for (const viaPipe of [false, true]) {
      test(`${f} cut in half ${viaPipe ? 'on standard input' : 'file'}: one line, exit 1`, () => {
        const data = readFileSync(compressed(f));
        const cut = join(made.dir, `cut.${f}`);
        writeFileSync(cut, data.subarray(0, data.length >> 1));
        const res = coreshotOn(cut, viaPipe, ['info', IMAGE]);
        assert.equal(res.status, 1);
        assert.equal(res.stdout, '');
        assert.match(
          res.stderr,
          new RegExp(
            `^coreshot: malformed input: ${viaPipe ? 'standard input' : cut}: ${f} stream is truncated \\(at offset 0x[0-9a-f]+\\)\\n$`,
          ),
        );
        assert.deepEqual(cacheFiles(), []);
      });
    }
    test(`${f} with garbage in the middle: one line, exit 1`, () => {
      const bad = join(made.dir, `bad.${f}`);
      copyFileSync(compressed(f), bad);
      const data = readFileSync(bad);
      data.fill(0xa5, data.length >> 2, (data.length >> 2) + 64);
      writeFileSync(bad, data);
      const res = coreshotOn(bad, false, ['info', IMAGE]);
      assert.equal(res.status, 1, res.stdout);
      assert.match(
        res.stderr,
        new RegExp(`^coreshot: malformed input: ${bad}: ${f} stream is (corrupt|truncated)[^\\n]*\\n$`),
      );
      assert.deepEqual(cacheFiles(), []);
    });
  }
});
