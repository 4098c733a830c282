// Worker thread behind StreamedAccess: reads a compressed (or plain, from a pipe) input in order,
// decodes it and writes the bytes to the cache file, zero pages as holes, until it is ahead of the
// furthest offset the main thread asked for. Shared counters say how far it got.
import { createReadStream, ftruncateSync, writeSync } from 'node:fs';
import { type MessagePort, workerData } from 'node:worker_threads';
import { DECODERS, each } from './decoders.js';
import { detectFormat, MAGIC_BYTES } from './formats.js';
import { Progress, type WorkerFailure } from './protocol.js';

interface Data {
  /** A file path, or `-` for standard input. */
  input: string;
  cacheFd: number;
  shared: SharedArrayBuffer;
  port: MessagePort;
}

const PAGE = 4096;
const ZERO_PAGE = Buffer.alloc(PAGE);

const { input, cacheFd, shared, port } = workerData as Data;
const progress = new Progress(shared);
progress.started();
let consumed = 0;
let sourceEnded = false;

async function* source(): AsyncGenerator<Buffer> {
  const stream = input === '-' ? createReadStream('', { fd: 0, autoClose: false }) : createReadStream(input);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    consumed += chunk.length;
    yield chunk;
  }
  sourceEnded = true;
}

/** Puts the first bytes back in front of the rest, after looking at them for the format. */
async function* withHead(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length) yield head;
  for (let n = await rest.next(); !n.done; n = await rest.next()) yield n.value;
}

async function detect(): Promise<{
  format: string;
  decode: (emit: (chunk: Buffer) => void) => Promise<void>;
}> {
  const it = source();
  const parts: Buffer[] = [];
  let have = 0;
  while (have < MAGIC_BYTES) {
    const n = await it.next();
    if (n.done) break;
    parts.push(n.value);
    have += n.value.length;
  }
  const head = Buffer.concat(parts);
  const format = detectFormat(head);
  const raw = withHead(head, it);
  return format
    ? { format, decode: (emit) => DECODERS[format](raw, emit) }
    : { format: 'input', decode: (emit) => each(raw, emit) };
}

/** Writes `data` at `at`, leaving whole zero pages (aligned in the file) as holes. */
function writeSparse(data: Buffer, at: bigint): void {
  let pending = 0;
  let p = Number((PAGE - Number(at % BigInt(PAGE))) % PAGE);
  const flush = (end: number) => {
    for (let done = pending; done < end; )
      done += writeSync(cacheFd, data, done, end - done, Number(at) + done);
  };
  for (; p + PAGE <= data.length; p += PAGE) {
    if (!data.subarray(p, p + PAGE).equals(ZERO_PAGE)) continue;
    flush(p);
    pending = p + PAGE;
  }
  flush(data.length);
  if (pending === data.length && data.length > 0) ftruncateSync(cacheFd, Number(at) + data.length);
}

async function main(): Promise<void> {
  const { format, decode } = await detect();
  try {
    // Written at once (the decoder may reuse the chunk's memory), then paused while far ahead.
    await decode((chunk) => {
      writeSparse(chunk, progress.produced);
      progress.advance(BigInt(chunk.length));
      progress.waitWhileAhead();
    });
    progress.finish();
  } catch (err) {
    const truncated = sourceEnded || (err as Error).name === 'TruncatedInput';
    const failure: WorkerFailure = {
      format,
      kind: truncated ? 'truncated' : 'corrupt',
      detail: err instanceof Error ? err.message : String(err),
      offset: consumed,
    };
    port.postMessage(failure);
    progress.fail();
  }
}

main().catch((err) => {
  port.postMessage({ format: 'input', kind: 'unreadable', detail: String(err?.message ?? err), offset: 0 });
  progress.fail();
});
