// ELF note types of Linux cores (include/uapi/linux/elf.h, elf.h), by owner. The one home of
// these numbers: the note table (elf/notes/table.ts), ptrace's regsets (sys/) and every source use them.

// Owner "CORE":
export const NT_PRSTATUS = 1;
/** NT_FPREGSET in the kernel's headers; ptrace names the same regset NT_PRFPREG. */
export const NT_PRFPREG = 2;
export const NT_FPREGSET = NT_PRFPREG;
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
// Owner "CORESHOT" (coreshot's own, elf/notes/coreshot.ts): the process state a restore needs that
// a core lacks. The numbers stay clear of every type binutils' BFD decodes whatever the owner.
/** Process-wide: mm bounds, rlimits, signal dispositions. */
export const NT_CORESHOT_PROCESS = 0x43530001;
/** One open file (or the working directory): number, flags, offset, type, path. */
export const NT_CORESHOT_FD = 0x43530002;
/** Per thread (follows its NT_PRSTATUS): sigaltstack, rseq, robust list, clear-child-tid. */
export const NT_CORESHOT_THREAD = 0x43530003;
