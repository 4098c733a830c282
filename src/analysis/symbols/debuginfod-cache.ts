/**
 * Where debuginfod downloads live: $DEBUGINFOD_CACHE_PATH, else $XDG_CACHE_HOME/debuginfod_client,
 * else ~/.cache/debuginfod_client: the same place and layout (BUILDID/debuginfo) as elfutils'
 * client, so files either tool downloaded serve both.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function debuginfodCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEBUGINFOD_CACHE_PATH) return env.DEBUGINFOD_CACHE_PATH;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'debuginfod_client');
}
