/**
 * gdb as the judge of symbolisation: the frames of a core's crashing thread as gdb shows them
 * (frames.py), grouped as symbolize() answers — the functions inlined at one pc, then the
 * physical frame — and a comparison of the two.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ModuleSet } from '../../src/analysis/modules.js';
import { type SourceFrame, symbolize } from '../../src/analysis/symbols/symbolize.js';
import { ROOT, runOk } from '../helpers/proc.js';

const FRAMES_PY = join(ROOT, 'test/symbols/frames.py');
/** gdb.Frame.type() values (gdb/python/py-frame.c). */
const INLINE_FRAME = 2;
const TAILCALL_FRAME = 3;

/** One physical frame and the functions inlined at its pc, as gdb shows them. */
export interface GdbGroup {
  pc: bigint;
  inlined: SourceFrame[];
  physical: SourceFrame;
}

export function gdbGroups(exe: string, core: string, setup: string[] = []): GdbGroup[] {
  const args = ['-batch', '-nx', '-ex', 'set sysroot /', ...setup.flatMap((c) => ['-ex', c])];
  const out = runOk('gdb', [
    ...args,
    '-ex',
    `file ${exe}`,
    '-ex',
    `core-file ${core}`,
    '-x',
    FRAMES_PY,
  ]).stdout;
  const groups: GdbGroup[] = [];
  let inlined: SourceFrame[] = [];
  for (const line of out.split('\n')) {
    const m = /^FRAME (0x[0-9a-f]+) (\d+) (\S+) (\S+) (\d+)$/.exec(line);
    if (!m) continue;
    const type = Number(m[2]);
    // Tail-call frames are gdb's guesses from DW_TAG_call_site: no pc of the stack names them.
    if (type === TAILCALL_FRAME) continue;
    // gdb 13 shows the ELF symbol "f.cold" (a function's cold part) as "f[cold]"; symbolize()
    // keeps the symbol's own name.
    const frame: SourceFrame = { function: m[3] === '-' ? null : m[3]!.replace(/\[cold\]$/, '.cold') };
    if (m[4] !== '-' && m[5] !== '0') {
      frame.file = m[4]!;
      frame.line = Number(m[5]);
    }
    if (type === INLINE_FRAME) inlined.push(frame);
    else {
      groups.push({ pc: BigInt(m[1]!), inlined, physical: frame });
      inlined = [];
    }
  }
  return groups;
}

/** symbolize() of each of gdb's pcs equals gdb's frames (the first is not a call site). */
export function assertSameAsGdb(modules: ModuleSet, groups: readonly GdbGroup[], what: string): void {
  assert.ok(groups.length >= 2, `${what}: gdb shows a stack`);
  groups.forEach((g, i) => {
    const s = symbolize(modules, g.pc, { isCallSite: i > 0 });
    const ours = {
      inlined: s.inlined,
      physical: { function: s.function, ...(s.file !== undefined && { file: s.file, line: s.line }) },
    };
    assert.deepEqual(
      ours,
      { inlined: g.inlined, physical: g.physical },
      `${what}: frame group #${i} at 0x${g.pc.toString(16)} (${s.reason ?? ''})`,
    );
  });
}
