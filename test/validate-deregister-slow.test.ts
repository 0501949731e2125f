// The deregister check on a slow host: the embedded registry answers late, as it does when the
// machine is loaded (the validator's event loop and the agent share two busy cores). A proxy in
// front of the real embedded registry holds each request before passing it on, the way a request
// already sent sits unread on a starved server:
// - a /deregister landing after the base's own 1 s client timeout (the agent logs 'deregistration
//   failed: timed out' and exits 0; the registry drops it a moment later) is a deregistration: the
//   check used to read the registry once, right at the exit, and failed a correct agent;
// - a legacy agent whose /register lands after its baseline window is still observed (it used to be
//   'not registered within its baseline window', and with a profile naming no checks that let a
//   _v2 that stays registered pass where the legacy agent deregistered);
// - an agent that never deregisters still fails, slow registry or not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { Profile } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { liveGroups } from '../src/validate/process-group.js';
import { closeServer, listen, readBody } from '../src/validate/http-util.js';
import { baseAgent, deregisterRepo, detail, runDeregister, verdicts } from './helpers/validate-deregister.js';

let env: ValidationEnvironment;
const temps: string[] = [];
/** How long the proxy holds a POST to /register or /deregister before passing it on (per route). */
const hold: { register: number; deregister: number } = { register: 0, deregister: 0 };
let proxy: http.Server;
let proxyUrl: string;

beforeAll(async () => {
  env = await startValidationEnvironment();
  proxy = http.createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const route = /\/(register|deregister)$/.exec(req.url ?? '')?.[1] as 'register' | 'deregister' | undefined;
    if (route && hold[route]) await new Promise((r) => setTimeout(r, hold[route]));
    const up = http.request(`${env.registry!.url}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(body);
  });
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});
afterAll(async () => {
  await closeServer(proxy);
  await env?.close();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** As the deregister tests run it, every agent given a scope behind the slow proxy. */
function run(root: string, name: string, stem: string, extra: Parameters<typeof runDeregister>[4] = {}) {
  const slow: ValidationEnvironment = { ...env, registryFor: (scope) => `${proxyUrl}/s/${encodeURIComponent(scope)}` };
  return runDeregister(slow, root, name, stem, extra);
}
const repo = () => deregisterRepo(temps);

describe('deregister on a slow registry', () => {
  it("a _v2 whose /deregister lands after the base's 1 s client timeout deregistered: it passes", async () => {
    hold.register = 0;
    hold.deregister = 2000;
    const r = await run(repo(), 'LedgerSync', 'ledger_sync');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
    expect(detail(r, 'deregister')).toMatch(/^LedgerSync deregistered on SIGTERM: the embedded registry no longer holds it after it exited; the legacy agent stayed registered after its SIGTERM/);
    expect(liveGroups()).toEqual([]);
  }, 90_000);

  it('a legacy agent registering after its baseline window is observed; a _v2 that never deregisters still fails', async () => {
    // QuoteCache's legacy agent deregisters on SIGTERM; its _v2 leaves with os._exit(0) before the base's stop.
    hold.register = 1800;
    hold.deregister = 0;
    const root = repo();
    const r = await run(root, 'QuoteCache', 'quote_cache');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:false', 'log:true']);
    expect(detail(r, 'deregister')).toMatch(/^QuoteCache still registered in the embedded registry after it exited with code 0 on SIGTERM: .*; the legacy agent deregistered on its SIGTERM too$/);
    // A profile naming no checks: the legacy run decides, so it must have been observed.
    const silent: Profile = { ...baseAgent, validation: { ...baseAgent.validation, checks: undefined } };
    const lost = await run(root, 'QuoteCache', 'quote_cache', { profile: silent });
    expect(lost.checks.find((c) => c.name === 'deregister'), JSON.stringify(lost.checks)).toMatchObject({ ok: false });
    expect(detail(lost, 'deregister')).toMatch(/after it exited with code 0 on SIGTERM: the legacy agent deregistered on its SIGTERM$/);
    expect(liveGroups()).toEqual([]);
  }, 150_000);
});
