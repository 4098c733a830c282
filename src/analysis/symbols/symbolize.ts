/**
 * Names a pc of a process image: module, function, offset, file:line and the inlined calls at it,
 * so that the frames equal gdb's `bt`.
 *
 *   symbolize(modules: ModuleSet, pc: bigint, { isCallSite }): Symbolized
 *
 * `isCallSite` is true for a return address (every frame but the innermost and those interrupted
 * by a signal): the call instruction before it is what is looked up, as gdb does (pc - 1).
 * A Symbolized stands for gdb's frames at that pc: `inlined` (innermost first) are the functions
 * inlined there, each shown by gdb as a frame of its own; then the physical frame: `function`,
 * `file`, `line` (for an inlined call, the line of the call site in the caller). C++ names are
 * demangled, the mangled one kept beside (`mangled`). Never throws:
 * missing or malformed symbols and debug info give a `reason` and fewer fields.
 */
import type { Module, ModuleSet } from '../modules.js';
import { demangle } from './demangle.js';
import { moduleDwarf } from './dwarf/for-module.js';
import type { DwarfAnswer } from './dwarf/lookup.js';
import { symbolIndex } from './symtab.js';

export interface SourceFrame {
  function: string | null;
  /** The Itanium-mangled name `function` was demangled from. */
  mangled?: string;
  file?: string;
  line?: number;
}

export interface Symbolized extends SourceFrame {
  pc: bigint;
  /** pc minus the start of `function`'s symbol, or of the module's link-time addresses (module+offset). */
  offset: bigint;
  /** The module's path as the image records it; null when no module maps the pc. */
  module: string | null;
  buildId?: string;
  /** Functions inlined at the pc, innermost first: gdb's frames before the physical one. */
  inlined: SourceFrame[];
  /** Why something is missing (no symbol, no line info, malformed debug info). */
  reason?: string;
}

export interface SymbolizeOptions {
  isCallSite: boolean;
}

export function symbolize(modules: ModuleSet, pc: bigint, opts: SymbolizeOptions): Symbolized {
  const module = modules.find(pc);
  if (!module)
    return {
      pc,
      function: null,
      offset: pc,
      module: null,
      inlined: [],
      reason: 'no module maps this address',
    };
  const link = pc - module.bias;
  const at = opts.isCallSite ? link - 1n : link;
  const reasons: string[] = [];
  if (module.reason) reasons.push(module.reason);
  const symbol = safely(() => symbolIndex(module), reasons);
  if (symbol) reasons.push(...symbol.problems);
  const sym = symbol?.lookup(at);
  const dwarf = dwarfAt(module, at, reasons);
  const out: Symbolized = {
    pc,
    function: sym?.name ?? null,
    offset: sym ? link - sym.start : link,
    module: module.path,
    inlined: [],
  };
  if (module.buildId) out.buildId = module.buildId;
  if (dwarf) place(out, dwarf, link);
  if (!out.function) reasons.push('no symbol names this address');
  readable(out);
  for (const f of out.inlined) readable(f);
  if (reasons.length > 0) out.reason = reasons.join('; ');
  return out;
}

/** Fills function, file:line and the inlined frames from DWARF. */
function place(out: Symbolized, dwarf: DwarfAnswer, link: bigint): void {
  const [outer, ...inner] = dwarf.scopes;
  // The symbol's mangled name says more than a DWARF name without a linkage name (g++ gives
  // none to lambdas and to functions in anonymous namespaces) when both start there.
  const mangledSymbol = out.function?.startsWith('_Z') && outer && link - out.offset === outer.low;
  if (outer?.name && !(mangledSymbol && !outer.name.startsWith('_Z'))) {
    if (!out.function) out.offset = link - outer.low;
    out.function = outer.name;
  }
  // The innermost frame is at the line table row; each enclosing one at the call site of the
  // scope nested in it.
  let file = dwarf.row?.file;
  let line = dwarf.row?.line;
  for (let i = inner.length - 1; i >= 0; i--) {
    const scope = inner[i]!;
    out.inlined.push(frame(scope.name, file, line));
    file = scope.callFile;
    line = scope.callLine;
  }
  if (file !== undefined) out.file = file;
  if (line !== undefined) out.line = line;
}

/** Demangles a frame's function name in place, keeping the mangled one. */
function readable(f: SourceFrame): void {
  const name = f.function;
  const plain = name === null ? null : demangle(name);
  if (name === null || plain === null) return;
  f.mangled = name;
  f.function = plain;
}

function frame(fn: string | null, file: string | undefined, line: number | undefined): SourceFrame {
  const f: SourceFrame = { function: fn };
  if (file !== undefined) f.file = file;
  if (line !== undefined) f.line = line;
  return f;
}

function dwarfAt(module: Module, at: bigint, reasons: string[]): DwarfAnswer | undefined {
  const index = moduleDwarf(module);
  if (typeof index === 'string') {
    reasons.push(`no line info (${index})`);
    return undefined;
  }
  return safely(() => index.lookup(at), reasons, 'no line info');
}

function safely<T>(f: () => T, reasons: string[], what?: string): T | undefined {
  try {
    return f();
  } catch (err) {
    const msg = (err as Error).message;
    reasons.push(what ? `${what} (${msg})` : msg);
    return undefined;
  }
}
