// `migrate report` on a real repository holding every status a reviewer meets (promoted,
// committed with items left for review, reverted, failed, uncommitted migrated and
// needs-review, legacy), opened in headless Debian chromium: every agent's section, the
// registration chart and the highlighted side-by-side diffs render, review items sit at
// their lines, filtering by clicking and searching by typing work, and the page makes no
// request. A screenshot goes to test-output/review-report/.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNeedsReviewAgents, cliInProcess, commitAll, ensureBuilt, git, gitRepo, killAgentProcessesUnder, REPO } from './helpers/cli.js';
import { launchChromium, openReport } from './helpers/browser.js';

const OUT = path.join(REPO, 'test-output', 'review-report');
let root: string;
let report: string;
/** Review items per agent, as the runs reported them. */
const kept = new Map<string, Array<{ line: number }>>();

interface RunJson {
  results: Array<{ agent: string; status: string; commit: string | null; kept_for_review: Array<{ line: number }>; error: string | null }>;
}

async function run(args: string[]): Promise<RunJson> {
  const r = await cliInProcess(root, ['run', ...args, '--json']);
  const out = JSON.parse(r.stdout) as RunJson;
  for (const x of out.results) kept.set(x.agent, x.kept_for_review);
  return out;
}

const expected: Record<string, string> = {
  KVCacheAgent: 'promoted',
  InventoryAgent: 'needs-review', // committed, items left for review
  RateLimiterAgent: 'reverted',
  LedgerAgent: 'failed',
  HeartbeatAgent: 'migrated', // uncommitted _v2, nothing to review
  WebScraperAgent: 'needs-review', // uncommitted _v2 with items
  ConfigWatcherAgent: 'legacy',
};

beforeAll(async () => {
  ensureBuilt();
  root = gitRepo(path.join(REPO, 'fixtures', 'demo-fleet'), 'migrate-report-');
  expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
  for (const f of ['heartbeat_agent.py', 'ledger_agent.py']) cpSync(path.join(REPO, 'fixtures', 'review', f), path.join(root, 'agents', f));
  addNeedsReviewAgents(root);
  commitAll(root, 'base class and four more agents');

  // One at a time: validation on a busy machine should not race its own deadlines.
  const first = await run(['KVCacheAgent', 'InventoryAgent', 'LedgerAgent', '--concurrency', '1']);
  const by = new Map(first.results.map((r) => [r.agent, r]));
  expect(by.get('KVCacheAgent')?.commit, JSON.stringify(by.get('KVCacheAgent'))).toBeTruthy();
  expect(by.get('InventoryAgent')?.commit, JSON.stringify(by.get('InventoryAgent'))).toBeTruthy();
  expect(by.get('LedgerAgent')?.status).toBe('failed');
  const promote = await cliInProcess(root, ['promote', 'KVCacheAgent']);
  expect(promote.exitCode, promote.stderr).toBe(0);
  expect((await run(['RateLimiterAgent', '--no-validate'])).results[0]!.commit).toBeTruthy();
  expect((await cliInProcess(root, ['revert', 'RateLimiterAgent'])).exitCode).toBe(0);
  const pending = await run(['HeartbeatAgent', 'WebScraperAgent', '--no-commit', '--no-validate']);
  expect(pending.results.map((r) => r.status).sort()).toEqual(['migrated', 'needs-review']);

  mkdirSync(OUT, { recursive: true });
  report = path.join(OUT, 'report.html');
  const r = await cliInProcess(root, ['report', '--out', report]);
  expect(r.exitCode, r.stderr).toBe(0);
}, 300_000);

afterAll(() => {
  if (root) killAgentProcessesUnder(root);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('migrate report', () => {
  it('is one self-contained file that names no outside resource', () => {
    const html = readFileSync(report, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain("default-src 'none'");
    // The work tree is as the runs left it: the report wrote nothing into it.
    expect(git(root, ['status', '--porcelain']).split('\n').sort()).toEqual(['?? agents/heartbeat_agent_v2.py', '?? agents/web_scraper_agent_v2.py']);
  });

  it('renders in chromium: sections, chart, diffs, notes at their lines, filter, search, no request', async () => {
    const { context, close } = await launchChromium();
    try {
      // Anything but the file itself is refused (and would show up in `requests`).
      const { page, url, requests, errors } = await openReport(context, report);
      expect(errors).toEqual([]);

      // Every agent has its section with its status; failures come first.
      const sections = await page.$$eval('article.agent', (els) => els.map((e) => [e.getAttribute('data-agent'), e.getAttribute('data-status')]));
      const status = new Map(sections as Array<[string, string]>);
      for (const [agent, s] of Object.entries(expected)) expect(status.get(agent), agent).toBe(s);
      expect(sections[0]![1]).toBe('failed');
      expect(await page.textContent('#shown')).toBe(`Showing ${sections.length} of ${sections.length} agents`);
      expect(await page.textContent('#agent-LedgerAgent .error')).toMatch(/validation|health/);

      // The chart: one bar per validated agent, and the deadline line.
      const bars = await page.$$eval('#registration-chart g.row', (gs) =>
        gs.map((g) => ({ agent: g.getAttribute('data-agent'), width: (g.querySelector('rect.bar') as SVGGraphicsElement).getBBox().width })),
      );
      expect(bars.map((b) => b.agent)).toEqual(expect.arrayContaining(['KVCacheAgent', 'InventoryAgent']));
      for (const b of bars) expect(b.width).toBeGreaterThan(0);
      expect(await page.locator('#registration-chart line.deadline').count()).toBe(1);
      expect(await page.locator('#concerns tr[data-concern="health"]').count()).toBe(1);

      // Diffs: side by side, highlighted, with review items and removed blocks at their lines.
      for (const agent of ['KVCacheAgent', 'InventoryAgent', 'RateLimiterAgent', 'HeartbeatAgent', 'WebScraperAgent']) {
        const host = page.locator(`.diff-host[data-agent="${agent}"]`);
        expect(await host.getAttribute('data-highlighted'), agent).toBe('true');
        expect(await host.locator('.d2h-file-side-diff').count(), agent).toBe(2);
        expect(await host.locator('td.d2h-del').count(), agent).toBeGreaterThan(0);
        expect(await host.locator('.hljs-keyword').count(), agent).toBeGreaterThan(0);
        expect(await host.locator('tr.note-row.removed:not(.mirror)').count(), agent).toBeGreaterThan(0);
        for (const k of kept.get(agent) ?? []) {
          expect(await page.locator(`[id="${agent}-L${k.line}"]`).count(), `${agent} line ${k.line}`).toBe(1);
        }
      }
      expect(await page.locator('#agent-KVCacheAgent .cmd code').first().textContent()).toBe('migrate revert KVCacheAgent');
      // Validation evidence: every check with its time (deregister among them), the log check with the lines it compared.
      expect(await page.locator('#agent-KVCacheAgent table.checks tr[data-check]').count()).toBe(8);
      expect(await page.locator('#agent-KVCacheAgent tr[data-check="deregister"]').count()).toBe(1);
      expect(await page.locator('#agent-KVCacheAgent tr[data-check="log"] details.log-lines summary').textContent()).toMatch(/^ERROR lines compared: legacy \d+, _v2 \d+, new 0$/);
      await page.screenshot({ path: path.join(OUT, 'report.png') });
      await page.locator('#agent-WebScraperAgent').screenshot({ path: path.join(OUT, 'agent-WebScraperAgent.png') });

      // Filter by clicking.
      const visible = () => page.$$eval('article.agent', (els) => els.filter((e) => !(e as HTMLElement).hidden).map((e) => e.getAttribute('data-agent')));
      await page.click('button.filter[data-status="failed"]');
      expect(await visible()).toEqual(['LedgerAgent']);
      await page.click('button.filter[data-status="needs-review"]');
      expect((await visible()).sort()).toEqual(['InventoryAgent', 'WebScraperAgent']);
      expect(await page.textContent('#shown')).toBe(`Showing 2 of ${sections.length} agents`);
      await page.click('button.filter[data-status="all"]');
      expect((await visible()).length).toBe(sections.length);

      // Search by typing.
      await page.locator('#search').pressSequentially('heart');
      expect(await visible()).toEqual(['HeartbeatAgent']);
      await page.locator('#search').fill('');
      await page.locator('#search').pressSequentially('rate_limiter');
      expect(await visible()).toEqual(['RateLimiterAgent']);

      // The print stylesheet drops the controls and keeps every section.
      await page.locator('#search').fill('');
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('nav.toolbar').isVisible()).toBe(false);
      expect(await page.locator('button.copy').first().isVisible()).toBe(false);
      expect(await page.locator('#agent-WebScraperAgent').isVisible()).toBe(true);
      await page.emulateMedia({ media: 'screen' });

      expect(requests).toEqual([url]);
    } finally {
      await close();
    }
  }, 120_000);

  it('is made from the repository alone on another clone', async () => {
    const clone = mkdtempSync(path.join(os.tmpdir(), 'migrate-report-clone-'));
    try {
      git(os.tmpdir(), ['clone', '-q', root, clone]);
      const r = await cliInProcess(clone, ['report']);
      expect(r.exitCode, r.stderr).toBe(0);
      const statuses = new Map([...r.stdout.matchAll(/<article class="agent [^"]*" id="[^"]*" data-agent="(\w+)" data-status="([\w-]+)"/g)].map((m) => [m[1], m[2]]));
      expect(statuses.get('KVCacheAgent')).toBe('promoted');
      expect(statuses.get('InventoryAgent')).toBe('needs-review');
      expect(statuses.get('RateLimiterAgent')).toBe('reverted');
      // What only the first clone knew (its uncommitted files and failed run) is not here.
      expect(statuses.get('HeartbeatAgent')).toBe('legacy');
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  }, 60_000);
});
