import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { XsaveLayout } from '../elf/xsave.js';
import { FileSink, type Sink } from '../io/sink.js';
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
  problems: string[];
}

export interface ConvertResult {
  cores: ConvertedCore[];
  /** Processes of the tree that have nothing to convert (zombies), with the reason. */
  skipped: { pid: number; reason: string }[];
}

/**
 * Writes OUTDIR/core.PID for every process of a CRIU checkpoint that has an address space
 * (zombies are skipped), or only for `pid`. Each core is
 * streamed from the images and written through a temporary file, so a failure leaves no file.
 */
export async function convertCheckpoint(
  imagesDir: string,
  outDir: string,
  opts: ConvertCheckpointOptions = {},
): Promise<ConvertResult> {
  const ckpt = Checkpoint.open(imagesDir, { root: opts.root, xsaveLayout: opts.xsaveLayout });
  const pids = opts.pid === undefined ? ckpt.processes.map((p) => p.pid) : [opts.pid];
  mkdirSync(outDir, { recursive: true });
  const out: ConvertedCore[] = [];
  const skipped: ConvertResult['skipped'] = [];
  for (const pid of pids) {
    const reason = opts.pid === undefined ? ckpt.unconvertible(pid) : undefined;
    if (reason) {
      skipped.push({ pid, reason });
      continue;
    }
    const built = ckpt.processImage(pid);
    try {
      const path = join(outDir, `core.${pid}`);
      const sink = new FileSink(path, { force: opts.force });
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
