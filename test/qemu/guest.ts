// Test harness for QEMU guests: boots small TCG guests as non-children, talks QMP, takes QEMU's
// own dump-guest-memory and cores of the QEMU process (gcore, kernel, coreshot dump).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { coreshot, isAlive, killAndWait, ROOT, run, runOk, startDetached } from '../helpers/proc.js';

export const QEMU = 'qemu-system-x86_64';
export const KERNEL_DIR = join(ROOT, '.cache/guest-kernel');

/** Fails (never skips) when a tool the QEMU tests need is missing. */
export function requireTools(...tools: string[]): void {
  for (const t of tools) {
    const r = run('sh', ['-c', `command -v ${t}`]);
    assert.equal(r.status, 0, `${t} is required for the QEMU tests (see .ci/run)`);
  }
}

export interface Guest {
  pid: number;
  dir: string;
  qmpPath: string;
  serial: string;
}

/** A file the generic loader plants at a guest-physical address. */
export interface LoaderFile {
  addr: bigint;
  path: string;
}

/** A loader file of random bytes, with its contents. */
export interface Pattern extends LoaderFile {
  data: Buffer;
}

export function makePatterns(dir: string, addrs: bigint[], size = 64 * 1024): Pattern[] {
  return addrs.map((addr, i) => {
    const data = randomBytes(size);
    const path = join(dir, `pattern${i}.bin`);
    writeFileSync(path, data);
    return { addr, data, path };
  });
}

export interface StartOptions {
  /** -m; QEMU's default when absent. */
  memory?: string;
  machine?: string;
  patterns?: LoaderFile[];
  /** Extra QEMU arguments (kernel, initrd, devices). */
  args?: string[];
  /** Start with the CPU stopped (-S). */
  stopped?: boolean;
  /** Allow a kernel core (ulimit -c unlimited; cores land in dir). */
  kernelCore?: boolean;
}

/** Starts QEMU (TCG, no display) in `dir` as a non-child and waits for its QMP socket. */
export async function startGuest(dir: string, opts: StartOptions): Promise<Guest> {
  const qmpPath = join(dir, 'qmp.sock');
  const serial = join(dir, 'serial.log');
  const args = [
    '-machine',
    opts.machine ?? 'pc,dump-guest-core=on',
    '-accel',
    'tcg',
    ...(opts.memory ? ['-m', opts.memory] : []),
    '-display',
    'none',
    '-nodefaults',
    '-no-user-config',
    '-serial',
    `file:${serial}`,
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
    ...(opts.stopped ? ['-S'] : []),
    ...(opts.patterns ?? []).flatMap((p) => [
      '-device',
      `loader,file=${p.path},addr=0x${p.addr.toString(16)},force-raw=on`,
    ]),
    ...(opts.args ?? []),
  ];
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const line = `${opts.kernelCore ? 'ulimit -c unlimited; ' : ''}exec ${[QEMU, ...args].map(q).join(' ')}`;
  const pid = startDetached('sh', ['-c', line], { cwd: dir, stderr: join(dir, 'qemu.log') });
  const guest = { pid, dir, qmpPath, serial };
  // Ready when its QMP socket accepts a connection: the file appears at bind(), before listen().
  const end = Date.now() + 20_000;
  while (!(existsSync(qmpPath) && (await accepts(qmpPath)))) {
    if (!isAlive(pid) || Date.now() > end) {
      const log = run('cat', [join(dir, 'qemu.log')]).stdout;
      throw new Error(`QEMU did not start: ${log}`);
    }
    await sleep(50);
  }
  return guest;
}

/** Whether a unix socket accepts a connection now (closed at once). */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs QMP commands in order (after qmp_capabilities); returns their results, throws on errors. */
export function qmp(guest: Guest, commands: { execute: string; arguments?: object }[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(guest.qmpPath);
    const results: unknown[] = [];
    const queue = [{ execute: 'qmp_capabilities' }, ...commands];
    let greeted = false;
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP timed out waiting for ${JSON.stringify(queue[0])}`));
    }, 120_000);
    const next = () => {
      const c = queue[0];
      if (!c) {
        clearTimeout(timer);
        sock.end();
        resolve(results.slice(1));
        return;
      }
      sock.write(`${JSON.stringify(c)}\n`);
    };
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as {
          QMP?: unknown;
          event?: string;
          return?: unknown;
          error?: unknown;
        };
        buf = buf.slice(nl + 1);
        if (msg.event) continue;
        if (msg.QMP && !greeted) {
          greeted = true;
          next();
          continue;
        }
        if (msg.error) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error(`QMP ${JSON.stringify(queue[0])}: ${JSON.stringify(msg.error)}`));
          return;
        }
        results.push(msg.return);
        queue.shift();
        next();
      }
    });
  });
}

/** Stops the guest's CPUs and takes QEMU's own dump (ELF, paging off) into `path`. */
export async function qemuDump(guest: Guest, path: string): Promise<void> {
  await qmp(guest, [
    { execute: 'stop' },
    { execute: 'dump-guest-memory', arguments: { paging: false, protocol: `file:${path}` } },
  ]);
}

/** gcore of the QEMU process; returns the core's path. */
export function gcore(guest: Guest, prefix: string): string {
  runOk('gcore', ['-o', prefix, String(guest.pid)], { timeoutMs: 300_000 });
  return `${prefix}.${guest.pid}`;
}

/** `coreshot dump` of the QEMU process (the live-capture command); returns the core's path. */
export function coreshotDump(guest: Guest, out: string): string {
  const r = coreshot(['dump', String(guest.pid), '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

/** Kills QEMU with SIGABRT and waits for the kernel's core in its directory. */
export async function kernelCore(guest: Guest): Promise<string> {
  process.kill(guest.pid, 'SIGABRT');
  const end = Date.now() + 120_000;
  while (isAlive(guest.pid) && Date.now() < end) await sleep(50);
  const name = readdirSync(guest.dir).find((f) => f === 'core' || f === `core.${guest.pid}`);
  assert.ok(name, `no kernel core in ${guest.dir} (core_pattern must be "core")`);
  return join(guest.dir, name);
}

export async function stopGuest(guest: Guest): Promise<void> {
  await killAndWait(guest.pid);
}

/** The PT_LOADs of an ELF file as eu-readelf -l shows them. */
export function loads(path: string): { offset: bigint; vaddr: bigint; paddr: bigint; filesz: bigint }[] {
  const out = runOk('eu-readelf', ['-l', path]).stdout;
  return out
    .split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { offset: BigInt(f[1]!), vaddr: BigInt(f[2]!), paddr: BigInt(f[3]!), filesz: BigInt(f[4]!) };
    });
}

/** Reads `length` bytes of `path` at guest-physical `paddr` through its PT_LOADs. */
export function readPhys(
  path: string,
  segs: ReturnType<typeof loads>,
  paddr: bigint,
  length: number,
): Buffer {
  const s = segs.find((x) => x.paddr <= paddr && paddr + BigInt(length) <= x.paddr + x.filesz);
  assert.ok(s, `${path}: no PT_LOAD holds 0x${paddr.toString(16)}+${length}`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, Number(s.offset + (paddr - s.paddr)));
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Asserts that every guest-physical range of QEMU's dump is byte-identical in ours, and that both
 * have the same ranges. Compares in 8 MiB chunks.
 */
export function assertSameGuestMemory(qemuDump: string, ours: string): void {
  const theirs = loads(qemuDump);
  const mine = loads(ours);
  assert.deepEqual(
    mine.map((s) => [s.paddr, s.filesz]),
    theirs.map((s) => [s.paddr, s.filesz]),
    'the PT_LOAD ranges differ from QEMU dump-guest-memory',
  );
  const a = openSync(qemuDump, 'r');
  const b = openSync(ours, 'r');
  const chunk = 8 << 20;
  const ba = Buffer.alloc(chunk);
  const bb = Buffer.alloc(chunk);
  try {
    theirs.forEach((t, i) => {
      const m = mine[i]!;
      for (let pos = 0n; pos < t.filesz; pos += BigInt(chunk)) {
        const n = Number(t.filesz - pos < BigInt(chunk) ? t.filesz - pos : BigInt(chunk));
        assert.equal(readSync(a, ba, 0, n, Number(t.offset + pos)), n);
        assert.equal(readSync(b, bb, 0, n, Number(m.offset + pos)), n);
        if (!ba.subarray(0, n).equals(bb.subarray(0, n))) {
          let k = 0;
          while (ba[k] === bb[k]) k++;
          assert.fail(`guest memory differs at 0x${(t.paddr + pos + BigInt(k)).toString(16)}`);
        }
      }
    });
  } finally {
    closeSync(a);
    closeSync(b);
  }
}

/**
 * A tiny initramfs: static busybox, the kernel's qemu_fw_cfg module (which hands the guest's
 * VMCOREINFO to QEMU's vmcoreinfo device), and an /init that loads it and says READY on ttyS0.
 */
export function buildInitramfs(dir: string): string {
  const kernel = join(KERNEL_DIR, 'vmlinuz');
  assert.ok(existsSync(kernel), `${kernel} is missing: run scripts/ci/fetch-guest-kernel.sh (.ci/run does)`);
  const modules = runOk('find', [join(KERNEL_DIR, 'modules'), '-name', 'qemu_fw_cfg.ko']).stdout.trim();
  assert.ok(modules, 'qemu_fw_cfg.ko not found in the guest kernel modules');
  const root = join(dir, 'initramfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const d of ['dev', 'proc', 'sys']) mkdirSync(join(root, d));
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  copyFileSync(modules, join(root, 'qemu_fw_cfg.ko'));
  writeFileSync(
    join(root, 'init'),
    [
      '#!/bin/busybox sh',
      '/bin/busybox mount -t proc proc /proc',
      '/bin/busybox mount -t sysfs sysfs /sys',
      '/bin/busybox insmod /qemu_fw_cfg.ko',
      'echo CORESHOT-GUEST-READY',
      'while :; do /bin/busybox sleep 3600; done',
      '',
    ].join('\n'),
  );
  chmodSync(join(root, 'init'), 0o755);
  const out = join(dir, 'initrd.cpio');
  runOk('sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet > '${out}'`]);
  return out;
}

/** Boots Debian's cloud kernel with the initramfs and -device vmcoreinfo; waits for READY. */
export async function startLinuxGuest(dir: string): Promise<Guest> {
  const initrd = buildInitramfs(dir);
  const guest = await startGuest(dir, {
    memory: '256M',
    args: [
      '-kernel',
      join(KERNEL_DIR, 'vmlinuz'),
      '-initrd',
      initrd,
      '-append',
      'console=ttyS0 panic=-1',
      '-device',
      'vmcoreinfo',
    ],
  });
  const end = Date.now() + 120_000;
  for (;;) {
    const log = existsSync(guest.serial) ? run('cat', [guest.serial]).stdout : '';
    if (log.includes('CORESHOT-GUEST-READY')) return guest;
    if (!isAlive(guest.pid) || Date.now() > end) {
      await stopGuest(guest);
      throw new Error(`the Linux guest did not come up:\n${log.slice(-2000)}`);
    }
    await sleep(200);
  }
}

/** The 32-bit word at guest-physical `paddr`, read by QEMU itself (HMP `xp`) while the guest runs. */
export async function guestWord(guest: Guest, paddr: bigint): Promise<number> {
  const [out] = (await qmp(guest, [
    { execute: 'human-monitor-command', arguments: { 'command-line': `xp /1wx 0x${paddr.toString(16)}` } },
  ])) as string[];
  const m = /: (0x[0-9a-f]+)/.exec(out ?? '');
  assert.ok(m, `unexpected xp output: ${out}`);
  return Number(m[1]);
}
