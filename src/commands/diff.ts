// `migrate diff AGENT`: unified diff original → `_v2` (colour on a terminal).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { resolveAgent } from '../discover/resolve.js';
import { adapterFor } from '../lang/registry.js';
import { UsageError } from '../core/errors.js';
import { printDiffs } from '../report/run-printer.js';
import { commandProfile, resolveRoot, type CommonFlags } from './common.js';
import { readRecord } from '../record/migration-log.js';
import { rememberedFor } from '../record/run-results.js';
import { diffModel } from '../review/diff-model.js';
import { printDiffStat } from '../report/diff-stat-printer.js';

export async function diffCommand(agentName: string, opts: CommonFlags & { profile?: string; stat?: boolean }): Promise<number> {
  const root = resolveRoot(opts);
  const profile = commandProfile(opts, root).profile;
  const agent = await resolveAgent(root, agentName, profile);
  const abs = path.join(root, agent.file);
  const out = adapterFor(agent.language).outputPath(abs);
  if (!existsSync(out)) {
    throw new UsageError(`${agent.name} has no ${path.relative(root, out)} yet (run \`migrate run ${agent.name}\` first, or --dry-run to preview)`);
  }
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  if (opts.stat) {
    // What was removed comes from the record (or the run that left the _v2); the lines from the files.
    const record = readRecord(root, agent.name);
    const removed = record?.output.path === rel(out) ? record.removed : (rememberedFor(root, agent.name, rel(out))?.result.removed ?? []);
    printDiffStat({ old: rel(abs), new: rel(out) }, diffModel(readFileSync(abs, 'utf8'), readFileSync(out, 'utf8'), removed, agent.findings));
    return 0;
  }
  printDiffs([createTwoFilesPatch(rel(abs), rel(out), readFileSync(abs, 'utf8'), readFileSync(out, 'utf8'))]);
  return 0;
}
