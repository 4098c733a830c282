// Exact-size reads from an async stream of chunks, for decoders that parse a container themselves.

/** The input ended inside a structure: the stream is truncated. */
export class TruncatedInput extends Error {
  constructor() {
    super('truncated');
    this.name = 'TruncatedInput';
  }
}

export class ChunkReader {
  /** Bytes consumed so far (the offset in the compressed input). */
  consumed = 0;
  private readonly source: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.source = source[Symbol.asyncIterator]();
  }

  /** Whether any byte is left. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.buf.length === 0;
  }

  /** The next `n` bytes; throws TruncatedInput when the input ends first. */
  async take(n: number): Promise<Buffer> {
    await this.fill(n);
    if (this.buf.length < n) throw new TruncatedInput();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    return out;
  }

  private async fill(n: number): Promise<void> {
    if (this.buf.length >= n || this.ended) return;
    const parts: Buffer[] = [this.buf];
    let have = this.buf.length;
    while (have < n) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      parts.push(next.value);
      have += next.value.length;
    }
    this.buf = Buffer.concat(parts, have);
  }
}
