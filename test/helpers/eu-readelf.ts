/**
 * `eu-readelf -n CORE`, parsed: the reference the differential tests compare coreshot against.
 *
 * eu-readelf prints each note as a header line (`  OWNER  SIZE  TYPE`) and an indented body of
 * `name: value` pairs. This module turns that into typed data: every note (owner, type name, size,
 * raw `name: value` fields), the threads (one per NT_PRSTATUS, with pid and every register), the
 * process (NT_PRPSINFO), the auxv entries and the NT_FILE entries.
 *
 * Register values: eu-readelf prints a register in decimal (signed, at the word size of the core)
 * or in hex (zero-padded to the width it shows: x86 segment registers, for instance, only show
 * their low 16 bits). `EuRegister` keeps the value as unsigned and the width shown, and
 * `registerMismatches()` compares decoded registers with that in mind.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { runOk } from './proc.js';

export interface EuNote {
  owner: string;
  /** The type as eu-readelf names it: PRSTATUS, PRPSINFO, FPREGSET, X86_XSTATE, FILE, ... */
  type: string;
  /** The descriptor size eu-readelf reports. */
  size: number;
  /** Every `name: value` pair of the body, values as printed (registers, prstatus fields, ...). */
  fields: Map<string, string>;
  /** The body lines, unparsed. */
  lines: string[];
}

export interface EuRegister {
  /** The value as an unsigned integer (negative decimals are taken modulo the core's word size). */
  value: bigint;
  /** How many low bits eu-readelf shows: the hex width for hex values, the word size otherwise. */
  bits: number;
}

export interface EuThread {
  pid: number;
  ppid: number;
  signo: number;
  cursig: number;
  /** Every register eu-readelf prints for this NT_PRSTATUS, header items (pc, orig_rax...) included. */
  registers: Map<string, EuRegister>;
  /** The CORE and LINUX notes after this thread's NT_PRSTATUS (FPREGSET, X86_XSTATE, ...). */
  regsets: EuNote[];
}

export interface EuAuxvEntry {
  /** The name as printed, without AT_ (e.g. "PAGESZ"), or the number for types eu-readelf does not name. */
  name: string;
  value: bigint;
}

export interface EuFileEntry {
  start: bigint;
  end: bigint;
  /** File offset in bytes. */
  offset: bigint;
  path: string;
}

export interface EuCore {
  notes: EuNote[];
  threads: EuThread[];
  /** NT_PRPSINFO fields (fname, psargs, pid, uid, ...), as printed; absent when the core has none. */
  process?: Map<string, string>;
  auxv: EuAuxvEntry[];
  files: EuFileEntry[];
}

/** Fields of NT_PRSTATUS that eu-readelf prints and that are not registers. */
const PRSTATUS_FIELDS = new Set([
  'info.si_signo',
  'info.si_code',
  'info.si_errno',
  'cursig',
  'sigpend',
  'sighold',
  'pid',
  'ppid',
  'pgrp',
  'sid',
  'utime',
  'stime',
  'cutime',
  'cstime',
  'fpvalid',
]);

/** Notes that describe the process, not the thread whose PRSTATUS they follow. */
const PROCESS_NOTES = new Set(['PRPSINFO', 'AUXV', 'FILE', 'SIGINFO']);

const NOTE_HEADER = /^ {2}(\S+)\s+(\d+)\s+(\S.*?)\s*$/;
// `name: value` where value is `<...>` (a signal set) or one token; pairs end at `,` or blank.
const PAIR = /([A-Za-z_][\w.]*):\s+(<[^>]*>|[^\s,]*),?/g;

/**
 * Runs `eu-readelf -n` on a core and parses its output. Throws when eu-readelf fails or prints an
 * NT_PRSTATUS it could not decode (one whose size is not the arch's).
 */
export function euReadelfNotes(corePath: string): EuCore {
  const out = runOk('eu-readelf', ['-n', corePath]).stdout;
  return parseEuReadelfNotes(out, coreWordBits(corePath));
}

/** The word size of an ELF file in bits, from e_ident[EI_CLASS]. */
function coreWordBits(path: string): 32 | 64 {
  const ident = Buffer.alloc(5);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, ident, 0, 5, 0);
  } finally {
    closeSync(fd);
  }
  return ident[4] === 1 ? 32 : 64;
}

/** Parses the text of `eu-readelf -n`; `wordBits` is the core's word size (signed decimals wrap at it). */
export function parseEuReadelfNotes(text: string, wordBits: 32 | 64): EuCore {
  const notes: EuNote[] = [];
  let current: EuNote | undefined;
  for (const line of text.split('\n')) {
    const header = NOTE_HEADER.exec(line);
    if (header) {
      current = {
        owner: header[1]!,
        size: Number(header[2]),
        type: header[3]!,
        fields: new Map(),
        lines: [],
      };
      notes.push(current);
    } else if (current && line.startsWith('    ')) {
      current.lines.push(line);
    } else if (line.trim() !== '') {
      current = undefined; // "Note segment of ...", the column titles or anything else ends a note
    }
  }
  for (const n of notes) if (n.type !== 'FILE' && n.type !== 'AUXV') parseFields(n);

  const core: EuCore = { notes, threads: [], auxv: [], files: [] };
  for (const n of notes) {
    if (n.owner === 'CORE' && n.type === 'PRSTATUS') {
      core.threads.push(threadOf(n, wordBits));
    } else if (n.owner === 'CORE' && n.type === 'PRPSINFO') {
      core.process = n.fields;
    } else if (n.owner === 'CORE' && n.type === 'AUXV') {
      core.auxv = n.lines.map(auxvEntry);
    } else if (n.owner === 'CORE' && n.type === 'FILE') {
      core.files = n.lines.flatMap(fileEntry);
    } else if ((n.owner === 'CORE' || n.owner === 'LINUX') && !PROCESS_NOTES.has(n.type)) {
      core.threads.at(-1)?.regsets.push(n);
    }
  }
  return core;
}

function parseFields(n: EuNote): void {
  for (const line of n.lines) {
    let rest = line;
    if (n.type === 'PRPSINFO') {
      // fname and psargs are free text to the end of the line (eu-readelf wraps long ones onto
      // a line of their own): take them whole, not token by token.
      for (const name of ['psargs', 'fname']) {
        const m = new RegExp(`(?:^\\s*|, )${name}: (.*)$`).exec(rest);
        if (m) {
          n.fields.set(name, m[1]!.trimEnd());
          rest = rest.slice(0, m.index);
        }
      }
    }
    for (const m of rest.matchAll(PAIR)) n.fields.set(m[1]!, m[2]!);
  }
}

function threadOf(n: EuNote, wordBits: number): EuThread {
  const int = (name: string) => {
    const v = n.fields.get(name);
    if (v === undefined) throw new Error(`eu-readelf PRSTATUS without ${name}`);
    return Number(v);
  };
  const registers = new Map<string, EuRegister>();
  for (const [name, text] of n.fields) {
    if (!PRSTATUS_FIELDS.has(name)) registers.set(name, registerValue(text, wordBits));
  }
  return {
    pid: int('pid'),
    ppid: int('ppid'),
    signo: int('info.si_signo'),
    cursig: int('cursig'),
    registers,
    regsets: [],
  };
}

function registerValue(text: string, wordBits: number): EuRegister {
  if (/^0x[0-9a-f]+$/i.test(text)) return { value: BigInt(text), bits: (text.length - 2) * 4 };
  if (!/^-?\d+$/.test(text)) throw new Error(`eu-readelf register value not understood: ${text}`);
  return { value: BigInt.asUintN(wordBits, BigInt(text)), bits: wordBits };
}

function auxvEntry(line: string): EuAuxvEntry {
  const m = /^\s+(\w+)(?::\s+(\S+))?/.exec(line);
  if (!m) throw new Error(`eu-readelf auxv line not understood: ${line}`);
  return { name: m[1]!, value: m[2] === undefined ? 0n : BigInt(m[2]) };
}

function fileEntry(line: string): EuFileEntry[] {
  const m = /^\s+([0-9a-f]+)-([0-9a-f]+)\s+([0-9a-f]+)\s+\d+\s+(.*)$/.exec(line);
  if (!m) return []; // the "N files:" line
  return [{ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), offset: BigInt(`0x${m[3]}`), path: m[4]! }];
}

/**
 * Compares registers decoded by coreshot with eu-readelf's, for every register eu-readelf prints.
 * Returns one line per difference (a missing name or a different value); empty when they agree.
 */
export function registerMismatches(
  eu: ReadonlyMap<string, EuRegister>,
  ours: ReadonlyMap<string, bigint>,
): string[] {
  const out: string[] = [];
  for (const [name, ref] of eu) {
    const v = ours.get(name);
    if (v === undefined) out.push(`${name}: missing (eu-readelf 0x${ref.value.toString(16)})`);
    else if (BigInt.asUintN(ref.bits, v) !== ref.value) {
      out.push(`${name}: 0x${v.toString(16)} != eu-readelf 0x${ref.value.toString(16)}`);
    }
  }
  return out;
}
