// ELF facts of each architecture coreshot knows (e_machine, uid size, page size), and the
// architecture of a file from its header: a known one, or 'unknown' carrying its e_machine.
import { ARCHES, type ArchInfo, type ArchName } from '../model/process-image.js';
import {
  EM_68K,
  EM_386,
  EM_AARCH64,
  EM_ARM,
  EM_PPC,
  EM_PPC64,
  EM_RISCV,
  EM_S390,
  EM_SPARCV9,
  EM_X86_64,
} from './constants.js';

/** ELF facts of an architecture beyond class and byte order. */
export interface ArchElf {
  machine: number;
  /** sizeof(__kernel_uid_t) in elf_prpsinfo: 2 on i386 and arm, 4 elsewhere. */
  uidSize: 2 | 4;
  /** The page size used for NT_FILE and dumps. */
  pageSize: number;
  /** The largest alignment of a struct member, when below its size (m68k aligns to 2). */
  maxAlign?: number;
  /** Alignment of pr_reg when above the word size (x32's 8-byte registers, s390's psw). */
  regAlign?: number;
}

const ELF_FACTS: Record<ArchName, ArchElf> = {
  x86_64: { machine: EM_X86_64, uidSize: 4, pageSize: 4096 },
  i386: { machine: EM_386, uidSize: 2, pageSize: 4096 },
  aarch64: { machine: EM_AARCH64, uidSize: 4, pageSize: 4096 },
  arm: { machine: EM_ARM, uidSize: 2, pageSize: 4096 },
  ppc64le: { machine: EM_PPC64, uidSize: 4, pageSize: 65536 },
  ppc64: { machine: EM_PPC64, uidSize: 4, pageSize: 65536 },
  s390x: { machine: EM_S390, uidSize: 4, pageSize: 4096 },
  riscv64: { machine: EM_RISCV, uidSize: 4, pageSize: 4096 },
  x32: { machine: EM_X86_64, uidSize: 4, pageSize: 4096, regAlign: 8 },
  ppc: { machine: EM_PPC, uidSize: 4, pageSize: 4096 },
  s390: { machine: EM_S390, uidSize: 2, pageSize: 4096, regAlign: 8 },
  m68k: { machine: EM_68K, uidSize: 2, pageSize: 4096, maxAlign: 2 },
  sparc64: { machine: EM_SPARCV9, uidSize: 4, pageSize: 8192 },
};

/** The facts of an architecture; an unknown one gets Linux's generic uid size and 4 KiB pages. */
export function archElf(arch: ArchInfo): ArchElf {
  return arch.name === 'unknown'
    ? { machine: arch.machine, uidSize: 4, pageSize: 4096 }
    : ELF_FACTS[arch.name];
}

/** How an architecture is shown: its name, or its e_machine number when coreshot does not know it. */
export function archLabel(arch: ArchInfo): string {
  return arch.name === 'unknown' ? `unknown (e_machine ${arch.machine})` : arch.name;
}

/** The architecture of an ELF file from its e_machine, class and byte order; never refused. */
export function archFromElf(e_machine: number, elfClass: 32 | 64, endian: 'le' | 'be'): ArchInfo {
  const match = (Object.keys(ELF_FACTS) as ArchName[]).find((name) => {
    const a = ARCHES[name];
    return ELF_FACTS[name].machine === e_machine && a.elfClass === elfClass && a.endian === endian;
  });
  return match ? ARCHES[match] : { name: 'unknown', machine: e_machine, elfClass, endian };
}
