// Several instances of a migrated agent in one process, started for real: the repository's own
// supervisor script (fixture several-instances-shard-ports) builds one RecallShardAgent per shard in a
// dict comprehension, here on the expected _v2 (the module the script imports is the _v2's). Without the
// runtime contract's variables each instance hands BaseAgent its own legacy values, so each serves its
// own /health, registers under its own name with its own ports and deregisters at SIGTERM. With
// HEALTH_CHECK_PORT or AGENT_PORT set for that process, the second instance fails to bind, as the
// run's warning says.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocateAgentPorts, allocatePorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';

const fixture = listCases().find((c) => c.name === 'several-instances-shard-ports')!;
const SCRIPT = 'main_pc_code/scripts/start_recall_shards.py';
const roots: string[] = [];
const servers: Server[] = [];
const held: number[] = [];

afterAll(() => {
  for (const s of servers) s.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  releasePorts(held);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function registryStandIn(calls: Array<{ path: string; body: Record<string, unknown> }>): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST') calls.push({ path: req.url ?? '', body: JSON.parse(body || '{}') });
      res.writeHead(200).end('{}');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

const health = healthJson;

/**
 * The fixture's repository with the expected _v2 beside the legacy file, the script's fixed shard ports
 * moved to free ones (a block each, so port + 1, the health port, is free too), and the script started
 * with the legacy module's name bound to the _v2 module.
 */
async function startScript(extraEnv: Record<string, string>) {
  const root = materialize(fixture);
  roots.push(root);
  writeFileSync(path.join(root, fixture.rel.replace(/\.py$/, '_v2.py')), readFileSync(fixture.expectedFile));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const b = await allocateAgentPorts();
    held.push(...b.block);
    ports.push(b.port);
  }
  let script = readFileSync(path.join(root, SCRIPT), 'utf8');
  const fixed = [...script.matchAll(/"port": (\d+)/g)].map((m) => m[1]!);
  expect(fixed).toHaveLength(3);
  fixed.forEach((p, i) => (script = script.replace(`"port": ${p}`, `"port": ${ports[i]}`)));
  writeFileSync(path.join(root, SCRIPT), script);
  const driver = [
    'import importlib, runpy, sys',
    `sys.path.insert(0, ${JSON.stringify(path.join(root, path.dirname(fixture.rel)))})`,
    `sys.modules["recall_shard_agent"] = importlib.import_module("recall_shard_agent_v2")`,
    `runpy.run_path(${JSON.stringify(path.join(root, SCRIPT))}, run_name="__main__")`,
  ].join('\n');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...extraEnv };
  for (const k of ['AGENT_NAME', 'AGENT_PORT', 'HEALTH_CHECK_PORT', 'METRICS_URL']) if (!(k in extraEnv)) delete env[k];
  const child = spawn('python3', ['-c', driver], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { root, ports, child, exited, output: () => output };
}

describe('several instances of a migrated agent in one process (supervisor script on the _v2)', () => {
  it('each instance serves, registers and deregisters under its own name and ports', async () => {
    const calls: Array<{ path: string; body: Record<string, unknown> }> = [];
    const registry = await registryStandIn(calls);
    const run = await startScript({ REGISTRY_URL: `http://127.0.0.1:${registry}` });
    try {
      const answers: Array<Record<string, unknown> | null> = [null, null, null];
      for (let i = 0; i < 150 && answers.some((a) => !a || !('shard' in a)) && run.child.exitCode === null; i++) {
        for (let s = 0; s < 3; s++) answers[s] = (await health(run.ports[s]! + 1)) ?? answers[s];
        await sleep(100);
      }
      answers.forEach((a, s) => {
        expect(a, `no /health on ${run.ports[s]! + 1}:\n${run.output()}`).not.toBeNull();
        expect(a).toMatchObject({ status: 'ok', agent: `RecallShardAgent-${s}`, port: run.ports[s], health_check_port: run.ports[s]! + 1, shard: s });
      });
      for (let i = 0; i < 100 && calls.filter((c) => c.path === '/register').length < 3; i++) await sleep(100);
      const registered = calls.filter((c) => c.path === '/register').map((c) => c.body);
      expect(registered.map((r) => r.name).sort()).toEqual(['RecallShardAgent-0', 'RecallShardAgent-1', 'RecallShardAgent-2']);
      for (const r of registered) expect(r.port).toBe(run.ports[Number(String(r.name).slice(-1))]);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited, run.output()).toBe(0);
    expect(calls.filter((c) => c.path === '/deregister').map((c) => c.body.name).sort()).toEqual(['RecallShardAgent-0', 'RecallShardAgent-1', 'RecallShardAgent-2']);
    // The business teardown (shutdown() saving the shard) ran for each.
    for (let s = 0; s < 3; s++) expect(existsSync(path.join(run.root, 'state', 'recall', `shard_${s}.json`))).toBe(true);
  }, 60_000);

  for (const variable of ['HEALTH_CHECK_PORT', 'AGENT_PORT']) {
    it(`with ${variable} set for that process, the second instance fails to bind (the warning's claim)`, async () => {
      const [port] = await allocatePorts(1);
      held.push(port!);
      const run = await startScript({ [variable]: String(port) });
      const code = await Promise.race([run.exited, sleep(20_000).then(() => 'running')]);
      if (code === 'running') run.child.kill('SIGKILL');
      expect(code, run.output()).not.toBe(0);
      expect(code).not.toBe('running');
      expect(run.output()).toContain('Address already in use');
      expect(run.output()).toContain('RecallShardAgent-0 ready');
      expect(run.output()).not.toContain('RecallShardAgent-1 ready');
    }, 60_000);
  }
});
