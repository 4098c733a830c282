// Local core builders for the reader's tests: a multi-threaded C target (target.c), crashed under
// `ulimit -c unlimited` for a kernel core, or gcore'd while running. (The shared builders in
// test/helpers/cores.ts belong to the arch branch; these stay minimal.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileC, killAndWait, run, runOk, startDetached } from '../helpers/proc.js';

const SOURCE = new URL('./target.c', import.meta.url).pathname;

export interface TargetAddrs {
  data: bigint;
  heap: bigint;
  stack: bigint;
  text: bigint;
  /** A PROT_NONE anonymous mapping: in every core with p_filesz 0. */
  none: bigint;
}

export interface BuiltCore {
  core: string;
  exe: string;
  addrs: TargetAddrs;
}

/** Compiles target.c into dir (VARIANT changes the code, so the build-id differs). */
export function buildTarget(dir: string, name = 'target', variant = 0): string {
  return compileC(SOURCE, join(dir, name), ['-O1', '-g', '-pthread', `-DVARIANT=${variant}`]);
}

function parseAddrs(line: string): TargetAddrs {
  const get = (k: string) => {
    const m = new RegExp(`${k} (0x[0-9a-f]+)`).exec(line);
    if (!m) throw new Error(`target printed no ${k} address: ${line}`);
    return BigInt(m[1]!);
  };
  return { data: get('data'), heap: get('heap'), stack: get('stack'), text: get('text'), none: get('none') };
}

/** The kernel must write plain core files into the working directory. */
export function assertCorePattern(): void {
  const pattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
  if (pattern.startsWith('|') || pattern.includes('/'))
    throw new Error(`kernel.core_pattern is '${pattern}': these tests need a plain file name such as 'core'`);
}

/** Runs `cmd` in dir with an unlimited core size and returns the core file the kernel wrote. */
export function crashForCore(dir: string, cmd: string): { core: string; stdout: string } {
  assertCorePattern();
  const before = new Set(readdirSync(dir));
  const res = run('sh', ['-c', `ulimit -c unlimited; exec ${cmd}`], { cwd: dir, timeoutMs: 300_000 });
  const made = readdirSync(dir).filter((f) => !before.has(f) && /^core/.test(f));
  if (made.length !== 1)
    throw new Error(`expected one core file in ${dir}, found ${made.join(', ') || 'none'} (${res.stderr})`);
  return { core: join(dir, made[0]!), stdout: res.stdout };
}

/** A kernel core of the crashing multi-threaded target. */
export function kernelCore(dir: string): BuiltCore {
  const exe = existsSync(join(dir, 'target')) ? join(dir, 'target') : buildTarget(dir);
  const { core, stdout } = crashForCore(dir, `${exe} crash`);
  return { core, exe, addrs: parseAddrs(stdout) };
}

/** A gcore of the running target. */
export async function gcoreCore(dir: string): Promise<BuiltCore> {
  const exe = existsSync(join(dir, 'target')) ? join(dir, 'target') : buildTarget(dir);
  const outFile = join(dir, 'target.out');
  const pid = startDetached(exe, [], { cwd: dir, stdout: outFile });
  try {
    const end = Date.now() + 10_000;
    let line = '';
    while (!line.includes('none') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      line = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    }
    const prefix = join(dir, 'gcore');
    runOk('gcore', ['-o', prefix, String(pid)]);
    return { core: `${prefix}.${pid}`, exe, addrs: parseAddrs(line) };
  } finally {
    await killAndWait(pid);
  }
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
