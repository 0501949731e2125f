// signal-loop-logs-signal-name: `for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => {
// console.log(`... stopping on ${sig}`); exporter.flush().then(() => process.exit(0)); })`. In the
// _v2 the flush is the base's onStop() and the exit the base's; the line naming the signal stays in
// the loop's listener. Legacy and _v2 are started for real and stopped with SIGTERM: both name the
// signal, flush (its log line) and exit 0; the _v2 deregistered.
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const AGENT = 'agents/ledger-exporter.ts';

describe('a signal loop whose handler logs and flushes: the flush is onStop(), the log line stays', () => {
  for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
    it(`${side}: SIGTERM names the signal, flushes, exits 0${side === '_v2' ? ', deregistered' : ''}`, async () => {
      const root = fixtureRepo('signal-loop-logs-signal-name', AGENT, roots);
      const registry = await recordingRegistry();
      const healthPort = await freePort();
      try {
        let up = false;
        let asking = false;
        const { code, log } = await stopWhen(root, file, { HEALTH_PORT: String(healthPort), SHIP_EVERY_MS: '600000', REGISTRY_URL: registry.url }, (l) => {
          // The legacy logs nothing when it starts: ready once its /health answers (the _v2's base logs its own).
          const base = /health check on http:\/\/[\d.]+:(\d+)\/health/.exec(l)?.[1];
          const port = side === 'legacy' ? healthPort : base ? Number(base) : 0;
          if (!up && !asking && port) {
            asking = true;
            fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })
              .then((r) => (up = r.ok))
              .catch(() => undefined)
              .finally(() => (asking = false));
          }
          return up && (side === 'legacy' || registry.requests.length > 0);
        });
        expect(log).toMatch(/ledger exporter stopping on SIGTERM/);
        expect(log).toMatch(/ledger exporter flushed \(0 lines shipped\)/);
        expect(code, log).toBe(0);
        if (side === '_v2') expect(registry.requests.map((r) => r.path), log).toEqual(['/register', '/deregister']);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
