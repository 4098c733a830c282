import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../bytes/errors.js';
import type { XsaveLayout } from '../elf/xsave.js';
import { checkOutput, type OpenFileLinker, openSink, type Sink } from '../io/sink.js';
import type { LongRunOptions } from '../model/progress.js';
import { writeElfCore } from '../sinks/elfcore/write.js';
import { Checkpoint } from '../sources/criu/checkpoint.js';

export interface ConvertCheckpointOptions extends LongRunOptions {
  /** Directory holding the checkpointed processes' files at their absolute paths (default '/'). */
  root?: string;
  /** Convert only this process. */
  pid?: number;
  /** Overwrite existing core files. */
  force?: boolean;
  /** Writes each core as a file with no name until it is complete (see SinkOptions.linker). */
  linker?: OpenFileLinker;
  /** The XSAVE layout of the CPU the checkpoint was taken on (default: this machine's). */
  xsaveLayout?: XsaveLayout;
  /** Wraps each output sink (to compress it). */
  wrapSink?: (sink: Sink) => Sink;
}

export interface ConvertedCore {
  pid: number;
  path: string;
  bytes: bigint;
  segments: number;
  threads: number;
  /** Data the checkpoint could not supply, or that was substituted. */
  problems: Finding[];
}

export interface ConvertResult {
  cores: ConvertedCore[];
  /** Processes of the tree that have nothing to convert (zombies), with the reason. */
  skipped: { pid: number; reason: string }[];
}

/**
 * Writes OUTDIR/core.PID for every process of a CRIU checkpoint that has an address space
 * (zombies are skipped), or only for `pid`. Every output name is checked before the first core is
 * written; each core is streamed from the images and written through a temporary file, so a
 * failure leaves no file.
 */
export async function convertCheckpoint(
  imagesDir: string,
  outDir: string,
  opts: ConvertCheckpointOptions = {},
): Promise<ConvertResult> {
  const ckpt = Checkpoint.open(imagesDir, { root: opts.root, xsaveLayout: opts.xsaveLayout });
  const pids = opts.pid === undefined ? ckpt.processes.map((p) => p.pid) : [opts.pid];
  mkdirSync(outDir, { recursive: true });
  const sinkOptions = { force: opts.force, linker: opts.linker };
  const pathOf = (pid: number) => join(outDir, `core.${pid}`);
  const skipped: ConvertResult['skipped'] = [];
  const todo: number[] = [];
  for (const pid of pids) {
    const reason = opts.pid === undefined ? ckpt.unconvertible(pid) : undefined;
    if (reason) skipped.push({ pid, reason });
    else todo.push(pid);
  }
  for (const pid of todo) checkOutput(pathOf(pid), sinkOptions);
  const out: ConvertedCore[] = [];
  for (const pid of todo) {
    const built = ckpt.processImage(pid);
    try {
      const path = pathOf(pid);
      const sink = openSink(path, sinkOptions);
      const summary = await writeElfCore(built.image, opts.wrapSink ? opts.wrapSink(sink) : sink, opts);
      out.push({
        pid,
        path,
        bytes: summary.bytes,
        segments: summary.segments,
        threads: built.image.threads.length,
        problems: built.problems,
      });
    } finally {
      built.close();
    }
  }
  return { cores: out, skipped };
}
