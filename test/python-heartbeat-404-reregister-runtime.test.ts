// An agent whose heartbeat re-registers it through its own _register() when the registry answers 404 (it
// restarted and forgot the agent): fixture own-registration-pair-heartbeat-404-reregisters, legacy and _v2
// started for real (the _v2 on the reference BaseAgent) against a registry stand-in that keeps a live
// table, and forgets the agent and answers 404 at its first heartbeat. Each must hold exactly one live
// registration afterwards, with the record it registered at start (registered once at start and once
// after the 404: the base and the agent both registering would be two at start), and deregister once at
// SIGTERM, leaving the table empty.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { forgetfulRegistry } from './helpers/forgetful-registry.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a heartbeat re-registering on 404 through the helper the base replaced', () => {
  const c = listCases().find((k) => k.name === 'own-registration-pair-heartbeat-404-reregisters')!;
  for (const side of ['legacy', '_v2'] as const) {
    it(`${side}: one live registration with its start record after the 404, one deregistration at SIGTERM`, async () => {
      const root = materialize(c);
      roots.push(root);
      let file = path.join(root, c.rel);
      if (side === '_v2') {
        file = file.replace(/\.py$/, '_v2.py');
        writeFileSync(file, readFileSync(c.expectedFile));
      }
      const registry = await forgetfulRegistry();
      const [port, health] = await allocatePorts(2);
      const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', AGENT_HOST: '127.0.0.1' };
      delete env.METRICS_URL;
      Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registry.url, HEARTBEAT_INTERVAL: '0.3' });
      const child = spawn('python3', [file], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = exitedWithOutput(child);
      const of = (p: string) => registry.posts.filter((x) => x.url === p);
      try {
        // Registered, forgotten at the first heartbeat, registered again; then two more heartbeats answered 200.
        for (let i = 0; i < 200 && of('/heartbeat').length < 3; i++) await sleep(100);
        expect(of('/heartbeat').length, stderr).toBeGreaterThanOrEqual(3);
        const registered = of('/register').map((x) => x.body);
        expect(registered, stderr).toHaveLength(2);
        expect(registered[1]).toEqual(registered[0]);
        expect(registered[0]).toMatchObject({ name: 'PriceFeedAgent', port, health_check_port: health });
        expect([...registry.live.values()]).toEqual([registered[0]]);
      } finally {
        child.kill('SIGTERM');
      }
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') child.kill('SIGKILL');
      await sleep(200);
      registry.close();
      expect(code, stderr).toBe(0);
      expect(of('/deregister').map((x) => x.body), stderr).toEqual([{ name: 'PriceFeedAgent' }]);
      expect(registry.live.size).toBe(0);
      expect(of('/register')).toHaveLength(2);
    }, 60_000);
  }
});
