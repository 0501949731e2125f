// route-table-health-row-degraded-mirrored: the /health row of a kept business server's route
// table answers 503 `degraded` while the pending scans are at MAX_PENDING, 200 `ok` otherwise. The
// deployment now probes the base's /health, so its healthStatus() must say the same. The legacy file
// and the _v2 are started for real (MAX_PENDING=2, no flush during the test): /health is asked
// before and after two scans are POSTed, on the legacy's intake port and on the _v2's base health port.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const AGENT = 'services/scan-intake.ts';
const materialize = () => fixtureRepo('route-table-health-row-degraded-mirrored', AGENT, roots);

type Answer = { code: number; body: Record<string, unknown> };

describe('a route-table /health row whose answer follows the agent state is mirrored into healthStatus()', () => {
  const answers: Record<string, Answer[]> = {};
  for (const [side, file] of [['legacy', AGENT], ['_v2', AGENT.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: /health says ok, then 503 degraded once the pending scans reach MAX_PENDING`, async () => {
      const root = materialize();
      const port = await freePort();
      const seen: Answer[] = [];
      let asked = false;
      let done = false;
      const { code, log } = await stopWhen(root, file, { SCAN_PORT: String(port), MAX_PENDING: '2', FLUSH_MS: '600000', SCAN_JOURNAL: path.join(root, 'journal.jsonl') }, (l) => {
        // The legacy answers /health on its intake port; the _v2's base on its health port (HEALTH_CHECK_PORT=0: the one it logs).
        const healthPort = side === 'legacy' ? port : Number(/health check on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(l)?.[1] ?? 0);
        if (!asked && healthPort && /accepting scans on/.test(l)) {
          asked = true;
          const health = () => fetch(`http://127.0.0.1:${healthPort}/health`, { headers: { connection: 'close' } }).then(async (r) => seen.push({ code: r.status, body: (await r.json()) as Record<string, unknown> }));
          const scan = (p: string) => fetch(`http://127.0.0.1:${port}/scans/${p}`, { method: 'POST', headers: { connection: 'close', 'x-dock': 'D4' } }).then((r) => r.status);
          void (async () => {
            await health();
            expect([await scan('PAL-1'), await scan('PAL-2')]).toEqual([202, 202]);
            await health();
          })().finally(() => (done = true));
        }
        return done;
      });
      expect(seen.map((a) => [a.code, a.body.status, a.body.pending, a.body.received]), log).toEqual([
        [200, 'ok', 0, 0],
        [503, 'degraded', 2, 2],
      ]);
      expect(code, log).toBe(0);
      answers[side] = seen;
    }, 60_000);
  }
  it('both answer alike', () => {
    const fields = (a: Answer[] | undefined) => a?.map((x) => ({ code: x.code, status: x.body.status, pending: x.body.pending, received: x.body.received, journaled: x.body.journaled }));
    expect(answers._v2).toBeDefined();
    expect(fields(answers._v2)).toEqual(fields(answers.legacy));
  });
});
