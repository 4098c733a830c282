import type { Command } from '@commander-js/extra-typings';
import { parseAddress, runAction, UsageError } from '../errors.js';
import { examples } from '../usage.js';

const view = () => import('../view/index.js');

/** `coreshot view TARGET`: a local web page showing a process image. */
export function registerView(program: Command): void {
  program
    .command('view')
    .description(
      'a local web page showing a core, CRIU checkpoint or QEMU vmcore: overview, address-space map, threads, hex view, search, notes',
    )
    .argument('<target>', 'an ELF core (kernel, gdb, QEMU vmcore, coreshot) or a CRIU image directory')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', '0')
    .option('--no-open', 'do not open a browser (the URL is printed on stdout either way)')
    .option('--root <dir>', 'look for mapped files under DIR (like a sysroot)')
    .option('--pid <pid>', 'CRIU image directory: the process to show (default: the first one)')
    .addHelpText(
      'after',
      "\nThe first line on stdout is the page's URL with a one-time access token; anyone with it\n" +
        "can read the image's memory, so keep it to yourself. Serves until Ctrl-C.\n" +
        examples([
          ['coreshot view core', 'opens the page in a browser'],
          ['coreshot view images/ --pid 77 --no-open', 'one process of a CRIU checkpoint; prints the URL'],
          ['coreshot view core --port 8080 --root /srv/sysroot', 'a fixed port, files from a sysroot'],
        ]),
    )
    .action((target, opts) =>
      runAction(async () => {
        const port = Number(parseAddress(opts.port, 'PORT'));
        if (port > 65535) throw new UsageError(`PORT must be at most 65535, got ${port}`);
        await (await view()).view(target, {
          port,
          open: opts.open,
          root: opts.root,
          pid: opts.pid === undefined ? undefined : Number(parseAddress(opts.pid, 'PID')),
        });
      }),
    );
}
