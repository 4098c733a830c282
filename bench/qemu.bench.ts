// coreshot guest-memory vs cp of the QEMU core and vs QEMU's own dump-guest-memory.
// A 2 GiB TCG guest gets 1 GiB of random data planted by the generic loader; QEMU's dump of it
// is timed over QMP, the QEMU process is captured with gcore, then `cp` of that core and
// `coreshot guest-memory` on it are timed (best of 3, warm page cache) with peak RSS.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, tempDir } from '../test/helpers/proc.js';
import { gcore, qemuDump, startGuest, stopGuest } from '../test/qemu/guest.js';

const GUEST_RAM = '2048M';
const PLANTED = 1 << 30;
const RUNS = 3;

function writeRandom(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 << 20);
  for (let done = 0; done < size; done += chunk.length) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
}

/** Best wall time of RUNS runs (seconds) and the peak RSS (KiB) seen, via GNU time. */
function measure(cmd: string, args: string[], before?: () => void): { seconds: number; rssKiB: number } {
  let best = Number.POSITIVE_INFINITY;
  let rss = 0;
  for (let i = 0; i < RUNS; i++) {
    before?.();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    best = Math.min(best, s);
    rss = Math.max(rss, Number(r.stderr.trim().split('\n').at(-1)));
  }
  return { seconds: best, rssKiB: rss };
}

const tmp = tempDir('coreshot-bench-qemu-');
try {
  const planted = join(tmp.path, 'random.bin');
  writeRandom(planted, PLANTED);
  const guest = await startGuest(tmp.path, {
    memory: GUEST_RAM,
    stopped: true,
    patterns: [{ addr: 0x10000000n, path: planted }],
  });
  let core: string;
  let qemuSeconds: number;
  const qemuOut = join(tmp.path, 'qemu.vmcore');
  try {
    const t0 = process.hrtime.bigint();
    await qemuDump(guest, qemuOut);
    qemuSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    core = gcore(guest, join(tmp.path, 'gcore'));
  } finally {
    await stopGuest(guest);
  }
  const out = join(tmp.path, 'coreshot.vmcore');
  const copy = join(tmp.path, 'copy.core');
  const rm = (p: string) => () => {
    try {
      unlinkSync(p);
    } catch {}
  };
  spawnSync('cat', [core], { stdio: ['ignore', 'ignore', 'ignore'] }); // warm the page cache
  const cp = measure('cp', [core, copy], rm(copy));
  const cs = measure(process.execPath, [CLI, 'guest-memory', core, '-o', out], rm(out));
  const gib = (n: number) => (n / 2 ** 30).toFixed(2);
  console.log(
    `guest: ${GUEST_RAM} RAM, ${gib(PLANTED)} GiB random data planted; QEMU core ${gib(statSync(core).size)} GiB`,
  );
  console.log(
    `QEMU dump-guest-memory (QMP, paging off):  ${qemuSeconds.toFixed(2)} s  (${gib(statSync(qemuOut).size)} GiB)`,
  );
  console.log(`cp of the QEMU core:                       ${cp.seconds.toFixed(2)} s`);
  console.log(
    `coreshot guest-memory:                     ${cs.seconds.toFixed(2)} s  (${gib(statSync(out).size)} GiB, peak RSS ${(cs.rssKiB / 1024).toFixed(0)} MiB)`,
  );
  console.log(
    `ratio coreshot / cp:                       ${(cs.seconds / cp.seconds).toFixed(2)}  (goal <= 2)`,
  );
  console.log(
    `ratio coreshot / QEMU dump-guest-memory:   ${(cs.seconds / qemuSeconds).toFixed(2)}  (goal < 1)`,
  );
  console.log(
    `peak RSS:                                  ${(cs.rssKiB / 1024).toFixed(0)} MiB  (goal < 150)`,
  );
} finally {
  tmp.cleanup();
}
