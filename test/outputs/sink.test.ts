// FileSink and openSink on what may stand at an output path: symbolic links are followed and
// kept, links to nothing and non-regular files are never replaced, and nothing is left behind
// when the final step fails.
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  FileSink,
  OutputError,
  OutputExistsError,
  openSink,
  type SinkOptions,
  StreamSink,
} from '../../src/io/sink.js';
import { linkOpenFile } from '../../src/sys/files.js';
import { runOk, tempDir } from '../helpers/proc.js';
import { listing } from './listing.js';

const MODES: [string, SinkOptions][] = [
  ['named temporary', {}],
  ['O_TMPFILE', { linker: linkOpenFile }],
];

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutputError) return err.kind;
    throw err;
  }
  return undefined;
}

for (const [mode, options] of MODES)
  describe(`FileSink on what stands at the path (${mode})`, () => {
    it('through a symbolic link to a file: replaces the file with --force, keeps the link', () => {
      const dir = tempDir();
      try {
        const file = join(dir.path, 'real');
        const link = join(dir.path, 'link');
        writeFileSync(file, 'old');
        symlinkSync('real', link);
        assert.throws(() => new FileSink(link, options), OutputExistsError);
        const sink = new FileSink(link, { ...options, force: true });
        sink.write(Buffer.from('new'));
        sink.commit();
        assert.ok(lstatSync(link).isSymbolicLink());
        assert.equal(readlinkSync(link), 'real');
        assert.equal(readFileSync(file, 'utf8'), 'new');
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.deepEqual(listing(dir.path), ['link link', 'real file']);
      } finally {
        dir.cleanup();
      }
    });

    it('refuses a link to nothing, a directory, a FIFO and a device, with or without force', () => {
      const dir = tempDir();
      try {
        symlinkSync('nowhere', join(dir.path, 'dangling'));
        mkdirSync(join(dir.path, 'dir'));
        runOk('mkfifo', [join(dir.path, 'fifo')]);
        const before = listing(dir.path);
        for (const force of [false, true]) {
          const o = { ...options, force };
          assert.equal(
            kindOf(() => new FileSink(join(dir.path, 'dangling'), o)),
            'dangling-link',
          );
          assert.equal(
            kindOf(() => new FileSink(join(dir.path, 'dir'), o)),
            'directory',
          );
          assert.equal(
            kindOf(() => new FileSink(join(dir.path, 'fifo'), o)),
            'special',
          );
          assert.equal(
            kindOf(() => new FileSink('/dev/null', o)),
            'special',
          );
        }
        assert.deepEqual(listing(dir.path), before);
      } finally {
        dir.cleanup();
      }
    });

    it('with --force, does not replace a directory that appeared while writing, and leaves nothing', () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, 'out');
        writeFileSync(path, 'old');
        const sink = new FileSink(path, { ...options, force: true });
        sink.write(Buffer.alloc(8192, 1));
        rmSync(path);
        mkdirSync(path);
        assert.equal(
          kindOf(() => sink.commit()),
          'directory',
        );
        sink.abort();
        assert.deepEqual(listing(dir.path), ['out dir']);
      } finally {
        dir.cleanup();
      }
    });
  });

describe('openSink', () => {
  it('writes into a character device as a stream, even with force', () => {
    const sink = openSink('/dev/null', { force: true });
    assert.ok(sink instanceof StreamSink);
    assert.equal(sink.sparse, false);
    sink.write(Buffer.from('x'));
    sink.hole(4096n);
    sink.commit();
    assert.equal(sink.position, 4097n);
    assert.ok(statSync('/dev/null').isCharacterDevice());
  });
});
