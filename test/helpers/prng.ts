/** mulberry32: a small seeded PRNG for the fuzzers (a seed names a case exactly). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How much a fuzzer runs, from `seed` on: `seconds`, but at least `minCases` cases (a loaded
 * machine takes longer, it does not test less) and at most `maxCases` (0: no limit).
 */
export interface FuzzBudget {
  seed: number;
  seconds: number;
  minCases: number;
  maxCases: number;
}

/** The seeds of the cases `budget` allows, one per case. */
export function* fuzzSeeds(budget: FuzzBudget): Generator<number> {
  const end = Date.now() + budget.seconds * 1000;
  for (let seed = budget.seed, n = 0; ; seed++, n++) {
    if (budget.maxCases > 0 && n >= budget.maxCases) return;
    if (Date.now() >= end && n >= budget.minCases) return;
    yield seed;
  }
}
