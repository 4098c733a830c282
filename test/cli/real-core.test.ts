// Every inspect command on a real kernel core, text and JSON: pids, addresses and sizes differ
// from machine to machine, so this checks structure — the same JSON schema as the goldens, the
// rows and blocks of the text forms — and the facts the test knows (threads, signal, executable).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { kernelCore, type MadeCore, X86_REGS } from '../helpers/cores.js';
import { coreshot } from '../helpers/proc.js';

const GOLDEN = new URL('./golden/', import.meta.url).pathname;
const THREADS = 1 + X86_REGS.x86_64.workers;
let made: MadeCore;

before(() => {
  made = kernelCore();
});
after(() => made?.cleanup());

function run(args: string[]): string {
  const res = coreshot([...args, made.core]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stderr, '');
  return res.stdout;
}

const golden = (name: string) => JSON.parse(readFileSync(`${GOLDEN}${name}`, 'utf8'));
const keys = (o: object) => Object.keys(o).sort();
const HEX = /^0x[0-9a-f]+$/;

describe('inspect commands on a kernel core', () => {
  test('info', () => {
    const j = JSON.parse(run(['info', '--json']));
    assert.deepEqual(keys(j), keys(golden('info.json')));
    assert.deepEqual(keys(j.memory), keys(golden('info.json').memory));
    assert.equal(j.executable, made.exe);
    assert.equal(j.threads, THREADS);
    assert.equal(j.signal.name, 'SIGSEGV');
    assert.equal(j.producer, 'kernel layout');
    assert.deepEqual(j.problems, []);
    assert.deepEqual(j.mappedFiles.missing, []);
    const labels = run(['info'])
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(labels, [
      'core',
      'executable',
      'command',
      'process',
      'signal',
      'threads',
      'mappings',
      'files',
      'problems',
    ]);
  });

  test('threads', () => {
    const j = JSON.parse(run(['threads', '--json']));
    const names = keys(golden('threads.json').threads[0].registers);
    assert.equal(j.threads.length, THREADS);
    for (const t of j.threads) {
      assert.equal(typeof t.tid, 'number');
      assert.deepEqual(keys(t.registers), names);
      for (const v of Object.values(t.registers)) assert.match(v as string, HEX);
    }
    const blocks = run(['threads']).trimEnd().split('\n\n');
    assert.equal(blocks.length, THREADS);
    blocks.forEach((b, i) => {
      assert.match(
        b,
        new RegExp(
          `^thread ${i + 1}  tid ${j.threads[i].tid}(  SIG[A-Z]+)?  rip 0x[0-9a-f]+  rsp 0x[0-9a-f]+\\n`,
        ),
      );
      assert.equal(b.split('\n').length, 1 + Math.ceil(names.length / 3));
    });
  });

  test('maps', () => {
    const j = JSON.parse(run(['maps', '--json']));
    const schema = keys(golden('maps.json').mappings[0]);
    for (const m of j.mappings) {
      assert.deepEqual(keys(m), schema);
      assert.ok(BigInt(m.start) < BigInt(m.end));
    }
    assert.ok(j.mappings.some((m: { path: string | null }) => m.path === made.exe));
    const lines = run(['maps']).trimEnd().split('\n');
    assert.match(lines[0]!, /^RANGE\s+PERM\s+OFFSET\s+SIZE\s+IN CORE\s+REST\s+FILE$/);
    assert.equal(lines.length, j.mappings.length + 1);
    // An ELF core says nothing of shared or private.
    for (const l of lines.slice(1))
      assert.match(l, /^[0-9a-f]{12,16}-[0-9a-f]{12,16}\s+[r-][w-][x-]\?\s+[0-9a-f]{8}\s/);
  });

  test('notes', () => {
    const j = JSON.parse(run(['notes', '--json']));
    assert.deepEqual(keys(j), keys(golden('notes.json')));
    const types = j.notes.map((n: { typeName: string }) => n.typeName);
    assert.equal(types.filter((t: string) => t === 'PRSTATUS').length, THREADS);
    for (const t of ['PRPSINFO', 'SIGINFO', 'AUXV', 'FILE', 'FPREGSET', 'X86_XSTATE'])
      assert.ok(types.includes(t), t);
    for (const n of j.notes)
      assert.deepEqual(
        keys(n).filter((k) => k !== 'decoded'),
        ['offset', 'owner', 'size', 'type', 'typeName'],
      );
    assert.ok(j.buildIds.some((b: { path: string }) => b.path === made.exe));
    const text = run(['notes']);
    assert.equal(text.match(/^CORE PRSTATUS {2}type 0x1 {2}size 336 {2}at 0x[0-9a-f]+$/gm)?.length, THREADS);
    // One layout: a header line, then `key: value` lines at one indentation.
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(\S.*| {4}[^ :][^:]*: .*)$/, line);
  });

  test('read', () => {
    const t = JSON.parse(run(['threads', '--json']));
    const rsp = t.threads[0].registers.rsp as string;
    const res = coreshot(['read', '--json', made.core, rsp, '64']);
    assert.equal(res.status, 0, res.stderr);
    const j = JSON.parse(res.stdout);
    assert.deepEqual(keys(j), keys(golden('read-partial.json')));
    assert.equal(j.hex.length, 128);
    assert.deepEqual(j.missing, []);
    const text = coreshot(['read', made.core, rsp, '64']).stdout.trimEnd().split('\n');
    assert.equal(text.length, 4);
    text.forEach((l, i) => {
      assert.ok(l.startsWith(`0x${(BigInt(rsp) + BigInt(16 * i)).toString(16).padStart(12, '0')}  `));
      assert.equal(l.slice(16, 63).replace(/ /g, ''), j.hex.slice(32 * i, 32 * i + 32));
    });
  });
});
