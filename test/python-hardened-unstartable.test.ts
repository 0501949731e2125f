// An agent the tool knows it cannot finish ends needs-review with nothing written. The
// crontab-timer-chain-start fixture keeps start() (its own threading.Timer chain) and the entry
// point never calls run_forever(): HardenedAgentBase would start nothing (no /health, no
// registration, no collect_data() loop), so a _v2 could only fail validation. DESIGN.md: needs-review
// is "something kept could change the agent's behaviour", and a run never leaves a half-done state.
// Before: the _v2 was written (and, without validation, committed as needs-review; with validation it
// failed on health and the agent was reported `failed`). Now: needs-review naming start() with its line,
// output null, no _v2 on disk, no commit.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { runCommand } from '../src/commands/run.js';
import { captureStdout, cases, materialize, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

const git = (root: string, ...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });

function committedRepo(name: string): { root: string; rel: string } {
  const c = cases.find((k) => k.name === name)!;
  const root = materialize(c);
  git(root, 'init', '-q');
  git(root, '-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A');
  git(root, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fleet');
  return { root, rel: c.rel };
}

it('an agent whose kept loop keeps the base from starting ends needs-review, nothing written or committed', async () => {
  const { root, rel } = committedRepo('crontab-timer-chain-start');
  const head = git(root, 'rev-parse', 'HEAD');
  const ran = await captureStdout(() => runCommand([rel], { root, profile: 'hardened-agent-base', validate: false, commit: true, runInBand: true, json: true }));
  const r = JSON.parse(ran.out).results[0];
  expect(r.status, ran.out).toBe('needs-review');
  expect(r.output).toBeNull();
  expect(r.commit).toBeNull();
  expect(r.kept_for_review.map((k: { symbol: string }) => k.symbol)).toContain('CrontabAgent.start');
  expect(r.warnings.join('\n')).toMatch(/no _v2 written: CrontabAgent\.start \(line \d+\) is kept for review/);
  expect(existsSync(path.join(root, rel.replace(/\.py$/, '_v2.py')))).toBe(false);
  expect(existsSync(path.join(root, 'migration-log'))).toBe(false);
  expect(git(root, 'rev-parse', 'HEAD')).toBe(head);
  expect(git(root, 'status', '--porcelain')).toBe('');
  expect(ran.code).toBe(0);
});

it('a --dry-run still shows the rewrite so far', async () => {
  const { root, rel } = committedRepo('crontab-timer-chain-start');
  const ran = await captureStdout(() => runCommand([rel], { root, profile: 'hardened-agent-base', validate: false, dryRun: true, runInBand: true, json: false }));
  expect(ran.out).toContain('class CrontabAgent(HardenedAgentBase):');
  expect(readFileSync(path.join(root, rel), 'utf8')).not.toContain('HardenedAgentBase');
});

// ports-kept-publish-own-queue-subclass: the publish stays for a subclass in another file and keeps what
// the bus refuses in the agent's own queue; handed to the base as it stands, the base would queue nothing
// and the legacy drain's call goes with collect(). The rewrite refuses its own output before verify (its
// half-wired collect_data() would otherwise fail verify or, written, the bus-down check of validation).
// Before: the _v2 was written and validation failed on the bus-down check, naming no subclass.
it('a kept publish with its own queue fallback ends needs-review naming the subclass, nothing written', async () => {
  const { root, rel } = committedRepo('ports-kept-publish-own-queue-subclass');
  const head = git(root, 'rev-parse', 'HEAD');
  const ran = await captureStdout(() => runCommand([rel], { root, profile: 'hardened-agent-base', validate: false, commit: true, runInBand: true, json: true }));
  const r = JSON.parse(ran.out).results[0];
  expect(r.status, ran.out).toBe('needs-review');
  expect(r.output).toBeNull();
  expect(r.error ?? null).toBeNull();
  const item = r.kept_for_review.find((k: { symbol: string }) => k.symbol === '_publish_telemetry');
  expect(item?.line).toBe(60);
  expect(item?.reason).toContain('amoskys/agents/ports/container_port_agent.py:49');
  expect(r.warnings.join('\n')).toContain('no _v2 written: _publish_telemetry (line 60) is kept for review and _publish_telemetry() kept as the base\'s publisher would hide every refused event');
  expect(existsSync(path.join(root, rel.replace(/\.py$/, '_v2.py')))).toBe(false);
  expect(git(root, 'rev-parse', 'HEAD')).toBe(head);
  expect(ran.code).toBe(0);
});

// sudo-no-guard-failure-exit-kept: a module with no __main__ guard (a launcher in another file calls run())
// whose run() is kept for review (it exits 3 after consecutive failed cycles). A guard added by the migration
// calling run_forever() would start the base with none of the kept cycle, and validation would prove an
// agent that does nothing. Before: that guard was written, validation passed on it ("collected no events ...
// nothing to publish in this environment"), and the _v2 was committed.
it('a module without a guard whose run() is kept ends needs-review, no guard added, nothing written', async () => {
  const { root, rel } = committedRepo('sudo-no-guard-failure-exit-kept');
  const head = git(root, 'rev-parse', 'HEAD');
  const ran = await captureStdout(() => runCommand([rel], { root, profile: 'hardened-agent-base', validate: false, commit: true, runInBand: true, json: true }));
  const r = JSON.parse(ran.out).results[0];
  expect(r.status, ran.out).toBe('needs-review');
  expect(r.output).toBeNull();
  expect(r.warnings.join('\n')).toContain('no _v2 written: run (line 125) is kept for review and the file has no __main__ guard: one calling run_forever() would start HardenedAgentBase without the cycle run() keeps');
  expect(existsSync(path.join(root, rel.replace(/\.py$/, '_v2.py')))).toBe(false);
  expect(git(root, 'rev-parse', 'HEAD')).toBe(head);
  expect(ran.code).toBe(0);
});
