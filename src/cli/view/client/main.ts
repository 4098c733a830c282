// The page of `coreshot view`: plain DOM code (no framework), bundled by esbuild into app.js.
// Six views over the server's API: overview, address-space map, threads, hex view, search, notes.
// Addresses travel as "0x..." strings and are BigInt here; nothing is built from HTML strings.

type Hex = string;

interface Source {
  start: Hex;
  end: Hex;
  kind: string;
  reason?: string;
}

interface MappingJson {
  start: Hex;
  end: Hex;
  perms: string;
  offset: Hex;
  size: Hex;
  inCore: Hex;
  coverage: string;
  rest: string | null;
  path: string | null;
  buildId: string | null;
  kind: string;
  sources: Source[];
}

interface Overview {
  kind: 'core' | 'criu';
  summary: Record<string, unknown> & {
    core: string;
    executable: string | null;
    memory: Record<string, Hex>;
    signal: { name: string; number: number; code: number | null; address: Hex | null } | null;
    problems: string[];
  };
  commandCut: boolean;
  elfClass: 32 | 64;
  mappings: MappingJson[];
  notesSource: string;
}

interface FrameJson {
  pc: Hex;
  function: string | null;
  offset: Hex;
  module: string | null;
  file: string | null;
  line: number | null;
  how: string;
  signal: boolean;
  inlined: string[];
}

interface ThreadJson {
  tid: number;
  signal: number;
  pc: Hex;
  sp: Hex;
  pcName: string;
  spName: string;
  registers: [string, Hex][];
  frames: FrameJson[];
  stopped: string | null;
}

// ---------------------------------------------------------------------------------------------
// DOM and formatting helpers

type Child = Node | string | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const $ = (id: string) => document.getElementById(id)!;
const big = (h: Hex | string | number) => BigInt(h);
const hex = (v: bigint, width = 0) => `0x${v.toString(16).padStart(width, '0')}`;

function size(n: bigint | number): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).trim()}`);
  return (await res.json()) as T;
}

/** A link that opens the hex view at `address` (highlighting `length` bytes). */
function addrLink(address: bigint, length = 1, text = hex(address)): HTMLAnchorElement {
  return el('a', { class: 'addr', href: `#hex/${hex(address)}/${length}`, text });
}

function table(rows: [string, Child][], cls = ''): HTMLTableElement {
  return el(
    'table',
    { class: cls },
    ...rows.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', {}, v))),
  );
}

function failure(where: HTMLElement, err: unknown): void {
  where.replaceChildren(el('p', { class: 'error', text: String(err instanceof Error ? err.message : err) }));
}

// ---------------------------------------------------------------------------------------------
// Tabs

const TABS = ['overview', 'map', 'threads', 'hex', 'search', 'notes'] as const;
type Tab = (typeof TABS)[number];
const shown = new Set<Tab>();

let overview: Overview;
let threadsPromise: Promise<ThreadJson[]> | undefined;
const threads = () => {
  threadsPromise ??= api<{ threads: ThreadJson[] }>('/api/threads').then((r) => r.threads);
  return threadsPromise;
};

function route(): void {
  const [name, ...args] = location.hash.slice(1).split('/');
  const tab: Tab = (TABS as readonly string[]).includes(name ?? '') ? (name as Tab) : 'overview';
  for (const t of TABS) {
    $(t).classList.toggle('active', t === tab);
    document.querySelector(`nav a[data-tab=${t}]`)?.classList.toggle('active', t === tab);
  }
  if (!shown.has(tab)) {
    shown.add(tab);
    RENDER[tab]();
  }
  if (tab === 'hex') hexView.show(args);
}

const RENDER: Record<Tab, () => void> = {
  overview: renderOverview,
  map: renderMap,
  threads: () => void renderThreads(),
  hex: () => hexView.build(),
  search: renderSearch,
  notes: () => void renderNotes(),
};

// ---------------------------------------------------------------------------------------------
// Overview: what `coreshot info` shows

function renderOverview(): void {
  const s = overview.summary;
  const m = s.memory;
  const sig = s.signal
    ? `${s.signal.name} (${s.signal.number})${s.signal.code !== null ? `, code ${s.signal.code}` : ''}${s.signal.address ? `, fault address ${s.signal.address}` : ''}`
    : 'none (not killed by a signal)';
  const files = s.mappedFiles as {
    total: number;
    used: number;
    missing: string[];
    buildIdMismatch: string[];
  };
  const total = (['inCore', 'fromFiles', 'unavailable', 'notInCore'] as const).reduce(
    (n, k) => n + big(m[k] ?? '0'),
    0n,
  );
  const bar = el('div', { class: 'bar' });
  for (const [k, cls] of [
    ['inCore', 'src-core'],
    ['fromFiles', 'src-file'],
    ['unavailable', 'src-missing'],
    ['notInCore', 'src-missing'],
  ] as const) {
    const part = el('div', { class: cls, title: `${k}: ${size(big(m[k] ?? '0'))}` });
    part.style.flexGrow = total ? String(Number((big(m[k] ?? '0') * 10000n) / total)) : '0';
    bar.append(part);
  }
  const rows: [string, Child][] = [
    ['target', `${s.core} (${size(big(String(s.fileSize)))}, ${s.format} ${s.arch}, ${s.producer})`],
    ['executable', el('span', { id: 'ov-executable', text: s.executable ?? 'unknown' })],
    [
      'command',
      `${s.command || '(unknown)'}${overview.commandCut ? ' … (cut at 80 bytes by the core format)' : ''}`,
    ],
    ['process', `pid ${s.pid}  ppid ${s.ppid}  uid ${s.uid}  gid ${s.gid}  state ${s.state}`],
    ['signal', sig],
    ['threads', String(s.threads)],
    [
      'mappings',
      `${s.mappings}: ${size(big(m.inCore!))} in core, ${size(big(m.fromFiles!))} from mapped files, ${size(big(m.notInCore!))} not in core${big(m.unavailable!) ? `, ${size(big(m.unavailable!))} unavailable (file missing or changed)` : ''}`,
    ],
    ['memory', bar],
    [
      'files',
      `${files.total} mapped: ${files.used} used for missing pages, ${files.missing.length} missing, ${files.buildIdMismatch.length} build-id mismatch`,
    ],
  ];
  if (big(m.truncated ?? '0'))
    rows.push(['truncated', `${size(big(m.truncated!))} of segment data lies past the end of the file`]);
  for (const f of files.missing)
    rows.push(['missing', `${f} (use --root DIR to look for mapped files elsewhere)`]);
  rows.push(['problems', s.problems.length ? s.problems.join('; ') : 'none']);
  $('overview').replaceChildren(el('h2', { text: 'Overview' }), table(rows, 'overview-table'));
}

// ---------------------------------------------------------------------------------------------
// Address-space map: every mapping in address order, width growing with log2 of its size

const KINDS = ['executable', 'library', 'heap', 'stack', 'anonymous', 'file', 'special'];
const SOURCES: [string, string][] = [
  ['core', 'in the core'],
  ['file', 'from the mapped file'],
  ['zero', 'zero fill'],
  ['missing', 'missing'],
];

function blockWidth(bytes: bigint): number {
  return Math.round(10 + 9 * Math.log2(Math.max(1, Number(bytes) / 4096)));
}

function mappingDetails(m: MappingJson): HTMLElement {
  const start = big(m.start);
  return el(
    'div',
    {},
    table([
      ['range', el('span', {}, addrLink(start), ` – ${m.end}`)],
      ['kind', m.kind],
      ['file', m.path ?? '(anonymous)'],
      ['permissions', m.perms],
      ['size', `${size(big(m.size))} (${m.size})`],
      ['file offset', m.offset],
      ['in core', `${size(big(m.inCore))} (${m.coverage})${m.rest ? `; the rest: ${m.rest}` : ''}`],
      ['build-id', m.buildId ?? '—'],
      [
        'bytes from',
        m.sources.map((s) => `${s.start}–${s.end} ${s.kind}${s.reason ? ` (${s.reason})` : ''}`).join(', '),
      ],
    ]),
  );
}

function renderMap(): void {
  const details = el(
    'div',
    { id: 'map-details' },
    el('span', { class: 'muted', text: 'Hover over a mapping for its details; click to keep them.' }),
  );
  let pinned: HTMLElement | undefined;
  const blocks = el('div', { class: 'map-blocks' });
  let prevEnd: bigint | undefined;
  overview.mappings.forEach((m, i) => {
    const start = big(m.start);
    const end = big(m.end);
    if (prevEnd !== undefined && start > prevEnd)
      blocks.append(el('div', { class: 'map-gap', title: `unmapped: ${size(start - prevEnd)}` }));
    prevEnd = end;
    const sources = el('div', { class: 'sources' });
    for (const s of m.sources) {
      const part = el('div', {
        class: `src-${s.kind}`,
        title: `${s.kind}${s.reason ? ` (${s.reason})` : ''}`,
      });
      part.style.flexGrow = String(Number(big(s.end) - big(s.start)) / Number(end - start));
      sources.append(part);
    }
    const block = el(
      'div',
      {
        class: `map-block kind-${m.kind}`,
        'data-index': String(i),
        title: `${m.start}–${m.end} ${m.perms} ${size(end - start)} ${m.kind}${m.path ? ` ${m.path}` : ''}`,
      },
      el('div', { class: 'kind' }),
      sources,
    );
    block.style.width = `${blockWidth(end - start)}px`;
    block.addEventListener('mouseenter', () => {
      if (!pinned) details.replaceChildren(mappingDetails(m));
    });
    block.addEventListener('click', () => {
      pinned?.classList.remove('selected');
      pinned = pinned === block ? undefined : block;
      pinned?.classList.add('selected');
      details.replaceChildren(mappingDetails(m));
    });
    blocks.append(block);
  });
  const legend = el(
    'div',
    { class: 'legend' },
    el('b', { text: 'kind:' }),
    ...KINDS.map((k) => el('span', { class: `kind-${k}`, text: k })),
    el('b', { text: 'bytes:' }),
    ...SOURCES.map(([k, t]) => el('span', { class: `src-${k}`, text: t })),
  );
  const rows = overview.mappings.map((m) =>
    el(
      'tr',
      {},
      el('td', { class: 'mono' }, addrLink(big(m.start), 1, m.start), ` – ${m.end}`),
      el('td', { class: 'mono', text: m.perms }),
      el('td', { text: size(big(m.size)) }),
      el('td', { text: m.coverage === 'partial' ? size(big(m.inCore)) : m.coverage }),
      el('td', { text: m.rest ?? '-' }),
      el('td', { text: m.kind }),
      el('td', { class: 'mono', text: m.path ?? '' }),
    ),
  );
  const head = el(
    'tr',
    {},
    ...['range', 'perm', 'size', 'in core', 'rest', 'kind', 'file'].map((t) => el('th', { text: t })),
  );
  $('map').replaceChildren(
    el('h2', { text: `Address space: ${overview.mappings.length} mappings` }),
    legend,
    blocks,
    details,
    el('table', { class: 'maps-table' }, head, ...rows),
  );
}

// ---------------------------------------------------------------------------------------------
// Threads: registers and backtraces

function frameLine(i: number, f: FrameJson): HTMLLIElement {
  const where = f.module ? f.module.slice(f.module.lastIndexOf('/') + 1) : '??';
  const name = f.function ?? (f.module ? `?? (${where}+${f.offset})` : '??');
  return el(
    'li',
    { class: 'frame' },
    `#${i}  `,
    addrLink(big(f.pc)),
    ` in ${f.inlined.length ? `${f.inlined.join(' ← ')} ← ` : ''}${name}${f.function ? ` (${where})` : ''}${f.file ? ` at ${f.file}${f.line !== null ? `:${f.line}` : ''}` : ''}${f.signal ? ' <signal handler called>' : ''}`,
    el('span', { class: 'muted', text: `  [${f.how}]` }),
  );
}

async function renderThreads(): Promise<void> {
  const root = $('threads');
  root.replaceChildren(el('p', { class: 'loading', text: 'Unwinding the stacks…' }));
  try {
    const list = await threads();
    const cards = list.map((t) =>
      el(
        'div',
        { class: 'thread', 'data-tid': String(t.tid) },
        el(
          'h3',
          {},
          `Thread ${t.tid}${t.signal ? `  (signal ${t.signal})` : ''}  ${t.pcName} `,
          addrLink(big(t.pc)),
          `  ${t.spName} `,
          addrLink(big(t.sp), 8),
        ),
        el('ol', { class: 'frames' }, ...t.frames.map((f, i) => frameLine(i, f))),
        t.stopped ? el('p', { class: 'muted', text: `Backtrace stopped: ${t.stopped}` }) : null,
        el(
          'details',
          {},
          el('summary', { text: 'registers' }),
          el(
            'div',
            { class: 'regs' },
            ...t.registers.map(([k, v]) => el('span', {}, `${k.padStart(8)} `, addrLink(big(v), 8, v))),
          ),
        ),
      ),
    );
    root.replaceChildren(el('h2', { text: `Threads (${list.length})` }), ...cards);
  } catch (err) {
    failure(root, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Hex view: rows of 16 bytes through the whole address space; the gaps between mappings are one
// row each. Pages of 4 KiB are fetched as they come into view and kept in a small cache.

const PAGE = 4096n;
const MAX_PAGES = 256;
const END = 1n << 64n;

interface Page {
  data: Uint8Array;
  missing: { start: bigint; end: bigint; reason: string }[];
}

interface Segment {
  start: bigint;
  end: bigint;
  mapped: boolean;
  /** Mapped bytes below this segment (the scroll track skips the gaps). */
  before: bigint;
}

class HexView {
  private rows = 32;
  private top = 0n;
  private hl: [bigint, bigint] = [0n, 0n];
  private segments: Segment[] = [];
  private mapped = 0n;
  private readonly pages = new Map<bigint, Page | 'loading'>();
  private rowsBox!: HTMLElement;
  private thumb!: HTMLElement;
  private track!: HTMLElement;
  private status!: HTMLElement;
  private built = false;

  build(): void {
    if (this.built) return;
    this.built = true;
    let at = 0n;
    for (const m of overview.mappings) {
      const s = big(m.start);
      const e = big(m.end);
      if (s < at) continue;
      if (s > at) this.segments.push({ start: at, end: s, mapped: false, before: this.mapped });
      this.segments.push({ start: s, end: e, mapped: true, before: this.mapped });
      this.mapped += e - s;
      at = e;
    }
    if (at < END) this.segments.push({ start: at, end: END, mapped: false, before: this.mapped });
    const input = el('input', { type: 'text', id: 'hex-goto', placeholder: 'address, $register or symbol' });
    const form = el('form', { class: 'hex-tools' }, input, el('button', { type: 'submit', text: 'Go' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.goto(input.value);
    });
    this.rowsBox = el('div', { class: 'hex-rows', id: 'hex-rows' });
    this.thumb = el('div', { class: 'hex-thumb' });
    this.track = el(
      'div',
      { class: 'hex-track', title: 'drag: the mapped address space, gaps skipped' },
      this.thumb,
    );
    const wrap = el('div', { class: 'hex-wrap', tabindex: '0' }, this.rowsBox, this.track);
    this.status = el('div', { id: 'hex-status' });
    $('hex').replaceChildren(el('h2', { text: 'Memory' }), form, wrap, this.status);
    wrap.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      this.scroll(Math.sign(ev.deltaY) * (Math.abs(ev.deltaY) > 50 ? 3 : 1));
    });
    wrap.addEventListener('keydown', (ev) => {
      const step = { ArrowDown: 1, ArrowUp: -1, PageDown: this.rows - 1, PageUp: 1 - this.rows }[ev.key];
      if (step === undefined) return;
      ev.preventDefault();
      this.scroll(step);
    });
    const drag = (ev: MouseEvent) => {
      const r = this.track.getBoundingClientRect();
      const f = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
      this.top = this.rowStart(this.fromFraction(f));
      this.render();
    };
    this.track.addEventListener('mousedown', (ev) => {
      drag(ev);
      const up = () => window.removeEventListener('mousemove', drag);
      window.addEventListener('mousemove', drag);
      window.addEventListener('mouseup', up, { once: true });
    });
    this.rows = Math.max(8, Math.floor((window.innerHeight - 220) / 18));
    const first = this.segments.find((s) => s.mapped);
    this.top = first ? first.start : 0n;
  }

  /** `#hex/ADDRESS/LENGTH`: show the address at the top, its bytes highlighted. */
  show(args: string[]): void {
    const [addr, len] = args;
    if (addr && /^(0x[0-9a-f]+|[0-9]+)$/i.test(addr)) {
      const a = big(addr);
      this.hl = [a, a + BigInt(Number(len ?? '1') || 1)];
      this.top = this.rowStart(a);
      this.status.textContent = `${hex(a)}${this.segmentAt(a).mapped ? '' : ' is not mapped'}`;
    }
    this.render();
  }

  private async goto(expr: string): Promise<void> {
    try {
      const r = await api<{ address: Hex }>(`/api/resolve?expr=${encodeURIComponent(expr.trim())}`);
      location.hash = `#hex/${r.address}/1`;
    } catch (err) {
      this.status.textContent = String(err instanceof Error ? err.message : err);
    }
  }

  private segmentAt(a: bigint): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.start <= a) lo = mid;
      else hi = mid - 1;
    }
    return this.segments[lo]!;
  }

  /** The first address of the row holding `a`. */
  private rowStart(a: bigint): bigint {
    const s = this.segmentAt(a);
    if (!s.mapped) return s.start;
    const r = a - (a % 16n);
    return r < s.start ? s.start : r;
  }

  private next(a: bigint): bigint | undefined {
    const s = this.segmentAt(a);
    const n = s.mapped ? a - (a % 16n) + 16n : s.end;
    return n >= END ? undefined : n < s.end ? n : s.end;
  }

  private prev(a: bigint): bigint | undefined {
    if (a === 0n) return undefined;
    return this.rowStart(a - 1n);
  }

  private scroll(rows: number): void {
    let a = this.top;
    for (let i = 0; i < Math.abs(rows); i++) {
      const n = rows > 0 ? this.next(a) : this.prev(a);
      if (n === undefined) break;
      a = n;
    }
    this.top = a;
    this.render();
  }

  private fraction(a: bigint): number {
    const s = this.segmentAt(a);
    const inside = s.mapped ? a - s.start : 0n;
    return this.mapped ? Number(((s.before + inside) * 100000n) / this.mapped) / 100000 : 0;
  }

  private fromFraction(f: number): bigint {
    const want = (this.mapped * BigInt(Math.round(f * 100000))) / 100000n;
    const s =
      this.segments.find((x) => x.mapped && want < x.before + (x.end - x.start)) ??
      [...this.segments].reverse().find((x) => x.mapped);
    if (!s) return 0n;
    return s.start + (want - s.before < s.end - s.start ? want - s.before : 0n);
  }

  private page(base: bigint): Page | undefined {
    const got = this.pages.get(base);
    if (got === 'loading') return undefined;
    if (got) return got;
    this.pages.set(base, 'loading');
    void fetch(`/api/memory?addr=${hex(base)}&len=${PAGE}`, { credentials: 'same-origin' })
      .then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}`);
        const missing = (
          JSON.parse(res.headers.get('X-Missing') ?? '[]') as { start: Hex; end: Hex; reason: string }[]
        ).map((m) => ({ start: big(m.start), end: big(m.end), reason: m.reason }));
        this.pages.set(base, { data: new Uint8Array(await res.arrayBuffer()), missing });
        while (this.pages.size > MAX_PAGES) this.pages.delete(this.pages.keys().next().value!);
        this.render();
      })
      .catch((err: unknown) => {
        this.pages.delete(base);
        this.status.textContent = `reading ${hex(base)}: ${String(err)}`;
      });
    return undefined;
  }

  private render(): void {
    if (!this.built) return;
    const width = overview.elfClass === 64 ? 16 : 8;
    const out: HTMLElement[] = [];
    let a: bigint | undefined = this.top;
    let pending = 0;
    for (let i = 0; i < this.rows && a !== undefined; i++) {
      const s = this.segmentAt(a);
      if (!s.mapped) {
        out.push(
          el('div', {
            class: 'hex-row gap',
            text: `${hex(s.start, width)}–${hex(s.end === END ? END - 1n : s.end, width)}  unmapped (${size(s.end - s.start)})`,
          }),
        );
      } else {
        const row = this.row(a, s, width);
        if (row.classList.contains('pending')) pending++;
        out.push(row);
      }
      a = this.next(a);
    }
    this.rowsBox.replaceChildren(...out);
    this.rowsBox.dataset.pending = String(pending);
    this.thumb.style.top = `calc(${(this.fraction(this.top) * 100).toFixed(3)}% - ${this.fraction(this.top) * 12}px)`;
  }

  private row(a: bigint, s: Segment, width: number): HTMLElement {
    const base = a - (a % PAGE);
    const page = this.page(base);
    const row = el('div', { class: `hex-row${page ? '' : ' pending'}`, 'data-addr': hex(a) });
    row.append(el('span', { class: 'a', text: `${hex(a, width)}  ` }));
    const chars: HTMLElement[] = [];
    for (let i = 0n; i < 16n; i++) {
      const at = a + i;
      const sep = i === 7n ? '  ' : ' ';
      if (at < s.start || at >= s.end) {
        row.append(el('span', { class: 'b', text: `  ${sep}` }));
        chars.push(el('span', { class: 'c', text: ' ' }));
        continue;
      }
      const hl = at >= this.hl[0] && at < this.hl[1] ? ' hl' : '';
      const miss = page?.missing.find((m) => m.start <= at && at < m.end);
      if (!page || miss) {
        const b = el('span', { class: `b${page ? ' m' : ''}${hl}`, text: `${page ? '??' : '··'}` });
        if (miss) b.title = `${hex(miss.start)}–${hex(miss.end)}: ${miss.reason}`;
        row.append(b, sep);
        chars.push(el('span', { class: `c${hl}`, text: ' ' }));
        continue;
      }
      const v = page.data[Number(at - base)]!;
      row.append(el('span', { class: `b${hl}`, text: v.toString(16).padStart(2, '0') }), sep);
      chars.push(el('span', { class: `c${hl}`, text: v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : '.' }));
    }
    row.append(' |', ...chars, '|');
    return row;
  }
}

const hexView = new HexView();

// ---------------------------------------------------------------------------------------------
// Search: server-sent events from /api/search (progress, hits, done)

function renderSearch(): void {
  const input = el('input', {
    type: 'text',
    id: 'search-text',
    placeholder: 'text, hex bytes or regular expression',
  });
  const kind = el(
    'select',
    { id: 'search-kind' },
    ...['text', 'hex', 'regex'].map((k) => el('option', { value: k, text: k })),
  );
  const enc = el(
    'select',
    { id: 'search-enc' },
    el('option', { value: 'both', text: 'UTF-8 and UTF-16LE' }),
    el('option', { value: 'utf-8', text: 'ASCII / UTF-8' }),
    el('option', { value: 'utf-16le', text: 'UTF-16LE' }),
  );
  const icase = el('input', { type: 'checkbox', id: 'search-icase' });
  const button = el('button', { type: 'submit', id: 'search-go', text: 'Search' });
  const form = el(
    'form',
    { class: 'search-form' },
    input,
    kind,
    enc,
    el('label', {}, icase, ' ignore case (regex)'),
    button,
  );
  const progress = el('progress', { id: 'search-progress', max: '1', value: '0' });
  const status = el('div', { id: 'search-status', class: 'muted' });
  const hits = el('ol', { id: 'search-hits', class: 'hits mono' });
  let source: EventSource | undefined;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    source?.close();
    hits.replaceChildren();
    progress.value = 0;
    const q = new URLSearchParams({
      q: input.value,
      kind: kind.value,
      enc: enc.value,
      icase: icase.checked ? '1' : '0',
    });
    const started = performance.now();
    let count = 0;
    let done = 0;
    let total = 1;
    const say = (end = '') => {
      const secs = (performance.now() - started) / 1000;
      status.textContent = `${size(done)} of ${size(total)} searched, ${count} hit${count === 1 ? '' : 's'}, ${(done / 2 ** 20 / Math.max(secs, 0.001)).toFixed(0)} MiB/s${end}`;
    };
    source = new EventSource(`/api/search?${q}`);
    source.addEventListener('progress', (e) => {
      const p = JSON.parse((e as MessageEvent<string>).data) as { done: Hex; total: Hex };
      done = Number(big(p.done));
      total = Number(big(p.total));
      progress.value = done / total;
      say();
    });
    source.addEventListener('hit', (e) => {
      const h = JSON.parse((e as MessageEvent<string>).data) as {
        address: Hex;
        length: number;
        form: string;
        mapping: string | null;
      };
      count++;
      hits.append(
        el(
          'li',
          { class: 'hit', 'data-addr': h.address },
          addrLink(big(h.address), h.length),
          `  ${h.form}, ${h.length} bytes in ${h.mapping ?? 'anonymous memory'}`,
        ),
      );
    });
    source.addEventListener('done', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { capped: boolean; ms: number };
      source?.close();
      progress.value = 1;
      done = total;
      say(d.capped ? ' — stopped at 1000 hits' : ' — done');
      status.dataset.done = '1';
    });
    source.addEventListener('failed', (e) => {
      source?.close();
      status.textContent = `search failed: ${(e as MessageEvent<string>).data}`;
    });
    source.onerror = () => {
      if (status.dataset.done !== '1') status.textContent = 'search failed (bad pattern?)';
      source?.close();
    };
    status.dataset.done = '0';
  });
  $('search').replaceChildren(el('h2', { text: 'Search memory' }), form, el('p', {}, progress), status, hits);
}

// ---------------------------------------------------------------------------------------------
// Notes: every note decoded, as `coreshot notes` shows them

async function renderNotes(): Promise<void> {
  const root = $('notes');
  try {
    const r = await api<{
      source: string;
      notes: { owner: string; typeName: string; size: number; offset: Hex; decoded?: unknown }[];
    }>('/api/notes');
    root.replaceChildren(
      el('h2', { text: `Notes (${r.notes.length}, ${r.source})` }),
      ...r.notes.map((n) =>
        el(
          'div',
          { class: 'note' },
          el('h3', { text: `${n.owner} ${n.typeName} (${n.size} bytes at ${n.offset})` }),
          n.decoded === undefined ? null : el('pre', { text: JSON.stringify(n.decoded, null, 2) }),
        ),
      ),
    );
  } catch (err) {
    failure(root, err);
  }
}

// ---------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  try {
    overview = await api<Overview>('/api/overview');
  } catch (err) {
    failure($('overview'), err);
    return;
  }
  $('title').textContent =
    `${overview.summary.core} — ${overview.summary.executable ?? overview.summary.comm}`;
  document.title = `coreshot view — ${overview.summary.comm || overview.summary.core}`;
  window.addEventListener('hashchange', route);
  route();
  // Milliseconds from the start of the navigation to the overview drawn (the benchmark reads it).
  document.body.dataset.paintMs = performance.now().toFixed(0);
  document.body.dataset.ready = '1';
}

void start();
