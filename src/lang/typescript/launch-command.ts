// The command validation runs a compiled TypeScript agent with (no compiler needed to build it).
import { rm } from 'node:fs/promises';
import type { LaunchCommand } from '../../pipeline/language.js';

/** Run the compiled agent with this Node; its build directory goes once the agent is done. */
export function launchCommandFor(js: string, outDir: string): LaunchCommand {
  return { command: process.execPath, args: [js], cleanup: () => rm(outDir, { recursive: true, force: true }) };
}
