/**
 * Finds, on this machine, a file an image names (NT_FILE, CRIU's files.img, a QEMU core's
 * executable): under a root like a debugger's sysroot, by its path or an alias of it, and only
 * when it is the same file the image saw (build-id, size). The one place every source and
 * everything that reads mapped files later (stack, restore) look files up.
 */
import { basename, dirname, join, posix } from 'node:path';
import { readBuildId } from '../elf/build-id.js';
import { FileAccess } from '../io/random-access.js';

/** What an image says about a file: checked against what is found. */
export interface FileIdentity {
  /** GNU build-id, hex. */
  buildId?: string;
  size?: bigint;
}

export interface ResolveOptions {
  /** Directory the image's paths are looked up under (default: this machine's /). */
  root?: string;
}

/** Why no file was returned. */
export type Refusal = 'missing' | 'build-id-mismatch' | 'size-mismatch' | 'not-a-regular-file';

export interface FoundFile {
  ok: true;
  file: FileAccess;
  /** The path as found under the root (the image's own, or an alias of it). */
  path: string;
  /** Where it was found on this machine. */
  hostPath: string;
  /** Build-id and size of the file found. */
  found: FileIdentity;
}

export interface RefusedFile {
  ok: false;
  reason: Refusal;
  /** The file refused, or where the image's path was looked for when nothing was there. */
  hostPath: string;
  expected: FileIdentity;
  /** Build-id and size of the file refused (empty when missing or not a regular file). */
  found: FileIdentity;
}

export type Resolution = FoundFile | RefusedFile;

/** Top-level directories that merged-/usr systems alias into /usr (/lib → /usr/lib). */
const USR_MERGED = /^\/(bin|sbin|lib|lib32|lib64|libx32)\//;
/** Directories the dynamic loader finds libraries in, when the image names another spelling. */
const LIBRARY_DIRS = ['/lib64', '/lib', '/usr/lib64', '/usr/lib'];

/**
 * Where an image's path may be found, in order. The kernel names files by their canonical path
 * (/usr/lib/x86_64-linux-gnu/...), while a root copied by the paths the dynamic loader used may
 * hold them under an alias: the merged-/usr spelling is the same file on a merged system; the
 * library directories and the soname link (libz.so.1 for libz.so.1.2.13) may hold another file
 * of that name, so they are taken only when the image gives an identity to check.
 */
function candidates(path: string): { path: string; needsIdentity: boolean }[] {
  const out = [{ path, needsIdentity: false }];
  let merged = path;
  if (path.startsWith('/usr/') && USR_MERGED.test(path.slice(4))) merged = path.slice(4);
  else if (USR_MERGED.test(path)) merged = `/usr${path}`;
  if (merged !== path) out.push({ path: merged, needsIdentity: false });
  if (/\/lib[^/]*\//.test(path)) {
    const base = basename(path);
    const soname = /^(.+\.so\.\d+)(\.\d+)+$/.exec(base)?.[1];
    for (const dir of [...LIBRARY_DIRS, dirname(merged), dirname(path)]) {
      out.push({ path: join(dir, base), needsIdentity: true });
      if (soname) out.push({ path: join(dir, soname), needsIdentity: true });
    }
  }
  const seen = new Set<string>();
  return out.filter((c) => !seen.has(c.path) && seen.add(c.path));
}

/** The host path of an image's path under a root; `..` cannot climb out of the root. */
export function underRoot(path: string, root: string | undefined): string {
  return root ? join(root, posix.resolve('/', path)) : path;
}

/**
 * Finds the file an image names. Returns it open (the caller closes it), or why not: the
 * refusal of the image's own path when something is there, else of the first alias found.
 */
export function resolveMappedFile(
  path: string,
  expected: FileIdentity,
  options: ResolveOptions = {},
): Resolution {
  const identified = expected.buildId !== undefined || expected.size !== undefined;
  let refused: RefusedFile | undefined;
  for (const c of candidates(path)) {
    if (c.needsIdentity && !identified) continue;
    const hostPath = underRoot(c.path, options.root);
    let file: FileAccess | undefined;
    try {
      file = FileAccess.openRegular(hostPath);
    } catch {
      continue;
    }
    if (!file) {
      refused ??= { ok: false, reason: 'not-a-regular-file', hostPath, expected, found: {} };
      continue;
    }
    const buildId = readBuildId((off, len) => file.read(off, len));
    const found: FileIdentity = { size: file.size, ...(buildId ? { buildId } : {}) };
    const reason: Refusal | undefined =
      expected.buildId !== undefined && buildId !== expected.buildId
        ? 'build-id-mismatch'
        : expected.size !== undefined && file.size !== expected.size
          ? 'size-mismatch'
          : undefined;
    if (!reason) return { ok: true, file, path: c.path, hostPath, found };
    file.close();
    refused ??= { ok: false, reason, hostPath, expected, found };
  }
  return (
    refused ?? { ok: false, reason: 'missing', hostPath: underRoot(path, options.root), expected, found: {} }
  );
}

/** A refusal in words, naming the file: for messages and the reasons modules carry. */
export function refusalText(r: RefusedFile): string {
  switch (r.reason) {
    case 'missing':
      return `${r.hostPath}: not found`;
    case 'not-a-regular-file':
      return `${r.hostPath}: not a regular file`;
    case 'build-id-mismatch':
      return `${r.hostPath}: build-id ${r.found.buildId ?? 'none'} does not match the image's ${r.expected.buildId}`;
    case 'size-mismatch':
      return `${r.hostPath}: ${r.found.size} bytes, the image's file had ${r.expected.size}`;
  }
}
