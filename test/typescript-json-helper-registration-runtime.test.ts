// Registration and deregistration through the module's own http.request JSON helper (postJson(url,
// payload), httpJson(method, url, payload)): the rewrite proves the helper sends only that JSON to that
// URL and drops both calls, the base registering and deregistering the same name (before, the _v2
// registered twice and deregistered twice). Each fixture's legacy file and _v2 run against a loopback
// registry that records what it is sent: one /register and one /deregister, under the same name, the
// registered port answering /health, and the business shutdown work (the indexer's checkpoint) done.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const cases = [
  {
    fixture: 'mjs-post-json-helper-registers-worker-indexer',
    dir: 'packages/price-indexer/src',
    file: 'price-indexer',
    worker: 'hash-worker.mjs',
    name: 'price-indexer',
    env: (port: number, data: string) => ({ INDEXER_PORT: String(port), PRICE_LOG: path.join(data, 'changes.ndjson'), INDEX_DIR: path.join(data, 'index') }),
    afterStop: (data: string) => existsSync(path.join(data, 'index', 'checkpoint.json')),
  },
  {
    fixture: 'mjs-http-json-helper-create-awaits-config',
    dir: 'packages/audit-shipper/src',
    file: 'audit-shipper',
    worker: 'compress-worker.mjs',
    name: 'audit-shipper',
    env: (port: number, data: string) => ({ AUDIT_PORT: String(port), AUDIT_SOURCE: path.join(data, 'audit.log'), AUDIT_ARCHIVE: path.join(data, 'archive') }),
    afterStop: (data: string) => existsSync(path.join(data, 'archive')),
  },
];

async function healthAnswers(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => null);
  return res?.status ?? 0;
}

describe('registry calls through a module JSON helper meet the base once', () => {
  for (const c of cases) {
    for (const side of ['legacy', '_v2'] as const) {
      it(`${c.fixture} ${side}: one /register and one /deregister as '${c.name}', the registered port answers /health`, async () => {
        const agent = `${c.dir}/${c.file}${side === 'legacy' ? '' : '_v2'}.mjs`;
        const dir = path.join(fixtures, c.fixture);
        const root = fixtureRepo(dir, { [agent]: side === 'legacy' ? 'input.mjs' : 'expected.mjs', [`${c.dir}/${c.worker}`]: `${c.dir}/${c.worker}` }, roots);
        const data = mkdtempSync(path.join(os.tmpdir(), 'json-helper-data-'));
        roots.push(data);
        const registry = await recordingRegistry();
        try {
          const env = { REGISTRY_URL: registry.url, AGENT_PORT: String(await freePort()), HEALTH_CHECK_PORT: String(await freePort()), ...c.env(await freePort(), data) };
          let health = 0;
          const { code, log } = await driveAgent(root, agent, env, [], async (child, out, exited) => {
            const end = Date.now() + 30_000;
            const registered = () => registry.requests.some((r) => r.path === '/register');
            while (Date.now() < end && child.exitCode === null && !registered()) await new Promise((r) => setTimeout(r, 50));
            expect(registered(), out()).toBe(true);
            // Let a second registration, if any, land before counting.
            await new Promise((r) => setTimeout(r, 700));
            health = await healthAnswers(Number(registry.registrations[0]!.port));
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            const exit = await exited;
            clearTimeout(timer);
            return exit;
          });
          await new Promise((r) => setTimeout(r, 200));
          expect(code, log).toBe(0);
          expect(health, log).toBe(200);
          const calls = registry.requests.filter((r) => r.path === '/register' || r.path === '/deregister');
          expect(calls, log).toEqual([
            { path: '/register', name: c.name },
            { path: '/deregister', name: c.name },
          ]);
          expect(c.afterStop(data), log).toBe(true);
        } finally {
          registry.close();
        }
      }, 90_000);
    }
  }
});
