// bin-argv-options-starter-kept: bin/dock-doors.js parses --dock, --interval-ms, --doors from its
// command line into `new DockDoorMonitor(options)`. The _v2 gets no entry point of its own (one would
// start it without those options): run through the bin script (as validation and, once promoted,
// the deployment do), the _v2 is given them. Started for real with arguments, its base's /health
// answers for the dock and interval the command line named.
// bin-env-options-starter-kept: bin/orders-intake.ts reads ORDERS_PORT, ORDERS_FLUSH_MS and
// ORDERS_SPOOL_DIR from the environment into `new OrdersIntake({...})`: the same, from the environment.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const dir = path.join(fixtures, 'bin-argv-options-starter-kept');
const roots: string[] = [];
afterAll(() => removeRepos(roots));

describe('a bin script reading options from its command line stays the entry point', () => {
  it('expected.js adds no entry point of its own', () => {
    expect(readFileSync(path.join(dir, 'expected.js'), 'utf8')).not.toMatch(/require\.main === module/);
  });

  it('_v2 run through bin/dock-doors.js with --dock south --interval-ms 250 answers for south', async () => {
    const root = fixtureRepo('bin-argv-options-starter-kept', 'lib/dock-doors.js', roots);
    // The _v2's launch (the bin script, importing the _v2 in place of the module), with arguments.
    const health = await freePort();
    let body: Record<string, unknown> | string | undefined;
    const { code, log } = await stopWhen(root, 'lib/dock-doors_v2.js', { HEALTH_CHECK_PORT: String(health) }, (l) => {
      if (body === undefined && /health check on/.test(l)) {
        body = '';
        void fetchWhenBound(`http://127.0.0.1:${health}/health`, { headers: { connection: 'close' } }).then((r) => r.json()).then((b) => (body = b as Record<string, unknown>), (e) => (body = String(e)));
      }
      return typeof body === 'object';
    }, ['--dock', 'south', '--interval-ms', '250', '--doors', '3']);
    expect(log).toMatch(/dock-doors: watching dock south every 250 ms/);
    expect(body, log).toMatchObject({ status: 'ok', dock: 'south' });
    expect(code, log).toBe(0);
  }, 60_000);
});

describe('a starter reading options from the environment stays the entry point', () => {
  it('expected.ts adds no entry point of its own', () => {
    expect(readFileSync(path.join(fixtures, 'bin-env-options-starter-kept', 'expected.ts'), 'utf8')).not.toMatch(/require\.main === module/);
  });

  it('_v2 run through bin/orders-intake.ts takes ORDERS_PORT, ORDERS_FLUSH_MS and ORDERS_SPOOL_DIR', async () => {
    const root = fixtureRepo('bin-env-options-starter-kept', 'services/orders-intake.ts', roots);
    const [health, orders] = [await freePort(), await freePort()];
    const spool = mkdtempSync(path.join(os.tmpdir(), 'orders-spool-'));
    roots.push(spool);
    let body: Record<string, unknown> | string | undefined;
    let accepted: number | string | undefined;
    const env = { HEALTH_CHECK_PORT: String(health), ORDERS_PORT: String(orders), ORDERS_FLUSH_MS: '60000', ORDERS_SPOOL_DIR: spool };
    const { code, log } = await stopWhen(root, 'services/orders-intake_v2.ts', env, (l) => {
      if (body === undefined && /health check on/.test(l)) {
        body = '';
        // An order on the port the environment named, then /health: the order waits for the flush.
        void fetchWhenBound(`http://127.0.0.1:${orders}/orders`, { method: 'POST', body: '{"id":"o-1"}', headers: { connection: 'close' } })
          .then((r) => (accepted = r.status), (e) => (accepted = String(e)))
          .then(() => fetchWhenBound(`http://127.0.0.1:${health}/health`, { headers: { connection: 'close' } }))
          .then((r) => r.json())
          .then((b) => (body = b as Record<string, unknown>), (e) => (body = String(e)));
      }
      return typeof body === 'object';
    });
    expect(log).toMatch(new RegExp(`orders-intake: listening on ${orders}, flushing to ${spool} every 60000 ms`));
    expect(accepted, log).toBe(202);
    expect(body, log).toMatchObject({ status: 'ok', pending: 1, flushMs: 60000, spoolDir: spool });
    expect(code, log).toBe(0);
    // SIGTERM: the base's stop() ran onStop(), whose flush wrote the order to the environment's spool.
    expect(readFileSync(path.join(spool, 'orders.jsonl'), 'utf8')).toBe('{"id":"o-1"}\n');
  }, 60_000);
});
