/** A malformed or unsupported input. `offset` is the byte offset in the input where it was found. */
export class FormatError extends Error {
  readonly offset: bigint;
  readonly what: string;
  readonly value: unknown;

  constructor(offset: bigint | number, what: string, value?: unknown) {
    const at = BigInt(offset);
    const shown = value === undefined ? '' : `: ${formatValue(value)}`;
    super(`${what}${shown} (at offset 0x${at.toString(16)})`);
    this.name = 'FormatError';
    this.offset = at;
    this.what = what;
    this.value = value;
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : String(value);
  return JSON.stringify(value) ?? String(value);
}
