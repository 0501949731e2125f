// `migrate status`: every agent's state (legacy / migrated / validated / committed / reverted).
import { UsageError } from '../core/errors.js';
import { loadProfile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { readHistory, type MigrationHistory } from '../record/git.js';
import { computeStatus } from '../record/status.js';
import { statusJson, statusTable } from '../report/status-table.js';

export async function statusCommand(opts: { root: string; profile: string; json?: boolean }): Promise<number> {
  const profile = loadProfile(opts.profile, opts.root);
  const scan = await scanRepository(opts.root, profile);
  let history: MigrationHistory = new Map();
  try {
    history = await readHistory(opts.root);
  } catch (err) {
    // Outside git there is no history: every agent is then legacy or on disk only.
    if (!(err instanceof UsageError)) throw err;
  }
  const rows = await computeStatus(opts.root, scan, history);
  process.stdout.write(opts.json ? statusJson(rows) : statusTable(rows, { color: !!process.stdout.isTTY }));
  return 0;
}
