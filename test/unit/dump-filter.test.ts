// Which bytes of a mapping a live dump stores, decided as the kernel's vma_dump_size()
// (fs/coredump.c) does from the VMA's flags and /proc/PID/coredump_filter
// (Documentation/filesystems/proc.rst: bit 0 anonymous private ... bit 6 hugetlb shared).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DumpContext, dumpSize, PAGE_SIZE } from '../../src/sources/live/filter.js';
import type { ProcMapping } from '../../src/sys/proc.js';

/** The kernel's default coredump_filter: anonymous private and shared, ELF headers, hugetlb private. */
const DEFAULT = 0x33;
const ALL = 0x7f;
const SIZE = 16n * PAGE_SIZE;

function mapping(fields: Partial<ProcMapping> & { flags?: string }): ProcMapping {
  const { flags, ...rest } = fields;
  return {
    start: 0x10000n,
    end: 0x10000n + SIZE,
    perms: 'rw-p',
    offset: 0n,
    dev: '00:00',
    inode: 0,
    path: '',
    vmFlags: new Set((flags ?? 'rd wr mr mw me ac').split(' ')),
    anonKb: 0,
    ...rest,
  };
}

const file = (path: string, extra: Partial<ProcMapping> & { flags?: string } = {}) =>
  mapping({ dev: '08:01', inode: 1234, path, perms: 'r--p', flags: 'rd mr mw me', ...extra });

/** A context for mappings of files that are not executable and do not start with \x7fELF. */
const plain: DumpContext = { fileMode: () => 0o644, startsWithElfMagic: () => false };

test('written private anonymous memory follows bit 0', () => {
  const heap = mapping({ path: '[heap]', anonKb: 8 });
  assert.equal(dumpSize(heap, DEFAULT, plain), SIZE);
  assert.equal(dumpSize(heap, DEFAULT & ~1, plain), 0n);
  // Never written (no anon_vma): nothing to dump, whatever the filter.
  assert.equal(dumpSize(mapping({ anonKb: 0 }), ALL, plain), 0n);
});

test('shared memory: bit 1 when anonymous or deleted, bit 3 when it has a file', () => {
  const shmAnon = mapping({
    perms: 'rw-s',
    flags: 'rd wr sh mr mw me ms',
    path: '/dev/zero (deleted)',
    inode: 7,
  });
  assert.equal(dumpSize(shmAnon, 1 << 1, plain), SIZE);
  assert.equal(dumpSize(shmAnon, 1 << 3, plain), 0n);
  const shmFile = file('/srv/data', { perms: 'rw-s', flags: 'rd wr sh mr mw me ms' });
  assert.equal(dumpSize(shmFile, DEFAULT, plain), 0n);
  assert.equal(dumpSize(shmFile, 1 << 3, plain), SIZE);
});

test('private file mappings: bit 2 whole; with bit 4 only the first page of an ELF file', () => {
  const data = file('/srv/data');
  assert.equal(dumpSize(data, 1 << 2, plain), SIZE);
  assert.equal(dumpSize(data, DEFAULT, plain), 0n);
  // An executable file (mode) or a file starting with the ELF magic gets its first page.
  assert.equal(dumpSize(data, DEFAULT, { ...plain, fileMode: () => 0o755 }), PAGE_SIZE);
  assert.equal(dumpSize(data, DEFAULT, { ...plain, startsWithElfMagic: () => true }), PAGE_SIZE);
  // Not at offset 0, or not readable: nothing.
  assert.equal(
    dumpSize(file('/srv/lib.so', { offset: PAGE_SIZE }), DEFAULT, { ...plain, fileMode: () => 0o755 }),
    0n,
  );
  assert.equal(
    dumpSize(file('/srv/lib.so', { perms: '---p' }), DEFAULT, { ...plain, fileMode: () => 0o755 }),
    0n,
  );
  // A one-page mapping is not extended past its end.
  const small = file('/srv/lib.so', { end: 0x10000n + 0x800n });
  assert.equal(dumpSize(small, DEFAULT, { ...plain, fileMode: () => 0o755 }), 0x800n);
  // A private file mapping the process wrote to counts as anonymous (bit 0).
  assert.equal(dumpSize(file('/srv/data', { perms: 'rw-p', anonKb: 4 }), 1, plain), SIZE);
});

test('VM_DONTDUMP and VM_IO are never dumped; special mappings always are', () => {
  assert.equal(dumpSize(mapping({ anonKb: 8, flags: 'rd wr mr mw me dd' }), ALL, plain), 0n);
  assert.equal(dumpSize(mapping({ anonKb: 8, flags: 'rd wr mr mw me io' }), ALL, plain), 0n);
  const vdso = mapping({ path: '[vdso]', perms: 'r-xp', flags: 'rd ex mr mw me de' });
  assert.equal(dumpSize(vdso, 0, plain), SIZE);
  // [heap], [stack] and [anon:...] are ordinary anonymous memory, not special.
  for (const path of ['[heap]', '[stack]', '[anon:jit]', '[anon_shmem:x]'])
    assert.equal(dumpSize(mapping({ path }), 0, plain), 0n, path);
});

test('hugetlb memory follows bits 5 and 6, before any other rule', () => {
  const hugePrivate = mapping({ flags: 'rd wr mr mw me ht', anonKb: 0 });
  assert.equal(dumpSize(hugePrivate, 1 << 5, plain), SIZE);
  assert.equal(dumpSize(hugePrivate, ALL & ~(1 << 5), plain), 0n);
  const hugeShared = mapping({ perms: 'rw-s', flags: 'rd wr sh mr mw me ms ht' });
  assert.equal(dumpSize(hugeShared, 1 << 6, plain), SIZE);
  assert.equal(dumpSize(hugeShared, DEFAULT, plain), 0n);
});

test('without smaps VmFlags, sharing comes from the permissions', () => {
  const shared = mapping({ perms: 'rw-s', flags: '', path: '/dev/zero (deleted)', inode: 7 });
  shared.vmFlags.clear();
  assert.equal(dumpSize(shared, 1 << 1, plain), SIZE);
});
