// After a snapshot dump: whether the killed snapshot copy is left a zombie by a parent that does
// not reap it.
//
// The copy is killed when the dump ends and its exit is collected by coreshot (its tracer); the
// kernel then hands it to its parent (the target's parent with CLONE_PARENT, else the target). A
// parent whose SIGCHLD disposition is SIG_IGN (or SA_NOCLDWAIT) has it released at once, and the
// init process of a PID namespace reaps whatever is handed to it (every orphan depends on that;
// some inits only poll, so it may take seconds). Any other parent must wait() for it, which a
// parent that waits only for the children it started (Node, Python's subprocess) never does.
// That is observed, not guessed: the copy is watched until it is gone, or has been a zombie of
// its parent for a grace period.
import { readProc, readStatus } from '../../sys/proc.js';

/** The snapshot copy of a dump and the process its exit goes to. */
export interface SnapshotCopy {
  pid: number;
  parent: number;
}

/** A copy left a zombie: its parent, by pid and name, and whether that parent is stopped. */
export interface LeftZombie {
  pid: number;
  parent: number;
  comm: string;
  parentStopped: boolean;
}

/** How long a parent that reaps (a shell, init) may take to do it. */
const GRACE_MS = 500;
/** How long the copy's teardown and coreshot's collection of its exit may take. */
const TEARDOWN_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIGCHLD_BIT = 1n << 16n;

/** Whether `parent` reaps by itself: it ignores SIGCHLD, or is the init of its PID namespace. */
function reapsByItself(parent: number): boolean {
  try {
    const status = readStatus(`/proc/${parent}/status`);
    if (BigInt(`0x${status.get('SigIgn') ?? '0'}`) & SIGCHLD_BIT) return true;
    return (status.get('NSpid') ?? '').split(/\s+/).at(-1) === '1';
  } catch {
    return true; // gone: its children go to init
  }
}

/** The copy's status fields, or undefined once it is gone (or its pid is another process's). */
function copyStatus(copy: SnapshotCopy): Map<string, string> | undefined {
  try {
    const status = readStatus(`/proc/${copy.pid}/status`);
    return Number(status.get('PPid')) === copy.parent ? status : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the killed copy is gone or has stayed an unreaped zombie of its parent for a grace
 * period; says which parent in that case. Call after the capture ended (it killed the copy).
 */
export async function leftZombie(copy: SnapshotCopy): Promise<LeftZombie | undefined> {
  if (reapsByItself(copy.parent)) return undefined;
  let status = copyStatus(copy);
  // Still coreshot's tracee (tearing down, or its exit not yet collected): not the parent's yet.
  for (const end = Date.now() + TEARDOWN_MS; status && Number(status.get('TracerPid')) === process.pid; ) {
    if (Date.now() > end) return undefined;
    await sleep(5);
    status = copyStatus(copy);
  }
  for (const end = Date.now() + GRACE_MS; status && Date.now() < end; ) {
    await sleep(5);
    status = copyStatus(copy);
  }
  if (!status?.get('State')?.startsWith('Z')) return undefined;
  let comm = '?';
  let parentStopped = false;
  try {
    comm = readProc(`/proc/${copy.parent}/comm`).toString().trim();
    parentStopped = /^[Tt]/.test(readStatus(`/proc/${copy.parent}/status`).get('State') ?? '');
  } catch {
    return undefined; // the parent exited meanwhile: init reaps the copy
  }
  return { pid: copy.pid, parent: copy.parent, comm, parentStopped };
}
