// fatal-close-exit-code-onto-base-stop: the agent ends itself through close(code) (clears its
// poll interval, closes its server, process.exit(code)) when the gateway stays down. In the _v2 the
// interval is the base's loop, so that call is the base's stop() then the same exit. Legacy and _v2
// are started for real against a gateway nobody listens on: both give up after three failed polls
// and exit 2; the _v2 registered, and deregistered before it exited.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { exitOf, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const AGENT = 'agents/meter-reader.ts';

describe('an agent ending itself through its exiting close(code) ends through the base stop() with the same code', () => {
  for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
    it(`${side}: the gateway down, it gives up after 3 polls and exits 2${side === '_v2' ? ', deregistered' : ''}`, async () => {
      const root = fixtureRepo('fatal-close-exit-code-onto-base-stop', AGENT, roots);
      const registry = await recordingRegistry();
      try {
        const env = {
          METER_GATEWAY: `http://127.0.0.1:${await freePort()}/api/readings`,
          METER_HEALTH_PORT: String(await freePort()),
          METER_POLL_MS: '100',
          METER_MAX_FAILURES: '3',
          METER_OUT_DIR: path.join(root, 'var'),
          REGISTRY_URL: registry.url,
        };
        const { code, log } = await exitOf(root, file, env);
        expect(log).toMatch(/gateway unreachable 3 times, giving up/);
        expect(log).toMatch(/closed after 0 readings/);
        expect(code, log).toBe(2);
        if (side === '_v2') expect(registry.requests.map((r) => r.path), log).toEqual(['/register', '/deregister']);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
