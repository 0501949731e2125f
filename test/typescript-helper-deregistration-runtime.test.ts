// A stop() that deregistered through the module's own http.request wrapper (`await
// postJson(`${this.registryUrl}/deregister`, { name }, 1000)`), not fetch: the rewrite does not prove
// the wrapper's body, so the call stays in onStop() and the base's stop() deregisters after it
// (probe-node62, WebhookRelay: kept with no word). The review item says the registry now gets two
// deregistrations; the cjs-required-health-helper-positional-port-alias-entry fixture, legacy file and _v2, is
// started for real against a loopback registry that records what it is sent and stopped with
// SIGTERM: the legacy one deregisters once, the _v2 twice, as the item says.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'cjs-required-health-helper-positional-port-alias-entry');
const agent = 'agents/webhook-relay.cjs';
const v2 = 'agents/webhook-relay_v2.cjs';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a deregistration through a module helper, kept, meets the base\'s', () => {
  for (const [side, file, times] of [['legacy', agent, 1], ['_v2', v2, 2]] as const) {
    it(`${side}: SIGTERM deregisters 'webhook-relay' ${times} time(s)`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.cjs', [v2]: 'expected.cjs', 'agents/lib/health.cjs': 'agents/lib/health.cjs', 'agents/lib/backoff.cjs': 'agents/lib/backoff.cjs' }, roots);
      const registry = await recordingRegistry();
      try {
        const env = { REGISTRY_URL: registry.url, AGENT_PORT: String(await freePort()), HEALTH_CHECK_PORT: String(await freePort()) };
        const { code, log } = await stopWhen(root, file, env, () => registry.requests.some((r) => r.path === '/register'));
        await new Promise((r) => setTimeout(r, 200));
        expect(code, log).toBe(0);
        expect(log).toContain('relay stopped');
        expect(registry.requests.filter((r) => r.path === '/deregister'), log).toEqual(Array(times).fill({ path: '/deregister', name: 'webhook-relay' }));
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
