// An agent on an old in-house base whose health payload (sent over raw TCP on port + 1) carries a key the old
// base computed from a module it imports ("host": socket.gethostname()), extended by the agent through
// super().health_info() (fixture old-base-health-info-key-base-lacks). Legacy and _v2 started for real: the
// _v2's GET /health answers the same "host" the legacy's health port sent, beside the agent's pending and
// fired. Before, the rewrite kept health_info() for review and the base's /health lacked all three.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocateAgentPorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The one JSON line the old base's raw health listener sends on connect; null while it does not answer. */
function rawHealth(port: number): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.setTimeout(1000, () => sock.destroy());
    sock.on('data', (d) => (data += d));
    sock.on('close', () => {
      try {
        resolve(JSON.parse(data));
      } catch {
        resolve(null);
      }
    });
    sock.on('error', () => resolve(null));
  });
}

async function poll<T>(ask: () => Promise<T | null>, ok: (v: T) => boolean): Promise<T | null> {
  let last: T | null = null;
  for (let i = 0; i < 150; i++) {
    last = await ask();
    if (last && ok(last)) return last;
    await sleep(100);
  }
  return last;
}

describe('an old base health key computed from a module it imports', () => {
  it('old-base-health-info-key-base-lacks: the _v2 /health answers the legacy\'s "host", pending and fired', async () => {
    const c = listCases().find((k) => k.name === 'old-base-health-info-key-base-lacks')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const ports = await allocateAgentPorts();
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1' };
    for (const k of ['REGISTRY_URL', 'METRICS_URL', 'AGENT_PORT', 'HEALTH_CHECK_PORT']) delete env[k];
    // The legacy entry point fixes port 5760; constructed on a free block instead (its health on port + 1).
    const legacy = spawn('python3', ['-c', `from agents.reminder_agent import ReminderAgent\nReminderAgent(port=${ports.port}).run()`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const v2env = { ...env, AGENT_PORT: String(ports.port + 2), HEALTH_CHECK_PORT: String(ports.health_port) };
    const migrated = spawn('python3', [v2], { cwd: root, env: v2env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const p of [legacy, migrated]) {
      p.stdout!.on('data', (d) => (output += d));
      p.stderr!.on('data', (d) => (output += d));
    }
    try {
      const before = await poll(() => rawHealth(ports.port + 1), (s) => 'pending' in s);
      const after = await poll(() => healthJson(ports.health_port), (s) => 'pending' in s);
      expect(before, `legacy health:\n${output}`).toMatchObject({ status: 'ok', agent: 'ReminderAgent', pending: 0, fired: 0 });
      expect(typeof before!.host, JSON.stringify(before)).toBe('string');
      expect(after, `_v2 /health:\n${output}`).toMatchObject({ status: 'ok', agent: 'ReminderAgent', host: before!.host, pending: 0, fired: 0 });
      const exited = exitedWithOutput(migrated);
      migrated.kill('SIGTERM');
      expect(await Promise.race([exited, sleep(10_000).then(() => 'timeout')]), output).toBe(0);
    } finally {
      legacy.kill('SIGKILL');
      migrated.kill('SIGKILL');
      releasePorts(ports.block);
    }
  }, 40_000);
});
