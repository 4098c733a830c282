// guest-memory: parses its options, runs the guest-memory pipeline (or lists what the QEMU core
// holds) and renders the result; the checks themselves live in pipelines/guest-memory.ts.
import { NotQemuError } from '../../analysis/qemu/guest.js';
import { checkOutput, openSink } from '../../io/sink.js';
import {
  GuestMemoryError,
  type GuestMemoryErrorKind,
  writeGuestMemory,
} from '../../pipelines/guest-memory.js';
import { openQemuCore, type QemuCore } from '../../pipelines/qemu-core.js';
import { VMCORE_ARCHES, type VmcoreArch } from '../../sinks/vmcore/write.js';
import { linkOpenFile } from '../../sys/files.js';
import { outputFilter } from '../compress-option.js';
import { abortOnSignals, UsageError, UserError } from '../errors.js';
import { hex, size, table } from '../format.js';
import { toJson } from '../json.js';
import { progressBar } from '../progress.js';

/** The command line options of guest-memory. */
export interface GuestMemoryFlags {
  output?: string;
  root?: string;
  arch?: string;
  list?: boolean;
  json?: boolean;
  force?: boolean;
  compress?: 'zstd';
}

export async function guestMemory(path: string, opts: GuestMemoryFlags): Promise<void> {
  if (!opts.list && !opts.output) throw new UsageError('give -o OUT (or --list)');
  // Named before the core is read: a directory or a taken name.
  if (!opts.list) checkOutput(opts.output!, { force: opts.force === true });
  if (opts.arch !== undefined && !(opts.arch in VMCORE_ARCHES)) {
    throw new UsageError(
      `--arch must be one of ${Object.keys(VMCORE_ARCHES).join(', ')}, got '${opts.arch}'`,
    );
  }
  let q: QemuCore;
  try {
    q = openQemuCore(path, opts.root ? { root: opts.root } : {});
  } catch (err) {
    if (err instanceof NotQemuError)
      throw new UserError(`${path} is not the core of a QEMU process: ${err.message}`);
    throw err;
  }
  try {
    if (opts.list) list(path, q, opts.json === true);
    else await extract(path, q, opts);
  } finally {
    q.close();
  }
}

function list(path: string, q: QemuCore, json: boolean): void {
  const g = q.guest;
  if (json) {
    // JSON keeps the notes as lines of text.
    const notes = g.notes.map((n) => n.what);
    process.stdout.write(`${toJson({ core: path, executable: q.executable, ...g, notes })}\n`);
    return;
  }
  const lines = [
    `${path}: ${q.executable ?? 'QEMU (executable unknown)'}, QEMU ${g.layout} layout, found by ${g.method}`,
    g.machine
      ? `machine: ${g.machine.type}, dump-guest-core=${g.machine.dumpGuestCore ? 'on' : 'off'}`
      : 'machine: unknown',
    '',
    'RAM blocks:',
    table([
      ['IDSTR', 'REGION', 'HOST', 'RAM OFFSET', 'USED', 'MAX', 'IN CORE'],
      ...g.blocks.map((b) => [
        b.idstr,
        b.region,
        hex(b.host),
        hex(b.offset),
        size(b.usedLength),
        size(b.maxLength),
        b.coverage === 'held' ? 'yes' : 'no',
      ]),
    ]),
    '',
    'Guest-physical memory map:',
    table([
      ['START', 'END', 'SIZE', 'HOST', 'BLOCK', 'REGION'],
      ...g.ranges.map((r) => [
        hex(r.start, 16),
        hex(r.start + r.size, 16),
        size(r.size),
        hex(r.host),
        r.block,
        r.region,
      ]),
    ]),
    '',
    g.vmcoreinfo
      ? `VMCOREINFO: registered by the guest at ${hex(g.vmcoreinfo.paddr)} (${g.vmcoreinfo.size} bytes)`
      : 'VMCOREINFO: not registered',
    ...g.notes.map((n) => `note: ${n.what}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** How the CLI words each refusal of the guest-memory pipeline. */
const REFUSALS: Record<GuestMemoryErrorKind, (err: GuestMemoryError, path: string) => string> = {
  'no-guest-ram': (err, path) => `${path}: ${err.message}`,
  'dump-guest-core-off': (err, path) => `${path}: ${err.message}; run QEMU with -machine dump-guest-core=on`,
  'guest-ram-absent': (err, path) => `${path}: ${err.message}`,
  'unknown-arch': (err) => `${err.message}: give --arch`,
};

async function extract(path: string, q: QemuCore, opts: GuestMemoryFlags): Promise<void> {
  const compressed = await outputFilter(opts.compress);
  const sink = compressed(openSink(opts.output!, { force: opts.force === true, linker: linkOpenFile }));
  const bar = await progressBar('guest-memory');
  try {
    const res = await writeGuestMemory(q, sink, {
      ...(opts.arch ? { arch: opts.arch as VmcoreArch } : {}),
      signal: abortOnSignals(),
      onProgress: bar.update,
    });
    bar.stop();
    for (const w of [...q.guest.notes, ...res.warnings]) process.stderr.write(`coreshot: note: ${w.what}\n`);
    if (opts.json) {
      const warnings = res.warnings.map((w) => w.what);
      process.stdout.write(`${toJson({ output: opts.output, ...res, warnings })}\n`);
    } else if (opts.output !== '-') {
      const info = res.vmcoreinfo ? ', with VMCOREINFO' : '';
      process.stderr.write(`wrote ${opts.output}: ${res.segments} segments, ${size(res.bytes)}${info}\n`);
    }
  } catch (err) {
    if (err instanceof GuestMemoryError) throw new UserError(REFUSALS[err.kind](err, path));
    throw err;
  } finally {
    bar.stop();
  }
}
