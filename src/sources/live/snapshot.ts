import { SysError } from '../../sys/libc.js';
import type { ProcMem } from '../../sys/mem.js';
import type { ProcMapping } from '../../sys/proc.js';
import { PTRACE_O_EXITKILL, setOptions, waitThread } from '../../sys/ptrace.js';
import { processGone, type TracedProcess } from '../../sys/tracee.js';

const SYS_clone = 56;
const SYSCALL_INSN = Buffer.from([0x0f, 0x05]);
const CLONE_PARENT = 0x8000n;
const SIGCHLD = 17n;
const EINVAL = 22n;

/** Finds the bytes of a `syscall` instruction (0f 05) in an executable mapping of the stopped target. */
export function findSyscallInsn(mem: ProcMem, maps: readonly ProcMapping[]): bigint | undefined {
  const candidates = [
    ...maps.filter((m) => m.path === '[vdso]'),
    ...maps.filter((m) => m.perms.startsWith('r-x') && m.path !== '[vdso]' && m.path !== '[vsyscall]'),
  ];
  for (const m of candidates) {
    const len = m.end - m.start > 1n << 20n ? 1 << 20 : Number(m.end - m.start);
    const i = mem.read(m.start, len).indexOf(SYSCALL_INSN);
    if (i >= 0) return m.start + BigInt(i);
  }
  return undefined;
}

/** A copy-on-write copy of the target made by a fork injected into it. */
export interface Snapshot {
  pid: number;
  /** Whether the copy is a sibling of the target (CLONE_PARENT) rather than its child. */
  sibling: boolean;
  /** SIGKILLs the copy and collects its exit. */
  kill(): void;
}

/**
 * Runs clone(CLONE_PARENT | SIGCHLD) in stopped thread `tid` of the target. The copy is
 * auto-attached (PTRACE_O_TRACEFORK) and stopped before its first instruction, then set to die
 * with coreshot (PTRACE_O_EXITKILL, on the copy only). With CLONE_PARENT the target never gets a
 * child or a SIGCHLD: its parent reaps the copy. For an init process (where CLONE_PARENT is
 * refused) the copy becomes the target's child.
 */
export function forkSnapshot(tp: TracedProcess, tid: number, syscallAt: bigint): Snapshot {
  let sibling = true;
  let { result, child } = tp.injectSyscall(
    tid,
    syscallAt,
    SYS_clone,
    [CLONE_PARENT | SIGCHLD, 0n, 0n, 0n, 0n],
    {
      traceFork: true,
    },
  );
  if (result === -EINVAL && child === undefined) {
    sibling = false;
    ({ result, child } = tp.injectSyscall(tid, syscallAt, SYS_clone, [SIGCHLD, 0n, 0n, 0n, 0n], {
      traceFork: true,
    }));
  }
  if (result < 0n) throw new SysError('clone (injected into the target)', Number(-result));
  if (child === undefined) throw processGone(tp.pid);
  const pid = child;
  let alive = true;
  const kill = () => {
    if (!alive) return;
    alive = false;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    // Collect the exit as its tracer, so it is handed on to its parent for reaping.
    for (let i = 0; i < 100; i++) {
      const st = waitThread(pid, 1000);
      if (st === null || st.kind !== 'stopped') return;
    }
  };
  try {
    const st = waitThread(pid, 5000);
    if (st === null || st.kind !== 'stopped') throw new Error(`the snapshot copy ${pid} did not start`);
    setOptions(pid, PTRACE_O_EXITKILL);
  } catch (err) {
    kill();
    throw err;
  }
  return { pid, sibling, kill };
}
