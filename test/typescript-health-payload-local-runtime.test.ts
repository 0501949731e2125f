// health-payload-local-of-read-only-method: the legacy /health payload read a const bound to the
// agent's own read-only method (`const s = this.spread()`); the _v2 computes it in healthStatus().
// Legacy and _v2 are started for real, fed a few readings, and asked /health: both answer 200 ok
// with the same fields, the readings counted from the agent's live ring on each.
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound, inBackground } from './helpers/ask.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const FIXTURE = 'health-payload-local-of-read-only-method';
const AGENT = 'agents/scale-feeder.ts';

describe('a /health payload read through a const of the agent\'s read-only method answers alike on the base', () => {
  const seen: Record<string, Record<string, unknown>> = {};
  for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
    it(`${side}: 200 ok with readings, min_g, max_g`, async () => {
      const root = fixtureRepo(FIXTURE, AGENT, roots);
      const port = await freePort();
      let asking: { done: boolean; error?: unknown } | undefined;
      let answer: { code: number; body: Record<string, unknown> } | null = null;
      const env = side === 'legacy' ? { HEALTH_CHECK_PORT: String(port), FEED_MS: '20' } : { FEED_MS: '20' };
      const { code, log } = await stopWhen(root, file, env, (l) => {
        // The _v2's base answers on the health port it logs (HEALTH_CHECK_PORT=0).
        const base = /health check on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(l)?.[1];
        const url = side === 'legacy' ? `http://127.0.0.1:${port}/health` : base ? `http://127.0.0.1:${base}/health` : null;
        if (!asking && url && /scale-feeder: weighing on/.test(l)) {
          // (A few readings in the ring first: the payload is computed from them.)
          asking = inBackground(async () => {
            await new Promise((r) => setTimeout(r, 400));
            const r = await fetchWhenBound(url, { headers: { connection: 'close' } });
            answer = { code: r.status, body: (await r.json()) as Record<string, unknown> };
          });
        }
        return asking?.done ?? false;
      });
      expect(asking?.error, log).toBeUndefined();
      expect(answer, log).not.toBeNull();
      const { code: status, body } = answer!;
      expect(status, log).toBe(200);
      expect(body.status).toBe('ok');
      expect(body.readings as number).toBeGreaterThan(0);
      expect(body.min_g as number).toBeGreaterThanOrEqual(1000);
      expect(body.max_g as number).toBeGreaterThanOrEqual(body.min_g as number);
      expect(code, log).toBe(0);
      seen[side] = body;
    }, 60_000);
  }
  it('both carry the same payload fields', () => {
    expect(seen._v2).toBeDefined();
    const fields = (b: Record<string, unknown>) => ['status', 'readings', 'min_g', 'max_g'].filter((k) => k in b);
    expect(fields(seen._v2!)).toEqual(fields(seen.legacy!));
    expect(fields(seen.legacy!)).toEqual(['status', 'readings', 'min_g', 'max_g']);
  });
});
