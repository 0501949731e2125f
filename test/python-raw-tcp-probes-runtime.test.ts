// A raw-TCP health listener (send PING, read PONG) moved onto the base, and the repository's probes of it
// (fixtures raw-tcp-health-compose-connect-only, raw-tcp-health-probed-by-compose): legacy and _v2 started for
// real, each probed the two ways a compose healthcheck does (no nc here: the same bytes from node). A
// connect-only check (`nc -z`) passes on both, so that case is migrated with a warning; a probe that sends
// PING and looks for PONG passes on the legacy only, so that case keeps the probe as a review item.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** `nc -z host port`: does a connection open? */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** `echo PING | nc -w 2 host port`: what comes back (until the server closes or 2 s pass). */
function pingReply(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end('PING\n'));
    let data = '';
    sock.setTimeout(2000, () => sock.destroy());
    sock.on('data', (d) => (data += d));
    sock.on('close', () => resolve(data));
    sock.on('error', () => resolve(data));
  });
}

describe('probes of a raw-TCP health listener, against the legacy and the _v2', () => {
  it('connect-only passes on both; PING/PONG only on the legacy', async () => {
    const c = listCases().find((k) => k.name === 'raw-tcp-health-compose-connect-only')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const [lp, lh, vp, vh] = await allocatePorts(4);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1' };
    for (const k of ['REGISTRY_URL', 'METRICS_URL', 'AGENT_PORT', 'HEALTH_CHECK_PORT']) delete env[k];
    const mod = c.rel.replace(/\.py$/, '').split('/').join('.');
    const legacy = spawn('python3', ['-c', `from ${mod} import ${c.spec.scan!.class}\n${c.spec.scan!.class}(port=${lp}, health_check_port=${lh}).run()`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const migrated = spawn('python3', [v2], { cwd: root, env: { ...env, AGENT_PORT: String(vp), HEALTH_CHECK_PORT: String(vh) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const p of [legacy, migrated]) {
      p.stdout!.on('data', (d) => (output += d));
      p.stderr!.on('data', (d) => (output += d));
    }
    try {
      for (let i = 0; i < 150 && !((await connects(lh!)) && (await connects(vh!))); i++) await sleep(100);
      expect(await connects(lh!), `legacy health port:\n${output}`).toBe(true);
      expect(await connects(vh!), `_v2 health port:\n${output}`).toBe(true);
      expect(await pingReply(lh!), output).toContain('PONG');
      const reply = await pingReply(vh!);
      expect(reply, output).not.toContain('PONG');
      // A request line without an HTTP version: the base's server answers its 400 error page, no status line.
      expect(reply, 'the base answers HTTP there').toContain('Error code: 400');
    } finally {
      legacy.kill('SIGKILL');
      migrated.kill('SIGKILL');
      releasePorts([lp!, lh!, vp!, vh!]);
    }
  }, 40_000);
});
