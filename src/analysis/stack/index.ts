/**
 * Backtraces of every thread of a ProcessImage: registers from the image, CFI from its loaded
 * modules, memory through image.memory (cores, CRIU images and live processes alike).
 *
 *   unwindImage(image, modules, { threads?, maxFrames? }) → { tid, frames, stopped? }[]
 */

import { NT_ARM_PAC_MASK } from '../../abi/notes.js';
import { codecFor } from '../../bytes/endian.js';
import { archLabel } from '../../elf/arch.js';
import { decodeRegisters, registerTableOf } from '../../elf/regs/index.js';
import type { ProcessImage, ThreadState } from '../../model/process-image.js';
import type { ModuleSet } from '../modules.js';
import { type UnwindArch, unwindArch } from './arches.js';
import { type CfiProblems, frameInfoLookup } from './frames.js';
import { type FrameInfoLookup, type UnwoundThread, unwindThread } from './unwind.js';

export type { FrameHow, RawFrame, UnwoundThread } from './unwind.js';

export interface StackOptions {
  /** Only these thread ids (default: every thread, in the image's order). */
  threads?: readonly number[];
  maxFrames?: number;
}

export interface ThreadUnwind extends UnwoundThread {
  tid: number;
}

/** Why an image cannot be unwound at all (an architecture without an unwinder). */
export class StackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackError';
  }
}

/** The general registers of a thread as the unwinder numbers them (DWARF), and its pc. */
export function initialRegisters(
  image: ProcessImage,
  arch: UnwindArch,
  t: ThreadState,
): { pc: bigint; regs: (bigint | undefined)[]; thumb: boolean } {
  const named = decodeRegisters(image.arch, t.gpRegs);
  const table = registerTableOf(image.arch);
  if (!table) throw new StackError(`no register table for ${archLabel(image.arch)}`);
  const regs: (bigint | undefined)[] = new Array(arch.regs).fill(undefined);
  for (const f of table.fields)
    if (f.dwarf !== undefined && f.dwarf < arch.regs) regs[f.dwarf] = named.get(f.name);
  // arm: the CPSR's T bit (the register table names the slot as eu-readelf does, spsr).
  const thumb = image.arch.name === 'arm' && ((named.get('spsr') ?? 0n) & 0x20n) !== 0n;
  return { pc: named.get(table.pc) ?? 0n, regs, thumb };
}

/** aarch64 pointer authentication: the insn_mask of NT_ARM_PAC_MASK, when the thread has one. */
function pacMask(image: ProcessImage, t: ThreadState): bigint | undefined {
  const note = t.regsets.find((r) => r.type === NT_ARM_PAC_MASK);
  if (!note || note.data.length < 16) return undefined;
  return codecFor(image.arch.endian).u64(note.data, 8);
}

/** Unwinds the threads of an image; `problems` collects CFI defects per module. */
export function unwindImage(
  image: ProcessImage,
  modules: ModuleSet,
  options: StackOptions = {},
  problems: CfiProblems = new Map(),
): ThreadUnwind[] {
  const arch = unwindArch(image.arch.name);
  if (!arch) throw new StackError(`unwinding ${image.arch.name} is not supported`);
  const lookup: FrameInfoLookup = frameInfoLookup(modules, arch, problems);
  const wanted = options.threads ? new Set(options.threads) : undefined;
  return image.threads
    .filter((t) => !wanted || wanted.has(t.tid))
    .map((t) => {
      const { pc, regs, thumb } = initialRegisters(image, arch, t);
      const mask = pacMask(image, t);
      const res = unwindThread(arch, image.memory, lookup, pc, regs, {
        maxFrames: options.maxFrames,
        thumb,
        ...(mask !== undefined ? { pacMask: mask } : {}),
      });
      return { tid: t.tid, ...res };
    });
}
