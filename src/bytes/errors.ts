// The error vocabulary of every input: a fatal FormatError, and the survivable Finding that
// sources collect beside the image they still build. The CLI words both (cli/errors.ts).

/**
 * A malformed or unsupported input. `file` names it (the code that opened it adds the name:
 * `inFile`); `offset` is the byte offset in that file where the defect is, only when there is
 * one: a verdict on the whole file ("not an ELF file") has none.
 */
export class FormatError extends Error {
  readonly offset: bigint | undefined;
  readonly what: string;
  readonly value: unknown;
  readonly file: string | undefined;

  constructor(offset: bigint | number | undefined, what: string, value?: unknown, file?: string) {
    const at = offset === undefined ? undefined : BigInt(offset);
    const shown = value === undefined ? '' : `: ${formatValue(value)}`;
    const where = at === undefined ? '' : ` (at offset 0x${at.toString(16)})`;
    super(`${file === undefined ? '' : `${file}: `}${what}${shown}${where}`);
    this.name = 'FormatError';
    this.offset = at;
    this.what = what;
    this.value = value;
    this.file = file;
  }

  /** The same error naming `file`, unless it already names one. */
  inFile(file: string): FormatError {
    return this.file === undefined ? new FormatError(this.offset, this.what, this.value, file) : this;
  }
}

/** Runs `read` on the input `file`; a FormatError it throws comes out naming the file. */
export function naming<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof FormatError ? err.inFile(file) : err;
  }
}

/** What kind of survivable defect or substitution a Finding reports. */
export type FindingKind =
  /** The input ends early or a part of it is cut short. */
  | 'truncated'
  /** Something the image should hold is absent (a note, pages, an image file). */
  | 'missing'
  /** A file found for the image is not the one it names (build-id, size). */
  | 'mismatch'
  /** Data was taken from elsewhere (the running kernel's vdso). */
  | 'substituted'
  /** A preferred way did not work and another was used (a symbol-less scan). */
  | 'fallback'
  /** Data was deliberately left out of an output. */
  | 'skipped';

/**
 * Something wrong but survivable, found while reading or converting an input: the rest stays
 * usable. One shape for every source (cores, CRIU, QEMU) and sink. `what` reads on its own (it
 * names the file when that matters to a reader); `file` and `offset` say where, for programs.
 */
export interface Finding {
  kind: FindingKind;
  what: string;
  file?: string;
  offset?: bigint;
}

function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : String(value);
  return JSON.stringify(value) ?? String(value);
}
