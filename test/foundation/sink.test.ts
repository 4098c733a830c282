import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSink, OutputExistsError, type SinkOptions } from '../../src/io/sink.js';
import { linkOpenFile } from '../../src/sys/files.js';
import { tempDir } from '../helpers/proc.js';

// Both ways a FileSink keeps its output out of sight until commit: a hidden named temporary file,
// and (with a linker) a file with no name at all, made with O_TMPFILE.
const MODES: [string, SinkOptions][] = [
  ['named temporary', {}],
  ['O_TMPFILE', { linker: linkOpenFile }],
];

for (const [mode, options] of MODES)
  describe(`FileSink (${mode})`, () => {
    it('creates the file 0600 with holes, only on commit', () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'out.core');
        const sink = new FileSink(path, options);
        sink.write(Buffer.from('head'));
        sink.hole(1n << 20n);
        sink.write(Buffer.from('tail'));
        assert.throws(() => statSync(path), /ENOENT/, 'nothing at the final path before commit');
        assert.equal(readdirSync(dir.path).length, options.linker ? 0 : 1, 'entries while writing');
        sink.commit();
        const st = statSync(path);
        assert.equal(st.mode & 0o777, 0o600);
        assert.equal(st.size, 4 + (1 << 20) + 4);
        assert.ok(st.blocks * 512 < 64 * 1024, `sparse: ${st.blocks} blocks`);
        const data = readFileSync(path);
        assert.equal(data.subarray(0, 4).toString(), 'head');
        assert.equal(data.subarray(-4).toString(), 'tail');
        assert.deepEqual(readdirSync(dir.path), ['out.core'], 'no temporary file left');
      } finally {
        dir.cleanup();
      }
    });

    it('refuses to overwrite without force, and overwrites with it', () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'exists');
        writeFileSync(path, 'keep');
        assert.throws(() => new FileSink(path, options), OutputExistsError);
        const s = new FileSink(path, { ...options, force: true });
        s.write(Buffer.from('new'));
        s.commit();
        assert.equal(readFileSync(path, 'utf8'), 'new');
      } finally {
        dir.cleanup();
      }
    });

    it('does not clobber a file that appears while writing', () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'race');
        const s = new FileSink(path, options);
        s.write(Buffer.from('mine'));
        writeFileSync(path, 'theirs');
        assert.throws(() => s.commit(), OutputExistsError);
        assert.equal(readFileSync(path, 'utf8'), 'theirs');
        assert.deepEqual(readdirSync(dir.path), ['race']);
      } finally {
        dir.cleanup();
      }
    });

    it('leaves nothing behind on abort', () => {
      const dir = tempDir();
      try {
        const s = new FileSink(join(dir.path, 'gone'), options);
        s.write(Buffer.alloc(8192, 1));
        s.abort();
        assert.deepEqual(readdirSync(dir.path), []);
      } finally {
        dir.cleanup();
      }
    });
  });
