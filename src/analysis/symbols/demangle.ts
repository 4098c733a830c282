/**
 * C++ names as people read them: a demangler of the Itanium C++ ABI's mangling (the `_Z…` symbol
 * names of g++ and clang), printing what `c++filt` prints.
 *
 *   demangle('_ZNK3foo3barIiEEvT_') → 'void foo::bar<int>(int) const'
 *   demangle('main') → null (not a mangled name, or a form this demangler does not know)
 *
 * Covers what programs show in backtraces: nested and local names, templates (with packs and
 * literal arguments), substitutions and the std:: abbreviations, operators, constructors and
 * destructors, function and member-pointer types, cv and ref qualifiers, lambdas, unnamed types,
 * ABI tags, anonymous namespaces, special names (vtables, thunks, guard variables) and GCC's
 * clone suffixes. Template arguments that are expressions (`X…E`) and other rare forms are not
 * known: those names stay mangled (null) rather than print something wrong.
 *
 * The name is parsed into a small tree (one node kind per production that prints differently),
 * then printed; types print around a declarator ("int (*)[10]"), as C declarations do.
 */

type Node =
  | { k: 'name'; s: string }
  | { k: 'nested'; outer: Node; inner: Node }
  | { k: 'template'; name: Node; args: Node[] }
  | { k: 'abi'; name: Node; tag: string }
  | { k: 'qual'; q: string; t: Node }
  | { k: 'ptr' | 'lref' | 'rref'; t: Node }
  | { k: 'fn'; ret: Node | null; params: Node[]; ref: string }
  | { k: 'array'; dim: string; t: Node }
  | { k: 'member'; cls: Node; t: Node }
  | { k: 'param'; scope: Scope; i: number }
  | { k: 'pack'; elems: Node[] }
  | { k: 'expansion'; t: Node }
  | { k: 'vendor'; q: string; t: Node }
  | { k: 'encoding'; name: Node; quals: string; fn: { ret: Node | null; params: Node[] } | null }
  | { k: 'local'; fn: Node; entity: Node }
  | { k: 'special'; prefix: string; t: Node; suffix?: string }
  | { k: 'clone'; enc: Node; suffix: string }
  | { k: 'lambda'; params: Node[]; n: number }
  | { k: 'cast'; t: Node }
  | { k: 'literal'; t: Node; v: string }
  | { k: 'binary'; op: string; l: Node; r: Node }
  | { k: 'scoped'; t: Node; name: Node };

/** The template arguments a `T_` refers to: those of the innermost function template being read. */
interface Scope {
  args: Node[] | undefined;
  parent: Scope | undefined;
}

/** A parsed name, with what the encoding needs to know of its last component. */
interface Named {
  node: Node;
  /** The template arguments of the last component (the function's, for a template function). */
  args?: Node[];
  /** A constructor, destructor or conversion operator: no return type is mangled. */
  noReturn: boolean;
  /** Method qualifiers from a nested name (`NK…E`): printed after the parameters. */
  cv: string;
  ref: string;
}

class Unknown extends Error {}

const MAX_DEPTH = 200;
const MAX_OUTPUT = 1 << 16;

const BUILTINS: Record<string, string> = {
  v: 'void',
  w: 'wchar_t',
  b: 'bool',
  c: 'char',
  a: 'signed char',
  h: 'unsigned char',
  s: 'short',
  t: 'unsigned short',
  i: 'int',
  j: 'unsigned int',
  l: 'long',
  m: 'unsigned long',
  x: 'long long',
  y: 'unsigned long long',
  n: '__int128',
  o: 'unsigned __int128',
  f: 'float',
  d: 'double',
  e: 'long double',
  g: '__float128',
  z: '...',
};

/** Builtin types after `D`. */
const D_BUILTINS: Record<string, string> = {
  d: 'decimal64',
  e: 'decimal128',
  f: 'decimal32',
  h: 'half',
  i: 'char32_t',
  s: 'char16_t',
  u: 'char8_t',
  a: 'auto',
  c: 'decltype(auto)',
  n: 'decltype(nullptr)',
};

/** Operator names: the printed operator (after "operator"). */
const OPERATORS: Record<string, string> = {
  nw: ' new',
  na: ' new[]',
  dl: ' delete',
  da: ' delete[]',
  ps: '+',
  ng: '-',
  ad: '&',
  de: '*',
  co: '~',
  pl: '+',
  mi: '-',
  ml: '*',
  dv: '/',
  rm: '%',
  an: '&',
  or: '|',
  eo: '^',
  aS: '=',
  pL: '+=',
  mI: '-=',
  mL: '*=',
  dV: '/=',
  rM: '%=',
  aN: '&=',
  oR: '|=',
  eO: '^=',
  ls: '<<',
  rs: '>>',
  lS: '<<=',
  rS: '>>=',
  eq: '==',
  ne: '!=',
  lt: '<',
  gt: '>',
  le: '<=',
  ge: '>=',
  ss: '<=>',
  nt: '!',
  aa: '&&',
  oo: '||',
  pp: '++',
  mm: '--',
  cm: ',',
  pm: '->*',
  pt: '->',
  cl: '()',
  ix: '[]',
  qu: '?',
  st: ' sizeof',
  sz: ' sizeof',
  at: ' alignof',
  az: ' alignof',
  aw: ' co_await',
};

/** The operators that take two operands in expressions. */
const BINARY = new Set([
  'pl',
  'mi',
  'ml',
  'dv',
  'rm',
  'an',
  'or',
  'eo',
  'ls',
  'rs',
  'eq',
  'ne',
  'lt',
  'gt',
  'le',
  'ge',
  'aa',
  'oo',
]);

/** The std:: abbreviations, spelt out as c++filt does, and the name their constructors have. */
const ABBREVIATIONS: Record<string, { name: string; base: string }> = {
  t: { name: 'std', base: 'std' },
  a: { name: 'std::allocator', base: 'allocator' },
  b: { name: 'std::basic_string', base: 'basic_string' },
  s: { name: 'std::basic_string<char, std::char_traits<char>, std::allocator<char> >', base: 'basic_string' },
  i: { name: 'std::basic_istream<char, std::char_traits<char> >', base: 'basic_istream' },
  o: { name: 'std::basic_ostream<char, std::char_traits<char> >', base: 'basic_ostream' },
  d: { name: 'std::basic_iostream<char, std::char_traits<char> >', base: 'basic_iostream' },
};

/** Special names after `_ZT` / `_ZG` that name one type or name. */
const SPECIAL_TYPES: Record<string, string> = {
  TV: 'vtable for ',
  TT: 'VTT for ',
  TI: 'typeinfo for ',
  TS: 'typeinfo name for ',
};
const SPECIAL_NAMES: Record<string, string> = {
  TH: 'TLS init function for ',
  TW: 'TLS wrapper function for ',
  GV: 'guard variable for ',
};

/** The readable form of an Itanium-mangled name, or null when `mangled` is not one this knows. */
export function demangle(mangled: string): string | null {
  if (!mangled.startsWith('_Z')) return null;
  // A symbol version (`@GLIBCXX_3.4`, `@@…`) is kept as it is.
  const at = mangled.indexOf('@');
  const name = at < 0 ? mangled : mangled.slice(0, at);
  try {
    const p = new Parser(name, 2);
    let node = p.encoding();
    while (p.peek() === '.') node = { k: 'clone', enc: node, suffix: p.cloneSuffix() };
    if (p.i !== name.length) return null;
    return new Printer().str(node) + (at < 0 ? '' : mangled.slice(at));
  } catch (err) {
    if (err instanceof Unknown) return null;
    throw err;
  }
}

class Parser {
  private readonly subs: Node[] = [];
  private scope: Scope = { args: undefined, parent: undefined };
  private depth = 0;
  /** The scope of the last encoding read (a local name's function). */
  private inner: Scope | undefined;

  private readonly s: string;
  i: number;

  constructor(s: string, i: number) {
    this.s = s;
    this.i = i;
  }

  peek(ahead = 0): string {
    return this.s[this.i + ahead] ?? '';
  }

  private take(prefix: string): boolean {
    if (!this.s.startsWith(prefix, this.i)) return false;
    this.i += prefix.length;
    return true;
  }

  private expect(prefix: string): void {
    if (!this.take(prefix)) throw new Unknown();
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Unknown();
  }

  private atEnd(): boolean {
    const c = this.peek();
    return c === '' || c === 'E' || c === '.';
  }

  private number(): number {
    const neg = this.take('n');
    const start = this.i;
    while (/[0-9]/.test(this.peek())) this.i++;
    if (start === this.i) throw new Unknown();
    const n = Number(this.s.slice(start, this.i));
    return neg ? -n : n;
  }

  /** `<seq-id> _`: 0 for `_`, n + 1 for base-36 n. */
  private seqId(): number {
    if (this.take('_')) return 0;
    const start = this.i;
    while (/[0-9A-Z]/.test(this.peek())) this.i++;
    if (start === this.i) throw new Unknown();
    const n = Number.parseInt(this.s.slice(start, this.i), 36);
    this.expect('_');
    return n + 1;
  }

  /** `_ <number>` discriminators are not printed; `_ n _` and `__ n _` forms too. */
  private discriminator(): void {
    if (this.peek() !== '_') return;
    this.i++;
    if (this.take('_')) {
      this.number();
      this.expect('_');
    } else this.number();
  }

  cloneSuffix(): string {
    const start = this.i;
    this.expect('.');
    if (/[a-z_]/.test(this.peek())) {
      while (/[a-z_]/.test(this.peek())) this.i++;
      while (this.peek() === '.' && /[0-9]/.test(this.peek(1))) {
        this.i++;
        while (/[0-9]/.test(this.peek())) this.i++;
      }
    } else if (/[0-9]/.test(this.peek())) {
      while (/[0-9]/.test(this.peek())) this.i++;
    } else throw new Unknown();
    return this.s.slice(start, this.i);
  }

  encoding(): Node {
    this.enter();
    const c = this.peek();
    let out: Node;
    if (c === 'T' || (c === 'G' && /[VRT]/.test(this.peek(1)))) out = this.special();
    else {
      const outer = this.scope;
      this.scope = { args: undefined, parent: outer };
      const named = this.name();
      if (named.args) this.scope.args = named.args;
      const quals = named.cv + named.ref;
      if (this.atEnd()) out = { k: 'encoding', name: named.node, quals, fn: null };
      else {
        const ret = named.args && !named.noReturn ? this.type() : null;
        out = { k: 'encoding', name: named.node, quals, fn: { ret, params: this.params() } };
      }
      this.inner = this.scope;
      this.scope = outer;
    }
    this.depth--;
    return out;
  }

  private params(): Node[] {
    const params: Node[] = [];
    while (!this.atEnd()) params.push(this.type());
    if (params.length === 0) throw new Unknown();
    // A single void means no parameters.
    if (params.length === 1 && params[0]?.k === 'name' && params[0].s === 'void') return [];
    return params;
  }

  private special(): Node {
    const two = this.s.slice(this.i, this.i + 2);
    this.i += 2;
    const type = SPECIAL_TYPES[two];
    if (type) return { k: 'special', prefix: type, t: this.type() };
    const name = SPECIAL_NAMES[two];
    if (name) return { k: 'special', prefix: name, t: this.name().node };
    switch (two) {
      case 'Th':
        this.callOffset('h');
        return { k: 'special', prefix: 'non-virtual thunk to ', t: this.encoding() };
      case 'Tv':
        this.callOffset('v');
        return { k: 'special', prefix: 'virtual thunk to ', t: this.encoding() };
      case 'Tc':
        this.callOffset();
        this.callOffset();
        return { k: 'special', prefix: 'covariant return thunk to ', t: this.encoding() };
      case 'TC': {
        const derived = this.type();
        this.number();
        this.expect('_');
        const base = this.type();
        return {
          k: 'special',
          prefix: 'construction vtable for ',
          t: base,
          suffix: `-in-${new Printer().str(derived)}`,
        };
      }
      case 'GT':
        if (!this.take('t')) throw new Unknown();
        return { k: 'special', prefix: 'transaction clone for ', t: this.encoding() };
      default:
        throw new Unknown();
    }
  }

  /** `h <offset> _` or `v <offset> _ <virtual offset> _`; thunk offsets are not printed. */
  private callOffset(kind?: 'h' | 'v'): void {
    const c = kind ?? this.peek();
    if (kind === undefined) this.i++;
    this.number();
    this.expect('_');
    if (c === 'v') {
      this.number();
      this.expect('_');
    } else if (c !== 'h') throw new Unknown();
  }

  private name(): Named {
    this.enter();
    const c = this.peek();
    let out: Named;
    if (c === 'N') out = this.nested();
    else if (c === 'Z') out = this.local();
    else {
      let node: Node;
      let noReturn = false;
      const substituted = c === 'S' && this.peek(1) !== 't';
      if (c === 'S' && this.peek(1) === 't') {
        this.i += 2;
        const u = this.unqualified(undefined);
        node = { k: 'nested', outer: { k: 'name', s: 'std' }, inner: u.node };
        noReturn = u.noReturn;
      } else if (c === 'S') {
        node = this.substitution();
        if (this.peek() !== 'I') throw new Unknown();
      } else {
        const u = this.unqualified(undefined);
        node = u.node;
        noReturn = u.noReturn;
      }
      out = { node, noReturn, cv: '', ref: '' };
      if (this.peek() === 'I') {
        if (!substituted) this.subs.push(node);
        const args = this.templateArgs();
        out = { ...out, node: { k: 'template', name: node, args }, args };
      }
    }
    this.depth--;
    return out;
  }

  private nested(): Named {
    this.expect('N');
    let cv = '';
    for (;;) {
      if (this.take('r')) cv += ' restrict';
      else if (this.take('V')) cv += ' volatile';
      else if (this.take('K')) cv += ' const';
      else break;
    }
    const ref = this.take('R') ? ' &' : this.take('O') ? ' &&' : '';
    let node: Node | undefined;
    let args: Node[] | undefined;
    let noReturn = false;
    while (!this.take('E')) {
      const c = this.peek();
      let substituted = false;
      args = undefined;
      // Template arguments belong to the component before them (a templated constructor too).
      if (c !== 'I') noReturn = false;
      if (c === 'S') {
        if (node) throw new Unknown();
        node = this.substitution();
        substituted = true;
      } else if (c === 'I') {
        if (!node) throw new Unknown();
        args = this.templateArgs();
        node = { k: 'template', name: node, args };
      } else if (c === 'T') {
        if (node) throw new Unknown();
        node = this.templateParam();
      } else if (c === 'M') {
        // A data member's initializer scope (lambdas in default member initializers).
        this.i++;
        continue;
      } else if (c === '') throw new Unknown();
      else {
        const u = this.unqualified(node);
        noReturn = u.noReturn;
        node = node ? { k: 'nested', outer: node, inner: u.node } : u.node;
      }
      if (!substituted && this.peek() !== 'E') this.subs.push(node);
    }
    if (!node) throw new Unknown();
    return { node, noReturn, cv, ref, ...(args ? { args } : {}) };
  }

  private local(): Named {
    this.expect('Z');
    const fn = this.encoding();
    this.expect('E');
    // The entity's template parameters are the enclosing function's unless it is a template.
    this.scope.args ??= argsOf(this.inner);
    if (this.take('s')) {
      this.discriminator();
      return {
        node: { k: 'local', fn, entity: { k: 'name', s: 'string literal' } },
        noReturn: false,
        cv: '',
        ref: '',
      };
    }
    if (this.take('d')) {
      // A default argument's scope: `d [<number>] _ <name>`.
      if (this.peek() !== '_') this.number();
      this.expect('_');
    }
    const inner = this.name();
    this.discriminator();
    return { ...inner, node: { k: 'local', fn, entity: inner.node } };
  }

  /** One component of a name; `prev` is the enclosing name a constructor or destructor is of. */
  private unqualified(prev: Node | undefined): { node: Node; noReturn: boolean } {
    const c = this.peek();
    let node: Node;
    let noReturn = false;
    if (/[0-9]/.test(c)) node = this.sourceName();
    else if (c === 'L') {
      this.i++;
      node = this.sourceName();
      this.discriminator();
    } else if (c === 'C' || (c === 'D' && /[0-5]/.test(this.peek(1)))) {
      if (!prev) throw new Unknown();
      this.i++;
      const inheriting = c === 'C' && this.take('I');
      if (!/[0-5]/.test(this.peek())) throw new Unknown();
      this.i++;
      if (inheriting) this.type();
      node = { k: 'name', s: (c === 'D' ? '~' : '') + baseName(prev) };
      noReturn = true;
    } else if (c === 'U') node = this.unnamed();
    else if (/[a-z]/.test(c)) {
      const op = this.operator();
      node = op.node;
      noReturn = op.cast;
    } else throw new Unknown();
    while (this.take('B')) node = { k: 'abi', name: node, tag: this.identifier() };
    return { node, noReturn };
  }

  private identifier(): string {
    const n = this.number();
    if (n <= 0 || this.i + n > this.s.length) throw new Unknown();
    const id = this.s.slice(this.i, this.i + n);
    this.i += n;
    return id;
  }

  private sourceName(): Node {
    const id = this.identifier();
    return { k: 'name', s: id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id };
  }

  private unnamed(): Node {
    if (this.take('Ut')) {
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.expect('_');
      return { k: 'name', s: `{unnamed type#${n}}` };
    }
    if (this.take('Ul')) {
      const params = this.params();
      this.expect('E');
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.expect('_');
      return { k: 'lambda', params, n };
    }
    throw new Unknown();
  }

  private operator(): { node: Node; cast: boolean } {
    const two = this.s.slice(this.i, this.i + 2);
    this.i += 2;
    if (two === 'cv') return { node: { k: 'cast', t: this.type() }, cast: true };
    if (two === 'li') return { node: { k: 'name', s: `operator"" ${this.identifier()}` }, cast: false };
    const op = OPERATORS[two];
    if (op === undefined) throw new Unknown();
    return { node: { k: 'name', s: `operator${op}` }, cast: false };
  }

  /** `S…`: a substitution or an abbreviation. */
  private substitution(): Node {
    this.expect('S');
    const abbr = ABBREVIATIONS[this.peek()];
    if (abbr) {
      this.i++;
      return { k: 'name', s: abbr.name };
    }
    const n = this.seqId();
    const node = this.subs[n];
    if (!node) throw new Unknown();
    return node;
  }

  private templateParam(): Node {
    this.expect('T');
    const n = this.seqId();
    return { k: 'param', scope: this.scope, i: n };
  }

  private templateArgs(): Node[] {
    this.expect('I');
    const args: Node[] = [];
    while (!this.take('E')) args.push(this.templateArg());
    return args;
  }

  private templateArg(): Node {
    const c = this.peek();
    if (c === 'L') return this.literal();
    if (c === 'J') {
      this.i++;
      const elems: Node[] = [];
      while (!this.take('E')) elems.push(this.templateArg());
      return { k: 'pack', elems };
    }
    if (c === 'X') {
      this.i++;
      const e = this.expression();
      this.expect('E');
      return e;
    }
    return this.type();
  }

  /**
   * The expressions that template arguments of real programs hold (`enable_if` conditions):
   * names, `sr` scoped names, template parameters, function parameters, literals and binary
   * operators. Others are not known.
   */
  private expression(): Node {
    this.enter();
    const c = this.peek();
    let out: Node;
    if (c === 'L') out = this.literal();
    else if (c === 'T') out = this.templateParam();
    else if (this.take('fp')) {
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.expect('_');
      out = { k: 'name', s: `{parm#${n}}` };
    } else if (this.take('sr')) {
      const t = this.type();
      out = { k: 'scoped', t, name: this.simpleId() };
    } else if (/[0-9]/.test(c)) out = this.simpleId();
    else {
      const op = OPERATORS[this.s.slice(this.i, this.i + 2)];
      if (op === undefined || !BINARY.has(this.s.slice(this.i, this.i + 2))) throw new Unknown();
      this.i += 2;
      const l = this.expression();
      out = { k: 'binary', op, l, r: this.expression() };
    }
    this.depth--;
    return out;
  }

  /** `<source-name> [<template-args>]`, as names in expressions are mangled. */
  private simpleId(): Node {
    const name = this.sourceName();
    return this.peek() === 'I' ? { k: 'template', name, args: this.templateArgs() } : name;
  }

  private literal(): Node {
    this.expect('L');
    if (this.take('_Z') || this.take('Z')) {
      const enc = this.encoding();
      this.expect('E');
      return enc;
    }
    const t = this.type();
    const neg = this.take('n');
    const start = this.i;
    while (/[0-9]/.test(this.peek())) this.i++;
    const digits = this.s.slice(start, this.i);
    this.expect('E');
    if (digits === '') throw new Unknown();
    const v = (neg ? '-' : '') + digits;
    const name = t.k === 'name' ? t.s : undefined;
    const suffix: Record<string, string> = {
      int: '',
      'unsigned int': 'u',
      long: 'l',
      'unsigned long': 'ul',
      'long long': 'll',
      'unsigned long long': 'ull',
    };
    if (name === 'bool' && (v === '0' || v === '1')) return { k: 'name', s: v === '1' ? 'true' : 'false' };
    if (name !== undefined && suffix[name] !== undefined) return { k: 'name', s: v + suffix[name] };
    return { k: 'literal', t, v };
  }

  type(): Node {
    this.enter();
    const c = this.peek();
    const builtin = BUILTINS[c];
    let out: Node;
    if (builtin) {
      this.i++;
      out = { k: 'name', s: builtin };
    } else out = this.compoundType(c);
    this.depth--;
    return out;
  }

  private compoundType(c: string): Node {
    let t: Node;
    switch (c) {
      case 'r':
      case 'V':
      case 'K': {
        let q = '';
        for (;;) {
          if (this.take('r')) q = ` restrict${q}`;
          else if (this.take('V')) q = ` volatile${q}`;
          else if (this.take('K')) q = ` const${q}`;
          else break;
        }
        // g++ mangles K before V (VK): c++filt prints them in the order const volatile.
        t = { k: 'qual', q: canonicalQualifiers(q), t: this.type() };
        break;
      }
      case 'P':
        this.i++;
        t = { k: 'ptr', t: this.type() };
        break;
      case 'R':
        this.i++;
        t = { k: 'lref', t: this.type() };
        break;
      case 'O':
        this.i++;
        t = { k: 'rref', t: this.type() };
        break;
      case 'C':
        this.i++;
        t = { k: 'vendor', q: ' _Complex', t: this.type() };
        break;
      case 'G':
        this.i++;
        t = { k: 'vendor', q: ' _Imaginary', t: this.type() };
        break;
      case 'U': {
        if (/[tl]/.test(this.peek(1))) {
          t = this.name().node;
          break;
        }
        this.i++;
        const q = this.identifier();
        t = { k: 'vendor', q: ` ${q}`, t: this.type() };
        break;
      }
      case 'F': {
        this.i++;
        this.take('Y');
        const ret = this.type();
        const params: Node[] = [];
        while (this.peek() !== 'E' && !(/[RO]/.test(this.peek()) && this.peek(1) === 'E')) {
          if (this.peek() === '') throw new Unknown();
          params.push(this.type());
        }
        const ref = this.take('R') ? ' &' : this.take('O') ? ' &&' : '';
        this.expect('E');
        const none = params.length === 1 && params[0]?.k === 'name' && params[0].s === 'void';
        t = { k: 'fn', ret, params: none ? [] : params, ref };
        break;
      }
      case 'A': {
        this.i++;
        let dim = '';
        if (/[0-9]/.test(this.peek())) dim = String(this.number());
        else if (this.peek() !== '_') throw new Unknown();
        this.expect('_');
        t = { k: 'array', dim, t: this.type() };
        break;
      }
      case 'M': {
        this.i++;
        const cls = this.type();
        t = { k: 'member', cls, t: this.type() };
        break;
      }
      case 'T': {
        t = this.templateParam();
        if (this.peek() === 'I') {
          this.subs.push(t);
          t = { k: 'template', name: t, args: this.templateArgs() };
        }
        break;
      }
      case 'S': {
        if (this.peek(1) === 't') {
          t = this.name().node;
          break;
        }
        const sub = this.substitution();
        if (this.peek() !== 'I') return sub;
        t = { k: 'template', name: sub, args: this.templateArgs() };
        break;
      }
      case 'D': {
        const d = this.peek(1);
        const b = D_BUILTINS[d];
        if (b) {
          this.i += 2;
          return { k: 'name', s: b };
        }
        if (d === 'F') {
          this.i += 2;
          const bits = this.number();
          this.expect('_');
          return { k: 'name', s: `_Float${bits}` };
        }
        if (d === 'p') {
          this.i += 2;
          t = { k: 'expansion', t: this.type() };
          break;
        }
        throw new Unknown();
      }
      default:
        if (/[0-9NZ]/.test(c)) {
          t = this.name().node;
          break;
        }
        throw new Unknown();
    }
    this.subs.push(t);
    return t;
  }
}

function argsOf(scope: Scope | undefined): Node[] | undefined {
  let s = scope;
  while (s && !s.args) s = s.parent;
  return s?.args;
}

/** const and volatile in c++filt's order, whatever order they were mangled in. */
function canonicalQualifiers(q: string): string {
  const order = [' restrict', ' volatile', ' const'];
  const have = order.filter((w) => q.includes(w));
  return have.reverse().join('');
}

/** The unqualified, untemplated name a constructor or destructor of `n` is called. */
function baseName(n: Node): string {
  switch (n.k) {
    case 'name': {
      const abbr = Object.values(ABBREVIATIONS).find((a) => a.name === n.s);
      return abbr ? abbr.base : n.s;
    }
    case 'nested':
      return baseName(n.inner);
    case 'template':
    case 'abi':
      return baseName(n.name);
    case 'local':
      return baseName(n.entity);
    default:
      throw new Unknown();
  }
}

/** Prints nodes; `pack` is the element of a pack expansion being printed. */
class Printer {
  private pack: number | undefined;
  private budget = MAX_OUTPUT;

  str(n: Node): string {
    if (--this.budget < 0) throw new Unknown();
    switch (n.k) {
      case 'name':
        return n.s;
      case 'nested':
        return `${this.str(n.outer)}::${this.str(n.inner)}`;
      case 'template': {
        const name = this.str(n.name);
        const args = this.list(n.args);
        return `${name}${name.endsWith('<') ? ' ' : ''}<${args}${args.endsWith('>') ? ' ' : ''}>`;
      }
      case 'abi':
        return `${this.str(n.name)}[abi:${n.tag}]`;
      case 'param':
        return this.str(this.resolve(n));
      case 'pack':
        return this.list(n.elems);
      case 'expansion':
        return this.expand(n.t).join(', ');
      case 'encoding':
        return this.encoding(n);
      case 'local':
        // The enclosing function is printed without its return type.
        return `${n.fn.k === 'encoding' ? this.encoding(n.fn, false) : this.str(n.fn)}::${this.str(n.entity)}`;
      case 'special':
        return `${n.prefix}${this.str(n.t)}${n.suffix ?? ''}`;
      case 'clone':
        return `${this.str(n.enc)} [clone ${n.suffix}]`;
      case 'lambda':
        return `{lambda(${this.list(n.params)})#${n.n}}`;
      case 'cast':
        return `operator ${this.str(n.t)}`;
      case 'literal':
        return `(${this.str(n.t)})${n.v}`;
      case 'binary': {
        const e = `(${this.str(n.l)})${n.op}(${this.str(n.r)})`;
        // A '>' is parenthesised: it would end a template argument list.
        return n.op === '>' ? `(${e})` : e;
      }
      case 'scoped':
        return `${this.str(n.t)}::${this.str(n.name)}`;
      default:
        return this.decl(n, '');
    }
  }

  private list(nodes: Node[]): string {
    return nodes
      .map((a) => this.str(a))
      .filter((s) => s !== '')
      .join(', ');
  }

  private resolve(p: Extract<Node, { k: 'param' }>): Node {
    const arg = argsOf(p.scope)?.[p.i];
    if (!arg) throw new Unknown();
    if (arg.k === 'pack' && this.pack !== undefined) {
      const e = arg.elems[this.pack];
      if (!e) throw new Unknown();
      return e;
    }
    return arg;
  }

  /** The elements of a pack expansion: its pattern once per element of the pack it names. */
  private expand(pattern: Node): string[] {
    const size = this.packSize(pattern);
    if (size === undefined) throw new Unknown();
    const saved = this.pack;
    const out: string[] = [];
    for (let i = 0; i < size; i++) {
      this.pack = i;
      out.push(this.str(pattern));
    }
    this.pack = saved;
    return out;
  }

  private packSize(n: Node): number | undefined {
    if (--this.budget < 0) throw new Unknown();
    switch (n.k) {
      case 'param': {
        const arg = argsOf(n.scope)?.[n.i];
        return arg?.k === 'pack' ? arg.elems.length : undefined;
      }
      case 'qual':
      case 'ptr':
      case 'lref':
      case 'rref':
      case 'vendor':
      case 'array':
        return this.packSize(n.t);
      case 'template':
        for (const a of n.args) {
          const s = this.packSize(a);
          if (s !== undefined) return s;
        }
        return undefined;
      default:
        return undefined;
    }
  }

  private encoding(n: Extract<Node, { k: 'encoding' }>, withReturn = true): string {
    const name = this.str(n.name);
    if (!n.fn) return name + n.quals;
    const sig = `${name}(${this.list(n.fn.params)})${n.quals}`;
    if (!n.fn.ret || !withReturn) return sig;
    return this.decl(n.fn.ret, ` ${sig}`);
  }

  /** A type around a declarator `inner` ('' for the type alone), as C declarations nest. */
  private decl(t: Node, inner: string): string {
    if (--this.budget < 0) throw new Unknown();
    switch (t.k) {
      case 'param': {
        const r = this.resolve(t);
        return r.k === 'pack' ? this.str(r) + inner : this.decl(r, inner);
      }
      case 'qual':
        if (t.t.k === 'fn') return this.decl(t.t, inner) + t.q;
        return this.decl(t.t, t.q + inner);
      case 'vendor':
        return this.decl(t.t, t.q + inner);
      case 'ptr':
      case 'lref':
      case 'rref': {
        const sigil = t.k === 'ptr' ? '*' : t.k === 'lref' ? '&' : '&&';
        const target = this.resolved(t.t);
        // References collapse (T& & is T&) when T came from a template argument.
        if (t.k !== 'ptr' && (target.k === 'lref' || target.k === 'rref')) {
          const k = t.k === 'lref' || target.k === 'lref' ? 'lref' : 'rref';
          return this.decl({ k, t: target.t }, inner);
        }
        if (isDeclarator(target)) return this.decl(target, `(${sigil}${inner.trimStart()})`);
        return this.decl(target, sigil + inner);
      }
      case 'member': {
        const cls = this.str(t.cls);
        const target = this.resolved(t.t);
        if (isDeclarator(target)) return this.decl(target, `(${cls}::*${inner.trimStart()})`);
        return this.decl(target, ` ${cls}::*${inner}`);
      }
      case 'fn': {
        if (!t.ret) throw new Unknown();
        return this.decl(t.ret, ` ${inner}(${this.list(t.params)})${t.ref}`);
      }
      case 'array':
        return `${this.str(t.t)} ${inner}${inner ? ' ' : ''}[${t.dim}]`;
      default:
        return this.str(t) + inner;
    }
  }

  /** A type with the template parameters at its top replaced by what they stand for. */
  private resolved(t: Node): Node {
    let r = t;
    while (r.k === 'param') r = this.resolve(r);
    return r;
  }
}

/** Types whose declarator needs parentheses under a pointer or reference. */
function isDeclarator(t: Node): boolean {
  return t.k === 'fn' || t.k === 'array' || (t.k === 'qual' && t.t.k === 'fn');
}
