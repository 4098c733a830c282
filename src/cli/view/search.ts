// Searching from the page: analysis/find's searchMemory run over pieces of the bytes the image
// holds (searchSpans), with a turn of the event loop between pieces, so the server keeps answering
// (hex pages, progress) while it searches and a closed page stops the search. Pieces overlap by
// the longest match.
import { type SearchHit, type SearchPattern, searchMemory, searchSpans } from '../../analysis/find.js';
import type { Mapping, ProcessImage } from '../../model/process-image.js';

/** Bytes searched between two turns of the event loop. */
const PIECE = 32n << 20n;
/** The longest match reported (find's default for a regex); longer text is refused. */
export const MAX_MATCH = 4096;

export interface PieceProgress {
  bytesDone: bigint;
  bytesTotal: bigint;
}

/**
 * Calls `onHit` for each match, `onProgress` after each piece; stops at `maxHits` or when
 * `signal` aborts. Resolves to whether it stopped at `maxHits`.
 */
export async function searchInPieces(
  image: ProcessImage,
  pattern: SearchPattern,
  opts: {
    maxHits: number;
    signal: AbortSignal;
    onHit: (hit: SearchHit) => void;
    onProgress: (p: PieceProgress) => void;
  },
): Promise<boolean> {
  const spans = searchSpans(image);
  const bytesTotal = spans.reduce((n, s) => n + (s.end - s.start), 0n);
  let bytesDone = 0n;
  let found = 0;
  for (const span of spans) {
    for (let at = span.start; at < span.end; at += PIECE) {
      if (opts.signal.aborted) return false;
      const end = at + PIECE < span.end ? at + PIECE : span.end;
      const reach = end + BigInt(MAX_MATCH) < span.end ? end + BigInt(MAX_MATCH) : span.end;
      const piece: Mapping = { ...span.mapping, start: at, end: reach };
      const hits = searchMemory({ ...image, mappings: [piece] }, pattern, {
        maxHits: opts.maxHits - found,
        maxMatch: MAX_MATCH,
      });
      for (const h of hits) {
        // A match starting in the overlap belongs to the next piece.
        if (h.address >= end) continue;
        opts.onHit({ ...h, mapping: span.mapping });
        if (++found >= opts.maxHits) return true;
      }
      bytesDone += end - at;
      opts.onProgress({ bytesDone, bytesTotal });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return false;
}
