// How coreshot meets bad usage and asks for help: commander's parse errors reworded in coreshot's
// voice (`coreshot: dump: missing PID (see coreshot dump --help)`) with exit status 2, and the
// "Examples:" section every command's --help ends with.
import type { Command, CommanderError, OptionValues } from '@commander-js/extra-typings';
import { EXIT, runningCommand, usageLine } from './errors.js';

/** Commander's words for a parse error, as coreshot says them (one line, no "error:"). */
function reword(text: string): string {
  return text
    .trim()
    .replace(/^error: /, '')
    .replace(/^missing required argument '([^']+)'$/, (_m, name: string) => `missing ${name.toUpperCase()}`)
    .replace(/\n\((Did you mean [^)]*)\)$/, (_m, hint: string) => ` (${hint.toLowerCase()})`)
    .replace(/\n/g, ' ');
}

/** The command's name as typed after `coreshot` ('' for coreshot itself, 'convert criu'). */
function pathOf(cmd: Command<unknown[], OptionValues>): string {
  const names: string[] = [];
  for (let c: typeof cmd | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Makes every command of `program` report parse errors in coreshot's voice and throw them
 * (CommanderError) instead of exiting; `usageStatus` turns one into the exit status.
 */
export function speakForCommander(program: Command): void {
  const walk = (cmd: Command<unknown[], OptionValues>) => {
    const path = pathOf(cmd);
    const say = (message: string) => process.stderr.write(`${usageLine(message, path)}\n`);
    cmd
      .exitOverride((err) => {
        // A command that only groups others, given none (or `help NAME` of no command): commander
        // would print its whole help.
        if (err.code === 'commander.help' && err.exitCode !== 0) {
          const named = cmd.args.at(-1);
          say(named === undefined ? 'missing command' : `unknown command '${named}'`);
        }
        throw err;
      })
      // stderr gets only the one line (help asked for with --help goes to stdout).
      .configureOutput({ writeErr: () => {}, outputError: (text) => say(reword(text)) });
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
  program.hook('preAction', (_program, action) => runningCommand(pathOf(action)));
}

/** The exit status of a CommanderError: 0 after --help or --version, else a usage error. */
export function usageStatus(err: CommanderError): number {
  return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}

/** The "Examples:" section of a command's --help: each a command line and what it does. */
export function examples(lines: readonly (readonly [command: string, what: string])[]): string {
  const width = Math.max(...lines.map(([c]) => c.length));
  return `\nExamples:\n${lines.map(([c, what]) => `  ${c.padEnd(width)}  # ${what}`).join('\n')}`;
}
