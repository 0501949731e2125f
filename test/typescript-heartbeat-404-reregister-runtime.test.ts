// A Node agent whose heartbeat re-registers it through its own register() when the registry answers 404
// (fixture registry-heartbeat-404-reregisters), legacy and _v2 started for real (the _v2 on the reference
// BaseAgent) against a registry that forgets the agent at its first heartbeat. The base cannot register
// again on demand, so register() stays for review: what this proves is that the _v2 still registers again
// after the 404 (before, the call went with register() and the restarted registry never listed the agent),
// ends with one live entry with the start record's name and health port, and leaves the table empty at
// SIGTERM. The counts the review item names are asserted as they are: the base's registration beside the
// agent's at start, and the base's deregistration beside the agent's at stop.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';
import { forgetfulRegistry } from './helpers/forgetful-registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'registry-heartbeat-404-reregisters');
const agent = 'agents/quote-cache.ts';
const v2 = 'agents/quote-cache_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a heartbeat re-registering on 404 through its own register()', () => {
  for (const [side, file, atStart, deregistrations] of [['legacy', agent, 1, 1], ['_v2', v2, 2, 2]] as const) {
    it(`${side}: registered again after the 404, one live entry, none after SIGTERM`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots, true);
      const registry = await forgetfulRegistry();
      const of = (p: string) => registry.posts.filter((x) => x.url === p);
      let live: Array<Record<string, unknown>> = [];
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: registry.url, HEARTBEAT_MS: '300', QUOTES_FILE: path.join(root, 'var', 'quotes.json') },
          // Forgotten at the first heartbeat, then two heartbeats later it is known again (or never is).
          () => {
            if (of('/heartbeat').length < 3) return false;
            live = [...registry.live.values()];
            return true;
          },
        );
        await new Promise((r) => setTimeout(r, 200));
        expect(code, log).toBe(0);
        const registered = of('/register').map((x) => x.body);
        const firstBeat = registry.posts.findIndex((x) => x.url === '/heartbeat');
        const before = registry.posts.slice(0, firstBeat).filter((x) => x.url === '/register');
        expect(before, log).toHaveLength(atStart);
        expect(registered, log).toHaveLength(atStart + 1);
        // One live entry, under the name and with the health port registered at start.
        expect(live, log).toHaveLength(1);
        expect(live[0]).toMatchObject({ name: before[0]!.body.name, health_check_port: before[0]!.body.health_check_port });
        expect(of('/deregister').map((x) => x.body), log).toEqual(Array(deregistrations).fill({ name: 'quote-cache' }));
        expect(registry.live.size).toBe(0);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
