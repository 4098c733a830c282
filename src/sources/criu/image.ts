import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { type DescMessage, fromBinary, isFieldSet, type MessageShape } from '@bufbuild/protobuf';
import { FormatError } from '../../bytes/errors.js';

// Image file framing (CRIU images v1.1): a u32 IMG_COMMON_MAGIC (inventory.img has none), the
// image's own u32 magic, then entries, each a u32 length followed by one protobuf message.
// All little-endian. pages-N.img files are raw page data without any header.

export const IMG_COMMON_MAGIC = 0x54564319;
export const IMG_SERVICE_MAGIC = 0x55105940;
export const INVENTORY_MAGIC = 0x58313116;
export const PSTREE_MAGIC = 0x50273030;
export const PAGEMAP_MAGIC = 0x56084025;
export const CORE_MAGIC = 0x55053847;
export const IDS_MAGIC = 0x54432030;
export const MM_MAGIC = 0x57492820;
export const REG_FILES_MAGIC = 0x50363636;
export const FILES_MAGIC = 0x56303138;
export const MEMFD_INODE_MAGIC = 0x48453499;

/** The largest metadata image coreshot reads into memory (page data is never read whole). */
const MAX_IMAGE_BYTES = 1n << 30n;

/** A checkpoint problem the user can act on (a missing image, a missing mapped file). */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** One entry of an image: its message bytes and where they start in the file. */
export interface RawEntry {
  offset: number;
  bytes: Buffer;
}

/** Reads a whole metadata image and splits it into entries, checking the magic and every length. */
export function readEntries(path: string, magic: number): RawEntry[] {
  const data = readWhole(path);
  const name = basename(path);
  let pos = 0;
  const u32 = (what: string): number => {
    if (pos + 4 > data.length) throw new FormatError(pos, `truncated ${what}`, undefined, name);
    const v = data.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  if (magic !== INVENTORY_MAGIC) {
    const head = u32('image magic');
    if (head !== IMG_COMMON_MAGIC && head !== IMG_SERVICE_MAGIC)
      throw new FormatError(undefined, `not a CRIU image (bad magic)`, head, name);
  }
  const own = u32('image magic');
  if (own !== magic) throw new FormatError(pos - 4, `unexpected image magic`, own, name);
  const out: RawEntry[] = [];
  while (pos < data.length) {
    const len = u32('entry length');
    if (len > data.length - pos)
      throw new FormatError(
        pos - 4,
        `truncated entry (length ${len}, ${data.length - pos} left)`,
        undefined,
        name,
      );
    out.push({ offset: pos, bytes: data.subarray(pos, pos + len) });
    pos += len;
  }
  return out;
}

/** Decodes one entry and checks its required fields (recursively); unknown fields are ignored. */
export function decodeEntry<Desc extends DescMessage>(
  schema: Desc,
  entry: RawEntry,
  file: string,
): MessageShape<Desc> {
  let msg: MessageShape<Desc>;
  try {
    msg = fromBinary(schema, entry.bytes, { readUnknownFields: false });
  } catch (err) {
    throw new FormatError(
      entry.offset,
      `bad ${schema.name} entry (${(err as Error).message})`,
      undefined,
      basename(file),
    );
  }
  const missing = missingRequired(schema, msg as MessageShape<DescMessage>);
  if (missing)
    throw new FormatError(
      entry.offset,
      `${schema.name} lacks required field ${missing}`,
      undefined,
      basename(file),
    );
  return msg;
}

/** Reads an image that holds exactly one message of interest (the first entry). */
export function readSingle<Desc extends DescMessage>(path: string, magic: number, schema: Desc) {
  const entries = readEntries(path, magic);
  const first = entries[0];
  if (!first)
    throw new FormatError(undefined, `image holds no ${schema.name} entry`, undefined, basename(path));
  return decodeEntry(schema, first, path);
}

/** Reads every entry of an image as one message type. */
export function readAll<Desc extends DescMessage>(path: string, magic: number, schema: Desc) {
  return readEntries(path, magic).map((e) => decodeEntry(schema, e, path));
}

/** The dotted path of the first unset required field, or undefined. */
function missingRequired(schema: DescMessage, msg: MessageShape<DescMessage>): string | undefined {
  for (const field of schema.fields) {
    if (field.presence === 3 /* LEGACY_REQUIRED */ && !isFieldSet(msg, field)) return field.name;
    if (field.fieldKind === 'message' && isFieldSet(msg, field)) {
      const sub = (msg as Record<string, unknown>)[field.localName] as MessageShape<DescMessage>;
      const inner = missingRequired(field.message, sub);
      if (inner) return `${field.name}.${inner}`;
    } else if (field.fieldKind === 'list' && field.listKind === 'message') {
      const list = (msg as Record<string, unknown>)[field.localName] as MessageShape<DescMessage>[];
      for (const item of list) {
        const inner = missingRequired(field.message, item);
        if (inner) return `${field.name}.${inner}`;
      }
    }
  }
  return undefined;
}

function readWhole(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CheckpointError(`${path}: image missing from the checkpoint`);
    throw err;
  }
  try {
    const size = fstatSync(fd, { bigint: true }).size;
    if (size > MAX_IMAGE_BYTES) throw new FormatError(undefined, `image too large`, size, basename(path));
    const buf = Buffer.allocUnsafe(Number(size));
    let done = 0;
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}
