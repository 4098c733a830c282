import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../errors.js';
import { examples } from '../usage.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'start a small demo process, capture it as an ELF core in snapshot mode while it keeps running, ' +
        'and inspect the core: the quick start',
    )
    .option('--dir <dir>', 'where to put the demo core (default: a new temporary directory)')
    .addHelpText(
      'after',
      examples([
        ['coreshot demo', 'the core stays in a new directory under /tmp'],
        ['coreshot demo --dir .', 'the core (core.PID) in this directory'],
      ]),
    )
    .action((opts) => runAction(async () => (await import('../views/demo.js')).demo(opts)));
}
