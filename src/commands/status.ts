// `migrate status`: every agent's state (legacy / migrated / validated / committed / reverted).
import { UsageError } from '../core/errors.js';
import { scanRepository } from '../discover/scan.js';
import { unitOutputs } from '../discover/base-units.js';
import { readHistory, type MigrationHistory } from '../record/git.js';
import { computeStatus } from '../record/status.js';
import { unfinishedRun } from '../pipeline/journal.js';
import { statusJson, statusTable } from '../report/status-table.js';
import { useColor } from '../report/terminal.js';
import { commandProfile, profileJson, resolveRoot, type CommonFlags } from './common.js';
import { unfinishedNote } from '../report/status-table.js';
import { io } from '../core/invocation.js';
import { describeInterrupted, interruptedLeftovers } from '../validate/leftovers.js';

export async function statusCommand(opts: CommonFlags & { profile?: string; json?: boolean }): Promise<number> {
  const root = resolveRoot(opts);
  const choice = commandProfile(opts, root);
  const profile = choice.profile;
  const scan = await scanRepository(root, profile);
  let history: MigrationHistory = new Map();
  try {
    history = await readHistory(root);
  } catch (err) {
    // Outside git there is no history: every agent is then legacy or on disk only.
    if (!(err instanceof UsageError)) throw err;
  }
  const rows = await computeStatus(root, scan, history);
  // A unit whose one commit is active in history is migrated (its agents stay skipped in the scan:
  // their legacy files still stand on the legacy base, their `_v2` on the base's `_v2`).
  const units = scan.units?.map((u) => {
    const active = history.get(u.name)?.active;
    return active && u.status !== 'refused' ? { ...u, status: 'migrated' as const, files: unitOutputs(u), commit: active.sha, error: null } : u;
  });
  // A killed run's leftovers look migrated on disk, yet the next writing command puts them
  // back: say so (read as recovery reads it, nothing touched: status stays read-only).
  const unfinished = unfinishedRun(root);
  const pending = unfinished ? unfinishedNote(unfinished, scan.agents) : undefined;
  io.stdout.write(opts.json ? statusJson(rows, pending, profileJson(choice), units) : statusTable(rows, { color: useColor(), pending, units }));
  // Files a validation killed mid-way may have left (read only: status removes nothing).
  const left = await interruptedLeftovers(root);
  if (left) io.stderr.write(`migrate: note: ${describeInterrupted(left)}\n`);
  return 0;
}
