// The fault campaign's harness: real temporary repositories made from the demo fleet
// (+ `migrate init`, committed), the built CLI run with a tag in its environment so every
// process it causes (agents, their daemons, the watchdog) can be found in /proc, and the
// invariants every fault must leave behind.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { BIN, cli, cliInProcess, commitAll, ensureBuilt, git, gitRepo, listFiles, migrateCommits, REPO, sha256, type CliResult, type MigrateCommit } from '../helpers/cli.js';
import { freePort } from '../helpers/ask.js';

export { BIN, cli, commitAll, ensureBuilt, git, REPO, sha256 };
/** Every file under root (outside .git), relative, sorted. */
export const listTree = listFiles;
export const DEMO = path.join(REPO, 'fixtures', 'demo-fleet');
/** The demo agent every validating scenario uses: it passes validation on its own. */
export const AGENT = 'KVCacheAgent';
export const AGENT_FILE = 'agents/kv_cache_agent.py';
export const AGENT_V2 = 'agents/kv_cache_agent_v2.py';

const temps: string[] = [];
let template: string | undefined;

/**
 * The demo fleet in a fresh git repository with the reference base (`migrate init`) and a
 * repository profile `fast` (base-agent with a 3 s registry deadline, so a registry fault
 * fails in seconds), all committed; made once per test file, copied per test.
 */
export async function demoRepo(): Promise<string> {
  if (!template) {
    const t = gitRepo(DEMO, 'migrate-faults-template-');
    temps.push(t);
    // In process: a spawned CLI would cost every file using the fleet a Node start.
    const init = await cliInProcess(t, ['init', '--lang', 'python']);
    expect(init.exitCode, init.stderr).toBe(0);
    const profile = readFileSync(path.join(REPO, 'templates', 'profiles', 'base-agent.yaml'), 'utf8')
      .replace(/^name: .*$/m, 'name: fast')
      .replace(/registry_deadline_s: \d+/, 'registry_deadline_s: 3');
    execFileSync('mkdir', ['-p', path.join(t, '.migrate', 'profiles')]);
    writeFileSync(path.join(t, '.migrate', 'profiles', 'fast.yaml'), profile);
    commitAll(t, 'add the reference BaseAgent and a fast profile');
    template = t;
  }
  return copyRepo(template);
}

/** The demo repository with AGENT's _v2 written and validated (on main) by a --no-commit run: what `migrate commit` and `review` find after one. */
export async function validatedDemoRepo(): Promise<string> {
  const root = await demoRepo();
  const r = await run(root, ['run', AGENT, '--no-commit'], tag());
  expect(r.exitCode, r.stderr).toBe(0);
  return root;
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
}

/**
 * A copy of a repository a test file prepared once (work tree and .git, removed by cleanupAll),
 * for each test that needs it in that state: what the tool keeps under .git (journal, remembered
 * validations) names files by their place in the work tree, so the copy is in the same state.
 */
export function copyRepo(src: string): string {
  const root = tempDir('migrate-fault-');
  cpSync(src, root, { recursive: true });
  return root;
}

const tags: string[] = [];
const strays: number[] = [];

/** A new tag for one CLI run: every process it causes carries FAULT_TAG=<tag>. */
export function tag(): string {
  const t = randomBytes(6).toString('hex');
  tags.push(t);
  return t;
}

/** A process a test started itself, killed at the end whatever happens. */
export function stray(...pids: Array<number | undefined>): void {
  for (const p of pids) if (p) strays.push(p);
}

/** Remove every temporary repository and kill whatever a tag still names (afterAll of each file). */
export function cleanupAll(): void {
  for (const p of strays) kill(p);
  for (const t of tags) for (const p of tagged(t)) kill(p.pid);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
  // Forgotten too: a worker that runs the next file (isolate off) would copy the removed
  // template, and kill again pids that may since name other processes.
  strays.length = 0;
  tags.length = 0;
  temps.length = 0;
  template = undefined;
}

// A _v2 that never gets healthy: validation waits for it (15 s), so a fault injected once
// it runs always lands while it runs, however slow the machine.
export const NEVER_HEALTHY = `
import sys as _f_sys, time as _f_time
if _f_sys.argv[0].endswith("_v2.py"):
    _f_time.sleep(60)
`;

/** `migrate <args> --root <root>` with the tag in its environment (inherited by everything it starts). */
export async function run(root: string, args: string[], tag: string, env: Record<string, string> = {}, timeout = 120_000): Promise<CliResult> {
  return cli(root, args, { env: { FAULT_TAG: tag, ...env }, timeout });
}

/**
 * `run` inside this test process (test/helpers/cli.ts cliInProcess: the built CLI's main(),
 * the same code and result without a Node start and module loading per command), the tag in
 * the environment the command's own children (git, hooks) inherit. Only for commands that
 * start no agent: the tool's watchdog, started with the first agent, belongs to the process
 * and would carry the first such command's tag until the test file ends (expectIntact waits
 * for every tagged process to be gone). Tests about the tool's process itself (killed, hung,
 * its exit) keep `run`/`spawnRun`.
 */
export async function runInProcess(root: string, args: string[], tag: string, env: Record<string, string> = {}): Promise<CliResult> {
  return cliInProcess(root, args, { env: { FAULT_TAG: tag, ...env } });
}

/** The same in the background, for faults injected while it runs. */
export function spawnRun(root: string, args: string[], tag: string, env: Record<string, string> = {}): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  const child = execa('node', [BIN, ...args, '--root', root], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
    env: { FORCE_COLOR: '0', NO_COLOR: '1', FAULT_TAG: tag, ...env },
  }) as ResultPromise<{ reject: false; stdin: 'ignore' }>;
  setTimeout(() => child.kill('SIGKILL'), 110_000).unref();
  return child;
}

/** `migrate <args> --root <root>` under a file-size limit (`ulimit -f <blocks>`, as a quota or a CI sandbox sets), to its end. */
export function underFileSizeLimit(root: string, args: string[], blocks: number, env: Record<string, string> = {}) {
  return execa('sh', ['-c', `ulimit -f ${blocks} && exec "$@"`, 'sh', 'node', BIN, ...args, '--root', root], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
    env: { FORCE_COLOR: '0', NO_COLOR: '1', ...env },
  });
}

export interface Proc {
  pid: number;
  cmdline: string;
}

/**
 * Live (non-zombie) processes that `match` their pid, environment and NUL-separated command
 * line. `match` reads what it needs through the accessors: the tests poll this every few tens
 * of milliseconds while a run proceeds, and reading three files of every process on the
 * machine each time (stat, cmdline, environ) cost a third of a core beside the run under test.
 * A process is first matched, then checked for being a zombie (a zombie's environ and cmdline
 * read empty, so it matches nothing that needs them).
 */
export function liveProcs(match: (environ: () => Buffer, cmdline: () => string) => boolean): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) < 48 || d.charCodeAt(0) > 57) continue;
    try {
      let cmdline: string | undefined;
      const readCmdline = () => (cmdline ??= readFileSync(`/proc/${d}/cmdline`, 'utf8'));
      if (!match(() => readFileSync(`/proc/${d}/environ`), readCmdline)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({ pid: Number(d), cmdline: readCmdline().split('\0').join(' ').trim() });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Live processes whose environment carries FAULT_TAG=<tag>. */
export function tagged(tag: string): Proc[] {
  const needle = Buffer.from(`FAULT_TAG=${tag}\0`);
  return liveProcs((environ) => environ().includes(needle));
}

export function kill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/**
 * Poll until `check` holds (bounded): every 20 ms, or ten times as long as the check itself
 * took (at most 200 ms), so a check that reads all of /proc (tagged, v2Agents: a few ms, more
 * on a loaded machine) takes no more than a tenth of a core from the run it waits for, and a
 * cheap one (a file exists) still answers within 20 ms.
 */
export async function waitFor(check: () => boolean, what: string | (() => string), timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t0 = performance.now();
    if (check()) return;
    const took = performance.now() - t0;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(20, 10 * took))));
  }
}

/** Processes the tag names that are agents under validation (their command line names a _v2 file). */
export const v2Agents = (tag: string) => tagged(tag).filter((p) => /_v2\.py/.test(p.cmdline) && !/ migrate-launcher /.test(p.cmdline));
/** The subreaper launchers (src/validate/reaper.ts) the tag names: each the parent of one agent. */
export const launchers = (tag: string) => tagged(tag).filter((p) => / migrate-launcher /.test(p.cmdline));
export const watchdogs = (tag: string) => tagged(tag).filter((p) => /watchdog-main\.js/.test(p.cmdline));

export interface Baseline {
  head: string;
  /** sha256 of every file HEAD holds, as on disk before the fault. */
  files: Map<string, string>;
}

export function baseline(root: string, keep: (file: string) => boolean = () => true): Baseline {
  const files = new Map<string, string>();
  for (const f of git(root, ['ls-files', '-z']).split('\0').filter(Boolean)) if (keep(f)) files.set(f, sha256(path.join(root, f)));
  return { head: git(root, ['rev-parse', 'HEAD']), files };
}

export { migrateCommits, type MigrateCommit };

/**
 * What every fault must leave: originals byte-identical (every file HEAD held before, unless
 * a migration commit since changed it — none may), no leftover _v2, record or temporary file
 * outside a commit, a clean index and work tree, no index.lock, no run journal, each
 * migration commit holding exactly its agent's _v2 and record (one per agent), and no
 * process of the tagged runs alive — agents, their daemons and the watchdog included.
 */
export async function expectIntact(root: string, before: Baseline, tags: string[], opts: { journal?: boolean; ignored?: string[] } = {}): Promise<MigrateCommit[]> {
  const allowed = (f: string) => f.startsWith('state/') || (opts.ignored ?? []).includes(f);
  for (const [f, h] of before.files) {
    expect(existsSync(path.join(root, f)), `${f} must still exist`).toBe(true);
    expect(sha256(path.join(root, f)), `${f} must be byte-identical`).toBe(h);
  }
  const dirt = git(root, ['status', '--porcelain', '--ignored', '--untracked-files=all'])
    .split('\n')
    .filter((l) => l && !(l.startsWith('!! ') && allowed(l.slice(3))));
  expect(dirt, 'work tree and index must be clean').toEqual([]);
  const gitDir = path.join(root, '.git');
  expect(existsSync(path.join(gitDir, 'index.lock')), 'no stale index.lock').toBe(false);
  expect(readdirSync(gitDir).filter((f) => /^next-index-\d+\.lock$/.test(f)), 'no temporary index a killed git commit --only left').toEqual([]);
  expect(readdirSync(gitDir).filter((f) => f.startsWith('migrate-index-')), 'no private index of a commit left').toEqual([]);
  if (!opts.journal) expect(existsSync(path.join(gitDir, 'migrate-run.json')), 'no run journal left').toBe(false);
  expect(readdirSync(gitDir).filter((f) => f.startsWith('migrate-run.lock')), 'no run lock left').toEqual([]);
  const commits = migrateCommits(root, before.head);
  const agents = commits.map((c) => c.agent);
  expect(new Set(agents).size, `one commit per agent: ${agents.join(', ')}`).toBe(agents.length);
  for (const c of commits) {
    expect(c.files.length, `${c.agent}'s commit`).toBe(2);
    expect(c.files.filter((f) => /_v2\.py$/.test(f)).length, `${c.agent}'s commit holds its _v2`).toBe(1);
    expect(c.files, `${c.agent}'s commit holds its record`).toContain(`migration-log/${c.agent}.json`);
  }
  for (const f of git(root, ['ls-files', '--others', '--ignored', '--exclude-standard']).split('\n').filter(Boolean)) {
    expect(allowed(f), `leftover ${f}`).toBe(true);
  }
  // The watchdog ends right after the tool; give it a moment to notice.
  for (const tag of tags) await waitFor(() => tagged(tag).length === 0, `no process of run ${tag} (${tagged(tag).map((p) => p.cmdline).join('; ')})`, 10_000);
  return commits;
}

export interface RunJson {
  results: Array<{
    agent: string;
    file: string;
    output: string | null;
    status: string;
    commit: string | null;
    error: string | null;
    validation: { ok: boolean; error?: string; checks: Array<{ name: string; ok: boolean; detail: string }> } | null;
  }>;
  summary: Record<string, number>;
}

export function parseRun(r: CliResult): RunJson {
  try {
    return JSON.parse(r.stdout) as RunJson;
  } catch {
    throw new Error(`not JSON (exit ${r.exitCode}): ${r.stdout.slice(0, 500)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
}

export function resultOf(out: RunJson, agent: string) {
  const r = out.results.find((x) => x.agent === agent);
  if (!r) throw new Error(`no result for ${agent}: ${JSON.stringify(out.results.map((x) => x.agent))}`);
  return r;
}

/** Append Python to the fleet's shared helper module (imported by every agent, legacy and _v2) and commit it. */
export function patchFleetCommon(root: string, code: string, message = 'fault injection'): void {
  const f = path.join(root, 'agents', 'fleet_common.py');
  writeFileSync(f, `${readFileSync(f, 'utf8')}\n${code.trim()}\n`);
  commitAll(root, message);
}

/** Undo patchFleetCommon with a new commit (the fault is over; the rerun must now recover). */
export function unpatchFleetCommon(root: string): void {
  writeFileSync(path.join(root, 'agents', 'fleet_common.py'), readFileSync(path.join(DEMO, 'agents', 'fleet_common.py')));
  commitAll(root, 'fault removed');
}

/** A redis-server on a free port (args appended), or null when the machine has none. */
export const REDIS = '/usr/bin/redis-server';
export const hasRedis = existsSync(REDIS);
if (!hasRedis && process.env.CI) throw new Error(`the fault tests need ${REDIS} (CI installs redis-server)`);

export interface Redis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A real redis-server on a free loopback port (extra args e.g. ['--requirepass', 'x']). */
export async function startRedis(extra: string[] = []): Promise<Redis> {
  const port = await freePort();
  const child = execa(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { reject: false, stdin: 'ignore' });
  const net = await import('node:net');
  let probed = false;
  const end = Date.now() + 10_000;
  while (!probed && Date.now() < end) {
    probed = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (!probed) await new Promise((r) => setTimeout(r, 50));
  }
  if (!probed) throw new Error(`redis-server did not start: ${String((await child).stderr)}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill('SIGKILL');
      await child;
    },
  };
}

// A port claimed below the ephemeral range, bound later by redis-server or a fleet's agent (see there).
export { freePort };

/** redis-cli-like: run commands against a redis URL (node redis client). */
export async function redisDo(url: string, fn: (c: import('redis').RedisClientType) => Promise<unknown>): Promise<void> {
  const { createClient } = await import('redis');
  const c = createClient({ url }) as import('redis').RedisClientType;
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.disconnect();
  }
}

/** A pre-commit hook that touches a marker and then waits (a slow hook, a signing prompt); returns the marker. */
export function slowHook(root: string): string {
  const marker = path.join(root, '.git', 'hook-started');
  const hook = path.join(root, '.git', 'hooks', 'pre-commit');
  writeFileSync(hook, `#!/bin/sh\ntouch "${marker}"\nsleep 20\n`);
  chmodSync(hook, 0o755);
  return marker;
}

/**
 * `migrate <args>` in its own process group, as a shell runs a foreground job (a signal to the
 * group reaches git and its hook too), left running once the slowHook's marker appears.
 */
export async function untilHook(root: string, marker: string, args: string[]) {
  const child = execa('node', [BIN, ...args, '--root', root], { cwd: root, reject: false, detached: true, stdin: 'ignore', env: { FORCE_COLOR: '0', NO_COLOR: '1' } });
  stray(child.pid);
  await waitFor(() => existsSync(marker) || child.exitCode !== null, 'the pre-commit hook', 60_000);
  expect(child.exitCode, `${args[0]} ended before its hook ran`).toBeNull();
  // Wrapped: the process is a thenable, and returning it would wait for its end.
  return { child };
}
