// An in-house express-like app answering /health alone goes whole with the server it runs on
// (health-only-app.ts): its port reaches the base as healthCheckPort and its payload healthStatus().
// The legacy file and the _v2 are started for real with the deployment's HEALTH_PORT and no
// HEALTH_CHECK_PORT: /health answers on HEALTH_PORT on both, with the same counters, after one round
// of work; the _v2 binding it proves no leftover app holds that port (EADDRINUSE otherwise).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const CASES = [
  {
    fixture: 'cjs-mini-app-health-only-listen-result',
    agent: 'services/spool_compactor.js',
    env: (root: string) => {
      const spool = path.join(root, 'spool');
      mkdirSync(spool, { recursive: true });
      for (let i = 0; i < 9; i++) writeFileSync(path.join(spool, `label-${i}.seg`), `label ${i}\n`);
      return { SPOOL_DIR: spool, COMPACT_EVERY_MS: '200' };
    },
    // One compaction done: the counters /health reports have moved.
    ready: /folded 9 segments/,
    fields: (b: Record<string, unknown>) => [b.status, b.segments, b.compactions, typeof b.last_compaction],
    expected: ['ok', 0, 1, 'string'],
  },
  {
    fixture: 'esm-mini-app-health-only-create-server',
    agent: 'services/tracking-poller.mjs',
    // The tracking API is down (a port nothing listens on): each round counts a failure.
    env: async (root: string) => ({ TRACKING_URL: `http://127.0.0.1:${await freePort()}/events`, TRACKING_JOURNAL: path.join(root, 'tracking.jsonl'), POLL_MS: '300' }),
    ready: /tracking-poller: fetch failed/,
    // (Rounds go on while /health is asked: at least the one that failed.)
    fields: (b: Record<string, unknown>) => [b.status, Number(b.polls) >= 1, Number(b.failures) >= 1, b.cursor],
    expected: ['ok', true, true, null],
  },
];

describe('an express-like app answering /health alone goes with its server; the base answers on its port', () => {
  for (const c of CASES) {
    for (const [side, file] of [['legacy', c.agent], ['_v2', v2(c.agent)]] as const) {
      it(`${c.fixture}, ${side}: /health on HEALTH_PORT after one round says ${JSON.stringify(c.expected)}`, async () => {
        const root = fixtureRepo(c.fixture, c.agent, roots);
        const port = await freePort();
        let body: Record<string, unknown> | null = null;
        let asked = false;
        const { code, log } = await stopWhen(root, file, { ...(await c.env(root)), HEALTH_PORT: String(port), HEALTH_CHECK_PORT: '' }, (l) => {
          if (!asked && c.ready.test(l)) {
            asked = true;
            void fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })
              .then(async (r) => (body = { code: r.status, ...((await r.json()) as Record<string, unknown>) }))
              .catch((err) => (body = { error: String(err) }));
          }
          return body !== null;
        });
        expect(body, log).not.toBeNull();
        expect(body!.code, `${JSON.stringify(body)}\n${log}`).toBe(200);
        expect(c.fields(body!), log).toEqual(c.expected);
        expect(code, log).toBe(0);
        expect(log).not.toMatch(/EADDRINUSE/);
      }, 60_000);
    }
  }
});
