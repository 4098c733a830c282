// Test-only fault-injection points: places where a test can make coreshot stop and wait to be
// SIGKILLed, to check that whatever coreshot was doing to another process undoes itself.
//
// Set CORESHOT_TEST_HOLD=POINT in coreshot's environment: on reaching POINT it writes
// "coreshot: holding at POINT" to stderr and waits for ever. Without the variable every point
// costs one comparison. The points (the steps of a code injection into a held thread; see
// src/inject/remote.ts and src/sys/tracee.ts, used by the fork snapshot of live capture):
//
// | point               | reached when                                                          |
// | ------------------- | --------------------------------------------------------------------- |
// | frames-written      | the injection's signal frames are on the thread's stack               |
// | registers-set       | the thread holds the registers of the first injected system call     |
// | forked              | the injected clone created the snapshot copy (before it is set up)   |
// | syscall-returned    | the first injected system call returned                               |
// | sigreturn-entered   | the thread entered the rt_sigreturn that ends each injected call     |

/** The fault-injection points, as FAULT_POINTS lists them. */
export const FAULT_POINTS = [
  'frames-written',
  'registers-set',
  'forked',
  'syscall-returned',
  'sigreturn-entered',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

/** The environment variable that names the point to hold at. */
export const FAULT_ENV = 'CORESHOT_TEST_HOLD';

/** Holds coreshot at `point` for ever when the environment asks for it (see above). */
export function faultPoint(point: string): void {
  if (process.env[FAULT_ENV] !== point) return;
  process.stderr.write(`coreshot: holding at ${point}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
