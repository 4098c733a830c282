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

/** Plain-data pretty printer for decoded notes: `key: value` lines, nested by indentation. */
export function pretty(value: unknown, indent = '  '): string {
  const lines: string[] = [];
  const walk = (v: unknown, pad: string, key?: string) => {
    const label = key === undefined ? pad : `${pad}${key}: `;
    if (v === undefined || v === null) return;
    if (typeof v === 'bigint') lines.push(`${label}${hex(v)}`);
    else if (Array.isArray(v)) {
      if (v.every((x) => typeof x !== 'object' || x === null)) {
        lines.push(`${label}${v.map((x) => (typeof x === 'bigint' ? hex(x) : String(x))).join(' ')}`);
      } else {
        lines.push(`${label.trimEnd()}`);
        v.forEach((x) => {
          walk(x, `${pad}${indent}`);
        });
      }
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      const flat = entries.every(([, x]) => typeof x !== 'object' || x === null);
      if (flat && entries.length <= 6) {
        lines.push(
          `${label}${entries.map(([k, x]) => `${k}=${typeof x === 'bigint' ? hex(x) : String(x)}`).join(' ')}`,
        );
      } else {
        if (key !== undefined) lines.push(label.trimEnd());
        for (const [k, x] of entries) walk(x, key === undefined ? pad : `${pad}${indent}`, k);
      }
    } else lines.push(`${label}${String(v)}`);
  };
  walk(value, indent);
  return lines.join('\n');
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
