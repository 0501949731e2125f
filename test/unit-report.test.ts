// `migrate report` of a base migration unit a `run --no-commit` left: one section named by its base
// (its agents are no sections, as they are no rows of `migrate status`), with the base's diff, each
// agent's `_v2` diff and validation, the state status prints and the commands that move it on. Before,
// the report said "0 agents": the unit's four written files were nowhere in it. Opened in headless
// chromium like test/review-report.test.ts; a screenshot goes to test-output/unit-report/.
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cliInProcess, git, gitRepo, killAgentProcessesUnder, REPO } from './helpers/cli.js';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { launchChromium, openReport } from './helpers/browser.js';

const OUT = path.join(REPO, 'test-output', 'unit-report');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) {
    killAgentProcessesUnder(r);
    rmSync(r, { recursive: true, force: true });
  }
});

const BASE_V2 = 'agents/daemons/daemon_base_v2.py';
const AGENTS = ['CertExpiryWatcher', 'DigestMailer', 'WebhookRetryAgent'];
const V2 = ['agents/certs/cert_expiry_watcher_v2.py', 'agents/notify/digest_mailer_v2.py', 'agents/notify/webhook_retry_agent_v2.py'];

it('shows an uncommitted unit as one section: its files, each agent\'s validation and diff, what status says and what to run next', async () => {
  const c = listCases().find((x) => x.name === 'home-made-daemon-base-unit-migrates')!;
  const staged = materialize(c);
  roots.push(staged);
  const root = gitRepo(staged, 'migrate-unit-report-');
  roots.push(root);
  const run = await cliInProcess(root, ['run', '--all', '--no-commit', '--json']);
  expect(run.exitCode, run.stderr).toBe(0);

  mkdirSync(OUT, { recursive: true });
  const report = path.join(OUT, 'report.html');
  const made = await cliInProcess(root, ['report', '--out', report]);
  expect(made.exitCode, made.stderr).toBe(0);
  // The unit is no agent: the count says one unit with its three agents (before: "1 agents (1 migrated)").
  expect(made.stderr).toMatch(/: 1 unit migrated \(3 agents with it\)\n?$/);
  const status = (await cliInProcess(root, ['status'])).stdout;
  expect(status).toContain('written, not committed (4 _v2 files); migrate commit DaemonBase (or migrate review) commits it');
  // Each agent of the written unit names its _v2 and its validation (before: every one "legacy", the unit "its 3 agents still legacy").
  expect(status).not.toContain('legacy');
  for (const [k, cls] of AGENTS.entries()) expect(status).toMatch(new RegExp(`\\n  ${cls} +\\S+\\.py:\\d+ +validated, not committed: ${V2[k]!.replace(/\./g, '\\.')}(\\n|$)`));

  const { context, close } = await launchChromium();
  try {
    const { page, url, requests, errors } = await openReport(context, report);
    expect(errors).toEqual([]);

    const sections = await page.$$eval('article.agent', (els) => els.map((e) => [e.getAttribute('data-agent'), e.getAttribute('data-status')]));
    expect(sections).toEqual([['DaemonBase', 'migrated']]);
    const unit = page.locator('#agent-DaemonBase');
    // The state says what status says: written, not committed, and what commits it.
    expect(await unit.locator('header .state').textContent()).toBe(
      'base migration unit with its 3 agents (CertExpiryWatcher, DigestMailer, WebhookRetryAgent): 4 _v2 files written, not committed; each agent validated on it: migrate commit DaemonBase (or migrate review) commits it',
    );
    expect(await unit.locator('.facts').textContent()).toContain([BASE_V2, ...V2].join(', '));
    expect(await unit.locator('.cmd code').allTextContents()).toEqual(['migrate review DaemonBase', 'migrate commit DaemonBase', 'migrate diff DaemonBase']);
    // Four diffs, highlighted: the base's rewrite and each agent's import of the base's _v2.
    const hosts = unit.locator('.diff-host');
    expect(await hosts.count()).toBe(4);
    for (let k = 0; k < 4; k++) {
      expect(await hosts.nth(k).getAttribute('data-highlighted'), String(k)).toBe('true');
      expect(await hosts.nth(k).locator('.d2h-file-side-diff').count(), String(k)).toBe(2);
    }
    expect(await hosts.nth(0).locator('td.d2h-del').count()).toBeGreaterThan(10);
    for (const [k, cls] of AGENTS.entries()) {
      const member = unit.locator(`section.unit-member[data-member="${cls}"]`);
      expect(await member.locator('h3').textContent()).toContain(`→ ${V2[k]}`);
      expect(await member.locator('.diff-host').textContent()).toContain('from agents.daemons.daemon_base_v2 import DaemonBase');
      expect(await member.locator('table.checks tr[data-check="health"] td').nth(1).textContent()).toBe('ok');
      expect(await member.textContent()).not.toMatch(/Commit refuses|Not validated/);
    }
    // The registration chart: one bar per agent of the unit (the base is never started alone).
    const bars = await page.$$eval('#registration-chart g.row', (gs) => gs.map((g) => [g.getAttribute('data-agent'), g.querySelector('text')!.textContent]));
    expect(bars).toEqual(AGENTS.map((cls) => ['DaemonBase', `DaemonBase · ${cls}`]));
    await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });
    // Filter and search find the unit by its base.
    await page.click('button.filter[data-status="migrated"]');
    expect(await page.textContent('#shown')).toBe('Showing 1 of 1 agents');
    expect(requests).toEqual([url]);
  } finally {
    await close();
  }

  // The base's _v2 changed after its agents were validated on it: the report says what commit says, and what to run.
  const base = path.join(root, BASE_V2);
  const { atime, mtime } = statSync(base);
  utimesSync(base, atime, new Date(Date.now() + 5_000));
  const stale = await cliInProcess(root, ['report']);
  expect(stale.exitCode, stale.stderr).toBe(0);
  expect(stale.stdout).toContain('4 _v2 files written, not committed; 3 of its 3 agents not validated as they are now');
  expect(stale.stdout).toContain(`Commit refuses it: it was validated before ${BASE_V2} last changed.`);
  expect(stale.stdout).toMatch(/<div class="cmd"><code>migrate validate DaemonBase<\/code>/);
  // And status no longer says commit commits it (it did, while commit refused).
  expect((await cliInProcess(root, ['status'])).stdout).toContain(
    'written, not committed (4 _v2 files); 3 of its agents not validated as they are now (CertExpiryWatcher, DigestMailer, WebhookRetryAgent): migrate validate DaemonBase, then migrate commit DaemonBase',
  );
  const commit = await cliInProcess(root, ['commit', 'DaemonBase']);
  expect([commit.exitCode, commit.stderr]).toEqual([2, expect.stringContaining(`it was validated before ${BASE_V2} last changed`)]);
  expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').length).toBe(4);

  // Committed: the report says committed, as status says migrated. Before, the record kept the base's missing
  // entry point as an item ("add the entry point by hand"; the base is never started alone) and the report
  // showed the unit as needs-review, "1 item(s) left for review".
  utimesSync(base, atime, mtime);
  const done = await cliInProcess(root, ['commit', 'DaemonBase']);
  expect(done.exitCode, done.stderr).toBe(0);
  expect(JSON.parse(readFileSync(path.join(root, 'migration-log', 'DaemonBase.json'), 'utf8')).kept_for_review).toEqual([]);
  const committedReport = path.join(OUT, 'report-committed.html');
  const after = await cliInProcess(root, ['report', '--out', committedReport]);
  expect(after.exitCode, after.stderr).toBe(0);
  expect(after.stderr).toMatch(/: 1 unit committed \(3 agents with it\)\n?$/);
  const html = readFileSync(committedReport, 'utf8');
  expect(html).toMatch(/data-agent="DaemonBase" data-status="committed"/);
  expect(html).not.toContain('left for review');
  expect((await cliInProcess(root, ['status'])).stdout).toContain('1 agents: 1 committed; 1 unit migrated (3 agents with it)');
  // The committed unit shows every file of its commit: the base's diff, then each agent's diff and validation as the
  // commit and its record hold them (before: the base's diff alone, and "Not validated").
  const { context: context2, close: close2 } = await launchChromium();
  try {
    const { page, errors } = await openReport(context2, committedReport);
    expect(errors).toEqual([]);
    expect(await page.textContent('header.page > p')).toMatch(/^1 unit committed \(3 agents with it\) · made/);
    const unit = page.locator('#agent-DaemonBase');
    expect(await unit.locator('.facts').textContent()).toContain([BASE_V2, ...V2].join(', '));
    expect(await unit.textContent()).not.toContain('Not validated');
    const hosts = unit.locator('.diff-host');
    expect(await hosts.count()).toBe(4);
    for (let k = 0; k < 4; k++) expect(await hosts.nth(k).getAttribute('data-highlighted'), String(k)).toBe('true');
    for (const [k, cls] of AGENTS.entries()) {
      const member = unit.locator(`section.unit-member[data-member="${cls}"]`);
      expect(await member.locator('h3').textContent()).toContain(`→ ${V2[k]}`);
      expect(await member.locator('.diff-host').textContent()).toContain('from agents.daemons.daemon_base_v2 import DaemonBase');
      expect(await member.locator('table.checks tr[data-check="health"] td').nth(1).textContent()).toBe('ok');
      expect(await member.textContent()).not.toMatch(/Commit refuses|Not validated/);
    }
    await page.screenshot({ path: path.join(OUT, 'report-committed.png'), fullPage: true });
  } finally {
    await close2();
  }
}, 300_000);
