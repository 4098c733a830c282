// The husk a restore builds the new process in: a shell blocked reading a pipe coreshot holds,
// started in a session of its own and orphaned at once, so that it is no child of coreshot (it
// is reparented like a daemon) and needs nothing from it to go away: if coreshot dies before it
// holds the husk, the pipe closes, the read returns and the shell exits; once held, the husk is
// seized with PTRACE_O_EXITKILL and dies with coreshot.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { makePipe } from '../../sys/files.js';

export interface Husk {
  pid: number;
  /** Closes coreshot's end of the pipe (the husk's own copy is closed by the restore). Once only. */
  close(): void;
}

/** Starts a husk and returns its pid once the shell that started it has exited. */
export async function startHusk(): Promise<Husk> {
  // fd 3 carries the pipe past the rule that an asynchronous list reads /dev/null.
  const script = "exec 3<&0; /bin/sh -c 'read _ <&3' 3<&3 </dev/null >/dev/null 2>&1 & echo $!";
  const [readEnd, writeEnd] = makePipe();
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', script], {
      stdio: [readEnd, 'pipe', 'ignore'],
      detached: true,
      cwd: '/',
    });
  } finally {
    closeSync(readEnd);
  }
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const pid = Number(out.trim());
  if (status !== 0 || !Number.isInteger(pid) || pid <= 0) {
    closeSync(writeEnd);
    throw new Error(`could not start the process to restore into (/bin/sh exited ${status})`);
  }
  return {
    pid,
    close: () => closeSync(writeEnd),
  };
}
