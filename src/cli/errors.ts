import { FormatError } from '../bytes/errors.js';
import { OutputError } from '../io/sink.js';

/** The exit statuses: 0 success, 1 failure, 2 usage error (130 after SIGINT/SIGTERM). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** An error whose message is meant for the user as is (unsupported input, a refused operation). */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Bad usage a command finds itself (a malformed number, options that exclude each other): exit 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** The command being run ('dump', 'convert criu'), named in usage errors. */
let commandPath = '';

/** Names the command being run (main.ts, before its action starts). */
export function runningCommand(path: string): void {
  commandPath = path;
}

/** A usage error in coreshot's voice: `coreshot: dump: missing PID (see coreshot dump --help)`. */
export function usageLine(message: string, path = commandPath): string {
  return path
    ? `coreshot: ${path}: ${message} (see coreshot ${path} --help)`
    : `coreshot: ${message} (see coreshot --help)`;
}

const NODE_CODES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  EDQUOT: 'disk quota exceeded',
};

/** One line describing `err` for the user; never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof FormatError) return `malformed input: ${err.message}`;
  if (err instanceof UserError || err instanceof OutputError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && NODE_CODES[e.code]) {
    const where = e.path ? `${e.path}: ` : '';
    return `${where}${NODE_CODES[e.code]}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Runs a command action: prints errors as one line on stderr and sets a non-zero exit code. */
export async function runAction(action: () => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (err) {
    const line = err instanceof UsageError ? usageLine(err.message) : `coreshot: ${describeError(err)}`;
    process.stderr.write(`${line}\n`);
    if (process.env.CORESHOT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof UserError ? err.exitCode : EXIT.failure;
  }
}

/** Parses a CLI number: decimal, or hex with 0x. */
export function parseAddress(text: string, what: string): bigint {
  const t = text.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t))
    throw new UsageError(`${what} must be a number (decimal or 0x hex), got '${text}'`);
  return BigInt(t);
}

const interrupt = new AbortController();
let abortWatched = false;

/**
 * Installs the SIGINT/SIGTERM handlers; main.ts calls it before any work starts, so a signal
 * never meets Node's default action (death by signal, exit status null) halfway through a
 * command. Until a command takes the abort signal (abortOnSignals), a signal ends the process
 * at once with status 130; afterwards it aborts the work, so writers remove what they began.
 * A second signal gets the default action.
 */
export function handleSignals(): void {
  const onSignal = (sig: NodeJS.Signals) => {
    const err = new UserError(`interrupted by ${sig}`, 130);
    if (abortWatched) {
      interrupt.abort(err);
      return;
    }
    process.stderr.write(`coreshot: ${describeError(err)}\n`);
    process.exit(err.exitCode);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** The abort signal SIGINT/SIGTERM trigger (see handleSignals), for long operations to watch. */
export function abortOnSignals(): AbortSignal {
  abortWatched = true;
  return interrupt.signal;
}
