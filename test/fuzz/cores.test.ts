// Seeded mutation fuzzing of real cores (a kernel core and a gcore of a multi-threaded program,
// QEMU user-mode cores of arm and s390x for ELFCLASS32 and big endian):
// bit flips, truncation, absurd e_phnum/e_phoff/e_shoff/p_offset/p_filesz, note sizes, NT_FILE
// and NT_AUXV words. Every case must end in a FormatError or a successful open + reads, within a
// per-case time bound and an RSS bound; the worker runs in a child process so that hangs are
// caught too. FUZZ_SECONDS (default 20) sets the duration, FUZZ_SEED the first seed, FUZZ_CASES
// a number of cases.
import { after, before, test } from 'node:test';
import type { MadeCore } from '../helpers/cores.js';
import { gcoreCore, kernelCore, qemuUserCore } from '../helpers/cores.js';
import { runFuzzWorker } from '../helpers/fuzz-run.js';
import { tempDir } from '../helpers/proc.js';
import type { FuzzJob, FuzzMessage } from './worker.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
/** FUZZ_CASES=1 with FUZZ_SEED reruns one case. */
const CASES = Number(process.env.FUZZ_CASES ?? 0);
/** A case that takes longer than this without finishing is a hang. */
const made: MadeCore[] = [];
const views = tempDir('coreshot-fuzz-views-');

before(async () => {
  made.push(kernelCore());
  made.push(await gcoreCore());
  // 32-bit little-endian and 64-bit big-endian layouts, written by QEMU user mode.
  made.push(qemuUserCore('arm'));
  made.push(qemuUserCore('s390x'));
});
after(() => {
  for (const m of made) m.cleanup();
  views.cleanup();
});

test(`fuzz: mutated real cores end in FormatError or a correct read (${SECONDS} s from seed ${SEED})`, async () => {
  const job: FuzzJob = {
    cores: made.map((m) => m.core),
    seed: SEED,
    seconds: SECONDS,
    // Thousands of cases, however long a loaded machine takes for them: fewer is not a fuzz test.
    minCases: CASES === 0 ? SECONDS * 50 : 0,
    maxCases: CASES,
    // The slowest legitimate cases (half a million notes) take ~1 s alone, several under load.
    caseMs: 10_000,
    maxRssBytes: 512 << 20,
    viewsDir: views.path,
  };
  const done = await runFuzzWorker<Extract<FuzzMessage, { type: 'done' }>>(
    new URL('./worker.ts', import.meta.url).pathname,
    job,
  );
  console.log(
    `fuzz: ${done.cases} cases, ${done.opened} opened and read, ${done.formatErrors} FormatErrors, ${done.viewed} also through the CLI views, peak RSS ${(done.peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
});
