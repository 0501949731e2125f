// (probe-node60 ReportGateway) A kept status server listening on this.config.healthPort, config
// handed in by main.ts (another file) from the agent module's `CONFIG = loadConfig()`, whose
// loader returns Object.freeze({ healthPort: Number(process.env.HEALTH_CHECK_PORT ?? 7421), ... }).
// Before, the _v2 died with EADDRINUSE: its kept server and the base both bound HEALTH_CHECK_PORT.
// Legacy and _v2 are started the same way (main.ts, the _v2 through main.ts importing it as a
// promotion would): both answer /health on HEALTH_CHECK_PORT and the business route on AGENT_PORT,
// and the _v2 stops cleanly. The same with the loader imported from ./config by main.ts
// (constructor-config-from-imported-loader-health-env): the port is set in a file the rewrite does not
// edit, so the kept server's listen() takes its legacy default (before, the agent was set aside with no _v2).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';
import { tsFixturesDir } from './helpers/ts-fixture-cases.js';

const cases = ['constructor-config-from-other-file-loader-health-env', 'constructor-config-from-imported-loader-health-env'];
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The case's repository with the agent as `agent` (input or expected) and main.ts importing it. */
function repo(fixture: string, agent: 'input' | 'expected'): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-other-file-config-'));
  roots.push(root);
  cpSync(fixture, root, { recursive: true, filter: (src) => !/^(input|expected)\.ts$|^case\.yaml$/.test(path.relative(fixture, src)) });
  writeFileSync(path.join(root, 'services/gateway/report-gateway.ts'), readFileSync(path.join(fixture, `${agent}.ts`), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

async function answers(url: string, init?: RequestInit): Promise<number> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
}

for (const [name, agent] of cases.flatMap((c) => (['input', 'expected'] as const).map((a) => [c, a] as const))) {
  it(`${name}, ${agent === 'input' ? 'legacy' : '_v2'}: /health on HEALTH_CHECK_PORT and POST /reports on AGENT_PORT answer; it stops cleanly`, async () => {
    const root = repo(path.join(tsFixturesDir, name), agent);
    const [api, health] = [await freePort(), await freePort()];
    const got = { health: 0, stats: 0, report: 0 };
    let asking = false;
    const { code, log } = await stopWhen(
      root,
      'services/gateway/main.ts',
      { AGENT_PORT: String(api), HEALTH_CHECK_PORT: String(health), SPOOL_DIR: path.join(root, 'spool'), REGISTRY_URL: 'http://127.0.0.1:9' },
      (l) => {
        if (!asking && /listening on/.test(l)) {
          asking = true;
          void (async () => {
            for (let i = 0; i < 100 && !(got.health && got.report); i++) {
              got.health ||= await answers(`http://127.0.0.1:${health}/health`);
              got.report ||= await answers(`http://127.0.0.1:${api}/reports`, { method: 'POST', body: JSON.stringify({ id: 'r-1', rows: [] }) });
              got.stats ||= await answers(`http://127.0.0.1:${api}/stats`);
              if (!(got.health && got.report)) await new Promise((r) => setTimeout(r, 100));
            }
          })();
        }
        return got.health > 0 && got.report > 0 && got.stats > 0;
      },
    );
    expect(log).not.toMatch(/EADDRINUSE/);
    expect(got.health, log).toBe(200);
    expect(got.report, log).toBe(202);
    expect(got.stats, log).toBe(200);
    expect(code, log).toBe(0);
  }, 90_000);
}
