// TypeScript/JavaScript fixture cases marked `runtime: true` in case.yaml are also started for
// real: the case's repository (its other files, a starter under bin/ say) in a temporary git
// repository with the reference base, the input at its path and expected.* (byte-equal to what
// the rewrite writes, typescript-fixtures checks that) as its _v2 sibling, then `migrate
// validate` on it: health, registry, metrics, survival, ports, clean SIGTERM shutdown,
// deregistration and no new ERROR lines must all pass.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateCommand, v2Path } from '../src/commands/validate.js';
import { templatesDir } from '../src/profile/profile.js';
import { liveGroups } from '../src/validate/process-group.js';
import { tsFixtureCases } from './helpers/ts-fixture-cases.js';

const cases = tsFixtureCases().filter((c) => c.meta.runtime === true);

const roots: string[] = [];
let out = '';
const survival = process.env.MIGRATE_SURVIVAL_WINDOW_S;
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  // The survival window is the agent staying up; a few seconds show it here.
  process.env.MIGRATE_SURVIVAL_WINDOW_S = '4';
});
afterEach(() => {
  vi.restoreAllMocks();
  if (survival === undefined) delete process.env.MIGRATE_SURVIVAL_WINDOW_S;
  else process.env.MIGRATE_SURVIVAL_WINDOW_S = survival;
  expect(liveGroups()).toEqual([]);
});
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(c: (typeof cases)[number]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-runtime-'));
  roots.push(root);
  cpSync(c.dir, root, { recursive: true, filter: (src) => !/^(input|expected)\.[cm]?[jt]s$|^case\.yaml$/.test(path.relative(c.dir, src)) });
  const agent = path.join(root, c.meta.path);
  mkdirSync(path.dirname(agent), { recursive: true });
  writeFileSync(agent, readFileSync(path.join(c.dir, `input.${c.ext}`), 'utf8'));
  writeFileSync(path.join(root, v2Path(c.meta.path)), readFileSync(path.join(c.dir, `expected.${c.ext}`), 'utf8'));
  const base = path.join(root, 'common', 'core', 'base-agent.ts');
  if (!existsSync(base)) {
    mkdirSync(path.dirname(base), { recursive: true });
    cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), base);
  }
  if (!existsSync(path.join(root, 'package.json'))) writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
  return root;
}

describe('TypeScript fixture cases started for real', () => {
  it('there are runtime cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const root = materialize(c);
      const code = await validateCommand([c.meta.class], { root, profile: 'base-agent', json: true });
      const result = JSON.parse(out).results[0];
      const failed = result.validation.checks.filter((k: { ok: boolean }) => !k.ok).map((k: { name: string; detail: string }) => `${k.name}: ${k.detail}`);
      expect(failed).toEqual([]);
      expect(result.validation.checks.map((k: { name: string }) => k.name)).toEqual(expect.arrayContaining(['health', 'registry', 'metrics', 'survival', 'shutdown', 'deregister', 'log']));
      expect(code).toBe(0);
    }, 120_000);
  }
});
