import { signalName } from '../../abi/signals.js';
import {
  type AddressExpr,
  evaluateAddress,
  imageLookup,
  isAddressError,
  parseAddressExpr,
} from '../../analysis/address-expr.js';
import { coreReport } from '../../analysis/report.js';
import { archLabel } from '../../elf/arch.js';
import { describeNotes } from '../../elf/notes/describe.js';
import { decodeRegisters, registerTableOf } from '../../elf/regs/index.js';
import { appendMissing, type MissingRange } from '../../model/address-space.js';
import type { ProcessImage } from '../../model/process-image.js';
import type { CheckpointProcess } from '../../sources/criu/checkpoint.js';
import { describeError, UsageError, UserError } from '../errors.js';
import { dumpLines, fieldLines, hex, size, table } from '../format.js';
import { toJson } from '../json.js';
import { type OpenedCore, type OpenedImage, type OpenImageOptions, openImage } from '../open-image.js';

export interface InspectOptions extends OpenImageOptions {
  json?: boolean;
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function withImage(
  path: string,
  opts: InspectOptions,
  fn: (opened: OpenedImage) => void,
): Promise<void> {
  const opened = await openImage(path, opts);
  try {
    fn(opened);
  } finally {
    opened.close();
  }
}

/** A command that reads what only an ELF core has (its notes). */
async function withCore(path: string, opts: InspectOptions, fn: (opened: OpenedCore) => void): Promise<void> {
  await withImage(path, opts, (opened) => {
    if (opened.kind !== 'core')
      throw new UserError(
        `${path} is a CRIU image directory, which has no ELF notes: \`coreshot convert criu\` writes a core that has`,
      );
    fn(opened);
  });
}

/** A checkpoint's process tree, children indented under their parent; `*` marks the one shown. */
function processTree(processes: readonly CheckpointProcess[], shown: number): string[] {
  const lines: string[] = [];
  const add = (p: CheckpointProcess, depth: number) => {
    const n = p.threads.length;
    lines.push(
      `${p.pid === shown ? '*' : ' '} ${'  '.repeat(depth)}${p.pid}  ${n} thread${n === 1 ? '' : 's'}`,
    );
    for (const c of processes) if (c.ppid === p.pid && c !== p) add(c, depth + 1);
  };
  const pids = new Set(processes.map((p) => p.pid));
  for (const p of processes) if (!pids.has(p.ppid)) add(p, 0);
  return lines;
}

export function info(path: string, opts: InspectOptions): Promise<void> {
  return withImage(path, opts, (opened) => {
    const { summary: data, commandCut } = coreReport(opened.report);
    const processes = opened.kind === 'criu' ? opened.processes : undefined;
    if (opts.json) return out(toJson(processes ? { ...data, processes } : data));
    const si = data.signal;
    const sig = si
      ? `${si.name} (${si.number})${si.code !== null ? `, code ${si.code}` : ''}${si.address !== null ? `, fault address ${hex(si.address)}` : ''}${si.senderPid !== null && si.code !== null && si.code <= 0 ? `, sent by pid ${si.senderPid}` : ''}`
      : 'none (not killed by a signal: a live capture)';
    const totals = data.memory;
    const rows = [
      ['core', `${data.core} (${size(data.fileSize)}, ${data.format} ${data.arch}, ${data.producer})`],
      ['executable', data.executable ?? 'unknown'],
      [
        'command',
        `${data.command || '(unknown)'}${commandCut ? ' … (cut at 80 bytes by the core format)' : ''}`,
      ],
      [
        'process',
        `pid ${data.pid}  ppid ${data.ppid}  uid ${data.uid}  gid ${data.gid}  state ${data.state}`,
      ],
      ['signal', sig],
      ['threads', String(data.threads)],
      [
        'mappings',
        `${data.mappings}: ${size(totals.inCore)} in core, ${size(totals.fromFiles)} from mapped files, ${size(totals.notInCore)} not in core${totals.unavailable ? `, ${size(totals.unavailable)} unavailable (file missing or changed)` : ''}`,
      ],
      [
        'files',
        `${data.mappedFiles.total} mapped: ${data.mappedFiles.used} used for missing pages, ${data.mappedFiles.missing.length} missing, ${data.mappedFiles.buildIdMismatch.length} build-id mismatch`,
      ],
    ];
    if (totals.truncated)
      rows.push(['truncated', `${size(totals.truncated)} of segment data lies past the end of the file`]);
    for (const f of data.mappedFiles.missing)
      rows.push(['missing', `${f} (use --root DIR to look for mapped files elsewhere)`]);
    rows.push(['problems', data.problems.length ? data.problems.join('; ') : 'none']);
    const tree = processes
      ? ['', 'process tree (* shown; --pid PID shows another):', ...processTree(processes, data.pid)]
      : [];
    out([table(rows), ...tree].join('\n'));
  });
}

export function threads(path: string, opts: InspectOptions): Promise<void> {
  return withImage(path, opts, ({ image }) => {
    const list = image.threads.map((t, i) => {
      const regs = decodeRegisters(image.arch, t.gpRegs);
      return {
        index: i + 1,
        tid: t.tid,
        signal: t.status.cursig ? signalName(t.status.cursig) : null,
        registers: Object.fromEntries([...regs].map(([k, v]) => [k, hex(v)])),
        regsets: t.regsets.map((r) => ({ owner: r.owner, type: r.type, size: r.data.length })),
      };
    });
    const table_ = registerTableOf(image.arch);
    const unnamed = table_
      ? undefined
      : `no register names: coreshot has no register table for ${archLabel(image.arch)} (pr_reg kept as ${image.threads[0]?.gpRegs.length ?? 0} raw bytes)`;
    if (opts.json)
      return out(
        toJson({ arch: archLabel(image.arch), ...(unnamed && { registerNames: unnamed }), threads: list }),
      );
    const width = image.arch.elfClass === 64 ? 16 : 8;
    const blocks = image.threads.map((t, i) => {
      const regs = decodeRegisters(image.arch, t.gpRegs);
      const pcsp = table_
        ? `  ${table_.pc} ${hex(regs.get(table_.pc) ?? 0n)}  ${table_.sp} ${hex(regs.get(table_.sp) ?? 0n)}`
        : '';
      const head = `thread ${i + 1}  tid ${t.tid}${t.status.cursig ? `  ${signalName(t.status.cursig)}` : ''}${pcsp}`;
      const cells = [...regs].map(([k, v]) => `${k.padStart(8)} ${hex(v, width)}`);
      const lines: string[] = [];
      for (let j = 0; j < cells.length; j += 3) lines.push(cells.slice(j, j + 3).join('  '));
      return [head, ...lines].join('\n');
    });
    out([...(unnamed ? [unnamed] : []), ...blocks].join('\n\n'));
  });
}

export function maps(path: string, opts: InspectOptions): Promise<void> {
  return withImage(path, opts, (opened) => {
    const report = coreReport(opened.report);
    const list = report.mappings.map(({ sources, ...shown }) => shown);
    if (opts.json) return out(toJson({ mappings: list }));
    const w = report.elfClass === 64 ? 12 : 8;
    const rows = [['RANGE', 'PERM', 'OFFSET', 'SIZE', 'IN CORE', 'REST', 'FILE']];
    for (const m of list) {
      rows.push([
        `${m.start.toString(16).padStart(w, '0')}-${m.end.toString(16).padStart(w, '0')}`,
        m.perms,
        m.offset.toString(16).padStart(8, '0'),
        size(m.size),
        m.coverage === 'partial' ? size(m.inCore) : m.coverage,
        m.rest ?? '-',
        `${m.path ?? m.label ?? ''}${m.buildId ? `  [build-id ${m.buildId}]` : ''}`,
      ]);
    }
    out(table(rows));
  });
}

export function notes(path: string, opts: InspectOptions): Promise<void> {
  return withCore(path, opts, ({ core }) => {
    const described = describeNotes(core.image.arch, core.elf.layout, core.notes);
    const buildIds = core.fileStatus
      .filter((f) => f.coreBuildId)
      .map((f) => ({ path: f.path, buildId: f.coreBuildId }));
    if (opts.json) return out(toJson({ notes: described, buildIds }));
    // One layout for every note: owner and name, type, size and offset, then its fields.
    const block = (head: string, lines: string[]) => [head, ...lines.map((l) => `    ${l}`)].join('\n');
    const blocks = described.map((d) =>
      block(
        `${d.owner} ${d.typeName}  type ${hex(d.type)}  size ${d.size}  at ${hex(d.offset)}`,
        fieldLines(d.decoded),
      ),
    );
    if (buildIds.length)
      blocks.push(
        block(
          'build-ids of mapped ELF files (from their first pages)',
          buildIds.map((b) => `${b.path}: ${b.buildId}`),
        ),
      );
    out(blocks.join('\n'));
  });
}

/**
 * The address an expression names in a core: registers of the thread `opts.thread` (default the
 * first), symbols of the loaded modules (loaded, with the code that reads them, only when the
 * expression names a symbol: the other commands of this view do not pay for it).
 */
async function addressOf(
  image: ProcessImage,
  expr: AddressExpr,
  opts: InspectOptions & { thread?: number | undefined },
): Promise<bigint> {
  let symbol = (_name: string): bigint | undefined => undefined;
  let close = () => {};
  if (expr.some((e) => e.term.kind === 'symbol')) {
    const [{ loadModules }, { symbolAddress }] = await Promise.all([
      import('../../analysis/modules.js'),
      import('../../analysis/symbols/symtab.js'),
    ]);
    const modules = loadModules(image, { root: opts.root });
    symbol = (name) => symbolAddress(modules, name);
    close = () => modules.close();
  }
  try {
    const lookup = imageLookup(image, opts.thread, symbol);
    if (isAddressError(lookup)) throw new UsageError(lookup.what);
    const found = evaluateAddress(expr, lookup);
    if (isAddressError(found)) throw new UsageError(`ADDRESS: ${found.what}`);
    return found;
  } finally {
    close();
  }
}

/** Longest read the CLI accepts, so a typo cannot ask for terabytes. */
const MAX_READ = 1n << 30n;
/** Bytes read (and written) at a time: a long read needs little memory. */
const RAW_CHUNK = 1 << 20;
/** Bytes hexdumped at a time (a multiple of 16, so lines do not depend on it). */
const DUMP_CHUNK = 1 << 16;

/** Writes to stdout, waiting while the pipe is full. */
async function write(data: string | Buffer): Promise<void> {
  if (!process.stdout.write(data))
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

/** The pieces of [address, address + length) at most `size` long. */
function* pieces(address: bigint, length: bigint, size: number): Generator<{ at: bigint; n: number }> {
  for (let off = 0n; off < length; off += BigInt(size)) {
    const left = length - off;
    yield { at: address + off, n: left < BigInt(size) ? Number(left) : size };
  }
}

/** Appends ranges, merging one that continues the last with the same reason. */
function addMissing(all: MissingRange[], more: readonly MissingRange[]): void {
  for (const m of more) appendMissing(all, m.start, m.end, m.reason);
}

/**
 * Hexdump, JSON or raw bytes of [address, address + length), read and written a chunk at a time.
 * `--raw` writes nothing unless every byte is available (or --zero-fill is given).
 */
export async function read(
  path: string,
  expression: string,
  length: bigint,
  opts: InspectOptions & { raw?: boolean; zeroFill?: boolean; thread?: number | undefined },
): Promise<void> {
  if (length <= 0n || length > MAX_READ)
    throw new UsageError(`LENGTH must be between 1 and ${MAX_READ} bytes`);
  const expr = parseAddressExpr(expression);
  if (isAddressError(expr)) throw new UsageError(`ADDRESS: ${expr.what}`);
  // A reader that goes away (`| head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`coreshot: writing the output: ${describeError(err)}\n`);
    process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 1);
  });
  const opened = await openImage(path, opts);
  try {
    const address = await addressOf(opened.image, expr, opts);
    if (address + length > 1n << 64n)
      throw new UsageError('ADDRESS + LENGTH runs past the end of the 64-bit address space');
    const memory = opened.image.memory;
    const missing: MissingRange[] = [];
    const describe = (m: MissingRange) => `${hex(m.start)}-${hex(m.end)} ${m.reason}`;
    if (opts.raw) {
      const single = length <= BigInt(RAW_CHUNK);
      const buf = Buffer.allocUnsafe(single ? Number(length) : RAW_CHUNK);
      if (!opts.zeroFill) {
        for (const { at, n } of pieces(address, length, RAW_CHUNK))
          addMissing(missing, memory.readInto(at, buf.subarray(0, n)));
        if (missing.length)
          throw new UserError(
            `not all of that memory is available: ${missing.map(describe).join(', ')} (--zero-fill writes zeros there)`,
          );
        if (single) return await write(buf);
      }
      for (const { at, n } of pieces(address, length, RAW_CHUNK)) {
        const chunk = Buffer.allocUnsafe(n);
        memory.readInto(at, chunk);
        await write(chunk);
      }
      return;
    }
    if (opts.json) {
      await write(`{\n  "address": "${hex(address)}",\n  "length": ${Number(length)},\n  "hex": "`);
      for (const { at, n } of pieces(address, length, RAW_CHUNK)) {
        const r = memory.read(at, n);
        addMissing(missing, r.missing);
        await write(r.data.toString('hex'));
      }
      // The same layout as toJson of the whole object.
      return await write(`",\n  "missing": ${toJson(missing).split('\n').join('\n  ')}\n}\n`);
    }
    for (const { at, n } of pieces(address, length, DUMP_CHUNK)) {
      const r = memory.read(at, n);
      addMissing(missing, r.missing);
      await write(dumpLines(at, r.data, r.missing));
    }
    if (missing.length) await write(`not available (shown as ??): ${missing.map(describe).join(', ')}\n`);
  } finally {
    opened.close();
  }
}
