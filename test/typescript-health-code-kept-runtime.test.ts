// A legacy /health that answers a not-ok status with a 2xx ('warming' with 200 until the first
// tariff load: alive, no restart) cannot move into the base's healthStatus(): the base answers
// 503 for any status but ok/healthy and takes no code from the agent. The health-warming-let-status
// fixture keeps the server for review; started for real, legacy and _v2 answer the same 200 with
// 'warming' on the legacy health port, where the base's /health would answer 503.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'health-warming-let-status');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Starts the agent, stops it once /health on `port` has answered: that first answer's code and status. */
async function firstHealthAnswer(root: string, file: string, extra: Record<string, string>, port: number) {
  let answer: { code: number; status: unknown } | null = null;
  let polling = true;
  const poller = (async () => {
    while (polling && !answer) {
      await fetch(`http://127.0.0.1:${port}/health`).then(async (r) => (answer = { code: r.status, status: ((await r.json()) as { status?: unknown }).status }), () => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const { code, log } = await stopWhen(root, file, extra, () => answer !== null);
    return { code, log, answer };
  } finally {
    polling = false;
    await poller;
  }
}

describe('a warming status answered 200 keeps its code after the migration', () => {
  for (const [side, file] of [['legacy', 'services/price-cache.ts'], ['_v2', 'services/price-cache_v2.ts']] as const) {
    it(`${side}: /health answers 'warming' with 200`, async () => {
      const root = fixtureRepo(fixture, { 'services/price-cache.ts': 'input.ts', 'services/price-cache_v2.ts': 'expected.ts' }, roots);
      const port = await freePort();
      // No tariff file: the first load never completes, the cache stays warming.
      const extra = { PRICE_CACHE_HEALTH_PORT: String(port), TARIFF_FILE: path.join(root, 'missing.json'), HEALTH_CHECK_PORT: String(await freePort()) };
      const { code, log, answer } = await firstHealthAnswer(root, file, extra, port);
      expect(code, log).toBe(0);
      expect(answer, log).toEqual({ code: 200, status: 'warming' });
    }, 60_000);
  }

  it("the base's /health answers that payload 503, were it moved into healthStatus()", async () => {
    const root = fixtureRepo(fixture, { 'services/price-cache_v2.ts': 'expected.ts' }, roots);
    // The _v2 with the status the legacy answered moved into the base's hook, as the bridge would write it.
    const file = path.join(root, 'services/price-cache_v2.ts');
    const moved = readFileSync(file, 'utf8').replace(/\n}\n/, "\n  protected override healthStatus(): Record<string, unknown> {\n    return { ...super.healthStatus(), status: 'warming' };\n  }\n}\n");
    expect(moved).toContain("status: 'warming' }");
    writeFileSync(file, moved);
    const healthPort = await freePort();
    const extra = { PRICE_CACHE_HEALTH_PORT: String(await freePort()), TARIFF_FILE: path.join(root, 'missing.json'), HEALTH_CHECK_PORT: String(healthPort) };
    const { log, answer } = await firstHealthAnswer(root, 'services/price-cache_v2.ts', extra, healthPort);
    expect(answer, log).toEqual({ code: 503, status: 'warming' });
  }, 60_000);
});
