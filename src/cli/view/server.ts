// The HTTP server behind `coreshot view`: loopback only, every request checked for the Host header
// (no DNS rebinding) and the access token (query parameter once, then an HttpOnly SameSite=Strict
// cookie, or an X-Coreshot-Token header), no CORS, a strict Content-Security-Policy. Serves the
// page's bundled assets and a small JSON/binary API over the opened target.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { imageLookup, isAddressError, resolveAddress } from '../../analysis/address-expr.js';
import { parseHexBytes, type SearchPattern } from '../../analysis/find.js';
import { MAX_MATCH, searchInPieces } from './search.js';
import type { ViewTarget } from './target.js';

/** The most bytes one memory request returns (the page asks for 4 KiB pages). */
const MAX_READ = 1 << 16;
/** Search hits sent before the search stops. */
const MAX_HITS = 1000;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** The page's files: name → content type. */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/**
 * Where the bundled assets lie relative to this code: dist/bin/ (the CLI bundle), dist/cli/view/
 * (tsc's output) or src/cli/view/ (run from source after a build).
 */
const ASSET_DIRS = ['../view/', '../../view/', '../../../dist/view/'];

function assetDir(): string {
  for (const rel of ASSET_DIRS) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('the page of coreshot view is not built (npm run build)');
}

export interface ViewServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(target: ViewTarget, port: number): Promise<ViewServer> {
  const dir = assetDir();
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(`${dir}${name}`)]));
  const token = randomBytes(24).toString('hex');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const cookie = `coreshot_view_${bound}`;
  const hosts = new Set([`127.0.0.1:${bound}`, `localhost:${bound}`]);
  const api = apiRoutes(target);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!hosts.has(req.headers.host ?? '')) return fail(res, 421, 'wrong Host header');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${bound}`);
    if (req.method !== 'GET') return fail(res, 405, 'only GET');
    const given = url.searchParams.get('token');
    if (given !== null && url.pathname === '/' && same(given, token)) {
      // The token leaves the address bar: from now on it travels as a cookie.
      res.setHeader('Set-Cookie', `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      res.writeHead(303, { Location: '/' }).end();
      return;
    }
    const sent = req.headers['x-coreshot-token'] ?? cookieValue(req.headers.cookie, cookie);
    if (typeof sent !== 'string' || !same(sent, token)) return fail(res, 401, 'access token required');
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const asset = assets.get(name);
    if (asset) {
      res.writeHead(200, { 'Content-Type': ASSETS[name]! }).end(asset);
      return;
    }
    const route = api[url.pathname];
    if (!route) return fail(res, 404, 'no such page');
    try {
      route(url.searchParams, res, req);
    } catch (err) {
      fail(res, err instanceof RequestError ? 400 : 500, err instanceof Error ? err.message : String(err));
    }
  });
  return {
    url: `http://127.0.0.1:${bound}/?token=${token}`,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A request the API cannot answer as asked (400). */
class RequestError extends Error {}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function fail(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}

/**
 * The page's own wire format (not the CLI's --json contract): every bigint, size or address, is a
 * "0x..." string, which the page turns back into a BigInt; bytes are a hex string.
 */
function wire(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    if (typeof raw === 'bigint') return `0x${raw.toString(16)}`;
    if (raw instanceof Uint8Array) return Buffer.from(raw).toString('hex');
    return v;
  });
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(wire(value));
}

function address(text: string | null, what: string): bigint {
  if (text === null || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(text.trim())) throw new RequestError(`bad ${what}`);
  return BigInt(text.trim());
}

type Route = (q: URLSearchParams, res: ServerResponse, req: IncomingMessage) => void;

function apiRoutes(target: ViewTarget): Record<string, Route> {
  const { image, report } = target;
  return {
    '/api/overview': (_q, res) =>
      json(res, {
        kind: target.kind,
        summary: report.summary,
        commandCut: report.commandCut,
        elfClass: report.elfClass,
        mappings: report.mappings.map((m, i) => ({ ...m, kind: target.kinds[i] })),
        notesSource: target.notesSource,
      }),
    '/api/threads': (_q, res) => json(res, { threads: target.threads() }),
    '/api/notes': (_q, res) => json(res, { source: target.notesSource, notes: target.notes }),
    // Raw bytes; the ranges the image cannot supply (zeros in the body) in X-Missing as JSON.
    '/api/memory': (q, res) => {
      const at = address(q.get('addr'), 'addr');
      const len = Number(q.get('len') ?? '4096');
      if (!Number.isInteger(len) || len < 1 || len > MAX_READ) throw new RequestError('bad len');
      if (at + BigInt(len) > 1n << 64n) throw new RequestError('past the end of the address space');
      const r = image.memory.read(at, len);
      res
        .writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'X-Missing': JSON.stringify(
            r.missing.map((m) => ({
              start: `0x${m.start.toString(16)}`,
              end: `0x${m.end.toString(16)}`,
              reason: m.reason,
            })),
          ),
        })
        .end(r.data);
    },
    // An address expression: numbers, `$register` (of thread `tid`, default the first) and
    // symbol names joined by + and - (analysis/address-expr.ts).
    '/api/resolve': (q, res) => {
      const found = resolve(target, q.get('expr') ?? '', q.get('tid'));
      if (isAddressError(found)) return fail(res, 404, found.what);
      json(res, { address: found });
    },
    // Server-sent events: `progress`, `hit` and, at the end, `done`.
    '/api/search': (q, res, req) => {
      const pattern = searchPattern(q);
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const controller = new AbortController();
      req.on('close', () => controller.abort());
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${wire(data)}\n\n`);
      const started = performance.now();
      searchInPieces(image, pattern, {
        maxHits: MAX_HITS,
        signal: controller.signal,
        onHit: (h) =>
          send('hit', {
            address: h.address,
            length: h.length,
            form: h.form,
            mapping: h.mapping.path ?? null,
          }),
        onProgress: (p) => send('progress', { done: p.bytesDone, total: p.bytesTotal }),
      }).then(
        (capped) =>
          res.end(
            `event: done\ndata: ${JSON.stringify({ capped, ms: Math.round(performance.now() - started) })}\n\n`,
          ),
        (err: unknown) => res.end(`event: failed\ndata: ${JSON.stringify(String(err))}\n\n`),
      );
    },
  };
}

function resolve(target: ViewTarget, expr: string, tid: string | null) {
  const lookup = imageLookup(target.image, tid === null ? undefined : Number(tid), (name) =>
    target.symbol(name),
  );
  return isAddressError(lookup) ? lookup : resolveAddress(expr, lookup);
}

function searchPattern(q: URLSearchParams): SearchPattern {
  const text = q.get('q') ?? '';
  if (!text) throw new RequestError('empty pattern');
  switch (q.get('kind')) {
    case 'hex': {
      const bytes = parseHexBytes(text);
      if (!bytes || bytes.length > MAX_MATCH) throw new RequestError('hex bytes expected');
      return { kind: 'bytes', bytes };
    }
    case 'regex':
      try {
        new RegExp(text);
      } catch (err) {
        throw new RequestError(`not a regular expression: ${(err as Error).message}`);
      }
      return { kind: 'regex', source: text, ignoreCase: q.get('icase') === '1' };
    default: {
      if (text.length > MAX_MATCH / 2) throw new RequestError('text too long');
      const enc = q.get('enc');
      return {
        kind: 'text',
        text,
        encodings: enc === 'utf-8' ? ['utf-8'] : enc === 'utf-16le' ? ['utf-16le'] : ['utf-8', 'utf-16le'],
      };
    }
  }
}
