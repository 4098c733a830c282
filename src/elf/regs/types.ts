/** One register inside pr_reg (the general-register block of NT_PRSTATUS). */
export interface RegisterField {
  /** The name `eu-readelf -n` prints for it. */
  name: string;
  /** Byte offset inside pr_reg. */
  offset: number;
  /** Size in bytes (4 or 8). */
  size: number;
  /**
   * Its DWARF register number as call frame information names it (the psABI's; for PowerPC
   * GCC's .eh_frame numbering), when it has one.
   */
  dwarf?: number;
}

/** The general-register layout of one architecture: used to decode and to encode. */
export interface RegisterTable {
  /** sizeof(elf_gregset_t): the size of pr_reg. */
  size: number;
  fields: readonly RegisterField[];
  /** Names of the program counter and stack pointer, for summaries. */
  pc: string;
  sp: string;
}

/** Builds a table of consecutive registers of equal size; `dwarf` numbers them by name. */
export function consecutive(
  names: readonly string[],
  size: number,
  extra: { pc: string; sp: string; total?: number; dwarf: Readonly<Record<string, number>> },
): RegisterTable {
  return {
    size: extra.total ?? names.length * size,
    fields: names.map((name, i) => withDwarf({ name, offset: i * size, size }, extra.dwarf)),
    pc: extra.pc,
    sp: extra.sp,
  };
}

/** A field with its DWARF number from a name → number table, if the table has it. */
export function withDwarf(field: RegisterField, dwarf: Readonly<Record<string, number>>): RegisterField {
  const n = dwarf[field.name];
  return n === undefined ? field : { ...field, dwarf: n };
}

/** DWARF numbers for names `prefix0..prefix(count-1)`, starting at `first`. */
export function numbered(prefix: string, count: number, first: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, first + i]));
}
