// tsleft51-geo-catch-all-business-lookup: a business server answering every path (each path an
// address to look up), /health among them, with business JSON. It read as the agent's health
// server and was removed (before the fix): every lookup of the _v2 got the base's 404 on the
// health port. The legacy file and the _v2 are started for real and asked /10.1.2.3 and /health on
// GEO_PORT: both answer with the same lookups.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound, freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const AGENT = 'services/geo-lookup.ts';

function materialize(): string {
  const dir = path.join(here, '..', 'fixtures', 'typescript', 'tsleft51-geo-catch-all-business-lookup');
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-catch-all-'));
  roots.push(root);
  mkdirSync(path.join(root, 'services'), { recursive: true });
  writeFileSync(path.join(root, AGENT), readFileSync(path.join(dir, 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, AGENT.replace(/\.ts$/, '_v2.ts')), readFileSync(path.join(dir, 'expected.ts'), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  writeFileSync(path.join(root, 'geo-prefixes.json'), JSON.stringify([['10.1.', 'eu-west'], ['10.2.', 'us-east']]));
  return root;
}

describe('a catch-all business server that also answers /health stays the business endpoint', () => {
  for (const [side, file] of [['legacy', AGENT], ['_v2', AGENT.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: GEO_PORT answers /10.1.2.3 and /health with lookups`, async () => {
      const root = materialize();
      const port = await freePort();
      const answers: Record<string, unknown> = {};
      let asked = false;
      const { code, log } = await stopWhen(root, file, { GEO_PORT: String(port), GEO_TABLE: path.join(root, 'geo-prefixes.json') }, (l) => {
        if (!asked && /geo lookup serving \d+ prefixes/.test(l)) {
          asked = true;
          const get = (p: string) =>
            fetchWhenBound(`http://127.0.0.1:${port}${p}`, { headers: { connection: 'close' } })
              .then((r) => r.json())
              .then((b) => (answers[p] = b), (e) => (answers[p] = String(e)));
          void Promise.all([get('/10.1.2.3'), get('/health')]);
        }
        return Object.keys(answers).length === 2;
      });
      expect(answers['/10.1.2.3'], log).toEqual({ address: '10.1.2.3', region: 'eu-west', matched: '10.1.' });
      expect(answers['/health'], log).toEqual({ address: 'health', region: 'unknown', matched: null });
      expect(code, log).toBe(0);
    }, 60_000);
  }
});
