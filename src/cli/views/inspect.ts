import { AT } from '../../abi/auxv.js';
import { NT_PRPSINFO } from '../../abi/notes.js';
import { signalName } from '../../abi/signals.js';
import { archLabel } from '../../elf/arch.js';
import { describeNote } from '../../elf/notes/describe.js';
import { decodeSigInfo } from '../../elf/notes/siginfo.js';
import { decodeRegisters, registerTableOf } from '../../elf/regs/index.js';
import type { MissingRange } from '../../model/address-space.js';
import type { Mapping } from '../../model/process-image.js';
import { type CoreFile, openCore } from '../../sources/elfcore/open.js';
import { describeError, UserError } from '../errors.js';
import { hex, pretty, size, table, toJson } from '../format.js';

export interface InspectOptions {
  root?: string;
  json?: boolean;
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function withCore<T>(path: string, opts: InspectOptions, fn: (core: CoreFile) => T): T {
  const core = openCore(path, { root: opts.root });
  try {
    return fn(core);
  } finally {
    core.close();
  }
}

/** Which tool wrote the core, from the shape of its notes. */
function producer(core: CoreFile): string {
  if (core.notes.some((n) => n.owner === 'QEMU')) return 'QEMU';
  if (core.notes.some((n) => n.owner === 'GDB')) return 'gdb';
  const first = core.notes[0];
  if (first && first.owner === 'CORE' && first.type === NT_PRPSINFO) return 'gdb';
  return 'kernel layout';
}

/** The executable: the file mapped at AT_ENTRY, else the AT_EXECFN string in memory. */
function executable(core: CoreFile): string | undefined {
  const { image } = core;
  const entry = image.auxv.find((e) => e.type === BigInt(AT.ENTRY))?.value;
  const mapped =
    entry === undefined ? undefined : image.mappings.find((m) => m.start <= entry && entry < m.end)?.path;
  if (mapped) return mapped;
  const execfn = image.auxv.find((e) => e.type === BigInt(AT.EXECFN));
  if (!execfn) return undefined;
  const r = image.memory.read(execfn.value, 4096);
  const end = r.data.indexOf(0);
  if (end <= 0 || r.missing.some((m) => m.start < execfn.value + BigInt(end))) return undefined;
  return r.data.toString('utf8', 0, end);
}

interface MemoryTotals {
  inCore: bigint;
  fromFiles: bigint;
  unavailable: bigint;
  notInCore: bigint;
  truncated: bigint;
}

function memoryTotals(core: CoreFile): MemoryTotals {
  const t: MemoryTotals = { inCore: 0n, fromFiles: 0n, unavailable: 0n, notInCore: 0n, truncated: 0n };
  for (const m of core.image.mappings) t.inCore += m.dumped;
  const layout =
    (
      core.image.memory as {
        layout?: readonly { start: bigint; end: bigint; kind: string; reason?: string }[];
      }
    ).layout ?? [];
  for (const r of layout) {
    const n = r.end - r.start;
    if (r.kind === 'file') t.fromFiles += n;
    else if (r.kind === 'missing' && r.reason === 'file-unavailable') t.unavailable += n;
    else if (r.kind === 'missing') t.notInCore += n;
  }
  const size = core.elf.ra.size;
  for (const p of core.loads) {
    const end = p.p_offset + p.p_filesz;
    if (p.p_filesz > 0n && end > size) t.truncated += end - (p.p_offset > size ? p.p_offset : size);
  }
  return t;
}

export function info(path: string, opts: InspectOptions): void {
  withCore(path, opts, (core) => {
    const { image } = core;
    const p = image.process;
    const t0 = image.threads[0];
    // pr_cursig is the signal that killed the process (0 for a live capture such as gcore's);
    // siginfo details count only when they describe that same signal.
    const signo = t0?.status.cursig ?? 0;
    const decoded = t0?.siginfo ? decodeSigInfo(image.arch, t0.siginfo) : undefined;
    const si = decoded && decoded.signo === signo ? decoded : undefined;
    const totals = memoryTotals(core);
    const files = core.fileStatus;
    const data = {
      core: path,
      fileSize: core.elf.ra.size,
      format: `ELF${image.arch.elfClass} ${image.arch.endian === 'le' ? 'little' : 'big'}-endian`,
      arch: archLabel(image.arch),
      producer: producer(core),
      executable: executable(core) ?? null,
      command: p.args ? p.args.join(' ') : p.psargs,
      comm: p.comm,
      pid: p.pid,
      ppid: p.ppid,
      uid: p.uid,
      gid: p.gid,
      state: p.sname,
      signal: signo
        ? {
            number: signo,
            name: signalName(signo),
            code: si?.code ?? null,
            address: si?.addr ?? null,
            senderPid: si?.pid ?? null,
          }
        : null,
      threads: image.threads.length,
      mappings: image.mappings.length,
      memory: totals,
      mappedFiles: {
        total: files.length,
        used: files.filter((f) => f.status === 'used').length,
        missing: files.filter((f) => f.status === 'missing').map((f) => f.hostPath),
        buildIdMismatch: files.filter((f) => f.status === 'build-id-mismatch').map((f) => f.hostPath),
      },
      problems: core.problems.map((pr) => pr.what),
    };
    if (opts.json) return out(toJson(data));
    const sig = data.signal
      ? `${data.signal.name} (${data.signal.number})${si?.code !== undefined ? `, code ${si.code}` : ''}${si?.addr !== undefined ? `, fault address ${hex(si.addr)}` : ''}${si?.pid !== undefined && si.code !== undefined && si.code <= 0 ? `, sent by pid ${si.pid}` : ''}`
      : 'none (not killed by a signal: a live capture)';
    const rows = [
      ['core', `${path} (${size(data.fileSize)}, ${data.format} ${data.arch}, ${data.producer})`],
      ['executable', data.executable ?? 'unknown'],
      [
        'command',
        `${data.command || '(unknown)'}${!p.args && p.psargs.length >= 79 ? ' … (cut at 80 bytes by the core format)' : ''}`,
      ],
      ['process', `pid ${p.pid}  ppid ${p.ppid}  uid ${p.uid}  gid ${p.gid}  state ${p.sname}`],
      ['signal', sig],
      ['threads', String(data.threads)],
      [
        'mappings',
        `${data.mappings}: ${size(totals.inCore)} in core, ${size(totals.fromFiles)} from mapped files, ${size(totals.notInCore)} not in core${totals.unavailable ? `, ${size(totals.unavailable)} unavailable (file missing or changed)` : ''}`,
      ],
      [
        'files',
        `${files.length} mapped: ${data.mappedFiles.used} used for missing pages, ${data.mappedFiles.missing.length} missing, ${data.mappedFiles.buildIdMismatch.length} build-id mismatch`,
      ],
    ];
    if (totals.truncated)
      rows.push(['truncated', `${size(totals.truncated)} of segment data lies past the end of the file`]);
    for (const f of data.mappedFiles.missing)
      rows.push(['missing', `${f} (use --root DIR to look for mapped files elsewhere)`]);
    rows.push(['problems', data.problems.length ? data.problems.join('; ') : 'none']);
    out(table(rows));
  });
}

export function threads(path: string, opts: InspectOptions): void {
  withCore(path, opts, (core) => {
    const { image } = core;
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

function perms(m: Mapping): string {
  return `${m.read ? 'r' : '-'}${m.write ? 'w' : '-'}${m.exec ? 'x' : '-'}${m.shared ? 's' : 'p'}`;
}

export function maps(path: string, opts: InspectOptions): void {
  withCore(path, opts, (core) => {
    const status = new Map(core.fileStatus.map((f) => [f.path, f]));
    const list = core.image.mappings.map((m) => {
      const len = m.end - m.start;
      const inCore = m.dumped >= len ? 'all' : m.dumped === 0n ? 'none' : 'partial';
      const st = m.path ? status.get(m.path) : undefined;
      const rest = m.dumped >= len ? null : st ? (st.status === 'used' ? 'file' : st.status) : 'absent';
      return {
        start: m.start,
        end: m.end,
        perms: perms(m),
        offset: m.offset,
        size: len,
        inCore: m.dumped,
        coverage: inCore,
        rest,
        path: m.path ?? null,
        buildId: m.buildId ?? null,
      };
    });
    if (opts.json) return out(toJson({ mappings: list }));
    const w = core.image.arch.elfClass === 64 ? 12 : 8;
    const rows = [['RANGE', 'PERM', 'OFFSET', 'SIZE', 'IN CORE', 'REST', 'FILE']];
    for (const m of list) {
      rows.push([
        `${m.start.toString(16).padStart(w, '0')}-${m.end.toString(16).padStart(w, '0')}`,
        m.perms,
        m.offset.toString(16).padStart(8, '0'),
        size(m.size),
        m.coverage === 'partial' ? size(m.inCore) : m.coverage,
        m.rest ?? '-',
        `${m.path ?? ''}${m.buildId ? `  [build-id ${m.buildId}]` : ''}`,
      ]);
    }
    out(table(rows));
  });
}

export function notes(path: string, opts: InspectOptions): void {
  withCore(path, opts, (core) => {
    const described = core.notes.map((n) => describeNote(core.image.arch, core.elf.layout, n));
    const buildIds = core.fileStatus
      .filter((f) => f.coreBuildId)
      .map((f) => ({ path: f.path, buildId: f.coreBuildId }));
    if (opts.json) return out(toJson({ notes: described, buildIds }));
    const blocks = described.map((d) => {
      const head = `${d.owner} ${d.typeName} (${d.size} bytes at ${hex(d.offset)})`;
      return d.decoded === undefined ? head : `${head}\n${pretty(d.decoded, '    ')}`;
    });
    if (buildIds.length)
      blocks.push(
        `build-ids of mapped ELF files (from their first pages):\n${buildIds.map((b) => `    ${b.buildId}  ${b.path}`).join('\n')}`,
      );
    out(blocks.join('\n'));
  });
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
  for (const m of more) {
    const last = all[all.length - 1];
    if (last && last.end === m.start && last.reason === m.reason) last.end = m.end;
    else all.push({ ...m });
  }
}

/** Hexdump lines of `data` read at `at`; missing bytes are shown as ??. */
function dumpLines(at: bigint, data: Buffer, missing: readonly MissingRange[]): string {
  const gone = new Uint8Array(data.length);
  for (const m of missing) gone.fill(1, Number(m.start - at), Number(m.end - at));
  let text = '';
  for (let off = 0; off < data.length; off += 16) {
    const bytes: string[] = [];
    let ascii = '';
    for (let i = off; i < Math.min(off + 16, data.length); i++) {
      const b = data[i]!;
      bytes.push(gone[i] ? '??' : b.toString(16).padStart(2, '0'));
      ascii += gone[i] ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    text += `${hex(at + BigInt(off), 12)}  ${bytes.join(' ').padEnd(47)}  |${ascii}|\n`;
  }
  return text;
}

/**
 * Hexdump, JSON or raw bytes of [address, address + length), read and written a chunk at a time.
 * `--raw` writes nothing unless every byte is available (or --zero-fill is given).
 */
export async function read(
  path: string,
  address: bigint,
  length: bigint,
  opts: InspectOptions & { raw?: boolean; zeroFill?: boolean },
): Promise<void> {
  if (length <= 0n || length > MAX_READ)
    throw new UserError(`LENGTH must be between 1 and ${MAX_READ} bytes`);
  if (address + length > 1n << 64n)
    throw new UserError('ADDRESS + LENGTH runs past the end of the 64-bit address space');
  // A reader that goes away (`| head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`coreshot: writing the output: ${describeError(err)}\n`);
    process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 1);
  });
  const core = openCore(path, { root: opts.root });
  try {
    const memory = core.image.memory;
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
    core.close();
  }
}
