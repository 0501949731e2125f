// An output that imports another output of the same run (a family's subclass extends its parent's
// `_v2`) stands or falls with it. Checked in one program beside its parent's output, the subclass
// type-checked; when the parent then failed (its verify, here made to fail by a user transform that
// breaks only the parent's output), the subclass was still written and committed, importing a
// lib/device-supervisor_v2.ts that was never written: its first start died with "Cannot find module".
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch } from '../src/pipeline/batch.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
const fx = (name: string, file: string) => readFileSync(path.join(REPO, 'fixtures', 'typescript', name, file), 'utf8');

function family(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-family-follower-'));
  temps.push(root);
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  put('lib/device-supervisor.ts', fx('abstract-family-parent', 'input.ts'));
  put('services/thermostat_supervisor.ts', fx('abstract-family-subclass', 'input.ts'));
  put('package.json', '{ "name": "fleet", "private": true }\n');
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  initGit(root);
  return root;
}

/** A user transform (jscodeshift format) that leaves every output as it is but the parent's, which it breaks. */
function breakingTransform(dir: string, matches: string): string {
  const file = path.join(dir, 'break-parent.cjs');
  writeFileSync(file, `module.exports = (file) => file.path.includes(${JSON.stringify(matches)}) ? file.source + "\\nconst broken: number = 'not a number';\\n" : file.source;\n`);
  return file;
}

describe('a subclass that follows its parent in one run', () => {
  it('fails with its parent, named, and nothing of it is written or committed', { timeout: 240_000 }, async () => {
    const root = family();
    const outside = mkdtempSync(path.join(os.tmpdir(), 'migrate-family-transform-'));
    temps.push(outside);
    const transforms = [breakingTransform(outside, 'device-supervisor')];
    const before = git(root, ['rev-parse', 'HEAD']).trim();
    const outcome = await runBatch({ root, profile: loadProfile('base-agent', root), agents: [], all: true, dryRun: false, validate: false, commit: true, force: false, allowDirty: false, concurrency: 1, runInBand: true, transforms });
    const by = Object.fromEntries(outcome.results.map((r) => [r.agent, r]));
    expect(by.DeviceSupervisor?.status).toBe('failed');
    expect(by.DeviceSupervisor?.error).toMatch(/^verify: /);
    const sub = by.ThermostatSupervisor!;
    expect(sub.status, sub.error ?? '').toBe('failed');
    expect(sub.error).toContain('imports lib/device-supervisor_v2.ts, the output of DeviceSupervisor');
    expect(sub.commit).toBeNull();
    expect(existsSync(path.join(root, 'services', 'thermostat_supervisor_v2.ts'))).toBe(false);
    expect(existsSync(path.join(root, 'lib', 'device-supervisor_v2.ts'))).toBe(false);
    expect(git(root, ['rev-parse', 'HEAD']).trim()).toBe(before);
  });

  it('both are committed when the parent passes (the rule takes nothing else away)', { timeout: 240_000 }, async () => {
    const root = family();
    const outcome = await runBatch({ root, profile: loadProfile('base-agent', root), agents: [], all: true, dryRun: false, validate: false, commit: true, force: false, allowDirty: false, concurrency: 1, runInBand: true });
    for (const r of outcome.results) {
      expect(r.error, `${r.agent}: ${r.error}`).toBeNull();
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(outcome.results.map((r) => r.agent).sort()).toEqual(['DeviceSupervisor', 'ThermostatSupervisor']);
  });
});
