// A 'beforeExit' listener of the entry point (write the cursor a restart resumes from, log the line
// the deploy check greps) ran in the legacy process on SIGTERM: its handler only stopped the agent
// and the event loop drained. The base ends the process with process.exit(), which skips
// 'beforeExit'. The cjs-before-exit-cursor-file fixture, legacy file and _v2, is started for real
// against a loopback gateway that accepts two outbox rows; after SIGTERM both must have written the
// cursor file (2) and logged "drained at cursor 2". Before the listener became an 'exit' listener,
// the _v2 wrote neither.
// Then worker-indexer-named-shutdown-summary: one named closure for SIGINT and SIGTERM stops the
// agent and logs "geo-indexer stopped" in a `.then()` callback, and a 'beforeExit' listener
// appends a summary line; after SIGTERM both files (legacy, _v2) must print the line and append
// the summary. Before, the _v2 did neither (the log line went with the closure).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureDir = (name: string) => path.join(here, '..', 'fixtures', 'typescript', name);
const v2 = (file: string) => file.replace(/(\.[cm]?[jt]s)$/, '_v2$1');
const agent = 'services/outbox-relay.js';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The case's input at `file` and its expected output as the _v2 sibling, beside the reference base. */
function materialize(name: string, file: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-before-exit-'));
  roots.push(root);
  const ext = path.extname(file);
  mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
  writeFileSync(path.join(root, file), readFileSync(path.join(fixtureDir(name), `input${ext}`), 'utf8'));
  writeFileSync(path.join(root, v2(file)), readFileSync(path.join(fixtureDir(name), `expected${ext}`), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

describe("a 'beforeExit' listener still runs after the base's SIGTERM exit", () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2(agent)]] as const) {
    it(`${side}: two rows relayed, then SIGTERM, writes the cursor and logs it`, async () => {
      const root = materialize('cjs-before-exit-cursor-file', agent);
      mkdirSync(path.join(root, 'outbox'));
      for (const seq of [1, 2]) writeFileSync(path.join(root, 'outbox', `${seq}.json`), JSON.stringify({ seq }));
      let received = 0;
      const gateway = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received++;
          res.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      const gatewayPort = (gateway.address() as import('node:net').AddressInfo).port;
      const cursor = path.join(root, 'outbox.cursor');
      try {
        const { code, log } = await stopWhen(root, file, { OUTBOX_HEALTH_PORT: '0', OUTBOX_DIR: path.join(root, 'outbox'), OUTBOX_CURSOR: cursor, EVENTS_GATEWAY: `http://127.0.0.1:${gatewayPort}/events` }, () => received >= 2);
        expect(code, log).toBe(0);
        expect(existsSync(cursor), `no cursor file after SIGTERM:\n${log}`).toBe(true);
        expect(readFileSync(cursor, 'utf8')).toBe('2');
        expect(log).toMatch(/outbox-relay drained at cursor 2/);
      } finally {
        gateway.close();
      }
    }, 60_000);
  }
});

describe("a named signal closure's log line and a 'beforeExit' summary survive the base's SIGTERM exit", () => {
  const indexer = 'services/geo-indexer.ts';
  for (const [side, file] of [['legacy', indexer], ['_v2', v2(indexer)]] as const) {
    it(`${side}: SIGTERM prints "geo-indexer stopped" and appends the summary`, async () => {
      const root = materialize('worker-indexer-named-shutdown-summary', indexer);
      const summary = path.join(root, 'summary.log');
      // A few batches fed before the stop.
      let since = 0;
      const { code, log } = await stopWhen(root, file, { GEO_HEALTH_PORT: '0', GEO_SUMMARY_LOG: summary }, (l) => /geo-indexer running/.test(l) && (since ||= Date.now()) + 1500 < Date.now());
      expect(code, log).toBe(0);
      expect(log).toMatch(/geo-indexer stopped/);
      expect(existsSync(summary), `no summary line after SIGTERM:\n${log}`).toBe(true);
      expect(readFileSync(summary, 'utf8')).toMatch(/batches=\d+ cells=\d+/);
    }, 60_000);
  }
});

// esm-async-before-exit-snapshot: an async 'beforeExit' listener (await fs.promises.writeFile of
// the quote snapshot, then "snapshot saved") ran when the loop drained after the SIGTERM listener
// stopped the poller. An 'exit' listener cannot wait for it; before, it was a review item. Now
// the _v2's onStop() runs the 'beforeExit' listeners and awaits them: after SIGTERM the legacy
// file and the _v2 must both have written the snapshot with the vendor's two quotes and logged it.
describe("an async 'beforeExit' listener still runs, awaited, after the base's SIGTERM exit", () => {
  const feed = 'services/price-feed.mjs';
  for (const [side, file] of [['legacy', feed], ['_v2', v2(feed)]] as const) {
    it(`${side}: SIGTERM writes the quote snapshot and logs it`, async () => {
      const root = materialize('esm-async-before-exit-snapshot', feed);
      let polled = 0;
      const vendor = http.createServer((req, res) => {
        polled++;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify([{ symbol: 'EURUSD', bid: 1.08, ask: 1.0802 }, { symbol: 'GBPUSD', bid: 1.26, ask: 1.2603 }]));
      });
      await new Promise<void>((resolve) => vendor.listen(0, '127.0.0.1', resolve));
      const vendorPort = (vendor.address() as import('node:net').AddressInfo).port;
      const stateDir = path.join(root, 'var');
      try {
        const { code, log } = await stopWhen(root, file, { PRICE_FEED_HEALTH_PORT: '0', POLL_MS: '200', FEED_STATE_DIR: stateDir, VENDOR_URL: `http://127.0.0.1:${vendorPort}/quotes` }, () => polled >= 2);
        expect(code, log).toBe(0);
        const snapshot = path.join(stateDir, 'price-feed.snapshot.json');
        expect(existsSync(snapshot), `no snapshot after SIGTERM:\n${log}`).toBe(true);
        expect(JSON.parse(readFileSync(snapshot, 'utf8')).map((q: { symbol: string }) => q.symbol).sort()).toEqual(['EURUSD', 'GBPUSD']);
        expect(log).toMatch(/price-feed: snapshot saved \(2 quotes\)/);
      } finally {
        vendor.close();
      }
    }, 60_000);
  }
});

// tsleft50-await-sigterm-exit-summary-into-onstop: main() starts the archiver, then `await
// once(process, 'SIGTERM')`, stops it, appends the exit summary to the archive's MANIFEST and logs
// it. The base's own SIGTERM handler exits as soon as its stop() resolves, before main()'s append
// lands: before, those lines were a review item and the _v2 as written exited without the summary
// (neither in MANIFEST nor in the log). They are now the end of onStop(): after SIGTERM both files
// append the summary and log it once, with what they archived.
describe('the exit summary after an awaited SIGTERM is written from onStop() on the base', () => {
  const archiver = 'services/feed-archiver.ts';
  for (const [side, file] of [['legacy', archiver], ['_v2', v2(archiver)]] as const) {
    it(`${side}: SIGTERM appends "feed-archiver summary" to MANIFEST and logs it once`, async () => {
      const root = materialize('tsleft50-await-sigterm-exit-summary-into-onstop', archiver);
      let served = 0;
      const feed = http.createServer((_req, res) => {
        served++;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ venue: 'XLON', seq: served }));
      });
      await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
      const feedPort = (feed.address() as import('node:net').AddressInfo).port;
      const dir = path.join(root, 'archive');
      try {
        // SIGTERM once two snapshots are in the day's file.
        const rows = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).reduce((n, f) => n + readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length, 0) : 0);
        const { code, log } = await stopWhen(root, file, { ARCHIVE_EVERY_MS: '200', ARCHIVE_DIR: dir, FEED_URL: `http://127.0.0.1:${feedPort}/feed` }, () => rows() >= 2);
        expect(code, log).toBe(0);
        const lines = log.split('\n').filter((l) => /feed-archiver summary/.test(l));
        expect(lines, `no summary line after SIGTERM:\n${log}`).toHaveLength(1);
        expect(lines[0]).toMatch(/feed-archiver summary archived=[1-9]\d* failed=0 bytes=[1-9]\d*/);
        const manifest = path.join(dir, 'MANIFEST');
        expect(existsSync(manifest), `no MANIFEST after SIGTERM:\n${log}`).toBe(true);
        expect(readFileSync(manifest, 'utf8')).toContain(lines[0]);
      } finally {
        feed.close();
      }
    }, 60_000);
  }
});
