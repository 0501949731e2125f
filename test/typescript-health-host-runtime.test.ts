// A health server that listened on every interface (`listen(port, cb)`: the kubelet probes from
// the node) went with the migration, and the base binds /health on AGENT_HOST, default 127.0.0.1.
// The health-every-interface-probe-from-node fixture's _v2 is started for real without AGENT_HOST:
// the base must serve /health on 0.0.0.0 (its start line says where). Before AGENT_HOST defaulted
// to 0.0.0.0 there, the _v2 served 127.0.0.1 only.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'health-every-interface-probe-from-node');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a health server on every interface keeps every interface on the base', () => {
  it('_v2: the base serves /health on 0.0.0.0 when AGENT_HOST is unset', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-health-host-'));
    roots.push(root);
    mkdirSync(path.join(root, 'agents'), { recursive: true });
    writeFileSync(path.join(root, 'agents/cache-warmer_v2.ts'), readFileSync(path.join(fixture, 'expected.ts'), 'utf8'));
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
    writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
    const saved = process.env.AGENT_HOST;
    delete process.env.AGENT_HOST;
    try {
      const { code, log } = await stopWhen(root, 'agents/cache-warmer_v2.ts', {}, (l) => /health check on http:\/\/[^/]+:\d+\/health/.test(l));
      expect(code, log).toBe(0);
      expect(log).toMatch(/health check on http:\/\/0\.0\.0\.0:\d+\/health/);
    } finally {
      if (saved !== undefined) process.env.AGENT_HOST = saved;
    }
  }, 60_000);
});
