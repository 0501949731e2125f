// A hand-made registration with a registry of the agent's own (QUOTA_REGISTRY_URL, not the base's
// REGISTRY_URL) went with the migration, and the base registers with REGISTRY_URL only: a
// deployment that set the agent's variable lost its registry. The registry-own-env-var-quota
// fixture, legacy file and _v2, is started for real with QUOTA_REGISTRY_URL alone pointing at a
// loopback registry; both must register there as 'quota-sync'. Before REGISTRY_URL was set from
// the agent's variable, the _v2 logged "no REGISTRY_URL set; not registering" and never came.
import { rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'registry-own-env-var-quota');
const agent = 'agents/quota-sync.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const materialize = () => fixtureRepo(fixture, { [agent]: 'input.ts', 'agents/quota-sync_v2.ts': 'expected.ts' }, roots);

describe("an agent's own registry variable still names its registry after the migration", () => {
  for (const [side, file] of [['legacy', agent], ['_v2', 'agents/quota-sync_v2.ts']] as const) {
    it(`${side}: registers with QUOTA_REGISTRY_URL`, async () => {
      const root = materialize();
      const names: string[] = [];
      const registry = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (req.url === '/register') names.push(String(JSON.parse(body || '{}').name));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
      const port = (registry.address() as import('node:net').AddressInfo).port;
      try {
        const { log } = await stopWhen(
          root,
          file,
          { QUOTA_REGISTRY_URL: `http://127.0.0.1:${port}`, QUOTA_HEALTH_PORT: '0', QUOTA_SNAPSHOT_DIR: path.join(root, 'snap'), BILLING_URL: 'http://127.0.0.1:9' },
          () => names.length > 0,
        );
        expect(names, log).toContain('quota-sync');
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
