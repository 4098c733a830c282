import type { Command } from '@commander-js/extra-typings';
import { parseAddress, runAction } from '../errors.js';
import { examples } from '../usage.js';

/** restore: bring a process back to life from its image. */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description(
      'run a process again from its image: every mapping, thread, register and signal mask as the image ' +
        'holds them; prints the new pid first (the process is not a child of coreshot and runs on after it exits)',
    )
    .argument('<image>', 'an ELF core (coreshot, gcore or the kernel) or a CRIU image directory')
    .option('--root <dir>', 'look for mapped files under DIR (like a sysroot)')
    .option('--pid <pid>', 'with a CRIU image directory: the process to restore')
    .option('--stopped', 'leave the restored process stopped (SIGSTOP), e.g. for gdb -p')
    .option(
      '--lazy',
      "map the core file's segment data instead of copying it (the mappings then show the core as their file)",
    )
    .option('--json', 'print {"pid", "threads", "notRestored"} as JSON')
    .addHelpText(
      'after',
      '\nNeeds root (or CAP_CHECKPOINT_RESTORE and CAP_SYS_ADMIN). x86_64 images only.\n' +
        examples([
          ['coreshot restore core.1234', 'prints the new pid, the process runs on'],
          ['gdb -p "$(coreshot restore core --stopped | head -1)"', 'restored, stopped, debugged'],
          ['coreshot restore big.core --lazy --json', "maps the core's data instead of copying it"],
          [
            'coreshot restore /var/lib/ckpt/images --pid 1234 --root /srv/rootfs',
            'one process of a CRIU checkpoint',
          ],
        ]),
    )
    .action((image, opts) =>
      runAction(async () => {
        const pid = opts.pid === undefined ? undefined : Number(parseAddress(opts.pid, '--pid'));
        await (await import('../views/restore.js')).restore(image, { ...opts, pid });
      }),
    );
}
