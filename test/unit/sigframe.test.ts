// The x86_64 frames coreshot builds for rt_sigreturn, checked field by field against the uapi
// layouts (asm/ucontext.h, asm/sigcontext.h, asm/siginfo.h), and the registers an interrupted
// system call resumes with (arch/x86/kernel/signal.c: handle_signal's restart rules).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS } from '../../src/abi/errno.js';
import { userReg, X86_64 } from '../../src/inject/x86_64.js';

const rtSigframe = X86_64.frame;
const sigframeFpstate = X86_64.frameState;
const resumeRegisters = X86_64.resumeRegisters;
const SIGFRAME_SIZE = X86_64.frameSize;

// struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; } with
// struct ucontext { unsigned long uc_flags; struct ucontext *uc_link; stack_t uc_stack (ss_sp,
// int ss_flags, ss_size: 24 bytes); struct sigcontext uc_mcontext (256 bytes); sigset_t uc_sigmask; }
const PRETCODE = 0;
const UC_FLAGS = 8;
const UC_STACK_SS_FLAGS = 8 + 16 + 8;
const UC_MCONTEXT = 8 + 40;
const UC_SIGMASK = UC_MCONTEXT + 256;
const SIGINFO = UC_SIGMASK + 8;
// struct sigcontext (64-bit): r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags (rflags),
// then u16 cs, gs, fs, ss, then err, trapno, oldmask, cr2, fpstate.
// biome-ignore format: one row per line of the C struct
const SIGCONTEXT_ORDER = [
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rdi', 'rsi', 'rbp', 'rbx', 'rdx', 'rax', 'rcx', 'rsp', 'rip', 'rflags',
] as const;
const SC_CS = UC_MCONTEXT + 18 * 8;
const SC_SS = SC_CS + 6;
const SC_FPSTATE = SC_CS + 8 + 4 * 8;

/** user_regs_struct (27 × 8 bytes) with each register holding a value derived from its offset. */
function userRegs(): Buffer {
  const b = Buffer.alloc(27 * 8);
  for (let o = 0; o < b.length; o += 8) b.writeBigUInt64LE(0x1111_0000_0000n + BigInt(o), o);
  return b;
}

test('rt_sigframe: size and the fields rt_sigreturn reads', () => {
  assert.equal(SIGFRAME_SIZE, SIGINFO + 128, 'sizeof(struct rt_sigframe)');
  const regs = userRegs();
  regs.writeBigUInt64LE(0x33n, userReg('cs'));
  regs.writeBigUInt64LE(0x2bn, userReg('ss'));
  const f = rtSigframe({
    restorer: 0x7f00_0000_1000n,
    regs,
    sigmask: 0x8000_0000_0000_0001n,
    state: 0x7ffc_0000_0040n,
  });
  assert.equal(f.length, SIGFRAME_SIZE);
  assert.equal(f.readBigUInt64LE(PRETCODE), 0x7f00_0000_1000n);
  // UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
  assert.equal(f.readBigUInt64LE(UC_FLAGS), 0x7n);
  assert.equal(f.readInt32LE(UC_STACK_SS_FLAGS), 3, 'an ss_flags sigaltstack refuses: the stack stays');
  SIGCONTEXT_ORDER.forEach((name, i) => {
    assert.equal(f.readBigUInt64LE(UC_MCONTEXT + i * 8), regs.readBigUInt64LE(userReg(name)), name);
  });
  assert.equal(f.readUInt16LE(SC_CS), 0x33);
  assert.equal(f.readUInt16LE(SC_SS), 0x2b);
  assert.equal(f.readBigUInt64LE(SC_FPSTATE), 0x7ffc_0000_0040n);
  assert.equal(f.readBigUInt64LE(UC_SIGMASK), 0x8000_0000_0000_0001n);
  assert.ok(
    f.subarray(SIGINFO).every((b) => b === 0),
    'siginfo is left zero',
  );
});

test('user_regs_struct offsets follow asm/ptrace.h (struct pt_regs order as ptrace exports it)', () => {
  // biome-ignore format: the C struct's order
  const order = [
    'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx',
    'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'rflags', 'rsp', 'ss',
  ] as const;
  order.forEach((name, i) => {
    assert.equal(userReg(name), i * 8, name);
  });
});

test('the signal-frame XSAVE area: software bytes, sizes and the closing magic', () => {
  const area = Buffer.alloc(2696, 0xaa);
  area.writeBigUInt64LE(0x2e7n, 464); // ptrace's XCR0 word
  const fp = sigframeFpstate(area);
  assert.equal(fp.length, area.length + 4);
  // struct _fpx_sw_bytes at 464: magic1, extended_size, xfeatures, xstate_size, padding.
  assert.equal(fp.readUInt32LE(464), 0x46505853);
  assert.equal(fp.readUInt32LE(468), area.length + 4);
  assert.equal(fp.readBigUInt64LE(472), 0x2e7n);
  assert.equal(fp.readUInt32LE(480), area.length);
  assert.ok(fp.subarray(484, 512).every((b) => b === 0));
  assert.equal(fp.readUInt32LE(area.length), 0x46505845, 'FP_XSTATE_MAGIC2 after the area');
  assert.deepEqual(fp.subarray(0, 464), area.subarray(0, 464));
  assert.deepEqual(fp.subarray(512, area.length), area.subarray(512));
});

function stopped(fields: { rax: bigint; orig_rax: bigint; rip: bigint }): Buffer {
  const b = userRegs();
  b.writeBigInt64LE(fields.rax, userReg('rax'));
  b.writeBigInt64LE(fields.orig_rax, userReg('orig_rax'));
  b.writeBigUInt64LE(fields.rip, userReg('rip'));
  return b;
}

test('an interrupted system call resumes as the kernel restarts it', () => {
  for (const code of [ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND]) {
    const r = resumeRegisters(stopped({ rax: code, orig_rax: 7n, rip: 0x401002n }));
    assert.equal(r.readBigInt64LE(userReg('rax')), 7n, 'the call number again');
    assert.equal(r.readBigUInt64LE(userReg('rip')), 0x401000n, 'back onto the 2-byte syscall');
    assert.equal(r.readBigInt64LE(userReg('orig_rax')), -1n);
  }
  const r = resumeRegisters(stopped({ rax: ERESTART_RESTARTBLOCK, orig_rax: 35n, rip: 0x401002n }));
  assert.equal(r.readBigInt64LE(userReg('rax')), 219n, '__NR_restart_syscall');
  assert.equal(r.readBigUInt64LE(userReg('rip')), 0x401000n);
});

test('a finished system call or user code resumes where it is', () => {
  const done = stopped({ rax: -4n, orig_rax: 7n, rip: 0x401002n }); // -EINTR: already final
  const r = resumeRegisters(done);
  assert.equal(r.readBigInt64LE(userReg('rax')), -4n);
  assert.equal(r.readBigUInt64LE(userReg('rip')), 0x401002n);
  const user = stopped({ rax: ERESTARTSYS, orig_rax: -1n, rip: 0x401002n }); // not in a syscall
  const u = resumeRegisters(user);
  assert.equal(u.readBigInt64LE(userReg('rax')), ERESTARTSYS);
  assert.equal(u.readBigUInt64LE(userReg('rip')), 0x401002n);
  // Everything else is untouched.
  const other = Buffer.from(r);
  other.writeBigInt64LE(done.readBigInt64LE(userReg('orig_rax')), userReg('orig_rax'));
  assert.deepEqual(other, done);
});
