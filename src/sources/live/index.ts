export { type Captured, CaptureError, captureProcess, type DumpOptions } from './dump.js';
export { processTree } from './tree.js';
