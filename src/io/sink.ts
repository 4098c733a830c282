// Where output bytes go: files (complete or absent, never partial, never replacing anything but a
// regular file) and streams (stdout, pipes, FIFOs, character devices), behind one Sink interface.

import {
  closeSync,
  constants,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  write as writeCb,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { O_TMPFILE } from '../abi/fcntl.js';

/**
 * What went wrong with an output: `exists` (not replaced without --force), `directory`, `special`
 * (a block device or socket: neither replaced nor written into), `dangling-link` (a symbolic link
 * to nothing), `closed` (the reader of a pipe went away), `full` (no space left).
 */
export type OutputErrorKind = 'exists' | 'directory' | 'special' | 'dangling-link' | 'closed' | 'full';

/** What follows the path in each kind's message. */
const OUTPUT_PROBLEMS: Record<OutputErrorKind, string> = {
  exists: ' already exists (use --force to overwrite)',
  directory: ' is a directory: give a file name',
  special: ' is neither a file, a pipe nor a character device: coreshot does not write there',
  'dangling-link': ' is a symbolic link to nothing: give the file name itself',
  closed: ': the reader closed the pipe before the output was complete',
  full: ': no space left on device',
};

/** An output that cannot be (or could not be fully) written, with the kind of problem. */
export class OutputError extends Error {
  readonly kind: OutputErrorKind;
  readonly path: string;
  constructor(kind: OutputErrorKind, path: string) {
    super(`${path}${OUTPUT_PROBLEMS[kind]}`);
    this.name = 'OutputError';
    this.kind = kind;
    this.path = path;
  }
}

/** The output file already exists and `force` was not given. */
export class OutputExistsError extends OutputError {
  constructor(path: string) {
    super('exists', path);
    this.name = 'OutputExistsError';
  }
}

/**
 * Gives an open file made with O_TMPFILE the name `path`, failing with code EEXIST if it exists
 * (linkat(AT_SYMLINK_FOLLOW): see sys/files.ts; io itself makes no FFI calls).
 */
export type OpenFileLinker = (fd: number, path: string) => void;

export interface SinkOptions {
  /** Overwrite an existing regular file (never anything else). */
  force?: boolean;
  /**
   * With a linker the output is written to a file with no name (O_TMPFILE) until `commit()`, so
   * not even a SIGKILL leaves a partial file behind. Without one (or where the file system has no
   * O_TMPFILE), to a hidden temporary file beside it, which only a SIGKILL can leave behind.
   */
  linker?: OpenFileLinker;
}

/**
 * What stands at an output path: nothing, a regular file (replaced only with force), a `stream`
 * (a character device, a FIFO or pipe, or any file named through an open descriptor such as
 * /dev/fd/N or /dev/stdout: written into as it is), or something never written.
 */
type Entry = 'absent' | 'file' | 'stream' | 'directory' | 'special' | 'dangling-link';

/** A descriptor's link in /proc: /proc/self/fd/N, /proc/PID/task/TID/fd/N (what /dev/fd/N is). */
const FD_LINK = /^\/proc\/[0-9]+(\/task\/[0-9]+)?\/fd\/[0-9]+$/;

/** Whether `path`, or a symbolic link on the way to what it names, is an open descriptor's link. */
function namesDescriptor(path: string): boolean {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    if (FD_LINK.test(join(realpathSync(dirname(p)), basename(p)))) return true;
    if (!lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
    p = resolve(dirname(p), readlinkSync(p));
  }
  return false;
}

function entryAt(path: string): Entry {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return lstatSync(path, { throwIfNoEntry: false }) ? 'dangling-link' : 'absent';
  if (st.isDirectory()) return 'directory';
  if (st.isCharacterDevice() || st.isFIFO()) return 'stream';
  if (st.isFile()) return namesDescriptor(path) ? 'stream' : 'file';
  return 'special';
}

/**
 * Checks that `path` can be written as an output without doing anything: throws an OutputError
 * for a directory, a block device, a socket, a dangling link, or a file that exists without
 * `force`. Lets a command check all its outputs before the first one is written.
 */
export function checkOutput(path: string, options: SinkOptions = {}): void {
  if (path !== '-') outputEntry(path, options);
}

function outputEntry(path: string, options: SinkOptions): 'absent' | 'file' | 'stream' {
  const entry = entryAt(path);
  if (entry === 'file' && !options.force) throw new OutputExistsError(path);
  if (entry === 'absent' || entry === 'file' || entry === 'stream') return entry;
  throw new OutputError(entry, path);
}

/** The OutputError for a failed write to `path`, or the error itself. */
function writeError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EPIPE') return new OutputError('closed', path);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new OutputError('full', path);
  return err;
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
  /**
   * Writes `data` at the current position in the background (on libuv's thread pool): the
   * position advances at once, the promise settles when the bytes are written. Only sinks whose
   * writes are positional have it (the order of completion does not matter to them).
   */
  writeAsync?(data: Buffer): Promise<void>;
  /** Advances by `n` zero bytes. */
  hole(n: bigint): void;
  commit(): void;
  abort(): void;
}

const ZERO_CHUNK = Buffer.alloc(1 << 20);
const writeAt = promisify(writeCb);
const PAGE = 4096;
const ZERO_PAGE = ZERO_CHUNK.subarray(0, PAGE);

/**
 * A regular file, new or (with force) replacing a regular file; through a symbolic link, the file
 * the link names is replaced and the link kept. Anything else at the path is refused.
 */
export class FileSink implements Sink {
  readonly name: string;
  readonly sparse = true;
  position = 0n;
  private fd: number;
  /** The path the file gets: `name`, or the file a symbolic link at `name` leads to. */
  private readonly path: string;
  private readonly tmp: string;
  private readonly force: boolean;
  /** Set when the file has no name yet (O_TMPFILE). */
  private readonly linker?: OpenFileLinker;
  private done = false;

  constructor(path: string, options: SinkOptions = {}) {
    this.name = path;
    this.force = options.force ?? false;
    const entry = outputEntry(path, options);
    if (entry === 'stream') throw new OutputError('special', path);
    this.path = entry === 'file' ? realpathSync(path) : path;
    this.tmp = join(dirname(this.path), `.${basename(this.path)}.coreshot-${process.pid}-${Date.now()}.tmp`);
    if (options.linker) {
      try {
        this.fd = openSync(dirname(this.path), constants.O_WRONLY | O_TMPFILE, 0o600);
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
    try {
      while (done < data.length) {
        done += writeSync(this.fd, data, done, data.length - done, Number(this.position) + done);
      }
    } catch (err) {
      throw writeError(err, this.name);
    }
    this.position += BigInt(data.length);
  }

  async writeAsync(data: Buffer): Promise<void> {
    const at = Number(this.position);
    this.position += BigInt(data.length);
    try {
      for (let done = 0; done < data.length; ) {
        done += (await writeAt(this.fd, data, done, data.length - done, at + done)).bytesWritten;
      }
    } catch (err) {
      throw writeError(err, this.name);
    }
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

  /** Before replacing what is at the path: it must (still) be a regular file or nothing. */
  private assertReplaceable(): void {
    const entry = entryAt(this.path);
    if (entry !== 'file' && entry !== 'absent')
      throw new OutputError(entry === 'stream' ? 'special' : entry, this.name);
  }

  private linkOpenFile(linker: OpenFileLinker): void {
    try {
      try {
        linker(this.fd, this.path);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        if (!this.force) throw new OutputExistsError(this.name);
        this.assertReplaceable();
        linker(this.fd, this.tmp);
        this.renameTemporary();
      }
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** Moves the named temporary file over the path; removes it if that fails. */
  private renameTemporary(): void {
    try {
      renameSync(this.tmp, this.path);
    } catch (err) {
      unlinkSync(this.tmp);
      throw err;
    }
  }

  private publishTemporary(): void {
    closeSync(this.fd);
    this.fd = -1;
    if (this.force) {
      this.assertReplaceable();
      this.renameTemporary();
      return;
    }
    // link() fails if the target appeared meanwhile: never clobber without --force.
    try {
      linkSync(this.tmp, this.path);
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

/**
 * A sink on a stream fd (stdout, a pipe, a FIFO, a character device): written in order, holes
 * as zeros. A sink opened by `StreamSink.open` closes its fd on commit or abort.
 */
export class StreamSink implements Sink {
  readonly name: string;
  readonly sparse = false;
  position = 0n;
  private fd: number;
  private readonly owned: boolean;

  constructor(fd: number, name = 'stdout', owned = false) {
    this.fd = fd;
    this.name = name;
    this.owned = owned;
  }

  /**
   * Opens `path` for writing into what is there as it is (a FIFO's open waits for a reader). A
   * regular file named through a descriptor (/dev/stdout) is appended to, as the shell's `>>`.
   */
  static open(path: string): StreamSink {
    const append = statSync(path).isFile() ? constants.O_APPEND : 0;
    return new StreamSink(openSync(path, constants.O_WRONLY | constants.O_NOCTTY | append), path, true);
  }

  write(data: Buffer): void {
    let done = 0;
    while (done < data.length) {
      try {
        done += writeSync(this.fd, data, done, data.length - done);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw writeError(err, this.name);
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

  commit(): void {
    this.close();
  }

  abort(): void {
    this.close();
  }

  private close(): void {
    if (!this.owned || this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * Opens the sink for a CLI `-o` argument: `-` is stdout, a character device, FIFO, pipe or
 * descriptor (/dev/fd/N) is written into as a stream, anything else is a FileSink.
 */
export function openSink(path: string, options: SinkOptions = {}): Sink {
  if (path === '-') return new StreamSink(1);
  return outputEntry(path, options) === 'stream' ? StreamSink.open(path) : new FileSink(path, options);
}

/**
 * Writes `data` at the sink's position, turning whole zero pages (aligned by file position) into
 * holes, so a file stays sparse where memory was zero. A stream sink gets every byte.
 */
export function writeSparse(sink: Sink, data: Buffer): void {
  sparseRuns(sink, data, (run) => sink.write(run));
}

/** Hands each run of `data` that is not whole zero pages to `put`, and skips the rest as holes. */
function sparseRuns(sink: Sink, data: Buffer, put: (run: Buffer) => void): void {
  if (!sink.sparse) {
    put(data);
    return;
  }
  const phase = Number(sink.position % BigInt(PAGE));
  let pending = 0; // start of the data not yet written
  let p = phase === 0 ? 0 : PAGE - phase; // the first page boundary in the file
  while (p + PAGE <= data.length) {
    if (data.subarray(p, p + PAGE).equals(ZERO_PAGE)) {
      if (p > pending) put(data.subarray(pending, p));
      let q = p + PAGE;
      while (q + PAGE <= data.length && data.subarray(q, q + PAGE).equals(ZERO_PAGE)) q += PAGE;
      sink.hole(BigInt(q - p));
      pending = q;
      p = q;
    } else {
      p += PAGE;
    }
  }
  if (pending < data.length) put(data.subarray(pending));
}

/**
 * Sparse writes that overlap whatever produces the next bytes (reading memory): a ring of
 * `count` buffers of `size` bytes; `buffer()` hands out a free one (waiting for the oldest write
 * when all are in flight), `write(buf, n)` queues it at the sink's position and takes it back when
 * it is written. A sink without `writeAsync` is written at once. `drain()` waits for every write
 * and throws the first failure; `settle()` only waits (before an abort closes the file).
 */
export class WriteBehind {
  private readonly sink: Sink;
  private readonly free: Buffer[] = [];
  private readonly inFlight: Promise<void>[] = [];

  constructor(sink: Sink, count: number, size: number) {
    this.sink = sink;
    for (let i = 0; i < count; i++) this.free.push(Buffer.allocUnsafe(size));
  }

  async buffer(): Promise<Buffer> {
    // Nothing in flight to wait for: still let signals and timers in between chunks.
    if (this.inFlight.length === 0) await new Promise((resolve) => setImmediate(resolve));
    while (this.free.length === 0) await this.inFlight.shift();
    return this.free.pop()!;
  }

  /** Writes the first `length` bytes of `buf`, a buffer from `buffer()`. */
  write(buf: Buffer, length: number): void {
    const data = buf.subarray(0, length);
    const writeAsync = this.sink.writeAsync?.bind(this.sink);
    if (!writeAsync) {
      writeSparse(this.sink, data);
      this.free.push(buf);
      return;
    }
    const parts: Promise<void>[] = [];
    sparseRuns(this.sink, data, (run) => parts.push(writeAsync(run)));
    const done = Promise.all(parts).then(() => {
      this.free.push(buf);
    });
    done.catch(() => {}); // handled where it is awaited (buffer, drain) or by settle
    this.inFlight.push(done);
  }

  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0));
  }
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
