// Round trip: the multi-threaded counter dumped, killed, restored --stopped, and the restored
// process dumped again with `coreshot dump --no-snapshot`: the same mappings (adjacent ones with
// the same protections, file and offsets taken together: the kernel may merge what the original
// kept apart), the same bytes in each (but the rseq areas, where the kernel writes the CPU), and every thread the same general registers (a thread
// that was in a system call as the restore resumes it: restarted). [vvar] is the kernel's.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { recordedState } from '../../src/elf/notes/coreshot.js';
import { X86_64 } from '../../src/inject/x86_64.js';
import type { Mapping, ProcessImage } from '../../src/model/process-image.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { compileC, coreshot, isAlive, killAndWait, ROOT, startDetached, tempDir } from '../helpers/proc.js';
import { eventually } from '../live/helpers.js';

const THREADS = 3;
let tmp: ReturnType<typeof tempDir>;
before(() => {
  tmp = tempDir('coreshot-restore-roundtrip-');
});
after(() => tmp?.cleanup());

interface Range {
  start: bigint;
  end: bigint;
  key: string;
  /** The file offset the range would have at 0 (continuous across a join). */
  base: bigint;
}

/** The image's mappings but [vvar], adjacent ones that only differ in where they split joined. */
function ranges(image: ProcessImage): Range[] {
  const out: Range[] = [];
  const key = (m: Mapping) =>
    `${m.read ? 'r' : '-'}${m.write ? 'w' : '-'}${m.exec ? 'x' : '-'}${m.shared ? 's' : 'p'} ${m.path ?? ''}`;
  for (const m of image.mappings) {
    if (m.path?.startsWith('[vvar')) continue;
    const last = out[out.length - 1];
    const k = key(m);
    const base = m.path?.startsWith('/') ? m.offset - m.start : 0n;
    if (last && last.end === m.start && last.key === k && last.base === base) last.end = m.end;
    else out.push({ start: m.start, end: m.end, key: k, base });
  }
  return out;
}

test('restore --stopped, then dump --no-snapshot: equal mappings, contents and registers', async () => {
  const dir = join(tmp.path, 'counter');
  mkdirSync(dir);
  const prog = compileC(join(ROOT, 'test/restore/progs/counter.c'), join(tmp.path, 'counter-bin'), [
    '-O2',
    '-pthread',
  ]);
  const pid = startDetached(prog, [dir, String(THREADS)]);
  let restored = 0;
  const first = join(dir, 'first.core');
  const second = join(dir, 'second.core');
  try {
    await eventually(
      () => [...Array(THREADS).keys()].every((t) => existsSync(join(dir, `count.${t}`))),
      (ok) => ok,
      15_000,
    );
    const dumped = coreshot(['dump', String(pid), '-o', first]);
    assert.equal(dumped.status, 0, dumped.stderr);
    // Gone and reaped: only then is its pid free to be given back.
    await killAndWait(pid, 30_000);
    assert.ok(!isAlive(pid), `the dumped process ${pid} was not reaped`);
    const res = coreshot(['restore', first, '--stopped']);
    assert.equal(res.status, 0, res.stderr);
    restored = Number(res.stdout.split('\n')[0]);
    assert.equal(restored, pid, 'the restored process has the pid it was dumped with');
    assert.match(readFileSync(`/proc/${restored}/stat`, 'utf8'), /\) T /);
    const again = coreshot(['dump', '--no-snapshot', String(restored), '-o', second]);
    assert.equal(again.status, 0, again.stderr);
  } finally {
    await killAndWait(pid);
    if (restored) await killAndWait(restored);
  }
  const a = openCore(first);
  const b = openCore(second);
  try {
    const ra = ranges(a.image);
    const rb = ranges(b.image);
    assert.deepEqual(
      rb.map((r) => `${r.start.toString(16)}-${r.end.toString(16)} ${r.key}`),
      ra.map((r) => `${r.start.toString(16)}-${r.end.toString(16)} ${r.key}`),
    );
    // Every byte the first image holds, the second holds the same, but in each thread's rseq
    // area (the kernel writes the CPU the thread runs on there).
    const recorded = recordedState(
      a.image.arch,
      a.image.extraNotes,
      a.image.threads.map((t) => t.regsets),
    ).threads;
    const excepted = recorded.flatMap((t) =>
      t && t.rseq.size > 0 ? [{ start: t.rseq.address, end: t.rseq.address + BigInt(t.rseq.size) }] : [],
    );
    assert.equal(excepted.length, THREADS, 'every thread has its rseq area recorded');
    const blank = (buf: Buffer, at: bigint) => {
      for (const r of excepted) {
        const from = r.start > at ? r.start - at : 0n;
        const to = r.end - at < BigInt(buf.length) ? r.end - at : BigInt(buf.length);
        if (from < to) buf.fill(0, Number(from), Number(to));
      }
      return buf;
    };
    for (const m of a.image.mappings) {
      if (m.path?.startsWith('[vvar')) continue;
      const CHUNK = 1n << 20n;
      const end = m.start + m.dumped;
      for (let at = m.start; at < end; at += CHUNK) {
        const n = Number(end - at < CHUNK ? end - at : CHUNK);
        const x = a.image.memory.read(at, n);
        if (x.missing.length > 0) continue;
        const y = b.image.memory.read(at, n);
        assert.deepEqual(
          y.missing,
          [],
          `0x${at.toString(16)} (${m.path ?? 'anonymous'}) is not in the second image`,
        );
        assert.ok(
          blank(x.data, at).equals(blank(y.data, at)),
          `the bytes at 0x${at.toString(16)} (${m.path ?? 'anonymous'}) differ`,
        );
      }
    }
    assert.equal(b.image.threads.length, a.image.threads.length);
    for (const t of a.image.threads) {
      const u = b.image.threads.find((x) => x.tid === t.tid);
      assert.ok(u, `thread ${t.tid} has no counterpart`);
      assert.ok(
        X86_64.restartWithoutBlock(t.gpRegs).equals(u.gpRegs),
        `thread ${t.tid}: general registers differ`,
      );
    }
  } finally {
    a.close();
    b.close();
  }
});
