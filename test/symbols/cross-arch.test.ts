// symbolize() against gdb-multiarch on QEMU user-mode cores of the same -O2 program, static, for
// arm (Thumb code: the low bit of function symbols, $t/$a/$d mapping symbols), aarch64, ppc64le
// and s390x (big endian). These cores name no files (no NT_FILE): the program is given as `exe`
// and placed at AT_ENTRY, like gdb's and eu-stack's -e.

import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModules } from '../../src/analysis/modules.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { type QemuArch, qemuUserCore, requireTool } from '../helpers/cores.js';
import { ROOT } from '../helpers/proc.js';
import { assertSameAsGdb, gdbGroups } from './gdb-frames.js';

const ARCHES: QemuArch[] = ['arm', 'aarch64', 'ppc64le', 's390x'];

for (const arch of ARCHES) {
  describe(arch, () => {
    for (const args of [[], ['abort']]) {
      test(args.length ? 'abort() in static libc' : 'crash under inlined calls', () => {
        requireTool('gdb-multiarch');
        const made = qemuUserCore(arch, {
          source: join(ROOT, 'test/symbols/c/inline.c'),
          flags: ['-O2', '-g'],
          args,
        });
        try {
          const groups = gdbGroups(made.exe, made.core, [], 'gdb-multiarch');
          const core = openCore(made.core);
          const modules = loadModules(core.image, { exe: made.exe });
          try {
            assertSameAsGdb(modules, groups, `${arch} ${args.join(' ')}`);
          } finally {
            modules.close();
            core.close();
          }
        } finally {
          made.cleanup();
        }
      });
    }
  });
}
