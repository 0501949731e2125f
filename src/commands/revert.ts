// `migrate revert AGENT`: undo that agent's migration commit (and record the revert).
import path from 'node:path';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import { revertAgent } from '../record/git.js';
import { resolveAgent } from '../record/resolve.js';
import { revertJson, revertLine } from '../report/status-table.js';

export async function revertCommand(agent: string, opts: { root: string; json?: boolean }): Promise<number> {
  const root = path.resolve(opts.root);
  try {
    const name = await resolveAgent(root, agent);
    const { revertSha, migrationSha } = await revertAgent(root, name);
    const result = { agent: name, reverted: migrationSha, revert_commit: revertSha };
    process.stdout.write(opts.json ? revertJson(result) : revertLine(result));
    return 0;
  } catch (err) {
    // Usage errors (never migrated, already reverted, dirty tree) exit 2 through the CLI;
    // a conflict is the revert failing: one line, exit 1.
    if (err instanceof UsageError || !(err instanceof MigrateError)) throw err;
    process.stderr.write(`migrate: ${oneLine(err)}\n`);
    return 1;
  }
}
