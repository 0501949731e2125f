// An agent whose own run_once() the legacy run() looped every SCAN_SECONDS and whose entry point's --once
// mode calls alone (fixture entry-once-flag-own-run-once-loop-interval), started for real on the reference
// BaseAgent: --once does one scan, runs cleanup() (ending with the base's teardown) and exits 0; run mode
// scans every SCAN_SECONDS (5 s), not at the base's default loop_interval of 1 s (before: 4 scans in 3.5 s).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function start(args: string[]) {
  const c = listCases().find((k) => k.name === 'entry-once-flag-own-run-once-loop-interval')!;
  const root = materialize(c);
  roots.push(root);
  const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
  writeFileSync(v2, readFileSync(c.expectedFile));
  const [port, health] = await allocatePorts(2);
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1' };
  for (const k of ['REGISTRY_URL', 'METRICS_URL']) delete env[k];
  Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) });
  const child = spawn('python3', [v2, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = exitedWithOutput(child);
  const ended = async (ms: number) => {
    const code = await Promise.race([exited, sleep(ms).then(() => 'timeout' as const)]);
    if (code === 'timeout') child.kill('SIGKILL');
    return code;
  };
  return { root, child, health: health!, output: () => output, ended };
}

describe('an own run_once() looped by run() and called alone by --once', () => {
  it('--once scans once, tears down and exits 0', async () => {
    const a = await start(['--once']);
    expect(await a.ended(15_000), a.output()).toBe(0);
    expect(a.output().match(/scan \d+: /g), a.output()).toEqual(['scan 1: ']);
    expect(a.output()).toContain('disk quota agent stopped after 1 scans');
    expect(existsSync(path.join(a.root, 'data', 'quota', 'usage.json'))).toBe(true);
  }, 30_000);

  it('run mode scans every SCAN_SECONDS, not every second', async () => {
    const a = await start([]);
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await healthJson(a.health))?.status === 'ok';
      if (!up) await sleep(100);
    }
    expect(up, a.output()).toBe(true);
    await sleep(3500);
    expect((await healthJson(a.health))?.scans, a.output()).toBe(1);
    a.child.kill('SIGTERM');
    expect(await a.ended(10_000), a.output()).toBe(0);
  }, 30_000);
});
