// Agent source files as a real repository has them (probe-faults69): a Python 2 print statement
// left in one agent file, and an agent file reached twice (a symlink beside its target).
// Real repositories, the built CLI (in process: nothing here starts an agent).
import { symlinkSync, writeFileSync, readFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, git, parseRun, runInProcess, tag } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

describe('an agent file that does not parse (a Python 2 print statement)', () => {
  it('run --all fails it alone with its file and line; status, which lists no row for it, names it instead of reading as a finished fleet', async () => {
    const root = await demoRepo();
    const file = path.join(root, 'agents', 'dedup_filter_agent.py');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^import /m, 'print "starting dedup"\nimport '));
    commitAll(root, 'a py2 print');
    const line = readFileSync(file, 'utf8').split('\n').indexOf('print "starting dedup"') + 1;
    const before = baseline(root);
    const t = tag();
    const r = await runInProcess(root, ['run', 'TextStatsAgent', 'agents/dedup_filter_agent.py', '--no-validate', '--json'], t);
    // Named explicitly: refused in one line naming file and line, nothing written.
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`agents/dedup_filter_agent.py:${line}: python3 refuses it: SyntaxError`);
    await expectIntact(root, before, [t]);

    const t2 = tag();
    const all = await runInProcess(root, ['run', '--all', '--no-validate', '--json'], t2);
    expect(all.exitCode, all.stderr).toBe(1);
    const failed = parseRun(all).results.filter((x) => x.status === 'failed');
    expect(failed.map((x) => x.error)).toEqual([expect.stringMatching(new RegExp(`^agents/dedup_filter_agent\\.py:${line}: python3 refuses it: SyntaxError: Missing parentheses in call to 'print'`))]);
    expect(parseRun(all).results.filter((x) => x.status === 'migrated').length).toBeGreaterThan(5);

    const status = await runInProcess(root, ['status'], tag());
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).not.toContain('dedup_filter_agent');
    // Before: not a word of it; the summary read "N agents: N committed".
    expect(status.stderr.split('\n').filter((l) => l.includes('dedup_filter_agent.py'))).toEqual([
      expect.stringMatching(new RegExp(`^migrate: note: agents/dedup_filter_agent\\.py:${line}: python3 refuses it: .*: not in the table \\(no agent can be read from it; \`migrate run --all\` reports it as failed\\)$`)),
    ]);
    const json = await runInProcess(root, ['status', '--json'], tag());
    expect(json.exitCode).toBe(0);
    JSON.parse(json.stdout);
    expect(json.stderr).toContain('agents/dedup_filter_agent.py');
  }, 120_000);
});
