// A kept business server's own /health answer that follows the agent's state, mirrored into
// healthStatus() since the deployment now probes the base's /health:
//  - route-table-health-row-degraded-mirrored: a row of a { method, pattern, handler } route table,
//    503 `degraded` once the pending scans reach MAX_PENDING;
//  - switch-url-health-case-degraded-mirrored: `case '/health':` of a switch on the path,
//    503 `backlogged` once more than MAX_QUEUED print jobs wait.
// The legacy file and the _v2 are started for real (nothing flushed during the test): /health is
// asked before and after two requests fill the backlog, on the legacy's business port and on the
// _v2's base health port. Both say ok, then the same 503 with the same fields.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound, inBackground } from './helpers/ask.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const CASES = [
  {
    fixture: 'route-table-health-row-degraded-mirrored',
    agent: 'services/scan-intake.ts',
    env: (port: number, root: string) => ({ SCAN_PORT: String(port), MAX_PENDING: '2', FLUSH_MS: '600000', SCAN_JOURNAL: path.join(root, 'journal.jsonl') }),
    ready: /accepting scans on/,
    fill: ['/scans/PAL-1', '/scans/PAL-2'],
    answers: [[200, 'ok'], [503, 'degraded']],
    fields: ['pending', 'received', 'journaled'],
  },
  {
    fixture: 'switch-url-health-case-degraded-mirrored',
    agent: 'services/label-queue.ts',
    env: (port: number, root: string) => ({ LABEL_QUEUE_PORT: String(port), MAX_QUEUED: '1', SPOOL_MS: '600000', SPOOL_DIR: root }),
    ready: /taking jobs on/,
    fill: ['/jobs/pack-3', '/jobs/pack-4'],
    answers: [[200, 'ok'], [503, 'backlogged']],
    fields: ['queued', 'printed'],
  },
];

type Answer = { code: number; body: Record<string, unknown> };

describe("a kept business server's /health answer that follows the agent state is mirrored into healthStatus()", () => {
  for (const c of CASES) {
    const answers: Record<string, Answer[]> = {};
    for (const [side, file] of [['legacy', c.agent], ['_v2', v2(c.agent)]] as const) {
      it(`${c.fixture}, ${side}: /health says ${c.answers[0]!.join(' ')}, then ${c.answers[1]!.join(' ')} once the backlog is full`, async () => {
        const root = fixtureRepo(c.fixture, c.agent, roots);
        const port = await freePort();
        const seen: Answer[] = [];
        let asking: { done: boolean; error?: unknown } | undefined;
        const { code, log } = await stopWhen(root, file, c.env(port, root), (l) => {
          // The legacy answers /health on its business port; the _v2's base on its health port (HEALTH_CHECK_PORT=0: the one it logs).
          const healthPort = side === 'legacy' ? port : Number(/health check on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(l)?.[1] ?? 0);
          if (!asking && healthPort && c.ready.test(l)) {
            const health = () => fetchWhenBound(`http://127.0.0.1:${healthPort}/health`, { headers: { connection: 'close' } }).then(async (r) => seen.push({ code: r.status, body: (await r.json()) as Record<string, unknown> }));
            const post = (p: string) => fetchWhenBound(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers: { connection: 'close' } }).then((r) => r.status);
            asking = inBackground(async () => {
              await health();
              for (const p of c.fill) expect(await post(p), `POST ${p}`).toBe(202);
              await health();
            });
          }
          return asking?.done ?? false;
        });
        expect(asking?.error, log).toBeUndefined();
        expect(seen.map((a) => [a.code, a.body.status]), log).toEqual(c.answers);
        expect(code, log).toBe(0);
        answers[side] = seen;
      }, 60_000);
    }
    it(`${c.fixture}: both answer alike`, () => {
      const fields = (a: Answer[] | undefined) => a?.map((x) => [x.code, x.body.status, ...c.fields.map((f) => x.body[f])]);
      expect(answers._v2).toBeDefined();
      expect(fields(answers._v2)).toEqual(fields(answers.legacy));
    });
  }
});
