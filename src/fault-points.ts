// Test-only fault-injection points: places where a test can make coreshot stop and wait to be
// SIGKILLed, to check that whatever coreshot was doing to another process undoes itself.
//
// Set CORESHOT_TEST_HOLD=POINT in coreshot's environment: on reaching POINT it writes
// "coreshot: holding at POINT" to stderr and waits for ever, or, with CORESHOT_TEST_RESUME=FILE,
// until FILE exists (so a test can change the world at that point and let coreshot go on).
// Without the variable every point costs one comparison. The points (the steps of a code
// injection into a held thread, see src/inject/remote.ts and src/sys/tracee.ts, then live
// capture's and restore's own):
//
// | point               | reached when                                                          |
// | ------------------- | --------------------------------------------------------------------- |
// | frames-written      | the injection's signal frames are on the thread's stack               |
// | registers-set       | the thread holds the registers of the first injected system call     |
// | forked              | the injected clone created the snapshot copy (before it is set up)   |
// | syscall-returned    | an injected system call returned                                      |
// | sigreturn-entered   | the thread entered the rt_sigreturn that ends each injected call     |
// | fork-flag-cleared   | snapshot: madvise made a MADV_DONTFORK/WIPEONFORK area fork-copied    |
// | fork-flag-restored  | snapshot: madvise set such an area's flag back, after the clone      |
// | released            | snapshot mode: the target runs on, its copy is held                   |
// | capture-ready       | live capture: the image is described, none of its memory read yet     |
// | capture-done        | live capture: every byte of the image is read, nothing let go yet     |
// | husk-held           | restore: the process to build is seized (EXITKILL), nothing changed   |
// | process-cloned      | restore: the husk forked the process with the image's pid (held)      |
// | husk-emptied        | restore: its own memory is unmapped, its files closed                 |
// | memory-mapped       | restore: every mapping of the image is mapped                         |
// | memory-written      | restore: the image's bytes are in place                               |
// | threads-set         | restore: every thread exists with its final state, not yet let go     |

import { existsSync } from 'node:fs';

/** The environment variables: the point to hold at, the file whose creation ends the hold. */
const FAULT_ENV = { hold: 'CORESHOT_TEST_HOLD', resume: 'CORESHOT_TEST_RESUME' } as const;

/** Holds coreshot at `point` when the environment asks for it (see above). */
export function faultPoint(point: string): void {
  if (process.env[FAULT_ENV.hold] !== point) return;
  process.stderr.write(`coreshot: holding at ${point}\n`);
  const resume = process.env[FAULT_ENV.resume];
  const cell = new Int32Array(new SharedArrayBuffer(4));
  if (!resume) Atomics.wait(cell, 0, 0);
  while (resume && !existsSync(resume)) Atomics.wait(cell, 0, 0, 10);
}
