// Several instances of a migrated agent in one process, started for real: the repository's own
// supervisor script (fixture several-instances-shard-ports) builds one RecallShardAgent per shard in a
// dict comprehension, here on the expected _v2 (the module the script imports is the _v2's). Without the
// runtime contract's variables each instance hands BaseAgent its own legacy values, so each serves its
// own /health, registers under its own name with its own ports and deregisters at SIGTERM. With
// HEALTH_CHECK_PORT or AGENT_PORT set for that process, the second instance fails to bind, as the
// run's warning says. Then two different agent classes a supervisor builds from a class table in one
// process (fixture supervisor-class-table-threads): the environment and signal clashes its warning names.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize, type FixtureCase } from './helpers/python-fixtures.js';
import { allocateAgentPorts, allocatePorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { exitedWithOutput } from './helpers/exited.js';

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

/** A supervisor script of a fixture's repository, started on the fixture's expected _v2. */
interface Supervisor {
  fixture: FixtureCase;
  script: string;
  /** The module name the script imports the agent under, and the _v2 module bound to it. */
  legacyModule: string;
  v2Module: string;
  /** The directory put first on sys.path (the script's own import path), if any. */
  importDir?: string;
  /** How many agents (a block of free ports each) the script builds. */
  agents: number;
  /** The script's text with its fixed ports moved to the free blocks (port, port + 1 the health port). */
  movePorts: (script: string, ports: number[]) => string;
}

const shards: Supervisor = {
  fixture: listCases().find((c) => c.name === 'several-instances-shard-ports')!,
  script: 'main_pc_code/scripts/start_recall_shards.py',
  legacyModule: 'recall_shard_agent',
  v2Module: 'recall_shard_agent_v2',
  importDir: 'main_pc_code/agents',
  agents: 3,
  movePorts: (script, ports) => {
    const fixed = [...script.matchAll(/"port": (\d+)/g)].map((m) => m[1]!);
    expect(fixed).toHaveLength(3);
    fixed.forEach((p, i) => (script = script.replace(`"port": ${p}`, `"port": ${ports[i]}`)));
    return script;
  },
};

/**
 * The fixture's repository with the expected _v2 beside the legacy file, the script's fixed ports moved to
 * free ones (a block each, so port + 1, the health port, is free too), and the script started with the
 * legacy module's name bound to the _v2 module.
 */
async function startScript(sup: Supervisor, extraEnv: Record<string, string>) {
  const { fixture } = sup;
  const root = materialize(fixture);
  roots.push(root);
  writeFileSync(path.join(root, fixture.rel.replace(/\.py$/, '_v2.py')), readFileSync(fixture.expectedFile));
  const ports: number[] = [];
  for (let i = 0; i < sup.agents; i++) {
    const b = await allocateAgentPorts();
    held.push(...b.block);
    ports.push(b.port);
  }
  writeFileSync(path.join(root, sup.script), sup.movePorts(readFileSync(path.join(root, sup.script), 'utf8'), ports));
  const driver = [
    'import importlib, runpy, sys',
    ...(sup.importDir ? [`sys.path.insert(0, ${JSON.stringify(path.join(root, sup.importDir))})`] : []),
    `sys.modules[${JSON.stringify(sup.legacyModule)}] = importlib.import_module(${JSON.stringify(sup.v2Module)})`,
    `runpy.run_path(${JSON.stringify(path.join(root, sup.script))}, run_name="__main__")`,
  ].join('\n');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...extraEnv };
  for (const k of ['AGENT_NAME', 'AGENT_PORT', 'HEALTH_CHECK_PORT', 'METRICS_URL', 'REGISTRY_URL']) if (!(k in extraEnv)) delete env[k];
  const child = spawn('python3', ['-c', driver], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = exitedWithOutput(child);
  return { root, ports, child, exited, output: () => output };
}

describe('several instances of a migrated agent in one process (supervisor script on the _v2)', () => {
  it('each instance serves, registers and deregisters under its own name and ports', async () => {
    const calls: Array<{ path: string; body: Record<string, unknown> }> = [];
    const registry = await registryStandIn(calls);
    const run = await startScript(shards, { REGISTRY_URL: `http://127.0.0.1:${registry}` });
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
      const run = await startScript(shards, { [variable]: String(port) });
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

// Two different agent classes of a class table (fixture supervisor-class-table-threads: `AGENTS = {"ingest":
// IngestAgent, "tagger": TaggerAgent}`, `cls(**CONFIG[key])` in a for loop, each run() in a thread), both on
// BaseAgent once the tagger is migrated: the two clashes the run's warning names, for real.
const pipeline: Supervisor = {
  fixture: listCases().find((c) => c.name === 'supervisor-class-table-threads')!,
  script: 'main_pc_code/scripts/run_text_pipeline.py',
  legacyModule: 'main_pc_code.agents.tagger_agent',
  v2Module: 'main_pc_code.agents.tagger_agent_v2',
  agents: 2,
  movePorts: (script, [ingest, tagger]) => {
    const moved = script.replace('"port": 5721}', `"port": ${ingest}}`).replace('"port": 5731, "health_port": 5732}', `"port": ${tagger}, "health_port": ${tagger! + 1}}`);
    expect(moved).not.toMatch(/"port": 57(21|31)\b|5732/);
    return moved;
  },
};

describe('several agent classes of a class table in one process (supervisor script on the _v2)', () => {
  it('SIGTERM stops and deregisters only the last agent built (each construction replaced the signal handlers)', async () => {
    const calls: Array<{ path: string; body: Record<string, unknown> }> = [];
    const registry = await registryStandIn(calls);
    const run = await startScript(pipeline, { REGISTRY_URL: `http://127.0.0.1:${registry}` });
    try {
      for (let i = 0; i < 150 && calls.filter((c) => c.path === '/register').length < 2 && run.child.exitCode === null; i++) await sleep(100);
      expect(calls.filter((c) => c.path === '/register').map((c) => c.body.name).sort(), run.output()).toEqual(['IngestAgent', 'TaggerAgent']);
      expect(await health(run.ports[0]! + 1)).toMatchObject({ agent: 'IngestAgent' });
    } finally {
      run.child.kill('SIGTERM');
    }
    const code = await Promise.race([run.exited, sleep(15_000).then(() => 'running')]);
    if (code === 'running') run.child.kill('SIGKILL');
    expect(code, run.output()).toBe(0);
    // TaggerAgent was built last: its handler is the one SIGTERM reached; IngestAgent stays in the registry.
    expect(calls.filter((c) => c.path === '/deregister').map((c) => c.body.name), run.output()).toEqual(['TaggerAgent']);
  }, 60_000);

  it('with HEALTH_CHECK_PORT set for that process, the second agent fails to bind it', async () => {
    const [port] = await allocatePorts(1);
    held.push(port!);
    const run = await startScript(pipeline, { HEALTH_CHECK_PORT: String(port) });
    const code = await Promise.race([run.exited, sleep(20_000).then(() => 'running')]);
    if (code === 'running') run.child.kill('SIGKILL');
    expect(code, run.output()).not.toBe(0);
    expect(code).not.toBe('running');
    expect(run.output()).toContain('Address already in use');
  }, 60_000);
});
