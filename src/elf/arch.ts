import { FormatError } from '../bytes/errors.js';
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

export function archElf(arch: ArchName): ArchElf {
  return ELF_FACTS[arch];
}

export function machineOf(arch: ArchName): number {
  return ELF_FACTS[arch].machine;
}

/** The architecture of an ELF file from its e_machine, class and byte order. */
export function archFromElf(e_machine: number, elfClass: 32 | 64, endian: 'le' | 'be'): ArchInfo {
  const match = (Object.keys(ELF_FACTS) as ArchName[]).find((name) => {
    const a = ARCHES[name];
    return ELF_FACTS[name].machine === e_machine && a.elfClass === elfClass && a.endian === endian;
  });
  if (!match) {
    throw new FormatError(
      18,
      `unsupported architecture (e_machine ${e_machine}, ELFCLASS${elfClass}, ${endian})`,
    );
  }
  return ARCHES[match];
}
