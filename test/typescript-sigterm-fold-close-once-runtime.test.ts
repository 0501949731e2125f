// sigterm-close-then-stamped-log-folds-onto-stop: the entry's one SIGTERM handler awaits the relay's
// close() (a vendor logout), logs a stamped line and exits 0. Its statements are the _v2's onStop()
// and the handler goes; before, it was kept for review while close() was also called from onStop(),
// so SIGTERM logged out twice and the kept handler's exit beat the base's deregistration. Legacy and
// _v2 are started for real against a vendor that counts logouts and stopped with SIGTERM: one logout,
// the stamped line, exit 0; the _v2 deregistered.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

const AGENT = 'agents/price_feed_relay.ts';

async function vendor(): Promise<{ url: string; paths: string[]; close(): void }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '').split('?')[0]!;
    paths.push(p);
    res.writeHead(200, { 'content-type': 'application/json' }).end(p === '/login' ? '{"session":"s1"}' : p === '/ticks' ? '[]' : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, paths, close: () => server.close() };
}

describe('a SIGTERM handler that is stop work, a stamped log line and an exit: onStop() runs it once', () => {
  for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
    it(`${side}: SIGTERM logs out once, logs the stamped line, exits 0${side === '_v2' ? ', deregistered' : ''}`, async () => {
      const root = fixtureRepo('sigterm-close-then-stamped-log-folds-onto-stop', AGENT, roots);
      const registry = await recordingRegistry();
      const seller = await vendor();
      try {
        const env = { VENDOR_URL: seller.url, RELAY_EVERY_MS: '200', RELAY_HEALTH_PORT: String(await freePort()), REGISTRY_URL: registry.url };
        const { code, log } = await stopWhen(root, file, env, () => seller.paths.includes('/ticks') && (side === 'legacy' || registry.requests.length > 0));
        expect(seller.paths.filter((p) => p === '/logout'), log).toEqual(['/logout']);
        expect(log).toMatch(/vendor session s1 logged out/);
        expect(log).toMatch(/\[relay\] stopped at \d{4}-/);
        expect(code, log).toBe(0);
        if (side === '_v2') expect(registry.requests.map((r) => r.path), log).toEqual(['/register', '/deregister']);
      } finally {
        registry.close();
        seller.close();
      }
    }, 60_000);
  }
});

// cjs-sigterm-close-returns-flush-promise-awaited: `process.on('SIGTERM', () => batcher.close())`, where
// close() returns deliver()'s promise (not async, no annotation). The legacy ends when its loop drains,
// after the held events reached the ledger; the _v2's onStop() awaits close(), so the base exits after it
// (before, `this.close();` unawaited: the base exited with the delivery in flight, the closing line unprinted).
const BATCHER = 'services/webhook-batcher.cjs';

describe('an onStop() calling a method that returns a promise awaits it', () => {
  for (const [side, file] of [['legacy', BATCHER], ['_v2', v2(BATCHER)]] as const) {
    it(`${side}: SIGTERM delivers the held event before the exit${side === '_v2' ? ', deregistered' : ''}`, async () => {
      const root = fixtureRepo('cjs-sigterm-close-returns-flush-promise-awaited', BATCHER, roots);
      const registry = await recordingRegistry();
      // A ledger that answers after 400 ms: a delivery cut by the exit never gets its answer.
      const batches: string[] = [];
      const ledger = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => setTimeout(() => {
          batches.push(body);
          res.writeHead(200).end();
        }, 400));
      });
      await new Promise<void>((resolve) => ledger.listen(0, '127.0.0.1', resolve));
      const port = await freePort();
      let posted = false;
      let posting = false;
      try {
        const env = { LEDGER_URL: `http://127.0.0.1:${(ledger.address() as net.AddressInfo).port}/batches`, BATCHER_PORT: String(port), BATCH_EVERY_MS: '600000', REGISTRY_URL: registry.url };
        const { code, log } = await stopWhen(root, file, env, () => {
          if (!posted && !posting) {
            posting = true;
            fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', body: '{"invoice":"inv-1"}', headers: { connection: 'close' } })
              .then((r) => (posted = r.status === 202))
              .catch(() => undefined)
              .finally(() => (posting = false));
          }
          return posted && (side === 'legacy' || registry.requests.length > 0);
        });
        expect(batches, log).toEqual(['[{"invoice":"inv-1"}]']);
        expect(log).toMatch(/\[batcher\] closed, 1 delivered in all/);
        expect(code, log).toBe(0);
        if (side === '_v2') expect(registry.requests.map((r) => r.path), log).toEqual(['/register', '/deregister']);
      } finally {
        registry.close();
        ledger.close();
      }
    }, 60_000);
  }
});
