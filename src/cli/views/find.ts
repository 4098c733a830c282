import { parseHexBytes, type SearchPattern, searchMemory, type TextEncoding } from '../../analysis/find.js';
import { abortOnSignals, UsageError } from '../errors.js';
import { dumpLines, hex } from '../format.js';
import { toJson } from '../json.js';
import { type OpenImageOptions, openImage } from '../open-image.js';
import { progressBar } from '../progress.js';

export interface FindOptions extends OpenImageOptions {
  hex?: boolean;
  regex?: boolean;
  encoding?: TextEncoding;
  ignoreCase?: boolean;
  max: string;
  context: string;
  json?: boolean;
}

function count(text: string, what: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${what} must be a whole number of at least ${min}, got '${text}'`);
  return n;
}

function patternOf(text: string, opts: FindOptions): SearchPattern {
  if (opts.hex) {
    const bytes = parseHexBytes(text);
    if (!bytes) throw new UsageError(`--hex PATTERN must be pairs of hex digits, got '${text}'`);
    return { kind: 'bytes', bytes };
  }
  if (text.length === 0) throw new UsageError('PATTERN is empty');
  if (opts.regex) {
    try {
      new RegExp(text);
    } catch (err) {
      throw new UsageError(`--regex PATTERN is not a valid regular expression: ${(err as Error).message}`);
    }
    return { kind: 'regex', source: text, ignoreCase: opts.ignoreCase === true };
  }
  return { kind: 'text', text, ...(opts.encoding ? { encodings: [opts.encoding] } : {}) };
}

/** Prints every hit with its mapping and a hexdump around it. */
export async function find(path: string, text: string, opts: FindOptions): Promise<void> {
  const pattern = patternOf(text, opts);
  const maxHits = count(opts.max, '--max', 1);
  const context = count(opts.context, '--context', 0);
  const signal = abortOnSignals();
  const core = await openImage(path, opts);
  const bar = await progressBar('find');
  try {
    const hits = searchMemory(core.image, pattern, { maxHits, signal, onProgress: bar.update });
    bar.stop();
    const rows = hits.map((h) => {
      const from =
        h.address - BigInt(context) > h.mapping.start ? h.address - BigInt(context) : h.mapping.start;
      const to =
        h.address + BigInt(h.length + context) < h.mapping.end
          ? h.address + BigInt(h.length + context)
          : h.mapping.end;
      return { hit: h, from, around: core.image.memory.read(from, Number(to - from)) };
    });
    if (opts.json) {
      const json = rows.map(({ hit, from, around }) => ({
        address: hit.address,
        length: hit.length,
        form: hit.form,
        mapping: { start: hit.mapping.start, end: hit.mapping.end, path: hit.mapping.path ?? null },
        context: { address: from, hex: around.data.toString('hex') },
      }));
      process.stdout.write(`${toJson({ hits: json, truncated: hits.length >= maxHits })}\n`);
      return;
    }
    const lines: string[] = [];
    for (const { hit, from, around } of rows) {
      const where = hit.mapping.path ?? 'anonymous';
      lines.push(
        `${hex(hit.address)}  ${hit.form}  ${hit.length} bytes  in ${where} (${hex(hit.mapping.start)}-${hex(hit.mapping.end)})`,
      );
      if (context > 0) lines.push(dumpLines(from, around.data, around.missing).trimEnd());
    }
    lines.push(
      `${hits.length} hit${hits.length === 1 ? '' : 's'}${hits.length >= maxHits ? ` (stopped at --max ${maxHits})` : ''}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    bar.stop();
    core.close();
  }
}
