// Each agent's state for `migrate status`, from the scan, the working tree and
// the git history. Pure of printing; the command prints with src/report/status-table.ts.
import { existsSync, statSync } from 'node:fs';
import { recalledValidation } from './validation-cache.js';
import path from 'node:path';
import type { ScanResult } from '../core/types.js';
import { listRecords, sha256File, v2Sibling, type MigrationRecord } from './migration-log.js';
import { recordAtCommit, type MigrationHistory } from './git.js';
import { rememberedPath, rememberedResults, type RememberedResult } from './run-results.js';

export type AgentState = 'legacy' | 'needs-review' | 'migrated' | 'not-validated' | 'validated' | 'committed' | 'promoted' | 'reverted';

export interface AgentStatusRow {
  name: string;
  /** The legacy file, relative to the root. */
  file: string;
  state: AgentState;
  /** committed: the migration commit; promoted: the promotion commit; reverted: the revert commit; otherwise null. */
  commit: string | null;
  /** ISO time of that commit, or of the record / `_v2` file when not committed (needs-review: of that run). */
  time: string | null;
  /**
   * needs-review: this clone's last run kept something for review that keeps the base from starting, so it
   * wrote no `_v2` (the file is still legacy, unchanged since): what it kept, by line, and where that is remembered.
   */
  review?: { at: string; kept_for_review: Array<{ symbol: string; line: number; reason: string }>; source: string };
  /** Another agent class of the file of this agent (AgentInfo.other_agents), as scan lists it, and why it is left to a person. */
  second?: { of: string; line: number; reason: string };
}

export function fullyValidated(record: Pick<MigrationRecord, 'validation'> | null): boolean {
  const v = record?.validation;
  return !!v && v.ok && v.checks.every((c) => c.ok || c.skipped === true);
}

/** State from the working tree alone (no commit involved). */
function localState(root: string, file: string, output: string | undefined, record: MigrationRecord | null, agentName?: string) {
  const out = [output, record?.output.path, v2Sibling(file)].find((p) => p && existsSync(path.join(root, p)));
  if (!out) return null;
  if (record && record.output.path === out && fullyValidated(record)) {
    return { state: 'validated' as const, time: record.migrated_at };
  }
  // Validated by `migrate validate` or `run --no-commit`, and unchanged since.
  const agent = record?.agent ?? agentName;
  const recalled = agent ? recalledValidation(root, agent, out) : null;
  if (recalled && fullyValidated({ validation: recalled.report })) {
    return { state: 'validated' as const, time: recalled.at };
  }
  // Its last validation could not run here (a module the agent and its legacy both lack): not proven, said apart from migrated.
  if (recalled?.report.not_run) return { state: 'not-validated' as const, time: recalled.at };
  return { state: 'migrated' as const, time: statSync(path.join(root, out)).mtime.toISOString() };
}

/**
 * promoted (cut over to its `_v2`) beats committed, which beats uncommitted work on disk (validated, then migrated), which
 * beats an old revert; an agent with no trace at all is legacy. Agents known
 * only from history or from records (e.g. reverted ones the scan no longer
 * pairs with anything) are listed too.
 */
export async function computeStatus(root: string, scan: ScanResult, history: MigrationHistory, readable?: MigrationRecord[]): Promise<AgentStatusRow[]> {
  const rows: AgentStatusRow[] = [];
  const outputs = new Set(scan.agents.map((a) => a.output).filter(Boolean));
  const seen = new Set<string>();
  // `readable`: the records the caller could read (status leaves a broken one out and names it).
  const records = new Map((readable ?? listRecords(root)).map((r) => [r.agent, r]));
  const remembered = rememberedResults(root);

  const rowFor = (name: string, file: string, output: string | undefined, onBase: boolean): AgentStatusRow => {
    const h = history.get(name);
    if (h?.promoted) return { name, file, state: 'promoted', commit: h.promoted.sha, time: h.promoted.date };
    if (h?.active) return { name, file, state: 'committed', commit: h.active.sha, time: h.active.date };
    const local = localState(root, file, output, records.get(name) ?? null, name);
    if (local) return { name, file, state: local.state, commit: null, time: local.time };
    const review = !onBase ? reviewedWithoutOutput(root, file, remembered.get(name), h?.last.date) : null;
    if (review) return { name, file, state: 'needs-review', commit: null, time: review.at, review };
    if (h) return { name, file, state: 'reverted', commit: h.last.sha, time: h.last.date };
    return { name, file, state: onBase ? 'migrated' : 'legacy', commit: null, time: null };
  };

  for (const a of scan.agents) {
    if (outputs.has(a.file) || seen.has(a.name)) continue; // a `_v2` file is its legacy agent's output, not an agent
    seen.add(a.name);
    rows.push(rowFor(a.name, a.file, a.output, a.status === 'migrated'));
    // The file's other agents, as scan lists them: migrate never migrates them (one agent per file), so they are
    // legacy until moved onto the base by hand, then migrated. The file's _v2 and commits are its agent's, not theirs.
    for (const o of a.other_agents ?? []) {
      if (seen.has(o.class)) continue;
      seen.add(o.class);
      rows.push({ name: o.class, file: a.file, state: o.status, commit: null, time: null, second: { of: a.name, line: o.line, reason: o.reason } });
    }
  }
  for (const [name, h] of history) {
    if (seen.has(name)) continue;
    seen.add(name);
    const newest = h.migrations[h.migrations.length - 1];
    const record = records.get(name) ?? (await recordAtCommit(root, newest.sha, name).catch(() => null));
    rows.push(rowFor(name, record?.source.path ?? '', record?.output.path, false));
  }
  for (const [name, record] of records) {
    if (seen.has(name)) continue;
    seen.add(name);
    rows.push(rowFor(name, record.source.path, record.output.path, false));
  }
  return rows.sort((x, y) => (x.file === y.file ? x.name.localeCompare(y.name) : x.file < y.file ? -1 : 1));
}

/**
 * The run this clone remembers for an agent that is still legacy (no `_v2`, no active commit): needs-review
 * with no `_v2` written (what it kept keeps the base from starting), newer than the agent's last commit, on
 * the legacy file as it is now (a change since calls for a new run). Otherwise null: the agent is legacy.
 */
export function reviewedWithoutOutput(root: string, file: string, entry: RememberedResult | undefined, lastCommit?: string): NonNullable<AgentStatusRow['review']> | null {
  const r = entry?.result;
  if (!entry || !r || r.status !== 'needs-review' || r.output || r.file !== file) return null;
  if (lastCommit && entry.at <= lastCommit) return null;
  const abs = path.join(root, file);
  if (!existsSync(abs) || (entry.source_sha256 && entry.source_sha256 !== sha256File(abs))) return null;
  return { at: entry.at, kept_for_review: r.kept_for_review, source: `this clone's last run (${rememberedPath(root, r.agent)})` };
}
