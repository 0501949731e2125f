// A run that keeps for review what keeps the base from starting writes no `_v2` (status needs-review,
// output null). `migrate status` used to show that agent as `legacy`, as if no run had looked at it; it
// now shows `needs-review` in the table (with each kept line and where this clone remembers the run) and
// in --json (`review`), as `migrate report`'s fleet does, until the legacy file changes (a new run is due).
// Real repository: the hardened profile's reference base copied in by `migrate init`, the sysctl agent whose
// `--once` mode keeps run() for review (fixtures/python-hardened/sysctl-try-counts-once-mode).
import { appendFileSync, cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { REPO, cliInProcess, commitAll, ensureBuilt, gitRepo, tempDirsOfThisFile } from './helpers/cli.js';
import { scanRepository } from '../src/discover/scan.js';
import { loadProfile } from '../src/profile/profile.js';
import { gatherFleet } from '../src/review/fleet.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

const FILE = 'amoskys/agents/sysctl/sysctl_drift_agent.py';

it('a needs-review run that wrote no _v2 is needs-review in status (table and --json) and the report, until the legacy file changes', async () => {
  const root = gitRepo(undefined, 'migrate-status-review-');
  temps.push(root);
  mkdirSync(path.join(root, path.dirname(FILE)), { recursive: true });
  cpSync(path.join(REPO, 'fixtures/python-hardened/sysctl-try-counts-once-mode/input.py'), path.join(root, FILE));
  const init = await cliInProcess(root, ['init', '--profile', 'hardened-agent-base']);
  expect(init.exitCode, init.stderr).toBe(0);
  commitAll(root, 'fleet and its base');

  const run = await cliInProcess(root, ['run', 'SysctlDriftAgent', '--json']);
  const result = (JSON.parse(run.stdout) as { results: Array<{ status: string; output: string | null; kept_for_review: Array<{ symbol: string; line: number }> }> }).results[0]!;
  expect(result.status, run.stderr).toBe('needs-review');
  expect(result.output).toBeNull();

  const json = await cliInProcess(root, ['status', '--json']);
  expect(json.exitCode, json.stderr).toBe(0);
  const row = (JSON.parse(json.stdout) as { agents: Array<{ name: string; state: string; review?: { kept_for_review: Array<{ symbol: string; line: number }>; source: string } }> }).agents.find((a) => a.name === 'SysctlDriftAgent')!;
  expect(row.state).toBe('needs-review');
  expect(row.review!.kept_for_review).toEqual(result.kept_for_review);
  expect(row.review!.source).toMatch(/this clone's last run \(\.git\/migrate\/results\/SysctlDriftAgent\.json\)/);

  const table = await cliInProcess(root, ['status']);
  expect(table.stdout).toMatch(/^SysctlDriftAgent +needs-review +- +\S+ +amoskys\/agents\/sysctl\/sysctl_drift_agent\.py$/m);
  expect(table.stdout).toContain('1 agents: 1 needs-review');
  expect(table.stdout).toContain(`SysctlDriftAgent: needs-review, no _v2 written: ${result.kept_for_review.length} item`);
  const run_ = result.kept_for_review.find((k) => k.symbol === 'run')!;
  expect(table.stdout).toContain(`  ${FILE}:${run_.line} run: run() counts a cycle only when collect() returns`);

  const fleet = await gatherFleet(root, await scanRepository(root, loadProfile('hardened-agent-base', root)));
  const agent = fleet.agents.find((a) => a.name === 'SysctlDriftAgent')!;
  expect(agent.status).toBe('needs-review');
  expect(agent.kept_for_review).toEqual(result.kept_for_review);

  // The legacy file changed since that run: its items may no longer hold, so the agent is legacy again.
  appendFileSync(path.join(root, FILE), '# the audit pipeline calls --once hourly\n');
  commitAll(root, 'a comment');
  const after = await cliInProcess(root, ['status', '--json']);
  expect((JSON.parse(after.stdout) as { agents: Array<{ name: string; state: string; review?: unknown }> }).agents.find((a) => a.name === 'SysctlDriftAgent')).toMatchObject({ state: 'legacy' });
}, 120_000);
