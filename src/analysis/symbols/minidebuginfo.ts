/**
 * MiniDebugInfo: the `.gnu_debugdata` section Fedora and others add to stripped binaries, an
 * xz-compressed ELF that holds a `.symtab` of the functions `.dynsym` lacks. The decompressed size
 * is read from the xz stream's index before decompressing (a small section must not expand without
 * bound); the xz decoder checks the index against the data.
 */
import { xz } from '@napi-rs/lzma';
import { FormatError } from '../../bytes/errors.js';
import { ElfFile } from '../../elf/reader.js';
import { findSection, sectionData } from '../../elf/sections.js';
import { BufferAccess } from '../../io/random-access.js';

/** A MiniDebugInfo ELF larger than this is refused (they hold a symbol table: a few MiB at most). */
const MAX_MINIDEBUGINFO = 64 << 20;

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The ELF inside `.gnu_debugdata`, if the file has one. Throws FormatError when it is unusable. */
export function miniDebugInfo(elf: ElfFile): ElfFile | undefined {
  const s = findSection(elf, '.gnu_debugdata');
  const data = s && sectionData(elf, s);
  if (!s || !data) return undefined;
  const size = xzUncompressedSize(data, s.sh_offset);
  if (size > MAX_MINIDEBUGINFO)
    throw new FormatError(s.sh_offset, '.gnu_debugdata is implausibly large', size);
  let out: Buffer;
  try {
    out = xz.decompressSync(data);
  } catch (err) {
    throw new FormatError(s.sh_offset, `.gnu_debugdata: corrupt xz data (${(err as Error).message})`);
  }
  if (out.length !== size)
    throw new FormatError(s.sh_offset, '.gnu_debugdata: size differs from its xz index');
  return ElfFile.open(new BufferAccess(out));
}

/** The uncompressed size of a single-stream xz file, from its index (xz file format 1.0). */
function xzUncompressedSize(data: Buffer, at: bigint): number {
  const fail = (what: string): never => {
    throw new FormatError(at, `.gnu_debugdata: ${what}`);
  };
  if (data.length < 24 || !data.subarray(0, 6).equals(XZ_MAGIC)) fail('not xz data');
  const footer = data.length - 12;
  if (data[footer + 10] !== 0x59 || data[footer + 11] !== 0x5a) fail('no xz stream footer (or padding)');
  const indexStart = footer - (data.readUInt32LE(footer + 4) + 1) * 4;
  if (indexStart < 12 || data[indexStart] !== 0) fail('bad xz index');
  let pos = indexStart + 1;
  const varint = (): number => {
    let v = 0;
    for (let i = 0, mul = 1; i < 9; i++, mul *= 128) {
      if (pos >= footer) break;
      const b = data[pos++]!;
      v += (b & 0x7f) * mul;
      if (!(b & 0x80)) return v;
    }
    return fail('bad number in the xz index');
  };
  const records = varint();
  let total = 0;
  for (let i = 0; i < records && total <= MAX_MINIDEBUGINFO; i++) {
    varint(); // unpadded size
    total += varint();
  }
  return total;
}
