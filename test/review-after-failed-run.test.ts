// `migrate review` after a committing run that failed an agent: the run removed that agent's
// _v2 (nothing of a failed agent stays), and the fleet remembers the failure with the diff it
// would have written (the report shows it). Before, review listed that agent with the diff and
// offered [a]ccept / [r]eject "delete the _v2" / [e]dit for a file that was not there; now only
// a _v2 on disk waits for a decision.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, cliInProcess, commitAll, ensureBuilt, gitRepo, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

describe('review after a failed committing run', () => {
  it('lists nothing for the failed agent, whose _v2 the run removed; status and report still show the failure', async () => {
    const root = gitRepo(undefined, 'migrate-review-failed-');
    temps.push(root);
    mkdirSync(path.join(root, 'agents'));
    cpSync(path.join(REPO, 'fixtures', 'demo-fleet', 'agents', 'fleet_common.py'), path.join(root, 'agents', 'fleet_common.py'));
    cpSync(path.join(REPO, 'fixtures', 'review', 'ledger_agent.py'), path.join(root, 'agents', 'ledger_agent.py'));
    expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
    commitAll(root, 'a ledger agent whose _v2 cannot start here');

    const run = await cliInProcess(root, ['run', 'LedgerAgent', '--json']);
    const result = (JSON.parse(run.stdout) as { results: Array<{ status: string; output: string | null }> }).results[0]!;
    expect(result.status, run.stderr).toBe('failed');
    expect(existsSync(path.join(root, 'agents', 'ledger_agent_v2.py'))).toBe(false);

    const review = await cliInProcess(root, ['review'], { input: 'q\n' });
    expect(review.exitCode, review.stderr).toBe(0);
    expect(review.stdout.trim()).toBe('nothing to review: no migrated agent is waiting uncommitted (run `migrate run --no-commit` first)');
    const named = await cliInProcess(root, ['review', 'LedgerAgent'], { input: 'q\n' });
    expect(named.exitCode).toBe(2);
    expect(named.stderr).toContain('nothing to review for LedgerAgent: no uncommitted _v2 (see migrate status)');

    // The failure is not forgotten: the report (the fleet) still carries it with its diff.
    const report = await cliInProcess(root, ['report', '--out', '-']);
    expect(report.exitCode, report.stderr).toBe(0);
    expect(report.stdout).toContain('LedgerAgent');
  }, 120_000);
});
