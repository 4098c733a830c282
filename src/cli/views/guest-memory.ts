import { openSink } from '../../io/sink.js';
import { VMCORE_ARCHES, type VmcoreArch, vmcoreArchOfBinary, writeVmcore } from '../../sinks/vmcore/write.js';
import { NotQemuError } from '../../sources/qemu/guest.js';
import { openQemuCore, type QemuCore } from '../../sources/qemu/open.js';
import { linkOpenFile } from '../../sys/files.js';
import { outputFilter } from '../compress-option.js';
import { abortOnSignals, UserError } from '../errors.js';
import { hex, size, table, toJson } from '../format.js';
import { progressBar } from '../progress.js';

export interface GuestMemoryOptions {
  output?: string;
  root?: string;
  arch?: string;
  list?: boolean;
  json?: boolean;
  force?: boolean;
  compress?: 'zstd';
}

export async function guestMemory(path: string, opts: GuestMemoryOptions): Promise<void> {
  if (!opts.list && !opts.output) throw new UserError('guest-memory: give -o OUT (or --list)');
  if (opts.arch !== undefined && !(opts.arch in VMCORE_ARCHES)) {
    throw new UserError(`--arch must be one of ${Object.keys(VMCORE_ARCHES).join(', ')}, got '${opts.arch}'`);
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
    process.stdout.write(`${toJson({ core: path, executable: q.executable, ...g })}\n`);
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
    ...g.notes.map((n) => `note: ${n}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function extract(path: string, q: QemuCore, opts: GuestMemoryOptions): Promise<void> {
  const g = q.guest;
  if (g.ranges.length === 0)
    throw new UserError(`${path}: the QEMU process has no guest RAM in its memory map`);
  if (g.machine?.dumpGuestCore === false) {
    throw new UserError(
      `${path}: QEMU ran with dump-guest-core=off, so its guest RAM is not in the core; ` +
        'run QEMU with -machine dump-guest-core=on',
    );
  }
  const absent = g.blocks.filter((b) => b.coverage === 'absent' && g.ranges.some((r) => r.block === b.idstr));
  if (absent.length > 0 && !g.machine) {
    throw new UserError(
      `${path}: guest RAM (${absent.map((b) => b.idstr).join(', ')}) is not in the core ` +
        '(QEMU probably ran with dump-guest-core=off)',
    );
  }
  const arch =
    (opts.arch as VmcoreArch | undefined) ?? (q.executable ? vmcoreArchOfBinary(q.executable) : undefined);
  if (!arch)
    throw new UserError(`cannot tell the guest architecture from ${q.executable ?? 'the core'}: give --arch`);
  const compressed = await outputFilter(opts.compress);
  const sink = compressed(openSink(opts.output!, { force: opts.force === true, linker: linkOpenFile }));
  const bar = await progressBar('guest-memory');
  try {
    const res = await writeVmcore(
      {
        arch,
        segments: g.ranges,
        memory: q.core.image.memory,
        // dump-guest-core=on: what the core lacks was never written (kernel cores skip such memory).
        absentIsZero: g.machine?.dumpGuestCore === true,
        ...(g.vmcoreinfo ? { vmcoreinfo: g.vmcoreinfo } : {}),
      },
      sink,
      { signal: abortOnSignals(), onProgress: bar.update },
    );
    bar.stop();
    for (const w of [...g.notes, ...res.warnings]) process.stderr.write(`coreshot: note: ${w}\n`);
    if (opts.json) {
      process.stdout.write(`${toJson({ output: opts.output, arch, ...res })}\n`);
    } else if (opts.output !== '-') {
      const info = res.vmcoreinfo ? ', with VMCOREINFO' : '';
      process.stderr.write(`wrote ${opts.output}: ${res.segments} segments, ${size(res.bytes)}${info}\n`);
    }
  } finally {
    bar.stop();
  }
}
