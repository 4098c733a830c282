// What an inspecting command loads, which decides its start-up cost whatever the machine's load
// (the time itself is `npm run bench -- startup`'s): the CLI is one CommonJS file
// (scripts/bundle-cli.mjs), so a command on a plain core needs no ES-module loader and reads no
// other JavaScript file: no chunk, no native addon, no external package.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
