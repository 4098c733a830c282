/**
 * Finding a module's separate debug file on this machine, the way gdb and elfutils do:
 * 1. by build-id: DIR/.build-id/xx/rest.debug for each --debug-dir, then ROOT/usr/lib/debug;
 * 2. in the debuginfod client cache (CACHE/BUILDID/debuginfo, the layout elfutils uses; debuginfod.ts
 *    fills it);
 * 3. by .gnu_debuglink: NAME next to the file, in its .debug/ folder, under each debug dir and
 *    ROOT/usr/lib/debug followed by the file's folder; the CRC32 it records must match.
 * A candidate whose build-id differs from the module's is skipped. Never throws.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { readBuildId } from '../../elf/build-id.js';
import { ElfFile } from '../../elf/reader.js';
import { findSection, sectionData } from '../../elf/sections.js';
import { FileAccess } from '../../io/random-access.js';
import { debuginfodCacheDir } from './debuginfod-cache.js';

export interface DebugSearch {
  /** Directory the image's paths are relative to (like gdb's sysroot); '/' by default. */
  root?: string;
  /** Extra debug directories searched before ROOT/usr/lib/debug. */
  debugDirs?: readonly string[];
  /** The debuginfod client cache; default debuginfodCacheDir(). */
  debuginfodCache?: string;
}

export interface FoundDebugFile {
  path: string;
  elf: ElfFile;
}

/** The separate debug file of the module whose file (or image) is `elf`, if one is found. */
export function findDebugFile(
  opts: DebugSearch,
  modulePath: string,
  buildId: string | undefined,
  elf: ElfFile | undefined,
): FoundDebugFile | undefined {
  const root = opts.root ?? '/';
  const dirs = [...(opts.debugDirs ?? []), join(root, 'usr/lib/debug')];
  if (buildId && buildId.length > 2) {
    const rel = join('.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
    const candidates = [
      ...dirs.map((d) => join(d, rel)),
      join(opts.debuginfodCache ?? debuginfodCacheDir(), buildId, 'debuginfo'),
    ];
    for (const c of candidates) {
      const found = openIfMatches(c, buildId);
      if (found) return found;
    }
  }
  const link = elf ? debugLink(elf) : undefined;
  if (!link) return undefined;
  const folder = dirname(modulePath);
  const hostFolder = join(root, folder);
  const candidates = [
    join(hostFolder, link.name),
    join(hostFolder, '.debug', link.name),
    ...dirs.map((d) => join(d, folder, link.name)),
  ];
  for (const c of candidates) {
    if (fileCrc(c) !== link.crc) continue;
    const found = openIfMatches(c, buildId);
    if (found) return found;
  }
  return undefined;
}

/** The .gnu_debuglink section: a file name, padding to 4 bytes, and the file's CRC32. */
export function debugLink(elf: ElfFile): { name: string; crc: number } | undefined {
  try {
    const s = findSection(elf, '.gnu_debuglink');
    const data = s && sectionData(elf, s);
    if (!data) return undefined;
    const end = data.indexOf(0);
    if (end <= 0) return undefined;
    const crcAt = Math.ceil((end + 1) / 4) * 4;
    if (crcAt + 4 > data.length) return undefined;
    const name = data.toString('utf8', 0, end);
    // A link names a file in a folder, never a path.
    if (name.includes('/')) return undefined;
    return { name, crc: elf.layout.codec.u32(data, crcAt) };
  } catch {
    return undefined;
  }
}

/** CRC32 of a regular file, read in 1 MiB pieces; undefined when it cannot be read. */
function fileCrc(path: string): number | undefined {
  let fd = -1;
  try {
    if (!statSync(path).isFile()) return undefined;
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    let crc = 0;
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return crc;
      crc = crc32(buf.subarray(0, n), crc);
      pos += n;
    }
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function openIfMatches(path: string, buildId: string | undefined): FoundDebugFile | undefined {
  let fa: FileAccess | undefined;
  try {
    if (!statSync(path).isFile()) return undefined;
    fa = new FileAccess(path);
    const access = fa;
    if (buildId && readBuildId((off, len) => access.read(off, len)) !== buildId) {
      fa.close();
      return undefined;
    }
    return { path, elf: ElfFile.open(fa) };
  } catch {
    fa?.close();
    return undefined;
  }
}
