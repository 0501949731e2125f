// A _v2 must start where its legacy started: with the ports its code falls back to, not only with the
// ones migrate validate hands it (AGENT_PORT, HEALTH_CHECK_PORT move the base's ports out of the way of
// anything the rewrite kept, so a kept server on the base's own default port passes validation and dies
// with "Address already in use" in production). For cases with runtime.legacy_defaults, the legacy file
// and then its expected _v2 are started with none of those variables set; each must answer GET /health
// on the health port its code falls back to (runtime.legacy_defaults.health) and still be up (and answering) a while later.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize, type FixtureCase } from './helpers/python-fixtures.js';
import { healthJson } from './helpers/health-json.js';

const cases = listCases().filter((c) => c.spec.base === 'reference' && c.spec.runtime?.legacy_defaults?.health);
const roots: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `file` with no port variables; its /health answers and its output, then it is stopped (SIGKILL if SIGTERM is not enough). */
async function startAsOperators(root: string, file: string, healthPort: number): Promise<{ first: Record<string, unknown> | null; later: Record<string, unknown> | null; output: string }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
  for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'AGENT_HOST', 'AGENT_NAME', 'REGISTRY_URL', 'METRICS_URL']) delete env[k];
  const child = spawn('python3', [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    let first: Record<string, unknown> | null = null;
    for (let i = 0; i < 150 && !first && child.exitCode === null; i++) {
      first = await healthJson(healthPort);
      if (!first) await sleep(100);
    }
    // A second bind on one port kills the process at start or soon after: still there, still answering.
    await sleep(2000);
    const later = child.exitCode === null ? await healthJson(healthPort) : null;
    return { first, later, output };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
}

function prepared(c: FixtureCase): { root: string; legacy: string; v2: string } {
  const root = materialize(c);
  roots.push(root);
  mkdirSync(path.join(root, 'state'), { recursive: true });
  const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
  writeFileSync(v2, readFileSync(c.expectedFile));
  return { root, legacy: path.join(root, c.rel), v2 };
}

describe('legacy and _v2 started with their own default ports', () => {
  it('there are cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const healthPort = c.spec.runtime!.legacy_defaults!.health;
      const { root, legacy, v2 } = prepared(c);
      // One after the other: both fall back to the same ports.
      const before = await startAsOperators(root, legacy, healthPort);
      expect(before.first, `legacy: no /health on ${healthPort}:\n${before.output}`).not.toBeNull();
      expect(before.later, `legacy: gone or silent after its first answer:\n${before.output}`).not.toBeNull();
      const after = await startAsOperators(root, v2, healthPort);
      expect(after.output, '_v2 failed to bind a port').not.toMatch(/Address already in use/);
      expect(after.first, `_v2: no /health on ${healthPort}:\n${after.output}`).not.toBeNull();
      expect(after.later, `_v2: gone or silent after its first answer:\n${after.output}`).not.toBeNull();
      expect(['ok', 'healthy']).toContain(after.later!.status);
    });
  }
});
