// Base migration units on real git repositories: a home-made base owning its agents' lifecycle and
// the agents skipped for it are reported as one unit by scan, run --all and status (each --json
// output valid against its schema), refused with each blocker's file and line; naming the base
// or one of its agents to run says why; nothing is written or committed for a refused unit.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInProcess, git, gitRepo, REPO } from './helpers/cli.js';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { rmSync } from 'node:fs';
import type { BaseUnit } from '../src/core/types.js';

const ajv = new Ajv({ allErrors: true });
for (const f of ['validation', 'scan', 'run', 'status']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
function parsed(name: string, stdout: string): { units?: BaseUnit[]; skipped?: Array<{ file: string; reason: string; unit?: string }>; results?: unknown[] } {
  const data = JSON.parse(stdout);
  const validate = ajv.getSchema(`${name}.schema.json`)!;
  expect(validate(data), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return data;
}

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A case's fleet (its repo/ and input) as a committed git repository. */
function fleet(name: string): string {
  const c = listCases().find((x) => x.name === name)!;
  const staged = materialize(c);
  roots.push(staged);
  const root = gitRepo(staged, 'migrate-unit-');
  roots.push(root);
  return root;
}

describe('base migration units', () => {
  it('ServiceBase and its four daemons: one unit, refused naming PagerBridge lines 28 and 41, in scan, run --all and status', async () => {
    const root = fleet('home-made-service-base-unit-subclass-overrides-run');
    const head = git(root, ['rev-parse', 'HEAD']);

    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units).toHaveLength(1);
    const unit = scan.units![0]!;
    expect({ name: unit.name, base: unit.base, status: unit.status }).toEqual({
      name: 'ServiceBase',
      base: { class: 'ServiceBase', file: 'agents/daemons/service_base.py', line: 23, holds: ['health server', 'run loop', 'signal handlers', 'heartbeat/registration'] },
      status: 'refused',
    });
    expect(unit.members.map((m) => `${m.class} ${m.file}:${m.line}`)).toEqual([
      'AlertRouter agents/alerts/alert_router.py:18',
      'PagerBridge agents/alerts/pager_bridge.py:21',
      'ArchivePruner agents/ingest/archive_pruner.py:17',
      'FeedPoller agents/ingest/feed_poller.py:17',
    ]);
    // Only PagerBridge blocks it: its listener and its own loop. The others override hooks the
    // base calls (on_tick, on_shutdown, health_fields), which is what a base migration carries.
    expect(unit.blockers.map((b) => `${b.class} ${b.file}:${b.line}`)).toEqual(['PagerBridge agents/alerts/pager_bridge.py:28', 'PagerBridge agents/alerts/pager_bridge.py:41']);
    expect(unit.blockers[1]!.reason).toContain('overrides run()');
    expect(unit.blockers[0]!.reason).toContain('starts a server of its own');
    const inUnit = scan.skipped!.filter((s) => s.unit === 'ServiceBase').map((s) => s.file).sort();
    expect(inUnit).toEqual(['agents/alerts/alert_router.py', 'agents/alerts/pager_bridge.py', 'agents/daemons/service_base.py', 'agents/ingest/archive_pruner.py', 'agents/ingest/feed_poller.py']);

    const run = await cliInProcess(root, ['run', '--all', '--json']);
    const out = parsed('run', run.stdout);
    expect(out.results).toEqual([]);
    expect(out.units).toEqual(scan.units);

    const status = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout);
    expect(status.units).toEqual(scan.units);
    const table = await cliInProcess(root, ['status']);
    expect(table.stdout).toContain('unit ServiceBase (agents/daemons/service_base.py:23): refused, its 4 agents still legacy');

    // Named, the base or an agent of the unit says why it is not migrated (a usage error, nothing written).
    const byBase = await cliInProcess(root, ['run', 'ServiceBase']);
    expect(byBase.exitCode).toBe(2);
    expect(byBase.stderr).toContain('ServiceBase is not an agent: base migration unit ServiceBase');
    expect(byBase.stderr).toContain('PagerBridge (agents/alerts/pager_bridge.py:41) overrides run()');
    const byMember = await cliInProcess(root, ['run', 'FeedPoller']);
    expect(byMember.exitCode).toBe(2);
    expect(byMember.stderr).toContain('FeedPoller (agents/ingest/feed_poller.py) is not migrated on its own');
    expect(byMember.stderr).toContain('nothing in FeedPoller blocks it, but 2 blockers elsewhere');

    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it('a unit no subclass blocks says so, and that the base is still moved by hand', async () => {
    const root = fleet('subclass-drain-loop-on-home-made-daemon-base');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units!.map((u) => [u.name, u.members.map((m) => m.class), u.blockers.length])).toEqual([['DaemonBase', ['WebhookRetryAgent'], 0]]);
    // The engine's rewrite of DaemonBase, run in memory, keeps nothing for review and still calls the three
    // hooks WebhookRetryAgent overrides (step() from the loop, status_extra() from the health fields,
    // before_exit() from stop()).
    expect(scan.units![0]!.reason).toContain(
      "no subclass overrides the lifecycle, binds a server or installs a signal handler of its own, and the engine's rewrite of DaemonBase keeps nothing for review, " +
        'still calls every hook they override (before_exit(), status_extra(), step()) and removes or renames nothing they use',
    );
    expect(scan.units![0]!.reason).toContain('migrate DaemonBase onto BaseAgent by hand');
    // Nothing written: the preview is in memory.
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 60_000);

  it("a subclass reading a flag the base's rewrite renames blocks the unit, naming its line", async () => {
    const root = fleet('home-made-report-base-unit-subclass-reads-renamed-flag');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'ReportJobBase')!;
    expect(unit.members.map((m) => m.class)).toEqual(['DailyDigest', 'KpiRollup']);
    expect(unit.blockers.map((b) => `${b.class} ${b.file}:${b.line}`)).toEqual([
      'DailyDigest agents/reports/jobs/daily_digest.py:33',
      'ReportJobBase agents/reports/report_job_base.py:16',
    ]);
    expect(unit.blockers[0]!.reason).toContain('uses self.running, which the engine\'s rewrite of ReportJobBase renames to self.agent_running');
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 60_000);

  it('a repository without a home-made lifecycle base has no units field', async () => {
    const root = fleet('subclass-of-home-made-worker-base');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    // MediaWorkerBase holds the loop and the server: its worker is a unit member.
    expect(scan.units?.map((u) => u.name)).toEqual(['MediaWorkerBase']);
    const plain = fleet('parent-chain-ends-before-base');
    const other = parsed('scan', (await cliInProcess(plain, ['scan', '--json'])).stdout);
    expect(other.units).toBeUndefined();
  }, 60_000);
});
