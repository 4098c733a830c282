import { O_TMPFILE } from '../abi/fcntl.js';
import {
  closeSync,
  constants,
  ftruncateSync,
  linkSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The output file already exists and `force` was not given. */
export class OutputExistsError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`${path} already exists (use --force to overwrite)`);
    this.name = 'OutputExistsError';
    this.path = path;
  }
}

/**
 * Gives an open file made with O_TMPFILE the name `path`, failing with code EEXIST if it exists
 * (linkat(AT_SYMLINK_FOLLOW): see sys/files.ts; io itself makes no FFI calls).
 */
export type OpenFileLinker = (fd: number, path: string) => void;

export interface SinkOptions {
  /** Overwrite an existing file. */
  force?: boolean;
  /**
   * With a linker the output is written to a file with no name (O_TMPFILE) until `commit()`, so
   * not even a SIGKILL leaves a partial file behind. Without one (or where the file system has no
   * O_TMPFILE), to a hidden temporary file beside it, which only a SIGKILL can leave behind.
   */
  linker?: OpenFileLinker;
}


/**
 * Where bytes go. Positional writes; `hole(n)` skips bytes that are zero (sparse on a file, real
 * zeros on a stream). A file sink writes to a temporary file (mode 0600: see SinkOptions.linker)
 * and gives it its name on `commit()`; `abort()` removes it, so no partial output is ever left.
 */
export interface Sink {
  readonly name: string;
  /** Bytes written or skipped so far (the current end). */
  readonly position: bigint;
  /** Whether holes stay holes (a regular file) or must be written as zeros (a pipe). */
  readonly sparse: boolean;
  write(data: Buffer): void;
  /** Advances by `n` zero bytes. */
  hole(n: bigint): void;
  commit(): void;
  abort(): void;
}

const ZERO_CHUNK = Buffer.alloc(1 << 20);
const PAGE = 4096;
const ZERO_PAGE = ZERO_CHUNK.subarray(0, PAGE);

export class FileSink implements Sink {
  readonly name: string;
  readonly sparse = true;
  position = 0n;
  private fd: number;
  private readonly tmp: string;
  private readonly force: boolean;
  /** Set when the file has no name yet (O_TMPFILE). */
  private readonly linker?: OpenFileLinker;
  private done = false;

  constructor(path: string, options: SinkOptions = {}) {
    this.name = path;
    this.force = options.force ?? false;
    if (!this.force) assertAbsent(path);
    this.tmp = join(dirname(path), `.${basename(path)}.coreshot-${process.pid}-${Date.now()}.tmp`);
    if (options.linker) {
      try {
        this.fd = openSync(dirname(path), constants.O_WRONLY | O_TMPFILE, 0o600);
        this.linker = options.linker;
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL') throw err;
      }
    }
    this.fd = openSync(this.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  }

  write(data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      done += writeSync(this.fd, data, done, data.length - done, Number(this.position) + done);
    }
    this.position += BigInt(data.length);
  }

  hole(n: bigint): void {
    this.position += n;
  }

  commit(): void {
    if (this.done) return;
    // No fsync: naming the file last already guarantees no partial file if coreshot fails or is
    // killed; like cp, gcore and the kernel's own cores, durability across an OS crash is left
    // to the OS.
    ftruncateSync(this.fd, Number(this.position));
    if (this.linker) this.linkOpenFile(this.linker);
    else this.publishTemporary();
    this.done = true;
  }

  private linkOpenFile(linker: OpenFileLinker): void {
    try {
      try {
        linker(this.fd, this.name);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        if (!this.force) throw new OutputExistsError(this.name);
        linker(this.fd, this.tmp);
        renameSync(this.tmp, this.name);
      }
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private publishTemporary(): void {
    closeSync(this.fd);
    this.fd = -1;
    if (this.force) {
      renameSync(this.tmp, this.name);
      return;
    }
    // link() fails if the target appeared meanwhile: never clobber without --force.
    try {
      linkSync(this.tmp, this.name);
    } catch (err) {
      unlinkSync(this.tmp);
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new OutputExistsError(this.name);
      throw err;
    }
    unlinkSync(this.tmp);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (this.linker) return; // a file without a name is gone once closed
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }
}

/** A sink on an already open stream fd (stdout): holes are written as zeros. */
export class StreamSink implements Sink {
  readonly name: string;
  readonly sparse = false;
  position = 0n;
  private readonly fd: number;

  constructor(fd: number, name = 'stdout') {
    this.fd = fd;
    this.name = name;
  }

  write(data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      try {
        done += writeSync(this.fd, data, done, data.length - done);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw err;
      }
    }
    this.position += BigInt(data.length);
  }

  hole(n: bigint): void {
    let left = n;
    while (left > 0n) {
      const k = left > BigInt(ZERO_CHUNK.length) ? ZERO_CHUNK.length : Number(left);
      this.write(ZERO_CHUNK.subarray(0, k));
      left -= BigInt(k);
    }
  }

  commit(): void {}
  abort(): void {}
}

export function assertAbsent(path: string): void {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    closeSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ELOOP') throw err;
  }
  throw new OutputExistsError(path);
}

/** Opens the sink for a CLI `-o` argument: `-` is stdout, anything else a file. */
export function openSink(path: string, options: SinkOptions = {}): Sink {
  return path === '-' ? new StreamSink(1) : new FileSink(path, options);
}

/**
 * Writes `data` at the sink's position, turning whole zero pages (aligned by file position) into
 * holes, so a file stays sparse where memory was zero. A stream sink gets every byte.
 */
export function writeSparse(sink: Sink, data: Buffer): void {
  if (!sink.sparse) {
    sink.write(data);
    return;
  }
  const phase = Number(sink.position % BigInt(PAGE));
  let pending = 0; // start of the data not yet written
  let p = phase === 0 ? 0 : PAGE - phase; // the first page boundary in the file
  while (p + PAGE <= data.length) {
    if (data.subarray(p, p + PAGE).equals(ZERO_PAGE)) {
      if (p > pending) sink.write(data.subarray(pending, p));
      let q = p + PAGE;
      while (q + PAGE <= data.length && data.subarray(q, q + PAGE).equals(ZERO_PAGE)) q += PAGE;
      sink.hole(BigInt(q - p));
      pending = q;
      p = q;
    } else {
      p += PAGE;
    }
  }
  if (pending < data.length) sink.write(data.subarray(pending));
}

/** Runs `write` on the sink, then commits it; if anything fails, aborts it (no partial file). */
export async function writeAtomically<T>(sink: Sink, write: () => Promise<T>): Promise<T> {
  try {
    const result = await write();
    sink.commit();
    return result;
  } catch (err) {
    sink.abort();
    throw err;
  }
}
