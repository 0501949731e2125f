// Driving the built CLI (`node bin/migrate.js`) the way a user does, on real temporary
// repositories. dist/ is rebuilt once per test run when it is missing or older than src/,
// under a lock so parallel test files do not run tsc over each other.
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { execa, execaSync, type ResultPromise } from 'execa';
import { afterAll, afterEach } from 'vitest';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(REPO, 'bin', 'migrate.js');
const CLI_JS = path.join(REPO, 'dist', 'src', 'cli.js');
const LOCK = path.join(REPO, 'dist', '.build-lock');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale(): boolean {
  // transforms/ is compiled into dist/ too.
  const sources = Math.max(newest(path.join(REPO, 'src')), newest(path.join(REPO, 'transforms')));
  return !existsSync(CLI_JS) || statSync(CLI_JS).mtimeMs < sources;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Build dist/ if it is missing or older than src/ or transforms/ (once, whoever gets the lock). */
export function ensureBuilt(): void {
  if (!stale()) return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Someone else is building; a lock older than 3 minutes is a dead builder's.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`build lock ${LOCK} held for too long`);
      sleepSync(200);
    }
  }
  try {
    if (stale()) {
      execaSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, reject: false });
      // As `npm run build`: the schema validators precompiled for the CLI (src/core/precompiled.ts).
      execaSync('node', ['scripts/build-validators.mjs'], { cwd: REPO, reject: false });
    }
    if (!existsSync(CLI_JS)) throw new Error('npm run build produced no dist/src/cli.js');
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * A module of the built tool (`dist/src/<rel>`, e.g. 'validate/ports.js'), loaded natively as the
 * in-process CLI is (vitest.config.ts keeps dist/ out of its transform): one instance per test
 * file, shared with cliInProcess's. For tests that call the product's functions directly but need
 * nothing of the sources themselves: from src/ each such file paid vitest's transform and
 * evaluation of every module the function reaches (the validate path: ~3 CPU-s a file, against
 * ~0.5-1 from dist/). Type it with `typeof import('../src/<rel>')`.
 */
export async function importBuilt<T>(rel: string): Promise<T> {
  ensureBuilt();
  return (await import(pathToFileURL(path.join(REPO, 'dist', 'src', rel)).href)) as T;
}

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `migrate <args> --root <root>` with cwd = root, `input` (else nothing) on its stdin; never throws on a non-zero exit. */
export async function cli(root: string, args: string[], opts: { timeout?: number; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args, '--root', root], {
    cwd: root,
    reject: false,
    timeout: opts.timeout ?? 120_000,
    env: { ...opts.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** `migrate <args>` run from `cwd` as a user types it: no --root added, so the command finds its own root. */
export async function cliIn(cwd: string, args: string[], opts: { timeout?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    timeout: opts.timeout ?? 120_000,
    env: { FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env },
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * `migrate <args> --root <root>` as `cli` runs it, but inside this test process: the built
 * CLI's main() (dist/src/cli.js, loaded natively once per test file) with cwd = root, the
 * same environment and captured streams, the exit code it returns. The same result as the
 * spawned CLI (test/cli-in-process.test.ts compares them on a real repository) without a
 * Node start and its module loading per command (~0.5-0.7 CPU-s each). For tests about the
 * command's output and effects; tests about the process itself (signals, exit under faults,
 * terminals, a terminal's stdin, timeouts, the launcher) keep `cli`. Standard input is `input`
 * (review's answers, as execa's `input` gives the spawned CLI), else empty, as the spawned CLI's
 * ignored stdin reads. Calls run one at a time; `timeout` is accepted for the same call sites and
 * not enforced (the test's own timeout bounds the call).
 */
export async function cliInProcess(root: string, args: string[], opts: { env?: Record<string, string>; timeout?: number; input?: string } = {}): Promise<CliResult> {
  return inProcess(root, [...args, '--root', root], { ...process.env, ...opts.env, FORCE_COLOR: '0', NO_COLOR: '1' }, opts.input);
}

/** `cliIn` inside this test process: no --root added, the command finds its own root from `cwd`. */
export async function cliInProcessIn(cwd: string, args: string[], opts: { env?: Record<string, string>; timeout?: number; input?: string } = {}): Promise<CliResult> {
  return inProcess(cwd, args, { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env }, opts.input);
}

/**
 * `cliInProcessIn` with exactly `env` as the command's environment, nothing of the test's own
 * added (as execa's `extendEnv: false` gives the spawned CLI): for what the environment alone
 * decides (colour from FORCE_COLOR / NO_COLOR).
 */
export async function cliInProcessInEnvOnly(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return inProcess(cwd, args, { ...env });
}

type Main = (argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream }) => Promise<number>;
let mainOfCli: Promise<Main> | undefined;
let inProcessQueue: Promise<unknown> = Promise.resolve();
const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'] as const;

/** A stream that keeps what is written (not a terminal, as a pipe to the spawned CLI is not). */
export function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** execa's stripFinalNewline, so results compare with the spawned CLI's. */
function stripFinalNewline(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

function inProcess(cwd: string, argv: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    mainOfCli ??= import(pathToFileURL(CLI_JS).href).then((m: { main: Main }) => m.main);
    const main = await mainOfCli;
    const before = new Map(PROCESS_EVENTS.map((e) => [e, process.listeners(e)]));
    const exitCodeBefore = process.exitCode;
    const out = capture();
    const err = capture();
    const stdin = Readable.from(input ? [input] : []) as unknown as NodeJS.ReadStream;
    const exitCode = await main(argv, { cwd, env, stdout: out.stream, stderr: err.stream, stdin });
    // A command leaves no handler on the process and sets no exit code of its own: in the
    // tool's own process it would end and hide such a leak; here it would reach the next test.
    const left: string[] = [];
    for (const e of PROCESS_EVENTS) {
      for (const l of process.listeners(e)) {
        if (before.get(e)!.includes(l)) continue;
        process.off(e, l as () => void);
        left.push(e);
      }
    }
    const exitCodeAfter = process.exitCode;
    process.exitCode = exitCodeBefore;
    if (left.length) throw new Error(`migrate ${argv.join(' ')} left process handlers behind: ${left.join(', ')}`);
    if (exitCodeAfter !== exitCodeBefore) throw new Error(`migrate ${argv.join(' ')} set process.exitCode (${exitCodeAfter}) instead of returning its code`);
    return { exitCode, stdout: stripFinalNewline(out.text()), stderr: stripFinalNewline(err.text()) };
  };
  const result = inProcessQueue.then(run, run);
  inProcessQueue = result.catch(() => undefined);
  return result;
}

/** The same, started in the background (for interruption tests); the caller waits or kills it. */
export function spawnCli(root: string, args: string[]): ResultPromise<{ reject: false; stdin: 'ignore' }> {
  return execa('node', [BIN, ...args, '--root', root], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
    env: { FORCE_COLOR: '0', NO_COLOR: '1' },
  }) as ResultPromise<{ reject: false; stdin: 'ignore' }>;
}

export function git(root: string, args: string[]): string {
  return execaSync('git', args, { cwd: root }).stdout;
}

/** A git repository holding a copy of `src` (or empty), all committed on `main`. */
export function gitRepo(src?: string, prefix = 'migrate-cli-'): string {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (src) cpSync(src, root, { recursive: true, filter: (p) => !p.includes('__pycache__') });
  initGit(root);
  return root;
}

/**
 * Temporary folders a test file makes (push them): after each test no agent started under
 * them keeps running, and after the file they are removed.
 */
export function tempDirsOfThisFile(): string[] {
  const temps: string[] = [];
  afterEach(() => {
    killAgentProcessesUnder(temps);
  });
  afterAll(() => {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });
  return temps;
}

export const DEMO_FLEET = path.join(REPO, 'fixtures', 'demo-fleet');
/** The demo fleet's agents, by class name, sorted. */
export const DEMO_AGENTS = [
  'ConfigWatcherAgent',
  'DedupFilterAgent',
  'FeatureFlagAgent',
  'FleetHealthMonitor',
  'JobSchedulerAgent',
  'KVCacheAgent',
  'MetricsRollupAgent',
  'RateLimiterAgent',
  'ReminderAgent',
  'SessionTrackerAgent',
  'TaskQueueAgent',
  'TextStatsAgent',
  'TranslationMemoryAgent',
];

/**
 * A maker of demo-fleet repositories: the fleet in a git repository with the reference
 * BaseAgent (`migrate init`) committed, made once, then copied with its .git per call.
 * Every folder made goes into `temps` for the caller to remove.
 */
export function demoFleetRepos(temps: string[], prefix: string): () => Promise<string> {
  let template: string | undefined;
  return async () => {
    if (!template) {
      const t = gitRepo(DEMO_FLEET, `${prefix}template-`);
      temps.push(t);
      // In process (test/cli-in-process.test.ts): a spawned CLI would cost each file that uses the fleet a Node start.
      const init = await cliInProcess(t, ['init', '--lang', 'python']);
      if (init.exitCode !== 0) throw new Error(`migrate init failed: ${init.stderr}`);
      commitAll(t, 'add the reference BaseAgent');
      template = t;
    }
    const root = mkdtempSync(path.join(os.tmpdir(), prefix));
    temps.push(root);
    cpSync(template, root, { recursive: true });
    return root;
  };
}

export interface MigrateCommit {
  sha: string;
  subject: string;
  agent: string;
  profile: string;
  files: string[];
}

/**
 * Commits carrying a Migrate-Agent trailer reachable from HEAD but not from `since`, oldest
 * first, each with the files it changed (sorted): one `git log --name-only` for all of them,
 * not a `git show` per commit (the tests ask this after every interrupted or finished run).
 */
export function migrateCommits(root: string, since: string): MigrateCommit[] {
  const log = git(root, ['log', '--reverse', '--name-only', '--format=%x1e%H%x1f%s%x1f%(trailers:key=Migrate-Agent,valueonly,separator=)%x1f%(trailers:key=Migrate-Profile,valueonly,separator=)%x1f', `${since}..HEAD`]);
  return log
    .split('\x1e')
    .filter((s) => s.trim())
    .map((entry) => {
      const [sha, subject, agent, profile, names] = entry.split('\x1f') as [string, string, string, string, string];
      return { sha: sha.trim(), subject, agent: agent.trim(), profile: profile.trim(), files: names.split('\n').filter(Boolean).sort() };
    })
    .filter((c) => c.agent);
}

export function initGit(root: string): void {
  git(root, ['init', '-q', '-b', 'main']);
  // The tests' identity, and no signing, written into the new repository's config at once: a
  // `git config` each was three forks of this (large) test process per repository.
  appendFileSync(path.join(root, '.git', 'config'), '[user]\n\temail = cli-test@example.invalid\n\tname = cli test\n[commit]\n\tgpgsign = false\n');
  commitAll(root, 'legacy fleet');
}

/**
 * Two real agents the engine leaves items for review on (the demo fleet migrates hands-off):
 * InventoryAgent (fixtures/python/outside-callers: a test calls a method the base makes it rename;
 * it runs on the reference base and validates) and WebScraperAgent (fixtures/python/decorator-and-async:
 * a decorator reaching the agent; rewrite only, it imports aiohttp).
 */
export function addNeedsReviewAgents(root: string): void {
  const fx = path.join(REPO, 'fixtures', 'python');
  cpSync(path.join(fx, 'outside-callers', 'input.py'), path.join(root, 'agents', 'inventory_agent.py'));
  cpSync(path.join(fx, 'outside-callers', 'repo'), root, { recursive: true });
  cpSync(path.join(fx, 'decorator-and-async', 'input.py'), path.join(root, 'agents', 'web_scraper_agent.py'));
}

/**
 * `git add -A` then `git commit` of everything, the two started by one shell: a process started
 * from this test process costs in proportion to its memory (hundreds of MB once the tool's
 * modules and a run's data are loaded), one started from the shell costs a shell's.
 */
export function commitAll(root: string, message: string): void {
  execaSync('sh', ['-c', 'git add -A && git commit -q --allow-empty -m "$1"', 'sh', message], { cwd: root });
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under root (outside .git), relative, sorted. */
export function listFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.name === '.git') continue;
    if (e.isDirectory()) out.push(...listFiles(root, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** sha256 of every file under root (outside .git). */
export function hashTree(root: string): Map<string, string> {
  return new Map(listFiles(root).map((f) => [f, sha256(path.join(root, f))]));
}

/** Live python processes started for this repository (legacy or `_v2` agents): their
 *  command line names a file under root, or they run with root as working directory. Several
 *  roots: the processes of any of them, found in one look at /proc. */
export function agentProcessesUnder(root: string | string[]): Array<{ pid: number; cmdline: string }> {
  const roots = typeof root === 'string' ? [root] : root;
  const found: Array<{ pid: number; cmdline: string }> = [];
  if (!roots.length) return found;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmdline: string;
    let cwd = '';
    try {
      cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      // Only python processes are asked for their directory (tests poll this while a run proceeds).
      if (!/python/.test(cmdline)) continue;
      cwd = readlinkSync(`/proc/${d}/cwd`);
    } catch {
      continue; // exited meanwhile, or not ours to look at
    }
    if (roots.some((r) => cmdline.includes(r) || cwd === r || cwd.startsWith(`${r}/`))) found.push({ pid: Number(d), cmdline });
  }
  return found;
}

/** Kill (SIGKILL) any such process, so a failing test leaves nothing running. */
export function killAgentProcessesUnder(root: string | string[]): void {
  for (const p of agentProcessesUnder(root)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Poll `check` until it is true or the deadline passes: every `everyMs`, or ten times as long
 * as the check itself took (at most 200 ms), so a check that reads all of /proc
 * (agentProcessesUnder: a few ms, more on a loaded machine) takes no more than a tenth of a
 * core from the run it waits for, and a cheap one (a file's content) keeps its pace.
 */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t0 = performance.now();
    if (check()) return;
    const took = performance.now() - t0;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(everyMs, 10 * took))));
  }
}
