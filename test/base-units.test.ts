// Base migration units on real git repositories: a home-made base owning its agents' lifecycle and
// the agents skipped for it are reported as one unit by scan, run --all and status (each --json
// output valid against its schema), refused with each blocker's file and line; naming the base
// or one of its agents to run says why; nothing is written or committed for a refused unit. And the
// claim a unit with no blocker makes is run: its subclass started on the rewritten base.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Ajv from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { cliInProcess, commitAll, git, gitRepo, REPO } from './helpers/cli.js';
import { listCases, materialize, REFERENCE_BASE } from './helpers/python-fixtures.js';
import { cases as hardenedCases, materialize as materializeHardened } from './helpers/python-hardened.js';
import { previewBase } from '../src/discover/base-preview.js';
import { retargetImports } from '../src/discover/base-units.js';
import { loadProfile } from '../src/profile/profile.js';
import { allocatePorts } from '../src/validate/ports.js';
import type { BaseUnit } from '../src/core/types.js';

const ajv = new Ajv({ allErrors: true });
for (const f of ['validation', 'scan', 'run', 'status', 'validate', 'promote']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
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

/**
 * The environment of the seed-001 runs that validate a unit's agents. The family helper's publish
 * tries SOURCE_PUBLISH_RETRIES times (default 3), sleeping 1, 2, 4 s, and the base's publisher
 * tries it 3 times more: with the bus down, a queue formed only ~23 s after, in each of the 5
 * validations here (~19 s of wall each). One try still fails, sleeps and hands the telemetry to
 * the base, which queues it: the eventbus check sees the same up / queued / drained phases.
 */
const ONE_PUBLISH_TRY = { env: { SOURCE_PUBLISH_RETRIES: '1' } };

/** A seed-001 case's fleet (its repo/, input and the reference HardenedAgentBase) as a committed git repository. */
function hardenedFleet(name: string): string {
  const staged = materializeHardened(hardenedCases.find((x) => x.name === name)!);
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
    // The agents are shown with their unit, and counted there (the repository has no other agent).
    expect(table.stdout).toContain('no agents outside base migration units; 1 unit refused (4 agents with it)');
    expect(table.stdout).toMatch(/\n {2}FeedPoller +agents\/ingest\/feed_poller\.py:17 +legacy(\n|$)/);
    // validate and diff of a refused unit say it is refused and name its blockers.
    // Named by its base, the message is the unit's (its base, file and line), never prefixed with its first agent's name.
    const refusedLine =
      'base migration unit ServiceBase (agents/daemons/service_base.py:23) is refused, so it has no _v2: 2 blockers (PagerBridge agents/alerts/pager_bridge.py:28, PagerBridge agents/alerts/pager_bridge.py:41; migrate scan says why)';
    for (const cmd of ['validate', 'diff']) {
      const r = await cliInProcess(root, [cmd, 'ServiceBase']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n'), cmd).toEqual([`migrate: ${refusedLine}`]);
      // Named by one of its agents: that agent, then the unit.
      const one = await cliInProcess(root, [cmd, 'FeedPoller']);
      expect(one.exitCode).toBe(2);
      expect(one.stderr.trim().split('\n'), cmd).toEqual([`migrate: FeedPoller: ${refusedLine}`]);
    }

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

  it('a unit no subclass blocks says so, and that run migrates it', async () => {
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
    expect(scan.units![0]!.status).toBe('ready');
    expect(scan.units![0]!.reason).toContain('`migrate run DaemonBase` (or run --all) writes DaemonBase\'s _v2 and one _v2 per agent importing it');
    // The base and its agent are not told to move the base by hand in the line that says run moves it.
    const said = scan.skipped!.filter((s) => s.unit === 'DaemonBase');
    expect(said.map((s) => s.file).sort()).toEqual(['agents/daemons/daemon_base.py', 'agents/notify/webhook_retry_agent.py']);
    for (const s of said) expect(s.reason, s.file).not.toContain('by hand');
    // Nothing written: the preview is in memory.
    expect(git(root, ['status', '--porcelain'])).toBe('');
    // Named by one of its agents, a run that does not validate and commit leaves it ready, saying why.
    const dry = await cliInProcess(root, ['run', 'WebhookRetryAgent', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const unit = parsed('run', dry.stdout).units![0]!;
    expect([unit.name, unit.status]).toEqual(['DaemonBase', 'ready']);
    expect(unit.reason).toContain('not migrated by this run: a unit is migrated only together with each agent\'s runtime validation (run without --dry-run)');
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

  // The claim a unit with no blocker makes ("moving DaemonBase onto BaseAgent carries them all"),
  // checked by running it: the engine's rewrite of the base (what the unit's analysis read) written
  // over the base in a throwaway repository on the reference base, and the subclass started as it is.
  it('the claim of a unit with no blocker holds at runtime: WebhookRetryAgent runs unchanged on the rewritten DaemonBase', async () => {
    const root = fleet('subclass-drain-loop-on-home-made-daemon-base');
    rmSync(path.join(root, 'common'), { recursive: true, force: true });
    cpSync(path.join(REFERENCE_BASE, 'common'), path.join(root, 'common'), { recursive: true });
    commitAll(root, 'reference base');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units!.map((u) => [u.name, u.blockers.length])).toEqual([['DaemonBase', 0]]);
    const { outcome } = previewBase(root, 'agents/daemons/daemon_base.py', 'DaemonBase', loadProfile('base-agent'));
    expect(outcome.status).toBe('changed');
    writeFileSync(path.join(root, 'agents', 'daemons', 'daemon_base.py'), outcome.output!);
    const [port, health] = await allocatePorts(2);
    const child = spawn('python3', ['agents/notify/webhook_retry_agent.py'], {
      cwd: root,
      env: { ...process.env, AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: '', METRICS_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Its health answers with the base's fields and the subclass's (status_extra()), and step() has run.
      let body: Record<string, unknown> | null = null;
      for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
        try {
          const r = await fetch(`http://127.0.0.1:${health}/health`);
          const j = (await r.json()) as Record<string, unknown>;
          if (r.ok && Number(j.steps) >= 1) {
            body = j;
            break;
          }
        } catch {
          // not up yet
        }
      }
      expect(body, log).not.toBeNull();
      expect(body).toMatchObject({ status: 'ok', agent: 'WebhookRetryAgent', waiting: 0, delivered: 0, parked: 0 });
      // SIGTERM: the base's handler stops it, DaemonBase.stop() still calls before_exit(), exit 0.
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(code, log).toBe(0);
      expect(log).toContain('spooled back the waiting webhooks');
      expect(log).toContain('received SIGTERM; stopping');
      expect(log).not.toMatch(/Traceback|ERROR/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);

  // A unit with no blocker migrates, end to end: the base's _v2 (the engine's rewrite) and one _v2 per
  // agent importing it, each agent's _v2 started under the validator, one commit; a second run is a
  // no-op; an agent of it is not reverted alone; reverting the base undoes all of it.
  it('DaemonBase and its three agents migrate as one unit: each validated at runtime, one commit, revert restores the tree', async () => {
    const root = fleet('home-made-daemon-base-unit-migrates');
    const head = git(root, ['rev-parse', 'HEAD']);
    const members = ['agents/certs/cert_expiry_watcher.py', 'agents/notify/digest_mailer.py', 'agents/notify/webhook_retry_agent.py'];
    const before = Object.fromEntries(members.map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));

    const run = await cliInProcess(root, ['run', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const out = parsed('run', run.stdout);
    const unit = out.units![0]!;
    expect(unit.status, unit.error ?? '').toBe('migrated');
    const files = ['agents/daemons/daemon_base_v2.py', ...members.map((f) => f.replace(/\.py$/, '_v2.py'))];
    expect(unit.files).toEqual(files);
    // Every agent was started on its _v2 and passed the validator's checks.
    expect(Object.keys(unit.validation!).sort()).toEqual(['CertExpiryWatcher', 'DigestMailer', 'WebhookRetryAgent']);
    for (const [cls, report] of Object.entries(unit.validation!)) {
      expect(report.ok, `${cls}: ${JSON.stringify(report.checks)}`).toBe(true);
      for (const check of ['health', 'registry', 'metrics', 'shutdown']) expect(report.checks.find((c) => c.name === check)?.ok, `${cls} ${check}`).toBe(true);
    }
    // One commit, holding exactly the unit's _v2 files and its record, naming the base and its agents.
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(unit.commit).toBe(git(root, ['rev-parse', 'HEAD']));
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...files, 'migration-log/DaemonBase.json'].sort());
    expect(git(root, ['log', '-1', '--format=%s'])).toBe('migrate(DaemonBase): move base migration unit DaemonBase (CertExpiryWatcher, DigestMailer, WebhookRetryAgent) onto BaseAgent');
    // The originals are untouched; each agent's _v2 differs from it only by importing DaemonBase from the base's _v2.
    for (const f of members) {
      expect(readFileSync(path.join(root, f), 'utf8')).toBe(before[f]);
      const v2 = readFileSync(path.join(root, f.replace(/\.py$/, '_v2.py')), 'utf8');
      expect(v2).toBe(before[f]!.replace('from agents.daemons.daemon_base import DaemonBase', 'from agents.daemons.daemon_base_v2 import DaemonBase'));
      expect(v2).not.toBe(before[f]);
    }
    expect(readFileSync(path.join(root, files[0]!), 'utf8')).toContain('class DaemonBase(BaseAgent):');

    // A second run is a no-op.
    const again = parsed('run', (await cliInProcess(root, ['run', '--all', '--json'])).stdout);
    expect(again.units![0]!.status).toBe('unchanged');
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['status', '--porcelain'])).toBe('');

    const status = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout);
    expect(status.units!.map((u) => [u.name, u.status, u.commit])).toEqual([['DaemonBase', 'migrated', unit.commit]]);
    expect((await cliInProcess(root, ['status'])).stdout).toContain('unit DaemonBase (agents/daemons/daemon_base.py:16): migrated in');

    // An agent of the unit alone is refused, naming the unit; the base reverts it all.
    const alone = await cliInProcess(root, ['revert', 'DigestMailer']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr.trim().split('\n')).toEqual(["migrate: DigestMailer was migrated with base migration unit DaemonBase (one commit with DaemonBase's _v2, which its _v2 imports): revert the unit, migrate revert DaemonBase"]);
    expect((await cliInProcess(root, ['revert', 'agents/notify/digest_mailer_v2.py'])).exitCode).toBe(2);
    const reverted = await cliInProcess(root, ['revert', 'DaemonBase']);
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    // The tree is the one before the unit, but for the revert's record.
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^migration-log\/reverts\/DaemonBase-.*\.json$/)]);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    const after = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout);
    expect(after.units!.map((u) => u.status)).toEqual(['ready']);
  }, 300_000);

  it('a class between the base and its agents moves with the unit: LegacyService, PollingService and two pollers migrate as one commit, show in status, promote (replace) and revert as one', async () => {
    const root = fleet('home-made-polling-middle-class-unit');
    const head = git(root, ['rev-parse', 'HEAD']);
    const baseFile = 'agents/common/legacy_service.py';
    const middle = 'agents/common/polling_service.py';
    const agents = ['agents/feeds/feed_spool_poller.py', 'agents/mirrors/package_mirror_poller.py'];
    const v2 = (f: string) => f.replace(/\.py$/, '_v2.py');
    const legacy = Object.fromEntries([baseFile, middle, ...agents].map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));

    // Before: each agent was refused, 'reaches LegacyService through another class (PollingService)'.
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units!.map((u) => [u.name, u.status, u.blockers, u.middles])).toEqual([['LegacyService', 'ready', [], [{ class: 'PollingService', file: middle, line: 16 }]]]);

    const run = await cliInProcess(root, ['run', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const unit = parsed('run', run.stdout).units![0]!;
    expect(unit.status, unit.error ?? '').toBe('migrated');
    const files = [v2(baseFile), ...agents.map(v2), v2(middle)];
    expect(unit.files).toEqual(files);
    // Each agent ran on its _v2, through PollingService's _v2, on LegacyService's _v2.
    expect(Object.keys(unit.validation!).sort()).toEqual(['FeedSpoolPoller', 'PackageMirrorPoller']);
    for (const [cls, report] of Object.entries(unit.validation!)) {
      expect(report.ok, `${cls}: ${JSON.stringify(report.checks)}`).toBe(true);
      for (const check of ['health', 'registry', 'metrics', 'shutdown']) expect(report.checks.find((c) => c.name === check)?.ok, `${cls} ${check}`).toBe(true);
    }
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...files, 'migration-log/LegacyService.json'].sort());
    // Originals untouched; the middle's _v2 only imports the base's _v2, each agent's only the middle's _v2.
    for (const f of [baseFile, middle, ...agents]) expect(readFileSync(path.join(root, f), 'utf8')).toBe(legacy[f]);
    expect(readFileSync(path.join(root, v2(middle)), 'utf8')).toBe(legacy[middle]!.replace('from agents.common.legacy_service import LegacyService', 'from agents.common.legacy_service_v2 import LegacyService'));
    for (const f of agents) {
      expect(readFileSync(path.join(root, v2(f)), 'utf8')).toBe(legacy[f]!.replace('from agents.common.polling_service import PollingService', 'from agents.common.polling_service_v2 import PollingService'));
    }
    expect(readFileSync(path.join(root, files[0]!), 'utf8')).toContain('class LegacyService(BaseAgent):');
    const record = JSON.parse(readFileSync(path.join(root, 'migration-log/LegacyService.json'), 'utf8'));
    expect(record.unit.middles.map((m: { class: string; source: { path: string }; output: { path: string } }) => [m.class, m.source.path, m.output.path])).toEqual([['PollingService', middle, v2(middle)]]);

    // A second run is a no-op; status shows the unit with the class its agents reach it through.
    expect(parsed('run', (await cliInProcess(root, ['run', '--all', '--json'])).stdout).units!.map((u) => u.status)).toEqual(['unchanged']);
    const status = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout);
    expect(status.units!.map((u) => [u.name, u.status, u.commit])).toEqual([['LegacyService', 'migrated', unit.commit]]);
    expect((await cliInProcess(root, ['status'])).stdout).toContain('with its 2 agents (FeedSpoolPoller, PackageMirrorPoller) through PollingService; migrate revert LegacyService undoes it');

    // The middle class alone is refused naming the unit, as an agent of it is.
    const alone = await cliInProcess(root, ['revert', 'PollingService']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr.trim().split('\n')).toEqual(["migrate: PollingService was migrated with base migration unit LegacyService (one commit with LegacyService's _v2, which its _v2 imports): revert the unit, migrate revert LegacyService"]);

    // promote (replace): the base's path holds its _v2, every _v2 goes (the middle's too), and the middle's and
    // agents' files are unchanged: each is its _v2 but for the import of the unit's modules.
    const promote = await cliInProcess(root, ['promote', 'LegacyService', '--mode', 'replace', '--json']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(readFileSync(path.join(root, baseFile), 'utf8')).toBe(git(root, ['show', `${unit.commit}:${files[0]}`]) + '\n');
    for (const f of files) expect(existsSync(path.join(root, f)), f).toBe(false);
    for (const f of [middle, ...agents]) expect(readFileSync(path.join(root, f), 'utf8')).toBe(legacy[f]);
    // What is started now runs: each agent's own file, through PollingService, on the promoted base.
    const after = await cliInProcess(root, ['validate', ...agents, '--json']);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);

    // revert: the promotion, then the migration; the tree is the one before the unit.
    expect((await cliInProcess(root, ['revert', 'LegacyService'])).exitCode).toBe(0);
    for (const f of files) expect(existsSync(path.join(root, f)), f).toBe(true);
    expect((await cliInProcess(root, ['revert', 'LegacyService'])).exitCode).toBe(0);
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean).every((f) => f.startsWith('migration-log/reverts/LegacyService-'))).toBe(true);
    expect(git(root, ['status', '--porcelain'])).toBe('');
    expect(parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout).units!.map((u) => u.status)).toEqual(['ready']);
  }, 400_000);

  // After the unit's commit, the user's commands act on the unit as a whole: status lists its agents, run and
  // status count it, diff shows its files, validate starts each agent's _v2 (never the base alone), and promote
  // cuts it over as one commit in either mode, which revert undoes; an agent of it alone is refused.
  it('a migrated unit is counted, shown with its agents, diffed, validated, promoted as one (script_path, then replace) and reverted', async () => {
    const root = fleet('home-made-daemon-base-unit-migrates');
    // The fleet's startup config (seed 000 shape) starts each agent from its legacy file.
    mkdirSync(path.join(root, 'config'));
    const config = [
      '# Notification daemons',
      'agent_groups:',
      '  notify:',
      '    DigestMailer:',
      '      name: DigestMailer',
      '      script_path: agents/notify/digest_mailer.py',
      '      required: true',
      '    WebhookRetryAgent:',
      '      name: WebhookRetryAgent',
      '      script_path: agents/notify/webhook_retry_agent.py',
      '      required: true',
      '  certs:',
      '    CertExpiryWatcher:',
      '      name: CertExpiryWatcher',
      '      script_path: agents/certs/cert_expiry_watcher.py',
      '      required: false',
      '',
    ].join('\n');
    writeFileSync(path.join(root, 'config/startup_config.yaml'), config);
    commitAll(root, 'startup config');
    const members = ['agents/certs/cert_expiry_watcher.py', 'agents/notify/digest_mailer.py', 'agents/notify/webhook_retry_agent.py'];
    const v2s = members.map((f) => f.replace(/\.py$/, '_v2.py'));
    const legacy = Object.fromEntries([...members, 'agents/daemons/daemon_base.py'].map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));

    // run counts the unit (its agents are no results): before, it said "nothing to do".
    const run = await cliInProcess(root, ['run', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const out = parsed('run', run.stdout) as { units: BaseUnit[]; unit_summary?: Record<string, number>; summary: Record<string, number> };
    expect(out.units[0]!.status, out.units[0]!.error ?? '').toBe('migrated');
    expect(out.unit_summary).toEqual({ migrated: 1 });
    const migration = out.units[0]!.commit!;
    expect((await cliInProcess(root, ['run', '--all'])).stdout).toMatch(/\n1 unit unchanged \(3 agents with it\) in /);

    // status: the unit with each agent and the _v2 it is started from, counted in the summary.
    const st = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout) as unknown as { agents: Array<{ name: string }>; units: BaseUnit[] };
    expect(st.units[0]!.members.map((m) => [m.class, m.output])).toEqual([
      ['CertExpiryWatcher', v2s[0]],
      ['DigestMailer', v2s[1]],
      ['WebhookRetryAgent', v2s[2]],
    ]);
    expect(st.agents.map((a) => a.name)).toEqual(['DaemonBase']);
    const table = (await cliInProcess(root, ['status'])).stdout;
    expect(table).toContain('1 agents: 1 committed; 1 unit migrated (3 agents with it)');
    expect(table).toMatch(/\n {2}DigestMailer +agents\/notify\/digest_mailer\.py:26 +migrated: agents\/notify\/digest_mailer_v2\.py\n/);

    // diff: the base's file and every agent's against its _v2; one agent, its own.
    const diff = await cliInProcess(root, ['diff', 'DaemonBase']);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout.split('\n').filter((l) => l.startsWith('+++ '))).toEqual(['+++ agents/daemons/daemon_base_v2.py', ...v2s.map((f) => `+++ ${f}`)]);
    const one = await cliInProcess(root, ['diff', 'DigestMailer']);
    expect(one.stdout.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual(['-from agents.daemons.daemon_base import DaemonBase', '+from agents.daemons.daemon_base_v2 import DaemonBase']);

    // validate: each agent's _v2 started on the base's _v2; the base is no row of its own.
    const validated = await cliInProcess(root, ['validate', 'DaemonBase', '--json']);
    expect(validated.exitCode, validated.stderr).toBe(0);
    const rows = (parsed('validate', validated.stdout) as unknown as { results: Array<{ agent: string; output: string; validation: { ok: boolean } }> }).results;
    expect(rows.map((r) => [r.agent, r.output, r.validation.ok])).toEqual([
      ['CertExpiryWatcher', v2s[0], true],
      ['DigestMailer', v2s[1], true],
      ['WebhookRetryAgent', v2s[2], true],
    ]);

    // promote: an agent of the unit alone is refused in one line naming the unit.
    const alone = await cliInProcess(root, ['promote', 'DigestMailer']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr.trim().split('\n')).toEqual(["migrate: DigestMailer was migrated with base migration unit DaemonBase (one commit with DaemonBase's _v2, which its _v2 imports): promote the unit, migrate promote DaemonBase"]);

    // Refused, nothing changed: an agent's _v2 edited since the unit's commit (promoting would ship what no run
    // validated), and, for replace, another module importing the base's _v2 (replace deletes it).
    const mailerV2 = path.join(root, v2s[1]!);
    writeFileSync(mailerV2, `${readFileSync(mailerV2, 'utf8')}\nRETRY_LIMIT = 3\n`);
    commitAll(root, 'a hand edit of the mailer _v2');
    const edited = await cliInProcess(root, ['promote', 'DaemonBase']);
    expect(edited.exitCode).toBe(2);
    expect(edited.stderr).toContain(`${v2s[1]} (DigestMailer's _v2) changed since base migration unit DaemonBase was committed`);
    git(root, ['revert', '--no-edit', 'HEAD']);
    mkdirSync(path.join(root, 'tools'));
    writeFileSync(path.join(root, 'tools/peek.py'), 'from agents.daemons.daemon_base_v2 import DaemonBase\n\nprint(DaemonBase.__name__)\n');
    commitAll(root, 'a tool reads the base');
    const importer = await cliInProcess(root, ['promote', 'DaemonBase']);
    expect(importer.exitCode).toBe(2);
    expect(importer.stderr).toContain('tools/peek.py:1 imports agents.daemons.daemon_base_v2, which promoting removes');
    // Importing the legacy base instead, the tool is no refusal: replace names it in a warning (below).
    writeFileSync(path.join(root, 'tools/peek.py'), 'from agents.daemons.daemon_base import DaemonBase\n\nprint(DaemonBase.__name__)\n');
    commitAll(root, 'the tool reads the legacy base');
    const head = git(root, ['rev-parse', 'HEAD']);
    expect(git(root, ['status', '--porcelain'])).toBe('');

    // script_path: one commit switching every agent's startup entry to its _v2; the files stay.
    const sp = await cliInProcess(root, ['promote', 'DaemonBase', '--mode', 'script_path']);
    expect(sp.exitCode, sp.stderr).toBe(0);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual(['config/startup_config.yaml', 'migration-log/DaemonBase.json']);
    expect(readFileSync(path.join(root, 'config/startup_config.yaml'), 'utf8')).toBe(config.replace(/script_path: (agents\/\S+)\.py/g, 'script_path: $1_v2.py'));
    const promotedSp = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout).units![0]!;
    expect([promotedSp.status, promotedSp.commit]).toEqual(['promoted', git(root, ['rev-parse', 'HEAD'])]);
    // revert undoes the promotion only: the configs start the legacy files again, the unit stays migrated.
    expect((await cliInProcess(root, ['revert', 'DaemonBase'])).exitCode).toBe(0);
    expect(readFileSync(path.join(root, 'config/startup_config.yaml'), 'utf8')).toBe(config);
    expect(parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout).units!.map((u) => [u.status, u.commit])).toEqual([['migrated', migration]]);

    // replace (the default), picked by --all-validated: the base's path holds its _v2 content, every _v2 goes,
    // and each agent's file, which imports the base's path, is its _v2 but for that import: unchanged.
    const beforeReplace = git(root, ['rev-parse', 'HEAD']);
    const rp = await cliInProcess(root, ['promote', '--all-validated', '--json']);
    expect(rp.exitCode, rp.stderr).toBe(0);
    const promoted = parsed('promote', rp.stdout).results as Array<{ agent: string; status: string; mode: string; warnings: string[]; members?: Array<{ class: string; script: string }> }>;
    expect(promoted.map((r) => [r.agent, r.status, r.mode])).toEqual([['DaemonBase', 'promoted', 'replace']]);
    expect(promoted[0]!.warnings).toEqual(["tools/peek.py:1 imports agents.daemons.daemon_base, which now holds DaemonBase's migrated content; only the unit's agents were validated on it"]);
    expect(promoted[0]!.members).toEqual([
      { class: 'CertExpiryWatcher', script: members[0] },
      { class: 'DigestMailer', script: members[1] },
      { class: 'WebhookRetryAgent', script: members[2] },
    ]);
    expect(git(root, ['rev-list', '--count', `${beforeReplace}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual(
      ['agents/daemons/daemon_base.py', 'agents/daemons/daemon_base_v2.py', ...v2s, 'migration-log/DaemonBase.json'].sort(),
    );
    expect(git(root, ['show', `${migration}:agents/daemons/daemon_base_v2.py`])).toBe(readFileSync(path.join(root, 'agents/daemons/daemon_base.py'), 'utf8').trimEnd());
    for (const f of members) expect(readFileSync(path.join(root, f), 'utf8')).toBe(legacy[f]);
    for (const f of ['agents/daemons/daemon_base_v2.py', ...v2s]) expect(existsSync(path.join(root, f))).toBe(false);
    expect(readFileSync(path.join(root, 'config/startup_config.yaml'), 'utf8')).toBe(config);
    // status still shows the unit (the scan no longer sees a legacy base) and no stray rows for its agents.
    const st2 = parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout) as unknown as { agents: Array<{ name: string }>; units: BaseUnit[] };
    expect(st2.agents.map((a) => a.name)).toEqual(['DaemonBase']);
    expect(st2.units.map((u) => [u.name, u.status, u.members.map((m) => m.output)])).toEqual([['DaemonBase', 'promoted', members]]);
    // What the startup config starts now runs: each agent's own file, on the base's promoted content.
    const after = await cliInProcess(root, ['validate', ...members, '--json']);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);
    expect((JSON.parse(after.stdout).results as Array<{ output: string }>).map((r) => r.output)).toEqual(members);
    expect(git(root, ['status', '--porcelain'])).toBe('');

    // revert: the promotion first (the legacy base and every _v2 back), then the migration.
    expect((await cliInProcess(root, ['revert', 'DaemonBase'])).exitCode).toBe(0);
    for (const f of [...members, 'agents/daemons/daemon_base.py']) expect(readFileSync(path.join(root, f), 'utf8')).toBe(legacy[f]);
    for (const f of ['agents/daemons/daemon_base_v2.py', ...v2s]) expect(existsSync(path.join(root, f))).toBe(true);
    expect((await cliInProcess(root, ['revert', 'DaemonBase'])).exitCode).toBe(0);
    for (const f of ['agents/daemons/daemon_base_v2.py', ...v2s]) expect(existsSync(path.join(root, f))).toBe(false);
    expect(parsed('status', (await cliInProcess(root, ['status', '--json'])).stdout).units!.map((u) => u.status)).toEqual(['ready']);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 300_000);

  it('one agent of the unit crashing at runtime fails the unit: nothing written, nothing committed', async () => {
    const root = fleet('home-made-daemon-base-unit-migrates');
    // The watcher reads its bundle list when it starts, and the repository has none: it dies at start.
    const watcher = path.join(root, 'agents/certs/cert_expiry_watcher.py');
    const text = readFileSync(watcher, 'utf8');
    const crashing = text.replace('        self.checked = 0\n', '        self.checked = 0\n        with open(CERT_LIST) as fh:\n            self.listed = fh.read().split()\n');
    expect(crashing).not.toBe(text);
    writeFileSync(watcher, crashing);
    commitAll(root, 'the watcher reads its list at start');
    const head = git(root, ['rev-parse', 'HEAD']);

    const run = await cliInProcess(root, ['run', 'DaemonBase', '--json']);
    expect(run.exitCode).toBe(1);
    const unit = parsed('run', run.stdout).units![0]!;
    expect(unit.status).toBe('failed');
    expect(unit.error).toContain('validation of CertExpiryWatcher (agents/certs/cert_expiry_watcher_v2.py)');
    expect(unit.files).toEqual([]);
    expect(unit.commit).toBeNull();
    // The others passed, and nothing of any of them stays.
    expect(unit.validation!.CertExpiryWatcher!.ok).toBe(false);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain', '--ignored', '--untracked-files=all']).split('\n').filter((l) => /_v2|migration-log/.test(l))).toEqual([]);
  }, 300_000);

  it("an agent's _v2 imports the base from the base's _v2 module: absolute and relative imports of the base's module only", () => {
    const src = [
      'from agents.daemons.daemon_base import DaemonBase',
      'from agents.daemons.daemon_base_util import backoff',
      'from ..daemons.daemon_base import (',
      '    DaemonBase as Base,',
      ')',
      'from . import helpers',
      '',
    ].join('\n');
    expect(retargetImports(src, 'agents/notify/x.py', 'agents/daemons/daemon_base.py')).toBe(
      src.replace('from agents.daemons.daemon_base import', 'from agents.daemons.daemon_base_v2 import').replace('from ..daemons.daemon_base import', 'from ..daemons.daemon_base_v2 import'),
    );
    // Another package's module of the same name is not the base's.
    expect(retargetImports('from other.daemon_base import DaemonBase\n', 'agents/notify/x.py', 'agents/daemons/daemon_base.py')).toBe('from other.daemon_base import DaemonBase\n');
  });

  it('an agent reaching the base through its module (import ... as m; class X(m.Base)) blocks the unit: its _v2 could not import the base\'s _v2', async () => {
    const root = fleet('home-made-daemon-base-unit-migrates');
    const mailer = path.join(root, 'agents/notify/digest_mailer.py');
    const text = readFileSync(mailer, 'utf8');
    const viaModule = text
      .replace('from agents.daemons.daemon_base import DaemonBase', 'import agents.daemons.daemon_base as daemon_base')
      .replace('class DigestMailer(DaemonBase):', 'class DigestMailer(daemon_base.DaemonBase):');
    expect(viaModule).not.toBe(text);
    writeFileSync(mailer, viaModule);
    commitAll(root, 'the mailer imports the module');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    const unit = scan.units![0]!;
    expect(unit.status).toBe('refused');
    expect(unit.blockers.map((b) => `${b.class} ${b.file}:${b.line}`)).toEqual(['DigestMailer agents/notify/digest_mailer.py:26']);
    expect(unit.blockers[0]!.reason).toContain('does not import DaemonBase with `from <module> import DaemonBase`');
    // Refused: run --all writes and commits nothing of it.
    const head = git(root, ['rev-parse', 'HEAD']);
    const run = parsed('run', (await cliInProcess(root, ['run', '--all', '--json'])).stdout);
    expect(run.units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 60_000);

  it("a family helper whose cycle is abstract (def collect(self): raise NotImplementedError) and whose publish counts self.published, which HostSensorAgent.status() reads, migrates as one unit: the count keeps counting on the _v2", async () => {
    const root = hardenedFleet('source-agent-family-abstract-collect');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    // Before: refused, HostSensorAgent (host_sensor_agent.py:105) reading self.published, which moving the
    // publish into HardenedAgentBase's publisher would stop, beside the abstract cycle and each collect().
    expect([unit.status, unit.blockers]).toEqual(['ready', []]);
    expect(unit.members.map((m) => `${m.class} ${m.file}:${m.line}`)).toEqual([
      'HostSensorAgent amoskys/agents/sensors/host_sensor_agent.py:87',
      'MountUsageAgent amoskys/agents/sensors/mount_usage_agent.py:26',
    ]);
    expect(unit.cycle).toMatchObject({ method: 'collect', line: 63, publish: '_publish_telemetry', loop: 'run', param: 'interval', value: '30' });
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], ONE_PUBLISH_TRY);
    const done = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([done.status, done.error ?? null], r.stdout).toEqual(['migrated', null]);
    const base = readFileSync(path.join(root, 'amoskys/agents/common/source_agent_v2.py'), 'utf8');
    expect(base).toContain('    def _publish_with_retry(self, events):\n');
    expect(base).toContain('            self.published += len(events)\n');
    // The record names the abstract method as removed, and nothing of the stand-in the preview used.
    const record = readFileSync(path.join(root, 'migration-log/SourceAgent.json'), 'utf8');
    expect(JSON.parse(record).removed).toContain('collect');
    expect(record).not.toContain('_subclass_cycle');
    // The operator's status keeps counting what was published: a cycle on the _v2 with a publisher taking every batch.
    const probe = [
      'import sys, os',
      'sys.path.insert(0, os.getcwd())',
      'from amoskys.agents.sensors.host_sensor_agent_v2 import HostSensorAgent',
      'class Bus:',
      '    def publish(self, events): pass',
      'a = HostSensorAgent(queue_path="data/probe.db")',
      'a.eventbus_publisher = Bus()',
      'a.run_cycle(); a.run_cycle()',
      'print(a.status()["published"])',
    ].join('\n');
    const out = spawnSync('python3', ['-c', probe], { cwd: root, encoding: 'utf8', env: { ...process.env, SENSOR_PROC_ROOT: '/proc' } });
    expect(out.stderr.split('\n').filter((l) => /Traceback|Error/.test(l))).toEqual([]);
    expect(out.stdout.trim()).toBe('2');
  }, 300_000);

  it("seed 001: the SourceAgent family (abstract collect(), three agents publishing through _publish_telemetry() in files of their own) migrates as one unit: each agent's collect() handed to collect_data(), each _v2 validated at runtime, one commit, a second run unchanged, revert restores the tree", async () => {
    const root = hardenedFleet('source-agent-family-unit-migrates');
    const head = git(root, ['rev-parse', 'HEAD']);
    const base = 'amoskys/agents/common/source_agent.py';
    const agents = ['amoskys/agents/sensors/host_sensor_agent.py', 'amoskys/agents/sensors/mount_usage_agent.py', 'amoskys/agents/sensors/net_dev_agent.py'];
    // Before: refused, the abstract cycle, each agent's collect() and entry point named as by-hand work.
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const ready = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect([ready.status, ready.blockers]).toEqual(['ready', []]);
    expect(ready.cycle).toMatchObject({ method: 'collect', publish: '_publish_telemetry', loop: 'run', value: '30', keyword: 'collection_interval', hook: 'collect_data', runForever: 'run_forever' });
    expect(ready.reason).toContain("one _v2 per agent importing it (its collect() handed to HardenedAgentBase as collect_data() returning what it published through _publish_telemetry(), its entry point constructing it with collection_interval and calling run_forever())");
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], ONE_PUBLISH_TRY);
    const unit = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([unit.status, unit.error ?? null], r.stdout).toEqual(['migrated', null]);
    const v2 = (f: string) => f.replace(/\.py$/, '_v2.py');
    expect(unit.files).toEqual([v2(base), ...agents.map(v2)]);
    // Each agent's _v2 ran on the base's _v2: health, registry, metrics, the bus (queued while it was down, drained after), clean shutdown.
    for (const cls of ['HostSensorAgent', 'MountUsageAgent', 'NetDevAgent']) {
      const report = unit.validation![cls]!;
      expect(report.checks.filter((k) => !k.ok && !k.skipped).map((k) => `${k.name}: ${k.detail}`), cls).toEqual([]);
      expect(report.checks.filter((k) => k.ok).map((k) => k.name), cls).toEqual(expect.arrayContaining(['health', 'registry', 'metrics', 'eventbus', 'shutdown']));
    }
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...unit.files!, 'migration-log/SourceAgent.json'].sort());
    const text = (f: string) => readFileSync(path.join(root, f), 'utf8');
    // The base: publish in EventBusPublisher, loop and stand-in gone, each agent named by its own class.
    expect(text(v2(base))).toContain('class SourceAgent(HardenedAgentBase):');
    expect(text(v2(base))).toContain('super().__init__(agent_name=type(self).__name__, **kwargs)');
    expect(text(v2(base))).not.toMatch(/_subclass_cycle|def collect|def run\(|signal\.signal/);
    // Each agent: collect_data() returning what it published, **kwargs to the base, its interval to the constructor.
    expect(text(v2(agents[0]!))).toContain('        return [telemetry]\n');
    expect(text(v2(agents[0]!))).toContain('    agent = HostSensorAgent(collection_interval=float(os.environ.get("SENSOR_INTERVAL", "30")))\n    agent.run_forever()\n');
    expect(text(v2(agents[1]!))).toContain('    MountUsageAgent(collection_interval=30).run_forever()\n');
    expect(text(v2(agents[2]!))).toContain('    def __init__(self, queue_path=QUEUE_PATH, skip=SKIP, **kwargs):\n        super().__init__(queue_path, **kwargs)\n');
    expect(text(v2(agents[2]!))).toContain('.split(","), collection_interval=float(os.environ.get("NETDEV_INTERVAL", "30"))).run_forever()');
    for (const f of agents) expect(text(v2(f)), f).not.toMatch(/def collect\(|_publish_telemetry/);
    // A second run changes nothing.
    const again = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect(again.status).toBe('unchanged');
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    // The record warns of the helper's signal line the rewrite dropped (its words are not the base's).
    expect(JSON.parse(text('migration-log/SourceAgent.json')).warnings).toContain('_on_term() (the signal handler) removed: its log line naming the signal, logger.info("%s: signal %d, stopping", self.name, signum) (line 32), is replaced by HardenedAgentBase\'s own line for the signal it receives, in the base\'s words: change a log search or script that matches the legacy\'s');

    // promote (replace): each agent's _v2 is more than its file with another import (its cycle handed to the
    // target), so its file takes the _v2's validated content, importing the base from the base's path again.
    // Before: refused ("differs ... by more than importing SourceAgent"), so a unit with no startup config
    // could not be promoted at all. A module importing an agent's module would meet a changed class: refused.
    mkdirSync(path.join(root, 'tools'), { recursive: true });
    writeFileSync(path.join(root, 'tools/sensor_status.py'), 'import json\n\nfrom amoskys.agents.sensors.host_sensor_agent import HostSensorAgent\n\nprint(json.dumps(HostSensorAgent().status()))\n');
    commitAll(root, 'operator tool: print the host sensor status');
    const refused = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim()).toBe(`migrate: cannot promote base migration unit SourceAgent: tools/sensor_status.py:3 imports ${agents[0]}, whose class HostSensorAgent replace would change beyond its import (${v2(agents[0]!)}: its cycle handed to the target), which only its own entry point was validated with; promote with --mode script_path`);
    git(root, ['rm', '-q', 'tools/sensor_status.py']);
    git(root, ['commit', '-q', '-m', 'operator tool moved to the ops repository']);
    const promote = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace', '--json']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(text(base)).toBe(git(root, ['show', `${unit.commit}:${v2(base)}`]) + '\n');
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(false);
    for (const f of agents) expect(text(f), f).toBe(git(root, ['show', `${unit.commit}:${v2(f)}`]).replace('from amoskys.agents.common.source_agent_v2 import', 'from amoskys.agents.common.source_agent import') + '\n');
    expect(git(root, ['log', '-1', '--format=%B'])).toContain(`${agents.join(', ')} hold their validated _v2 content, the cycle handed to HardenedAgentBase`);
    // What is started now runs: each agent's own file on the promoted base.
    const after = await cliInProcess(root, ['validate', ...agents, '--json'], ONE_PUBLISH_TRY);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);
    // revert: the promotion, then the migration; the tree is the one before the unit (and the tool's two commits).
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(true);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean).every((f) => f.startsWith('migration-log/reverts/SourceAgent-'))).toBe(true);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 400_000);

  it("seed 001: a class between the family helper and its agents (PolledSource: a proc root and read_proc()) moves with the handed cycle: its members kept, its __init__ handing the target's keywords on; each agent validated on it, one commit, promote (replace) and revert as one", async () => {
    const root = hardenedFleet('source-agent-polled-middle-class-migrates');
    const head = git(root, ['rev-parse', 'HEAD']);
    const base = 'amoskys/agents/common/source_agent.py';
    const middle = 'amoskys/agents/common/polled_source.py';
    const agents = ['amoskys/agents/sensors/host_sensor_agent.py', 'amoskys/agents/sensors/mount_usage_agent.py', 'amoskys/agents/sensors/net_dev_agent.py'];
    const v2 = (f: string) => f.replace(/\.py$/, '_v2.py');
    const text = (f: string) => readFileSync(path.join(root, f), 'utf8');
    // Before: refused for the class between (the by-hand shape: the abstract cycle, each agent's collect() and entry point).
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const ready = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect([ready.status, ready.blockers, ready.middles]).toEqual(['ready', [], [{ class: 'PolledSource', file: middle, line: 16 }]]);
    expect(ready.cycle).toMatchObject({ method: 'collect', hook: 'collect_data', keyword: 'collection_interval' });
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], ONE_PUBLISH_TRY);
    const unit = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([unit.status, unit.error ?? null], r.stdout).toEqual(['migrated', null]);
    expect(unit.files).toEqual([v2(base), ...agents.map(v2), v2(middle)]);
    for (const cls of ['HostSensorAgent', 'MountUsageAgent', 'NetDevAgent']) {
      const report = unit.validation![cls]!;
      expect(report.checks.filter((k) => !k.ok && !k.skipped).map((k) => `${k.name}: ${k.detail}`), cls).toEqual([]);
    }
    // The middle: its import of the helper's _v2 and **kwargs on to it, every other byte its own.
    expect(text(v2(middle))).toBe(text(middle).replace('from amoskys.agents.common.source_agent import', 'from amoskys.agents.common.source_agent_v2 import')
      .replace('    def __init__(self, queue_path, proc_root=PROC_ROOT):\n        super().__init__(queue_path)\n', '    def __init__(self, queue_path, proc_root=PROC_ROOT, **kwargs):\n        super().__init__(queue_path, **kwargs)\n'));
    expect(text(v2(agents[1]!))).toContain('from amoskys.agents.common.polled_source_v2 import PolledSource\n');
    expect(text(v2(agents[1]!))).toContain('    def __init__(self, queue_path=QUEUE_PATH, proc_root="/proc", **kwargs):\n        super().__init__(queue_path, proc_root=proc_root, **kwargs)\n');
    expect(text(v2(agents[1]!))).toContain('    MountUsageAgent(collection_interval=30).run_forever()\n');
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    // promote (replace): every file of the unit on its legacy path, the middle's too; each agent's own file runs.
    const promote = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace', '--json']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(false);
    expect(text(middle)).toContain('    def __init__(self, queue_path, proc_root=PROC_ROOT, **kwargs):\n');
    expect(text(middle)).toContain('from amoskys.agents.common.source_agent import SourceAgent\n');
    const after = await cliInProcess(root, ['validate', agents[2]!, '--json'], ONE_PUBLISH_TRY);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean).every((f) => f.startsWith('migration-log/reverts/SourceAgent-'))).toBe(true);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 400_000);

  it('the same class between, publishing a read failure itself (self._publish_telemetry() in read_proc()), keeps the handed unit refused naming that line', async () => {
    const root = hardenedFleet('source-agent-polled-middle-class-migrates');
    const middle = 'amoskys/agents/common/polled_source.py';
    writeFileSync(path.join(root, middle), readFileSync(path.join(root, middle), 'utf8').replace('            self.read_errors += 1\n', '            self.read_errors += 1\n            self._publish_telemetry(self.read_failure(path, e))\n'));
    commitAll(root, 'report unreadable proc files');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.blockers.map((b) => [b.class, `${b.file}:${b.line}`, b.reason])).toEqual([
      ['PolledSource', `${middle}:29`, `PolledSource (${middle}:29) calls self._publish_telemetry, part of the cycle the unit hands to the target; the unit hands each agent's collect() to collect_data() through it`],
    ]);
  }, 60_000);

  it('a class between the base and its agents that installs a signal handler of its own refuses the unit, naming its line', async () => {
    const root = fleet('home-made-polling-middle-class-unit');
    const middle = 'agents/common/polling_service.py';
    const text = readFileSync(path.join(root, middle), 'utf8');
    writeFileSync(path.join(root, middle), text.replace('import time\n', 'import signal\nimport time\n').replace('        super().__init__(name, port, health_port)\n', '        super().__init__(name, port, health_port)\n        signal.signal(signal.SIGHUP, self._on_hup)\n\n    def _on_hup(self, signum, frame):\n        self.skip_ticks = 0\n'));
    commitAll(root, 'SIGHUP resets the back-off');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    const unit = scan.units![0]!;
    expect([unit.name, unit.status]).toEqual(['LegacyService', 'refused']);
    expect(unit.blockers.map((b) => [b.class, `${b.file}:${b.line}`])).toEqual([['PollingService', `${middle}:25`]]);
    expect(unit.blockers[0]!.reason).toContain('PollingService (agents/common/polling_service.py:25) installs a signal handler of its own (signal.signal(signal.SIGHUP, self._on_hup))');
    expect(scan.skipped!.find((s) => s.file === middle)!.reason).toContain('base migration unit LegacyService: PollingService stands between LegacyService and its agents and is refused: PollingService (agents/common/polling_service.py:25) installs a signal handler');
    expect(parsed('run', (await cliInProcess(root, ['run', '--all', '--json'])).stdout).units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 60_000);

  it('seed 001: a class between the family helper and its agents (ScannerAgent implementing collect()) moves with the unit, which stays refused naming its collect() and publish lines', async () => {
    const root = hardenedFleet('source-agent-scanner-middle-class');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.middles).toEqual([{ class: 'ScannerAgent', file: 'amoskys/agents/common/scanner_agent.py', line: 15 }]);
    // Before: 'PackageInventoryAgent ... reaches SourceAgent through another class (ScannerAgent)', and nothing else.
    expect(unit.blockers.some((b) => /through another class/.test(b.reason))).toBe(false);
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toEqual([
      'amoskys/agents/common/scanner_agent.py:27',
      'amoskys/agents/common/source_agent.py:32',
      'amoskys/agents/common/source_agent.py:36',
      'amoskys/agents/common/source_agent.py:54',
      'amoskys/agents/common/source_agent.py:63',
      'amoskys/agents/common/source_agent.py:66',
      // The loop's interval: each agent's entry point (the count at line 46 is kept on the agent now).
      'amoskys/agents/inventory/listening_ports_agent.py:36',
      'amoskys/agents/inventory/package_inventory_agent.py:42',
    ]);
    expect(unit.blockers[0]!.reason).toBe('ScannerAgent (amoskys/agents/common/scanner_agent.py:27) implements collect(), publishing through self._publish_telemetry() (line 43): its _v2 must define collect_data() returning a list of what it hands to _publish_telemetry() instead, for HardenedAgentBase to publish (and queue what fails)');
    const middle = scan.skipped!.find((s) => s.file === 'amoskys/agents/common/scanner_agent.py')!;
    expect(middle.unit).toBe('SourceAgent');
    expect(middle.reason).toContain('base migration unit SourceAgent: ScannerAgent stands between SourceAgent and its agents and is refused: ScannerAgent (amoskys/agents/common/scanner_agent.py:27) implements collect()');
    const run = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout);
    expect(run.units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it('the same family helper with its cycle marked @abc.abstractmethod (a docstring for a body) is seen as abstract and handed to the agents the same way', async () => {
    const c = hardenedCases.find((x) => x.name === 'source-agent-family-abstract-collect')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    // The method's line the scan keeps is its decorator's: the abstract cycle went unseen, and each agent
    // was told "nothing in HostSensorAgent blocks it" (the base's items only).
    const file = path.join(staged, 'amoskys/agents/common/source_agent.py');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('import os\n', 'import abc\nimport os\n').replace('class SourceAgent:', 'class SourceAgent(abc.ABC):')
      .replace('    def collect(self):\n        raise NotImplementedError\n', '    @abc.abstractmethod\n    def collect(self):\n        """One cycle: read the sources and publish."""\n'));
    // An agent that only sets the count (no read of it) is not told it reads it.
    const mounts = path.join(staged, 'amoskys/agents/sensors/mount_usage_agent.py');
    writeFileSync(mounts, readFileSync(mounts, 'utf8').replace('        self.alerting = set()\n', '        self.alerting = set()\n        self.published = 0\n'));
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    // The cycle is found past its decorator (the def at line 65), its decorator blanked in the stand-in.
    expect([unit.status, unit.blockers]).toEqual(['ready', []]);
    expect(unit.cycle).toMatchObject({ method: 'collect', line: 65, publish: '_publish_telemetry' });
  });

  it("the family helper's count read by an agent's own cycle (a line logged each cycle) keeps the unit refused: counted after the base publishes, it would read last cycle's", async () => {
    const c = hardenedCases.find((x) => x.name === 'source-agent-family-abstract-collect')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    const mounts = path.join(staged, 'amoskys/agents/sensors/mount_usage_agent.py');
    writeFileSync(mounts, readFileSync(mounts, 'utf8').replace('        events = []\n        for mount in self._mounts():', '        events = []\n        logger.info("%d published so far", self.published)\n        for mount in self._mounts():'));
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.cycle).toBeUndefined();
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toContain('amoskys/agents/sensors/mount_usage_agent.py:41');
  });

  it("seed 001: a family helper whose agents publish from inside their loops and start its run() with their own interval: each agent's entry point is named at its line as what its _v2 must change", async () => {
    const root = hardenedFleet('watcher-agent-family-publish-loop');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'WatcherAgent')!;
    expect(unit.status).toBe('refused');
    const base = 'amoskys/agents/common/watcher_agent.py';
    const kmod = 'amoskys/agents/devices/kmod_watcher.py';
    const usb = 'amoskys/agents/devices/usb_device_watcher.py';
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toEqual([
      `${base}:32`, `${base}:35`, `${base}:54`, `${base}:63`, `${base}:66`,
      `${kmod}:44`, `${kmod}:62`, `${usb}:41`, `${usb}:58`,
    ]);
    const at = (f: string, line: number) => unit.blockers.find((b) => b.file === f && b.line === line)?.reason ?? '';
    // Before: run()'s item said only 'no entry point constructs WatcherAgent'; the entry points that do start
    // its loop, in the agents' files, were named nowhere.
    expect(at(usb, 58)).toBe(`UsbDeviceWatcher's entry point (${usb}:58: UsbDeviceWatcher().run(interval=float(os.environ.get("USB_INTERVAL", "...) starts WatcherAgent's run() (${base}:66), the loop HardenedAgentBase takes over: its _v2 must pass the interval this call gives to the constructor as collection_interval (WatcherAgent's run() defaults to 15) and call run_forever(), which the unit migration does not write`);
    expect(at(base, 66)).toContain('keeps run (amoskys/agents/common/watcher_agent.py:66) for review: nowhere to pass collection_interval=15 (no entry point constructs WatcherAgent)');
    expect(at(kmod, 44)).toContain('publishing through self._publish_telemetry() (line 51), self._publish_telemetry() (line 55)');
    // No count is read by an agent here: no such blocker.
    expect(unit.blockers.filter((b) => /reads self\./.test(b.reason))).toEqual([]);
    const run = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout);
    expect(run.units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it("a family helper with a concrete cycle (collect() publishing what its agents' changes() hook returns) kept for its loop's interval names each agent's bare run() entry point", async () => {
    const c = hardenedCases.find((x) => x.name === 'watcher-agent-family-publish-loop')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    const base = 'amoskys/agents/common/watcher_agent.py';
    const edit = (rel: string, fn: (s: string) => string) => writeFileSync(path.join(staged, rel), fn(readFileSync(path.join(staged, rel), 'utf8')));
    edit(base, (s) => s.replace('    def collect(self):\n        raise NotImplementedError("watchers implement collect()")\n',
      '    def changes(self):\n        return []\n\n    def collect(self):\n        events = self.changes()\n        if events:\n            self._publish_telemetry(telemetry_pb2.DeviceTelemetry(\n' +
      '                device_id=self.name, device_type="HOST", protocol="WATCH", timestamp_ns=time.time_ns(), events=events))\n'));
    for (const rel of ['amoskys/agents/devices/kmod_watcher.py', 'amoskys/agents/devices/usb_device_watcher.py']) {
      edit(rel, (s) => s.replace(/    def collect\(self\):[\s\S]*?(?=\n\n\nif __name__)/, '    def changes(self):\n        return [telemetry_pb2.TelemetryEvent(event_type="STATUS", attributes={"host": self.hostname})]')
        .replace(/\.run\(interval=float\(os\.environ\.get\("\w+", "15"\)\)\)/, '.run()'));
    }
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'WatcherAgent')!;
    expect(unit.status).toBe('refused');
    // Before: only the base's 'nowhere to pass collection_interval=15 (no entry point constructs WatcherAgent)'.
    expect(unit.blockers.filter((b) => b.file !== base).map((b) => b.reason)).toEqual([
      "KernelModuleWatcher's entry point (amoskys/agents/devices/kmod_watcher.py:49: KernelModuleWatcher().run()) starts WatcherAgent's run() (amoskys/agents/common/watcher_agent.py:72), the loop HardenedAgentBase takes over: its _v2 must construct it with collection_interval=15 (WatcherAgent's run() default) and call run_forever(), which the unit migration does not write",
      "UsbDeviceWatcher's entry point (amoskys/agents/devices/usb_device_watcher.py:46: UsbDeviceWatcher().run()) starts WatcherAgent's run() (amoskys/agents/common/watcher_agent.py:72), the loop HardenedAgentBase takes over: its _v2 must construct it with collection_interval=15 (WatcherAgent's run() default) and call run_forever(), which the unit migration does not write",
    ]);
  }, 120_000);

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
