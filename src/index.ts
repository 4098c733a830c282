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
export { type Finding, type FindingKind, FormatError } from './bytes/errors.js';
export { describeNote, describeNotes } from './elf/notes/describe.js';
export { noteTypeName } from './elf/notes/table.js';
export { decodeRegisters, encodeRegisters, registerTable } from './elf/regs/index.js';
export { BufferAccess, FileAccess, type RandomAccess } from './io/random-access.js';
export {
  checkOutput,
  FileSink,
  OutputError,
  type OutputErrorKind,
  OutputExistsError,
  openSink,
  type Sink,
  StreamSink,
} from './io/sink.js';
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
export { Checkpoint, type CheckpointImage, type OpenCheckpointOptions } from './sources/criu/checkpoint.js';
export { CheckpointError } from './sources/criu/image.js';
export { type CoreFile, type OpenCoreOptions, openCore, readCore } from './sources/elfcore/open.js';
export {
  type Captured,
  CaptureError,
  captureProcess,
  type DumpOptions,
  processTree,
} from './sources/live/index.js';
