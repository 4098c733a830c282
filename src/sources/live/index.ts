export { CaptureError, type DumpOptions, type DumpSummary, dumpProcess } from './dump.js';
export { processTree } from './tree.js';
