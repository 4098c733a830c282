// The same page on the other targets: a CRIU image directory (the shared fixtures) and a QEMU
// vmcore of a small Linux guest (QEMU's own dump-guest-memory): overview, map, threads, hex view
// and search against what the CLI and the fixtures' references say.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { CRIU, requireFixtures } from '../criu/helpers.js';
import { requireTool } from '../helpers/cores.js';
import { coreshot, tempDir } from '../helpers/proc.js';
import { qemuDump, requireTools, startLinuxGuest, stopGuest } from '../qemu/guest.js';
import {
  CHROMIUM,
  hexBytes,
  launchBrowser,
  openPage,
  screenshot,
  show,
  startView,
  type ViewServer,
} from './page.js';

function readHex(args: string[], address: bigint, length: number): string {
  const r = coreshot(['read', ...args, `0x${address.toString(16)}`, String(length), '--json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { hex: string }).hex;
}

describe('coreshot view on a CRIU image directory', () => {
  const images = join(CRIU, 'single/images');
  const root = join(CRIU, 'single/root');
  let server: ViewServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  before(async () => {
    requireTool(CHROMIUM);
    requireFixtures();
    server = await startView([images, '--root', root]);
    browser = await launchBrowser();
    page = await openPage(browser.context, server);
  });
  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0);
  });

  test('overview, map, threads and notes of the checkpointed process', async () => {
    const pid = readFileSync(join(CRIU, 'single/reference/pid.txt'), 'utf8').trim();
    assert.match((await page.textContent('.overview-table')) ?? '', new RegExp(`pid ${pid} `));
    assert.match((await page.textContent('#ov-executable')) ?? '', /\/target$/);
    await screenshot(page, 'criu-overview');
    // /proc/PID/maps before the dump, less [vsyscall] (no VMA of the process: CRIU does not save it).
    const maps = readFileSync(join(CRIU, `single/reference/maps-${pid}.txt`), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.includes('[vsyscall]'));
    await show(page, '#map', '.map-block');
    assert.equal(await page.locator('.map-block').count(), maps.length);
    await screenshot(page, 'criu-map');
    const tids = readFileSync(join(CRIU, `single/reference/tids-${pid}.txt`), 'utf8')
      .trim()
      .split(/\s+/);
    await show(page, '#threads', '.thread');
    for (const tid of tids) {
      const top = (await page.locator(`.thread[data-tid="${tid}"] .frame`).first().textContent()) ?? '';
      assert.match(top, /^#0 {2}0x[0-9a-f]+ in \S+/, `thread ${tid}: ${top}`);
    }
    await screenshot(page, 'criu-threads');
    await show(page, '#notes', '.note');
    assert.match((await page.locator('#notes h2').textContent()) ?? '', /coreshot convert/);
  });

  test('search finds the heap marker and the hex view shows its bytes', async () => {
    await show(page, '#search', '#search-text');
    await page.fill('#search-text', 'CORESHOT-HEAP-MARKER-1');
    await page.selectOption('#search-enc', 'utf-8');
    await page.click('#search-go');
    await page.waitForSelector('#search-status[data-done="1"]');
    const hit = await page.locator('#search-hits .hit').first().getAttribute('data-addr');
    assert.ok(hit, 'a hit');
    const bytes = await hexBytes(page, BigInt(hit), 22);
    assert.equal(Buffer.from(bytes, 'hex').toString('latin1'), 'CORESHOT-HEAP-MARKER-1');
    await screenshot(page, 'criu-hex');
  });
});

describe('coreshot view on a QEMU vmcore', () => {
  const tmp = tempDir('coreshot-view-qemu-');
  let vmcore: string;
  let server: ViewServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;

  before(async () => {
    requireTool(CHROMIUM);
    requireTools('qemu-system-x86_64');
    const guest = await startLinuxGuest(tmp.path);
    vmcore = join(tmp.path, 'vmcore');
    try {
      await qemuDump(guest, vmcore);
    } finally {
      await stopGuest(guest);
    }
    server = await startView([vmcore]);
    browser = await launchBrowser();
    page = await openPage(browser.context, server);
  });
  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0);
    tmp.cleanup();
  });

  test('the guest memory as the CLI reads it', async () => {
    assert.match((await page.textContent('.overview-table')) ?? '', /QEMU/);
    await screenshot(page, 'qemu-overview');
    const { mappings } = JSON.parse(coreshot(['maps', vmcore, '--json']).stdout) as {
      mappings: { start: string; end: string }[];
    };
    await show(page, '#map', '.map-block');
    assert.equal(await page.locator('.map-block').count(), mappings.length);
    await screenshot(page, 'qemu-map');
    // The kernel's boot parameters (the command line) are somewhere in the first megabytes.
    const at = BigInt(mappings[0]!.start) + 0x100000n;
    assert.equal(await hexBytes(page, at, 64), readHex([vmcore], at, 64));
    await show(page, '#threads', '.thread');
    assert.equal(await page.locator('.thread').count(), 1);
    await screenshot(page, 'qemu-threads');
  });
});
