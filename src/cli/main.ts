#!/usr/bin/env node
import { Command } from '@commander-js/extra-typings';
import { registerCommands } from './commands/index.js';
import { handleSignals } from './errors.js';

handleSignals();

const program = new Command()
  .name('coreshot')
  .description(
    'Read, capture and convert Linux process memory images: ELF cores, live processes, CRIU checkpoints and QEMU guests.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerCommands(program);

// No top-level await: the bundle is CommonJS (see scripts/bundle-cli.mjs); every action catches
// its own errors (runAction).
void program.parseAsync(process.argv);
