// `migrate diff AGENT`: unified diff original → `_v2` (colour on a terminal); for a base migration
// unit, the base's and each of its agents'.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { findAgent, selectUnit, unitNotWritten } from '../discover/resolve.js';
import { unitSources } from '../discover/base-units.js';
import type { AgentInfo } from '../core/types.js';
import { adapterFor } from '../lang/registry.js';
import { UsageError } from '../core/errors.js';
import { printDiffs } from '../report/run-printer.js';
import { profiledScan, resolveRoot, type CommonFlags } from './common.js';
import { readRecord, v2Sibling } from '../record/migration-log.js';
import { rememberedFor } from '../record/run-results.js';
import { diffModel } from '../review/diff-model.js';
import { printDiffStat } from '../report/diff-stat-printer.js';

export async function diffCommand(agentName: string, opts: CommonFlags & { profile?: string; stat?: boolean }): Promise<number> {
  const root = resolveRoot(opts);
  // The profile's detection and the scan read one listing of the root (nothing is written in between).
  const { choice: { profile }, scan } = await profiledScan(opts, root);
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  // A base migration unit: the base's file and each agent's against their _v2 (one agent of it: that agent's).
  const selected = selectUnit(scan, root, agentName);
  if (selected) {
    const { unit, member } = selected;
    const files = member ? [member.file] : unitSources(unit);
    const missing = files.map(v2Sibling).filter((f) => !existsSync(path.join(root, f)));
    if (missing.length) {
      throw new UsageError(`${member ? `${member.class}: ` : ''}${unitNotWritten(unit, missing)}`);
    }
    const record = readRecord(root, unit.name);
    for (const f of files) showDiff(root, f, v2Sibling(f), f === unit.base.file && record?.output.path === v2Sibling(f) ? record.removed : [], [], !!opts.stat);
    return 0;
  }
  const agent = findAgent(scan, path.resolve(root), agentName);
  const abs = path.join(root, agent.file);
  const out = adapterFor(agent.language).outputPath(abs);
  if (!existsSync(out)) {
    throw new UsageError(`${agent.name} has no ${path.relative(root, out)} yet (run \`migrate run ${agent.name}\` first, or --dry-run to preview)`);
  }
  // What was removed comes from the record (or the run that left the _v2); the lines from the files.
  const record = opts.stat ? readRecord(root, agent.name) : null;
  const removed = !opts.stat ? [] : record?.output.path === rel(out) ? record.removed : (rememberedFor(root, agent.name, rel(out))?.result.removed ?? []);
  showDiff(root, agent.file, rel(out), removed, agent.findings, !!opts.stat);
  return 0;
}

/** One legacy file against its `_v2` (both relative to the root): the diff, or with `stat` its summary. */
function showDiff(root: string, legacy: string, output: string, removed: string[], findings: AgentInfo['findings'], stat: boolean): void {
  const [before, after] = [readFileSync(path.join(root, legacy), 'utf8'), readFileSync(path.join(root, output), 'utf8')];
  if (stat) printDiffStat({ old: legacy, new: output }, diffModel(before, after, removed, findings));
  else printDiffs([createTwoFilesPatch(legacy, output, before, after)]);
}
