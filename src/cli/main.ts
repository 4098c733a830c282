#!/usr/bin/env node
import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerCommands } from './commands/index.js';
import { handleSignals } from './errors.js';
import { examples, speakForCommander, usageStatus } from './usage.js';

handleSignals();

const program = new Command()
  .name('coreshot')
  .description(
    'Read, capture and convert Linux process memory images: ELF cores, live processes, CRIU checkpoints and QEMU guests.',
  )
  .version('0.1.0')
  .addHelpText(
    'after',
    `${examples([
      ['coreshot demo', 'capture a demo process and look inside its core'],
      ['coreshot dump 1234', 'write core.1234; the process pauses only for milliseconds'],
      ['coreshot info core.1234', 'what the core holds, on one screen'],
      ['coreshot stack core.1234', 'backtrace of every thread'],
      ['coreshot threads core.1234 --json', 'every --json follows one contract (README: JSON output)'],
      ['coreshot dump --help', "a command's options and examples"],
    ])}\n\nExit status: 0 success, 1 failure, 2 usage error (bad option, argument or command).`,
  );

registerCommands(program);
speakForCommander(program);

// No top-level await: the bundle is CommonJS (see scripts/bundle-cli.mjs). Actions report their
// own errors (runAction); what reaches here is Commander's parse errors (already printed in
// coreshot's voice) and --help/--version.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = usageStatus(err);
});
