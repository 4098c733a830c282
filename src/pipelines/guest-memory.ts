// The guest-memory pipeline: the guest RAM found in a QEMU process core, written as an ELF vmcore,
// after the checks that keep it from writing a wrong dump (no guest RAM, RAM the core left out,
// a guest architecture nobody named). Library callers and the CLI go through the same checks.
import type { Sink } from '../io/sink.js';
import type { LongRunOptions } from '../model/progress.js';
import {
  type VmcoreArch,
  type VmcoreInput,
  type VmcoreResult,
  vmcoreArchOfBinary,
  writeVmcore,
} from '../sinks/vmcore/write.js';
import type { QemuCore } from './qemu-core.js';

/** Why a guest's memory cannot be extracted from a core. */
export type GuestMemoryErrorKind =
  | 'no-guest-ram' // the QEMU process maps no guest RAM (-machine none)
  | 'dump-guest-core-off' // QEMU's machine says its RAM was excluded from cores
  | 'guest-ram-absent' // the core lacks RAM blocks, and QEMU's machine state is unknown
  | 'unknown-arch'; // no arch was given and the executable's name does not tell it

export class GuestMemoryError extends Error {
  readonly kind: GuestMemoryErrorKind;
  /** The RAM blocks the core lacks ('guest-ram-absent'). */
  readonly blocks: readonly string[];
  constructor(kind: GuestMemoryErrorKind, message: string, blocks: readonly string[] = []) {
    super(message);
    this.name = 'GuestMemoryError';
    this.kind = kind;
    this.blocks = blocks;
  }
}

export interface GuestMemoryOptions extends LongRunOptions {
  /** The guest architecture (default: from the QEMU executable's name, qemu-system-ARCH). */
  arch?: VmcoreArch;
}

export interface GuestMemoryResult extends VmcoreResult {
  arch: VmcoreArch;
}

/**
 * Writes the guest physical memory of an opened QEMU core to `sink` as an ELF vmcore. Refuses
 * with a GuestMemoryError when the dump would be wrong or incomplete. The sink is committed on
 * success and aborted (no file left) on any failure, a refusal included.
 */
export async function writeGuestMemory(
  q: QemuCore,
  sink: Sink,
  options: GuestMemoryOptions = {},
): Promise<GuestMemoryResult> {
  let input: VmcoreInput;
  try {
    input = vmcoreInput(q, options.arch);
  } catch (err) {
    sink.abort();
    throw err;
  }
  const result = await writeVmcore(input, sink, options);
  return { arch: input.arch, ...result };
}

/** What the vmcore writer gets for q's guest, once the checks pass. */
function vmcoreInput(q: QemuCore, requested: VmcoreArch | undefined): VmcoreInput {
  const g = q.guest;
  if (g.ranges.length === 0)
    throw new GuestMemoryError('no-guest-ram', 'the QEMU process has no guest RAM in its memory map');
  if (g.machine?.dumpGuestCore === false) {
    throw new GuestMemoryError(
      'dump-guest-core-off',
      'QEMU ran with dump-guest-core=off, so its guest RAM is not in the core',
    );
  }
  const absent = g.blocks
    .filter((b) => b.coverage === 'absent' && g.ranges.some((r) => r.block === b.idstr))
    .map((b) => b.idstr);
  if (absent.length > 0 && !g.machine) {
    throw new GuestMemoryError(
      'guest-ram-absent',
      `guest RAM (${absent.join(', ')}) is not in the core (QEMU probably ran with dump-guest-core=off)`,
      absent,
    );
  }
  const arch = requested ?? (q.executable ? vmcoreArchOfBinary(q.executable) : undefined);
  if (!arch) {
    throw new GuestMemoryError(
      'unknown-arch',
      `cannot tell the guest architecture from ${q.executable ?? 'the core'}`,
    );
  }
  return {
    arch,
    segments: g.ranges,
    memory: q.core.image.memory,
    // dump-guest-core=on: what the core lacks was never written (kernel cores skip such memory).
    absentIsZero: g.machine?.dumpGuestCore === true,
    ...(g.vmcoreinfo ? { vmcoreinfo: g.vmcoreinfo } : {}),
  };
}
