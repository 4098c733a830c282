// coreshot's own notes (elf/notes/coreshot.ts): each struct laid out as the kernel's structs it
// copies (struct sigaction for rt_sigaction: 32 bytes; rlimit pairs; stack_t), encoded and decoded
// back to the same values, and placed by the note table (the thread note among a thread's sets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AT_FDCWD } from '../../src/abi/fcntl.js';
import { NT_CORESHOT_FD, NT_CORESHOT_PROCESS, NT_CORESHOT_THREAD } from '../../src/abi/notes.js';
import { PRCTL_MM_MAP_FIELDS } from '../../src/abi/prctl.js';
import { RLIM_INFINITY, RLIMIT_NAMES } from '../../src/abi/resource.js';
import {
  CORESHOT_FD,
  CORESHOT_OWNER,
  CORESHOT_PROCESS,
  CORESHOT_THREAD,
  decodeCoreshotFd,
  decodeCoreshotProcess,
  decodeCoreshotThread,
  encodeCoreshotFd,
  encodeCoreshotProcess,
  encodeCoreshotThread,
  NSIG,
  type RecordedProcess,
  recordedState,
} from '../../src/elf/notes/coreshot.js';
import { archContext, structSize } from '../../src/elf/notes/fields.js';
import { noteTypeName, placeOf } from '../../src/elf/notes/table.js';
import { ARCHES } from '../../src/model/process-image.js';

const arch = ARCHES.x86_64;
const ctx = archContext(arch);

test('the structs have the sizes of what they copy', () => {
  // mm: 11 words; rlimits: 16 pairs of u64; sigactions: 64 kernel struct sigaction of 32 bytes.
  assert.equal(structSize(CORESHOT_PROCESS, ctx), PRCTL_MM_MAP_FIELDS.length * 8 + 16 * 16 + NSIG * 32);
  assert.equal(structSize(CORESHOT_FD, ctx), 24);
  // stack_t (24), rseq address/size/signature (16), robust list head/len (16), clear_child_tid (8).
  assert.equal(structSize(CORESHOT_THREAD, ctx), 64);
});

test('each note decodes to what was encoded', () => {
  const process: RecordedProcess = {
    mm: Object.fromEntries(
      PRCTL_MM_MAP_FIELDS.map((f, i) => [f, 0x400000n + BigInt(i) * 0x1000n]),
    ) as RecordedProcess['mm'],
    rlimits: Object.fromEntries(
      RLIMIT_NAMES.map((n, i) => [n, { cur: BigInt(i), max: i % 2 ? RLIM_INFINITY : BigInt(i * 10) }]),
    ) as RecordedProcess['rlimits'],
    sigactions: Array.from({ length: NSIG }, (_, i) => ({
      handler: BigInt(i),
      flags: 0x4000000n,
      restorer: 0x7f0000001000n,
      mask: 1n << BigInt(i),
    })),
  };
  assert.deepEqual(decodeCoreshotProcess(arch, encodeCoreshotProcess(arch, process)), process);
  const file = { fd: 7, flags: 0o2100002, pos: 1000n, mode: 0o100644, path: '/tmp/a file' };
  assert.deepEqual(decodeCoreshotFd(arch, encodeCoreshotFd(arch, file)), file);
  const thread = {
    sigaltstack: { sp: 0x7f00aa000000n, flags: 0, size: 0x10000n },
    rseq: { address: 0x7f00bb0004a0n, size: 32, signature: 0x53053053 },
    robust_list: { head: 0x7f00bb000a20n, len: 24n },
    clear_child_tid: 0x7f00bb000990n,
  };
  assert.deepEqual(decodeCoreshotThread(arch, encodeCoreshotThread(arch, thread)), thread);

  const state = recordedState(
    arch,
    [
      { owner: CORESHOT_OWNER, type: NT_CORESHOT_PROCESS, desc: encodeCoreshotProcess(arch, process) },
      { owner: CORESHOT_OWNER, type: NT_CORESHOT_FD, desc: encodeCoreshotFd(arch, file) },
      {
        owner: CORESHOT_OWNER,
        type: NT_CORESHOT_FD,
        desc: encodeCoreshotFd(arch, { fd: AT_FDCWD, flags: 0, pos: 0n, mode: 0o40755, path: '/srv' }),
      },
    ],
    [[{ owner: CORESHOT_OWNER, type: NT_CORESHOT_THREAD, data: encodeCoreshotThread(arch, thread) }], []],
  );
  assert.deepEqual(state, { process, files: [file], cwd: '/srv', threads: [thread, undefined] });
});

test('the table names and places them', () => {
  assert.equal(noteTypeName(CORESHOT_OWNER, NT_CORESHOT_PROCESS), 'CORESHOT_PROCESS');
  assert.equal(placeOf(CORESHOT_OWNER, NT_CORESHOT_PROCESS), 'carried');
  assert.equal(placeOf(CORESHOT_OWNER, NT_CORESHOT_FD), 'carried');
  assert.equal(placeOf(CORESHOT_OWNER, NT_CORESHOT_THREAD), 'regset');
});
