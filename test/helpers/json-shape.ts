// The shape of a JSON document, for golden tests of the CLI's JSON contract (README "JSON
// output"): field names, the JSON type of each value, and "hex" for "0x..." strings. Values vary
// from machine to machine; their shape is the contract.
//   shapeOf(JSON.parse(out))  →  { "start": "hex", "size": "number", "path": "null|string", ... }
// An array's shape is the merged shape of its elements ([] when it is empty); a field seen with
// several types has them all, sorted and joined by "|". One run rarely shows every type a field
// may have (a path that is null only for anonymous memory, a list that is empty today): a golden
// file may allow more than was seen, and refreshing it (updated) keeps what it allowed.

export type Shape = string | Shape[] | { [field: string]: Shape };

function scalarType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return /^0x[0-9a-f]+$/.test(v) ? 'hex' : 'string';
  return typeof v;
}

const isObject = (s: unknown): s is Record<string, Shape> =>
  typeof s === 'object' && s !== null && !Array.isArray(s);

/** Two shapes as one: the fields of both, every type either has. */
function merge(a: Shape, b: Shape): Shape {
  if (typeof a === 'string' && typeof b === 'string')
    return [...new Set([...a.split('|'), ...b.split('|')])].sort().join('|');
  if (Array.isArray(a) && Array.isArray(b)) {
    const [x] = a;
    const [y] = b;
    return x === undefined ? b : y === undefined ? a : [merge(x, y)];
  }
  if (isObject(a) && isObject(b)) {
    const out: Record<string, Shape> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k]!, v) : v;
    return out;
  }
  throw new Error(`a value is both ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
}

/**
 * A golden shape brought up to date with what was seen: fields no longer seen are dropped (unless
 * `optional`), new fields and types added, the types and element shapes the old one allowed kept.
 */
export function updated(old: Shape | undefined, seen: Shape, optional: ReadonlySet<string>): Shape {
  if (old === undefined) return seen;
  if (typeof old === 'string' && typeof seen === 'string') return merge(old, seen);
  if (Array.isArray(old) && Array.isArray(seen)) {
    const [x] = old;
    const [y] = seen;
    return x === undefined ? seen : y === undefined ? old : [updated(x, y, optional)];
  }
  if (isObject(old) && isObject(seen)) {
    const out: Record<string, Shape> = {};
    for (const [k, v] of Object.entries(seen)) out[k] = updated(old[k], v, optional);
    for (const [k, v] of Object.entries(old)) if (!(k in out) && optional.has(k)) out[k] = v;
    return out;
  }
  return seen;
}

export function shapeOf(v: unknown): Shape {
  if (Array.isArray(v)) return v.length === 0 ? [] : [v.map(shapeOf).reduce(merge)];
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return scalarType(v);
}

/**
 * Where `actual` (a parsed document) does not fit `golden` (a shape): a field the golden does
 * not name, a named field that is absent (unless listed in `optional`), a value of a type the
 * golden does not allow. Empty when it fits.
 */
export function misfits(actual: unknown, golden: Shape, optional: ReadonlySet<string>, at = '$'): string[] {
  if (typeof golden === 'string') {
    const t = Array.isArray(actual) ? 'array' : scalarType(actual);
    return golden.split('|').includes(t) ? [] : [`${at}: ${t}, expected ${golden}`];
  }
  if (Array.isArray(golden)) {
    if (!Array.isArray(actual)) return [`${at}: not an array`];
    const [element] = golden;
    if (element === undefined) return actual.length === 0 ? [] : [`${at}: expected an empty array`];
    return actual.flatMap((x, i) => misfits(x, element, optional, `${at}[${i}]`));
  }
  if (!isObject(actual)) return [`${at}: not an object`];
  const out: string[] = [];
  for (const k of Object.keys(actual)) if (!(k in golden)) out.push(`${at}.${k}: a field the contract lacks`);
  for (const [k, s] of Object.entries(golden)) {
    if (k in actual) out.push(...misfits(actual[k], s, optional, `${at}.${k}`));
    else if (!optional.has(k)) out.push(`${at}.${k}: missing`);
  }
  return out;
}
