// The compressed containers coreshot reads, recognised by their first bytes (never by file name).

export type CompressedFormat = 'zstd' | 'xz' | 'lz4' | 'gzip';

/** Magic bytes at offset 0, one row per format. */
const MAGICS: readonly { format: CompressedFormat; magic: Buffer }[] = [
  { format: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { format: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { format: 'lz4', magic: Buffer.from([0x04, 0x22, 0x4d, 0x18]) },
  { format: 'gzip', magic: Buffer.from([0x1f, 0x8b]) },
];

/** The longest magic: read this many bytes to detect a format. */
export const MAGIC_BYTES = 6;

/** The compressed format `head` starts with, or undefined for anything else (a plain file). */
export function detectFormat(head: Buffer): CompressedFormat | undefined {
  return MAGICS.find(
    ({ magic }) => head.length >= magic.length && head.subarray(0, magic.length).equals(magic),
  )?.format;
}
