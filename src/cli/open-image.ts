// The one place the CLI opens what a command inspects: a CRIU image directory (one process of it,
// `--pid`, by default the root task) or else an ELF core (plain, compressed, or `-` for standard
// input). Each source is loaded only when its input comes, so a core never loads protobuf.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportInput } from '../analysis/report.js';
import { isFileBacked, type ProcessImage } from '../model/process-image.js';
import type { CheckpointProcess } from '../sources/criu/checkpoint.js';
import type { CoreFile } from '../sources/elfcore/open.js';
import { UserError } from './errors.js';

export interface OpenImageOptions {
  /** Where mapped files are looked up (like a sysroot). */
  root?: string;
  /** A CRIU checkpoint's process to open (default: the root task). */
  pid?: number;
}

export interface OpenedCore {
  kind: 'core';
  image: ProcessImage;
  /** What `info` and `maps` report. */
  report: ReportInput;
  /** What only an ELF core has (its notes, its program headers). */
  core: CoreFile;
  close(): void;
}

export interface OpenedCheckpoint {
  kind: 'criu';
  image: ProcessImage;
  report: ReportInput;
  /** The checkpoint's process tree, root task first. */
  processes: readonly CheckpointProcess[];
  close(): void;
}

export type OpenedImage = OpenedCore | OpenedCheckpoint;

/** A CRIU image directory, else a core. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function openImage(path: string, opts: OpenImageOptions = {}): Promise<OpenedImage> {
  if (isDirectory(path)) return openCheckpoint(path, opts);
  if (opts.pid !== undefined)
    throw new UserError(`--pid picks a process of a CRIU image directory; ${path} is not one`, 2);
  const { openCore } = await import('../sources/elfcore/open.js');
  const core = openCore(path, { root: opts.root });
  return { kind: 'core', image: core.image, report: core, core, close: () => core.close() };
}

async function openCheckpoint(dir: string, opts: OpenImageOptions): Promise<OpenedCheckpoint> {
  const { Checkpoint } = await import('../sources/criu/checkpoint.js');
  const cp = Checkpoint.open(dir, { root: opts.root });
  const { image, problems, close } = cp.processImage(opts.pid ?? cp.processes[0]!.pid);
  // The checkpoint reads every mapped file it names (it refuses to open without one) for the
  // pages the images lack; a memfd's pages are all in the images.
  const files = new Set(
    image.mappings.filter((m) => isFileBacked(m) && !m.path!.endsWith(' (deleted)')).map((m) => m.path!),
  );
  const { underRoot } = await import('../host/resolve.js');
  const report: ReportInput = {
    path: dir,
    format: 'CRIU image directory',
    producer: 'CRIU checkpoint',
    elf: { ra: { size: directorySize(dir) } },
    image,
    notes: [],
    loads: [],
    fileStatus: [...files].map((path) => ({ path, hostPath: underRoot(path, opts.root), status: 'used' })),
    problems,
  };
  return { kind: 'criu', image, report, processes: cp.processes, close };
}

function directorySize(dir: string): bigint {
  let n = 0n;
  for (const f of readdirSync(dir)) n += BigInt(statSync(join(dir, f)).size);
  return n;
}
