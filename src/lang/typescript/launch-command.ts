// The command validation runs a compiled TypeScript agent with (no compiler needed to build it).
import { realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { LaunchCommand } from '../../pipeline/language.js';

/**
 * Run the compiled agent with this Node; its build directory goes once the agent is done. The
 * script is named by its real path: the build may sit under a node_modules that is a symlink, and
 * Node names the main module (import.meta.url, require.main.filename) by its real path, so an
 * agent's own guard (`import.meta.url === \`file://${process.argv[1]}\``) must see that path too.
 */
export function launchCommandFor(js: string, outDir: string): LaunchCommand {
  let script = js;
  try {
    script = realpathSync(js);
  } catch {
    // (Not there yet or unreadable: Node reports it when it starts.)
  }
  return { command: process.execPath, args: [script], cleanup: () => rm(outDir, { recursive: true, force: true }) };
}
