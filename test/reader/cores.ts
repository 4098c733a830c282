// The reader's test target (target.c) on top of the shared core builders, and gdb's view of memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gcoreCore, kernelCore, type MadeCore } from '../helpers/cores.js';
import { compileC, runOk } from '../helpers/proc.js';

const TARGET_SOURCE = new URL('./target.c', import.meta.url).pathname;

export interface TargetAddrs {
  data: bigint;
  heap: bigint;
  stack: bigint;
  text: bigint;
  /** A PROT_NONE anonymous mapping (p_filesz 0 in a kernel core). */
  none: bigint;
}

export type TargetCore = MadeCore & { addrs: TargetAddrs };

const FLAGS = ['-g'];

function withAddrs(made: MadeCore): TargetCore {
  const line = readFileSync(join(made.dir, 'addrs'), 'utf8');
  const get = (k: string) => {
    const m = new RegExp(`${k} (0x[0-9a-f]+)`).exec(line);
    if (!m) throw new Error(`target wrote no ${k} address: ${line}`);
    return BigInt(m[1]!);
  };
  const addrs = {
    data: get('data'),
    heap: get('heap'),
    stack: get('stack'),
    text: get('text'),
    none: get('none'),
  };
  return { ...made, addrs };
}

/** A kernel core of target.c crashing. */
export function targetKernelCore(): TargetCore {
  return withAddrs(kernelCore('x86_64', { source: TARGET_SOURCE, flags: FLAGS, args: ['crash'] }));
}

/** A gcore of target.c running. */
export async function targetGcore(): Promise<TargetCore> {
  return withAddrs(await gcoreCore('x86_64', { source: TARGET_SOURCE, flags: FLAGS, args: ['wait'] }));
}

/** Builds target.c with another VARIANT: the same program with a different build-id. */
export function buildVariant(out: string): string {
  return compileC(TARGET_SOURCE, out, ['-O1', '-pthread', ...FLAGS, '-DVARIANT=1']);
}

/** Bytes at each address as gdb's `x/NNxb` prints them from EXE + CORE, one gdb run for all. */
export function gdbBytes(exe: string, core: string, reads: { addr: bigint; length: number }[]): Buffer[] {
  const args = ['-batch', '-nx', '-ex', 'set pagination off'];
  for (const r of reads) args.push('-ex', 'echo @@@\\n', '-ex', `x/${r.length}xb 0x${r.addr.toString(16)}`);
  args.push(exe, core);
  const res = runOk('gdb', args);
  const blocks = res.stdout.split('@@@\n').slice(1);
  if (blocks.length !== reads.length) throw new Error(`gdb printed ${blocks.length} blocks:\n${res.stdout}`);
  return blocks.map((block, i) => {
    const bytes: number[] = [];
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (!/^0x[0-9a-f]+/.test(line) || colon < 0) continue;
      for (const m of line.slice(colon + 1).matchAll(/0x([0-9a-f]{2})\b/g))
        bytes.push(Number.parseInt(m[1]!, 16));
    }
    if (bytes.length !== reads[i]!.length)
      throw new Error(`gdb gave ${bytes.length} of ${reads[i]!.length} bytes:\n${block}\n${res.stderr}`);
    return Buffer.from(bytes);
  });
}
