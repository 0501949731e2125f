// `migrate diff AGENT`: unified diff original → `_v2` (colour on a terminal).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { loadProfile } from '../profile/profile.js';
import { resolveAgent } from '../discover/resolve.js';
import { adapterFor } from '../lang/registry.js';
import { UsageError } from '../core/errors.js';
import { printDiffs } from '../report/run-printer.js';
import { resolveRoot, type CommonFlags } from './common.js';

export async function diffCommand(agentName: string, opts: CommonFlags & { profile: string }): Promise<number> {
  const root = resolveRoot(opts);
  const profile = loadProfile(opts.profile, root);
  const agent = await resolveAgent(root, agentName, profile);
  const abs = path.join(root, agent.file);
  const out = adapterFor(agent.language).outputPath(abs);
  if (!existsSync(out)) {
    throw new UsageError(`${agent.name} has no ${path.relative(root, out)} yet (run \`migrate run ${agent.name}\` first, or --dry-run to preview)`);
  }
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  printDiffs([createTwoFilesPatch(rel(abs), rel(out), readFileSync(abs, 'utf8'), readFileSync(out, 'utf8'))]);
  return 0;
}
