// A cluster primary registered `port: RATE_PORT`, the port its workers serve from a function
// outside the class; on the base the registration is the base's, which registered port 0 (no
// AGENT_PORT, none given to super()): callers looking the service up got a dead port
// (probe-node54). The cluster-primary-registers-worker-port fixture, legacy file and _v2, is
// started for real with one worker; each must register the workers' port, which answers a lookup.
import { rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'cluster-primary-registers-worker-port');
const agent = 'services/fx-rate-cluster.cjs';
const v2 = 'services/fx-rate-cluster_v2.cjs';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe("a cluster primary registers its workers' port", () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: the registered port is the one the workers serve`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.cjs', [v2]: 'expected.cjs' }, roots);
      const registrations: Array<{ port?: number }> = [];
      const registry = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (req.url === '/register') registrations.push(JSON.parse(body || '{}'));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
      });
      await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
      const registryPort = (registry.address() as import('node:net').AddressInfo).port;
      const ratePort = await freePort();
      // The registered port answers a lookup (a worker's server: 404 for an unknown currency).
      let answered = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          await fetch(`http://127.0.0.1:${ratePort}/rate/EUR`).then(() => (answered += 1), () => undefined);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: `http://127.0.0.1:${registryPort}`, RATE_PORT: String(ratePort), RATE_HEALTH_PORT: String(await freePort()), RATE_WORKERS: '1' },
          () => registrations.length > 0 && answered > 0,
        );
        expect(code, log).toBe(0);
        expect(registrations.map((r) => r.port), log).toEqual([ratePort]);
      } finally {
        polling = false;
        await poller;
        registry.close();
      }
    }, 60_000);
  }
});
