// csv-ingest-guarded-inline-registration-answer-logged (probe-node69's CsvIngest): start() registered
// inline under `if (REGISTRY_URL)`, in a try reading the answer only to log it, and stop() deregistered
// by hand. The _v2 kept both beside the base's own registration: the registry got two /register and two
// /deregister of 'csv-ingest'. Now the registration is the base's: legacy and _v2 each register once and
// deregister once, under the same name, against a recording registry.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'csv-ingest-guarded-inline-registration-answer-logged');
const file = 'ingest/csv-ingest.mjs';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('an inline registration guarded by the registry URL, its answer only logged', () => {
  for (const [side, run] of [['legacy', file], ['_v2', file.replace(/\.mjs$/, '_v2.mjs')]] as const) {
    it(`${side}: registers once and deregisters once, as csv-ingest`, async () => {
      const root = fixtureRepo(fixture, { [file]: 'input.mjs', [file.replace(/\.mjs$/, '_v2.mjs')]: 'expected.mjs' }, roots, true);
      for (const d of ['inbox', 'outbox', 'archive']) mkdirSync(path.join(root, 'var', 'ingest', d), { recursive: true });
      const registry = await recordingRegistry();
      try {
        const env = { REGISTRY_URL: registry.url, INGEST_METRICS_PORT: String(await freePort()), INGEST_SCAN_MS: '200' };
        // Registered (the base registers right after its health server is up, before onStart()).
        const { code, log } = await stopWhen(root, run, env, (out) => /\[ingest\] watching/.test(out) && registry.requests.some((r) => r.path === '/register'));
        const end = Date.now() + 5000;
        while (Date.now() < end && !registry.requests.some((r) => r.path === '/deregister')) await new Promise((r) => setTimeout(r, 50));
        expect(code, log).toBe(0);
        expect(registry.requests.filter((r) => r.path === '/register'), log).toEqual([{ path: '/register', name: 'csv-ingest' }]);
        expect(registry.requests.filter((r) => r.path === '/deregister'), log).toEqual([{ path: '/deregister', name: 'csv-ingest' }]);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
