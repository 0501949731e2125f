// A shutdown that drains an in-flight Set of request promises and deregisters through a registry
// client's method (`await this.registry.deregister()`): the rewrite once read that method as a
// registration push and removed it with its drain, so the _v2 exited under the orders in flight. The
// drain-inflight-set-registry-client-deregister fixture, legacy and _v2, is started for real; a signed
// webhook is sent half-way, SIGTERM arrives, the rest of the body follows: both answer it 202, spool
// the order and exit 0.
import http from 'node:http';
import crypto from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'drain-inflight-set-registry-client-deregister');
const dir = 'packages/order-webhook/src';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** POST a signed order event, its body in two halves with `between()` run in the gap; the answer's code and text. */
function halfThenRest(port: number, between: () => Promise<void>): Promise<{ code: number; text: string }> {
  const body = JSON.stringify({ id: 'evt-77', type: 'order.paid', order: { id: 'o-77', total: 42.5, currency: 'EUR' } });
  const signature = crypto.createHmac('sha256', 'dev-secret').update(body).digest('hex');
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/webhook', method: 'POST', headers: { 'x-signature': signature, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
    });
    req.on('error', (err) => resolve({ code: 0, text: String(err) }));
    req.write(body.slice(0, 20));
    void between().then(() => req.end(body.slice(20)));
  });
}

describe('an in-flight webhook at SIGTERM is drained', () => {
  for (const [side, file, from] of [['legacy', 'order-webhook.ts', 'input.ts'], ['_v2', 'order-webhook_v2.ts', 'expected.ts']] as const) {
    it(`${side}: answered 202 and spooled, exit 0`, async () => {
      const agent = `${dir}/${file}`;
      const root = fixtureRepo(fixture, { [agent]: from, [`${dir}/registry.ts`]: `${dir}/registry.ts` }, roots);
      const data = mkdtempSync(path.join(os.tmpdir(), 'drain-inflight-'));
      roots.push(data);
      const spool = path.join(data, 'spool.ndjson');
      const registry = await recordingRegistry();
      const port = await freePort();
      let answer = { code: -1, text: '' };
      try {
        const env = { REGISTRY_URL: registry.url, WEBHOOK_PORT: String(port), AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(await freePort()), WEBHOOK_SPOOL: spool };
        const { code, log } = await driveAgent(root, agent, env, [], async (child, out, exited) => {
          const end = Date.now() + 30_000;
          while (Date.now() < end && child.exitCode === null && !/order-webhook listening/.test(out())) await new Promise((r) => setTimeout(r, 50));
          expect(out()).toMatch(/order-webhook listening/);
          const answered = halfThenRest(port, async () => {
            await new Promise((r) => setTimeout(r, 150));
            child.kill('SIGTERM');
            await new Promise((r) => setTimeout(r, 400));
          });
          answer = await answered;
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          const exit = await exited;
          clearTimeout(timer);
          return exit;
        });
        expect(answer, log).toEqual({ code: 202, text: 'accepted' });
        expect(code, log).toBe(0);
        expect(existsSync(spool) && readFileSync(spool, 'utf8'), log).toContain('"id":"evt-77"');
      } finally {
        registry.close();
      }
    }, 90_000);
  }
});
