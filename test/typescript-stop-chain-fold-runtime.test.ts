// A SIGTERM handler's `await forwarder.stop(); await forwarder.flush();` where stop() becomes the base's
// onStop() hook by a rename (audit-forwarder-handler-awaits-flush-after-stop): the rewrite calls flush() at
// the end of the renamed body (stop-chain-fold). Before session 72 that was a review item; had it been
// migrated as the chained variant once was, flush() would run no more on SIGTERM. Against a collector that
// answers, SIGTERM with one record pending: the legacy and the _v2 both post it, save the spool offset past
// it and exit 0.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'audit-forwarder-handler-awaits-flush-after-stop');
const file = 'audit/audit-forwarder.ts';
const roots: string[] = [];
const posted: string[] = [];
const collector = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    posted.push(body);
    res.end('{"text":"Success","code":0}');
  });
});
afterAll(() => {
  collector.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a SIGTERM handler that flushes once the renamed stop() ended', () => {
  for (const [side, run] of [['legacy', file], ['_v2', file.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM with a record pending posts it and saves the offset`, async () => {
      if (!collector.listening) await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(collector.address() as import('node:net').AddressInfo).port}/services/collector/event`;
      const root = fixtureRepo(fixture, { [file]: 'input.ts', [file.replace(/\.ts$/, '_v2.ts')]: 'expected.ts' }, roots);
      const spool = path.join(root, 'spool.jsonl');
      const offsetFile = path.join(root, 'spool.offset');
      mkdirSync(path.dirname(spool), { recursive: true });
      writeFileSync(spool, '');
      const env = { AUDIT_SPOOL: spool, AUDIT_OFFSET_FILE: offsetFile, SIEM_COLLECTOR_URL: url, AUDIT_HEALTH_PORT: String(await freePort()) };
      const before = posted.length;
      const marker = `acct="${side}-dana"`;
      const { code, log } = await driveAgent(root, run, env, [], async (child, out, exited) => {
        const end = Date.now() + 30_000;
        while (Date.now() < end && !/forwarding /.test(out())) await new Promise((r) => setTimeout(r, 50));
        writeFileSync(spool, `${JSON.stringify({ type: 'USER_LOGIN', uid: 1001, msg: `op=login ${marker} res=success` })}\n`);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const [c] = await Promise.all([exited, new Promise((r) => child.on('close', r))]);
        clearTimeout(timer);
        return c;
      });
      expect(code, log).toBe(0);
      // The pending record reached the collector on the stop path, and the offset was saved past it.
      expect(posted.slice(before).join('\n'), log).toContain(marker.replace(/"/g, '\\"'));
      expect(existsSync(offsetFile) && Number(readFileSync(offsetFile, 'utf8')), log).toBeGreaterThan(0);
    }, 60_000);
  }
});
