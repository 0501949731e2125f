// Work the stop starts itself, cut at the base's stop grace (audit-forwarder-onstop-starts-retrying-flush):
// the forwarder's stop() reads the spool once more and awaits flush(), which retries the batch three
// times, each request allowed SIEM_TIMEOUT_MS, then saves the spool offset. Against a collector that
// accepts connections and never answers, SIGTERM with one record pending: the legacy waits out the
// three attempts (3 x 1.5 s here) and saves the offset; the _v2's onStop() does the same work, but the
// base exits 3 s after SIGTERM: no offset saved, the cut the fixture's review item ('stop work') names.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'audit-forwarder-onstop-starts-retrying-flush');
const file = 'audit/audit-forwarder.ts';
const roots: string[] = [];
const sockets = new Set<net.Socket>();
// A collector that takes the connection and the request and never answers.
const mute = net.createServer((s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.resume();
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  mute.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('work the stop starts itself, longer than the stop grace', () => {
  for (const [side, run] of [['legacy', file], ['_v2', file.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM with a batch pending and a collector that never answers`, async () => {
      if (!mute.listening) await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
      const collector = `http://127.0.0.1:${(mute.address() as net.AddressInfo).port}/services/collector/event`;
      const root = fixtureRepo(fixture, { [file]: 'input.ts', [file.replace(/\.ts$/, '_v2.ts')]: 'expected.ts' }, roots);
      const spool = path.join(root, 'spool.jsonl');
      const offsetFile = path.join(root, 'spool.offset');
      mkdirSync(path.dirname(spool), { recursive: true });
      writeFileSync(spool, '');
      const env = { AUDIT_SPOOL: spool, AUDIT_OFFSET_FILE: offsetFile, SIEM_COLLECTOR_URL: collector, SIEM_TIMEOUT_MS: '1500', AUDIT_HEALTH_PORT: String(await freePort()) };
      const started = Date.now();
      let signalled = 0;
      const { code, log } = await driveAgent(root, run, env, [], async (child, out, exited) => {
        const end = Date.now() + 30_000;
        while (Date.now() < end && !/forwarding /.test(out())) await new Promise((r) => setTimeout(r, 50));
        writeFileSync(spool, `${JSON.stringify({ type: 'USER_LOGIN', uid: 1001, msg: 'op=login acct="dana" res=success' })}\n`);
        child.kill('SIGTERM');
        signalled = Date.now();
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const [c] = await Promise.all([exited, new Promise((r) => child.on('close', r))]);
        clearTimeout(timer);
        return c;
      });
      const took = Date.now() - signalled;
      expect(code, log).toBe(0);
      expect(started).toBeLessThan(signalled);
      if (side === 'legacy') {
        // Three attempts of 1.5 s each, then the offset saved past the record.
        expect(log).toMatch(/attempt 3\/3/);
        expect(took, log).toBeGreaterThanOrEqual(4000);
        expect(existsSync(offsetFile) && Number(readFileSync(offsetFile, 'utf8')), log).toBeGreaterThan(0);
        expect(log).toMatch(/audit forwarder stopped/);
      } else {
        expect(log).toMatch(/received SIGTERM; stopping/);
        expect(took, log).toBeLessThan(4000);
        expect(log).not.toMatch(/attempt 3\/3/);
        expect(existsSync(offsetFile), log).toBe(false);
        expect(log).not.toMatch(/audit forwarder stopped/);
      }
    }, 60_000);
  }
});
