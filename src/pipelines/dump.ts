import type { Sink } from '../io/sink.js';
import { writeElfCore } from '../sinks/elfcore/write.js';
import { type Captured, captureProcess, type DumpOptions } from '../sources/live/index.js';

/** What a dump did: the capture's account, plus what was written. */
export interface DumpSummary extends Omit<Captured<unknown>, 'result'> {
  output: string;
  /** Size of the core written. */
  bytes: bigint;
  /** Bytes of memory stored. */
  memoryBytes: bigint;
  /** Bytes that could not be read (written as zeros). */
  unreadableBytes: bigint;
  segments: number;
}

/**
 * Captures live process `pid` as an ELF core into `sink`: the live source paired with the ELF
 * core writer. The sink is committed on success and aborted (no file left) on any failure.
 */
export async function dumpProcess(pid: number, sink: Sink, options: DumpOptions = {}): Promise<DumpSummary> {
  try {
    const { result, ...capture } = await captureProcess(pid, options, (image) =>
      writeElfCore(image, sink, options),
    );
    return {
      ...capture,
      output: sink.name,
      bytes: result.bytes,
      memoryBytes: result.memoryBytes,
      unreadableBytes: result.missingBytes,
      segments: result.segments,
    };
  } catch (err) {
    sink.abort();
    throw err;
  }
}
