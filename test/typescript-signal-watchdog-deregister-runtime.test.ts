// A SIGTERM handler with a once-only guard, a watchdog armed in two statements (`const force =
// setTimeout(() => process.exit(1), 20_000); force.unref();`) and `edge.shutdown().then(() =>
// process.exit(0))` (fixture sigterm-once-guard-watchdog-local-shutdown-exits, FlagEdge). Kept whole
// beside the base's handler, its exit(0) came as soon as shutdown() resolved, before the base's
// stop() deregistered: the _v2 stayed in the registry. The legacy file and the _v2 are started for
// real, under a deployment's AGENT_NAME, and stopped by SIGTERM once registered: both exit 0, and
// each deregisters exactly the name it registered ('flag-edge' for the legacy, which ignores
// AGENT_NAME; AGENT_NAME for the _v2, whose base registers under it), once, and nothing else.
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { driveAgent, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const FIXTURE = 'sigterm-once-guard-watchdog-local-shutdown-exits';
const AGENT = 'services/flag-edge.ts';

describe('a kept SIGTERM watchdog does not cut the deregistration short', () => {
  for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
    it(`${side}: SIGTERM once registered ends it with 0, deregistered`, async () => {
      const root = fixtureRepo(FIXTURE, AGENT, roots);
      const registry = await recordingRegistry();
      try {
        const port = String(await freePort());
        const env = { FLAGS_PORT: port, AGENT_PORT: port, HEALTH_CHECK_PORT: String(await freePort()), REGISTRY_URL: registry.url, AGENT_NAME: 'flag-edge-blue', FLAGS_FILE: `${root}/no-flags.json` };
        const { code, log } = await driveAgent(root, file, env, [], async (child, out, exited) => {
          const end = Date.now() + 30_000;
          while (Date.now() < end && child.exitCode === null && !(/serving 0 flag/.test(out()) && registry.registrations.length > 0)) await new Promise((r) => setTimeout(r, 50));
          expect(registry.registrations.length, out()).toBeGreaterThan(0);
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          const c = await exited;
          clearTimeout(timer);
          return c;
        });
        expect(code, log).toBe(0);
        expect(log).toMatch(/closed after 0 request\(s\)/);
        const registered = [...new Set(registry.requests.filter((r) => r.path === '/register').map((r) => r.name))];
        expect(registered, log).toEqual([side === 'legacy' ? 'flag-edge' : 'flag-edge-blue']);
        expect(registry.requests.filter((r) => r.path === '/deregister'), log).toEqual([{ path: '/deregister', name: registered[0] }]);
        // The registry's last word on that name is the deregistration.
        expect(registry.requests.filter((r) => r.name === registered[0]).at(-1)?.path, log).toBe('/deregister');
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
