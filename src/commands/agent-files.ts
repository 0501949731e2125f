// Which files an agent's validation or commit works on (its `_v2`, and its legacy source), in a module
// of its own: `migrate commit` needs them without loading validation (the agent runner, execa: some
// 110 modules) that it never runs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo } from '../core/types.js';

/** The `_v2` sibling of a source file: `agents/x.py` -> `agents/x_v2.py`. */
export function v2Path(file: string): string {
  const ext = path.extname(file);
  return ext ? `${file.slice(0, -ext.length)}_v2${ext}` : `${file}_v2`;
}

/** Which file to run (the agent's `_v2`), and its legacy source when that is a different file. */
export function filesOf(agent: AgentInfo, root: string): { output: string; legacy?: string } {
  if (/_v2\.[^/.]+$/.test(agent.file)) return { output: agent.file };
  const output = agent.output ?? v2Path(agent.file);
  // Already on the base without a _v2 sibling (written that way, or migrated by hand): run it as is.
  if (agent.status === 'migrated' && !existsSync(path.join(root, output))) return { output: agent.file };
  return { output, legacy: agent.file };
}
