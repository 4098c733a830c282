import { listChildren } from '../../sys/proc.js';

/** A process and all its descendants, parents before children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
    try {
      queue.push(...listChildren(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
