// Unit tier of the unwinder's parsers: DW_EH_PE pointer encodings, the DWARF expression
// evaluator on glibc-style CFI expressions, hand-assembled .eh_frame records (CIE "zR" with
// every kind of register rule, remember/restore state, advance_loc), and, on the real libc of
// this machine, the FDE found through .eh_frame_hdr's search table equals the one found by a
// full scan for pcs all over .text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallFrameTable, RULE } from '../../src/analysis/stack/cfi.js';
import { evaluate, UnwindError } from '../../src/analysis/stack/expression.js';
import { FrameReader } from '../../src/analysis/stack/pointer.js';
import { LE } from '../../src/bytes/endian.js';
import { ElfFile } from '../../src/elf/reader.js';
import { findSection, sectionData } from '../../src/elf/sections.js';
import { FileAccess } from '../../src/io/random-access.js';

const bytes = (...b: number[]) => Buffer.from(b);

describe('pointer encodings', () => {
  it('absptr, udata4, sdata4|pcrel, datarel, uleb128, sleb128', () => {
    const r = new FrameReader(
      bytes(
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0xfc,
        0xff,
        0xff,
        0xff,
        0xf0,
        0xff,
        0xff,
        0xff,
        0x10,
        0,
        0,
        0,
        0xe5,
        0x8e,
        0x26,
        0x7f,
      ),
      0x1000n,
      LE,
      8,
    );
    assert.equal(r.pointer(0x00, {}).value, 1n);
    assert.equal(r.pointer(0x1b, {}).value, 0x1008n - 4n); // field at 0x1008, value -4
    assert.equal(r.pointer(0x03, {}).value, 0xfffffff0n);
    assert.equal(r.pointer(0x3b, { data: 0x2000n }).value, 0x2010n);
    assert.equal(r.pointer(0x01, {}).value, 624485n);
    assert.equal(r.pointer(0x09, {}).value, -1n & ((1n << 64n) - 1n));
    const ind = new FrameReader(bytes(8, 0, 0, 0), 0n, LE, 4).pointer(0x83, {});
    assert.deepEqual(ind, { value: 8n, indirect: true });
    assert.throws(() => new FrameReader(bytes(0, 0, 0, 0), 0n, LE, 8).pointer(0x3b, {}), /unknown data base/);
  });
});

describe('DWARF expressions', () => {
  const regs: Record<number, bigint> = { 7: 0x7ffd0000n };
  const memory = new Map<bigint, bigint>([[0x7ffd00a0n, 0x7ffd1234n]]);
  const ctx = {
    register: (n: number) => regs[n],
    read: (addr: bigint) => {
      const v = memory.get(addr);
      if (v === undefined) throw new UnwindError('memory', `no memory at ${addr}`);
      return v;
    },
  };
  const run = (code: number[], initial?: bigint) =>
    evaluate(new FrameReader(Buffer.from(code), 0n, LE, 8), 0, code.length, ctx, initial);

  it("glibc's __restore_rt CFA: DW_OP_breg7 160; DW_OP_deref", () => {
    assert.equal(run([0x77, 0xa0, 0x01, 0x06]), 0x7ffd1234n);
  });
  it('the PLT CFA rule of ld: rsp + 8 + ((rip & 15) >= 11) * 8', () => {
    regs[16] = 0x401024n;
    // breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus
    assert.equal(run([0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22]), 0x7ffd0008n);
    regs[16] = 0x40102cn;
    assert.equal(run([0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22]), 0x7ffd0010n);
  });
  it('constants, stack operations, branches, the initial CFA', () => {
    assert.equal(run([0x08, 0xff, 0x09, 0xff, 0x22]), 0xfen); // const1u 255 + const1s -1
    assert.equal(run([0x31, 0x32, 0x16, 0x1c]), 1n); // lit1 lit2 swap minus → 2 - 1
    assert.equal(run([0x23, 0x10], 0x100n), 0x110n); // CFA + plus_uconst 16
    assert.equal(run([0x30, 0x28, 0x02, 0x00, 0x35, 0x2f, 0x01, 0x00, 0x36]), 5n); // bra not taken, skip
    assert.equal(run([0x31, 0x28, 0x01, 0x00, 0x35, 0x36]), 6n); // bra taken
    assert.throws(() => run([0x22]), /underflow/);
    assert.throws(() => run([0x2f, 0xfd, 0xff]), /does not terminate/);
    assert.throws(() => run([0x31, 0x30, 0x1b]), /division by zero/);
    assert.throws(() => run([0x78, 0x00]), /unknown register 8/);
    assert.throws(() => run([0x96, 0xe0]), /unsupported DWARF operation 0xe0/);
  });
});

/** One .eh_frame: a CIE (zR, pcrel|sdata4, code 1, data -8, RA 16) and an FDE for [0x1000, 0x1040). */
function ehFrame(instructions: number[]): Buffer {
  const cieBody = [0, 0, 0, 0, 1, 0x7a, 0x52, 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1];
  while ((cieBody.length + 4) % 8) cieBody.push(0);
  const cie = Buffer.concat([u32(cieBody.length), Buffer.from(cieBody)]);
  const fdeStart = cie.length;
  const body = [...u32(fdeStart + 4), 0, 0, 0, 0, ...u32(0x40), 0, ...instructions];
  while ((body.length + 4) % 8) body.push(0);
  const fde = Buffer.concat([u32(body.length), Buffer.from(body)]);
  // pc_begin (pcrel) so that it is 0x1000 with the section at 0x800.
  fde.writeInt32LE(0x1000 - (0x800 + fdeStart + 8), 8);
  return Buffer.concat([cie, fde, u32(0)]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

describe('call-frame records', () => {
  const opts = { codec: LE, addressSize: 8 as const };
  // advance 1; def_cfa_offset 16; offset r6 at cfa-16; advance 3; def_cfa_register r6;
  // remember; advance 4; def_cfa r7+8; restore r6 (to the CIE's: unset); advance 1; restore_state;
  // val_offset r3 cfa+0; register r12 in r13; undefined r14; same_value r15
  const table = new CallFrameTable(
    'eh_frame',
    {
      data: ehFrame([
        0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6, 0x0a, 0x44, 0x0c, 7, 8, 0xc6, 0x41, 0x0b, 0x14, 3, 0, 0x09,
        12, 13, 0x07, 14, 0x08, 15,
      ]),
      addr: 0x800n,
    },
    opts,
  );

  it('finds the FDE by a scan and gives the row of each pc', () => {
    assert.equal(table.find(0xfffn), undefined);
    assert.equal(table.find(0x1040n), undefined);
    const fde = table.find(0x1000n)!;
    assert.equal(fde.pcBegin, 0x1000n);
    assert.equal(fde.pcEnd, 0x1040n);
    const at = (pc: bigint) => table.row(fde, pc, 17);
    assert.deepEqual([at(0x1000n).cfaReg, at(0x1000n).cfaOffset], [7, 8]);
    assert.equal(at(0x1000n).kinds[16], RULE.offset);
    assert.equal(at(0x1000n).a[16], -8);
    assert.deepEqual(
      [at(0x1001n).cfaReg, at(0x1001n).cfaOffset, at(0x1001n).kinds[6], at(0x1001n).a[6]],
      [7, 16, RULE.offset, -16],
    );
    assert.deepEqual([at(0x1004n).cfaReg, at(0x1004n).cfaOffset], [6, 16]);
    assert.deepEqual([at(0x1008n).cfaReg, at(0x1008n).cfaOffset, at(0x1008n).kinds[6]], [7, 8, RULE.unset]);
    const last = at(0x1009n);
    assert.deepEqual([last.cfaReg, last.cfaOffset, last.kinds[6]], [6, 16, RULE.offset]);
    assert.deepEqual(
      [last.kinds[3], last.kinds[12], last.a[12], last.kinds[14], last.kinds[15]],
      [RULE.valOffset, RULE.register, 13, RULE.undefined, RULE.same],
    );
  });

  it('refuses records that run past their section and unknown instructions', () => {
    const bad = ehFrame([0x3f]);
    assert.throws(() =>
      new CallFrameTable('eh_frame', { data: bad, addr: 0x800n }, opts).row(
        table.find(0x1000n)!,
        0x1000n,
        17,
      ),
    );
    const long = Buffer.from(bad);
    long.writeUInt32LE(0x7fff0000, 0);
    assert.throws(
      () => new CallFrameTable('eh_frame', { data: long, addr: 0x800n }, opts).find(0x1000n),
      /runs past/,
    );
  });
});

describe("this machine's libc", () => {
  it('.eh_frame_hdr binary search and a full scan find the same FDE everywhere in .text', () => {
    const elf = ElfFile.open(new FileAccess('/lib/x86_64-linux-gnu/libc.so.6'));
    try {
      const section = (name: string) => {
        const s = findSection(elf, name)!;
        return { data: sectionData(elf, s)!, addr: s.sh_addr };
      };
      const opts = { codec: LE, addressSize: 8 as const };
      const eh = section('.eh_frame');
      const viaHdr = new CallFrameTable('eh_frame', eh, opts, section('.eh_frame_hdr'));
      const viaScan = new CallFrameTable('eh_frame', eh, opts);
      const text = findSection(elf, '.text')!;
      let found = 0;
      for (let pc = text.sh_addr; pc < text.sh_addr + text.sh_size; pc += 997n) {
        const a = viaHdr.find(pc);
        const b = viaScan.find(pc);
        assert.deepEqual([a?.pcBegin, a?.pcEnd], [b?.pcBegin, b?.pcEnd], `pc 0x${pc.toString(16)}`);
        if (a) found++;
      }
      assert.ok(found > 1000, `FDEs found for ${found} pcs`);
    } finally {
      elf.ra.close();
    }
  });
});
