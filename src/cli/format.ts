import type { MissingRange } from '../model/address-space.js';

/** 0x-prefixed hex of an address or value. */
export function hex(v: bigint | number, width = 0): string {
  return `0x${v.toString(16).padStart(width, '0')}`;
}

/** Human size: 4.0 KiB, 1.5 GiB. */
export function size(n: bigint | number): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Left-aligned columns; the last column is not padded. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * Decoded plain data as `key: value` lines at one level: nested records join their keys with
 * `.` (`info.signo`), arrays of records index them (`files[2].path`), arrays of values number
 * them as register banks are named (`xmm0`, `ymm15`); bigints are hex, text with control
 * characters is quoted. A bare value is `value`.
 */
export function fieldLines(value: unknown): string[] {
  const lines: string[] = [];
  const scalar = (v: unknown) =>
    typeof v === 'bigint'
      ? hex(v)
      : typeof v === 'string' && /[\x00-\x1f]/.test(v)
        ? JSON.stringify(v)
        : String(v);
  const walk = (v: unknown, key: string) => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) {
      const values = v.every((x) => typeof x !== 'object' || x === null);
      v.forEach((x, i) => {
        walk(x, values ? `${key}${i}` : `${key}[${i}]`);
      });
    } else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, key ? `${key}.${k}` : k);
    } else lines.push(`${key || 'value'}: ${scalar(v)}`);
  };
  walk(value, '');
  return lines;
}

/** Hexdump lines of `data` read at `at`; missing bytes are shown as ??. */
export function dumpLines(at: bigint, data: Buffer, missing: readonly MissingRange[]): string {
  const gone = new Uint8Array(data.length);
  for (const m of missing) gone.fill(1, Number(m.start - at), Number(m.end - at));
  let text = '';
  for (let off = 0; off < data.length; off += 16) {
    const bytes: string[] = [];
    let ascii = '';
    for (let i = off; i < Math.min(off + 16, data.length); i++) {
      const b = data[i]!;
      bytes.push(gone[i] ? '??' : b.toString(16).padStart(2, '0'));
      ascii += gone[i] ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    text += `${hex(at + BigInt(off), 12)}  ${bytes.join(' ').padEnd(47)}  |${ascii}|\n`;
  }
  return text;
}
