// A cluster primary registered `port: RATE_PORT`, the port its workers serve from a function
// outside the class; on the base the registration is the base's, which registered port 0 (no
// AGENT_PORT, none given to super()): callers looking the service up got a dead port
// (probe-node54). The cluster-primary-registers-worker-port fixture, legacy file and _v2, is
// started for real with one worker; each must register the workers' port, which answers a lookup.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

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
      const registry = await recordingRegistry();
      const registrations = registry.registrations;
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
          { REGISTRY_URL: registry.url, RATE_PORT: String(ratePort), RATE_HEALTH_PORT: String(await freePort()), RATE_WORKERS: '1' },
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
