// The seed-001 fixture corpus (fixtures/python-hardened/) as the tests load it: each case in a
// fresh temporary repository with the reference HardenedAgentBase (templates/runtime/python/amoskys)
// where the profile imports it from, and Phase 5 (the migrated fixture validated for real).
// Shared by test/python-hardened.test.ts (the rewrites, byte for byte) and the Phase 5 files
// test/python-hardened-runtime-*.test.ts, which take a part of the cases each so that the
// forks of the suite end together (Phase 5 mostly waits on agents' windows).
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi, type ExpectStatic } from 'vitest';
import type { RewriteOutcome } from '../../src/core/types.js';
import { writeCaseFiles } from './python-fixtures.js';
import { capture, importBuilt, REPO } from './cli.js';
import { literalPorts, portTurns } from './literal-ports.js';
import { exitedWithOutput } from './exited.js';

/**
 * Phase 5 cases validated at once in a test file. Three: 2 cores shared with the suite's other
 * forks; each case's agents mostly sleep between cycles.
 */
const PHASE5_AT_ONCE = 3;

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/python-hardened');
/** The reference HardenedAgentBase (templates/runtime/python/amoskys: the profile's templatesDir() of this repository). */
export const RUNTIME_BASE = path.join(REPO, 'templates', 'runtime', 'python', 'amoskys');
export const SUPPORT = path.join(FIXTURES, '_support');
export const update = process.env.UPDATE_FIXTURES === '1';
/** Temporary repositories of this test file (each file runs in its own process): removed by removeRoots(). */
export const roots: string[] = [];

export interface Spec {
  description?: string;
  path?: string;
  scan?: { status: 'legacy' | 'migrated'; class?: string };
  /** Rewrite even though the scan calls it migrated (an agent on an older base of the same name). */
  rewrite_migrated?: boolean;
  expect?: {
    removed?: string[];
    kept?: string[];
    /** Symbols that must be reported; an empty list means nothing may be reported. */
    kept_for_review?: string[];
    output_contains?: string[];
    output_lacks?: string[];
    warnings_contain?: string[];
    /** Text no warning may contain (a reason that would be untrue of this code). */
    warnings_absent?: string[];
    error_contains?: string;
    error_line?: number;
    /** The scan finds the agent but `migrate run` refuses its rewrite (the rewrite or its verify step; nothing written): text of the refusal. */
    rewrite_error_contains?: string;
    /** Symbols that must not be reported (defined by the class itself, say). */
    not_for_review?: string[];
    /** Text every kept_for_review reason together must contain (the line of a business decision). */
    review_reason_contains?: string[];
    /** Text no review reason may hold (a blocker the engine resolves now must not be named). */
    review_reason_lacks?: string[];
  };
  /** How the migrated fixture runs for the Phase 5 checks. */
  runtime?: {
    /** Environment for the agent; {root} is the temporary repository. */
    env?: Record<string, string>;
    /** Files written into the repository first (relative path -> text). */
    files?: Record<string, string>;
    /** Dummy ca.crt/agent.crt/agent.key under {root}/certs (the agent's channel reads them). */
    certs?: boolean;
    /** A file appended to every 300 ms while the agent runs (a change for it to report). */
    touch?: string;
    /** The line appended to `touch` ({now} is the time in ms); default `changed {now}`. */
    touch_line?: string;
    /** A short-lived process started every 300 ms while the agent runs (a change for an agent that reports new processes). */
    spawn?: boolean;
    /** After the run: file (relative) -> text it must contain. */
    afterwards?: Record<string, string>;
    /** After the run: file (relative) -> a regular expression its text must match (what holds whatever the timing). */
    afterwards_match?: Record<string, string>;
  };
}

export interface Case {
  name: string;
  dir: string;
  spec: Spec;
  rel: string;
  expectedFile: string;
}

export const cases: Case[] = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(path.join(FIXTURES, d.name, 'input.py')))
  .map((d) => {
    const dir = path.join(FIXTURES, d.name);
    const spec: Spec = YAML.parse(readFileSync(path.join(dir, 'case.yaml'), 'utf8')) ?? {};
    return { name: d.name, dir, spec, rel: spec.path ?? `agents/${d.name.replace(/-/g, '_')}.py`, expectedFile: path.join(dir, 'expected.py') };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/** A fresh repository: the reference HardenedAgentBase where the profile imports it from, the case's extra files, its input. */
export function materialize(c: Case): string {
  const root = mkdtempSync(path.join(os.tmpdir(), `migrate-hx-${c.name}-`));
  roots.push(root);
  cpSync(RUNTIME_BASE, path.join(root, 'amoskys'), { recursive: true });
  // Loopback stand-ins for grpc, psutil, the generated protobuf modules and the sqlite queue.
  cpSync(SUPPORT, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  writeCaseFiles(c.dir, root, c.rel);
  return root;
}

/**
 * The built tool's validate (dist/, loaded natively once per test file), as `migrate validate`
 * runs it: Phase 5 and the tests validating a migrated fixture go through it, its invocation and
 * its live agent trees together (one module instance). From the sources, each file importing this
 * helper paid vitest's transform of the whole validate path (about 3 CPU-s of a file's ~6 before
 * its first test); each validation itself costs the same from either (measured 2026-12-07:
 * 6 validations 3.5 CPU-s in the test process from src/, 3.8 from dist/, 3.5 outside vitest).
 */
type Built = {
  validate: typeof import('../../src/commands/validate.js');
  invocation: typeof import('../../src/core/invocation.js');
  groups: typeof import('../../src/validate/process-group.js');
};
let built: Promise<Built> | undefined;
export function builtValidate(): Promise<Built> {
  built ??= (async () => {
    const [validate, invocation, groups] = await Promise.all([
      importBuilt<Built['validate']>('commands/validate.js'),
      importBuilt<Built['invocation']>('core/invocation.js'),
      importBuilt<Built['groups']>('validate/process-group.js'),
    ]);
    return { validate, invocation, groups };
  })();
  return built;
}

/** Run a command function, returning what it printed on stdout and its exit code. */
export async function captureStdout(fn: () => Promise<number>): Promise<{ out: string; code: number }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await fn();
    return { out, code };
  } finally {
    process.stdout.write = write;
  }
}

/** Remove this file's temporary repositories (its afterAll). */
export function removeRoots(): void {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
}

/**
 * The fixtures that end `migrated` (test/python-hardened.test.ts proves that exactly these have a
 * runtime section: the CLI's own rewrite, byte-equal to expected.py, no review item, startable, its
 * verify step passing): each gets a Phase 5 test.
 */
export const runtimeCases = cases.filter((k) => k.spec.runtime);

/**
 * `migrate run` would call this rewrite `migrated` (batch.ts): changed, nothing kept for review,
 * nothing that keeps the base from starting; the verify step passing is checked for the suite at once.
 */
export function endsMigrated(o: RewriteOutcome): boolean {
  return o.status === 'changed' && o.kept_for_review.length === 0 && !o.unstartable;
}

/**
 * A fixture's repository with its migrated agent as `migrate run` writes it: expected.py as the
 * _v2, which test/python-hardened.test.ts proves is the CLI's rewrite byte for byte (the rewrite
 * pool's own rewriteOne and its verify step) and ends migrated. Phase 5 and the run-time tests
 * start from here instead of rewriting the fixture again (about 0.2-0.3 CPU-s per case: scan,
 * rewrite, a python3 compile).
 */
export function migratedRepo(c: Case): { root: string; v2: string } {
  const root = materialize(c);
  const v2 = c.rel.replace(/\.py$/, '_v2.py');
  writeFileSync(path.join(root, v2), readFileSync(c.expectedFile));
  return { root, v2 };
}

/** Part `part` (1-based) of `parts` of runtimeCases, every parts-th case: the parts together are all of them, once. */
export function runtimePart(part: number, parts: number): Case[] {
  return runtimeCases.filter((_, i) => i % parts === part - 1);
}

/**
 * A named fixture migrated in its own temporary repository (migratedRepo: the CLI's output, which
 * test/python-hardened.test.ts checks ends migrated): the start of each run-time test of one fixture.
 */
export async function migratedCase(name: string): Promise<{ c: Case; root: string; v2: string }> {
  const c = cases.find((k) => k.name === name)!;
  expect(c, name).toBeDefined();
  // Ends migrated with exactly expected.py: test/python-hardened.test.ts (it has a runtime section).
  expect(c.spec.runtime, `${name} must end migrated (a runtime section)`).toBeDefined();
  return { c, ...migratedRepo(c) };
}

/**
 * Seed 001's Phase 5 for a fixture that ends `migrated`: its _v2 as `migrate run` writes it
 * (migratedRepo), then `migrate validate` runs it with the reference HardenedAgentBase against the fake EventBus
 * on loopback: health, registry, metrics, events reach the bus, bus down -> queued locally,
 * bus back -> the queue drains, SIGTERM ends it cleanly, no new ERROR lines. Cases run side by
 * side (describePhase5): `expect` is the test's own, each case has its repository, environment,
 * output streams, ports and EventBus (validateMigrated).
 */
export async function phase5(c: Case, expect: ExpectStatic): Promise<void> {
  const { root } = migratedRepo(c);
  const { report, code, err } = await validateMigrated(c, root);
  const at = (v: string) => v.replaceAll('{root}', root);
  const rt = c.spec.runtime!;
  expect(report.output, err).toBe(c.rel.replace(/\.py$/, '_v2.py'));
  expect(report.validation.checks.map((k: { name: string; ok: boolean }) => `${k.name}:${k.ok}`), JSON.stringify(report.validation.checks)).toEqual([
    'health:true', 'registry:true', 'metrics:true', 'eventbus:true', 'shutdown:true', 'deregister:true', 'log:true',
  ]);
  expect(report.validation.checks.some((k: { skipped?: boolean }) => k.skipped)).toBe(false);
  // Deregistered by the base on SIGTERM: the agent the registry check saw register is the one the
  // embedded registry no longer holds once it exited (test/validate-deregister.test.ts breaks it).
  const detail = (name: string) => report.validation.checks.find((k) => k.name === name)?.detail ?? '';
  const registered = /^(\S+) registered in the embedded registry after /.exec(detail('registry'))?.[1];
  expect(registered, detail('registry')).toBeDefined();
  expect(detail('deregister').startsWith(`${registered} deregistered on SIGTERM: the embedded registry no longer holds it after it exited`), detail('deregister')).toBe(true);
  expect(code, err).toBe(0);
  for (const [rel, needle] of Object.entries(rt.afterwards ?? {})) expect(readFileSync(path.join(root, rel), 'utf8')).toContain(at(needle));
  for (const [rel, re] of Object.entries(rt.afterwards_match ?? {})) expect(readFileSync(path.join(root, rel), 'utf8')).toMatch(new RegExp(at(re)));
}

/**
 * `migrate validate --json` on a migrated fixture's _v2 in `root`, in the environment its case.yaml's
 * runtime section gives (files, certs, a log line appended while it runs, ...): the agent's report,
 * and what the command wrote on stderr. The case's environment goes to the command (its agents,
 * the EventBus log), never into process.env, and its output into streams of its own: several cases
 * validate at once in one process.
 */
export async function validateMigrated(c: Case, root: string): Promise<{ report: ValidatedAgent; code: number; err: string }> {
  const rt = c.spec.runtime!;
  const at = (v: string) => v.replaceAll('{root}', root);
  for (const [rel, text] of Object.entries(rt.files ?? {})) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  if (rt.certs) {
    mkdirSync(path.join(root, 'certs'), { recursive: true });
    for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
  }
  const env = { ...process.env, ...Object.fromEntries(Object.entries(rt.env ?? {}).map(([k, v]) => [k, at(String(v))])) };
  // An agent that reports changes only (FIM) gets one to report while it runs.
  const touchLine = () => (rt.touch_line ?? 'changed {now}').replaceAll('{now}', String(Date.now())) + '\n';
  const touch = rt.touch ? setInterval(() => appendFileSync(at(rt.touch!), touchLine()), 300) : undefined;
  // On a quiet machine no process may start in the bus-down window: the agent would have nothing to queue.
  const spawner = rt.spawn ? setInterval(() => spawn('sleep', ['0.2'], { stdio: 'ignore' }).on('error', () => undefined), 300) : undefined;
  const [out, err] = [capture(), capture()];
  const { validate: { validateCommand }, invocation: { withInvocation } } = await builtValidate();
  let code: number;
  try {
    code = await withInvocation(
      { argv: ['validate', c.rel, '--json'], stdout: out.stream, stderr: err.stream },
      () => validateCommand([c.rel], { root, profile: 'hardened-agent-base', json: true, registryDeadline: 15, env }),
      { alongside: true },
    );
  } finally {
    if (touch) clearInterval(touch);
    if (spawner) clearInterval(spawner);
  }
  return { report: JSON.parse(out.text()).results[0] as ValidatedAgent, code, err: err.text() };
}

/** One agent of `migrate validate --json`. */
export interface ValidatedAgent {
  output: string;
  validation: { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string; skipped?: boolean }> };
}

/**
 * The Phase 5 tests of part `part` of `parts` (one test file each: the files run in separate
 * forks, side by side). Within a file PHASE5_AT_ONCE cases run at once (it.concurrent): each
 * mostly waits on its agents' windows (one after another a part took ~215 s of a CI run for about
 * a quarter of that in CPU). Cases whose agents bind the same literal port take turns (literalPorts).
 */
export function describePhase5(part: number, parts: number): void {
  // The legacy run (the log check's baseline) watched 0.5 s instead of 2 s: 2 s was about a third
  // of each case's validation. The log check stays as strict: a _v2 error line the legacy agent had
  // not logged yet sends it to run again, longer, until it logs it too, else the check fails. (The
  // ports check, which reads the legacy agent's sockets at the window's end, is not in this profile.)
  const legacyWindow = process.env.MIGRATE_LEGACY_WINDOW_S;
  beforeAll(() => {
    process.env.MIGRATE_LEGACY_WINDOW_S ??= '0.5';
  });
  afterAll(() => {
    if (legacyWindow === undefined) delete process.env.MIGRATE_LEGACY_WINDOW_S;
    removeRoots();
  });
  vi.setConfig({ maxConcurrency: PHASE5_AT_ONCE });
  const takePorts = portTurns();
  describe(`python fixtures, hardened-agent-base profile (seed 001): Phase 5, part ${part} of ${parts}`, () => {
    for (const c of runtimePart(part, parts)) {
      it.concurrent(`${c.name}: Phase 5 at run time (migrated fixtures only)`, async ({ expect }) => {
        const release = await takePorts(literalPorts(c.dir));
        await phase5(c, expect).finally(release);
      }, 120_000);
    }
    // Every agent a validation started is stopped and forgotten when it returns (the cases overlap:
    // a tree one of them left would still be tracked here).
    it('no agent of any case is left running', async () => {
      expect((await builtValidate()).groups.liveGroups()).toEqual([]);
    });
  });
}

/** A registry on loopback that answers 200 to every request and records each as "METHOD /path". */
export function recordingRegistry(paths: string[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  }));
}

/**
 * A migrated fixture's _v2 started on the reference base from its repository: the registry at
 * `registryUrl`, no metrics sink, ports the kernel chooses, plus the agent's own `env`.
 * `output()` is what it printed so far (stdout and stderr); `exited` its exit code.
 */
export function startOnBase(root: string, v2: string, registryUrl: string, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  let log = '';
  const child = spawn('python3', [v2], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PYTHONPATH: root,
      PYTHONDONTWRITEBYTECODE: '1',
      REGISTRY_URL: registryUrl,
      METRICS_URL: '',
      HEALTH_CHECK_PORT: '0',
      METRICS_PORT: '0',
      // Loopback only, like migrate validate (a _v2 may default the base's host to every interface).
      AGENT_HOST: '127.0.0.1',
      no_proxy: '*',
      NO_PROXY: '*',
      ...env,
    },
  });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = exitedWithOutput(child);
  return { child, exited, output: () => log };
}

/**
 * Ends a _v2 started in a process group of its own (`detached`): SIGTERM to the group, SIGKILL after 5 s
 * if it is still there, and waits for the exit; nothing when it already exited.
 */
export async function stopGroup(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null) return;
  const pid = child.pid;
  const exited = new Promise((r) => child.once('exit', r));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a migrated case's _v2 on the reference base in a process group of its own (stop it with
 * stopGroup), registry and metrics off, `env` added; `output()` is what it printed so far.
 */
export function startV2(root: string, v2: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let log = '';
  const child = spawn('python3', [v2], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', REGISTRY_URL: '', METRICS_URL: '', no_proxy: '*', NO_PROXY: '*', ...env },
  });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return { child, output: () => log };
}

/**
 * Run a case's agent (legacy or _v2) from its repository for `ms` at most, then SIGTERM it (SIGKILL 10 s
 * later): whether it exited on its own first, its exit code (null: killed) and its output. The agent
 * reaches no bus (EVENTBUS_ADDRESS 127.0.0.1:9), registry or metrics push, and its /health takes any
 * free port; `env` adds the case's own settings.
 */
export function runAgentFor(root: string, file: string, opts: { args?: string[]; env: Record<string, string>; ms: number }): Promise<{ exitedAlone: boolean; code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn('python3', [file, ...(opts.args ?? [])], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', EVENTBUS_ADDRESS: '127.0.0.1:9', HEALTH_CHECK_PORT: '0', REGISTRY_URL: '', METRICS_URL: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let alone = true;
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const timer = setTimeout(() => {
      alone = false;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, opts.ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ exitedAlone: alone, code, log });
    });
  });
}
