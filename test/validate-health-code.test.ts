// migrate validate on the catalog syncs whose /health turns "degraded" three sync intervals after their
// start when the stock export is missing (as in the validation environment), real python3 agents on the
// reference base, legacy beside _v2:
//   * health-degraded-status-answered-200: the legacy answered 200 "degraded"; its _v2 overrides the base's
//     _health_http_code() to do the same. Survival takes that 200 "degraded" as the code it declares; the
//     _v2 without the override (the base's 503) fails, since the legacy, run again, answers 200.
//   * health-degraded-status-answered-503: the legacy answered 503 "degraded" too, but only after its short
//     baseline window: survival runs it again as long as the _v2 took, and takes the same answer as its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent } from '../src/validate/validate-agent.js';
import { listCases, materialize } from './helpers/python-fixtures.js';

const profile = loadProfile('base-agent');
let env: ValidationEnvironment;
const roots: string[] = [];

beforeAll(async () => {
  env = await startValidationEnvironment();
});
afterAll(async () => {
  await env?.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const agent: AgentInfo = { name: 'CatalogSyncAgent', file: 'agents/catalog_sync_agent.py', language: 'python', class: 'CatalogSyncAgent', status: 'legacy', findings: [], line: 1, evidence: [] };

/** The case laid out, its _v2 written (`v2`: its expected output, or other text), validated with quick sync intervals. */
async function validate(name: string, v2?: string, legacyStartDelayS?: number) {
  const c = listCases().find((x) => x.name === name)!;
  const root = materialize(c);
  roots.push(root);
  const legacy = path.join(root, c.rel);
  // A legacy agent slower to start than its _v2 (a loaded machine), made so deterministically.
  if (legacyStartDelayS) writeFileSync(legacy, readFileSync(legacy, 'utf8').replace(/^import /m, `import time as _t\n_t.sleep(${legacyStartDelayS})\nimport `));
  const out = legacy.replace(/\.py$/, '_v2.py');
  writeFileSync(out, v2 ?? readFileSync(c.expectedFile));
  return validateAgent({
    root, agent, file: out, legacyFile: legacy, profile, env,
    // Degraded 1.5 s after the start (3 intervals of 0.5 s without the stock export); the legacy's first window
    // (0.5 s) ends before that, so only a second, longer run of it can see its own answer.
    baseEnv: { ...process.env, CATALOG_SYNC_INTERVAL: '0.5' }, legacyWindowMs: 500,
    healthDeadlineMs: 10_000, registryDeadlineMs: 10_000, metricsDeadlineMs: 10_000, shutdownDeadlineMs: 5000,
    survivalWindowMs: 6000, survivalIntervalMs: 300,
  });
}

describe('validate: the code of a "degraded" health status', () => {
  it('a _v2 declaring the legacy\'s 200 for "degraded" survives, said as declared', async () => {
    const r = await validate('health-degraded-status-answered-200');
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(true);
    expect(survival.detail).toMatch(/in it answering 200 status "degraded" \(the code the agent declares for that status through its _health_http_code\(\) override\)$/);
  }, 120_000);

  it('without the override (the base\'s 503 where the legacy answered 200) it fails survival', async () => {
    const c = listCases().find((x) => x.name === 'health-degraded-status-answered-200')!;
    const undeclared = readFileSync(c.expectedFile, 'utf8').replace(/\n    def _health_http_code\(self, status\):[\s\S]*?return 200\n/, '\n');
    expect(undeclared).not.toContain('_health_http_code');
    const r = await validate('health-degraded-status-answered-200', undeclared);
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(false);
    expect(survival.detail).toMatch(/answered 503 with status degraded/);
  }, 120_000);

  it('a _v2 answering 503 "degraded" as its legacy does, late, survives as the legacy', async () => {
    const r = await validate('health-degraded-status-answered-503');
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(true);
    expect(survival.as_legacy).toMatchObject({ code: 503, status: 'degraded' });
    expect(survival.detail).toMatch(/then answered 503 status "degraded", as the legacy agent's own \/health .*\(the legacy agent, run again for [\d.]+ s, answers so too\)$/);
  }, 120_000);

  // The second run was as long as the _v2 took to answer so (twice, capped by the survival window): a legacy
  // agent whose start lagged by more was ended before it answered "degraded", and survival failed.
  it('a legacy agent slower to start than its _v2 still answers "degraded" in its second run', async () => {
    const r = await validate('health-degraded-status-answered-503', undefined, 7);
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(true);
    expect(survival.as_legacy).toMatchObject({ code: 503, status: 'degraded' });
  }, 120_000);
});
