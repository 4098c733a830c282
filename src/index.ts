// coreshot's public API: sources produce a ProcessImage, sinks consume one, analysis reads one.

export { type GuestRange, NotQemuError, type QemuGuest, type RamBlockInfo } from './analysis/qemu/guest.js';
export {
  type CoreReport,
  type CoreSummary,
  coreReport,
  executablePath,
  type MappingReport,
  type MemoryTotals,
  type ReportInput,
  type SignalReport,
} from './analysis/report.js';
export { FormatError } from './bytes/errors.js';
export { describeNote, noteTypeName } from './elf/notes/describe.js';
export { decodeRegisters, encodeRegisters, registerTable } from './elf/regs/index.js';
export { BufferAccess, FileAccess, type RandomAccess } from './io/random-access.js';
export { FileSink, OutputExistsError, openSink, type Sink, StreamSink } from './io/sink.js';
export type { AddressSpace, MemoryRead, MissingRange, Region } from './model/address-space.js';
export { SplicedAddressSpace } from './model/address-space.js';
export type * from './model/process-image.js';
export type { LongRunOptions, Progress } from './model/progress.js';
export {
  type ConvertCheckpointOptions,
  type ConvertedCore,
  type ConvertResult,
  convertCheckpoint,
} from './pipelines/criu.js';
export { type DumpSummary, dumpProcess } from './pipelines/dump.js';
export {
  GuestMemoryError,
  type GuestMemoryErrorKind,
  type GuestMemoryOptions,
  type GuestMemoryResult,
  writeGuestMemory,
} from './pipelines/guest-memory.js';
export { type OpenQemuOptions, openQemuCore, type QemuCore } from './pipelines/qemu-core.js';
export { type WriteSummary, writeElfCore } from './sinks/elfcore/write.js';
export {
  GuestMemoryMissingError,
  type GuestSegment,
  VMCORE_ARCHES,
  type VmcoreArch,
  type VmcoreInput,
  type VmcoreResult,
  vmcoreArchOfBinary,
  writeVmcore,
} from './sinks/vmcore/write.js';
export { type CoreFile, type OpenCoreOptions, openCore, readCore } from './sources/elfcore/open.js';
export {
  type Captured,
  CaptureError,
  captureProcess,
  type DumpOptions,
  processTree,
} from './sources/live/index.js';
