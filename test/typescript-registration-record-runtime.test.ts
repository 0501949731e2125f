// A hand-made registration that sent fields the base's record lacked (capabilities, version, region,
// tags: what the dispatcher routes by) moves onto the reference base's registrationRecord() hook. The
// registry-extra-fields-record-hook fixture, legacy file and _v2, is started for real against a
// recording registry: the legacy posts its record once; the _v2 posts once too (the base's
// registration, no second one racing it), and that record carries the base's fields and the four
// fields with the legacy's values. Before the hook, the _v2 kept register() beside the base's: two
// POSTs, the base's without the fields.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'registry-extra-fields-record-hook');
const agent = 'agents/ocr-worker.ts';
const v2 = 'agents/ocr-worker_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const EXTRA = { capabilities: ['ocr:eng', 'ocr:deu', 'ocr:fra', 'format:tiff', 'format:pdf'], version: '4.2.1', region: 'us-east', tags: ['ocr', 'gpu'] };

describe("the registry's record keeps the fields the legacy registration sent", () => {
  it('legacy and _v2 each register once, with capabilities, version, region and tags', async () => {
    const root = fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots);
    const records: Record<string, Array<Record<string, unknown>>> = {};
    for (const file of [agent, v2]) {
      const registry = await recordingRegistry();
      try {
        const env = { REGISTRY_URL: registry.url, OCR_HEALTH_PORT: '0', DATA_REGION: 'us-east', OCR_TAGS: 'ocr,gpu', OCR_INTAKE_DIR: path.join(root, 'intake'), OCR_DONE_DIR: path.join(root, 'done') };
        const { log } = await stopWhen(root, file, env, (out) => registry.registrations.length > 0 && /registered with|polling/.test(out));
        // A second registration (the kept register() racing the base's) would come within a moment.
        await new Promise((r) => setTimeout(r, 500));
        records[file] = registry.registrations as Array<Record<string, unknown>>;
        expect(registry.requests.filter((r) => r.path === '/register'), log).toHaveLength(1);
      } finally {
        registry.close();
      }
    }
    expect(records[agent]![0]).toMatchObject({ name: 'ocr-worker', ...EXTRA });
    const record = records[v2]![0]!;
    expect(record).toMatchObject({ name: 'ocr-worker', ...EXTRA });
    // The base's own fields are still there (the override is built on super()).
    expect(Object.keys(record)).toEqual(expect.arrayContaining(['host', 'port', 'health_check_port', 'pid']));
    expect(record.pid).toEqual(expect.any(Number));
  }, 90_000);

  // registry-fields-set-in-start-deferred: region (a zone file) and shard (a manifest an awaited init()
  // reads) are set in start(), after the constructor. The base would build its record before onStart();
  // its startRegistration() is overridden and called where the legacy called register(), so the one
  // record carries both (an override alone registered region undefined, shard 'none').
  it('a record whose fields are set in start() is built once they are set', async () => {
    const deferred = path.join(here, '..', 'fixtures', 'typescript', 'registry-fields-set-in-start-deferred');
    const file = 'agents/tile-cache.ts';
    const late = 'agents/tile-cache_v2.ts';
    const root = fixtureRepo(deferred, { [file]: 'input.ts', [late]: 'expected.ts' }, roots);
    const cacheDir = path.join(root, 'tiles');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(path.join(cacheDir, 'manifest.json'), JSON.stringify({ shard: 'z10-14/q3', zooms: [10, 11] }));
    writeFileSync(path.join(root, 'zone'), 'eu-west-3\n');
    for (const f of [file, late]) {
      const registry = await recordingRegistry();
      try {
        const env = { REGISTRY_URL: registry.url, TILE_HEALTH_PORT: '0', TILE_CACHE_DIR: cacheDir, TILE_ZONE_FILE: path.join(root, 'zone') };
        const { log } = await stopWhen(root, f, env, (out) => registry.registrations.length > 0 && /serving shard/.test(out));
        await new Promise((r) => setTimeout(r, 300));
        expect(registry.requests.filter((r) => r.path === '/register'), log).toHaveLength(1);
        expect(registry.registrations[0], `${f}\n${log}`).toMatchObject({ name: 'tile-cache', region: 'eu-west-3', shard: 'z10-14/q3', cache_version: '7' });
      } finally {
        registry.close();
      }
    }
  }, 90_000);
});
