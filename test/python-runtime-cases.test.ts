// Fixture cases written against the reference BaseAgent (case.yaml `base: reference`) are also
// started for real: their expected _v2 (byte-equal to what the rewrite writes, python-fixtures
// checks that) runs on the reference base with python3, and what case.yaml's `runtime` section
// says must hold: the legacy health payload's business fields in the base's GET /health, the
// ports it listens on (each bound once, no others), periodic work still done, the business
// teardown run once on SIGTERM, exit code 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { listeningPorts } from '../src/validate/listening-ports.js';

const cases = listCases().filter((c) => c.spec.base === 'reference' && c.spec.runtime);
const roots: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function health(port: number): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fixture cases on the reference BaseAgent, started for real', () => {
  it('there are runtime cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const rt = c.spec.runtime!;
      const root = materialize(c);
      roots.push(root);
      const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
      writeFileSync(v2, readFileSync(c.expectedFile));
      mkdirSync(path.join(root, 'state'), { recursive: true });
      const given = rt.fixed_ports ? [] : await allocatePorts(2);
      const port = rt.fixed_ports?.port ?? given[0]!;
      const healthPort = rt.fixed_ports?.health ?? given[1]!;
      // Like migrate validate: the repository root on the import path, so `common.core.base_agent` resolves.
      const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
      delete env.AGENT_PORT;
      delete env.HEALTH_CHECK_PORT;
      delete env.REGISTRY_URL;
      delete env.METRICS_URL;
      if (!rt.fixed_ports) Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort) });
      const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        // Healthy within 15 s.
        let status: Record<string, unknown> | null = null;
        for (let i = 0; i < 150 && !status && child.exitCode === null; i++) {
          status = await health(healthPort);
          if (!status) await sleep(100);
        }
        expect(status, `no /health on ${healthPort}:\n${output}`).not.toBeNull();
        // The base serves /health from inside super().__init__(), before the agent's own
        // __init__ has set its fields: a first answer may come before them (seen under load).
        const hasFields = (s: Record<string, unknown> | null) => (rt.health_fields ?? []).every((f) => s && f in s);
        for (let i = 0; i < 50 && !hasFields(status) && child.exitCode === null; i++) {
          await sleep(100);
          status = (await health(healthPort)) ?? status;
        }
        for (const f of rt.health_fields ?? []) expect(status!, `/health lacks "${f}": ${JSON.stringify(status)}`).toHaveProperty(f);
        // Still up and answering a while later (a second bind on a port would have killed it).
        await sleep(rt.health_grows ? 2500 : 1500);
        const later = await health(healthPort);
        expect(later, `gone after its first healthy answer:\n${output}`).not.toBeNull();
        if (rt.health_grows) expect(Number(later![rt.health_grows]), `${rt.health_grows} did not grow`).toBeGreaterThan(Number(status![rt.health_grows]));
        if (rt.listens) {
          const want = rt.listens.map((p) => (p === 'port' ? port : p === 'health' ? healthPort : p)).sort((a, b) => a - b);
          expect(listeningPorts([child.pid!]), 'listening ports').toEqual(want);
        }
        for (const l of rt.log_contains ?? []) expect(output, `log lacks ${l}`).toContain(l);
        child.kill('SIGTERM');
        const code = await Promise.race([exited, sleep(8000).then(() => 'timeout' as const)]);
        expect(code, `SIGTERM did not end it with 0:\n${output}`).toBe(0);
        for (const f of rt.sigterm_writes ?? []) expect(existsSync(path.join(root, f)), `${f} not written at shutdown:\n${output}`).toBe(true);
        for (const l of rt.log_once ?? []) expect(output.split(l).length - 1, `"${l}" logged once:\n${output}`).toBe(1);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        releasePorts(given);
      }
    }, 40_000);
  }
});
