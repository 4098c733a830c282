import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** Positional, synchronous read access to some bytes (a file, a buffer). */
export interface RandomAccess {
  readonly size: bigint;
  /** Reads up to `length` bytes at `offset`; the result is shorter only at the end of the input. */
  read(offset: bigint, length: number): Buffer;
  /** Reads into `target` at `offset`; returns the number of bytes read (short at the end). */
  readInto(offset: bigint, target: Buffer): number;
  close(): void;
}

export class FileAccess implements RandomAccess {
  readonly path: string;
  readonly size: bigint;
  private fd: number;

  constructor(path: string, fd: number = openSync(path, 'r')) {
    this.path = path;
    this.fd = fd;
    this.size = fstatSync(this.fd, { bigint: true }).size;
  }

  /**
   * Opens `path` only if it is a regular file: a FIFO or a device named by an image must be
   * neither blocked on nor read. Undefined when it is something else; throws as openSync does.
   */
  static openRegular(path: string): FileAccess | undefined {
    if (!statSync(path).isFile()) return undefined;
    // O_NONBLOCK: should the path have become a FIFO since the stat, the open does not wait.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    if (fstatSync(fd).isFile()) return new FileAccess(path, fd);
    closeSync(fd);
    return undefined;
  }

  read(offset: bigint, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(offset, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  readInto(offset: bigint, target: Buffer): number {
    if (offset >= this.size || target.length === 0) return 0;
    let done = 0;
    while (done < target.length) {
      const n = readSync(this.fd, target, done, target.length - done, offset + BigInt(done));
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class BufferAccess implements RandomAccess {
  readonly size: bigint;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.size = BigInt(buf.length);
  }

  read(offset: bigint, length: number): Buffer {
    if (offset >= this.size) return Buffer.alloc(0);
    const start = Number(offset);
    return this.buf.subarray(start, Math.min(this.buf.length, start + length));
  }

  readInto(offset: bigint, target: Buffer): number {
    return this.read(offset, target.length).copy(target);
  }

  close(): void {}
}
