import type { Command } from '@commander-js/extra-typings';
import type { LeftZombie } from '../../sources/live/index.js';
import { compressOption, outputFilter } from '../compress-option.js';
import { abortOnSignals, parseAddress, runAction, UsageError } from '../errors.js';
import { toJson } from '../json.js';
import { progressBar } from '../progress.js';
import { examples } from '../usage.js';

function formatSize(n: bigint): string {
  const v = Number(n);
  if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)} GiB`;
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)} MiB`;
  return `${(v / 1024).toFixed(0)} KiB`;
}

function parsePid(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text.trim()))
    throw new UsageError(`PID must be a positive number, got '${text}'`);
  return Number(text);
}

export function registerDump(program: Command): void {
  program
    .command('dump')
    .description('capture a running process as an ELF core, like gcore, pausing it only for milliseconds')
    .argument('<pid>', 'process to dump')
    .option(
      '-o, --output <file>',
      'core file to write, - for stdout; a device, FIFO or /dev/fd/N is written into as a stream (default: core.PID; with --tree a prefix)',
    )
    .option('-f, --force', 'overwrite an existing output file')
    .addOption(compressOption())
    .option('--no-snapshot', 'keep the target stopped for the whole dump instead of forking a snapshot')
    .option('--filter <hex>', 'coredump_filter bits to use instead of /proc/PID/coredump_filter (e.g. 0x33)')
    .option('--tree', 'dump the process and all its descendants, one core each (PREFIX.PID)')
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText(
      'after',
      '\nBy default the target is stopped only while its registers are read and a fork is run inside\n' +
        'it; the copy-on-write copy is dumped while the target runs on, then killed. Even if coreshot\n' +
        'is killed at any moment, the target runs on as before, the copy ends and no file is left.\n' +
        '\nLimits: MAP_SHARED memory is not frozen by the snapshot; MADV_DONTFORK and MADV_WIPEONFORK\n' +
        'areas are read from the running target (listed in the summary). x86_64 only.\n' +
        examples([
          ['coreshot dump 1234', 'writes core.1234; the process runs on'],
          ['coreshot dump 1234 -o - --compress zstd > core.zst', 'seekable zstd on stdout'],
          ['coreshot dump 1234 --tree -o /tmp/app', 'the process and its descendants: /tmp/app.PID'],
          ['coreshot dump 1234 --no-snapshot --filter 0x33 --json', 'stopped throughout; summary as JSON'],
        ]),
    )
    .action((pidText, opts) =>
      runAction(async () => {
        const pid = parsePid(pidText);
        const filter = opts.filter === undefined ? undefined : parseFilter(opts.filter);
        const { processTree, leftZombie } = await import('../../sources/live/index.js');
        const { dumpProcess } = await import('../../pipelines/dump.js');
        const { checkOutput, openSink } = await import('../../io/sink.js');
        const { linkOpenFile } = await import('../../sys/files.js');
        const signal = abortOnSignals();
        const compressed = await outputFilter(opts.compress);
        let pids = [pid];
        if (opts.tree) {
          if (opts.output === '-')
            throw new UsageError('--tree writes one file per process: -o - is not possible');
          pids = processTree(pid);
        }
        const toStdout = opts.output === '-';
        const sinkOptions = { force: opts.force, linker: linkOpenFile };
        const outputs = pids.map((p) =>
          opts.tree ? `${opts.output ?? 'core'}.${p}` : (opts.output ?? `core.${p}`),
        );
        // Every name is checked before the first process is touched.
        for (const out of outputs) checkOutput(out, sinkOptions);
        const results = [];
        for (const [i, p] of pids.entries()) {
          const bar = await progressBar(`dump ${p}`);
          try {
            const sink = compressed(openSink(outputs[i]!, sinkOptions));
            const s = await dumpProcess(p, sink, {
              snapshot: opts.snapshot,
              filter,
              signal,
              onProgress: bar.update,
            });
            results.push(s);
          } finally {
            bar.stop();
          }
        }
        const zombies = await Promise.all(results.map((s) => (s.copy ? leftZombie(s.copy) : undefined)));
        for (const [i, s] of results.entries()) {
          if (opts.json) continue;
          const mode = s.snapshot ? 'snapshot' : 'stopped throughout';
          const line =
            `${s.output}: ${formatSize(s.bytes)} (${s.threads} threads, ${s.mappings} mappings) in ` +
            `${(s.totalMs / 1000).toFixed(2)} s, target paused ${s.pauseMs.toFixed(1)} ms (${mode})`;
          process.stderr.write(`${line}\n`);
          if (s.noSnapshotReason) process.stderr.write(`  no snapshot: ${s.noSnapshotReason}\n`);
          if (s.frozenAreas > 0) {
            process.stderr.write(
              `  ${s.frozenAreas} MADV_DONTFORK/WIPEONFORK areas frozen for the fork: ` +
                `${s.freezeMs.toFixed(1)} ms of the pause\n`,
            );
          }
          if (s.notFrozenReason) process.stderr.write(`  areas not frozen: ${s.notFrozenReason}\n`);
          for (const a of s.notFrozen)
            process.stderr.write(`  read from the running target, not frozen: ${a}\n`);
          if (s.sharedBytes > 0n)
            process.stderr.write(
              `  ${formatSize(s.sharedBytes)} of shared memory read live (never frozen)\n`,
            );
          if (s.unreadableBytes > 0n)
            process.stderr.write(`  ${formatSize(s.unreadableBytes)} unreadable (written as zeros)\n`);
          const z = zombies[i];
          if (z) process.stderr.write(`  ${zombieNote(z)}\n`);
        }
        if (opts.json) {
          // The filter is a mask: a word, written in hex.
          const json = results.map((s, i) => ({ ...s, zombie: zombies[i], filter: BigInt(s.filter) }));
          const text = `${toJson(opts.tree ? json : json[0])}\n`;
          (toStdout ? process.stderr : process.stdout).write(text);
        }
      }),
    );
}

/** The summary's line for a snapshot copy its parent leaves a zombie. */
function zombieNote(z: LeftZombie): string {
  const why = z.parentStopped
    ? 'the parent is stopped'
    : 'the parent does not ignore SIGCHLD and had not reaped it 0.5 s after the dump';
  return `the snapshot copy ${z.pid} stays a zombie until its parent ${z.parent} (${z.comm}) waits for it or exits: ${why}`;
}

function parseFilter(text: string): number {
  const t = text.trim().toLowerCase();
  const v = parseAddress(t.startsWith('0x') ? t : `0x${t}`, '--filter');
  if (v > 0x1ffn) throw new UsageError(`--filter must be at most 0x1ff, got '${text}'`);
  return Number(v);
}
