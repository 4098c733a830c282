/**
 * The address ranges a DIE covers: DW_AT_low_pc with DW_AT_high_pc (an address, or from DWARF 4 an
 * offset), or DW_AT_ranges into .debug_ranges (DWARF 2-4) or .debug_rnglists (DWARF 5, by offset or
 * by DW_FORM_rnglistx through DW_AT_rnglists_base). Link-time addresses, half-open.
 */
import { Cursor } from '../../../bytes/cursor.js';
import { FormatError } from '../../../bytes/errors.js';
import {
  DW_AT_high_pc,
  DW_AT_low_pc,
  DW_AT_ranges,
  DW_RLE_base_address,
  DW_RLE_base_addressx,
  DW_RLE_end_of_list,
  DW_RLE_offset_pair,
  DW_RLE_start_end,
  DW_RLE_start_length,
  DW_RLE_startx_endx,
  DW_RLE_startx_length,
} from './constants.js';
import { attr, type Die, type Dwarf, type Unit } from './unit.js';

export interface PcRange {
  start: bigint;
  end: bigint;
}

/** A range list longer than this is refused (real ones have a few dozen entries). */
const MAX_RANGES = 1 << 16;

export function dieRanges(dwarf: Dwarf, unit: Unit, die: Die): PcRange[] {
  const ranges = attr(die, DW_AT_ranges);
  if (ranges) {
    if (ranges.k === 'rnglistx') return rnglist(dwarf, unit, rnglistxOffset(dwarf, unit, ranges.i));
    if (ranges.k !== 'const') return [];
    const off = Number(ranges.v);
    return unit.version >= 5 ? rnglist(dwarf, unit, off) : debugRanges(dwarf, unit, off);
  }
  const low = attr(die, DW_AT_low_pc);
  const high = attr(die, DW_AT_high_pc);
  if (!low || !high) return [];
  const start = dwarf.address(unit, low);
  if (start === undefined) return [];
  const end = high.k === 'const' ? start + high.v : dwarf.address(unit, high);
  return end !== undefined && end > start ? [{ start, end }] : [];
}

function rnglistxOffset(dwarf: Dwarf, unit: Unit, i: number): number {
  const sec = dwarf.s.rnglists;
  if (!sec) throw new FormatError(0, 'DW_FORM_rnglistx without .debug_rnglists');
  const c = new Cursor(sec, dwarf.s.codec).seek(within(unit.rnglistsBase + i * unit.offsetSize, sec));
  return unit.rnglistsBase + Number(c.word(unit.offsetSize, 'range list offset'));
}

function rnglist(dwarf: Dwarf, unit: Unit, off: number): PcRange[] {
  const sec = dwarf.s.rnglists;
  if (!sec) throw new FormatError(0, 'DW_AT_ranges without .debug_rnglists');
  const c = new Cursor(sec, dwarf.s.codec).seek(within(off, sec));
  const out: PcRange[] = [];
  let base = unit.base;
  const addr = () => c.word(unit.addressSize, 'range address');
  const idx = () => dwarf.indexedAddress(unit, c.uleb('address index'));
  for (let n = 0; n < MAX_RANGES; n++) {
    const kind = c.u8('range list entry');
    let start: bigint;
    let end: bigint;
    switch (kind) {
      case DW_RLE_end_of_list:
        return out;
      case DW_RLE_base_addressx:
        base = idx();
        continue;
      case DW_RLE_base_address:
        base = addr();
        continue;
      case DW_RLE_startx_endx:
        start = idx();
        end = idx();
        break;
      case DW_RLE_startx_length:
        start = idx();
        end = start + c.ulebBig();
        break;
      case DW_RLE_offset_pair:
        start = base + c.ulebBig();
        end = base + c.ulebBig();
        break;
      case DW_RLE_start_end:
        start = addr();
        end = addr();
        break;
      case DW_RLE_start_length:
        start = addr();
        end = start + c.ulebBig();
        break;
      default:
        throw new FormatError(c.offset, 'unknown range list entry', kind);
    }
    if (end > start) out.push({ start, end });
  }
  throw new FormatError(off, 'range list too long');
}

function debugRanges(dwarf: Dwarf, unit: Unit, off: number): PcRange[] {
  const sec = dwarf.s.ranges;
  if (!sec) throw new FormatError(0, 'DW_AT_ranges without .debug_ranges');
  const c = new Cursor(sec, dwarf.s.codec).seek(within(off, sec));
  const max = unit.addressSize === 8 ? (1n << 64n) - 1n : (1n << 32n) - 1n;
  const out: PcRange[] = [];
  let base = unit.base;
  for (let n = 0; n < MAX_RANGES; n++) {
    const start = c.word(unit.addressSize, 'range start');
    const end = c.word(unit.addressSize, 'range end');
    if (start === 0n && end === 0n) return out;
    if (start === max) base = end;
    else if (end > start) out.push({ start: base + start, end: base + end });
  }
  throw new FormatError(off, 'range list too long');
}

function within(off: number, buf: Buffer): number {
  if (!Number.isSafeInteger(off) || off < 0 || off > buf.length)
    throw new FormatError(off, 'range list offset outside its section', off);
  return off;
}
