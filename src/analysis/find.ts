// Searching a process image's memory: byte strings, text in UTF-8 and UTF-16LE, or a regular
// expression, over the bytes each mapping holds, in large chunks that overlap by the longest possible match.
// A match that touches bytes the image cannot supply (read as zeros) is not reported.

import type { Range } from '../model/address-space.js';
import type { Mapping, ProcessImage } from '../model/process-image.js';
import type { LongRunOptions } from '../model/progress.js';

/** What to look for. `text` is searched in each encoding listed (default: both). */
export type SearchPattern =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'text'; text: string; encodings?: readonly TextEncoding[] }
  | { kind: 'regex'; source: string; ignoreCase?: boolean };

export type TextEncoding = 'utf-8' | 'utf-16le';

export interface SearchHit {
  address: bigint;
  length: number;
  /** Which form of the pattern matched: 'bytes', 'regex', or the text's encoding. */
  form: 'bytes' | 'regex' | TextEncoding;
  mapping: Mapping;
}

export interface SearchOptions extends LongRunOptions {
  /** Stop after this many hits (default: no limit). */
  maxHits?: number;
  /** Longest match a regex may report, in bytes: chunks overlap by this much (default 4096). */
  maxMatch?: number;
}

/** How much is read and searched at once. */
const CHUNK = 8 << 20;
const DEFAULT_MAX_MATCH = 4096;

interface Matcher {
  form: SearchHit['form'];
  /** The longest match it can report. */
  span: number;
  /** Calls `found(index, length)` for each match starting in `buf[0, limit)`. */
  scan(buf: Buffer, limit: number, found: (index: number, length: number) => boolean): void;
}

function needleMatcher(form: SearchHit['form'], needle: Buffer): Matcher {
  return {
    form,
    span: needle.length,
    scan(buf, limit, found) {
      for (let i = buf.indexOf(needle); i >= 0 && i < limit; i = buf.indexOf(needle, i + 1)) {
        if (!found(i, needle.length)) return;
      }
    },
  };
}

function regexMatcher(source: string, ignoreCase: boolean, span: number): Matcher {
  // Over latin1 text each byte is one character, so string indices are byte offsets; `\xNN`
  // matches byte NN.
  const re = new RegExp(source, ignoreCase ? 'gi' : 'g');
  return {
    form: 'regex',
    span,
    scan(buf, limit, found) {
      const text = buf.toString('latin1');
      re.lastIndex = 0;
      for (let m = re.exec(text); m && m.index < limit; m = re.exec(text)) {
        const length = Math.min(m[0].length, span);
        if (!found(m.index, length)) return;
        if (m[0].length === 0) re.lastIndex++;
      }
    },
  };
}

/** Turns a pattern into matchers; throws SyntaxError for an invalid regular expression. */
function matchers(pattern: SearchPattern, maxMatch: number): Matcher[] {
  switch (pattern.kind) {
    case 'bytes':
      return [needleMatcher('bytes', pattern.bytes)];
    case 'text':
      return (pattern.encodings ?? ['utf-8', 'utf-16le']).map((enc) =>
        needleMatcher(enc, Buffer.from(pattern.text, enc === 'utf-8' ? 'utf8' : 'utf16le')),
      );
    case 'regex':
      return [regexMatcher(pattern.source, pattern.ignoreCase === true, maxMatch)];
  }
}

/** Parses hex bytes such as `de ad be ef`, `deadbeef` or `0xdeadbeef`. */
export function parseHexBytes(text: string): Buffer | undefined {
  const digits = text.replace(/^0x/i, '').replace(/[\s:,_-]/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(digits)) return undefined;
  return Buffer.from(digits, 'hex');
}

/** A stretch of one mapping whose bytes the image holds. */
export interface SearchSpan extends Range {
  mapping: Mapping;
}

/**
 * The parts of each mapping the image holds bytes for (from the core, a mapped file or the live
 * process), adjacent regions merged. Areas it knows only as zero, or not at all, are not searched:
 * a mapping may reserve terabytes it never touched (a sanitizer's shadow, a corrupt header).
 */
export function searchSpans(image: ProcessImage): SearchSpan[] {
  const held = image.memory.regions().filter((r) => r.kind !== 'zero' && r.kind !== 'missing');
  const spans: SearchSpan[] = [];
  for (const mapping of image.mappings) {
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((held[mid] as Range).end <= mapping.start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < held.length && (held[i] as Range).start < mapping.end; i++) {
      const r = held[i] as Range;
      const start = r.start > mapping.start ? r.start : mapping.start;
      const end = r.end < mapping.end ? r.end : mapping.end;
      const last = spans[spans.length - 1];
      if (last?.mapping === mapping && last.end === start) last.end = end;
      else spans.push({ mapping, start, end });
    }
  }
  return spans;
}

/**
 * Every match of `pattern` in the bytes the image holds (searchSpans), in address order per form.
 * Reads each span in chunks of 8 MiB that overlap by the longest match, so a match across two
 * chunks is found once.
 */
export function searchMemory(
  image: ProcessImage,
  pattern: SearchPattern,
  options: SearchOptions = {},
): SearchHit[] {
  const list = matchers(pattern, options.maxMatch ?? DEFAULT_MAX_MATCH);
  if (list.some((m) => m.span === 0)) throw new RangeError('the pattern is empty');
  const span = Math.max(...list.map((m) => m.span));
  const maxHits = options.maxHits ?? Number.POSITIVE_INFINITY;
  const hits: SearchHit[] = [];
  const spans = searchSpans(image);
  const bytesTotal = spans.reduce((n, s) => n + (s.end - s.start), 0n);
  let bytesDone = 0n;
  const buf = Buffer.allocUnsafe(CHUNK + span);
  for (const { mapping, start, end: spanEnd } of spans) {
    for (let at = start; at < spanEnd && hits.length < maxHits; at += BigInt(CHUNK)) {
      options.signal?.throwIfAborted();
      const end = at + BigInt(CHUNK + span) < spanEnd ? at + BigInt(CHUNK + span) : spanEnd;
      const view = buf.subarray(0, Number(end - at));
      const missing = image.memory.readInto(at, view);
      const limit = Math.min(CHUNK, view.length);
      for (const m of list) {
        m.scan(view, limit, (index, length) => {
          const address = at + BigInt(index);
          if (!overlaps(missing, address, address + BigInt(length)))
            hits.push({ address, length, form: m.form, mapping });
          return hits.length < maxHits;
        });
      }
      bytesDone += BigInt(limit);
      options.onProgress?.({ bytesDone, bytesTotal, stage: 'searching' });
    }
  }
  return hits.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Whether [start, end) touches any of the sorted ranges (bytes the image could not supply). */
function overlaps(ranges: readonly Range[], start: bigint, end: bigint): boolean {
  return ranges.some((r) => r.start < end && start < r.end);
}
