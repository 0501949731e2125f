// Base migration units on real git repositories: a home-made base owning its agents' lifecycle and
// the agents skipped for it are reported as one unit by scan, run --all and status (each --json
// output valid against its schema), refused with each blocker's file and line; naming the base
// or one of its agents to run says why; nothing is written or committed for a refused unit. And the
// claim a unit with no blocker makes is run: its subclass started on the rewritten base.
// Seed 001's family helpers (hardened-agent-base): test/base-units-seed001.test.ts.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliInProcess, commitAll, git, importBuilt } from './helpers/cli.js';
import { REFERENCE_BASE } from './helpers/python-fixtures.js';
import { fleet, parsed } from './helpers/base-units.js';
import type { BaseUnit } from '../src/core/types.js';
import { exitedWithOutput } from './helpers/exited.js';

// The built tool's (helpers/cli.ts importBuilt), as the in-process CLI runs it: none of the sources through vitest's transform.
const { previewBase } = await importBuilt<typeof import('../src/discover/base-preview.js')>('discover/base-preview.js');
const { retargetImports } = await importBuilt<typeof import('../src/discover/base-units.js')>('discover/base-units.js');
const { loadProfile } = await importBuilt<typeof import('../src/profile/profile.js')>('profile/profile.js');
const { allocatePorts } = await importBuilt<typeof import('../src/validate/ports.js')>('validate/ports.js');

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

  // A class between the base and its agents with a loop of its own looked like the unit's base: the scan
  // called PollingService's unit ready with LegacyService (server, signal handlers) still under it, and
  // run --all failed every agent's validation. Now refused, naming PollingService's run() and why.
  it('a middle class running its own loop over the lifecycle base: the unit is refused naming its run() line, run --all writes nothing', async () => {
    const root = fleet('home-made-polling-middle-class-own-loop-unit');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units!.map((u) => [u.name, u.status, u.blockers.map((b) => `${b.class} ${b.file}:${b.line}`)])).toEqual([
      ['PollingService', 'refused', ['PollingService agents/common/polling_service.py:59']],
    ]);
    expect(scan.units![0]!.blockers[0]!.reason).toContain('runs a loop of its own (run()) on LegacyService (agents/common/legacy_service.py:17), which holds a health server, signal handlers, a run loop');
    const run = await cliInProcess(root, ['run', '--all', '--json']);
    const out = parsed('run', run.stdout);
    expect(out.results).toEqual([]);
    expect(out.units!.map((u) => u.status)).toEqual(['refused']);
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
    const exited = exitedWithOutput(child);
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

  // The legacy CronDaemon answers 200 "degraded" while a job fails (BackupPruner's dump check, data/backups
  // missing here); the base's _v2 keeps that code through its _health_http_code() override, which the
  // agent's _v2 inherits (its own class has none). Before, the validator looked for the override in the
  // agent's class only, failed survival on the kept 200 "degraded", and the unit failed.
  it('an agent inheriting its unit base\'s health-code override: its kept 200 "degraded" is declared, the unit migrates', async () => {
    const root = fleet('home-made-cron-base-unit-degraded-200');
    const run = await cliInProcess(root, ['run', '--all', '--json']);
    const out = parsed('run', run.stdout);
    const unit = out.units![0]!;
    expect(unit.status, unit.error ?? '').toBe('migrated');
    expect(run.exitCode, run.stderr).toBe(0);
    const base = readFileSync(path.join(root, 'agents/cron/cron_daemon_v2.py'), 'utf8');
    expect(base).toContain('def _health_http_code(self, status):');
    expect(readFileSync(path.join(root, 'agents/housekeeping/backup_pruner_v2.py'), 'utf8')).not.toContain('_health_http_code');
    const checks = unit.validation!.BackupPruner!.checks;
    // It did turn degraded under the validator (the failing job ran), and answered so with 200, declared.
    const survival = checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(true);
    expect(checks.map((c) => c.detail).join('\n')).toMatch(/200 status "degraded" \(the code the agent declares for that status through its _health_http_code\(\) override\)/);
    expect(parsed('run', (await cliInProcess(root, ['run', '--all', '--json'])).stdout).units![0]!.status).toBe('unchanged');
    expect(git(root, ['status', '--porcelain'])).toBe('');
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

  // probe-py69 ReplicaWatcher: `class ReplicaWatcher(abc.ABC)` became `(abc.ABC, BaseAgent)` with the health port
  // handed as port + 1; the second run took the call for abc.ABC's and rebuilt it, so the unit the scan called ready
  // failed its idempotency check at `migrate run`. The second run of the base's rewrite is now a no-op (fails before:
  // changed). And its TCP health callback, kept for its payload, lost its only caller with the listener's set-up
  // (legacy: 503 "lagging"; the committed unit: the base's 200 "ok"): that blocks the unit now, naming the line.
  it('an abc.ABC base handing the base port + 1: its rewrite is a no-op the second time; its orphaned health callback blocks the unit', async () => {
    const root = fleet('abc-base-unit-health-port-plus-one');
    const rel = 'pc2_code/watchers/replica_watcher.py';
    const profile = loadProfile('base-agent');
    const { outcome } = previewBase(root, rel, 'ReplicaWatcher', profile);
    expect(outcome.status).toBe('changed');
    expect(outcome.output).toContain('class ReplicaWatcher(abc.ABC, BaseAgent):');
    expect(outcome.output).toContain('super().__init__(name=name, port=port, health_check_port=port + 1, **kwargs)');
    const again = previewBase(root, rel, 'ReplicaWatcher', profile, outcome.output).outcome;
    expect(again.output ?? outcome.output, 'the second run changes the rewrite').toBe(outcome.output);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    const unit = scan.units![0]!;
    expect([unit.name, unit.status, unit.members.map((m) => m.class)]).toEqual(['ReplicaWatcher', 'refused', ['PostgresReplicaWatcher', 'RedisReplicaWatcher']]);
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toEqual([`${rel}:70`]);
    expect(unit.blockers[0]!.reason).toContain('_accept_health() answered the legacy health probes and stays');
    expect(unit.blockers[0]!.reason).toContain('its only caller went with the removed health code (line 47');
  }, 60_000);

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

  // probe-py66: a home-made base that is an agent itself (its own module runs it under a __main__ guard) and
  // the base of a unit. run --all migrated it alone as well, writing the base file's _v2 in the unit's way: the
  // unit then failed "daemon_base_v2.py already exists and differs". The unit writes that _v2 (as `migrate run
  // DaemonBase` does), so --all leaves the base to it.
  it('run --all leaves a unit\'s base that runs itself to the unit: one commit, no agent result of its own', async () => {
    const root = fleet('home-made-daemon-base-unit-migrates');
    const file = path.join(root, 'agents/daemons/daemon_base.py');
    const text = readFileSync(file, 'utf8')
      .replace('import json\n', 'import json\nimport os\n')
      .replace('    def step(self):\n        raise NotImplementedError\n', '    def step(self):\n        self.log.debug("idle step")\n');
    writeFileSync(file, `${text}\n\nif __name__ == "__main__":\n    logging.basicConfig(level=logging.INFO)\n    DaemonBase("daemon-base", int(os.environ.get("DAEMON_PORT", "7610"))).run()\n`);
    commitAll(root, 'the base runs by itself too');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json'])).stdout);
    expect(scan.units![0]!.status).toBe('ready');
    const run = await cliInProcess(root, ['run', '--all', '--json']);
    const out = parsed('run', run.stdout);
    const unit = out.units![0]!;
    expect(unit.status, unit.error ?? '').toBe('migrated');
    expect(out.results.filter((r) => r.file === 'agents/daemons/daemon_base.py')).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 300_000);

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
