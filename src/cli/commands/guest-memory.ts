import { type Command, Option } from '@commander-js/extra-typings';
import { compressOption } from '../compress-option.js';
import { runAction } from '../errors.js';
import { examples } from '../usage.js';

/** guest-memory: a QEMU process core → the guest's physical memory as an ELF vmcore. */
export function registerGuestMemory(program: Command): void {
  program
    .command('guest-memory')
    .summary("extract a QEMU guest's physical memory from a core of the QEMU process into an ELF vmcore")
    .description(
      "Extract a QEMU guest's physical memory from a core of the QEMU process (kernel core, gcore, " +
        "coreshot dump) into an ELF vmcore like QEMU's dump-guest-memory (ELF, paging off), without " +
        "debug symbols. The guest's VMCOREINFO note is copied when it registered one (-device vmcoreinfo).",
    )
    .argument('<qemu-core>', 'core of a QEMU process (kernel core, gcore, coreshot dump)')
    .option('-o, --output <file>', 'vmcore to write ("-" for stdout)')
    .option('--root <dir>', 'look for the QEMU executable and mapped files under DIR (like a sysroot)')
    .option(
      '--arch <arch>',
      "guest architecture: x86_64, 386, aarch64-le, aarch64-be, s390, ppc64-le, ppc64-be (default: from QEMU's name)",
    )
    .addOption(
      new Option(
        '--list',
        'print the RAM blocks and the guest-physical memory map instead of writing a vmcore',
      ).conflicts(['output', 'compress', 'force']),
    )
    .option('--json', 'print machine-readable JSON')
    .option('-f, --force', 'overwrite the output file')
    .addOption(compressOption())
    .addHelpText(
      'after',
      examples([
        ['coreshot guest-memory qemu.core -o guest.vmcore', "the guest's RAM as an ELF vmcore (crash, drgn)"],
        ['coreshot guest-memory qemu.core --list', 'the RAM blocks and the guest-physical map'],
        ['coreshot guest-memory qemu.core --list --json', 'the same as JSON'],
        ['coreshot dump "$(pidof qemu-system-x86_64)" -o qemu.core', 'a core of a running QEMU first'],
      ]),
    )
    .action((core, opts) =>
      runAction(async () => (await import('../views/guest-memory.js')).guestMemory(core, opts)),
    );
}
