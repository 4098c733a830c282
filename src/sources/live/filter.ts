import type { ProcMapping } from '../../sys/proc.js';

/** Bits of /proc/PID/coredump_filter (MMF_DUMP_* in include/linux/sched/coredump.h). */
export const DUMP_ANON_PRIVATE = 1 << 0;
export const DUMP_ANON_SHARED = 1 << 1;
export const DUMP_MAPPED_PRIVATE = 1 << 2;
export const DUMP_MAPPED_SHARED = 1 << 3;
export const DUMP_ELF_HEADERS = 1 << 4;
export const DUMP_HUGETLB_PRIVATE = 1 << 5;
export const DUMP_HUGETLB_SHARED = 1 << 6;

export const PAGE_SIZE = 4096n;

/** Names of special mappings the kernel always dumps (they have vm_ops->name or are the gate vma). */
function isSpecial(path: string): boolean {
  if (!path.startsWith('[')) return false;
  return !(
    path === '[heap]' ||
    path.startsWith('[stack') ||
    path.startsWith('[anon:') ||
    path.startsWith('[anon_shmem:')
  );
}

/** What the decision needs beyond the maps line. */
export interface DumpContext {
  /** Permission bits of the mapped file (undefined if unknown). */
  fileMode(m: ProcMapping): number | undefined;
  /** Whether the mapping's first bytes are an ELF header. */
  startsWithElfMagic(m: ProcMapping): boolean;
}

/**
 * Bytes of `m` to store in the core, decided as fs/coredump.c vma_dump_size() does: special
 * mappings whole, VM_DONTDUMP and VM_IO none, then coredump_filter by kind; the first page of a
 * mapped ELF file when only headers are wanted. A private mapping counts as written to (has an
 * anon_vma) when smaps shows anonymous or swapped pages in it.
 */
export function dumpSize(m: ProcMapping, filter: number, ctx: DumpContext): bigint {
  const whole = m.end - m.start;
  const f = m.vmFlags;
  const shared = f.size > 0 ? f.has('sh') : m.perms[3] === 's';
  if (isSpecial(m.path)) return whole;
  if (f.has('dd')) return 0n;
  if (f.has('ht')) {
    return (filter & (shared ? DUMP_HUGETLB_SHARED : DUMP_HUGETLB_PRIVATE)) !== 0 ? whole : 0n;
  }
  if (f.has('io')) return 0n;
  const hasFile = m.path.startsWith('/') && m.inode !== 0;
  if (shared) {
    const unlinked = !hasFile || m.path.endsWith(' (deleted)');
    return (filter & (unlinked ? DUMP_ANON_SHARED : DUMP_MAPPED_SHARED)) !== 0 ? whole : 0n;
  }
  if (m.anonKb > 0 && (filter & DUMP_ANON_PRIVATE) !== 0) return whole;
  if (!hasFile) return 0n;
  if ((filter & DUMP_MAPPED_PRIVATE) !== 0) return whole;
  if ((filter & DUMP_ELF_HEADERS) !== 0 && m.offset === 0n && m.perms[0] === 'r') {
    const mode = ctx.fileMode(m);
    if (mode !== undefined && (mode & 0o111) !== 0) return PAGE_SIZE < whole ? PAGE_SIZE : whole;
    if (ctx.startsWithElfMagic(m)) return PAGE_SIZE < whole ? PAGE_SIZE : whole;
  }
  return 0n;
}
