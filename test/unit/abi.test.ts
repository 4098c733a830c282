// The abi/ tables against the Linux uapi headers Debian installs (linux-libc-dev): every constant
// coreshot defines that a header also defines must have the header's value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AT, auxvName } from '../../src/abi/auxv.js';
import * as errno from '../../src/abi/errno.js';
import * as mman from '../../src/abi/mman.js';
import * as notes from '../../src/abi/notes.js';
import * as signals from '../../src/abi/signals.js';
import * as syscalls from '../../src/abi/syscalls.js';

const INCLUDE = '/usr/include';
const ARCH_INCLUDE = '/usr/include/x86_64-linux-gnu';

/** `#define NAME number` lines of a header (decimal, hex or octal; one level of aliases). */
function defines(...files: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const aliases: [string, string][] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^#\s*define\s+(\w+)\s+(\S+)/.exec(line);
      if (!m) continue;
      const [, name, value] = m as unknown as [string, string, string];
      const v = value.replace(/^\((.*)\)$/, '$1').replace(/[UL]+$/, '');
      if (/^-?(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.test(v))
        out.set(name, /^0[0-7]+$/.test(v) ? Number.parseInt(v, 8) : Number(v));
      else if (/^\w+$/.test(v)) aliases.push([name, v]);
    }
  }
  for (const [name, target] of aliases) {
    const v = out.get(target);
    if (v !== undefined && !out.has(name)) out.set(name, v);
  }
  return out;
}

/** Checks each exported constant named like the header's against it; returns how many matched. */
function sameAsHeader(exports: Record<string, unknown>, header: Map<string, number>, prefix = ''): number {
  let n = 0;
  for (const [name, value] of Object.entries(exports)) {
    const h = header.get(prefix + name);
    if (h === undefined || (typeof value !== 'number' && typeof value !== 'bigint')) continue;
    assert.equal(Number(value), h, `${prefix}${name}`);
    n++;
  }
  return n;
}

test('note types match linux/elf.h', () => {
  const h = defines(`${INCLUDE}/linux/elf.h`);
  // elf.h names the FP regset NT_PRFPREG; NT_FPREGSET is the same number in glibc's elf.h.
  const n = sameAsHeader(notes, h);
  assert.ok(n >= 30, `only ${n} note types found in linux/elf.h`);
  assert.equal(notes.NT_FPREGSET, h.get('NT_PRFPREG'));
});

test('auxv keys match linux/auxvec.h and asm/auxvec.h; names come from the same table', () => {
  const h = defines(`${INCLUDE}/linux/auxvec.h`, `${ARCH_INCLUDE}/asm/auxvec.h`);
  const n = sameAsHeader(AT, h, 'AT_');
  assert.ok(n >= 25, `only ${n} auxv keys found in the headers`);
  assert.equal(auxvName(h.get('AT_ENTRY')!), 'AT_ENTRY');
  assert.equal(auxvName(BigInt(h.get('AT_SYSINFO_EHDR')!)), 'AT_SYSINFO_EHDR');
  assert.equal(auxvName(9999), 'AT_9999');
  const values = Object.values(AT);
  assert.equal(new Set(values).size, values.length, 'two auxv keys share a number');
});

test('signal numbers and names match asm/signal.h', () => {
  const h = defines(`${ARCH_INCLUDE}/asm/signal.h`);
  assert.ok(sameAsHeader(signals, h) >= 8);
  for (const [name, value] of h) {
    if (
      !/^SIG[A-Z]+$/.test(name) ||
      value < 1 ||
      value > 31 ||
      ['SIGIOT', 'SIGPOLL', 'SIGLOST', 'SIGUNUSED'].includes(name)
    )
      continue;
    assert.equal(signals.signalName(value), name);
  }
  // Real-time signals are named from the kernel's SIGRTMIN (32), as gdb shows them from 34 on.
  assert.equal(signals.signalName(34), 'SIGRTMIN+0');
  assert.equal(signals.signalName(64), 'SIGRTMIN+30');
  assert.equal(signals.ALL_SIGNALS, (1n << 64n) - 1n);
});

test('errno values and restart codes match the headers', () => {
  const h = defines(`${INCLUDE}/asm-generic/errno-base.h`, `${INCLUDE}/asm-generic/errno.h`);
  assert.ok(sameAsHeader(errno, h) >= 7);
  for (const name of ['EPERM', 'ENOENT', 'ESRCH', 'EINTR', 'EIO', 'EAGAIN', 'EACCES', 'ENOSYS'])
    assert.equal(errno.errnoName(h.get(name)!), name);
  assert.equal(errno.errnoText(h.get('EACCES')!), 'permission denied');
  assert.equal(errno.errnoName(4095), 'errno 4095');
  // include/linux/errno.h is kernel-internal (not installed): its values, negated as a return
  // register holds them, are 512, 513, 514 and 516.
  assert.deepEqual(
    [errno.ERESTARTSYS, errno.ERESTARTNOINTR, errno.ERESTARTNOHAND, errno.ERESTART_RESTARTBLOCK],
    [-512n, -513n, -514n, -516n],
  );
});

test('x86_64 system call numbers match asm/unistd_64.h', () => {
  const h = defines(`${ARCH_INCLUDE}/asm/unistd_64.h`);
  const table = syscalls.SYSCALLS.x86_64;
  for (const [name, nr] of Object.entries(table)) assert.equal(nr, h.get(`__NR_${name}`), name);
  assert.equal(new Set(Object.values(table)).size, Object.keys(table).length);
});

test('clone, mmap, mprotect and madvise flags match linux/sched.h and asm-generic/mman*.h', () => {
  const sched = defines(`${INCLUDE}/linux/sched.h`);
  assert.ok(sameAsHeader(syscalls, sched) >= 8);
  const mm = defines(
    `${INCLUDE}/asm-generic/mman-common.h`,
    `${INCLUDE}/linux/mman.h`,
    `${ARCH_INCLUDE}/asm/mman.h`,
  );
  assert.equal(sameAsHeader(mman, mm), Object.keys(mman).length, 'every mman constant is in the headers');
});
