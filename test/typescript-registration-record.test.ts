// The reference TypeScript base's registrationRecord() hook, and the rewrite onto it:
// - the base registers exactly its record (name, host, port, health_check_port, pid) without an
//   override, and a subclass's override built on super() adds fields to the one registration;
// - the base model learns the hook from the base's source: the repository's own base without it
//   (an older copy) keeps the agent's registration as today's review item;
// - a field set after the constructor (in start()) defers the base's registration (startRegistration())
//   to where the legacy registered; a base without that method, or a local of the method, keeps it too.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadBaseModel } from '../src/lang/typescript/base-model.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { startEmbeddedRegistry } from '../src/validate/embedded-registry.js';
import { BaseAgent } from '../templates/runtime/typescript/common/core/base-agent.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const profile = loadProfile('base-agent');
const template = path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts');
const input = readFileSync(path.join(here, '..', 'fixtures', 'typescript', 'registry-extra-fields-record-hook', 'input.ts'), 'utf8');
const rel = 'agents/ocr-worker.ts';
const agent: AgentInfo = { name: 'OcrWorker', file: rel, language: 'typescript', class: 'OcrWorker', status: 'legacy', findings: [], line: 1, evidence: [] };
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A repository holding `base` as its own base class. */
function repoWithBase(base: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-record-hook-'));
  roots.push(root);
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  writeFileSync(path.join(root, 'common', 'core', 'base-agent.ts'), base);
  return root;
}

const rewrite = (root: string, source = input) => typescriptAdapter.rewrite({ root, file: path.join(root, rel), source, agent, profile });

describe('BaseAgent.registrationRecord()', () => {
  async function registered(make: () => BaseAgent): Promise<Record<string, unknown>> {
    const registry = await startEmbeddedRegistry();
    const saved = { ...process.env };
    Object.assign(process.env, { REGISTRY_URL: registry.scoped('t'), HEALTH_CHECK_PORT: '0', AGENT_NAME: '' });
    delete process.env.METRICS_URL;
    const a = make();
    process.env = saved;
    try {
      await a.start();
      for (let i = 0; i < 100 && !a.registered; i++) await new Promise((r) => setTimeout(r, 20));
      expect(a.registered).toBe(true);
      return registry.registrations()[0]!.record;
    } finally {
      await a.stop();
      await registry.close();
    }
  }

  it('registers the base record as before when not overridden', async () => {
    const record = await registered(() => new BaseAgent({ name: 'plain' }));
    expect(Object.keys(record).sort()).toEqual(['health_check_port', 'host', 'name', 'pid', 'port']);
    expect(record).toMatchObject({ name: 'plain', host: '127.0.0.1', pid: process.pid });
  });

  it("an override built on super() adds fields to the base's one registration", async () => {
    class Tagged extends BaseAgent {
      readonly capabilities = ['ocr:eng'];
      protected override registrationRecord(): Record<string, unknown> {
        return { ...super.registrationRecord(), capabilities: this.capabilities, version: '1.2' };
      }
    }
    const record = await registered(() => new Tagged({ name: 'tagged' }));
    expect(record).toMatchObject({ name: 'tagged', host: '127.0.0.1', pid: process.pid, capabilities: ['ocr:eng'], version: '1.2' });
  });
});

describe('registration fields onto the record hook', () => {
  it('the base model finds the hook in the reference base, not in a base without it', () => {
    expect(loadBaseModel(repoWithBase(readFileSync(template, 'utf8')), profile).registrationRecordMethod).toBe('registrationRecord');
    const older = readFileSync(template, 'utf8').replace(/protected registrationRecord\(\)/, '#registrationRecord()').replace(/this\.registrationRecord\(\)/g, 'this.#registrationRecord()');
    expect(loadBaseModel(repoWithBase(older), profile).registrationRecordMethod).toBeNull();
  });

  it("a repository's base without the hook keeps the registration for review", async () => {
    const older = readFileSync(template, 'utf8').replace(/protected registrationRecord\(\)/, '#registrationRecord()').replace(/this\.registrationRecord\(\)/g, 'this.#registrationRecord()');
    const out = await rewrite(repoWithBase(older));
    expect(out.status).toBe('changed');
    expect(out.kept_for_review.map((k) => k.symbol)).toEqual(['register']);
    expect(out.kept_for_review[0]!.reason).toContain("register() registers 'capabilities', 'version', 'region', 'tags'");
    expect(out.output).not.toContain('registrationRecord');
  });

  it('moves them with the reference base', async () => {
    const root = repoWithBase(readFileSync(template, 'utf8'));
    const out = await rewrite(root);
    expect(out.kept_for_review).toEqual([]);
    expect(out.output).toContain('return { ...super.registrationRecord(), capabilities: CAPABILITIES, version: WORKER_VERSION, region: process.env.DATA_REGION ?? \'eu-central\', tags: this.tags };');
    expect(out.output).not.toContain('private async register()');
  });

  it('a field set after the constructor defers the registration to where the legacy registered; a local keeps it', async () => {
    const root = repoWithBase(readFileSync(template, 'utf8'));
    // tags reassigned in start(): the base's start no longer registers, start() (onStart()) does where it called register().
    const late = input.replace('    this.startHealth();\n', "    this.startHealth();\n    this.tags = [...this.tags, 'warm'];\n").replace('private readonly tags', 'private tags');
    const lateOut = await rewrite(root, late);
    expect(lateOut.kept_for_review).toEqual([]);
    expect(lateOut.output).toMatch(/this\.tags = \[\.\.\.this\.tags, 'warm'\];\n\s+super\.startRegistration\(\);\n/);
    expect(lateOut.output).toContain('protected override startRegistration(): void {');
    // Called from a helper start() awaits: the base registers there, in the helper that stays.
    const helper = late.replace('      await this.register();\n', '      await this.announce();\n').replace('  private startHealth(): void {', "  private async announce(): Promise<void> {\n    await this.register();\n    log('INFO', 'announced');\n  }\n\n  private startHealth(): void {");
    const helperOut = await rewrite(root, helper);
    expect(helperOut.kept_for_review).toEqual([]);
    expect(helperOut.output).toContain("  private async announce(): Promise<void> {\n    super.startRegistration();\n    log('INFO', 'announced');\n  }");
    // A base with the record hook but no startRegistration() (an older copy) registers before onStart(): review.
    const noStart = readFileSync(template, 'utf8').replace(/protected startRegistration\(\)/, '#startRegistration()').replace(/this\.startRegistration\(\)/g, 'this.#startRegistration()');
    expect(loadBaseModel(repoWithBase(noStart), profile).registrationStartMethod).toBeNull();
    const olderOut = await rewrite(repoWithBase(noStart), late);
    expect(olderOut.kept_for_review.map((k) => k.symbol)).toEqual(['register']);
    expect(olderOut.output).not.toContain('registrationRecord');
    // Called from two places (a reconnect re-registers): the base registers once, so it stays for review.
    const twice = late.replace("    log('INFO', `polling ${INTAKE_DIR}", "    this.on('reconnect', () => void this.register());\n    log('INFO', `polling ${INTAKE_DIR}");
    expect((await rewrite(root, twice)).kept_for_review.map((k) => k.symbol)).toEqual(['register']);
    const local = input.replace("        region: process.env.DATA_REGION ?? 'eu-central',", '        region,').replace('  private async register(): Promise<void> {\n', "  private async register(): Promise<void> {\n    const region = process.env.DATA_REGION ?? 'eu-central';\n");
    const localOut = await rewrite(root, local);
    expect(localOut.kept_for_review.map((k) => k.symbol)).toEqual(['register']);
    expect(localOut.output).not.toContain('registrationRecord');
  });
});

