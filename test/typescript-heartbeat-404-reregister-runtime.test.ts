// A Node agent whose heartbeat re-registers it through its own register() when the registry answers 404
// (fixture registry-heartbeat-404-reregisters), legacy and _v2 started for real (the _v2 on the reference
// BaseAgent) against a registry that forgets the agent at its first heartbeat. register() went with its
// call at start (the base registers there) and the heartbeat's call is the base's registerOnce(): what
// this proves is that both register once at start and once again after the 404 (a _v2 whose call went
// with register() registers nothing then, and the restarted registry never lists it again), end with one
// live entry with the start record's name and health port, and deregister once at SIGTERM (the base's
// stop(); the agent's own went with register()), leaving the table empty.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';
import { forgetfulRegistry } from './helpers/forgetful-registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// (QuoteCache awaits the re-registration in its heartbeat; ShipmentTracker, CommonJS, fires it with a .catch())
const cases = [
  { fixture: 'registry-heartbeat-404-reregisters', agent: 'agents/quote-cache.ts', v2: 'agents/quote-cache_v2.ts', ext: 'ts', esm: true, name: 'quote-cache', env: (root: string) => ({ QUOTES_FILE: path.join(root, 'var', 'quotes.json') }) },
  { fixture: 'cjs-heartbeat-404-reregister-catch-chain', agent: 'services/shipment-tracker.js', v2: 'services/shipment-tracker_v2.js', ext: 'js', esm: false, name: 'shipment-tracker', env: (root: string) => ({ SHIPMENTS_FILE: path.join(root, 'var', 'shipments.json'), UPDATES_FILE: path.join(root, 'var', 'updates.jsonl') }) },
];

describe.each(cases)('$fixture: a heartbeat re-registering on 404 through its own register()', ({ fixture, agent, v2, ext, esm, name, env }) => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: registered again after the 404, one live entry, none after SIGTERM`, async () => {
      const root = fixtureRepo(path.join(fixtures, fixture), { [agent]: `input.${ext}`, [v2]: `expected.${ext}` }, roots, esm);
      const registry = await forgetfulRegistry();
      const of = (p: string) => registry.posts.filter((x) => x.url === p);
      let live: Array<Record<string, unknown>> = [];
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: registry.url, HEARTBEAT_MS: '300', ...env(root) },
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
        expect(before, log).toHaveLength(1);
        // Once again for every heartbeat answered 404 (one, or more when the next beat went out before the
        // registration landed, as under load): never none.
        const forgotten = of('/heartbeat').filter((x) => x.status === 404).length;
        expect(forgotten, log).toBeGreaterThanOrEqual(1);
        expect(registered, log).toHaveLength(1 + forgotten);
        // One live entry, under the name and with the health port registered at start.
        expect(live, log).toHaveLength(1);
        expect(live[0]).toMatchObject({ name: before[0]!.body.name, health_check_port: before[0]!.body.health_check_port });
        expect(of('/deregister').map((x) => x.body), log).toEqual([{ name }]);
        expect(registry.live.size).toBe(0);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});

// registry-heartbeat-404-reregister-voided-own-catch: register() catches its own failures and the heartbeat fires
// it voided, outside any try. Against a registry that forgets the agent and then refuses every registration, the
// legacy logs each failure and goes on beating; so must the _v2, whose registerOnce() rejects there: its call
// carries a .catch() that logs (without it, the _v2 beat on with every refusal unsaid: this test failed).
describe('registry-heartbeat-404-reregister-voided-own-catch: a re-registration the registry refuses', () => {
  const fixture = 'registry-heartbeat-404-reregister-voided-own-catch';
  const agent = 'agents/quote-cache.ts';
  const v2 = 'agents/quote-cache_v2.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: logs the refused re-registration and beats on until SIGTERM, exit 0`, async () => {
      const root = fixtureRepo(path.join(fixtures, fixture), { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots, true);
      const registry = await forgetfulRegistry({ refuseAgain: true });
      const of = (p: string) => registry.posts.filter((x) => x.url === p);
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: registry.url, HEARTBEAT_MS: '300', QUOTES_FILE: path.join(root, 'var', 'quotes.json') },
          // Two refused re-registrations and a heartbeat after them: the process outlived both.
          () => of('/register').filter((x) => x.status === 503).length >= 2 && of('/heartbeat').length >= 4,
        );
        expect(code, log).toBe(0);
        expect(log).toMatch(/registration failed/);
        expect(log).not.toMatch(/Unhandled|UnhandledPromiseRejection/);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
