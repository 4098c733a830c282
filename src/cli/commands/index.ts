import type { Command } from '@commander-js/extra-typings';
import { registerConvert } from './convert.js';
import { registerDemo } from './demo.js';
import { registerDump } from './dump.js';
import { registerFind } from './find.js';
import { registerGuestMemory } from './guest-memory.js';
import { registerInspect } from './inspect.js';
import { registerRestore } from './restore.js';
import { registerStack } from './stack.js';
import { registerView } from './view.js';

/**
 * Every command module registers its options here; each loads its heavy implementation lazily
 * in its action, so start-up only pays for commander and these small files.
 */
export function registerCommands(program: Command): void {
  registerInspect(program);
  registerFind(program);
  registerStack(program);
  registerDump(program);
  registerConvert(program);
  registerGuestMemory(program);
  registerRestore(program);
  registerView(program);
  registerDemo(program);
}
