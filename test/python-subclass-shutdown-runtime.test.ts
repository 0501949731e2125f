// subclass-elsewhere-overrides-signal-lambda-shutdown: FillRouter's SIGTERM handler is a lambda
// calling shutdown(), which BlockFillRouter (another module) overrides with a drain line before
// super().shutdown(). The subclass, run on the _v2 parent (as it is once the parent is promoted),
// still logs its drain line on SIGTERM, once, and ends with 0 after the base's "stopped" line, as
// the legacy subclass logs it and ends with 0.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { exitedWithOutput } from './helpers/exited.js';

const CASE = 'subclass-elsewhere-overrides-signal-lambda-shutdown';
const DRAIN = /block router drained after \d+ batches/g;
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Run BlockFillRouter on `parent` (the legacy module or its _v2) until it routed a batch, then SIGTERM: its output and exit code. */
async function runBlockRouter(parent: 'fill_router' | 'fill_router_v2'): Promise<{ code: number | null; log: string }> {
  const c = listCases().find((x) => x.name === CASE)!;
  const root = materialize(c);
  roots.push(root);
  writeFileSync(path.join(root, 'agents', 'fill_router_v2.py'), readFileSync(c.expectedFile));
  const sub = path.join(root, 'agents', 'block_fill_router.py');
  writeFileSync(sub, readFileSync(sub, 'utf8').replace('from agents.fill_router import', `from agents.${parent} import`));
  const starter = 'from agents.block_fill_router import BlockFillRouter\nBlockFillRouter(port=0, health_check_port=0).run()\n';
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1', AGENT_PORT: '0', HEALTH_CHECK_PORT: '0' };
  for (const k of ['REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
  const child = spawn('python3', ['-c', starter], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = exitedWithOutput(child);
  const end = Date.now() + 20_000;
  while (Date.now() < end && child.exitCode === null && !/routed batch 1\b/.test(log)) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, log };
}

describe("a subclass elsewhere overriding the shutdown() the SIGTERM lambda calls still drains", () => {
  it('legacy: the drain line, exit 0', async () => {
    const r = await runBlockRouter('fill_router');
    expect(r.log.match(DRAIN), r.log).toHaveLength(1);
    expect(r.code, r.log).toBe(0);
  }, 40_000);

  it('_v2: the drain line once, the base stops, exit 0', async () => {
    const r = await runBlockRouter('fill_router_v2');
    expect(r.log.match(DRAIN), r.log).toHaveLength(1);
    expect(r.log, r.log).toMatch(/FillRouter stopped/);
    expect(r.code, r.log).toBe(0);
  }, 40_000);
});
