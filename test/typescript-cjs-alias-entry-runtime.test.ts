// (probe-node62) fixtures/typescript/cjs-required-health-helper-positional-port-alias-entry: a CommonJS
// relay whose main guard builds it through `const Relay = module.exports`, its health server started by a
// required helper given the health port positionally. Before, the alias was not seen as the entry point and
// a second one was added (two relays in one process: the second died on the business port, or both
// registered), and the helper kept HEALTH_CHECK_PORT beside the base (EADDRINUSE). Legacy and _v2 run here
// side by side on the same requests: each serves the business port once, relays a signed webhook to the
// target once, registers once, and exits 0 on SIGTERM.
import crypto from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 as v2Path } from './helpers/fixture-repo.js';
import { driveAgent, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const CASE = 'cjs-required-health-helper-positional-port-alias-entry';
const AGENT = 'agents/webhook-relay.cjs';
const roots: string[] = [];
afterAll(() => removeRepos(roots));

/** A fan-out endpoint that records what the relay posts to it. */
async function target(): Promise<{ url: string; got: unknown[]; close(): void }> {
  const got: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/fanout`, got, close: () => server.close() };
}

async function runOne(root: string, file: string) {
  const [registry, sink] = [await recordingRegistry(), await target()];
  const [port, health] = [await freePort(), await freePort()];
  const body = JSON.stringify({ order: 'A-17', total: 1250 });
  const signature = crypto.createHmac('sha256', 'probe-secret').update(body).digest('hex');
  let answer = 0;
  const env = { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registry.url, RELAY_SECRET: 'probe-secret', RELAY_TARGETS: sink.url, RELAY_DEAD_LETTER: path.join(root, 'dead.ndjson') };
  const { code, log } = await driveAgent(root, file, env, [], async (child, output, exited) => {
    const until = Date.now() + 30_000;
    while (Date.now() < until && child.exitCode === null && !(output().includes('webhook relay on') && registry.registrations.length > 0)) await new Promise((r) => setTimeout(r, 50));
    // A second instance in the process (the duplicated entry point) fails a moment later: give it that moment.
    await new Promise((r) => setTimeout(r, 500));
    answer = await fetch(`http://127.0.0.1:${port}/hooks/shop`, { method: 'POST', headers: { 'x-signature': signature }, body }).then((r) => r.status, () => 0);
    for (let i = 0; i < 60 && sink.got.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    return exited;
  });
  registry.close();
  sink.close();
  return { code, log, answer, relayed: sink.got, registered: registry.registrations.length, banners: log.split('webhook relay on').length - 1 };
}

it('legacy and _v2 relay a signed webhook once, from one instance, and exit 0 on SIGTERM', async () => {
  const root = fixtureRepo(CASE, AGENT, roots);
  const legacy = await runOne(root, AGENT);
  const v2 = await runOne(root, v2Path(AGENT));
  for (const run of [legacy, v2]) {
    expect(run.answer, run.log).toBe(202);
    expect(run.relayed, run.log).toEqual([{ partner: 'shop', payload: { order: 'A-17', total: 1250 } }]);
    expect(run.banners, run.log).toBe(1);
    expect(run.log).not.toMatch(/EADDRINUSE/);
    expect(run.code, run.log).toBe(0);
  }
  expect(legacy.registered).toBe(1);
  // The base registers (once) where the legacy register() did.
  expect(v2.registered, v2.log).toBe(1);
}, 120_000);
