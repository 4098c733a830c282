// The pseudo names /proc/PID/maps gives anonymous mappings ([heap], [stack], [vdso], [vvar],
// [vsyscall]), recovered from what an image knows: kernel cores name no anonymous mapping, so
// each label is derived from a fact the core does hold (auxv pointers, the threads' stack
// pointers, where the executable ends, fixed addresses), and a mapping the source already names
// keeps its name.
import { AT } from '../abi/auxv.js';
import { GATE_PAGES } from '../abi/gate.js';
import { decodeRegisters, registerTableOf } from '../elf/regs/index.js';
import type { Mapping, ProcessImage } from '../model/process-image.js';

const isAnonymous = (m: Mapping) => m.path === undefined || m.path === '' || m.path.startsWith('[anon');

/** A name the source itself gave (a live capture keeps /proc/PID/maps' names). */
const ownName = (m: Mapping) => (m.path?.startsWith('[') && !m.path.startsWith('[anon') ? m.path : undefined);

/**
 * How far above the end of the executable's data the kernel may start the brk heap
 * (arch_randomize_brk: 32 MiB for 32-bit processes, up to 1 GiB for 64-bit ones).
 */
const BRK_RANGE = { 32: 32n << 20n, 64: 1n << 30n } as const;

/**
 * The brk heap: [heap] when named, else the first anonymous writable mapping after the
 * executable's last mapping (and the anonymous rest of its .bss right behind it), past a gap
 * within the brk randomization range. Undefined when the process has no heap mapping.
 */
export function heapStart(image: ProcessImage, exe: string | null): bigint | undefined {
  const named = image.mappings.find((m) => m.path === '[heap]');
  if (named) return named.start;
  let exeEnd: bigint | undefined;
  for (const m of image.mappings) if (exe !== null && m.path === exe) exeEnd = m.end;
  if (exeEnd === undefined) return undefined;
  let end = exeEnd;
  for (const m of image.mappings) {
    if (m.start < exeEnd) continue;
    if (m.start === end && isAnonymous(m) && m.write) {
      end = m.end; // the executable's .bss
      continue;
    }
    const near = m.start - end <= BRK_RANGE[image.arch.elfClass];
    return near && m.start > end && isAnonymous(m) && m.write && !m.exec ? m.start : undefined;
  }
  return undefined;
}

/** Stack pointers by thread id (none without a register table). */
function stackPointers(image: ProcessImage): Map<number, bigint> {
  const sp = registerTableOf(image.arch)?.sp;
  const out = new Map<number, bigint>();
  if (!sp) return out;
  for (const t of image.threads) {
    const v = decodeRegisters(image.arch, t.gpRegs).get(sp);
    if (v !== undefined) out.set(t.tid, v);
  }
  return out;
}

/**
 * The label of each mapping, in the image's order (null: none). [stack] is the mapping holding
 * the strings the kernel put on the initial stack (AT_RANDOM, AT_EXECFN; else the main thread's
 * stack pointer), [stack:TID] one holding another thread's stack pointer, [vdso] the one at
 * AT_SYSINFO_EHDR, [vvar] the anonymous read-only mappings right below the vdso (newer kernels
 * split them into [vvar] and [vvar_vclock]; both are shown as [vvar]), and the gate page at its
 * fixed address ([vsyscall], [vectors]).
 */
export function mappingLabels(image: ProcessImage, exe: string | null): (string | null)[] {
  const maps = image.mappings;
  const labels: (string | null)[] = maps.map((m) => ownName(m) ?? null);
  const at = (address: bigint | undefined) =>
    address === undefined ? -1 : maps.findIndex((m) => m.start <= address && address < m.end);
  const label = (i: number, name: string) => {
    if (i >= 0 && labels[i] === null && isAnonymous(maps[i]!)) labels[i] = name;
  };
  const auxv = (key: number) => image.auxv.find((e) => e.type === BigInt(key))?.value;

  const vdso = at(auxv(AT.SYSINFO_EHDR));
  label(vdso, '[vdso]');
  for (let i = vdso - 1; vdso > 0 && i >= 0; i--) {
    const m = maps[i]!;
    if (m.end !== maps[i + 1]!.start || m.write || m.exec || m.protUnknown) break;
    label(i, '[vvar]');
  }

  const sps = stackPointers(image);
  const main = [auxv(AT.RANDOM), auxv(AT.EXECFN), sps.get(image.process.pid)].map(at).find((i) => i >= 0);
  if (main !== undefined) label(main, '[stack]');
  for (const [tid, sp] of sps) if (tid !== image.process.pid) label(at(sp), `[stack:${tid}]`);

  label(at(heapStart(image, exe)), '[heap]');
  const gate = GATE_PAGES[image.arch.name];
  if (gate)
    label(
      maps.findIndex((m) => m.start === gate.start),
      gate.name,
    );
  return labels;
}
