// Each agent's state for `migrate status`, from the scan, the working tree and
// the git history. Pure of printing; the command prints with src/report/status-table.ts.
import { existsSync, statSync } from 'node:fs';
import { recalledValidation } from './validation-cache.js';
import path from 'node:path';
import type { ScanResult } from '../core/types.js';
import { listRecords, v2Sibling, type MigrationRecord } from './migration-log.js';
import { recordAtCommit, type MigrationHistory } from './git.js';

export type AgentState = 'legacy' | 'migrated' | 'validated' | 'committed' | 'promoted' | 'reverted';

export interface AgentStatusRow {
  name: string;
  /** The legacy file, relative to the root. */
  file: string;
  state: AgentState;
  /** committed: the migration commit; promoted: the promotion commit; reverted: the revert commit; otherwise null. */
  commit: string | null;
  /** ISO time of that commit, or of the record / `_v2` file when not committed. */
  time: string | null;
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
  return { state: 'migrated' as const, time: statSync(path.join(root, out)).mtime.toISOString() };
}

/**
 * promoted (cut over to its `_v2`) beats committed, which beats uncommitted work on disk (validated, then migrated), which
 * beats an old revert; an agent with no trace at all is legacy. Agents known
 * only from history or from records (e.g. reverted ones the scan no longer
 * pairs with anything) are listed too.
 */
export async function computeStatus(root: string, scan: ScanResult, history: MigrationHistory): Promise<AgentStatusRow[]> {
  const rows: AgentStatusRow[] = [];
  const outputs = new Set(scan.agents.map((a) => a.output).filter(Boolean));
  const seen = new Set<string>();
  const records = new Map(listRecords(root).map((r) => [r.agent, r]));

  const rowFor = (name: string, file: string, output: string | undefined, onBase: boolean): AgentStatusRow => {
    const h = history.get(name);
    if (h?.promoted) return { name, file, state: 'promoted', commit: h.promoted.sha, time: h.promoted.date };
    if (h?.active) return { name, file, state: 'committed', commit: h.active.sha, time: h.active.date };
    const local = localState(root, file, output, records.get(name) ?? null, name);
    if (local) return { name, file, state: local.state, commit: null, time: local.time };
    if (h) return { name, file, state: 'reverted', commit: h.last.sha, time: h.last.date };
    return { name, file, state: onBase ? 'migrated' : 'legacy', commit: null, time: null };
  };

  for (const a of scan.agents) {
    if (outputs.has(a.file) || seen.has(a.name)) continue; // a `_v2` file is its legacy agent's output, not an agent
    seen.add(a.name);
    rows.push(rowFor(a.name, a.file, a.output, a.status === 'migrated'));
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
