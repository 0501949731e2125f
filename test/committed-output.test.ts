// `migrate run X` on an agent whose migration is committed and whose legacy file changed since
// (probe-fault56): the refusal says what happened (the legacy changed after the migration commit)
// and the ways on, and the --force it names makes one new migration commit that `revert` undoes
// back to the first migration. The demo fleet in a real repository, the CLI in process, unvalidated
// (what is proven here is the message and the commits, not the agent's run).
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, demoFleetRepos, ensureBuilt, git, migrateCommits, tempDirsOfThisFile } from './helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);
const temps = tempDirsOfThisFile();
const demoRepo = demoFleetRepos(temps, 'migrate-committed-output-');

const LEGACY = 'agents/text_stats_agent.py';
const V2 = 'agents/text_stats_agent_v2.py';

async function runJson(root: string, args: string[]) {
  const r = await cliInProcess(root, ['run', ...args, '--no-validate', '--json']);
  return { exitCode: r.exitCode, result: (JSON.parse(r.stdout) as { results: Array<{ status: string; error: string | null; commit: string | null }> }).results[0]! };
}

describe('run on a committed migration whose legacy changed', () => {
  it('names the change and the migration commit, and --force makes one commit that revert undoes back to the first', async () => {
    const root = await demoRepo();
    const first = await runJson(root, ['TextStatsAgent']);
    expect(first.result.status).toBe('migrated');
    const migration = first.result.commit!.slice(0, 12);
    const firstV2 = readFileSync(path.join(root, V2), 'utf8');
    appendFileSync(path.join(root, LEGACY), '\n# a fix made on the legacy agent after its migration\n');
    git(root, ['commit', '-qam', 'legacy fix']);
    const head = git(root, ['rev-parse', 'HEAD']);

    const refused = await runJson(root, ['TextStatsAgent']);
    expect(refused.exitCode).toBe(1);
    expect(refused.result.status).toBe('failed');
    expect(refused.result.error).toBe(
      `${LEGACY} changed after TextStatsAgent was migrated in commit ${migration}: the committed ${V2} is the rewrite of the older file. ` +
        `To migrate the new one, \`migrate revert TextStatsAgent\` then \`migrate run TextStatsAgent\`, or \`migrate run TextStatsAgent --force\` (one new migration commit over ${migration}'s, which \`migrate revert TextStatsAgent\` undoes back to ${migration})`,
    );
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);

    // What the message says --force does: one migration commit of the _v2 and its record.
    const forced = await runJson(root, ['TextStatsAgent', '--force']);
    expect(forced.result.status).toBe('migrated');
    const commits = migrateCommits(root, head);
    expect(commits.map((c) => [c.agent, c.files])).toEqual([['TextStatsAgent', [V2, 'migration-log/TextStatsAgent.json']]]);
    expect(readFileSync(path.join(root, V2), 'utf8')).toContain('a fix made on the legacy agent');
    expect(git(root, ['status', '--porcelain'])).toBe('');
    // ... and what the message says revert then does: back to the first migration's _v2.
    expect((await cliInProcess(root, ['revert', 'TextStatsAgent'])).exitCode).toBe(0);
    expect(readFileSync(path.join(root, V2), 'utf8')).toBe(firstV2);
    const status = await cliInProcess(root, ['status', '--json']);
    const row = (JSON.parse(status.stdout) as { agents: Array<{ name: string; state: string; commit: string }> }).agents.find((a) => a.name === 'TextStatsAgent')!;
    expect([row.state, row.commit.slice(0, 12)]).toEqual(['committed', migration]);
  }, 120_000);

  it('a _v2 edited and committed after the migration: names the edit, not the legacy', async () => {
    const root = await demoRepo();
    const first = await runJson(root, ['TextStatsAgent']);
    const migration = first.result.commit!.slice(0, 12);
    writeFileSync(path.join(root, V2), readFileSync(path.join(root, V2), 'utf8') + '\n# reviewed by hand\n');
    git(root, ['commit', '-qam', 'review note']);
    const refused = await runJson(root, ['TextStatsAgent']);
    expect(refused.result.error).toBe(
      `${V2} was edited after TextStatsAgent was migrated in commit ${migration} (\`git log -- ${V2}\` shows by whom): keep the edits, or \`migrate run TextStatsAgent --force\` to replace them with a new migration commit (git keeps the old file)`,
    );
  }, 120_000);
});
