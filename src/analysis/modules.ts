/**
 * The ELF modules loaded in a process image, and where a pc falls among them.
 *
 *   loadModules(image, { root?, exe?, debugDirs?, debuginfodCache? }): ModuleSet
 *   ModuleSet.list: Module[]                      sorted by start address
 *   ModuleSet.find(pc): Module | undefined        binary search over every module's ranges
 *   ModuleSet.debuginfodCache                     where symbols/debuginfod.ts downloads go
 *   ModuleSet.close()                             closes the files opened for the modules
 *   Module {
 *     path                 as the image records it ('[vdso]' for the vdso)
 *     hostPath?            the file read on this machine (absent when read from the image)
 *     buildId?             hex, from the image (the file's first page) or else the file
 *     bias                 runtime address = link-time address + bias
 *     ranges               [start, end) of each of its mappings, sorted
 *     start, end           lowest start and highest end of the ranges
 *     elf?                 the file on disk (build-id checked), or the ELF read from memory
 *     fromMemory           elf was read from the image (vdso, missing or mismatched file)
 *     debug?               the separate debug file (lazy: .build-id dirs, debuginfod cache, debuglink)
 *     retryDebug()         forget that none was found (symbols/debuginfod.ts downloads one)
 *     reason?              why the file on disk was not used, or why there is no elf at all
 *     section(name)        contents: main file first, then the debug file; decompressed;
 *                          '.eh_frame_hdr' without section headers is PT_GNU_EH_FRAME;
 *                          undefined when absent or unreadable
 *     sectionAddress(name) link-time address of the same section
 *     loadedBytes(addr, n) up to n bytes of the main file at a link-time address (via PT_LOAD)
 *     runtime(addr)        addr + bias
 *     sectionProblem(name) why section(name) failed (corrupt, zstd), if it did
 *   }
 * The file for a mapping is looked up under `root`; `exe` replaces the executable (the module
 * holding AT_ENTRY) when its recorded file is absent, and is placed at AT_ENTRY when the image
 * names no file there (QEMU user-mode cores). A file whose build-id differs from the
 * image's is refused with a reason, and the module falls back to the ELF in memory.
 */
import { readBuildId } from '../elf/build-id.js';
import { PT_GNU_EH_FRAME, PT_LOAD } from '../elf/constants.js';
import { ElfFile } from '../elf/reader.js';
import { findSection, sectionData } from '../elf/sections.js';
import { refusalText, resolveMappedFile } from '../host/resolve.js';
import { FileAccess, type RandomAccess } from '../io/random-access.js';
import type { Mapping, ProcessImage } from '../model/process-image.js';
import { type FilePiece, ImageFileAccess } from './image-file.js';
import { type DebugSearch, findDebugFile } from './symbols/debug-files.js';
import { debuginfodCacheDir } from './symbols/debuginfod-cache.js';

/** AT_ENTRY and AT_SYSINFO_EHDR (src/elf/constants.ts AT_NAMES). */
const AT_ENTRY = 9n;
const AT_SYSINFO_EHDR = 33n;

export interface ModuleOptions extends DebugSearch {
  /** The executable to use when the recorded one is not found (eu-stack -e, gdb's first argument). */
  exe?: string;
}

export interface Range {
  start: bigint;
  end: bigint;
}

export class Module {
  readonly path: string;
  readonly hostPath?: string;
  readonly buildId?: string;
  readonly bias: bigint;
  readonly ranges: readonly Range[];
  readonly elf?: ElfFile;
  readonly fromMemory: boolean;
  readonly reason?: string;
  private readonly search: DebugSearch;
  private debugFile?: { elf?: ElfFile; path?: string };
  private readonly problems = new Map<string, string>();
  private readonly sections = new Map<string, { data?: Buffer; addr?: bigint }>();

  constructor(init: {
    path: string;
    hostPath?: string;
    buildId?: string;
    bias: bigint;
    ranges: Range[];
    elf?: ElfFile;
    fromMemory: boolean;
    reason?: string;
    search: DebugSearch;
  }) {
    this.path = init.path;
    if (init.hostPath !== undefined) this.hostPath = init.hostPath;
    if (init.buildId !== undefined) this.buildId = init.buildId;
    this.bias = init.bias;
    this.ranges = init.ranges;
    if (init.elf) this.elf = init.elf;
    this.fromMemory = init.fromMemory;
    if (init.reason !== undefined) this.reason = init.reason;
    this.search = init.search;
  }

  get start(): bigint {
    return this.ranges[0]!.start;
  }

  get end(): bigint {
    return this.ranges[this.ranges.length - 1]!.end;
  }

  /** The separate debug file, looked up on first use. */
  get debug(): ElfFile | undefined {
    if (!this.debugFile) {
      const found = findDebugFile(this.search, this.path, this.buildId, this.elf);
      this.debugFile = found ? { elf: found.elf, path: found.path } : {};
    }
    return this.debugFile.elf;
  }

  /** Looks for the debug file again on next use, if none was found (after a debuginfod download). */
  retryDebug(): void {
    if (this.debugFile && !this.debugFile.elf) {
      this.debugFile = undefined;
      this.sections.clear();
    }
  }

  /** Where the debug file was found, once `debug` has been asked for. */
  get debugPath(): string | undefined {
    return this.debug ? this.debugFile?.path : undefined;
  }

  section(name: string): Buffer | undefined {
    return this.lookup(name).data;
  }

  sectionAddress(name: string): bigint | undefined {
    return this.lookup(name).addr;
  }

  sectionProblem(name: string): string | undefined {
    this.lookup(name);
    return this.problems.get(name);
  }

  /** Runtime address of a link-time one. */
  runtime(linkAddress: bigint): bigint {
    return linkAddress + this.bias;
  }

  close(): void {
    this.elf?.ra.close();
    this.debugFile?.elf?.ra.close();
  }

  private lookup(name: string): { data?: Buffer; addr?: bigint } {
    let hit = this.sections.get(name);
    if (!hit) {
      hit = this.read(name);
      this.sections.set(name, hit);
    }
    return hit;
  }

  private read(name: string): { data?: Buffer; addr?: bigint } {
    // The main file's section headers first: .eh_frame lives there; then the debug file's.
    for (const elf of [this.elf, undefined]) {
      const file = elf ?? this.debug;
      if (!file) continue;
      try {
        const s = findSection(file, name);
        const data = s && sectionData(file, s);
        if (s && data) return { data, addr: s.sh_addr };
      } catch (err) {
        this.problems.set(name, (err as Error).message);
      }
    }
    if (this.elf && name === '.eh_frame_hdr') return this.ehFrameHdr(this.elf);
    return {};
  }

  /** .eh_frame_hdr without section headers: the PT_GNU_EH_FRAME segment. */
  private ehFrameHdr(elf: ElfFile): { data?: Buffer; addr?: bigint } {
    const hdr = elf.programHeaders.find((p) => p.p_type === PT_GNU_EH_FRAME);
    if (!hdr) return {};
    const { data } = elf.readRange(hdr.p_offset, hdr.p_filesz);
    return data.length ? { data, addr: hdr.p_vaddr } : {};
  }

  /**
   * Up to `size` bytes of the main file at a link-time address, through the PT_LOAD holding it,
   * stopping at the end of that segment's file bytes (or where the image lacks them): how the
   * unwinder reads .eh_frame from eh_frame_hdr's eh_frame_ptr when there are no section headers.
   */
  loadedBytes(linkAddress: bigint, size: number): Buffer | undefined {
    const elf = this.elf;
    const load = elf?.programHeaders.find(
      (p) => p.p_type === PT_LOAD && linkAddress >= p.p_vaddr && linkAddress < p.p_vaddr + p.p_filesz,
    );
    if (!elf || !load) return undefined;
    const avail = load.p_vaddr + load.p_filesz - linkAddress;
    const n = avail < BigInt(size) ? avail : BigInt(size);
    const { data } = elf.readRange(load.p_offset + (linkAddress - load.p_vaddr), n);
    return data.length ? data : undefined;
  }
}

export class ModuleSet {
  /** Sorted by start address. */
  readonly list: readonly Module[];
  /** Where debuginfod downloads are kept and looked for. */
  readonly debuginfodCache: string;
  /** (range, module) sorted by range start, for find(). */
  private readonly index: { start: bigint; end: bigint; module: Module }[];

  constructor(modules: Module[], debuginfodCache: string) {
    this.debuginfodCache = debuginfodCache;
    this.list = [...modules].sort((a, b) => cmp(a.start, b.start));
    this.index = this.list
      .flatMap((m) => m.ranges.map((r) => ({ start: r.start, end: r.end, module: m })))
      .sort((a, b) => cmp(a.start, b.start));
  }

  find(pc: bigint): Module | undefined {
    let lo = 0;
    let hi = this.index.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.index[mid]!.end <= pc) lo = mid + 1;
      else hi = mid;
    }
    const hit = this.index[lo];
    return hit && hit.start <= pc ? hit.module : undefined;
  }

  close(): void {
    for (const m of this.list) m.close();
  }
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** Builds the module list of an image. Never throws for bad files: a module then has a reason. */
export function loadModules(image: ProcessImage, options: ModuleOptions = {}): ModuleSet {
  const opts = { ...options, debuginfodCache: options.debuginfodCache ?? debuginfodCacheDir() };
  const root = opts.root ?? '/';
  const entry = image.auxv.find((a) => a.type === AT_ENTRY)?.value;
  const modules: Module[] = [];
  for (const group of fileGroups(image.mappings)) {
    const isExe = entry !== undefined && group.some((m) => entry >= m.start && entry < m.end);
    modules.push(fileModule(image, group, opts, root, isExe));
  }
  const named =
    entry !== undefined && modules.some((m) => m.ranges.some((r) => entry >= r.start && entry < r.end));
  if (!named && opts.exe && entry !== undefined) {
    const exe = unnamedExecutable(image, opts.exe, entry, opts);
    if (exe) modules.push(exe);
  }
  const vdso = vdsoModule(image, opts);
  if (vdso) modules.push(vdso);
  return new ModuleSet(modules, opts.debuginfodCache);
}

/**
 * Mappings of one file, in address order (RELRO splits can map one page twice). A mapping at
 * offset 0 or below the last one's offset starts another module of the same file.
 */
function fileGroups(mappings: readonly Mapping[]): Mapping[][] {
  const open = new Map<string, Mapping[]>();
  const out: Mapping[][] = [];
  for (const m of mappings) {
    if (!m.path || m.path.startsWith('[')) continue;
    const cur = open.get(m.path);
    if (cur && m.offset !== 0n && cur[cur.length - 1]!.offset <= m.offset) {
      cur.push(m);
      continue;
    }
    const group = [m];
    open.set(m.path, group);
    out.push(group);
  }
  return out;
}

function fileModule(
  image: ProcessImage,
  maps: Mapping[],
  opts: ModuleOptions,
  root: string,
  isExe: boolean,
): Module {
  const path = maps[0]!.path!;
  const imageBuildId = maps.find((m) => m.buildId)?.buildId;
  const ranges = maps.map((m) => ({ start: m.start, end: m.end }));
  const identity = imageBuildId ? { buildId: imageBuildId } : {};
  let found = resolveMappedFile(path, identity, { root });
  // `exe` stands in for an executable that is not where the image says.
  if (!found.ok && found.reason === 'missing' && isExe && opts.exe)
    found = resolveMappedFile(opts.exe, identity);
  let hostPath: string | undefined;
  let reason: string | undefined;
  let elf: ElfFile | undefined;
  if (found.ok) {
    hostPath = found.hostPath;
    try {
      elf = ElfFile.open(found.file);
    } catch (err) {
      reason = `${hostPath}: ${(err as Error).message}`;
      found.file.close();
    }
  } else {
    reason = refusalText(found);
  }
  const fromMemory = !elf;
  if (!elf) {
    hostPath = undefined;
    elf = openImageElf(
      image,
      maps.map((m) => ({ offset: m.offset, start: m.start, end: m.end })),
    );
  }
  const buildId = imageBuildId ?? (elf && !fromMemory ? readBuildId((o, l) => elf.ra.read(o, l)) : undefined);
  const bias = elf ? biasOf(elf, maps) : maps[0]!.start - maps[0]!.offset;
  if (elf) withBss(ranges, elf, bias);
  const init = {
    path,
    bias,
    ranges,
    fromMemory,
    search: opts,
    ...(hostPath !== undefined && { hostPath }),
    ...(buildId !== undefined && { buildId }),
    ...(elf && { elf }),
    ...(reason !== undefined && { reason }),
  };
  return new Module(init);
}

/**
 * `exe` for an image that names no file at AT_ENTRY (QEMU user-mode cores have no NT_FILE): its
 * PT_LOAD segments placed by the bias AT_ENTRY gives, checked against the build-id in memory.
 */
function unnamedExecutable(
  image: ProcessImage,
  path: string,
  entry: bigint,
  opts: ModuleOptions,
): Module | undefined {
  let fa: FileAccess | undefined;
  try {
    fa = new FileAccess(path);
    const elf = ElfFile.open(fa);
    const bias = entry - elf.header.e_entry;
    const loads = elf.programHeaders.filter((p) => p.p_type === PT_LOAD);
    const first = loads[0];
    if (!first) throw new Error('no PT_LOAD segments');
    const base = bias + first.p_vaddr - first.p_offset;
    const imageBuildId = readBuildId((off, len) => {
      const r = image.memory.read(base + off, len);
      return r.missing.length ? undefined : r.data;
    });
    const access = fa;
    const fileBuildId = readBuildId((off, len) => access.read(off, len));
    if (imageBuildId && fileBuildId !== imageBuildId)
      throw new Error(`build-id ${fileBuildId ?? 'none'} does not match the image's ${imageBuildId}`);
    const buildId = imageBuildId ?? fileBuildId;
    return new Module({
      path,
      hostPath: path,
      bias,
      ranges: loads.map((p) => ({ start: p.p_vaddr + bias, end: p.p_vaddr + p.p_memsz + bias })),
      elf,
      fromMemory: false,
      search: opts,
      ...(buildId !== undefined && { buildId }),
    });
  } catch {
    fa?.close();
    return undefined;
  }
}

/** The vdso: the ELF at AT_SYSINFO_EHDR, mapped whole by the kernel. */
function vdsoModule(image: ProcessImage, opts: ModuleOptions): Module | undefined {
  const at = image.auxv.find((a) => a.type === AT_SYSINFO_EHDR)?.value;
  if (!at) return undefined;
  const map = image.mappings.find((m) => at >= m.start && at < m.end);
  if (!map) return undefined;
  const elf = openImageElf(image, [{ offset: 0n, start: at, end: map.end }]);
  const buildId = elf ? readBuildId((o, l) => elf.ra.read(o, l)) : undefined;
  return new Module({
    path: '[vdso]',
    bias: elf ? biasOf(elf, [{ ...map, start: at, offset: 0n }]) : at,
    ranges: [{ start: at, end: map.end }],
    fromMemory: true,
    search: opts,
    ...(buildId !== undefined && { buildId }),
    ...(elf ? {} : { reason: 'the vdso is not in the image' }),
    ...(elf && { elf }),
  });
}

/** .bss past the file's last page is an anonymous mapping: the module extends to its segments' end. */
function withBss(ranges: Range[], elf: ElfFile, bias: bigint): void {
  let end = 0n;
  for (const p of elf.programHeaders)
    if (p.p_type === PT_LOAD && p.p_vaddr + p.p_memsz > end) end = p.p_vaddr + p.p_memsz;
  const last = ranges[ranges.length - 1]!;
  if (end + bias > last.end) ranges.push({ start: last.end, end: end + bias });
}

function openImageElf(image: ProcessImage, pieces: FilePiece[]): ElfFile | undefined {
  const ra: RandomAccess = new ImageFileAccess(image.memory, pieces);
  try {
    return ElfFile.open(ra);
  } catch {
    return undefined;
  }
}

/**
 * The load bias: a mapping at file offset `off` holds the PT_LOAD whose page-aligned offset is
 * `off`; its p_vaddr at that offset is link-time, the mapping's start is runtime.
 */
function biasOf(elf: ElfFile, maps: readonly Pick<Mapping, 'start' | 'offset'>[]): bigint {
  const loads = elf.programHeaders.filter((p) => p.p_type === PT_LOAD);
  for (const m of maps) {
    for (const p of loads) {
      const align = p.p_align > 1n ? p.p_align : 1n;
      const pageOffset = p.p_offset - (p.p_offset % (align < 4096n ? align : 4096n));
      if (pageOffset !== m.offset && p.p_offset - (p.p_offset % align) !== m.offset) continue;
      return m.start - (p.p_vaddr - (p.p_offset - m.offset));
    }
  }
  const first = maps[0]!;
  const low = loads[0];
  return low ? first.start - (low.p_vaddr - (low.p_offset - first.offset)) : first.start - first.offset;
}
