// The one JSON contract of every `--json` output (README "JSON output"): how a value is written
// follows from the field's name, so a view hands over its data as is and every command writes
// the same fact the same way.
//   - bigints are addresses, register values, masks or raw words: "0x..." hex strings;
//   - except byte counts and file offsets (the fields named below): JSON integers, exact even
//     past 2^53 (only a malformed input has such a size);
//   - durations are milliseconds in fields named `...Ms`, rounded to 0.1 ms;
//   - bytes (a Buffer or Uint8Array) are one hex string; undefined fields are left out.

/** Fields holding a count of bytes or a position in a file. */
const BYTE_COUNTS = new Set([
  'size',
  'length',
  'bytes',
  'offset',
  'sec',
  'usec',
  // info's memory totals: bytes by where they come from
  'inCore',
  'fromFiles',
  'unavailable',
  'notInCore',
  'truncated',
]);

/** ...as are fields whose name ends in one of these: fileSize, memoryBytes, usedLength. */
const BYTE_COUNT_SUFFIX = /(Size|Bytes|Length)$/;

function isByteCount(key: string): boolean {
  return BYTE_COUNTS.has(key) || BYTE_COUNT_SUFFIX.test(key);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** One scalar as the contract writes it under `key`; undefined for containers. */
function scalar(key: string, v: unknown): string | undefined {
  switch (typeof v) {
    case 'bigint':
      if (!isByteCount(key)) return JSON.stringify(`0x${v.toString(16)}`);
      return v <= MAX_EXACT && v >= -MAX_EXACT ? String(Number(v)) : v.toString(10);
    case 'number':
      if (!Number.isFinite(v)) return 'null';
      return String(key.endsWith('Ms') ? Math.round(v * 10) / 10 : v);
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    default:
      if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return 'null';
      if (v instanceof Uint8Array)
        return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.length).toString('hex'));
      return undefined;
  }
}

function write(key: string, v: unknown, pad: string): string {
  const s = scalar(key, v);
  if (s !== undefined) return s;
  const inner = `${pad}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    // Elements carry their array's name: `sizes: [..]` holds byte counts.
    return `[\n${v.map((x) => `${inner}${write(key, x, inner)}`).join(',\n')}\n${pad}]`;
  }
  const fields = Object.entries(v as object).filter(
    ([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol',
  );
  if (fields.length === 0) return '{}';
  return `{\n${fields.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(k, x, inner)}`).join(',\n')}\n${pad}}`;
}

/** `value` as the JSON contract writes it, indented by two spaces (no trailing newline). */
export function toJson(value: unknown): string {
  return write('', value, '');
}
