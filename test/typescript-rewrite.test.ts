// Rewrite details that the fixture suite does not pin down: where the base is imported from
// (relative to nested files, or a package name), `_v2` naming, already-migrated outputs, and
// the one-line errors of refused inputs.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile, type Profile } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const input = readFileSync(path.join(here, '..', 'fixtures', 'typescript', 'http-health-interval', 'input.ts'), 'utf8');
const base = loadProfile('base-agent');
const root = '/repo';
const agent = (file: string, cls = 'OrderRouter'): AgentInfo => ({ name: cls, file, language: 'typescript', class: cls, status: 'legacy', findings: [], line: 1, evidence: [] });

async function rewrite(rel: string, source = input, profile: Profile = base) {
  return typescriptAdapter.rewrite({ root, file: path.join(root, rel), source, agent: agent(rel), profile });
}

describe('TypeScript rewrite', () => {
  it('imports the base relative to the agent file, with the .js ending NodeNext needs', async () => {
    expect((await rewrite('router.ts')).output).toContain("import { BaseAgent } from './common/core/base-agent.js';");
    expect((await rewrite('services/trading/router.ts')).output).toContain("import { BaseAgent } from '../../common/core/base-agent.js';");
  });

  it('imports from a package when the profile names one', async () => {
    const profile: Profile = { ...base, typescript: { ...base.typescript!, module: '@acme/agent-base' } };
    const out = await rewrite('agents/router.ts', input, profile);
    expect(out.status).toBe('changed');
    expect(out.output).toContain("import { BaseAgent } from '@acme/agent-base';");
  });

  it('names outputs <stem>_v2 with the same ending', () => {
    expect(typescriptAdapter.outputPath('/r/a/x.ts')).toBe('/r/a/x_v2.ts');
    expect(typescriptAdapter.outputPath('/r/a/x.tsx')).toBe('/r/a/x_v2.tsx');
    expect(typescriptAdapter.outputPath('/r/a/x.mts')).toBe('/r/a/x_v2.mts');
    expect(typescriptAdapter.extensions).toEqual(['.ts', '.tsx', '.mts']);
  });

  it('leaves its own output unchanged, byte for byte', async () => {
    const first = await rewrite('agents/order_router.ts');
    const again = await rewrite('agents/order_router_v2.ts', first.output!);
    expect(again).toMatchObject({ status: 'unchanged', output: first.output, removed: [], kept_for_review: [] });
  });

  it('refuses a missing class with file and line', async () => {
    const out = await typescriptAdapter.rewrite({ root, file: path.join(root, 'agents/x.ts'), source: 'export const x = 1;\n', agent: agent('agents/x.ts', 'Nope'), profile: base });
    expect(out).toMatchObject({ status: 'failed', error: 'agents/x.ts:1: no class Nope in the file' });
  });
});
