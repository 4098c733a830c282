#!/usr/bin/env node
// Runs the node:test suites with an explicit file list. A bare `tsx --test` on Node 20 finds
// nothing and exits 0, so this script collects the files itself and fails when there are none.
// Usage: node scripts/run-tests.mjs [DIR_OR_FILE ...]   (default: test/ and src/)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2);
const starts = roots.length > 0 ? roots : ['test', 'src'];

function collect(path, out) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new Error(`no such test path: ${path}`);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    collect(join(path, name), out);
  }
}

const files = [];
for (const start of starts) collect(join(root, start), files);
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${starts.join(', ')}`);
  process.exit(1);
}
console.error(`run-tests: ${files.length} test files`);
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', ...files.map((f) => relative(root, f))];
const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
