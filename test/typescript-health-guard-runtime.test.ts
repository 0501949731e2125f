// A /health (or /healthz) that answers 503 from an early-returned guard on the agent's state, else
// 200 ok, mirrored into healthStatus() as the same guards (the deployment now probes the base's /health):
//  - healthz-drain-guard-returns-503-mirrored: a business server kept whole; its store directory
//    removed, /healthz answers 503 with the text `store unmounted`; POST /admin/drain sets the
//    draining flag it answers 503 `draining` from, first;
//  - health-server-maintenance-guard-returns-503: a health-only server, removed; ops' maintenance
//    file makes its /health answer 503 `maintenance`.
// Legacy and _v2 are started for real: the health answer is asked, then again after each flip of a
// condition. Both say 200 ok, then the same 503s with the same status (a text answer's word).
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound } from './helpers/ask.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

interface Case {
  fixture: string;
  agent: string;
  env: (port: number, root: string) => Record<string, string>;
  ready: RegExp;
  /** Where the legacy answers its health: its port (given to env) and path. */
  legacyHealth: (port: number) => string;
  /** Each flip of a condition, the health asked after each. */
  flips: Array<(port: number, root: string) => Promise<void>>;
  answers: Array<[number, string]>;
}

const CASES: Case[] = [
  {
    fixture: 'healthz-drain-guard-returns-503-mirrored',
    agent: 'services/thumbnail-renderer.ts',
    env: (port, root) => ({ THUMBS_PORT: String(port), THUMB_STORE: path.join(root, 'store'), THUMB_TMP: path.join(root, 'tmp'), THUMB_SWEEP_MS: '600000' }),
    ready: /rendering on/,
    legacyHealth: (port) => `http://127.0.0.1:${port}/healthz`,
    flips: [
      async (_port, root) => rmSync(path.join(root, 'store'), { recursive: true }),
      async (port) => {
        const r = await fetchWhenBound(`http://127.0.0.1:${port}/admin/drain`, { method: 'POST', headers: { connection: 'close' } });
        expect(r.status).toBe(202);
      },
    ],
    answers: [[200, 'ok'], [503, 'store unmounted'], [503, 'draining']],
  },
  {
    fixture: 'health-server-maintenance-guard-returns-503',
    agent: 'agents/rate-poller.ts',
    env: (port, root) => ({ RATES_HEALTH_PORT: String(port), RATES_URL: 'http://127.0.0.1:9/rates', RATES_POLL_MS: '600000', MAINTENANCE_FILE: path.join(root, 'maintenance'), RATES_OUT_DIR: path.join(root, 'var') }),
    ready: /rates: polling every/,
    legacyHealth: (port) => `http://127.0.0.1:${port}/health`,
    flips: [async (_port, root) => writeFileSync(path.join(root, 'maintenance'), '')],
    answers: [[200, 'ok'], [503, 'maintenance']],
  },
];

describe('a health answer guarded by the agent state (503 returned early, else ok) answers alike on the base', () => {
  for (const c of CASES) {
    const seen: Record<string, Array<[number, unknown]>> = {};
    for (const [side, file] of [['legacy', c.agent], ['_v2', v2(c.agent)]] as const) {
      it(`${c.fixture}, ${side}: ${c.answers.map((a) => a.join(' ')).join(', then ')}`, async () => {
        const root = fixtureRepo(c.fixture, c.agent, roots);
        const port = await freePort();
        const answers: Array<[number, unknown]> = [];
        let asked = false;
        let done = false;
        const { code, log } = await stopWhen(root, file, c.env(port, root), (l) => {
          // The _v2's base answers on its health port (HEALTH_CHECK_PORT=0: the one it logs).
          const base = /health check on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(l)?.[1];
          const url = side === 'legacy' ? c.legacyHealth(port) : base ? `http://127.0.0.1:${base}/health` : null;
          if (!asked && url && c.ready.test(l)) {
            asked = true;
            // (A JSON answer's status, or a text answer as it is.)
            const statusOf = (text: string) => (text.startsWith('{') ? (JSON.parse(text) as { status?: unknown }).status : text);
            // The legacy logs its ready line before its listen() has bound: a refused connection is asked again.
            const health = async (): Promise<void> => {
              const r = await fetchWhenBound(url, { headers: { connection: 'close' } });
              answers.push([r.status, statusOf(await r.text())]);
            };
            void (async () => {
              await health();
              for (const flip of c.flips) {
                await flip(port, root);
                await health();
              }
            })()
              .catch((e) => answers.push([0, String(e)]))
              .finally(() => (done = true));
          }
          return done;
        });
        expect(answers, log).toEqual(c.answers);
        expect(code, log).toBe(0);
        seen[side] = answers;
      }, 60_000);
    }
    it(`${c.fixture}: both answer alike`, () => {
      expect(seen._v2).toBeDefined();
      expect(seen._v2).toEqual(seen.legacy);
    });
  }
});
