import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, type DescMessage, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import {
  core_entrySchema,
  inventory_entrySchema,
  mm_entrySchema,
  pagemap_entrySchema,
  pagemap_headSchema,
  pstree_entrySchema,
} from '../../src/sources/criu/gen/criu_pb.js';
import {
  CORE_MAGIC,
  FILES_MAGIC,
  IMG_COMMON_MAGIC,
  INVENTORY_MAGIC,
  MM_MAGIC,
  PAGEMAP_MAGIC,
  PSTREE_MAGIC,
} from '../../src/sources/criu/image.js';

// Writes small synthetic CRIU image directories for what the real fixtures do not cover.

export type Entry = [DescMessage, MessageInitShape<DescMessage>];

/** An image file: magics, then each message with its u32 length. */
export function writeImage(path: string, magic: number, entries: Entry[]): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return b;
  };
  if (magic !== INVENTORY_MAGIC) parts.push(u32(IMG_COMMON_MAGIC));
  parts.push(u32(magic));
  for (const [schema, init] of entries) {
    const bytes = Buffer.from(toBinary(schema, create(schema, init)));
    parts.push(u32(bytes.length), bytes);
  }
  writeFileSync(path, Buffer.concat(parts));
}

export const PID = 4242;
export const BASE = 0x400000n;
export const VDSO = 0x7fff_f000_0000n;
export const PAGE = 4096;
/** The argv block at the start of the first page. */
export const ARGV = 'prog\0--flag\0';

export interface SynthOptions {
  arch: 'x86_64' | 'aarch64' | 'arm';
  /** pagemap_entry fields of the one run covering both pages (default: present in pages-1.img). */
  run?: { flags?: number; inParent?: boolean };
  /** Also write a parent directory holding the pages (for PE_PARENT runs). */
  parent?: boolean;
  /** task_core_entry.task_state (default 1, alive). */
  taskState?: number;
  /** A raw siginfo_t queued for the thread. */
  siginfo?: Buffer;
  /** Add a [vdso] VMA of this size above the data, with no pages in the images. */
  vdsoSize?: bigint;
  /** The argv block (default ARGV), at most a page. */
  argv?: string;
  /** x86_64: the thread as CRIU leaves one caught in pause(): rewound onto its `syscall`. */
  rewoundSyscall?: boolean;
}

/** Page i of the synthetic process: ARGV, then a recognisable pattern. */
export function pageData(i: number, argv = ARGV): Buffer {
  const b = Buffer.alloc(PAGE, 0x40 + i);
  if (i === 0) b.write(argv, 0, 'utf8');
  b.write(`SYNTH-PAGE-${i}`, 2048, 'latin1');
  // A `syscall` instruction where the thread's pc points.
  if (i === 1) b.set([0x0f, 0x05], Number(PC - BASE) - PAGE);
  return b;
}

function pagemap(dir: string, run: { flags?: number; inParent?: boolean }): void {
  writeImage(join(dir, `pagemap-${PID}.img`), PAGEMAP_MAGIC, [
    [pagemap_headSchema, { pagesId: 1 }],
    [pagemap_entrySchema, { vaddr: BASE, nrPages: 2, ...run }],
  ]);
}

/** Writes a one-process, one-thread checkpoint of two pages of anonymous memory into `dir`. */
export function writeCheckpoint(dir: string, opts: SynthOptions): void {
  mkdirSync(dir, { recursive: true });
  writeImage(join(dir, 'inventory.img'), INVENTORY_MAGIC, [[inventory_entrySchema, { imgVersion: 2 }]]);
  writeImage(join(dir, 'pstree.img'), PSTREE_MAGIC, [
    [pstree_entrySchema, { pid: PID, ppid: 1, pgid: PID, sid: PID, threads: [PID] }],
  ]);
  writeImage(join(dir, 'files.img'), FILES_MAGIC, []);
  writeImage(join(dir, `core-${PID}.img`), CORE_MAGIC, [
    [core_entrySchema, coreInit(opts.arch, opts.siginfo, opts.taskState, opts.rewoundSyscall)],
  ]);
  const vdso = opts.vdsoSize
    ? [
        {
          start: VDSO,
          end: VDSO + opts.vdsoSize,
          pgoff: 0n,
          shmid: 0n,
          prot: 5,
          flags: 2,
          status: 0x209,
          fd: -1n,
        },
      ]
    : [];
  writeImage(join(dir, `mm-${PID}.img`), MM_MAGIC, [
    [
      mm_entrySchema,
      {
        mmStartCode: 0n,
        mmEndCode: 0n,
        mmStartData: 0n,
        mmEndData: 0n,
        mmStartStack: 0n,
        mmStartBrk: 0n,
        mmBrk: 0n,
        mmArgStart: BASE,
        mmArgEnd: BASE + BigInt(Buffer.byteLength(opts.argv ?? ARGV)),
        mmEnvStart: 0n,
        mmEnvEnd: 0n,
        exeFileId: 0,
        mmSavedAuxv: [6n, 4096n, 0n, 0n],
        vmas: [
          {
            start: BASE,
            end: BASE + 2n * BigInt(PAGE),
            pgoff: 0n,
            shmid: 0n,
            prot: 3,
            flags: 0x22,
            status: 0x201,
            fd: -1n,
          },
          ...vdso,
        ],
      },
    ],
  ]);
  const run = opts.run ?? { flags: 4 };
  pagemap(dir, run);
  const inParent = run.inParent || ((run.flags ?? 0) & 1) !== 0;
  const lazy = !inParent && ((run.flags ?? 0) & 6) === 2;
  writeFileSync(
    join(dir, 'pages-1.img'),
    inParent || lazy ? Buffer.alloc(0) : Buffer.concat([pageData(0, opts.argv), pageData(1)]),
  );
  if (opts.parent) {
    const parent = join(dir, '..', 'parent-images');
    mkdirSync(parent, { recursive: true });
    pagemap(parent, { flags: 4 });
    writeFileSync(join(parent, 'pages-1.img'), Buffer.concat([pageData(0), pageData(1)]));
    symlinkSync('../parent-images', join(dir, 'parent'));
  }
}

/** Register values the synthetic thread holds: register i is 0x1000 + i (pc, sp distinct). */
export const SP = 0x7ff0_0000n;
export const PC = 0x40_1234n;

function coreInit(
  arch: SynthOptions['arch'],
  siginfo?: Buffer,
  taskState = 1,
  rewound = false,
): MessageInitShape<typeof core_entrySchema> {
  const tc = {
    taskState,
    exitCode: 0,
    personality: 0,
    flags: 0,
    blkSigset: 0n,
    comm: 'prog',
  };
  const threadCore = {
    futexRla: 0n,
    futexRlaLen: 0,
    creds: { uid: 1000, gid: 100, euid: 1000, egid: 100, suid: 1000, sgid: 100, fsuid: 1000, fsgid: 100 },
    signalsP: siginfo ? { signals: [{ siginfo }] } : undefined,
  };
  if (arch === 'aarch64') {
    return {
      mtype: 3,
      tc,
      threadCore,
      tiAarch64: {
        clearTidAddr: 0n,
        tls: 0x1234n,
        gpregs: {
          regs: Array.from({ length: 31 }, (_, i) => 0x1000n + BigInt(i)),
          sp: SP,
          pc: PC,
          pstate: 0x6000_0000n,
        },
        fpsimd: { vregs: Array.from({ length: 64 }, (_, i) => BigInt(i)), fpsr: 0x11, fpcr: 0x22 },
      },
    };
  }
  if (arch === 'arm') {
    const r = (i: number) => 0x1000 + i;
    return {
      mtype: 2,
      tc,
      threadCore,
      tiArm: {
        clearTidAddr: 0n,
        tls: 0,
        gpregs: {
          r0: r(0),
          r1: r(1),
          r2: r(2),
          r3: r(3),
          r4: r(4),
          r5: r(5),
          r6: r(6),
          r7: r(7),
          r8: r(8),
          r9: r(9),
          r10: r(10),
          fp: r(11),
          ip: r(12),
          sp: Number(SP),
          lr: r(14),
          pc: Number(PC),
          cpsr: 0x10,
          origR0: 0xffffffff,
        },
        fpstate: {
          vfpRegs: Array.from({ length: 32 }, (_, i) => BigInt(i)),
          fpscr: 0x33,
          fpexc: 0,
          fpinst: 0,
          fpinst2: 0,
        },
      },
    };
  }
  const g = Object.fromEntries(
    ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di'].map(
      (n, i) => [n, 0x1000n + BigInt(i)],
    ),
  );
  return {
    mtype: 1,
    tc,
    threadCore,
    threadInfo: {
      clearTidAddr: 0n,
      gpregs: {
        ...g,
        ...(rewound ? { ax: 34n, cx: PC + 2n } : {}),
        origAx: rewound ? 34n : BigInt.asUintN(64, -1n),
        ip: PC,
        cs: 0x33n,
        flags: 0x246n,
        sp: SP,
        ss: 0x2bn,
        fsBase: 0n,
        gsBase: 0n,
        ds: 0n,
        es: 0n,
        fs: 0n,
        gs: 0n,
      },
      fpregs: {
        cwd: 0x37f,
        swd: 0,
        twd: 0,
        fop: 0,
        rip: 0n,
        rdp: 0n,
        mxcsr: 0x1f80,
        mxcsrMask: 0xffff,
        stSpace: [],
        xmmSpace: [],
      },
    },
  };
}
