// `coreshot view TARGET`: opens the target, serves the page on 127.0.0.1, prints its URL (with the
// access token) as the first line on stdout, opens a browser when there is a display, and serves
// until SIGINT or SIGTERM, then closes everything and exits 0.

import { spawn } from 'node:child_process';
import { abortOnSignals } from '../errors.js';
import { startServer } from './server.js';
import { openTarget, type ViewOptions } from './target.js';

export interface ViewCommandOptions extends ViewOptions {
  port: number;
  open: boolean;
}

/** xdg-open, detached; a missing opener or browser is not an error (the URL is printed). */
function openBrowser(url: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no opener: the printed URL is enough
  }
}

export async function view(path: string, opts: ViewCommandOptions): Promise<void> {
  const target = await openTarget(path, opts);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(target, opts.port);
  } catch (err) {
    target.close();
    throw err;
  }
  process.stdout.write(`${server.url}\n`);
  process.stderr.write('coreshot view: serving on 127.0.0.1 until interrupted (Ctrl-C)\n');
  if (opts.open) openBrowser(server.url);
  // SIGINT/SIGTERM (cli/errors.ts) end the serving, not the process: it closes and exits 0.
  const interrupted = abortOnSignals();
  await new Promise<void>((resolve) =>
    interrupted.addEventListener('abort', () => resolve(), { once: true }),
  );
  await server.close();
  target.close();
}
