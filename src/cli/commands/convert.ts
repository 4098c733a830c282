import { type Command, Option } from '@commander-js/extra-typings';
import { compressOption, outputFilter } from '../compress-option.js';
import { abortOnSignals, parseAddress, runAction } from '../errors.js';
import { toJson } from '../json.js';
import { progressBar } from '../progress.js';
import { examples } from '../usage.js';

/** `coreshot convert criu IMAGES_DIR -o OUTDIR`: CRIU checkpoint → one ELF core per process. */
export function registerConvert(program: Command): void {
  const convert = program
    .command('convert')
    .description('Convert another memory image format into ELF cores.')
    .addHelpText('after', examples([['coreshot convert criu images/ -o cores/', 'a CRIU checkpoint']]));
  convert
    .command('criu')
    .description(
      'Convert a CRIU checkpoint (image directory) into ELF cores gdb can debug: writes ' +
        'OUTDIR/core.PID for every process of the checkpoint (or only --pid). Mapped files are read ' +
        'from --root (like a sysroot), dumped pages and shared memory from the images, pages of ' +
        'earlier pre-dumps from the parent directory.',
    )
    .argument('<images-dir>', 'the CRIU image directory (holds inventory.img)')
    .requiredOption('-o, --output <outdir>', 'directory for the core.PID files (created if missing)')
    .option('--root <dir>', 'directory holding the checkpointed files at their absolute paths', '/')
    .addOption(new Option('--pid <pid>', 'convert only this process'))
    .addOption(
      new Option(
        '--xsave-layout <cpu>',
        "XSAVE layout of the CPU the checkpoint was taken on (AVX/AVX-512 state offsets differ): 'host' reads this machine's CPUID",
      )
        .choices(['host', 'intel', 'amd'] as const)
        .default('host' as const),
    )
    .option('--force', 'overwrite existing core files', false)
    .addOption(compressOption())
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      examples([
        ['coreshot convert criu images/ -o cores/', 'cores/core.PID for every process'],
        [
          'coreshot convert criu images/ -o cores/ --pid 77 --root /srv/rootfs',
          'one process, files from a rootfs',
        ],
        [
          'coreshot convert criu images/ -o cores/ --compress zstd --json',
          'seekable zstd cores; result as JSON',
        ],
      ]),
    )
    .action((imagesDir, opts) =>
      runAction(async () => {
        const pid = opts.pid === undefined ? undefined : Number(parseAddress(opts.pid, '--pid'));
        const { convertCheckpoint } = await import('../../pipelines/criu.js');
        const layouts = await import('../../sources/criu/xsave-layout.js');
        const { linkOpenFile } = await import('../../sys/files.js');
        const xsaveLayout =
          opts.xsaveLayout === 'intel'
            ? layouts.INTEL_XSAVE_LAYOUT
            : opts.xsaveLayout === 'amd'
              ? layouts.AMD_XSAVE_LAYOUT
              : undefined;
        const bar = await progressBar('convert');
        try {
          const { cores, skipped } = await convertCheckpoint(imagesDir, opts.output, {
            root: opts.root,
            pid,
            force: opts.force,
            linker: linkOpenFile,
            xsaveLayout,
            wrapSink: await outputFilter(opts.compress),
            signal: abortOnSignals(),
            onProgress: bar.update,
          });
          bar.stop();
          if (opts.json) {
            // The file written is `output`, as in dump; problems are lines of text.
            const shown = cores.map(({ path, ...c }) => ({
              output: path,
              ...c,
              problems: c.problems.map((p) => p.what),
            }));
            process.stdout.write(`${toJson({ cores: shown, skipped })}\n`);
          } else {
            for (const c of cores) {
              process.stdout.write(
                `${c.path}: process ${c.pid}, ${c.threads} threads, ${c.segments} segments, ${c.bytes} bytes\n`,
              );
              for (const p of c.problems) process.stdout.write(`  note: ${p.what}\n`);
            }
            for (const s of skipped) process.stdout.write(`skipped: ${s.reason}\n`);
          }
        } finally {
          bar.stop();
        }
      }),
    );
}
