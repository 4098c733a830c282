// symbolize() against gdb's frames on kernel cores of an -O2 program with inlined calls, built with
// its debug info in every way a distribution ships it: DWARF 5 and 4 in the file, zlib-compressed
// sections (-gz), stripped with a .gnu_debuglink file beside it, stripped with the debug file in a
// --debug-dir .build-id tree, and stripped with only MiniDebugInfo (.gnu_debugdata, xz). Each core
// is made twice: a crash under two inlined functions, and abort() (libc frames, libc6-dbg).
import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadModules } from '../../src/analysis/modules.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore, type MadeCore, requireTool } from '../helpers/cores.js';
import { ROOT, run, runOk } from '../helpers/proc.js';
import { assertSameAsGdb, gdbGroups } from './gdb-frames.js';

const SOURCE = join(ROOT, 'test/symbols/c/inline.c');

/** Moves the debug info out of `exe` into `exe.debug`; returns the debug file. */
function splitDebug(exe: string): string {
  const debug = `${exe}.debug`;
  runOk('objcopy', ['--only-keep-debug', exe, debug]);
  runOk('objcopy', ['--strip-all', exe]);
  return debug;
}

/** Fedora's MiniDebugInfo recipe: the function symbols .dynsym lacks, xz-compressed. */
function addMiniDebugInfo(exe: string): void {
  const dir = dirname(exe);
  const sh = (cmd: string) => runOk('sh', ['-c', cmd], { cwd: dir });
  sh(`nm -D "${exe}" --format=posix --defined-only | awk '{print $1}' | sort > dynsyms`);
  sh(
    `nm "${exe}" --format=posix --defined-only | awk '{ if ($2 == "T" || $2 == "t" || $2 == "D") print $1 }' | sort > funcsyms`,
  );
  sh('comm -13 dynsyms funcsyms > keep_symbols');
  sh(`objcopy --only-keep-debug "${exe}" mini_debuginfo`);
  sh(
    'objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep_symbols mini_debuginfo',
  );
  sh('xz -f mini_debuginfo');
  sh(`objcopy --strip-all "${exe}"`);
  sh(`objcopy --add-section .gnu_debugdata=mini_debuginfo.xz "${exe}"`);
}

interface Variant {
  flags: string[];
  prepare?: (exe: string) => void;
  /** --debug-dir for coreshot and the same for gdb. */
  debugDir?: (exe: string) => string;
}

const VARIANTS: Record<string, Variant> = {
  'DWARF 5': { flags: ['-g'] },
  'DWARF 4': { flags: ['-gdwarf-4'] },
  'compressed sections (-gz)': { flags: ['-g', '-gz'] },
  '.gnu_debuglink': {
    flags: ['-g'],
    prepare: (exe) => {
      const debug = splitDebug(exe);
      runOk('objcopy', [`--add-gnu-debuglink=${debug}`, exe], { cwd: dirname(exe) });
    },
  },
  '--debug-dir .build-id': {
    flags: ['-g', '-Wl,--build-id'],
    prepare: (exe) => {
      const debug = splitDebug(exe);
      const id = /Build ID: ([0-9a-f]+)/.exec(runOk('readelf', ['-n', debug]).stdout)![1]!;
      const target = join(dirname(exe), 'debug', '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(debug, target);
    },
    debugDir: (exe) => join(dirname(exe), 'debug'),
  },
  MiniDebugInfo: { flags: ['-g'], prepare: addMiniDebugInfo },
};

const made: MadeCore[] = [];
after(() => {
  for (const m of made) m.cleanup();
});

for (const [name, v] of Object.entries(VARIANTS)) {
  describe(name, () => {
    for (const args of [[], ['abort']]) {
      test(args.length ? 'abort() through libc' : 'crash under inlined calls', () => {
        requireTool('gdb');
        const core = kernelCore('x86_64', {
          source: SOURCE,
          flags: ['-O2', ...v.flags],
          args,
          ...(v.prepare && { prepare: v.prepare }),
        });
        made.push(core);
        const debugDir = v.debugDir?.(core.exe);
        const setup = debugDir ? [`set debug-file-directory ${debugDir}:/usr/lib/debug`] : [];
        const groups = gdbGroups(core.exe, core.core, setup);
        const opened = openCore(core.core);
        const modules = loadModules(opened.image, debugDir ? { debugDirs: [debugDir] } : {});
        try {
          assertSameAsGdb(modules, groups, `${name} ${args.join(' ')}`);
        } finally {
          modules.close();
          opened.close();
        }
      });
    }
  });
}

test('gdb reads MiniDebugInfo here (else the MiniDebugInfo case proves nothing)', () => {
  const res = run('gdb', ['-batch', '-nx', '-ex', 'show configuration']);
  if (!/--with-lzma/.test(res.stdout)) throw new Error('this gdb is built without lzma');
});
