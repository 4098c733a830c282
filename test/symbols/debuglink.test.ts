// .gnu_debuglink is only followed to a file whose CRC32 matches the one the link records: a debug
// file changed after linking (one byte of a file name in it) is not used: the stripped program
// then has neither a name nor a line for the pc; restored, the file is used again.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModules } from '../../src/analysis/modules.js';
import { symbolize } from '../../src/analysis/symbols/symbolize.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { ROOT, runOk } from '../helpers/proc.js';
import { gdbGroups } from './gdb-frames.js';

let made: MadeCore;
before(() => {
  made = kernelCore('x86_64', {
    source: join(ROOT, 'test/symbols/c/inline.c'),
    flags: ['-O2', '-g'],
    args: [],
    prepare: (exe) => {
      runOk('objcopy', ['--only-keep-debug', exe, `${exe}.debug`]);
      runOk('objcopy', ['--strip-all', `--add-gnu-debuglink=${exe}.debug`, exe]);
    },
  });
});
after(() => made?.cleanup());

test('a debug file whose CRC differs from the link is not used', () => {
  const groups = gdbGroups(made.exe, made.core);
  const debug = `${made.exe}.debug`;
  const original = readFileSync(debug);
  const lookup = () => {
    const core = openCore(made.core);
    const modules = loadModules(core.image, { debuginfodCache: join(made.dir, 'no-cache') });
    try {
      return symbolize(modules, groups[0]!.pc, { isCallSite: false });
    } finally {
      modules.close();
      core.close();
    }
  };
  assert.equal(lookup().line, groups[0]!.physical.line, 'the linked file gives the line gdb shows');
  const changed = Buffer.from(original);
  const at = changed.indexOf('inline.c');
  assert.ok(at > 0);
  changed[at] = 'X'.charCodeAt(0);
  writeFileSync(debug, changed);
  const r = lookup();
  // The stripped program keeps no symbol for the static function: only the debug file named it.
  assert.equal(r.function, null);
  assert.equal(r.line, undefined);
  assert.match(r.reason ?? '', /no line info \(no DWARF debug info\); no symbol names this address/);
  writeFileSync(debug, original);
  assert.equal(lookup().line, groups[0]!.physical.line);
});
