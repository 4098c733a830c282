// The one JSON contract of every `--json` output (README "JSON output"): how a value is written
// follows from the field's name, so a view hands over its data as is and every command writes
// the same fact the same way.
//   - bigints are addresses, register values, masks or raw words: "0x..." hex strings;
//   - except byte counts and file offsets (the fields named below): JSON integers, exact even
//     past 2^53 (only a malformed input has such a size);
//   - durations are milliseconds in fields named `...Ms`, rounded to 0.1 ms;
//   - bytes (a Buffer or Uint8Array) are one hex string; undefined fields are left out.

/** Fields whose bigints are quantities, not words: counts of bytes, positions in a file, times. */
const BYTE_COUNTS = new Set([
  'size',
  'length',
  'bytes',
  'offset',
  // a timeval of NT_PRSTATUS
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

/**
 * JSON.stringify cannot write an integer past 2^53 exactly: such a byte count goes in as a string
 * carrying this per-process random mark, and is unquoted afterwards.
 */
const EXACT = `coreshot-exact-${Math.random().toString(36).slice(2)}:`;
const EXACT_QUOTED = new RegExp(`"${EXACT}(-?[0-9]+)"`, 'g');

function replace(this: unknown, key: string, v: unknown): unknown {
  // Buffer's toJSON has run already: its bytes are read from the holder.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('hex');
  if (typeof v === 'bigint') {
    if (!isByteCount(key)) return `0x${v.toString(16)}`;
    return v <= MAX_EXACT && v >= -MAX_EXACT ? Number(v) : `${EXACT}${v}`;
  }
  if (typeof v === 'number' && key.endsWith('Ms')) return Math.round(v * 10) / 10;
  return v;
}

/** `value` as the JSON contract writes it, indented by two spaces (no trailing newline). */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value, replace, 2) ?? 'null';
  return text.includes(EXACT) ? text.replace(EXACT_QUOTED, '$1') : text;
}
