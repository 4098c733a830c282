#!/usr/bin/env node
// Bundles the CLI into dist/bin/ with esbuild: one CommonJS file, main.cjs, which the entry
// coreshot.cjs (scripts/cli-launcher.cjs) runs from a V8 code cache. Node's start-up is
// most of a command's time, and what coreshot adds to it is mostly loading code: as CommonJS the
// bundle needs none of Node's ES module loader (about 20 internal modules), and `require('node:fs')`
// none of the stream modules the ES facade of node:fs pulls in; one file is one read and one
// compile, where ES chunks were ~30 files to resolve and link. Commands still run their modules
// lazily: esbuild turns each `await import()` into a call that evaluates the module on first use.
// (Measured with `npm run bench -- startup`: `threads --json` 1.87x -> 1.54x the CPU of `node -e 0`.)
// The decode worker stays an ES module beside it (loaded by path from io/compressed). The native
// addons (koffi, @napi-rs/lzma) and zstd-wasm (it reads its .wasm file beside its own module)
// stay external. The typed library API is tsc's dist/.
import { chmodSync, copyFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * commander loads node:child_process (and with it net, dgram and the stream modules) when it is
 * loaded, for executable subcommands coreshot does not have: about 5 ms of every start. Its
 * require becomes one made on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const code = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!code.includes(eager)) throw new Error(`${args.path}: its child_process require changed`);
      const lazy =
        "const childProcess = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });";
      return { contents: code.replace(eager, lazy), loader: 'js' };
    });
  },
};

const external = ['koffi', '@napi-rs/lzma', 'cli-progress', '@bokuweb/zstd-wasm'];
// Chunks of earlier (ES module) builds would linger beside the new bundle.
rmSync('dist/bin', { recursive: true, force: true });

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/bin',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // cli-progress is bundled: an import() of an external package is the one call that would need
  // the ES loader from a script compiled by the launcher, whose callback for it Node 20 does not
  // keep when the script comes from the code cache ("A dynamic import callback was not specified").
  external: external.filter((p) => p !== 'cli-progress'),
  // import.meta.url (files found beside the bundle, createRequire) as CommonJS knows it.
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: ['scripts/import-meta-url.mjs'],
  // Less source to hash and a smaller code cache to load on every start; names stay (they appear
  // in error names and stack traces).
  minifyWhitespace: true,
  minifySyntax: true,
  // The launcher reads the bundle as latin1.
  charset: 'ascii',
  plugins: [lazyChildProcess],
  logLevel: 'warning',
});

copyFileSync('scripts/cli-launcher.cjs', 'dist/bin/coreshot.cjs');
chmodSync('dist/bin/coreshot.cjs', 0o755);

await build({
  entryPoints: { 'decode-worker': 'src/io/compressed/decode-worker.ts' },
  outdir: 'dist/bin',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Bundled CommonJS calls require(): give the ES module one.
  banner: {
    js: "import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The page of `coreshot view`: plain DOM code bundled for the browser, next to its HTML and CSS,
// in dist/view/ (the server reads them from there; nothing is loaded from elsewhere).
const page = 'src/cli/view/client';
await build({
  entryPoints: { app: `${page}/main.ts` },
  outdir: 'dist/view',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome100',
  minify: true,
  logLevel: 'warning',
});
for (const name of ['index.html', 'style.css', 'favicon.svg'])
  copyFileSync(`${page}/${name}`, `dist/view/${name}`);
