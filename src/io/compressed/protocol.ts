// The counters StreamedAccess and its decode worker share: how far the worker has decoded, how
// far the reader wants, and whether the worker finished or failed (the failure itself is sent as a
// message and read synchronously with receiveMessageOnPort).

/** What the worker reports when the input cannot be decoded. */
export interface WorkerFailure {
  /** The format being decoded (`input` while still detecting it). */
  format: string;
  kind: 'truncated' | 'corrupt' | 'unreadable';
  detail: string;
  /** Compressed bytes read when it failed. */
  offset: number;
}

const SEQ = 0; // bumped by the worker on every change
const STATE = 1;
const REQUEST = 2; // bumped by the reader when it wants more
const STARTED = 3; // set by the worker once its code runs
const PRODUCED = 0;
const WANTED = 1;

/** A worker that has not run its first line after this long failed to load (a broken install). */
const START_TIMEOUT_MS = 60_000;

/**
 * How far past the furthest offset asked for the worker decodes before it pauses: as far again as
 * that offset, up to 8 MiB. Opening a core asks for its first few KiB (headers and notes), so the
 * worker stops after a block or two instead of spending CPU on megabytes nobody reads; a long
 * read in order soon has the whole 8 MiB decoded ahead of it.
 */
const READ_AHEAD = 8n << 20n;
const aheadOf = (wanted: bigint) => wanted + (wanted < READ_AHEAD ? wanted : READ_AHEAD);

export const RUNNING = 0;
export const DONE = 1;
export const FAILED = 2;

export class Progress {
  static readonly BYTES = 48;
  private readonly flags: Int32Array;
  private readonly offsets: BigInt64Array;

  constructor(shared: SharedArrayBuffer) {
    this.flags = new Int32Array(shared, 0, 4);
    this.offsets = new BigInt64Array(shared, 16, 2);
  }

  get produced(): bigint {
    return Atomics.load(this.offsets, PRODUCED);
  }
  get wanted(): bigint {
    return Atomics.load(this.offsets, WANTED);
  }
  get state(): number {
    return Atomics.load(this.flags, STATE);
  }

  // The worker's side.
  started(): void {
    Atomics.store(this.flags, STARTED, 1);
    this.changed();
  }
  advance(n: bigint): void {
    Atomics.add(this.offsets, PRODUCED, n);
    this.changed();
  }
  finish(): void {
    Atomics.store(this.flags, STATE, DONE);
    this.changed();
  }
  fail(): void {
    Atomics.store(this.flags, STATE, FAILED);
    this.changed();
  }
  /**
   * Blocks the worker until it is less than its read-ahead past the furthest offset asked for. A
   * blocking wait, not Atomics.waitAsync: Node 20 can leave an idle worker's waitAsync unresolved
   * after a notify (seen as a rare hang).
   */
  waitWhileAhead(): void {
    for (;;) {
      const seen = Atomics.load(this.flags, REQUEST);
      if (this.produced < aheadOf(this.wanted)) return;
      Atomics.wait(this.flags, REQUEST, seen);
    }
  }
  private changed(): void {
    Atomics.add(this.flags, SEQ, 1);
    Atomics.notify(this.flags, SEQ);
  }

  // The reader's side (blocks the calling thread).
  /** Blocks until `end` bytes are decoded or the worker stopped; returns the bytes available. */
  waitFor(end: bigint): bigint {
    for (;;) {
      const seq = Atomics.load(this.flags, SEQ);
      const produced = this.produced;
      if (produced >= end || this.state !== RUNNING) return produced;
      if (this.wanted < end) {
        Atomics.store(this.offsets, WANTED, end);
        Atomics.add(this.flags, REQUEST, 1);
        Atomics.notify(this.flags, REQUEST);
      }
      if (
        Atomics.wait(this.flags, SEQ, seq, START_TIMEOUT_MS) === 'timed-out' &&
        !Atomics.load(this.flags, STARTED)
      )
        throw new Error('the decode worker did not start');
    }
  }
}
