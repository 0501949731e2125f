// A statsd probe counter moved from a removed health handler into _get_health_status() (fixture
// statsd-send-in-removed-health-handler), started for real on the reference BaseAgent: three GET /health
// probes send three health_probe lines to the statsd relay (a UDP socket of the test's) and the base's
// GET /metrics counts exactly three. Before, the send went with the handler: neither got any.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('a statsd probe counter moved into the health hook', () => {
  it('sends one line per GET /health, to the relay and to the base metrics', async () => {
    const c = listCases().find((k) => k.name === 'statsd-send-in-removed-health-handler')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const relay = createSocket('udp4');
    const lines: string[] = [];
    relay.on('message', (m) => lines.push(...m.toString().split('\n')));
    await new Promise<void>((r) => relay.bind(0, '127.0.0.1', () => r()));
    const [port, health] = await allocatePorts(2);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', AGENT_HOST: '127.0.0.1' };
    for (const k of ['REGISTRY_URL', 'METRICS_URL']) delete env[k];
    Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), STATSD_HOST: '127.0.0.1', STATSD_PORT: String(relay.address().port) });
    const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = exitedWithOutput(child);
    try {
      // Up once /metrics answers (it does not call the health hook): no probe counted yet.
      let metrics = '';
      for (let i = 0; i < 100 && !metrics; i++) {
        metrics = await fetch(`http://127.0.0.1:${health}/metrics`).then((r) => r.text(), () => '');
        if (!metrics) await sleep(100);
      }
      expect(metrics, stderr).toContain('agent_up');
      const probe = 'pc2_spool_flush_health_probe_total{agent="SpoolFlushAgent"}';
      expect(metrics).not.toContain(probe);
      for (let i = 0; i < 3; i++) expect((await healthJson(health))?.status).toBe('ok');
      metrics = await fetch(`http://127.0.0.1:${health}/metrics`).then((r) => r.text());
      expect(metrics).toContain(`${probe} 3.0`);
      for (let i = 0; i < 20 && lines.filter((l) => l.includes('health_probe')).length < 3; i++) await sleep(100);
      expect(lines.filter((l) => l === 'pc2.spool_flush.health_probe:1|c')).toHaveLength(3);
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      relay.close();
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
