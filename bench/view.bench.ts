// `coreshot view` benchmark on a 1 GiB kernel core (every heap page touched), in Debian's chromium
// driven by playwright-core: time to the URL (server ready), first meaningful paint (the overview
// drawn, from navigation and from the command's start), the server's peak RSS after scrolling the
// hex view through the whole 1 GiB heap (jumps and wheel steps; every page shown is fetched), and a
// search from the page for text that is not there (every byte searched, UTF-8 and UTF-16LE).
// Goals: paint within 1 s, RSS under 150 MB, search at least 200 MB/s.
// Run: npm run bench -- view   (needs gcc, /usr/bin/chromium, ~1.5 GiB free in $TMPDIR).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../src/sources/elfcore/open.js';
import { launchBrowser, startView } from '../test/view/page.js';
import { kernelCore, sh } from './lib.js';

const MIB = Number(process.env.BENCH_CORE_MIB ?? 1024);
/** Hex view positions visited across the heap, plus wheel steps at each. */
const JUMPS = 128;

/** The server's peak resident set (VmHWM), read from /proc (the server runs until stopped). */
function peak(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const step = (what: string) => process.stderr.write(`view bench: ${what}\n`);

const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'coreshot-bench-'));
try {
  const { core } = kernelCore(dir, MIB);
  sh('sync', []); // the 1 GiB just written is flushed before anything is timed
  const opened = openCore(core);
  const heap = [...opened.image.mappings].sort((a, b) => Number(b.end - b.start - (a.end - a.start)))[0]!;
  const memory = opened.image.mappings.reduce((n, m) => n + Number(m.end - m.start), 0);
  opened.close();
  step('core made');
  const browser = await launchBrowser();
  step('browser started');
  try {
    const t0 = performance.now();
    const server = await startView([core]);
    const ready = performance.now() - t0;
    const page = await browser.context.newPage();
    const n0 = performance.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="1"] .overview-table');
    const paint = performance.now() - n0;
    const painted = Number(await page.getAttribute('body', 'data-paint-ms'));
    const fromStart = performance.now() - t0;
    const afterPaint = peak(server.child.pid!);
    step(`painted in ${paint.toFixed(0)} ms`);

    // Scroll: jump through the heap, a few wheel steps at each place, waiting for the bytes.
    const s0 = performance.now();
    const size = heap.end - heap.start;
    await page.evaluate(`location.hash = '#hex/0x${heap.start.toString(16)}/1'`);
    await page.waitForSelector('#hex-rows[data-pending="0"] .hex-row');
    await page.hover('#hex-rows');
    for (let i = 0; i < JUMPS; i++) {
      const at = heap.start + (size * BigInt(i)) / BigInt(JUMPS);
      await page.evaluate(`location.hash = '#hex/0x${at.toString(16)}/1'`);
      for (let w = 0; w < 2; w++) await page.mouse.wheel(0, 400);
      await page.waitForSelector('#hex-rows[data-pending="0"] .hex-row');
    }
    const scroll = performance.now() - s0;
    // What one driver round trip costs (each place takes about five).
    const r0 = performance.now();
    for (let i = 0; i < 20; i++) await page.evaluate('0');
    const trip = (performance.now() - r0) / 20;
    step('scrolled');
    const afterScroll = peak(server.child.pid!);

    await page.evaluate(`location.hash = '#search'`);
    await page.waitForSelector('#search-text');
    await page.fill('#search-text', 'NOT-IN-THIS-CORE-9d2f');
    const q0 = performance.now();
    await page.click('#search-go');
    await page.waitForSelector('#search-status[data-done="1"]', { timeout: 600_000 });
    const search = performance.now() - q0;
    const status = await page.textContent('#search-status');
    const afterSearch = peak(server.child.pid!);
    const code = await server.stop();

    const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
    console.log(`${MIB} MiB kernel core: ${(memory / 2 ** 20).toFixed(0)} MiB of mapped memory`);
    console.log(`  server ready (URL printed)       ${ready.toFixed(0).padStart(6)} ms`);
    console.log(
      `  first meaningful paint           ${painted.toFixed(0).padStart(6)} ms after navigation (the page's clock; ${paint.toFixed(0)} ms by playwright), ${fromStart.toFixed(0)} ms after the command started   (goal < 1000 ms)`,
    );
    console.log(
      `  hex view: ${JUMPS} places x 2 wheel steps over ${(Number(size) / 2 ** 20).toFixed(0)} MiB  ${scroll.toFixed(0).padStart(6)} ms (${(scroll / JUMPS).toFixed(0)} ms a place; one playwright round trip ${trip.toFixed(1)} ms)`,
    );
    console.log(
      `  server peak RSS                  ${mb(afterPaint)} after paint, ${mb(afterScroll)} after scrolling, ${mb(afterSearch)} after the search   (goal < 150 MB while scrolling)`,
    );
    console.log(
      `  search (UTF-8 + UTF-16LE, absent) ${search.toFixed(0).padStart(5)} ms  ${(memory / 1e6 / (search / 1000)).toFixed(0)} MB/s   (goal >= 200 MB/s); the page said: ${status}`,
    );
    console.log(`  exit status after SIGTERM: ${code}`);
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
