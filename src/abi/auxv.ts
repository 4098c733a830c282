// Auxiliary vector keys (include/uapi/linux/auxvec.h and the per-arch auxvec.h): one table, from
// which both the numbers (AT.ENTRY) and the names eu-readelf prints (AT_ENTRY) come.

export const AT = {
  NULL: 0,
  IGNORE: 1,
  EXECFD: 2,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  NOTELF: 10,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  FPUCW: 18,
  DCACHEBSIZE: 19,
  ICACHEBSIZE: 20,
  UCACHEBSIZE: 21,
  IGNOREPPC: 22,
  SECURE: 23,
  BASE_PLATFORM: 24,
  RANDOM: 25,
  HWCAP2: 26,
  RSEQ_FEATURE_SIZE: 27,
  RSEQ_ALIGN: 28,
  HWCAP3: 29,
  HWCAP4: 30,
  EXECFN: 31,
  SYSINFO: 32,
  SYSINFO_EHDR: 33,
  L1I_CACHESHAPE: 34,
  L1D_CACHESHAPE: 35,
  L2_CACHESHAPE: 36,
  L3_CACHESHAPE: 37,
  L1I_CACHESIZE: 40,
  L1I_CACHEGEOMETRY: 41,
  L1D_CACHESIZE: 42,
  L1D_CACHEGEOMETRY: 43,
  L2_CACHESIZE: 44,
  L2_CACHEGEOMETRY: 45,
  L3_CACHESIZE: 46,
  L3_CACHEGEOMETRY: 47,
  MINSIGSTKSZ: 51,
} as const;

const AT_NAMES = new Map<number, string>(Object.entries(AT).map(([name, n]) => [n, `AT_${name}`]));

/** The C name of an auxv key (`AT_ENTRY`), or `AT_<n>` for one Linux does not define. */
export function auxvName(type: bigint | number): string {
  return AT_NAMES.get(Number(type)) ?? `AT_${type}`;
}
