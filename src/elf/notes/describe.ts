import { auxvName } from '../../abi/auxv.js';
import {
  NT_386_TLS,
  NT_ARM_TLS,
  NT_ARM_VFP,
  NT_AUXV,
  NT_FILE,
  NT_FPREGSET,
  NT_GDB_TDESC,
  NT_GNU_BUILD_ID,
  NT_PRPSINFO,
  NT_PRSTATUS,
  NT_PRXFPREG,
  NT_SIGINFO,
  NT_TASKSTRUCT,
  NT_X86_XSAVE_LAYOUT,
  NT_X86_XSTATE,
} from '../../abi/notes.js';
import { signalName } from '../../abi/signals.js';
import { fixedString } from '../../bytes/cursor.js';
import type { ArchInfo } from '../../model/process-image.js';
import type { ElfLayout } from '../layout.js';
import { decodeRegisters } from '../regs/index.js';
import { decodeAuxv } from './auxv.js';
import { decodeNtFile } from './file.js';
import type { ElfNote } from './note.js';
import { decodePrPsInfo } from './prpsinfo.js';
import { decodePrStatus } from './prstatus.js';
import { decodeSigInfo } from './siginfo.js';
import { decodeFxSave, decodeQemuCpuState, decodeXSaveLayout, decodeXState } from './x86.js';

const CORE_TYPES: Record<number, string> = {
  [NT_PRSTATUS]: 'PRSTATUS',
  [NT_FPREGSET]: 'FPREGSET',
  [NT_PRPSINFO]: 'PRPSINFO',
  [NT_TASKSTRUCT]: 'TASKSTRUCT',
  [NT_AUXV]: 'AUXV',
  [NT_FILE]: 'FILE',
  [NT_SIGINFO]: 'SIGINFO',
  [NT_PRXFPREG]: 'PRXFPREG',
};

const LINUX_TYPES: Record<number, string> = {
  256: 'PPC_VMX',
  258: 'PPC_VSX',
  [NT_386_TLS]: '386_TLS',
  513: '386_IOPERM',
  [NT_X86_XSTATE]: 'X86_XSTATE',
  516: 'X86_SHSTK',
  [NT_X86_XSAVE_LAYOUT]: 'X86_XSAVE_LAYOUT',
  768: 'S390_HIGH_GPRS',
  769: 'S390_TIMER',
  770: 'S390_TODCMP',
  771: 'S390_TODPREG',
  772: 'S390_CTRS',
  773: 'S390_PREFIX',
  774: 'S390_LAST_BREAK',
  775: 'S390_SYSTEM_CALL',
  777: 'S390_VXRS_LOW',
  778: 'S390_VXRS_HIGH',
  [NT_ARM_VFP]: 'ARM_VFP',
  [NT_ARM_TLS]: 'ARM_TLS',
  1026: 'ARM_HW_BREAK',
  1027: 'ARM_HW_WATCH',
  1028: 'ARM_SYSTEM_CALL',
  1029: 'ARM_SVE',
  1030: 'ARM_PAC_MASK',
  1033: 'ARM_TAGGED_ADDR_CTRL',
  1034: 'ARM_PAC_ENABLED_KEYS',
  2304: 'RISCV_CSR',
  2305: 'RISCV_VECTOR',
};

/** The name eu-readelf gives a note type, or a hex number. */
export function noteTypeName(owner: string, type: number): string {
  const hex = `0x${type.toString(16)}`;
  switch (owner) {
    case 'CORE':
      return CORE_TYPES[type] ?? LINUX_TYPES[type] ?? hex;
    case 'LINUX':
      return LINUX_TYPES[type] ?? hex;
    case 'GNU':
      return type === NT_GNU_BUILD_ID ? 'GNU_BUILD_ID' : hex;
    case 'GDB':
      return type === NT_GDB_TDESC ? 'GDB_TDESC' : hex;
    case 'QEMU':
      return 'QEMU_CPU_STATE';
    case 'VMCOREINFO':
      return 'VMCOREINFO';
    default:
      return hex;
  }
}

export interface DescribedNote {
  owner: string;
  type: number;
  typeName: string;
  size: number;
  offset: bigint;
  /** Typed contents, when the note is one coreshot decodes. */
  decoded?: unknown;
}

/** Decodes a note into plain data for display. Never throws: undecodable notes stay raw. */
export function describeNote(arch: ArchInfo, layout: ElfLayout, n: ElfNote): DescribedNote {
  const out: DescribedNote = {
    owner: n.owner,
    type: n.type,
    typeName: noteTypeName(n.owner, n.type),
    size: n.desc.length,
    offset: n.offset,
  };
  try {
    const decoded = decode(arch, layout, n);
    if (decoded !== undefined) out.decoded = decoded;
  } catch (err) {
    out.decoded = { error: err instanceof Error ? err.message : String(err) };
  }
  return out;
}

function decode(arch: ArchInfo, layout: ElfLayout, n: ElfNote): unknown {
  const c = layout.codec;
  const base = n.offset + 12n;
  const x86 = arch.name === 'x86_64' || arch.name === 'i386';
  if (n.owner === 'CORE') {
    switch (n.type) {
      case NT_PRSTATUS: {
        const { status, gpRegs } = decodePrStatus(arch, n.desc, base);
        return {
          ...status,
          signal: status.cursig ? signalName(status.cursig) : undefined,
          registers: Object.fromEntries(decodeRegisters(arch, gpRegs)),
        };
      }
      case NT_PRPSINFO:
        return decodePrPsInfo(arch, n.desc, base);
      case NT_SIGINFO: {
        const si = decodeSigInfo(arch, n.desc);
        return si && { ...si, signal: signalName(si.signo) };
      }
      case NT_AUXV:
        return decodeAuxv(layout, n.desc, base).map((e) => ({ name: auxvName(e.type), value: e.value }));
      case NT_FILE:
        return decodeNtFile(layout, n.desc, base);
      case NT_FPREGSET:
        return arch.name === 'x86_64' ? decodeFxSave(c, n.desc, 16) : undefined;
      case NT_PRXFPREG:
        return x86 ? decodeFxSave(c, n.desc, arch.name === 'i386' ? 8 : 16) : undefined;
    }
  }
  if (n.owner === 'LINUX' && x86) {
    if (n.type === NT_X86_XSTATE) return decodeXState(c, n.desc);
    if (n.type === NT_X86_XSAVE_LAYOUT) return decodeXSaveLayout(c, n.desc);
  }
  if (n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID) return n.desc.toString('hex');
  if (n.owner === 'GDB' && n.type === NT_GDB_TDESC) return fixedString(n.desc);
  if (n.owner === 'QEMU' && arch.name === 'x86_64') return decodeQemuCpuState(c, n.desc);
  if (n.owner === 'VMCOREINFO') return parseVmcoreInfo(n.desc);
  return undefined;
}

/** VMCOREINFO text: KEY=VALUE lines. */
export function parseVmcoreInfo(desc: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fixedString(desc).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
