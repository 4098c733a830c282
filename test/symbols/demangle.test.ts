// The C++ demangler (src/analysis/symbols/demangle.ts) against binutils' c++filt: every symbol
// of libstdc++ (its exports: thousands of templates, operators, std:: abbreviations, special
// names), every symbol of the C++ test program built at -O0 and -O2 (lambdas, anonymous
// namespaces, enable_if expressions, clone suffixes), hand-picked forms, and every prefix of
// those forms (truncated input). Each name we demangle must read exactly as c++filt reads it;
// a name we do not know stays null, and nearly all real names must be known.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { demangle } from '../../src/analysis/symbols/demangle.js';
import { requireTool } from '../helpers/cores.js';
import { compileC, runOk, tempDir } from '../helpers/proc.js';
import { cxxfilt, STACK_C } from '../stack/helpers.js';

const work = tempDir('coreshot-demangle-');
after(() => work.cleanup());

/** The mangled names among a file's symbols (nm: .symtab, or .dynsym with -D). */
function mangledSymbols(file: string, dynamic = false): string[] {
  requireTool('nm');
  const args = [...(dynamic ? ['-D'] : []), '--defined-only', file];
  const names = runOk('nm', args)
    .stdout.split('\n')
    .map((l) => l.split(' ').at(-1) ?? '');
  return [...new Set(names.filter((n) => n.startsWith('_Z')))].sort();
}

/** Asserts every name we demangle reads as c++filt reads it; returns how many we knew. */
function assertLikeCxxfilt(names: string[]): number {
  const theirs = cxxfilt(names);
  let known = 0;
  const wrong: string[] = [];
  names.forEach((n, i) => {
    const ours = demangle(n);
    if (ours === null) return;
    known++;
    if (ours !== theirs[i]) wrong.push(`${n}\n  ours:     ${ours}\n  c++filt:  ${theirs[i]}`);
  });
  assert.deepEqual(wrong, [], `${wrong.length} names read differently from c++filt`);
  return known;
}

const FORMS = [
  '_ZN1AIiE1fIcEEvT_', // member template of a class template, return type, T_
  '_ZNK1A1fEv', // const method
  '_ZNR1A1fEv', // ref-qualified method
  '_ZNSsC1Ev', // constructor of an abbreviation (spelt out)
  '_ZN1AaSERKS_', // operator=, substitution
  '_Zli2_xPKc', // literal operator
  '_ZN1AcviEv', // conversion operator
  '_ZdlPvm', // operator delete
  '_ZZ4mainENKUlvE_clEv', // lambda in main
  '_ZZ4mainE1x_0', // local static with discriminator
  '_ZZ4mainEs', // string literal
  '_ZGVZ4mainE1x', // guard variable
  '_ZN12_GLOBAL__N_13fooEv', // anonymous namespace
  '_Z1fPFviE', // pointer to function
  '_Z1fM1AKFviE', // pointer to const member function
  '_Z1fPA10_i', // pointer to array
  '_Z1fRA10_i', // reference to array
  '_Z1fPVKi', // cv-qualifiers
  '_Z1fPKFvvE', // qualified function type
  '_Z1fDn', // nullptr_t
  '_Z1fU8__vectori', // vendor qualifier
  '_Z1fIJicEEvDpT_', // pack expansion
  '_Z1fIJEEvDpT_', // empty pack
  '_Z1fIiLi5ELb1ELj3ELc65EEvv', // literal template arguments
  '_Z1fIPFviEEvv', // function pointer as template argument
  '_Z1fIXgtLi1ELi0EEEvv', // expression argument with '>'
  '_Z1fIiEN9enable_ifIXsr3std9is_same_vIT_iEEvE4typeEv', // enable_if on a scoped name
  '_Z1fB5cxx11v', // ABI tag
  '_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEC1Ev',
  '_Z3foov.isra.0.cold', // clone suffixes
  '_ZTVSt9exception', // vtable
  '_ZThn8_N1A1fEv', // non-virtual thunk
  '_ZTv0_n24_N1A1fEv', // virtual thunk
  '_ZTC1B8_1A', // construction vtable
  '_ZNKSt5ctypeIcE8do_widenEc',
  '_ZNSaIcEC1Ev@GLIBCXX_3.4', // symbol version
];

describe('demangling against c++filt', () => {
  it('hand-picked forms: every one known and read as c++filt reads it', () => {
    assert.equal(assertLikeCxxfilt(FORMS), FORMS.length);
  });

  it('every prefix of those forms: null or what c++filt reads', () => {
    const prefixes = [...new Set(FORMS.flatMap((f) => [...f].map((_, i) => f.slice(0, i + 1))))];
    assertLikeCxxfilt(prefixes);
    assert.equal(demangle('_Z'), null);
    assert.equal(demangle('main'), null);
  });

  it("libstdc++'s exported symbols", () => {
    requireTool('g++');
    const lib = runOk('g++', ['-print-file-name=libstdc++.so']).stdout.trim();
    const names = mangledSymbols(lib, true);
    assert.ok(names.length > 3000, `${lib} exports ${names.length} C++ symbols`);
    const known = assertLikeCxxfilt(names);
    assert.ok(known >= names.length * 0.99, `known ${known} of ${names.length}`);
  });

  for (const opt of ['-O0', '-O2']) {
    it(`every symbol of the C++ test program at ${opt}`, () => {
      requireTool('g++');
      const exe = compileC(
        join(STACK_C, 'deep-template.cc'),
        join(work.path, `deep${opt}`),
        [opt, '-g'],
        'g++',
      );
      const names = mangledSymbols(exe);
      assert.ok(names.length > 20, `${names.length} C++ symbols`);
      const known = assertLikeCxxfilt(names);
      assert.ok(known >= names.length * 0.99, `known ${known} of ${names.length}`);
    });
  }
});
