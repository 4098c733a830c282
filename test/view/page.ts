// Test harness for `coreshot view`: starts the built CLI's server as a child (the URL is the first
// line on stdout), drives Debian's chromium headless through playwright-core (no browser
// download: /usr/bin/chromium, installed by .ci/run), saves screenshots under test-artifacts/view/.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CLI, ROOT, tempDir } from '../helpers/proc.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts/view');

export interface ViewServer {
  url: string;
  origin: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** SIGTERM; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `coreshot view TARGET --no-open` and waits for its URL. */
export async function startView(args: string[]): Promise<ViewServer> {
  const child = spawn(process.execPath, [CLI, 'view', ...args, '--no-open'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DISPLAY: '', WAYLAND_DISPLAY: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then((code) => {
      throw new Error(`coreshot view exited ${code}: ${stderr}`);
    }),
  ]);
  const url = new URL(first);
  assert.equal(url.hostname, '127.0.0.1');
  return {
    url: first,
    origin: url.origin,
    port: Number(url.port),
    token: url.searchParams.get('token')!,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A headless chromium with a fresh profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = tempDir('coreshot-chromium-');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      profile.cleanup();
    },
  };
}

/** Opens the page (token URL), waits until the overview is drawn. */
export async function openPage(context: BrowserContext, server: ViewServer): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="1"] .overview-table');
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

/** The console and script errors the page had so far (a CSP violation shows up here). */
export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

/** Goes to a view (`#hex/ADDR/LEN`, `#map`, ...) and waits for `selector`. */
export async function show(page: Page, hash: string, selector: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await page.waitForSelector(selector);
}

/** The hex view's bytes from `address` on (row-aligned reading), once no page is pending. */
export async function hexBytes(page: Page, address: bigint, length: number): Promise<string> {
  await show(page, `#hex/0x${address.toString(16)}/${length}`, '#hex-rows[data-pending="0"] .hex-row');
  // A string (not a function): the test's TypeScript has no DOM types.
  return page.evaluate(`(() => {
    const at = BigInt(${JSON.stringify(`0x${address.toString(16)}`)});
    const out = [];
    for (const row of document.querySelectorAll('#hex-rows .hex-row[data-addr]')) {
      const base = BigInt(row.dataset.addr);
      row.querySelectorAll('.b').forEach((b, i) => {
        const a = base + BigInt(i);
        if (a >= at && a < at + ${length}n) out.push(b.textContent);
      });
    }
    return out.join('');
  })()`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** A raw GET with chosen headers: status and headers. */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
