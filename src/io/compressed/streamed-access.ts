// RandomAccess over an input that can only be read in order: a compressed file or standard input.
// A worker thread decodes it into a nameless sparse cache file (cache-file.ts) up to a little past
// the furthest offset read so far; reads wait for it (Atomics.wait), then read the cache file.
// RAM stays bounded whatever the input's size; the cache file holds what was decoded.
import { closeSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { MessagePort, Worker } from 'node:worker_threads';
import { FormatError } from '../../bytes/errors.js';
import type { RandomAccess } from '../random-access.js';
import { openCacheFile } from './cache-file.js';
import { FAILED, Progress, type WorkerFailure } from './protocol.js';

const UNBOUNDED = (1n << 63n) - 1n;

export class StreamedAccess implements RandomAccess {
  /** The cache file's descriptor (tests look at its allocated size). */
  readonly cacheFd: number;
  private readonly declared: bigint | undefined;
  private readonly progress: Progress;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private failure: WorkerFailure | undefined;
  private closed = false;

  /**
   * `input` is a path or `-` (standard input); `declaredSize` is the decoded size when the
   * container records it, so `size` need not decode to the end.
   */
  constructor(input: string, declaredSize?: bigint) {
    this.declared = declaredSize;
    this.cacheFd = openCacheFile();
    const shared = new SharedArrayBuffer(Progress.BYTES);
    this.progress = new Progress(shared);
    const { MessageChannel, Worker } = workerThreads();
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    try {
      const { script, eval: isCode } = workerScript();
      this.worker = new Worker(script, {
        eval: isCode,
        workerData: { input, cacheFd: this.cacheFd, shared, port: port2 },
        transferList: [port2],
      });
    } catch (err) {
      closeSync(this.cacheFd);
      throw err;
    }
    this.worker.unref();
    port1.unref();
  }

  /** The decoded size: declared by the container, or learnt by decoding to the end. */
  get size(): bigint {
    return this.declared ?? this.available(UNBOUNDED);
  }

  read(offset: bigint, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(offset, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  readInto(offset: bigint, target: Buffer): number {
    if (target.length === 0) return 0;
    const end = this.available(offset + BigInt(target.length));
    if (offset >= end) return 0;
    const want = Number(end - offset);
    let done = 0;
    while (done < want) {
      const n = readSync(this.cacheFd, target, done, want - done, offset + BigInt(done));
      if (n === 0) break;
      done += n;
    }
    // Pages past the cache file's end were zero pages left as holes.
    target.fill(0, done, want);
    return want;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
    this.port.close();
    closeSync(this.cacheFd);
  }

  /** Waits until `end` bytes are decoded (or the input ended); throws if decoding failed before. */
  private available(end: bigint): bigint {
    const produced = this.progress.waitFor(end);
    if (produced < end && this.progress.state === FAILED) throw this.failed();
    return produced < end ? produced : end;
  }

  private failed(): FormatError {
    this.failure ??= workerThreads().receiveMessageOnPort(this.port)?.message as WorkerFailure | undefined;
    const f = this.failure ?? { format: 'input', kind: 'corrupt', detail: 'decoder stopped', offset: 0 };
    const what =
      f.kind === 'truncated'
        ? `${f.format} stream is truncated`
        : f.kind === 'corrupt'
          ? `${f.format} stream is corrupt (${f.detail})`
          : `cannot read the input: ${f.detail}`;
    return new FormatError(f.offset, what);
  }
}

/**
 * node:worker_threads, loaded when a stream is first opened: most commands read plain files, and
 * loading it costs every start a few milliseconds.
 */
function workerThreads(): typeof import('node:worker_threads') {
  return createRequire(import.meta.url)('node:worker_threads');
}

/**
 * The worker's file beside this module: .mjs beside the CLI bundle (coreshot.cjs), .js in dist/. Run from the
 * TypeScript sources (tests, benchmarks), the worker must register tsx itself: Node 20 does not
 * pass a loader registered by `--import tsx` on to worker threads.
 */
function workerScript(): { script: string | URL; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith('.ts'))
    return {
      script: new URL(here.endsWith('.cjs') ? './decode-worker.mjs' : './decode-worker.js', here),
      eval: false,
    };
  const tsx = JSON.stringify(pathToFileURL(createRequire(here).resolve('tsx/esm/api')).href);
  const worker = JSON.stringify(new URL('./decode-worker.ts', here).href);
  return { script: `import(${tsx}).then((t) => t.register()).then(() => import(${worker}))`, eval: true };
}
