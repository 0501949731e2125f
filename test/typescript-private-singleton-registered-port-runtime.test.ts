// probe-node64's price feed and fuel price board: a kept business server on a port read from a
// namespace of the file (FeedSettings.port(), which reads AGENT_PORT, else PRICE_FEED_PORT) or from a
// settings object imported from ./settings (FUEL_BOARD_PORT), registered by a removed loop. Before, the
// base was given no port and registered AGENT_PORT, else 0: deployed without AGENT_PORT, callers
// looking the feed up reached port 0. The first feed is a singleton behind a private constructor
// that main.ts starts; the entry point the rewrite adds builds it through PriceFeed.get() (before:
// `new PriceFeed()`, which did not compile). Each feed, legacy and _v2, started through main.ts as
// deployed (and the _v2 by its own entry point, and under AGENT_PORT as the validator starts it):
// the registered port answers its business GET, and on SIGTERM main.ts's 'stopped' listener writes
// its snapshot and the process exits 0.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';
import { tsFixturesDir } from './helpers/ts-fixture-cases.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// Each agent: the variable its port is read from, a business request only its own server answers,
// the variable naming main.ts's snapshot file and a key the snapshot holds.
const feeds = [
  { fixture: 'private-singleton-namespace-port-started-by-main', agent: 'services/pricefeed/price-feed.ts', portVar: 'PRICE_FEED_PORT', request: '/quote/EURUSD', snapshotVar: 'QUOTE_SNAPSHOT', key: 'EURUSD' },
  { fixture: 'imported-settings-port-registered-server-kept', agent: 'services/depot/fuel-price-board.ts', portVar: 'FUEL_BOARD_PORT', request: '/stations/harbour', snapshotVar: 'BOARD_SNAPSHOT', key: 'harbour', extra: ['services/depot/settings.ts'] },
];

describe.each(feeds as Array<(typeof feeds)[number] & { extra?: string[] }>)('$fixture: the registered port answers', ({ fixture, agent, portVar, request, snapshotVar, key, extra = [] }) => {
  const v2 = agent.replace(/\.ts$/, '_v2.ts');
  const MAIN = path.posix.join(path.posix.dirname(agent), 'main.ts');
  const sides: Array<readonly [string, string, string, boolean]> = [
    // [side, what sits at the agent's path, the file started, AGENT_PORT set]
    ['legacy through main.ts', 'input.ts', MAIN, false],
    ['_v2 through main.ts', 'expected.ts', MAIN, false],
    ['_v2 through main.ts under AGENT_PORT', 'expected.ts', MAIN, true],
    ['_v2 by its own entry point', 'input.ts', v2, false],
  ];
  for (const [side, atAgent, started, agentPort] of sides) {
    it(side, async () => {
      const files: Record<string, string> = { [agent]: atAgent, [MAIN]: MAIN, [v2]: 'expected.ts' };
      for (const f of extra) files[f] = f;
      const root = fixtureRepo(path.join(tsFixturesDir, fixture), files, roots);
      const registry = await recordingRegistry();
      const feedPort = await freePort();
      const snapshot = path.join(root, 'snapshot.json');
      const env: Record<string, string> = { REGISTRY_URL: registry.url, [portVar]: String(feedPort), [snapshotVar]: snapshot, PRICE_POLL_MS: '100', SAMPLE_MS: '100', HEALTH_CHECK_PORT: String(await freePort()) };
      const expectedPort = agentPort ? await freePort() : feedPort;
      if (agentPort) env.AGENT_PORT = String(expectedPort);
      let quoted = 0;
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const port = registry.registrations[0]?.port;
          if (port) await fetch(`http://127.0.0.1:${port}${request}`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200 && (quoted += 1), () => undefined);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        const { code, log } = await stopWhen(root, started, env, () => quoted > 0);
        expect(code, log).toBe(0);
        expect(registry.registrations.map((r) => r.port), log).toEqual([expectedPort]);
        if (started === MAIN) {
          expect(existsSync(snapshot), log).toBe(true);
          expect(Object.keys(JSON.parse(readFileSync(snapshot, 'utf8'))), log).toContain(key);
        }
      } finally {
        polling = false;
        await poller;
        registry.close();
      }
    }, 90_000);
  }
});
