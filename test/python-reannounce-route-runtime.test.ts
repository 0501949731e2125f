// An agent whose own registration helper (gone for the base's) was also called from an admin route
// (fixture own-registration-pair-reannounce-route-wired), started for real on the reference BaseAgent
// against a registry stand-in: one registration at start (the base's), POST /admin/reannounce on the
// agent's port registers it again through BaseAgent._register_once() (answer 204), and SIGTERM
// deregisters it once, exit 0. Before, the agent's own pair stayed beside the base's: two of each.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a re-announce route wired to the base registration', () => {
  it('registers once at start, again on POST /admin/reannounce, deregisters once', async () => {
    const c = listCases().find((k) => k.name === 'own-registration-pair-reannounce-route-wired')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const posts: Array<{ url: string; body: Record<string, unknown> }> = [];
    const registry = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts.push({ url: req.url ?? '', body: JSON.parse(body || '{}') });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
    const [port, health] = await allocatePorts(2);
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', AGENT_HOST: '127.0.0.1' };
    delete env.METRICS_URL;
    Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: `http://127.0.0.1:${(registry.address() as { port: number }).port}` });
    const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = exitedWithOutput(child);
    const of = (p: string) => posts.filter((x) => x.url === p);
    try {
      for (let i = 0; i < 100 && !of('/register').length; i++) await sleep(100);
      // The agent's port answers once its __init__ is done.
      let status = 0;
      for (let i = 0; i < 50 && !status; i++) {
        status = await fetch(`http://127.0.0.1:${port}/admin/reannounce`, { method: 'POST' }).then((r) => r.status, () => 0);
        if (!status) await sleep(100);
      }
      expect(status, stderr).toBe(204);
      expect(of('/register').map((x) => x.body.name)).toEqual(['RouteTableAgent', 'RouteTableAgent']);
      expect(of('/register')[1]!.body).toMatchObject({ port, health_check_port: health });
    } finally {
      child.kill('SIGTERM');
    }
    const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') child.kill('SIGKILL');
    registry.close();
    expect(code, stderr).toBe(0);
    expect(of('/deregister').map((x) => x.body)).toEqual([{ name: 'RouteTableAgent' }]);
    expect(of('/register')).toHaveLength(2);
  }, 40_000);
});
