export { type Captured, CaptureError, captureProcess, type DumpOptions } from './dump.js';
export { processTree } from './tree.js';
export { type LeftZombie, leftZombie, type SnapshotCopy } from './zombie.js';
