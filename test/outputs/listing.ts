// What a directory holds, to compare before and after an output is (or is not) written.
import { type Dirent, readdirSync } from 'node:fs';

const TYPES: [string, (e: Dirent) => boolean][] = [
  ['file', (e) => e.isFile()],
  ['dir', (e) => e.isDirectory()],
  ['fifo', (e) => e.isFIFO()],
  ['chr', (e) => e.isCharacterDevice()],
  ['link', (e) => e.isSymbolicLink()],
];

/** Every entry of `dir`, hidden ones included, as "NAME TYPE", sorted. */
export function listing(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => `${e.name} ${TYPES.find(([, is]) => is(e))?.[0] ?? 'other'}`)
    .sort();
}
