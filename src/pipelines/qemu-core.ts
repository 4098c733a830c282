// Opens the core of a QEMU process and runs guest discovery on it, with QEMU's symbols taken from
// its executable on this machine when that file is found and matches the core's build-id.
import { join } from 'node:path';
import { findGuest, type QemuGuest, type QemuSymbols } from '../analysis/qemu/guest.js';
import { executablePath } from '../analysis/report.js';
import { readBuildId } from '../elf/build-id.js';
import { PT_LOAD } from '../elf/constants.js';
import { ElfFile } from '../elf/reader.js';
import { findDynamicSymbols } from '../elf/symbols.js';
import { FileAccess } from '../io/random-access.js';
import type { ProcessImage } from '../model/process-image.js';
import { type CoreFile, openCore } from '../sources/elfcore/open.js';

export interface QemuCore {
  core: CoreFile;
  /** Path of the QEMU executable as the process saw it, when the core names it. */
  executable?: string;
  guest: QemuGuest;
  close(): void;
}

export interface OpenQemuOptions {
  /** Directory under which the QEMU executable and mapped files are looked up. */
  root?: string;
}

/**
 * Opens the core of a QEMU process and finds its guest's memory. Symbols come from the
 * executable named in the core (under `root`), which must match the core's build-id; without
 * them, QEMU's heap is scanned.
 */
export function openQemuCore(path: string, options: OpenQemuOptions = {}): QemuCore {
  const core = openCore(path, options.root ? { root: options.root } : {});
  try {
    const notes: string[] = [];
    const executable = executablePath(core.image);
    const symbols = executable ? loadSymbols(core, executable, options.root, notes) : undefined;
    if (!executable) notes.push('the core does not name its executable: scanning for QEMU structures');
    const guest = findGuest(core.image, symbols, notes);
    return { core, ...(executable ? { executable } : {}), guest, close: () => core.close() };
  } catch (err) {
    core.close();
    throw err;
  }
}

/** Addresses of ram_list and address_space_memory, from the executable's dynamic symbols. */
function loadSymbols(
  core: CoreFile,
  executable: string,
  root: string | undefined,
  notes: string[],
): QemuSymbols | undefined {
  const hostPath = root ? join(root, executable) : executable;
  let ra: FileAccess;
  try {
    ra = new FileAccess(hostPath);
  } catch {
    notes.push(`${hostPath} is not readable: scanning for QEMU structures instead of using its symbols`);
    return undefined;
  }
  try {
    const coreId = core.fileStatus.find((s) => s.path === executable)?.coreBuildId;
    const fileId = readBuildId((off, len) => ra.read(off, len));
    if (coreId && fileId !== coreId) {
      notes.push(
        `${hostPath} has build-id ${fileId ?? 'none'}, the core's executable ${coreId}: not using its symbols`,
      );
      return undefined;
    }
    const elf = ElfFile.open(ra);
    const syms = findDynamicSymbols(elf, ['ram_list', 'address_space_memory', 'current_machine']);
    const ramList = syms.get('ram_list');
    const asm = syms.get('address_space_memory');
    if (!ramList || !asm) {
      notes.push(`${hostPath} does not export ram_list and address_space_memory: scanning instead`);
      return undefined;
    }
    const bias = loadBias(core.image, executable, elf);
    if (bias === undefined) {
      notes.push(`the core does not show where ${executable} was loaded: scanning instead`);
      return undefined;
    }
    const machine = syms.get('current_machine');
    return {
      ramList: ramList.value + bias,
      addressSpaceMemory: asm.value + bias,
      ...(machine ? { currentMachine: machine.value + bias } : {}),
    };
  } finally {
    ra.close();
  }
}

/** Load address minus link address: where the file's offset-0 page is mapped, minus its vaddr. */
function loadBias(image: ProcessImage, executable: string, elf: ElfFile): bigint | undefined {
  const head = image.mappings.find((m) => m.path === executable && m.offset === 0n);
  const first = elf.programHeaders.find((p) => p.p_type === PT_LOAD && p.p_offset === 0n);
  if (!head || !first) return undefined;
  return head.start - first.p_vaddr;
}
