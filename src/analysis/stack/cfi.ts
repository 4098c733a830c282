/**
 * DWARF call-frame information of one module: `.eh_frame` (found through `.eh_frame_hdr`'s sorted
 * table, else through an index built by one scan) and `.debug_frame`. Parses CIEs (augmentations
 * z, R, P, L, S; cached by offset) and FDEs, and runs their instructions up to a pc to give the
 * row of rules the unwinder applies. All addresses here are link-time addresses of the module.
 */
import type { IntCodec } from '../../bytes/endian.js';
import { DW_EH_PE_omit, encodedSize, FrameReader, type PointerBases } from './pointer.js';

/** One call-frame section's bytes and link-time address. */
export interface FrameSection {
  data: Buffer;
  addr: bigint;
  /** File (or memory) offset of data[0], for error messages. */
  offset?: bigint;
}

export interface Cie {
  offset: number;
  codeAlign: number;
  dataAlign: number;
  raRegister: number;
  /** DW_EH_PE_* of FDE addresses (absptr in .debug_frame). */
  fdeEncoding: number;
  /** Augmentation data in FDEs ('z'). */
  hasAugData: boolean;
  /** 'S': the frames it describes are signal frames. */
  signal: boolean;
  /** Initial instructions [start, end) in the section. */
  start: number;
  end: number;
}

export interface Fde {
  cie: Cie;
  pcBegin: bigint;
  pcEnd: bigint;
  /** Instructions [start, end) in the section. */
  start: number;
  end: number;
}

/** Register rules (DWARF 6.4.1); `unset` registers keep their value (gdb's "same value" default). */
export const RULE = {
  unset: 0,
  undefined: 1,
  same: 2,
  offset: 3, // saved at CFA + a
  valOffset: 4, // value is CFA + a
  register: 5, // value is in register a
  expression: 6, // saved at the address the expression [a, a+b) computes (CFA pushed first)
  valExpression: 7, // value is what the expression computes
} as const;

/** The rules in effect at one pc: how to find the CFA and each register of the caller. */
export interface Row {
  /** 'reg': CFA = register cfaReg + cfaOffset; 'expr': the expression [cfaOffset, +cfaLength). */
  cfaKind: 'reg' | 'expr';
  cfaReg: number;
  cfaOffset: number;
  cfaLength: number;
  kinds: Uint8Array;
  a: Float64Array;
  b: Int32Array;
  /** aarch64 DW_CFA_AARCH64_negate_ra_state toggles: the return address is signed. */
  raSigned: boolean;
}

function newRow(regs: number): Row {
  return {
    cfaKind: 'reg',
    cfaReg: -1,
    cfaOffset: 0,
    cfaLength: 0,
    kinds: new Uint8Array(regs),
    a: new Float64Array(regs),
    b: new Int32Array(regs),
    raSigned: false,
  };
}

function copyRow(r: Row): Row {
  return {
    ...r,
    kinds: r.kinds.slice(),
    a: r.a.slice(),
    b: r.b.slice(),
  };
}

/** Records larger than this are refused (real FDEs are a few hundred bytes). */
const MAX_RECORD = 1 << 24;
/** DW_CFA_remember_state nesting beyond this is refused. */
const MAX_STATE_DEPTH = 64;
/** Instructions executed for one row beyond this are refused. */
const MAX_INSTRUCTIONS = 1 << 16;

export interface CfiOptions {
  codec: IntCodec;
  addressSize: 4 | 8;
  /** textrel/datarel bases for .eh_frame pointers. */
  bases?: PointerBases;
}

/** A sorted index of FDEs: starts, ends and section offsets. */
interface ScanIndex {
  starts: BigUint64Array;
  ends: BigUint64Array;
  offsets: Uint32Array;
}

/** The call-frame information of one section (.eh_frame or .debug_frame) of one module. */
export class CallFrameTable {
  readonly kind: 'eh_frame' | 'debug_frame';
  private readonly section: FrameSection;
  private readonly hdr?: FrameSection;
  private readonly opts: CfiOptions;
  private readonly cies = new Map<number, Cie>();
  private scan?: ScanIndex;

  constructor(kind: 'eh_frame' | 'debug_frame', section: FrameSection, opts: CfiOptions, hdr?: FrameSection) {
    this.kind = kind;
    this.section = section;
    this.opts = opts;
    this.hdr = kind === 'eh_frame' ? hdr : undefined;
  }

  private reader(): FrameReader {
    const s = this.section;
    return new FrameReader(s.data, s.addr, this.opts.codec, this.opts.addressSize, s.offset ?? 0n);
  }

  /** The FDE covering link-time address `pc`, if any. */
  find(pc: bigint): Fde | undefined {
    const offset = this.hdr ? this.searchHdr(this.hdr, pc) : this.searchScan(pc);
    if (offset === undefined) return undefined;
    const fde = this.parseFde(offset);
    return fde && fde.pcBegin <= pc && pc < fde.pcEnd ? fde : undefined;
  }

  /** The link-time address of .eh_frame that an .eh_frame_hdr names (eh_frame_ptr). */
  static ehFramePointer(hdr: FrameSection, opts: CfiOptions): bigint | undefined {
    const r = new FrameReader(hdr.data, hdr.addr, opts.codec, opts.addressSize, hdr.offset ?? 0n);
    if (r.u8('.eh_frame_hdr version') !== 1) return undefined;
    const enc = r.u8();
    r.pos = 4;
    return enc === DW_EH_PE_omit ? undefined : r.pointer(enc, { data: hdr.addr }, 'eh_frame_ptr').value;
  }

  /** Binary search in .eh_frame_hdr's table; falls back to the scan index when it is unusable. */
  private searchHdr(hdr: FrameSection, pc: bigint): number | undefined {
    const r = new FrameReader(hdr.data, hdr.addr, this.opts.codec, this.opts.addressSize, hdr.offset ?? 0n);
    const bases: PointerBases = { data: hdr.addr };
    const version = r.u8('.eh_frame_hdr version');
    const ptrEnc = r.u8();
    const countEnc = r.u8();
    const tableEnc = r.u8();
    const entry = encodedSize(tableEnc, this.opts.addressSize);
    if (version !== 1 || countEnc === DW_EH_PE_omit || tableEnc === DW_EH_PE_omit || entry === undefined)
      return this.searchScan(pc);
    if (ptrEnc !== DW_EH_PE_omit) r.pointer(ptrEnc, bases, 'eh_frame_ptr');
    const count = Number(r.pointer(countEnc, bases, 'fde_count').value);
    const table = r.pos;
    if (count === 0 || table + count * 2 * entry > hdr.data.length) return this.searchScan(pc);
    const at = (i: number, second: boolean) => {
      r.pos = table + i * 2 * entry + (second ? entry : 0);
      return r.pointer(tableEnc, bases, 'search table').value;
    };
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at(mid, false) <= pc) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const off = at(lo - 1, true) - this.section.addr;
    if (off < 0n || off >= BigInt(this.section.data.length)) return undefined;
    return Number(off);
  }

  private searchScan(pc: bigint): number | undefined {
    this.scan ??= this.buildScan();
    const { starts, ends, offsets } = this.scan;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= pc) lo = mid + 1;
      else hi = mid;
    }
    // Overlapping FDEs are rare; look back a little for one that covers pc.
    for (let i = lo - 1; i >= 0 && i >= lo - 4; i--) if (pc < ends[i]!) return offsets[i];
    return undefined;
  }

  /** One pass over every record, keeping the FDEs sorted by start address. */
  private buildScan(): ScanIndex {
    const found: { start: bigint; end: bigint; offset: number }[] = [];
    let pos = 0;
    const data = this.section.data;
    while (pos + 4 <= data.length) {
      const rec = this.record(pos);
      if (!rec) break; // terminator
      if (!rec.isCie) {
        const fde = this.parseFde(pos);
        if (fde && fde.pcEnd > fde.pcBegin) found.push({ start: fde.pcBegin, end: fde.pcEnd, offset: pos });
      }
      pos = rec.next;
    }
    found.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    return {
      starts: BigUint64Array.from(found, (f) => f.start),
      ends: BigUint64Array.from(found, (f) => f.end),
      offsets: Uint32Array.from(found, (f) => f.offset),
    };
  }

  /** The framing of the record at `pos`: its end, and whether it is a CIE; undefined at a terminator. */
  private record(
    pos: number,
  ):
    | { next: number; body: number; end: number; isCie: boolean; id: bigint; idPos: number; is64: boolean }
    | undefined {
    const r = this.reader();
    r.pos = pos;
    let length = BigInt(r.u32('record length'));
    if (length === 0n) return undefined;
    let is64 = false;
    if (length === 0xffffffffn) {
      length = r.u64('record length');
      is64 = true;
    }
    if (length > BigInt(MAX_RECORD) || r.pos + Number(length) > this.section.data.length)
      r.fail('call-frame record runs past the end of its section', length);
    const end = r.pos + Number(length);
    r.limit = end;
    const idPos = r.pos;
    const id = is64 ? r.u64('CIE id') : BigInt(r.u32('CIE id'));
    const cieId = this.kind === 'eh_frame' ? 0n : is64 ? 0xffffffffffffffffn : 0xffffffffn;
    return { next: end, body: r.pos, end, isCie: id === cieId, id, idPos, is64 };
  }

  /** The CIE at `pos`, parsed once. */
  cie(pos: number): Cie {
    const cached = this.cies.get(pos);
    if (cached) return cached;
    const rec = this.record(pos);
    const r = this.reader();
    if (!rec?.isCie) {
      r.pos = pos;
      return r.fail('FDE points to something that is not a CIE');
    }
    r.pos = rec.body;
    r.limit = rec.end;
    const version = r.u8('CIE version');
    if (version !== 1 && version !== 3 && version !== 4) r.fail('unsupported CIE version', version);
    const augStart = r.pos;
    while (r.u8('CIE augmentation') !== 0);
    const aug = r.buf.toString('latin1', augStart, r.pos - 1);
    if (version === 4) {
      const addressSize = r.u8('CIE address size');
      r.u8('CIE segment size');
      if (addressSize !== this.opts.addressSize)
        r.fail('CIE address size differs from the module', addressSize);
    }
    const codeAlign = r.uleb('code alignment factor');
    const dataAlign = Number(r.sleb('data alignment factor'));
    const raRegister = version === 1 ? r.u8('return address register') : r.uleb('return address register');
    const cie: Cie = {
      offset: pos,
      codeAlign,
      dataAlign,
      raRegister,
      fdeEncoding: 0,
      hasAugData: false,
      signal: false,
      start: 0,
      end: rec.end,
    };
    if (aug.startsWith('z')) {
      cie.hasAugData = true;
      const len = r.uleb('augmentation length');
      const augEnd = r.pos + len;
      if (augEnd > rec.end) r.fail('CIE augmentation data runs past the record', len);
      for (const ch of aug.slice(1)) {
        if (ch === 'R') cie.fdeEncoding = r.u8('FDE pointer encoding');
        else if (ch === 'L') r.u8('LSDA encoding');
        else if (ch === 'P') {
          const enc = r.u8('personality encoding');
          r.pointer(enc, this.opts.bases ?? {}, 'personality');
        } else if (ch === 'S') cie.signal = true;
        else if (ch === 'B' || ch === 'G')
          continue; // aarch64 BTI and MTE marks: no data
        else break; // unknown: the length tells where the data ends
      }
      r.pos = augEnd;
    } else if (aug === 'S') {
      cie.signal = true;
    } else if (aug !== '') {
      r.fail('unsupported CIE augmentation', aug);
    }
    cie.start = r.pos;
    this.cies.set(pos, cie);
    return cie;
  }

  /** The FDE at `pos`, or undefined when it is a CIE or a terminator. */
  parseFde(pos: number): Fde | undefined {
    const rec = this.record(pos);
    if (!rec || rec.isCie) return undefined;
    const ciePos = this.kind === 'eh_frame' ? rec.idPos - Number(rec.id) : Number(rec.id);
    if (ciePos < 0 || ciePos >= this.section.data.length) {
      const r = this.reader();
      r.pos = rec.idPos;
      r.fail('FDE names a CIE outside its section', rec.id);
    }
    const cie = this.cie(ciePos);
    const r = this.reader();
    r.pos = rec.body;
    r.limit = rec.end;
    const bases = this.opts.bases ?? {};
    const enc = this.kind === 'eh_frame' ? cie.fdeEncoding : 0;
    const pcBegin = r.pointer(enc, bases, 'FDE start').value;
    const range = r.pointer(enc & 0x0f, bases, 'FDE range').value;
    if (cie.hasAugData) {
      const len = r.uleb('FDE augmentation length');
      if (r.pos + len > rec.end) r.fail('FDE augmentation data runs past the record', len);
      r.pos += len;
    }
    return { cie, pcBegin, pcEnd: r.wrap(pcBegin + range), start: r.pos, end: rec.end };
  }

  /**
   * The row of rules at `pc` (inside the FDE), for registers 0..regs-1 (rules for higher numbers
   * are read and dropped).
   */
  row(fde: Fde, pc: bigint, regs: number): Row {
    let row = newRow(regs);
    const r = this.reader();
    const state = { loc: fde.pcBegin, row, initial: row, stack: [] as Row[], steps: 0 };
    this.execute(r, fde.cie, fde.cie.start, fde.cie.end, undefined, pc, state);
    state.initial = copyRow(state.row);
    this.execute(r, fde.cie, fde.start, fde.end, fde, pc, state);
    row = state.row;
    return row;
  }

  private execute(
    r: FrameReader,
    cie: Cie,
    start: number,
    end: number,
    fde: Fde | undefined,
    pc: bigint,
    s: { loc: bigint; row: Row; initial: Row; stack: Row[]; steps: number },
  ): void {
    r.pos = start;
    r.limit = end;
    const regs = s.row.kinds.length;
    const set = (reg: number, kind: number, a = 0, b = 0) => {
      if (reg >= regs) return;
      s.row.kinds[reg] = kind;
      s.row.a[reg] = a;
      s.row.b[reg] = b;
    };
    const restore = (reg: number) => {
      if (reg >= regs) return;
      s.row.kinds[reg] = s.initial.kinds[reg]!;
      s.row.a[reg] = s.initial.a[reg]!;
      s.row.b[reg] = s.initial.b[reg]!;
    };
    const advance = (delta: number) => {
      s.loc = r.wrap(s.loc + BigInt(delta) * BigInt(cie.codeAlign));
      return s.loc > pc;
    };
    const block = () => {
      const len = r.uleb('expression length');
      const at = r.pos;
      if (at + len > end) r.fail('expression runs past its record', len);
      r.pos += len;
      return [at, len] as const;
    };
    const da = cie.dataAlign;
    while (r.pos < end) {
      if (++s.steps > MAX_INSTRUCTIONS) r.fail('too many call-frame instructions');
      const op = r.u8('call-frame instruction');
      const high = op & 0xc0;
      const low = op & 0x3f;
      if (high === 0x40) {
        if (fde && advance(low)) return;
        continue;
      }
      if (high === 0x80) {
        set(low, RULE.offset, r.uleb() * da);
        continue;
      }
      if (high === 0xc0) {
        restore(low);
        continue;
      }
      switch (op) {
        case 0x00: // nop
          break;
        case 0x01: {
          // set_loc
          const to = r.pointer(
            this.kind === 'eh_frame' ? cie.fdeEncoding : 0,
            this.opts.bases ?? {},
            'DW_CFA_set_loc',
          ).value;
          if (fde) {
            s.loc = to;
            if (s.loc > pc) return;
          }
          break;
        }
        case 0x02:
          if (advance(r.u8()) && fde) return;
          break;
        case 0x03:
          if (advance(r.u16()) && fde) return;
          break;
        case 0x04:
          if (advance(r.u32()) && fde) return;
          break;
        case 0x05: // offset_extended
          set(r.uleb(), RULE.offset, r.uleb() * da);
          break;
        case 0x06: // restore_extended
          restore(r.uleb());
          break;
        case 0x07: // undefined
          set(r.uleb(), RULE.undefined);
          break;
        case 0x08: // same_value
          set(r.uleb(), RULE.same);
          break;
        case 0x09: {
          // register
          const reg = r.uleb();
          set(reg, RULE.register, r.uleb());
          break;
        }
        case 0x0a: // remember_state
          if (s.stack.length >= MAX_STATE_DEPTH) r.fail('DW_CFA_remember_state nested too deeply');
          s.stack.push(copyRow(s.row));
          break;
        case 0x0b: {
          // restore_state: the CFA rule comes back too, as libgcc and gdb do
          const saved = s.stack.pop();
          if (!saved) r.fail('DW_CFA_restore_state without a remembered state');
          s.row = saved;
          break;
        }
        case 0x0c: // def_cfa
          s.row.cfaKind = 'reg';
          s.row.cfaReg = r.uleb();
          s.row.cfaOffset = r.uleb();
          break;
        case 0x0d: // def_cfa_register
          s.row.cfaKind = 'reg';
          s.row.cfaReg = r.uleb();
          break;
        case 0x0e: // def_cfa_offset
          s.row.cfaOffset = r.uleb();
          break;
        case 0x0f: {
          // def_cfa_expression
          const [at, len] = block();
          s.row.cfaKind = 'expr';
          s.row.cfaOffset = at;
          s.row.cfaLength = len;
          break;
        }
        case 0x10: {
          // expression
          const reg = r.uleb();
          const [at, len] = block();
          set(reg, RULE.expression, at, len);
          break;
        }
        case 0x11: {
          // offset_extended_sf
          const reg = r.uleb();
          set(reg, RULE.offset, Number(r.sleb()) * da);
          break;
        }
        case 0x12: // def_cfa_sf
          s.row.cfaKind = 'reg';
          s.row.cfaReg = r.uleb();
          s.row.cfaOffset = Number(r.sleb()) * da;
          break;
        case 0x13: // def_cfa_offset_sf
          s.row.cfaOffset = Number(r.sleb()) * da;
          break;
        case 0x14: {
          // val_offset
          const reg = r.uleb();
          set(reg, RULE.valOffset, r.uleb() * da);
          break;
        }
        case 0x15: {
          // val_offset_sf
          const reg = r.uleb();
          set(reg, RULE.valOffset, Number(r.sleb()) * da);
          break;
        }
        case 0x16: {
          // val_expression
          const reg = r.uleb();
          const [at, len] = block();
          set(reg, RULE.valExpression, at, len);
          break;
        }
        case 0x2d: // GNU_window_save (SPARC) / AARCH64_negate_ra_state
          s.row.raSigned = !s.row.raSigned;
          break;
        case 0x2e: // GNU_args_size
          r.uleb();
          break;
        case 0x2f: {
          // GNU_negative_offset_extended
          const reg = r.uleb();
          set(reg, RULE.offset, -r.uleb() * da);
          break;
        }
        default:
          r.fail('unknown call-frame instruction', op);
      }
    }
  }

  /** The section bytes (expressions are referenced by offset into them). */
  get data(): Buffer {
    return this.section.data;
  }
}
