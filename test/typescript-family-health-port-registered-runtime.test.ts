// A family subclass with no port of its own registered its parent's health port as its port
// (DocIndexer under PollingWorker: `port: this.healthPort`). The base registers AGENT_PORT (else 0):
// with the registration gone to the base, callers taking port from the registry reached nothing.
// The rewrite sets AGENT_PORT just before the subclass's super() to the health port the base serves.
// Legacy (with the legacy parent) and _v2 (with the parent's _v2) of the
// family-subclass-registers-parent-health-port fixture are started for real against a loopback
// registry: each registers once, as doc-indexer, with HEALTH_CHECK_PORT as port, answers /health
// there, and deregisters once on SIGTERM.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';
import { removeRepos } from './helpers/fixture-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'family-subclass-registers-parent-health-port');
const roots: string[] = [];
afterAll(() => removeRepos(roots));

const files = {
  'lib/polling-worker.ts': 'lib/polling-worker.ts',
  'lib/polling-worker_v2.ts': 'lib/polling-worker_v2.ts',
  'services/indexer/doc-indexer.ts': 'input.ts',
  'services/indexer/doc-indexer_v2.ts': 'expected.ts',
};

describe('a family subclass registering its parent health port as port: legacy and _v2 register the same port', () => {
  for (const [side, file] of [['legacy', 'services/indexer/doc-indexer.ts'], ['_v2', 'services/indexer/doc-indexer_v2.ts']] as const) {
    it(`${side}: one registration as doc-indexer with port = HEALTH_CHECK_PORT, which answers /health; one deregistration`, async () => {
      const root = fixtureRepo(fixture, files, roots);
      const registry = await recordingRegistry();
      const health = await freePort();
      let registered: number | null = null;
      // /health asked once on the port the registry was given, as a caller looking the agent up would.
      let asked: Promise<number | string> | null = null;
      let status: number | string | null = null;
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: registry.url, HEALTH_CHECK_PORT: String(health), INBOX_DIR: path.join(root, 'inbox'), INDEX_FILE: path.join(root, 'index.ndjson') },
          (log) => {
            if (!registry.requests.some((r) => r.path === '/register') || !log.includes('indexing ')) return false;
            asked ??= fetch(`http://127.0.0.1:${registry.registrations[0]!.port}/health`).then(
              (res) => res.status,
              (err: Error) => err.message,
            ).then((s) => (status = s));
            return status !== null;
          },
        );
        await new Promise((r) => setTimeout(r, 300));
        expect(code, log).toBe(0);
        expect(registry.requests.filter((r) => r.path === '/register'), log).toEqual([{ path: '/register', name: 'doc-indexer' }]);
        expect(registry.requests.filter((r) => r.path === '/deregister'), log).toEqual([{ path: '/deregister', name: 'doc-indexer' }]);
        registered = registry.registrations[0]!.port ?? null;
      } finally {
        registry.close();
      }
      expect(registered).toBe(health);
      expect(status).toBe(200);
    }, 120_000);
  }
});
