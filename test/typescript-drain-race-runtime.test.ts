// A graceful drain raced against a timer under the base's stop grace stays the same drain in the
// base's onStop(). The drain-race-timer-under-stop-grace fixture, legacy file and _v2, is started
// for real; a delivery is posted and SIGTERM sent while it is in flight (it takes 1 s to answer):
// each answers it 202, writes it to the journal after the race, and exits 0.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'drain-race-timer-under-stop-grace');
const agent = 'agents/intake.ts';
const v2 = 'agents/intake_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/webhook' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a drain raced against a timer under the stop grace', () => {
  it('legacy and _v2 answer the in-flight delivery, journal it and exit 0 on SIGTERM', async () => {
    const root = fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots);
    for (const file of [agent, v2]) {
      const port = await freePort();
      const journal = path.join(root, `${path.basename(file, '.ts')}.journal`);
      const env = { INTAKE_PORT: String(port), INTAKE_HEALTH_PORT: '0', INTAKE_JOURNAL: journal, INTAKE_WORK_MS: '1000' };
      let answer: Promise<number> | undefined;
      const { code, log } = await driveAgent(root, file, env, [], async (child, out, exited) => {
        const end = Date.now() + 30_000;
        while (Date.now() < end && !/accepting webhooks/.test(out())) await new Promise((r) => setTimeout(r, 50));
        answer = post(port, '{"carrier":"dhl","parcel":"JD0141"}');
        // The delivery is in flight (answered after 1 s) when SIGTERM comes.
        await new Promise((r) => setTimeout(r, 300));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        // 'close', not 'exit': its last lines (the flush) are read out too.
        const [c] = await Promise.all([exited, new Promise((r) => child.on('close', r))]);
        clearTimeout(timer);
        return c;
      });
      expect(await answer, log).toBe(202);
      expect(code, log).toBe(0);
      expect(log).toMatch(/flushed 1 deliveries/);
      expect(existsSync(journal) && readFileSync(journal, 'utf8'), log).toContain('JD0141');
    }
  }, 90_000);
});

// drain-race-parameter-default-outlasts-grace: the race's bound is `graceMs = 15_000`, a parameter's
// default. An export taking 5 s is in flight at SIGTERM: the legacy waits for it and writes the ledger;
// the _v2's onStop() does the same wait, but the base exits 3 s after SIGTERM: no ledger line. That cut
// is what the fixture's review item (drain deadline) names.
describe('a drain raced against a parameter-default timer over the stop grace', () => {
  const outlasts = path.join(here, '..', 'fixtures', 'typescript', 'drain-race-parameter-default-outlasts-grace');
  const file = 'services/export-scheduler.ts';
  for (const [side, run] of [['legacy', file], ['_v2', file.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM while an export runs`, async () => {
      const root = fixtureRepo(outlasts, { [file]: 'input.ts', [file.replace(/\.ts$/, '_v2.ts')]: 'expected.ts' }, roots);
      const ledger = path.join(root, 'ledger.log');
      const env = { EXPORT_MS: '5000', EXPORT_EVERY_MS: '600000', EXPORT_LEDGER: ledger, EXPORT_HEALTH_PORT: String(await freePort()) };
      const { code, log } = await driveAgent(root, run, env, [], async (child, out, exited) => {
        const end = Date.now() + 30_000;
        while (Date.now() < end && !/exporting acme/.test(out())) await new Promise((r) => setTimeout(r, 50));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const [c] = await Promise.all([exited, new Promise((r) => child.on('close', r))]);
        clearTimeout(timer);
        return c;
      });
      expect(code, log).toBe(0);
      if (side === 'legacy') {
        expect(log).toMatch(/acme exported/);
        expect(existsSync(ledger) && readFileSync(ledger, 'utf8'), log).toMatch(/finished=acme abandoned=0/);
      } else {
        expect(log).toMatch(/received SIGTERM; stopping/);
        expect(log).not.toMatch(/acme exported/);
        expect(existsSync(ledger), log).toBe(false);
      }
    }, 60_000);
  }
});
