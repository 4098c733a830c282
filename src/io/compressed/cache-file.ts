// The scratch file that decompressed bytes of a streamed input are written to, so random reads
// stay within bounded RAM. It has no name while it is used (O_TMPFILE, or created and unlinked at
// once), so closing it, exiting or being killed all remove it.
import { constants, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const O_TMPFILE = 0o20200000;

/** `$XDG_CACHE_HOME/coreshot`, or `~/.cache/coreshot`. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'coreshot');
}

/** Opens a new nameless read-write file (mode 0600) in the cache directory (made 0700). */
export function openCacheFile(): number {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    return openSync(dir, constants.O_RDWR | O_TMPFILE, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL') throw err;
  }
  const path = join(dir, `.decompressed-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  unlinkSync(path);
  return fd;
}
