#!/usr/bin/env node
// Runs the benchmarks: every bench/*.bench.ts, or those whose name contains an argument.
// Usage: npm run bench [-- NAME ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const all = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const chosen = wanted.length ? all.filter((f) => wanted.some((w) => f.includes(w))) : all;
if (chosen.length === 0) {
  console.error(`bench: nothing matches ${wanted.join(' ')} (have: ${all.join(', ')})`);
  process.exit(1);
}
let failed = 0;
for (const file of chosen) {
  console.log(`\n## ${file}`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', `bench/${file}`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
