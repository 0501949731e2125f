// A kept teardown that stops the agent's own logging last (a QueueListener's stop()) is given the base's
// teardown before that tail, not after it: when run() ends without a signal (a "drain" datagram), the entry
// point's finally runs shutdown() alone, and the base's last line ("<name> stopped") must still be written.
// The real expected _v2 of the fixture case runs on the reference BaseAgent.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { exitedWithOutput } from './helpers/exited.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('shutdown() run by the entry point without a signal still logs the base teardown\'s stopped line', async () => {
  const c = listCases().find((x) => x.name === 'teardown-super-before-queue-listener-stop')!;
  const root = materialize(c);
  roots.push(root);
  const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
  writeFileSync(v2, readFileSync(c.expectedFile));
  const given = await allocatePorts(2);
  const [port, healthPort] = given as [number, number];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1', AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort) };
  delete env.REGISTRY_URL;
  delete env.METRICS_URL;
  const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = exitedWithOutput(child);
  try {
    let up = null;
    for (let i = 0; i < 150 && !up && child.exitCode === null; i++) {
      up = await healthJson(healthPort);
      if (!up) await sleep(100);
    }
    expect(up, `no /health:\n${output}`).not.toBeNull();
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.send(JSON.stringify({ action: 'drain' }), port, '127.0.0.1', () => r()));
    sock.close();
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    expect(code, `the drain did not end it with 0:\n${output}`).toBe(0);
    expect(output).toContain('drain requested');
    // Through the agent's own QueueListener (its format, " - "): the base's line reached the agent's log.
    expect(output.split(' - INFO - ReportSpoolerAgent stopped').length - 1, `the base's stopped line in the agent's log, once:\n${output}`).toBe(1);
    expect(output).toContain(' - INFO - spooler stopped: 0 spooled, 0 rejected');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    releasePorts(given);
  }
}, 60_000);
