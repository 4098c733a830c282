import { type Command, Option } from '@commander-js/extra-typings';
import { runAction } from '../errors.js';
import { examples } from '../usage.js';
import { withPid } from './inspect.js';

/** find: search an image's memory for bytes, text or a regular expression. */
export function registerFind(program: Command): void {
  program
    .command('find')
    .description('search memory for bytes, text (UTF-8 and UTF-16LE) or a regular expression')
    .argument('<core>', 'ELF core file (plain or compressed; - for standard input) or CRIU image directory')
    .argument('<pattern>', 'text to look for (or hex bytes with --hex, a regular expression with --regex)')
    .addOption(
      new Option('--hex', 'PATTERN is bytes in hex: "de ad be ef", deadbeef or 0xdeadbeef').conflicts(
        'regex',
      ),
    )
    .option('--regex', 'PATTERN is a JavaScript regular expression over the bytes (\\xNN matches byte NN)')
    .addOption(
      new Option('--encoding <encoding>', 'search text in this encoding only')
        .conflicts(['hex', 'regex'])
        .choices(['utf-8', 'utf-16le'] as const),
    )
    .option('-i, --ignore-case', 'with --regex: ignore case')
    .option('--max <n>', 'stop after N hits', '1000')
    .option('--context <bytes>', 'bytes of hexdump shown around each hit', '16')
    .option('--root <dir>', 'look for mapped files under DIR (like a sysroot) to supply pages the core lacks')
    .option('--pid <pid>', 'a CRIU image directory: the process to search (default: the root task)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      examples([
        ["coreshot find core 'CORESHOT-DATA'", 'as UTF-8 and as UTF-16LE text'],
        ["coreshot find core --hex 'de ad be ef'", 'bytes'],
        ["coreshot find core --regex 'user=[a-z]+' --json", 'a regular expression, hits as JSON'],
        ['coreshot find core secret --encoding utf-16le --max 10', 'one encoding, at most 10 hits'],
      ]),
    )
    .action((core, pattern, opts) =>
      runAction(async () => (await import('../views/find.js')).find(core, pattern, withPid(opts))),
    );
}
