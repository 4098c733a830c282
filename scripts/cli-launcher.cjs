#!/usr/bin/env node
// coreshot's command-line entry (copied to dist/bin/coreshot.cjs by scripts/bundle-cli.mjs): runs
// the CLI bundle beside it, main.cjs, from a V8 code cache, so that a command does not compile the
// bundle again on every start (Node 20 has no module.enableCompileCache). The cache lives in
// $XDG_CACHE_HOME/coreshot/v8-code (or ~/.cache/...), one file per bundle build, Node version and
// command (each holds the functions its command compiled), written once at exit (0600, by rename,
// so concurrent runs never see half a file); other builds' files are removed then. When it cannot be read, is rejected by V8 or cannot be written, the
// bundle is simply compiled as Node would.
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.join(__dirname, 'main.cjs');
// Wrapped as a CommonJS module its "#!" line would not be first: made a comment. The bundle is
// ASCII (esbuild escapes the rest), read as latin1: no UTF-8 decoding of half a megabyte.
const source = fs.readFileSync(bundle, 'latin1').replace(/^#!/, '//');
const stat = fs.statSync(bundle);
const dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'coreshot', 'v8-code');
const build = `main-${process.version}-${stat.size}-${Math.trunc(stat.mtimeMs)}`;
const command = /^[a-z][a-z-]*$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
const name = `${build}-${command}.bin`;
let cached;
try {
  cached = fs.readFileSync(path.join(dir, name));
} catch {
  // none yet: compiled below, written at exit
}
const script = new vm.Script(Module.wrap(source), {
  filename: bundle,
  cachedData: cached,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (cached === undefined || script.cachedDataRejected) {
  // At exit the cache also holds the functions this run compiled lazily.
  process.once('exit', () => {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const temporary = path.join(dir, `.${name}.${process.pid}`);
      fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(temporary, path.join(dir, name));
      for (const old of fs.readdirSync(dir)) {
        if (!old.startsWith(`${build}-`) && !old.startsWith('.'))
          fs.rmSync(path.join(dir, old), { force: true });
      }
    } catch {
      // a read-only or full cache directory: the next run compiles again
    }
  });
}
const main = new Module(bundle, module);
main.filename = bundle;
main.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext()(main.exports, Module.createRequire(bundle), main, bundle, __dirname);
