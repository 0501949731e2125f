// The Node reference base's healthHttpCode(status) hook, learned and used:
// - the base model finds it in the reference base, not in an older copy deciding the code inline;
// - on such an older base the rate mirror's 200 'degraded' stays a review item (no override to write);
// - the validator reads a TypeScript agent's override as its declared code: the rate mirror's _v2,
//   degraded within a second in validation (its origin down), survives on its 200 'degraded', said as
//   declared; without the override (the base's 503) it fails survival.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadBaseModel } from '../src/lang/typescript/base-model.js';
import { loadProfile } from '../src/profile/profile.js';
import { declaredHealthCodeHook } from '../src/validate/declared-health-code.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent } from '../src/validate/validate-agent.js';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const profile = loadProfile('base-agent');
const NAME = 'health-degraded-200-code-hook-rate-mirror';
const REL = 'services/rate-mirror.ts';
const agent: AgentInfo = { name: 'RateCardMirror', file: REL, language: 'typescript', class: 'RateCardMirror', status: 'legacy', findings: [], line: 1, evidence: [] };
// An older copy of the reference base, deciding /health's code inline (`send(healthy ? 200 : 503, ...)`).
const OLD_BASE = path.join(fixtures, 'tsleft48-runner-two-agents-old-base', 'common', 'core', 'base-agent.ts');
const roots: string[] = [];
let env: ValidationEnvironment;

beforeAll(async () => {
  env = await startValidationEnvironment();
});
afterAll(async () => {
  await env?.close();
  removeRepos(roots);
});

/** The rate mirror's repository, on the reference base or on the older copy. */
function repo(old = false): string {
  const root = fixtureRepo(NAME, REL, roots);
  if (old) writeFileSync(path.join(root, 'common', 'core', 'base-agent.ts'), readFileSync(OLD_BASE, 'utf8'));
  return root;
}

/** Without the healthHttpCode() override the rewrite wrote. */
const undeclared = (text: string) => text.replace(/\n  protected override healthHttpCode\([\s\S]*?\n  }\n/, '\n');

describe('the base model and the rewrite', () => {
  it('finds healthHttpCode() in the reference base, none in a base deciding the code inline', () => {
    expect(loadBaseModel(repo(), profile).healthCodeHook).toEqual({ name: 'healthHttpCode', failCode: 503 });
    expect(loadBaseModel(repo(true), profile).healthCodeHook).toBeNull();
  });

  // The model is kept by the base's text: a repository with the same base is answered from it
  // (under its own path), and a base edited in place is read again, whatever its modification time.
  it('is read again when the base changes, and kept for the same base in another repository', () => {
    const [a, b] = [repo(), repo()];
    const baseA = path.join(a, 'common', 'core', 'base-agent.ts');
    expect(loadBaseModel(a, profile).healthCodeHook).toEqual({ name: 'healthHttpCode', failCode: 503 });
    const fromB = loadBaseModel(b, profile);
    expect(fromB.file).toBe(path.join(b, 'common', 'core', 'base-agent.ts'));
    expect(fromB.healthCodeHook).toEqual({ name: 'healthHttpCode', failCode: 503 });
    writeFileSync(baseA, readFileSync(OLD_BASE, 'utf8'));
    const edited = loadBaseModel(a, profile);
    expect(edited.healthCodeHook).toBeNull();
    expect(edited.source).toBe(readFileSync(OLD_BASE, 'utf8'));
    expect(loadBaseModel(b, profile).healthCodeHook).toEqual({ name: 'healthHttpCode', failCode: 503 });
  });

  it("on the older base the 200 'degraded' stays a review item, nothing overridden", async () => {
    const root = repo(true);
    const out = await typescriptAdapter.rewrite({ root, file: path.join(root, REL), source: readFileSync(path.join(root, REL), 'utf8'), agent, profile });
    expect(out.output).not.toContain('healthHttpCode');
    expect(out.kept_for_review.map((k) => k.symbol)).toEqual(['healthServer']);
    expect(out.kept_for_review[0]!.reason).toContain("it answers status 'degraded' with HTTP 200");
  });
});

describe("validate: a TypeScript agent's declared health code", () => {
  it('reads the override as the declared hook, and nothing without it or on the older base', async () => {
    const root = repo();
    const file = path.join(root, v2(REL));
    expect(await declaredHealthCodeHook(root, file, agent, profile)).toBe('healthHttpCode');
    writeFileSync(file, undeclared(readFileSync(file, 'utf8')));
    expect(await declaredHealthCodeHook(root, file, agent, profile)).toBeUndefined();
    const old = repo(true);
    expect(await declaredHealthCodeHook(old, path.join(old, v2(REL)), agent, profile)).toBeUndefined();
  });

  /** The _v2 (`text`, else the expected output) validated with its origin down: 'degraded' after two failed pulls. */
  async function validate(text?: string) {
    const root = repo();
    const file = path.join(root, v2(REL));
    if (text !== undefined) writeFileSync(file, text);
    return validateAgent({
      root, agent, file, legacyFile: path.join(root, REL), profile, env,
      baseEnv: { ...process.env, RATE_ORIGIN_URL: 'http://127.0.0.1:9/rate-card', RATE_CACHE_DIR: path.join(root, 'cache'), RATE_PULL_MS: '300', RATE_STALE_AFTER: '2' },
      legacyWindowMs: 500, healthDeadlineMs: 20_000, registryDeadlineMs: 20_000, metricsDeadlineMs: 20_000, shutdownDeadlineMs: 5000,
      survivalWindowMs: 4000, survivalIntervalMs: 300,
    });
  }

  it("the _v2 declaring the legacy's 200 for 'degraded' survives, said as declared", async () => {
    const r = await validate();
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, JSON.stringify(r.checks)).toBe(true);
    expect(survival.detail).toMatch(/200 status "degraded" \(the code the agent declares for that status through its healthHttpCode\(\) override\)/);
  }, 120_000);

  it("without the override (the base's 503 where the legacy answered 200) it fails", async () => {
    const text = undeclared(readFileSync(path.join(fixtures, NAME, 'expected.ts'), 'utf8'));
    expect(text).not.toContain('healthHttpCode');
    const r = await validate(text);
    const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('\n');
    expect(failed).toMatch(/503 .*degraded/);
  }, 120_000);
});
