// ELF constants, with their C names (elf.h, include/uapi/linux/elf.h).

export const ELFMAG = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_NIDENT = 16;
export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;
export const ELFOSABI_NONE = 0;

export const ET_NONE = 0;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

export const EM_386 = 3;
export const EM_68K = 4;
export const EM_PPC = 20;
export const EM_PPC64 = 21;
export const EM_S390 = 22;
export const EM_ARM = 40;
export const EM_SPARCV9 = 43;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_RISCV = 243;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_GNU_EH_FRAME = 0x6474e550;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** e_phnum value meaning "the real count is in section 0's sh_info". */
export const PN_XNUM = 0xffff;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOTE = 7;
export const SHT_DYNSYM = 11;
export const SHN_UNDEF = 0;

// Symbol bindings and types (st_info >> 4, st_info & 0xf).
export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;

export const DT_NULL = 0;
export const DT_HASH = 4;
export const DT_STRTAB = 5;
export const DT_SYMTAB = 6;
export const DT_STRSZ = 10;
export const DT_SYMENT = 11;
export const DT_GNU_HASH = 0x6ffffef5;

// Note types (owner "CORE" unless said otherwise).
export const NT_PRSTATUS = 1;
export const NT_PRFPREG = 2;
export const NT_FPREGSET = 2;
export const NT_PRPSINFO = 3;
export const NT_TASKSTRUCT = 4;
export const NT_AUXV = 6;
export const NT_SIGINFO = 0x53494749;
export const NT_FILE = 0x46494c45;
export const NT_PRXFPREG = 0x46e62b7f;
// Owner "LINUX":
export const NT_PPC_VMX = 0x100;
export const NT_PPC_VSX = 0x102;
export const NT_386_TLS = 0x200;
export const NT_386_IOPERM = 0x201;
export const NT_X86_XSTATE = 0x202;
export const NT_X86_SHSTK = 0x204;
export const NT_X86_XSAVE_LAYOUT = 0x205;
export const NT_S390_HIGH_GPRS = 0x300;
export const NT_S390_TIMER = 0x301;
export const NT_S390_TODCMP = 0x302;
export const NT_S390_TODPREG = 0x303;
export const NT_S390_CTRS = 0x304;
export const NT_S390_PREFIX = 0x305;
export const NT_S390_LAST_BREAK = 0x306;
export const NT_S390_SYSTEM_CALL = 0x307;
export const NT_S390_VXRS_LOW = 0x309;
export const NT_S390_VXRS_HIGH = 0x30a;
export const NT_ARM_VFP = 0x400;
export const NT_ARM_TLS = 0x401;
export const NT_ARM_HW_BREAK = 0x402;
export const NT_ARM_HW_WATCH = 0x403;
export const NT_ARM_SYSTEM_CALL = 0x404;
export const NT_ARM_SVE = 0x405;
export const NT_ARM_PAC_MASK = 0x406;
export const NT_ARM_TAGGED_ADDR_CTRL = 0x409;
export const NT_ARM_PAC_ENABLED_KEYS = 0x40a;
export const NT_RISCV_CSR = 0x900;
export const NT_RISCV_VECTOR = 0x901;
// Owner "GNU":
export const NT_GNU_BUILD_ID = 3;
/** gdb's target description note (owner "GDB"). */
export const NT_GDB_TDESC = 0xff000000;
/** VMCOREINFO (owner "VMCOREINFO", type 0). */
export const NT_VMCOREINFO = 0;

export const AT_NAMES: Readonly<Record<number, string>> = {
  0: 'AT_NULL',
  1: 'AT_IGNORE',
  2: 'AT_EXECFD',
  3: 'AT_PHDR',
  4: 'AT_PHENT',
  5: 'AT_PHNUM',
  6: 'AT_PAGESZ',
  7: 'AT_BASE',
  8: 'AT_FLAGS',
  9: 'AT_ENTRY',
  10: 'AT_NOTELF',
  11: 'AT_UID',
  12: 'AT_EUID',
  13: 'AT_GID',
  14: 'AT_EGID',
  15: 'AT_PLATFORM',
  16: 'AT_HWCAP',
  17: 'AT_CLKTCK',
  18: 'AT_FPUCW',
  19: 'AT_DCACHEBSIZE',
  20: 'AT_ICACHEBSIZE',
  21: 'AT_UCACHEBSIZE',
  22: 'AT_IGNOREPPC',
  23: 'AT_SECURE',
  24: 'AT_BASE_PLATFORM',
  25: 'AT_RANDOM',
  26: 'AT_HWCAP2',
  27: 'AT_RSEQ_FEATURE_SIZE',
  28: 'AT_RSEQ_ALIGN',
  29: 'AT_HWCAP3',
  30: 'AT_HWCAP4',
  31: 'AT_EXECFN',
  32: 'AT_SYSINFO',
  33: 'AT_SYSINFO_EHDR',
  34: 'AT_L1I_CACHESHAPE',
  35: 'AT_L1D_CACHESHAPE',
  36: 'AT_L2_CACHESHAPE',
  37: 'AT_L3_CACHESHAPE',
  40: 'AT_L1I_CACHESIZE',
  41: 'AT_L1I_CACHEGEOMETRY',
  42: 'AT_L1D_CACHESIZE',
  43: 'AT_L1D_CACHEGEOMETRY',
  44: 'AT_L2_CACHESIZE',
  45: 'AT_L2_CACHEGEOMETRY',
  46: 'AT_L3_CACHESIZE',
  47: 'AT_L3_CACHEGEOMETRY',
  51: 'AT_MINSIGSTKSZ',
};

/** sh_flags bit: the section holds an Elf_Chdr and compressed data. */
export const SHF_COMPRESSED = 0x800n;
export const ELFCOMPRESS_ZLIB = 1;
export const ELFCOMPRESS_ZSTD = 2;
/** e_shstrndx value meaning "the real index is in section 0's sh_link". */
export const SHN_XINDEX = 0xffff;
export const SHT_NOBITS = 8;
