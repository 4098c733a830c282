// `coreshot view` in a real browser (Debian's chromium, headless, through playwright-core) on a
// kernel core of a multi-threaded program: every view against the CLI's own answers (maps --json,
// threads --json, stack --json, read --json), a search for a planted marker, the security checks,
// and screenshots of each view under test-artifacts/view/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { requireTool } from '../helpers/cores.js';
import { coreshot, run } from '../helpers/proc.js';
import { type TargetCore, targetKernelCore } from '../reader/cores.js';
import {
  ARTIFACTS,
  CHROMIUM,
  hexBytes,
  launchBrowser,
  openPage,
  pageErrors,
  rawGet,
  screenshot,
  show,
  startView,
  type ViewServer,
} from './page.js';

function json<T>(args: string[]): T {
  const r = coreshot([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

function readHex(core: string, address: bigint, length: number): string {
  return json<{ hex: string }>(['read', core, `0x${address.toString(16)}`, String(length)]).hex;
}

/**
 * Waits until the page's location hash starts with `prefix`, asking from here: a predicate
 * polled inside the page would be evaluated from a string, which the page's CSP forbids.
 */
async function waitForHash(page: Page, prefix: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  const hashStarts = (p: string) =>
    (globalThis as unknown as { location: { hash: string } }).location.hash.startsWith(p);
  while (!(await page.evaluate(hashStarts, prefix))) {
    if (Date.now() > deadline) throw new Error(`the page never went to ${prefix}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('coreshot view on a kernel core', () => {
  let made: TargetCore;
  let server: ViewServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  before(async () => {
    requireTool(CHROMIUM);
    made = targetKernelCore();
    server = await startView([made.core]);
    browser = await launchBrowser();
    page = await openPage(browser.context, server);
    console.log(`screenshots in ${ARTIFACTS}`);
  });
  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0, 'coreshot view exits 0 on SIGTERM');
    made?.cleanup();
  });

  test('the overview names the executable', async () => {
    assert.equal(await page.textContent('#ov-executable'), made.exe);
    await screenshot(page, 'overview');
  });

  test('the map draws as many mappings as maps --json lists', async () => {
    const { mappings } = json<{ mappings: { start: string; end: string; path: string | null }[] }>([
      'maps',
      made.core,
    ]);
    await show(page, '#map', '.map-block');
    assert.equal(await page.locator('.map-block').count(), mappings.length);
    assert.equal((await page.locator('.map-block.kind-executable').count()) > 0, true);
    assert.equal(
      (await page.locator('.map-block.kind-stack').count()) >= 4,
      true,
      'main and 3 thread stacks',
    );
    // The heap (unnamed in a kernel core: the brk area after the executable) holds the malloc'd marker.
    const heap = Number(await page.getAttribute('.map-block.kind-heap', 'data-index'));
    const m = mappings[heap]!;
    assert.ok(BigInt(m.start) <= made.addrs.heap && made.addrs.heap < BigInt(m.end), 'the heap marker');
    await page.hover('.map-block.kind-heap');
    assert.match((await page.textContent('#map-details')) ?? '', /kindheap/);
    await page.click('.map-block.kind-executable');
    assert.match((await page.textContent('#map-details')) ?? '', new RegExp(made.exe));
    await screenshot(page, 'map');
  });

  test('every thread is listed with its top frame', async () => {
    const { threads } = json<{
      threads: { tid: number; frames: { pc: string; function: string | null }[] }[];
    }>(['stack', made.core]);
    assert.equal(threads.length, 4);
    await show(page, '#threads', '.thread');
    for (const t of threads) {
      const card = page.locator(`.thread[data-tid="${t.tid}"]`);
      assert.equal(await card.count(), 1, `thread ${t.tid}`);
      const top = (await card.locator('.frame').first().textContent()) ?? '';
      const want = t.frames[0]!;
      assert.ok(top.includes(want.pc), `${top} has ${want.pc}`);
      if (want.function) assert.ok(top.includes(want.function), `${top} names ${want.function}`);
    }
    await screenshot(page, 'threads');
  });

  test("the hex view's bytes at the stack pointer equal coreshot read", async () => {
    const { threads } = json<{ threads: { tid: number; registers: Record<string, string> }[] }>([
      'threads',
      made.core,
    ]);
    for (const t of threads) {
      const sp = BigInt(t.registers.rsp!);
      assert.equal(await hexBytes(page, sp, 64), readHex(made.core, sp, 64), `thread ${t.tid} at rsp`);
    }
    // Jumping by register name lands at the first thread's stack pointer.
    await page.fill('#hex-goto', '$rsp');
    await page.press('#hex-goto', 'Enter');
    const sp0 = BigInt(threads[0]!.registers.rsp!);
    await waitForHash(page, `#hex/0x${sp0.toString(16)}`);
    await screenshot(page, 'hex');
    // A symbol: main's address as nm gives it, moved by where the executable is loaded (PIE).
    const nm = run('nm', [made.exe]).stdout;
    const value = BigInt(`0x${/^([0-9a-f]+) T main$/m.exec(nm)![1]}`);
    const { mappings } = json<{ mappings: { start: string; offset: number; path: string | null }[] }>([
      'maps',
      made.core,
    ]);
    const base = BigInt(mappings.find((m) => m.path === made.exe && BigInt(m.offset) === 0n)!.start);
    await page.fill('#hex-goto', 'main');
    await page.press('#hex-goto', 'Enter');
    await waitForHash(page, `#hex/0x${(base + value).toString(16)}/`);
  });

  test('the hex view marks bytes the core does not hold, with the reason', async () => {
    await hexBytes(page, made.addrs.none, 16);
    const missing = page.locator('#hex-rows .b.m').first();
    assert.equal(await missing.textContent(), '??');
    assert.match((await missing.getAttribute('title')) ?? '', /not-in-core/);
  });

  test('a search finds the planted marker where coreshot read finds it', async () => {
    await show(page, '#search', '#search-text');
    await page.fill('#search-text', 'CORESHOT-DATA-MARKER');
    await page.selectOption('#search-enc', 'utf-8');
    await page.click('#search-go');
    await page.waitForSelector('#search-status[data-done="1"]');
    const hits = await page
      .locator('#search-hits .hit')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-addr')));
    const data = `0x${made.addrs.data.toString(16)}`;
    assert.ok(hits.includes(data), `${hits.join(', ')} includes ${data}`);
    assert.equal(
      Buffer.from(readHex(made.core, made.addrs.data, 20), 'hex').toString('latin1'),
      'CORESHOT-DATA-MARKER',
    );
    assert.match((await page.textContent('#search-status')) ?? '', /done/);
    await screenshot(page, 'search');
    await page.locator(`#search-hits .hit[data-addr="${data}"] a`).click();
    await page.waitForSelector('#hex-rows[data-pending="0"] .b.hl');
    assert.equal(await page.locator('#hex-rows .b.hl').first().textContent(), '43'); // 'C'
  });

  test('the notes view decodes every note notes --json lists', async () => {
    const { notes } = json<{ notes: unknown[] }>(['notes', made.core]);
    await show(page, '#notes', '.note');
    assert.equal(await page.locator('.note').count(), notes.length);
    assert.match((await page.locator('.note h3').first().textContent()) ?? '', /^CORE PRSTATUS/);
    await screenshot(page, 'notes');
    assert.deepEqual(pageErrors(page), [], 'no script errors or CSP violations');
  });

  test('requests without the token get 401, a foreign Host header is refused', async () => {
    const host = `127.0.0.1:${server.port}`;
    for (const path of ['/', '/app.js', '/api/overview', '/api/memory?addr=0&len=16'])
      assert.equal((await rawGet(server.port, path, { Host: host })).status, 401, path);
    assert.equal(
      (await rawGet(server.port, '/api/overview', { Host: host, 'X-Coreshot-Token': 'x'.repeat(48) })).status,
      401,
    );
    const ok = await rawGet(server.port, '/api/overview', {
      Host: `localhost:${server.port}`,
      'X-Coreshot-Token': server.token,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], undefined, 'no CORS');
    assert.match(String(ok.headers['content-security-policy']), /default-src 'self'/);
    for (const bad of [`evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, 'localhost'])
      assert.equal(
        (await rawGet(server.port, '/api/overview', { Host: bad, 'X-Coreshot-Token': server.token })).status,
        421,
        bad,
      );
    const first = await rawGet(server.port, `/?token=${server.token}`, { Host: host });
    assert.equal(first.status, 303);
    assert.match(String(first.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  });
});
