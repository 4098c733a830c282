// Seeded mutation fuzzing of symbolisation input: a real program's separate debug file (DWARF 5
// and DWARF 4, with .symtab) has its DWARF and symbol sections and their headers mutated, and
// symbolize() of the pcs of gdb's backtrace must give a result or a reason for each, within a
// per-case time bound and an RSS bound. The worker runs in a child process so that hangs are
// caught too. FUZZ_SECONDS (default 20), FUZZ_SEED, FUZZ_CASES as in test/fuzz.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { runFuzzWorker } from '../helpers/fuzz-run.js';
import { ROOT, runOk, tempDir } from '../helpers/proc.js';
import type { SymFuzzBase, SymFuzzJob, SymFuzzMessage } from './fuzz-worker.js';
import { gdbGroups } from './gdb-frames.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.FUZZ_CASES ?? 0);
const made: MadeCore[] = [];
const bases: SymFuzzBase[] = [];
const dir = tempDir('coreshot-symfuzz-');

before(() => {
  for (const [flags, args] of [
    [['-g'], []],
    [['-gdwarf-4'], ['abort']],
  ] as const) {
    const core = kernelCore('x86_64', {
      source: join(ROOT, 'test/symbols/c/inline.c'),
      flags: ['-O2', ...flags],
      args: [...args],
      prepare: (exe) => {
        runOk('objcopy', ['--only-keep-debug', exe, `${exe}.dbg`]);
        runOk('objcopy', ['--strip-all', exe]);
      },
    });
    made.push(core);
    const buildId = /Build ID: ([0-9a-f]+)/.exec(runOk('readelf', ['-n', core.exe]).stdout)![1]!;
    // gdb's pcs in the program (whose debug file is mutated): the innermost is looked up as is,
    // the others as return addresses.
    const tree = join(dir.path, '.build-id', buildId.slice(0, 2));
    mkdirSync(tree, { recursive: true });
    copyFileSync(`${core.exe}.dbg`, join(tree, `${buildId.slice(2)}.debug`));
    const pcs = gdbGroups(core.exe, core.core, [`set debug-file-directory ${dir.path}:/usr/lib/debug`])
      .map((g, i) => ({ pc: `0x${g.pc.toString(16)}`, isCallSite: i > 0, file: g.physical.file }))
      .filter((p) => p.file?.endsWith('inline.c'))
      .map(({ pc, isCallSite }) => ({ pc, isCallSite }));
    assert.ok(pcs.length >= 2, 'gdb shows frames of the program with its debug file');
    bases.push({ core: core.core, debugFile: `${core.exe}.dbg`, buildId, pcs });
  }
});
after(() => {
  for (const m of made) m.cleanup();
  dir.cleanup();
});

test(`fuzz: mutated debug files give symbols or reasons (${SECONDS} s from seed ${SEED})`, async () => {
  const job: SymFuzzJob = {
    bases,
    dir: dir.path,
    seed: SEED,
    seconds: SECONDS,
    minCases: CASES === 0 ? SECONDS * 5 : 0,
    maxCases: CASES,
    caseMs: 10_000,
    maxRssBytes: 512 << 20,
  };
  const done = await runFuzzWorker<Extract<SymFuzzMessage, { type: 'done' }>>(
    new URL('./fuzz-worker.ts', import.meta.url).pathname,
    job,
  );
  console.log(
    `symbol fuzz: ${done.cases} cases, ${done.withLines} pcs still with a line, peak RSS ${(done.peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  if (CASES === 0) {
    assert.ok(done.withLines > 0, 'some mutations leave line info: the debug file is read');
  }
});
