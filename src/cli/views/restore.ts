import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { ELFMAG } from '../../elf/constants.js';
import { RestoreError, type RestoreOptions, restoreProcess } from '../../sinks/process/restore.js';
import { openCore } from '../../sources/elfcore/open.js';
import { abortOnSignals, UsageError, UserError } from '../errors.js';
import { toJson } from '../json.js';

export interface RestoreCliOptions {
  root?: string;
  pid?: number;
  stopped?: boolean;
  lazy?: boolean;
  json?: boolean;
}

/** Restores an ELF core or one process of a CRIU image directory and prints the new pid. */
export async function restore(path: string, opts: RestoreCliOptions): Promise<void> {
  const signal = abortOnSignals();
  const common: RestoreOptions = {
    signal,
    stopped: opts.stopped === true,
    ...(opts.root ? { root: opts.root } : {}),
  };
  let result: Awaited<ReturnType<typeof restoreProcess>>;
  try {
    if (statSync(path).isDirectory()) {
      if (opts.lazy) throw new UsageError('--lazy needs an ELF core, not a CRIU image directory');
      // Loaded only for a directory: the CRIU source brings its protobuf schemas (~11 ms).
      const { Checkpoint } = await import('../../sources/criu/checkpoint.js');
      const ckpt = Checkpoint.open(path, { root: opts.root ?? '/' });
      const pid = opts.pid ?? ckpt.processes[0]?.pid;
      if (pid === undefined) throw new UserError(`${path}: the checkpoint holds no process`);
      result = await restoreProcess(ckpt.processImage(pid).image, common);
    } else {
      const core = openCore(path, { root: opts.root });
      try {
        // An uncompressed core: the new process reads (or with --lazy maps) its segment data.
        const imageFile = isPlainElf(path)
          ? {
              path: realpathSync(path),
              offsetOf: (m: { start: bigint }) =>
                core.loads.find((p) => p.p_vaddr === m.start && p.p_filesz > 0n)?.p_offset,
            }
          : undefined;
        if (opts.lazy && !imageFile) throw new UserError('--lazy needs an uncompressed ELF core file');
        result = await restoreProcess(core.image, {
          ...common,
          lazy: opts.lazy === true,
          ...(imageFile ? { imageFile } : {}),
        });
      } finally {
        core.close();
      }
    }
  } catch (err) {
    if (err instanceof RestoreError) throw new UserError(`cannot restore ${path}: ${err.message}`);
    throw err;
  }
  if (opts.json) {
    process.stdout.write(`${toJson(result)}\n`);
    return;
  }
  process.stdout.write(`${result.pid}\n`);
  const moved = result.threads.filter((t) => t.was !== t.tid).map((t) => `${t.was}→${t.tid}`);
  process.stderr.write(
    `restored ${path} as process ${result.pid} with ${result.threads.length} thread(s)${moved.length ? ` (new ids: ${moved.join(', ')})` : ''}${opts.stopped ? ', stopped' : ''}\n`,
  );
  for (const n of result.notRestored) process.stderr.write(`coreshot: not restored: ${n}\n`);
}

/** Whether `path` is a file starting with the ELF magic (not compressed, not standard input). */
function isPlainElf(path: string): boolean {
  if (path === '-') return false;
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(ELFMAG.length);
    readSync(fd, magic, 0, magic.length, 0);
    return magic.equals(ELFMAG);
  } finally {
    closeSync(fd);
  }
}
