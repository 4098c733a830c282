import { FAULT_SIGNALS, SIGCHLD } from '../../abi/signals.js';
import type { ArchInfo } from '../../model/process-image.js';
import { layoutFor } from '../layout.js';

/** The fields of a siginfo_t worth showing; si_addr only for the fault signals. */
export interface SigInfo {
  signo: number;
  errno: number;
  code: number;
  /** Faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP). */
  addr?: bigint;
  /** Sender pid and uid (kill, sigqueue, SIGCHLD). */
  pid?: number;
  uid?: number;
}

/** Decodes siginfo_t (generic layout: signo, errno, code, then the union at word alignment). */
export function decodeSigInfo(arch: ArchInfo, desc: Buffer): SigInfo | undefined {
  if (desc.length < 12) return undefined;
  const layout = layoutFor(arch.elfClass, arch.endian);
  const c = layout.codec;
  const signo = c.i32(desc, 0);
  const errno = c.i32(desc, 4);
  const code = c.i32(desc, 8);
  const u = arch.elfClass === 64 ? 16 : 12;
  const out: SigInfo = { signo, errno, code };
  if (FAULT_SIGNALS.has(signo) && code > 0) {
    if (desc.length >= u + layout.wordSize) out.addr = layout.word(desc, u);
  } else if (code <= 0 || signo === SIGCHLD) {
    if (desc.length >= u + 8) {
      out.pid = c.i32(desc, u);
      out.uid = c.u32(desc, u + 4);
    }
  }
  return out;
}
