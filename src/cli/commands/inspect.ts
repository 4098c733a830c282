import { type Command, Option, type OptionValues } from '@commander-js/extra-typings';
import { parseAddress, runAction } from '../errors.js';
import { examples } from '../usage.js';

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
      .argument('<core>', TARGET)
      .addHelpText(
        'after',
        examples([
          ['coreshot info core', 'executable, signal, threads, where the memory comes from'],
          ['coreshot info core --root /srv/sysroot', "the crashed machine's files, copied here"],
          ['coreshot info core --json', 'the same as JSON (README: JSON output)'],
        ]),
      ),
  ).action((core, opts) => runAction(async () => (await view()).info(core, withPid(opts))));

  common(
    program
      .command('threads')
      .description('every thread with its general registers (named as eu-readelf -n names them)')
      .argument('<core>', TARGET)
      .addHelpText(
        'after',
        examples([
          ['coreshot threads core', 'tid, signal and registers of every thread'],
          ['coreshot threads core --json', 'registers as "0x..." strings'],
        ]),
      ),
  ).action((core, opts) => runAction(async () => (await view()).threads(core, withPid(opts))));

  common(
    program
      .command('maps')
      .description(
        'memory mappings: range, permissions, file offset, size, how much is in the core, where the rest comes from',
      )
      .argument('<core>', TARGET)
      .addHelpText(
        'after',
        examples([
          ['coreshot maps core', 'one line per mapping'],
          ['coreshot maps core --root /srv/sysroot --json', 'mapped files looked up under a sysroot'],
        ]),
      ),
  ).action((core, opts) => runAction(async () => (await view()).maps(core, withPid(opts))));

  common(
    program
      .command('notes')
      .description(
        'every ELF note, decoded (prstatus, prpsinfo, siginfo, auxv, NT_FILE, FP/XSAVE state, ...)',
      )
      .argument('<core>', 'ELF core file')
      .addHelpText(
        'after',
        examples([
          ['coreshot notes core', 'like eu-readelf -n, decoded'],
          ['coreshot notes core --json', 'the decoded notes as JSON'],
        ]),
      ),
  ).action((core, opts) => runAction(async () => (await view()).notes(core, withPid(opts))));

  common(
    program
      .command('read')
      .description(
        'hexdump of process memory at ADDRESS; bytes the core cannot supply are shown as ?? and named',
      )
      .argument('<core>', TARGET)
      .argument(
        '<address>',
        'address expression: a number (decimal or 0x hex), a register ($rsp, $pc, $sp), a symbol, joined by + and - ($rsp+0x20, main+16)',
      )
      .argument('<length>', 'number of bytes (decimal or 0x hex)')
      .addHelpText(
        'after',
        examples([
          ["coreshot read core '$rsp' 256", "hexdump of 256 bytes at the crashing thread's stack pointer"],
          [
            "coreshot read core '$sp+0x20' 64",
            'past the stack pointer, named the same on every architecture',
          ],
          [
            'coreshot read core main+16 32 --json',
            'a symbol plus an offset; hex, and the ranges the core lacks',
          ],
          [
            'coreshot read core 0x7ffd5e5fc000 4096 --raw --zero-fill > page.bin',
            'the bytes; zeros where the core has none',
          ],
        ]),
      ),
  )
    .option(
      '--thread <tid>',
      'the thread whose registers $NAME reads (default: the first, the one that crashed)',
    )
    .addOption(new Option('--raw', 'write the bytes themselves to stdout').conflicts('json'))
    .option('--zero-fill', 'with --raw: write zeros for bytes the core does not hold instead of failing')
    .action((core, address, length, opts) =>
      runAction(async () => {
        const thread = opts.thread === undefined ? undefined : Number(parseAddress(opts.thread, 'TID'));
        return (await view()).read(core, address, parseAddress(length, 'LENGTH'), {
          ...withPid(opts),
          thread,
        });
      }),
    );
}
