// Start-up benchmark: the inspecting commands (`info`, `threads --json`, `maps`, `read`) on a small
// kernel core against `node -e 0`, in interleaved rounds: Node's own start-up is most of what
// such a command costs, so the ratio says what coreshot adds (goal: at most 1.3x).
// Run: npm run bench -- startup   (needs gcc)
// BENCH_RUNS (default 20) timed rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../src/sources/elfcore/open.js';
import { CLI, kernelCore, measure, RUNS } from './lib.js';

/** The core's touched heap: small, so the command's own work is small. */
const MIB = 8;

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'coreshot-bench-start-'));
  try {
    const { core } = kernelCore(dir, MIB);
    const opened = openCore(core);
    const at = `0x${opened.image.mappings[0]!.start.toString(16)}`;
    opened.close();
    const node = process.execPath;
    const commands: [string, string[]][] = [
      ['node -e 0', [node, '-e', '0']],
      ['coreshot info', [node, CLI, 'info', core]],
      ['coreshot threads --json', [node, CLI, 'threads', '--json', core]],
      ['coreshot maps', [node, CLI, 'maps', core]],
      ['coreshot read', [node, CLI, 'read', core, at, '64']],
    ];
    const times = measure(commands.map(([, argv]) => argv));
    const base = times[0]!;
    console.log(`median wall / mean CPU of ${RUNS} interleaved rounds, ratio to node -e 0:`);
    commands.forEach(([label], i) => {
      const t = times[i]!;
      console.log(
        `  ${label.padEnd(24)} ${t.wall.toFixed(1).padStart(7)} ms  CPU ${t.cpu.toFixed(0).padStart(4)} ms  ` +
          `${(t.wall / base.wall).toFixed(2)}x wall  ${(t.cpu / base.cpu).toFixed(2)}x CPU`,
      );
    });
    const worst = Math.max(...times.slice(1).map((t) => t.wall / base.wall));
    console.log(`slowest inspecting command: ${worst.toFixed(2)}x node -e 0 (goal: at most 1.3x)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
