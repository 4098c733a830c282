// coreshot stack on a C++ program (test/stack/c/deep-template.cc): a kernel core of a crash at
// the bottom of a deep template recursion, reached through lambdas, a std::function, a class
// template's operator() and an anonymous namespace. gdb judges the chain of pcs; c++filt judges
// every demangled name (gdb prints C++ names in its own style, without parameter lists), and the
// JSON keeps each mangled name beside its demangled one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kernelCore, type MadeCore } from '../helpers/cores.js';
import { coreshot } from '../helpers/proc.js';
import { assertSameFrames, cxxfilt, gdbFrames, STACK_C, stackJson } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function cppCore(opt: string): MadeCore {
  const m = kernelCore('x86_64', {
    source: join(STACK_C, 'deep-template.cc'),
    flags: [opt, '-g', '-lstdc++'],
    args: [],
  });
  cleanups.push(m.cleanup);
  return m;
}

/** The frames the crashed thread must show, outermost last, as c++filt spells them. */
const CHAIN = [
  ...[0, 1, 2, 3, 4, 5, 6].map(
    (n) => new RegExp(`^outer::inner::Deep<${n}, long>::run\\(long\\*, std::vector<`),
  ),
  /^outer::inner::Table<int, std::__cxx11::basic_string<.*>::operator\(\)\(std::map<.*, long\*\) const$/,
  /^main::\{lambda\(long\*\)#1\}::operator\(\)\(long\*\) const$/,
  /^main::\{lambda\(long\*\)#2\}::operator\(\)\(long\*\) const$/,
  /^std::function<int \(long\*\)>::operator\(\)\(long\*\) const$/,
  /^\(anonymous namespace\)::through_function\(std::function<int \(long\*\)> const&, long\*\)$/,
  /^main$/,
];

describe('C++: demangled frames', () => {
  it("-O0: gdb's pcs, c++filt's names, the whole chain from main to the crash", () => {
    const m = cppCore('-O0');
    const ours = stackJson([m.core]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours, { names: false });
    const frames = ours.threads[0]!.frames;
    const mangled = frames.filter((f) => f.mangled !== null);
    assert.deepEqual(
      mangled.map((f) => f.function),
      cxxfilt(mangled.map((f) => f.mangled!)),
      'every demangled name is what c++filt reads',
    );
    const names = frames.map((f) => f.function ?? '');
    let at = 0;
    for (const want of CHAIN) {
      const i = names.findIndex((n, k) => k >= at && want.test(n));
      assert.ok(i >= 0, `${want} after frame ${at} in:\n${names.join('\n')}`);
      at = i + 1;
    }
    const text = coreshot(['stack', m.core]).stdout;
    assert.match(
      text,
      /^#0 +0x[0-9a-f]+ in outer::inner::Deep<0, long>::run\(long\*, .*\(deep-template\) at /m,
    );
  });

  it("-O2: inline frames and clones keep c++filt's names", () => {
    const m = cppCore('-O2');
    const ours = stackJson([m.core]);
    assertSameFrames(gdbFrames({ exe: m.exe, core: m.core }), ours, { names: false });
    const frames = ours.threads[0]!.frames.filter((f) => f.mangled !== null);
    assert.ok(frames.length >= 3, 'C++ frames at -O2');
    assert.deepEqual(
      frames.map((f) => f.function),
      cxxfilt(frames.map((f) => f.mangled!)),
    );
  });
});
