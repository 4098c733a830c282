/** One register inside pr_reg (the general-register block of NT_PRSTATUS). */
export interface RegisterField {
  /** The name `eu-readelf -n` prints for it. */
  name: string;
  /** Byte offset inside pr_reg. */
  offset: number;
  /** Size in bytes (4 or 8). */
  size: number;
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

/** Builds a table of consecutive registers of equal size. */
export function consecutive(
  names: readonly string[],
  size: number,
  extra: { pc: string; sp: string; total?: number },
): RegisterTable {
  return {
    size: extra.total ?? names.length * size,
    fields: names.map((name, i) => ({ name, offset: i * size, size })),
    pc: extra.pc,
    sp: extra.sp,
  };
}
