// The HTTP code of a health status, legacy against _v2, for real (python3, the reference BaseAgent):
// the catalog sync whose legacy /health answered 200 whatever status it reported (health-degraded-
// status-answered-200: its _v2 overrides the base's _health_http_code() hook) and the one whose legacy
// answered 503 while "degraded" (health-degraded-status-answered-503: no override, the base's rule).
// Each agent is run in both states its payload computes: "ok" (the stock export is there, syncs
// succeed) and "degraded" (no export: three intervals pass without a successful sync). Legacy and
// _v2 must answer the same code with the same body status in each. The embedding pool (health-degraded-
// module-handler-wired-by-class-attribute) answered through a module-level handler class the agent wired by a
// class attribute; it is "degraded" once a worker ended for want of its model file, and its legacy sent 200.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';

const tmp: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const t of tmp) rmSync(t, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET /health: its code and body status; null while nothing answers. */
async function probe(port: number): Promise<{ code: number; status: unknown } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return { code: res.status, status: ((await res.json()) as { status?: unknown }).status };
  } catch {
    return null;
  }
}

/**
 * Runs `file` (its argv port: the health port - 1, as both the legacy and the _v2 take port + 1 for health)
 * until its /health reports `want` (15 s at most), and returns that answer, or the last one.
 */
async function answerIn(root: string, file: string, healthPort: number, prepare: Prepare, healthy: boolean, want: string): Promise<{ code: number; status: unknown } | null> {
  prepare(root, healthy);
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', AGENT_HOST: '127.0.0.1' };
  for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'METRICS_URL']) delete env[k];
  // Registration goes nowhere (a port nothing listens on): both only log its failure.
  Object.assign(env, { CATALOG_SYNC_INTERVAL: '0.3', REGISTRY_URL: 'http://127.0.0.1:9/' });
  // Its own process group: an agent's forked workers (the embedding pool's multiprocessing pool) inherit
  // the health listener, and killed with the agent alone they would hold the port the next run binds.
  const child = spawn('python3', [file, String(healthPort - 1)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    let last: { code: number; status: unknown } | null = null;
    for (let i = 0; i < 150 && child.exitCode === null; i++) {
      last = (await probe(healthPort)) ?? last;
      if (last?.status === want) return last;
      await sleep(100);
    }
    expect.soft(last, `${path.basename(file)} never reported "${want}":\n${output}`).not.toBeNull();
    return last;
  } finally {
    const exited = new Promise((r) => (child.exitCode === null ? child.on('exit', r) : r(null)));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await exited;
    // The group's workers, reparented, end a moment after the agent: the port is free once nothing answers.
    for (let i = 0; i < 50 && (await probe(healthPort)) !== null; i++) await sleep(100);
  }
}

/** Puts the agent's inputs in place: those of a healthy run, or those that make it report "degraded". */
type Prepare = (root: string, healthy: boolean) => void;

/** The catalog syncs: the stock export (beside the repository) there or not. */
const catalog: Prepare = (root, stocked) => {
  const parent = path.dirname(root);
  rmSync(path.join(parent, 'data'), { recursive: true, force: true });
  mkdirSync(path.join(parent, 'data', 'catalog'), { recursive: true });
  if (stocked) writeFileSync(path.join(parent, 'data', 'catalog', 'stock.json'), JSON.stringify({ 'SKU-1': 4, 'SKU-2': 0 }));
};

/** The embedding pool: its workers' model file there or not (a worker without it ends). */
const model: Prepare = (root, present) => {
  rmSync(path.join(root, 'state'), { recursive: true, force: true });
  mkdirSync(path.join(root, 'state'), { recursive: true });
  if (present) writeFileSync(path.join(root, 'state', 'model.bin'), 'weights');
};

const CASES: Array<[string, { ok: number; degraded: number }, Prepare]> = [
  ['health-degraded-status-answered-200', { ok: 200, degraded: 200 }, catalog],
  ['health-degraded-status-answered-503', { ok: 200, degraded: 503 }, catalog],
  ['health-degraded-module-handler-wired-by-class-attribute', { ok: 200, degraded: 200 }, model],
];

describe('the HTTP code of each health status: legacy and _v2 alike', () => {
  for (const [name, codes, prepare] of CASES) {
    for (const state of ['ok', 'degraded'] as const) {
      it(`${name}: "${state}"`, async () => {
        const c = listCases().find((x) => x.name === name)!;
        const dir = mkdtempSync(path.join(os.tmpdir(), 'health-code-'));
        tmp.push(dir);
        const root = materialize(c, path.join(dir, 'repo'));
        const legacy = path.join(root, c.rel);
        const v2 = legacy.replace(/\.py$/, '_v2.py');
        writeFileSync(v2, readFileSync(c.expectedFile));
        const [healthPort] = await allocatePorts(1);
        try {
          const before = await answerIn(root, legacy, healthPort!, prepare, state === 'ok', state);
          const after = await answerIn(root, v2, healthPort!, prepare, state === 'ok', state);
          expect(before).toEqual({ code: codes[state], status: state });
          expect(after, 'the _v2 answers as the legacy did').toEqual(before);
        } finally {
          releasePorts([healthPort!]);
        }
      }, 90_000);
    }
  }
});
