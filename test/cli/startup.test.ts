// What an inspecting command loads, which decides its start-up cost whatever the machine's load
// (the time itself is `npm run bench -- startup`'s): the CLI is one CommonJS bundle
// (scripts/bundle-cli.mjs) that its entry compiles from a V8 code cache (scripts/cli-launcher.cjs),
// so a command on a plain core needs no ES-module loader and requires no other JavaScript file: no
// chunk, no native addon, no external package; the cache is written once and then only read.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { CLI, run, tempDir } from '../helpers/proc.js';

let made: MadeCore;
const tmp = tempDir('coreshot-startup-');

before(() => {
  made = kernelCore();
});
after(() => {
  made?.cleanup();
  tmp.cleanup();
});

/** Runs coreshot with a preload that records, at exit, Node's internal modules and the files required. */
function loaded(args: string[]): { internal: string[]; files: string[] } {
  const hook = join(tmp.path, 'hook.cjs');
  const out = join(tmp.path, 'loaded.json');
  writeFileSync(
    hook,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ internal: process.moduleLoadList, files: Object.keys(require.cache).filter((f) => f !== __filename) })));\n`,
  );
  const res = run(process.execPath, ['-r', hook, ...args]);
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(readFileSync(out, 'utf8'));
}

for (const args of [['info'], ['threads', '--json'], ['maps'], ['notes']]) {
  test(`${args.join(' ')} loads one JavaScript file and no more of the ES-module loader than node -e 0`, () => {
    const esm = (list: string[]) => list.filter((m) => m.includes('internal/modules/esm/'));
    const bare = new Set(esm(loaded(['-e', '0']).internal));
    const { internal, files } = loaded([CLI, ...args, made.core]);
    assert.deepEqual(files, [CLI]);
    assert.deepEqual(
      esm(internal).filter((m) => !bare.has(m)),
      [],
    );
  });
}

test('the code cache: one file per command, 0600 in a 0700 directory, written once and then used', () => {
  const home = join(tmp.path, 'cache-home');
  const env = { ...process.env, XDG_CACHE_HOME: home };
  const dir = join(home, 'coreshot', 'v8-code');
  const first = run(process.execPath, [CLI, 'info', made.core], { env });
  assert.equal(first.status, 0, first.stderr);
  const files = readdirSync(dir);
  assert.equal(files.length, 1, files.join(' '));
  assert.match(files[0]!, /-info\.bin$/);
  const file = join(dir, files[0]!);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const written = statSync(file);
  const second = run(process.execPath, [CLI, 'info', made.core], { env });
  assert.equal(second.stdout, first.stdout);
  const again = statSync(file);
  assert.deepEqual([again.ino, again.mtimeMs], [written.ino, written.mtimeMs], 'the cache was written again');
  assert.deepEqual(readdirSync(dir), files);
});
