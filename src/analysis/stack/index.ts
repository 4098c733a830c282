/**
 * Backtraces of every thread of a ProcessImage: registers from the image, CFI from its loaded
 * modules, memory through image.memory (cores, CRIU images and live processes alike).
 *
 *   unwindImage(image, modules, { threads?, maxFrames? }) → { tid, frames, stopped? }[]
 */

import { NT_ARM_PAC_MASK } from '../../abi/notes.js';
import { codecFor } from '../../bytes/endian.js';
import { decodeRegisters, registerTable } from '../../elf/regs/index.js';
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
): { pc: bigint; regs: (bigint | undefined)[] } {
  const named = decodeRegisters(image.arch, t.gpRegs);
  const regs: (bigint | undefined)[] = new Array(arch.regs).fill(undefined);
  for (const [n, name] of Object.entries(arch.names)) regs[Number(n)] = named.get(name);
  return { pc: named.get(registerTable(image.arch.name).pc) ?? 0n, regs };
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
      const { pc, regs } = initialRegisters(image, arch, t);
      const mask = pacMask(image, t);
      const res = unwindThread(arch, image.memory, lookup, pc, regs, {
        maxFrames: options.maxFrames,
        ...(mask !== undefined ? { pacMask: mask } : {}),
      });
      return { tid: t.tid, ...res };
    });
}
