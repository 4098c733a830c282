import type { Command } from '@commander-js/extra-typings';
import { parseAddress, runAction } from '../errors.js';
import { examples } from '../usage.js';

const view = () => import('../views/stack.js');

/** `coreshot stack TARGET`: symbolised backtraces of every thread of a core, checkpoint or process. */
export function registerStack(program: Command): void {
  program
    .command('stack')
    .description('backtrace of every thread (like gdb "thread apply all bt" or eu-stack), without gdb')
    .argument('<target>', 'an ELF core, a CRIU image directory, or the PID of a running process')
    .option('--exe <file>', 'the executable, when it is not where the target recorded it')
    .option('--root <dir>', 'look for mapped files under DIR (like a sysroot)')
    .option(
      '--debug-dir <dir>',
      'also look for separate debug files here (repeatable)',
      (dir: string, dirs: string[]) => [...dirs, dir],
      [] as string[],
    )
    .option('--thread <tid>', 'only this thread')
    .option('--pid <pid>', 'CRIU image directory: the process to show (default: the first one)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      examples([
        ['coreshot stack core', 'every thread of a core'],
        ['coreshot stack core --exe ./build/app', 'the executable moved since the crash'],
        ['coreshot stack 1234 --thread 1240', 'a running process, paused only while read'],
        ['coreshot stack images/ --pid 77 --json', 'one process of a CRIU checkpoint, as JSON'],
        ['coreshot stack core --root /srv/sysroot --debug-dir ~/debug', 'files and debug files elsewhere'],
      ]) +
        '\n\nEach frame says how it was found: initial (the registers), cfi (DWARF call-frame\n' +
        'information), frame-pointer, leaf (return address still in the link register or on top\n' +
        'of the stack), signal-frame (registers the kernel saved for a signal handler).',
    )
    .action((target, opts) =>
      runAction(async () =>
        (await view()).stack(target, {
          ...opts,
          thread: opts.thread === undefined ? undefined : Number(parseAddress(opts.thread, 'TID')),
          pid: opts.pid === undefined ? undefined : Number(parseAddress(opts.pid, 'PID')),
        }),
      ),
    );
}
