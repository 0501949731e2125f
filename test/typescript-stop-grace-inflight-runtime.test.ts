// Why the in-flight stop-grace review item exists (transforms/typescript/stop-grace-drain.ts), shown
// at runtime: log-shipper-onstop-waits-inflight-batch-retries' legacy LogShipper waits on SIGTERM for
// the batch in flight to be answered, then saves its offsets and prints its summary; its _v2 (the
// fixture's expected output, where the wait is kept and the item says it is cut) is ended by the
// base 3 s after SIGTERM whatever onStop() still waits for. The sink here holds the batch 5 s.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir, loadProfile } from '../src/profile/profile.js';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'log-shipper-onstop-waits-inflight-batch-retries');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-inflight-'));
  roots.push(root);
  mkdirSync(path.join(root, 'shipper'), { recursive: true });
  writeFileSync(path.join(root, 'shipper', 'log-shipper.ts'), readFileSync(path.join(fixture, 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, 'shipper', 'log-shipper_v2.ts'), readFileSync(path.join(fixture, 'expected.ts'), 'utf8'));
  cpSync(path.join(fixture, 'lib'), path.join(root, 'lib'), { recursive: true });
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  mkdirSync(path.join(root, 'logs'));
  writeFileSync(path.join(root, 'logs', 'app.log'), 'GET /a 200\nGET /b 500\nGET /c 200\n');
  return root;
}

/** A log sink that answers each bulk POST `holdMs` after it arrived (and every other request at once). */
async function slowSink(holdMs: number): Promise<{ url: string; posted: () => number; close: () => void }> {
  let posts = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') {
        posts += 1;
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errors":false}'), holdMs);
      } else res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { url, posted: () => posts, close: () => { server.closeAllConnections(); server.close(); } };
}

async function stopWithBatchInFlight(file: string): Promise<{ exitMs: number; code: number | null; log: string; offsets: string }> {
  const root = materialize();
  const sink = await slowSink(5000);
  const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
  const state = path.join(root, 'var', 'offsets.json');
  mkdirSync(path.dirname(state), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', LOG_DIR: path.join(root, 'logs'), SHIPPER_STATE: state,
    LOG_SINK_URL: `${sink.url}/_bulk`, PUSHGATEWAY_URL: sink.url, SHIPPER_STATUS_PORT: String(await freePort()),
  };
  for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
  const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  try {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // The batch is in flight once the sink has it.
    const t = Date.now();
    while (sink.posted() === 0 && Date.now() - t < 30_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(sink.posted(), log).toBe(1);
    const sent = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    return { exitMs: Date.now() - sent, code, log, offsets: existsSync(state) ? readFileSync(state, 'utf8') : '' };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    sink.close();
    await cmd.cleanup?.();
  }
}

describe('work in flight at SIGTERM: the legacy waits for it, the base cuts it at its 3 s grace', () => {
  it('legacy: waits for the held batch (answered after 5 s), saves its offsets and prints its summary', async () => {
    const r = await stopWithBatchInFlight('shipper/log-shipper.ts');
    expect(r.code, r.log).toBe(0);
    expect(r.exitMs).toBeGreaterThanOrEqual(4000);
    expect(r.log).toMatch(/\[shipper\] stopped after 3 lines in 1 batches/);
    expect(r.offsets).toMatch(/app\.log/);
  }, 90_000);

  it('_v2: ended about 3 s after SIGTERM, the batch unanswered, its offsets not saved, no summary', async () => {
    const r = await stopWithBatchInFlight('shipper/log-shipper_v2.ts');
    expect(r.exitMs, r.log).toBeGreaterThanOrEqual(2500);
    expect(r.exitMs, r.log).toBeLessThan(4500);
    expect(r.log).not.toMatch(/\[shipper\] stopped after/);
    expect(r.offsets).not.toMatch(/app\.log/);
  }, 90_000);
});
