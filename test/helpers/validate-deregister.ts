// The deregister fixtures (fixtures/validate/deregister, fixtures/validate/ts) on the reference Python and
// TypeScript bases, and validateAgent as the deregister tests run them.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentInfo, ValidationReport } from '../../src/core/types.js';
import { planInit } from '../../src/commands/init.js';
import { loadProfile, type Profile } from '../../src/profile/profile.js';
import type { ValidationEnvironment } from '../../src/validate/environment.js';
import { validateAgent, type ValidateAgentOptions } from '../../src/validate/validate-agent.js';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures', 'validate');
export const baseAgent = loadProfile('base-agent');

/** The fixtures in a fresh root (pushed on `temps` for removal), with both reference bases installed. */
export function deregisterRepo(temps: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'validate-deregister-'));
  temps.push(root);
  cpSync(path.join(FIXTURES, 'deregister'), root, { recursive: true });
  cpSync(path.join(FIXTURES, 'ts'), root, { recursive: true });
  for (const lang of ['python', 'typescript'] as const) {
    const plan = planInit(root, lang, 'base-agent');
    mkdirSync(path.dirname(path.join(root, plan.target)), { recursive: true });
    copyFileSync(plan.template, path.join(root, plan.target));
    for (const init of plan.packageInits) writeFileSync(path.join(root, init), '');
  }
  return root;
}

export function runDeregister(
  env: ValidationEnvironment,
  root: string,
  name: string,
  stem: string,
  extra: Partial<ValidateAgentOptions> & { v2?: string; profile?: Profile } = {},
): Promise<ValidationReport> {
  const ts = (extra.v2 ?? stem).endsWith('.ts');
  const agent: AgentInfo = { name, file: `agents/${stem}.${ts ? 'ts' : 'py'}`, language: ts ? 'typescript' : 'python', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
  return validateAgent({
    root,
    agent,
    file: path.join(root, 'agents', extra.v2 ?? `${stem}_v2.py`),
    legacyFile: ts ? undefined : path.join(root, 'agents', `${stem}.py`),
    profile: baseAgent,
    env,
    // Long enough for the legacy agent to register in its own run, and to be seen leaving or not.
    legacyWindowMs: 1500,
    healthDeadlineMs: 15_000,
    registryDeadlineMs: 10_000,
    metricsDeadlineMs: 10_000,
    survivalWindowMs: 1000,
    configEnv: { QUOTE_CACHE_STATE: path.join(root, 'quote_cache.json') },
    ...extra,
  });
}

export const verdicts = (r: ValidationReport) => r.checks.map((c) => `${c.name}:${c.ok}`);
export const detail = (r: ValidationReport, name: string) => r.checks.find((c) => c.name === name)!.detail;
