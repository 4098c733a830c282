// Linux signal numbers (the generic and x86 numbering, which every arch coreshot handles shares
// for these) and their names.

const NAMES = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGSTKFLT',
  'SIGCHLD',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
  'SIGSYS',
] as const;

export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGSEGV = 11;
export const SIGCHLD = 17;
export const SIGSTOP = 19;
/** The first real-time signal as the kernel numbers it (glibc reserves 32 and 33). */
const SIGRTMIN_KERNEL = 34;

/** Signals whose siginfo carries a faulting address (si_addr). */
export const FAULT_SIGNALS: ReadonlySet<number> = new Set([SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV]);

/** A blocked-signal mask (64-bit sigset) with every signal in it. */
export const ALL_SIGNALS = (1n << 64n) - 1n;

export function signalName(signo: number): string {
  const name = NAMES[signo - 1];
  if (name) return name;
  return signo >= SIGRTMIN_KERNEL ? `SIGRTMIN+${signo - SIGRTMIN_KERNEL}` : `signal ${signo}`;
}
