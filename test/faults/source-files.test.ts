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

describe('an agent file reached by two paths (a symlink beside its target)', () => {
  it('is one agent: the link is skipped naming its target, run --all migrates the file once, status and revert see one agent', async () => {
    const root = await demoRepo();
    mkdirSync(path.join(root, 'shared'));
    renameSync(path.join(root, 'agents', 'reminder_agent.py'), path.join(root, 'shared', 'reminder_agent.py'));
    symlinkSync('../shared/reminder_agent.py', path.join(root, 'agents', 'reminder_agent.py'));
    commitAll(root, 'the reminder agent lives in shared/, linked from agents/');
    const before = baseline(root);

    const scan = await runInProcess(root, ['scan', '--json'], tag());
    expect(scan.exitCode, scan.stderr).toBe(0);
    const doc = JSON.parse(scan.stdout) as { agents: Array<{ name: string; file: string }>; skipped: Array<{ file: string; reason: string }> };
    // Before: ReminderAgent (agents/, the link) and ReminderAgent__shared_reminder_agent, one class twice.
    expect(doc.agents.filter((a) => a.name.startsWith('ReminderAgent')).map((a) => [a.name, a.file])).toEqual([['ReminderAgent', 'shared/reminder_agent.py']]);
    expect(doc.skipped.find((s) => s.file === 'agents/reminder_agent.py')?.reason).toBe(
      'a symlink to shared/reminder_agent.py, which is scanned itself: that file is the agent (migrate it by that path or its class)',
    );

    const t = tag();
    const r = await runInProcess(root, ['run', '--all', '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    const reminders = parseRun(r).results.filter((x) => x.agent.startsWith('ReminderAgent'));
    expect(reminders.map((x) => [x.agent, x.status, x.output])).toEqual([['ReminderAgent', 'migrated', 'shared/reminder_agent_v2.py']]);
    const commits = await expectIntact(root, before, [t]);
    expect(commits.filter((c) => c.agent.startsWith('ReminderAgent')).map((c) => c.agent)).toEqual(['ReminderAgent']);
    // The link is still the link, its target untouched.
    expect(git(root, ['ls-files', '-s', 'agents/reminder_agent.py']).split(' ')[0]).toBe('120000');

    const rv = await runInProcess(root, ['revert', 'ReminderAgent', '--json'], tag());
    expect(rv.exitCode, rv.stderr).toBe(0);
    const status = await runInProcess(root, ['status', '--json'], tag());
    const rows = (JSON.parse(status.stdout) as { agents: Array<{ name: string; state: string }> }).agents.filter((a) => a.name.startsWith('ReminderAgent'));
    expect(rows.map((a) => [a.name, a.state])).toEqual([['ReminderAgent', 'reverted']]);
  }, 120_000);
});
