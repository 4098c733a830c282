/**
 * debuginfod client: downloads the separate debug files of modules that have none on this
 * machine, by build-id (GET URL/buildid/ID/debuginfo, for each server in DEBUGINFOD_URLS in turn),
 * into the modules' debuginfod cache (debuginfod-cache.ts) where findDebugFile() then finds them. A download is
 * streamed to a temporary file in the cache, checked (its build-id must be the module's), and only
 * then given its name. DEBUGINFOD_TIMEOUT (seconds, default 90) bounds each request and
 * DEBUGINFOD_MAXSIZE (bytes) the size accepted, like elfutils' client.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readBuildId } from '../../elf/build-id.js';
import { FileAccess } from '../../io/random-access.js';
import type { Module, ModuleSet } from '../modules.js';
import { moduleDwarf } from './dwarf/for-module.js';

export interface DebuginfodOptions {
  /** Server base URLs; default: DEBUGINFOD_URLS split at spaces. */
  urls?: readonly string[];
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** What became of one module's download. */
export interface DebuginfodResult {
  module: string;
  buildId: string;
  /** The cached file, when one was fetched. */
  path?: string;
  /** Why none was (every server's answer). */
  reason?: string;
}

/** Downloads are refused past this size unless DEBUGINFOD_MAXSIZE says otherwise. */
const DEFAULT_MAX = 4n << 30n;

/**
 * Fetches debug files for the modules with a build-id and no DWARF, concurrently. Resolves when
 * all are done; never rejects for a failed download (its result says why).
 */
export async function fetchDebuginfo(
  modules: ModuleSet,
  opts: DebuginfodOptions = {},
): Promise<DebuginfodResult[]> {
  const env = opts.env ?? process.env;
  const urls = opts.urls ?? (env.DEBUGINFOD_URLS ?? '').split(/\s+/).filter((u) => u !== '');
  if (urls.length === 0) return [];
  const wanted = modules.list.filter(
    (m): m is Module & { buildId: string } =>
      m.buildId !== undefined && /^[0-9a-f]+$/.test(m.buildId) && typeof moduleDwarf(m) === 'string',
  );
  return Promise.all(
    wanted.map(async (m) => {
      const result = await fetchOne(
        join(modules.debuginfodCache, m.buildId),
        m.buildId,
        urls,
        env,
        opts.signal,
      );
      if (result.path) m.retryDebug();
      return { module: m.path, ...result };
    }),
  );
}

async function fetchOne(
  dir: string,
  buildId: string,
  urls: readonly string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<Omit<DebuginfodResult, 'module'>> {
  const timeout = Number(env.DEBUGINFOD_TIMEOUT ?? 90) * 1000;
  const max = env.DEBUGINFOD_MAXSIZE ? BigInt(env.DEBUGINFOD_MAXSIZE) : DEFAULT_MAX;
  const target = join(dir, 'debuginfo');
  const answers: string[] = [];
  for (const base of urls) {
    const url = `${base.replace(/\/+$/, '')}/buildid/${buildId}/debuginfo`;
    const signals = [AbortSignal.timeout(timeout), ...(signal ? [signal] : [])];
    try {
      const res = await fetch(url, { signal: AbortSignal.any(signals) });
      if (!res.ok || !res.body) {
        answers.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const length = res.headers.get('content-length');
      if (length && BigInt(length) > max) {
        await res.body.cancel();
        answers.push(`${url}: ${length} bytes is more than the ${max} accepted`);
        continue;
      }
      mkdirSync(dir, { recursive: true });
      const temp = join(dir, `.debuginfo.${process.pid}.${Date.now()}`);
      try {
        await save(res.body, temp, max);
        const fa = new FileAccess(temp);
        const got = readBuildId((off, len) => fa.read(off, len));
        fa.close();
        if (got !== buildId) throw new Error(`the file has build-id ${got ?? 'none'}`);
        renameSync(temp, target);
        return { buildId, path: target };
      } finally {
        rmSync(temp, { force: true });
      }
    } catch (err) {
      answers.push(`${url}: ${(err as Error).message}`);
    }
  }
  return { buildId, reason: answers.join('; ') };
}

/** Streams a response body into a new file, failing past `max` bytes. */
async function save(body: ReadableStream<Uint8Array>, path: string, max: bigint): Promise<void> {
  const fd = openSync(path, 'wx', 0o600);
  try {
    let size = 0n;
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      size += BigInt(chunk.length);
      if (size > max) throw new Error(`more than the ${max} bytes accepted`);
      for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
    }
  } finally {
    closeSync(fd);
  }
}
