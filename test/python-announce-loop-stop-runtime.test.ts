// A kept re-announce loop (fixture announce-loop-kept-waits-on-base-stop: a non-daemon thread that sleeps,
// then posts the agent's record to REGISTRY_URL/register) started for real on the reference BaseAgent
// against the embedded registry, stopped by SIGTERM while the loop sleeps, five times: after each exit the
// registry holds no entry for the agent. Before the loop's sleep was the base's stop event's wait, the
// thread woke after BaseAgent.stop() had deregistered and registered the agent again, every time.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../src/validate/embedded-registry.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
let registry: EmbeddedRegistry | null = null;

afterAll(async () => {
  await registry?.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a kept re-announce loop stopped mid-sleep', () => {
  it('leaves no registry entry after SIGTERM, 5 runs out of 5', async () => {
    const c = listCases().find((k) => k.name === 'announce-loop-kept-waits-on-base-stop')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    registry = await startEmbeddedRegistry();
    const left: string[] = [];
    for (let run = 0; run < 5; run++) {
      const scope = `run${run}`;
      const [port, health] = await allocatePorts(2);
      const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', AGENT_HOST: '127.0.0.1' };
      delete env.METRICS_URL;
      Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registry.scoped(scope) });
      const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = exitedWithOutput(child);
      const mine = () => registry!.registrations().filter((r) => r.scope === scope);
      // Registered (the agent's own announce and the base's), then stopped at a different point of the loop's 1 s sleep each run.
      for (let i = 0; i < 100 && !mine().some((r) => 'outlets' in r.record); i++) await sleep(100);
      expect(mine().length, `run ${run}: registered\n${stderr}`).toBeGreaterThan(0);
      await sleep(150 + run * 170);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') child.kill('SIGKILL');
      expect(code, `run ${run}: exit\n${stderr}`).toBe(0);
      // A post in flight as it exited has landed by now.
      await sleep(200);
      if (mine().length) left.push(`run ${run}: ${JSON.stringify(mine().map((r) => r.record))}`);
    }
    expect(left, 'registry entries left after the agent exited').toEqual([]);
  }, 90_000);
});
