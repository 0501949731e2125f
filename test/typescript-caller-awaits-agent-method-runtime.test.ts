// bin-sigterm-awaits-worker-close-drain: bin/render-worker.js starts the render worker and, on SIGTERM,
// awaits `worker.close(10000)`, which lets the render in flight finish and report it done. Run for real
// (node, the reference BaseAgent) with a job endpoint on loopback that leases one job: the legacy
// reports it done after SIGTERM; the _v2 (the same bin script importing it) exits when the base's
// stop() has resolved, before close() is through, so the job is never reported done nor released.
// That loss is what the rewrite's review items name (the awaited close() and the line after it).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { stopWhen } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

interface JobApi {
  url: string;
  leased: () => boolean;
  reports: string[];
  close: () => void;
}

/** A job endpoint that leases job inv-1 once (then 204) and records what is reported of it. */
async function jobApi(): Promise<JobApi> {
  let leased = false;
  const reports: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/jobs/lease') {
      if (leased) return void res.writeHead(204).end();
      leased = true;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'inv-1', invoice: 'INV-2026-0042' }));
    }
    reports.push(req.url ?? '');
    res.writeHead(200).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, leased: () => leased, reports, close: () => server.close() };
}

let api: JobApi;
beforeEach(async () => {
  api?.close();
  api = await jobApi();
});
afterAll(() => api?.close());

const AGENT = 'workers/render-worker.js';

async function sigtermWhileRendering(file: string): Promise<{ code: number | null; log: string }> {
  const root = fixtureRepo('bin-sigterm-awaits-worker-close-drain', AGENT, roots);
  // A render takes 1.5 s: SIGTERM comes while it is in flight.
  return stopWhen(root, file, { RENDER_JOBS_URL: api.url, RENDER_MS: '1500' }, () => api.leased());
}

describe("a starter's SIGTERM handler awaiting the agent's close()", () => {
  it('legacy: the render in flight finishes after SIGTERM and is reported done', async () => {
    const { code, log } = await sigtermWhileRendering(AGENT);
    expect(api.reports, log).toEqual(['/jobs/inv-1/done']);
    expect(log).toMatch(/render-worker: bye/);
    expect(code, log).toBe(0);
  }, 60_000);

  it('_v2: the base exits before close() is through: the render is neither reported done nor released', async () => {
    const { code, log } = await sigtermWhileRendering(v2(AGENT));
    expect(log).toMatch(/received SIGTERM; stopping/);
    expect(api.reports, log).toEqual([]);
    expect(log).not.toMatch(/render-worker: bye/);
    expect(code, log).toBe(0);
  }, 60_000);
});
