import { type Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { parseAddress, runAction } from '../errors.js';

const view = () => import('../views/inspect.js');

function common<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .option('--root <dir>', 'look for mapped files under DIR (like a sysroot) to supply pages the core lacks')
    .option('--pid <pid>', 'a CRIU image directory: the process to look at (default: the root task)')
    .option('--json', 'print machine-readable JSON');
}

/** The options with --pid as a number. */
export function withPid<O extends { pid?: string }>(opts: O): Omit<O, 'pid'> & { pid?: number } {
  const { pid, ...rest } = opts;
  return pid === undefined ? rest : { ...rest, pid: Number(parseAddress(pid, '--pid')) };
}

const TARGET = 'ELF core file (plain or compressed; - for standard input) or CRIU image directory';

/** info, threads, maps, notes, read: looking inside an ELF core or a CRIU checkpoint. */
export function registerInspect(program: Command): void {
  common(
    program
      .command('info')
      .description(
        'one-screen summary of a core: executable, command line, pids, signal, threads, mappings, sizes, problems',
      )
      .argument('<core>', TARGET),
  ).action((core, opts) => runAction(async () => (await view()).info(core, withPid(opts))));

  common(
    program
      .command('threads')
      .description('every thread with its general registers (named as eu-readelf -n names them)')
      .argument('<core>', TARGET),
  ).action((core, opts) => runAction(async () => (await view()).threads(core, withPid(opts))));

  common(
    program
      .command('maps')
      .description(
        'memory mappings: range, permissions, file offset, size, how much is in the core, where the rest comes from',
      )
      .argument('<core>', TARGET),
  ).action((core, opts) => runAction(async () => (await view()).maps(core, withPid(opts))));

  common(
    program
      .command('notes')
      .description(
        'every ELF note, decoded (prstatus, prpsinfo, siginfo, auxv, NT_FILE, FP/XSAVE state, ...)',
      )
      .argument('<core>', 'ELF core file'),
  ).action((core, opts) => runAction(async () => (await view()).notes(core, withPid(opts))));

  common(
    program
      .command('read')
      .description(
        'hexdump of process memory at ADDRESS; bytes the core cannot supply are shown as ?? and named',
      )
      .argument('<core>', TARGET)
      .argument('<address>', 'virtual address (decimal or 0x hex)')
      .argument('<length>', 'number of bytes (decimal or 0x hex)'),
  )
    .addOption(new Option('--raw', 'write the bytes themselves to stdout'))
    .option('--zero-fill', 'with --raw: write zeros for bytes the core does not hold instead of failing')
    .action((core, address, length, opts) =>
      runAction(async () =>
        (await view()).read(
          core,
          parseAddress(address, 'ADDRESS'),
          parseAddress(length, 'LENGTH'),
          withPid(opts),
        ),
      ),
    );
}
