// The debuginfod client against a server the test runs on 127.0.0.1: a stripped program's debug
// file is fetched by build-id into the cache, after which symbolize() gives the same frames as gdb
// with the debug file; a second run is served from the cache (no request); an unknown build-id
// and a server handing out the wrong file leave a reason and no cache entry.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModules } from '../../src/analysis/modules.js';
import { fetchDebuginfo } from '../../src/analysis/symbols/debuginfod.js';
import { symbolize } from '../../src/analysis/symbols/symbolize.js';
import { openCore } from '../../src/sources/elfcore/open.js';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { ROOT, runOk, tempDir } from '../helpers/proc.js';
import { assertSameAsGdb, gdbGroups } from './gdb-frames.js';

let made: MadeCore;
let server: Server;
let url: string;
const requests: string[] = [];
/** What the server serves for /buildid/ID/debuginfo. */
const files = new Map<string, Buffer>();
const cache = tempDir('coreshot-debuginfod-');

function buildId(file: string): string {
  return /Build ID: ([0-9a-f]+)/.exec(runOk('readelf', ['-n', file]).stdout)![1]!;
}

before(async () => {
  made = kernelCore('x86_64', {
    source: join(ROOT, 'test/symbols/c/inline.c'),
    args: [],
    flags: ['-O2', '-g'],
    prepare: (exe) => {
      runOk('objcopy', ['--only-keep-debug', exe, `${exe}.served`]);
      runOk('objcopy', ['--strip-all', exe]);
    },
  });
  files.set(buildId(made.exe), readFileSync(`${made.exe}.served`));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const m = /^\/buildid\/([0-9a-f]+)\/debuginfo$/.exec(req.url ?? '');
    const body = m && files.get(m[1]!);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  made?.cleanup();
  cache.cleanup();
  await new Promise((resolve) => server?.close(resolve));
});

test('a stripped program: its debug file is fetched, cached, and gives gdb frames', async () => {
  const groups = gdbGroups(made.exe, made.core, [`set debug-file-directory ${dirname(made.exe)}/none`]);
  // gdb's judgement with the debug file where it looks for it: a .build-id tree.
  const id = buildId(made.exe);
  const tree = join(dirname(made.exe), 'tree');
  mkdirSync(join(tree, '.build-id', id.slice(0, 2)), { recursive: true });
  copyFileSync(`${made.exe}.served`, join(tree, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
  const withDebug = gdbGroups(made.exe, made.core, [`set debug-file-directory ${tree}:/usr/lib/debug`]);
  assert.ok(!groups.some((g) => g.physical.line), 'without the debug file gdb has no lines');
  const core = openCore(made.core);
  try {
    const modules = loadModules(core.image, { debuginfodCache: cache.path });
    const before = symbolize(modules, withDebug[0]!.pc, { isCallSite: false });
    assert.equal(before.line, undefined);
    assert.match(before.reason ?? '', /no line info \(no DWARF debug info\)/);
    const results = await fetchDebuginfo(modules, { urls: [url] });
    const exe = results.find((r) => r.module === made.exe);
    assert.ok(exe?.path, `fetched: ${JSON.stringify(results)}`);
    assert.ok(existsSync(join(cache.path, buildId(made.exe), 'debuginfo')));
    assertSameAsGdb(modules, withDebug, 'after debuginfod');
    modules.close();

    const count = requests.length;
    const again = loadModules(core.image, { debuginfodCache: cache.path });
    const second = await fetchDebuginfo(again, { urls: [url] });
    assert.ok(!second.some((r) => r.module === made.exe), 'the cached file is used: nothing to fetch');
    assert.equal(requests.filter((r) => r.includes(buildId(made.exe))).length, 1);
    assert.ok(requests.length >= count);
    assertSameAsGdb(again, withDebug, 'from the cache');
    again.close();
  } finally {
    core.close();
  }
});

test('unknown build-id and a wrong file: a reason, nothing cached', async () => {
  const other = tempDir('coreshot-debuginfod-');
  const core = openCore(made.core);
  try {
    files.set(buildId(made.exe), readFileSync('/bin/true'));
    const modules = loadModules(core.image, { debuginfodCache: other.path });
    const results = await fetchDebuginfo(modules, { urls: [url] });
    const exe = results.find((r) => r.module === made.exe)!;
    assert.match(exe.reason ?? '', /the file has build-id [0-9a-f]+/);
    assert.equal(existsSync(join(other.path, buildId(made.exe), 'debuginfo')), false);
    files.delete(buildId(made.exe));
    const gone = await fetchDebuginfo(modules, { urls: [url] });
    assert.match(gone.find((r) => r.module === made.exe)!.reason ?? '', /HTTP 404/);
    modules.close();
  } finally {
    core.close();
    other.cleanup();
  }
});
