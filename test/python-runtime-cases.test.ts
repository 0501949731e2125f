// Fixture cases written against the reference BaseAgent (case.yaml `base: reference`) are also
// started for real: their expected _v2 (byte-equal to what the rewrite writes, python-fixtures
// checks that) runs on the reference base with python3, and what case.yaml's `runtime` section
// says must hold: the legacy health payload's business fields in the base's GET /health, the
// ports it listens on (each bound once, no others), periodic work still done, the business
// teardown run once on SIGTERM, exit code 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocateAgentPorts, allocatePorts, releasePorts } from '../src/validate/ports.js';
import { listeningAddresses, listeningPorts } from '../src/validate/listening-ports.js';
import { spawnSync } from 'node:child_process';
import { healthJson } from './helpers/health-json.js';
import { exitedWithOutput } from './helpers/exited.js';

const cases = listCases().filter((c) => c.spec.base === 'reference' && c.spec.runtime);
// The cases run a few at a time (it.concurrent below): each mostly waits on its agent (about 0.2
// CPU-s of a 3-5 s wall), one after another they took 366 s of a CI run for 23 CPU-s. Each has
// its own materialized repository, its own ports (allocatePorts keeps them apart; the fixed ones
// of case.yaml are distinct) and its own sinks; the checks that need time poll for what they
// wait on instead of sleeping a fixed time (see "grows" below).
vi.setConfig({ maxConcurrency: 4 });
const roots: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const health = healthJson;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `ready` every 100 ms until it holds or `ms` have passed (true if it held). The cases run
 * four at a time beside other test files on two cores: what an agent does at its start or in its
 * cycle is given the time it takes there, and a check that holds returns at once.
 */
async function within(ms: number, ready: () => boolean | Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ready()) return true;
    if (Date.now() >= end) return false;
    await sleep(100);
  }
}

/**
 * A Pushgateway stand-in on loopback: every PUT/POST body to /metrics/job/... goes into `bodies`; with
 * `registrations`, a registry stand-in too (each POST /register body goes there).
 */
async function metricsSink(bodies: string[], registrations?: string[], fixedPort = 0, deregistrations?: string[]): Promise<{ server: import('node:http').Server; port: number }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url?.startsWith('/metrics/job/')) bodies.push(body);
      if (req.url === '/register' && req.method === 'POST') registrations?.push(body);
      if (req.url === '/deregister' && req.method === 'POST') deregistrations?.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(fixedPort, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

describe('fixture cases on the reference BaseAgent, started for real', () => {
  it('there are runtime cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    // The test's own expect: assertions of concurrent tests are told apart by it.
    it.concurrent(c.name, async ({ expect }) => {
      const rt = c.spec.runtime!;
      const root = materialize(c);
      roots.push(root);
      const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
      writeFileSync(v2, readFileSync(c.expectedFile));
      mkdirSync(path.join(root, 'state'), { recursive: true });
      // A case listening on a neighbour of its port (`port+2`) is given a block, as migrate validate gives one.
      const block = !rt.fixed_ports && rt.listens?.some((p) => typeof p === 'string' && /^port\+\d+$/.test(p)) ? await allocateAgentPorts() : null;
      const given = rt.fixed_ports ? [] : block ? block.block : await allocatePorts(2);
      const port = rt.fixed_ports?.port ?? block?.port ?? given[0]!;
      const healthPort = rt.fixed_ports?.health ?? block?.health_port ?? given[1]!;
      // Like migrate validate: the repository root on the import path, so `common.core.base_agent` resolves.
      const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
      delete env.AGENT_PORT;
      delete env.HEALTH_CHECK_PORT;
      delete env.REGISTRY_URL;
      delete env.METRICS_URL;
      // Loopback only, like migrate validate: a _v2 that keeps the legacy's every-interface host does so by default.
      env.AGENT_HOST = '127.0.0.1';
      if (!rt.fixed_ports) Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort) });
      const pushes: string[] = [];
      const registrations: string[] = [];
      const deregistrations: string[] = [];
      const pushesChecked = rt.pushed_metrics_contain || rt.pushed_at_stop_contain;
      const sink = pushesChecked || rt.registered_once_with ? await metricsSink(pushes, registrations, rt.registry_default_port, deregistrations) : null;
      if (sink && pushesChecked) Object.assign(env, { METRICS_URL: `http://127.0.0.1:${sink.port}`, METRICS_PUSH_INTERVAL: '1' });
      // registry_default_port: the variable unset, the stand-in where the legacy's default points.
      if (sink && rt.registered_once_with && !rt.registry_default_port) env.REGISTRY_URL = `http://127.0.0.1:${sink.port}`;
      const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = exitedWithOutput(child);
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
        const hasFields = (s: Record<string, unknown> | null) => [...(rt.health_fields ?? []), ...(rt.health_port_fields ?? [])].every((f) => s && f in s);
        await within(15_000, async () => {
          if (hasFields(status) || child.exitCode !== null) return true;
          status = (await health(healthPort)) ?? status;
          return hasFields(status);
        });
        for (const f of rt.health_fields ?? []) expect(status!, `/health lacks "${f}": ${JSON.stringify(status)}`).toHaveProperty(f);
        for (const f of rt.health_port_fields ?? []) expect(status![f], `/health "${f}" is not the health port ${healthPort}: ${JSON.stringify(status)}`).toBe(healthPort);
        // Still up and answering a while later (a second bind on a port would have killed it).
        await sleep(1500);
        let later = await health(healthPort);
        expect(later, `gone after its first healthy answer:\n${output}`).not.toBeNull();
        if (rt.health_grows) {
          // The periodic work still done: the field grows. On a loaded machine (other cases, other
          // files) a cycle may take longer than its period: up to 20 s more for it, each answer
          // still required (an agent gone meanwhile fails here), not a fixed wait that a slow
          // cycle outlasts.
          const grew = (s: Record<string, unknown>) => Number(s[rt.health_grows!]) > Number(status![rt.health_grows!]);
          for (let i = 0; i < 40 && !grew(later!); i++) {
            await sleep(500);
            later = await health(healthPort);
            expect(later, `gone while waiting for ${rt.health_grows} to grow:\n${output}`).not.toBeNull();
          }
          expect(Number(later![rt.health_grows]), `${rt.health_grows} did not grow`).toBeGreaterThan(Number(status![rt.health_grows]));
        }
        if (rt.listens) {
          const want = rt.listens.map((p) => (p === 'port' ? port : p === 'health' ? healthPort : typeof p === 'string' ? port + Number(p.slice(5)) : p)).sort((a, b) => a - b);
          expect(listeningPorts([child.pid!]), 'listening ports').toEqual(want);
        }
        // `{health}` stands for the health port this run gave the _v2 (HEALTH_CHECK_PORT), `{port}` (`{port+k}`) for its AGENT_PORT (and a neighbour).
        const logged = (x: string) => x.replace(/\{health\}/g, String(healthPort)).replace(/\{port(?:\+(\d+))?\}/g, (_, k: string | undefined) => String(port + Number(k ?? 0)));
        for (const l of (rt.log_contains ?? []).map(logged)) {
          await within(10_000, () => output.includes(l));
          expect(output, `log lacks ${l}`).toContain(l);
        }
        for (const [route, code] of Object.entries(rt.answers ?? {})) {
          const res = await fetch(`http://127.0.0.1:${healthPort}${route}`, { signal: AbortSignal.timeout(2000) });
          expect(res.status, `GET ${route} on the health port`).toBe(code);
        }
        if (rt.metrics_contains) {
          const res = await fetch(`http://127.0.0.1:${healthPort}/metrics`, { signal: AbortSignal.timeout(2000) });
          const text = await res.text();
          expect(res.status, `GET /metrics: ${text}`).toBe(200);
          for (const m of rt.metrics_contains) expect(text, `/metrics lacks ${m}`).toContain(m);
        }
        if (rt.pushed_metrics_contain) {
          const all = (b: string) => rt.pushed_metrics_contain!.every((m) => b.includes(m));
          await within(20_000, () => pushes.some(all));
          expect(pushes.some(all), `no one push carries ${rt.pushed_metrics_contain.join(', ')}:\n${pushes.slice(-4).join('\n---\n')}`).toBe(true);
        }
        if (rt.registered_once_with) {
          await within(15_000, () => registrations.length > 0);
          // A second registration (the agent's own beside the base's) would have come by now: both start in __init__.
          await sleep(1000);
          expect(registrations.length, `POST /register ${registrations.length} times:\n${registrations.join('\n')}`).toBe(1);
          expect(JSON.parse(registrations[0]!), 'the registered record').toMatchObject(rt.registered_once_with);
        }
        const stop = rt.stop_signal ?? 'SIGTERM';
        child.kill(stop);
        const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
        expect(code, `${stop} did not end it with 0:\n${output}`).toBe(0);
        for (const f of rt.sigterm_writes ?? []) expect(existsSync(path.join(root, f)), `${f} not written at shutdown:\n${output}`).toBe(true);
        for (const [f, text] of Object.entries(rt.sigterm_file_contains ?? {})) {
          const at = path.join(root, f);
          expect(existsSync(at) ? readFileSync(at, 'utf8') : '', `${f} after ${stop}:\n${output}`).toContain(text);
        }
        if (rt.deregisters) {
          expect(deregistrations.map((b) => JSON.parse(b).name), `POST /deregister at ${stop}:\n${output}`).toEqual([rt.registered_once_with?.name]);
        }
        for (const l of rt.log_once ?? []) expect(output.split(l).length - 1, `"${l}" logged once:\n${output}`).toBe(1);
        if (rt.pushed_at_stop_contain) {
          const all = (b: string) => rt.pushed_at_stop_contain!.every((m) => b.includes(m));
          expect(pushes.some(all), `no one push carries ${rt.pushed_at_stop_contain.join(', ')} after ${stop}:\n${pushes.slice(-2).join('\n---\n')}\n${output}`).toBe(true);
        }
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        sink?.server.close();
        releasePorts(given);
      }
    }, 120_000);
  }
});

// A legacy health server on every interface (a monitor on another machine polls it): the _v2 must listen on
// the same interface, with the deployment's AGENT_HOST unset. Legacy and _v2 each run in a network namespace
// of their own (`unshare -n`: only a loopback there, down), so an every-interface listener reaches nothing
// outside it; the address is read from that namespace's table. Before, the _v2 listened on 127.0.0.1.
const netns = spawnSync('unshare', ['-n', 'true']).status === 0;
describe.skipIf(!netns)('the interface the health server listens on', () => {
  for (const c of cases.filter((x) => x.spec.runtime!.listens_on)) {
    it(`${c.name}: legacy and _v2 listen on the same interface`, async () => {
      const root = materialize(c);
      roots.push(root);
      const legacy = path.join(root, c.rel);
      const v2 = legacy.replace(/\.py$/, '_v2.py');
      writeFileSync(v2, readFileSync(c.expectedFile));
      const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1' };
      for (const k of ['AGENT_HOST', 'AGENT_PORT', 'HEALTH_CHECK_PORT', 'REGISTRY_URL', 'METRICS_URL']) delete env[k];
      const hosts: Record<string, string[]> = {};
      for (const file of [legacy, v2]) {
        // unshare execs python3: the child's pid is the agent's.
        const child = spawn('unshare', ['-n', 'python3', file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let output = '';
        child.stdout!.on('data', (d) => (output += d));
        child.stderr!.on('data', (d) => (output += d));
        try {
          let seen: string[] = [];
          await within(15_000, () => {
            seen = child.exitCode === null ? listeningAddresses(child.pid!) : [];
            return seen.length > 0 || child.exitCode !== null;
          });
          expect(seen, `${path.basename(file)} listens nowhere:\n${output}`).not.toEqual([]);
          hosts[path.basename(file)] = [...new Set(seen.map((a) => a.split(':')[0]!))].sort();
        } finally {
          child.kill('SIGKILL');
        }
      }
      const [a, b] = Object.values(hosts);
      expect(b, JSON.stringify(hosts)).toEqual(a);
      for (const h of Object.values(c.spec.runtime!.listens_on!)) expect(a, JSON.stringify(hosts)).toContain(h);
    }, 60_000);
  }
});

// A context-manager agent whose run ends by leaving the `with` (a `--once` run, no signal): __exit__ ends
// with the base's teardown, so the base's last metrics push (agent_up 0) goes out before the process ends
// (and a registration is withdrawn). Before, the process ended with the base never stopped.
describe('a context-manager agent leaving its with block without a signal', () => {
  it('context-manager-once-flag --once stops the base on the way out', async () => {
    const c = listCases().find((x) => x.name === 'context-manager-once-flag')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const bodies: string[] = [];
    const { createServer } = await import('node:http');
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    const sinkPort = (sink.address() as { port: number }).port;
    const [port, healthPort] = await allocatePorts(2);
    try {
      const env: Record<string, string> = {
        ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1',
        AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort), METRICS_URL: `http://127.0.0.1:${sinkPort}`, METRICS_PUSH_INTERVAL: '60',
      };
      delete env.REGISTRY_URL;
      const child = spawn('python3', [v2, '--once'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const code = await Promise.race([exitedWithOutput(child), sleep(15_000).then(() => 'timeout' as const)]);
      expect(code, output).toBe(0);
      expect(output, 'one report built').toContain('report data/invoice_reports/report-0.json written');
      expect(bodies.some((b) => b.startsWith('PUT /metrics/job/InvoiceReportAgent') && /agent_up\{agent="InvoiceReportAgent"\} 0\b/.test(b)), `no final push:\n${bodies.join('\n')}\n${output}`).toBe(true);
    } finally {
      sink.close();
      releasePorts([port!, healthPort!]);
    }
  }, 30_000);
});

// An agent whose own HTTP server (on its port) serves business routes and /health: the server stays for
// its routes, and its /health branch answers the base's status (the health hook), so a client of the old
// port gets what the base's health port answers, business fields included. Before, the old port answered
// the agent's health() alone while the base's /health lacked reports_built / last_build.
describe('an agent keeping its own server for business routes', () => {
  it('own-server-business-route-health-forwarded: the old port answers /reports and the base status on /health', async () => {
    const c = listCases().find((x) => x.name === 'own-server-business-route-health-forwarded')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    mkdirSync(path.join(root, 'data', 'exports'), { recursive: true });
    writeFileSync(path.join(root, 'data', 'exports', '2026-11-30.csv'), 'region,amount\nnorth,10.5\nsouth,4\nnorth,1.5\n');
    const [port, healthPort] = await allocatePorts(2);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1',
      AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort),
    };
    delete env.REGISTRY_URL;
    delete env.METRICS_URL;
    const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = exitedWithOutput(child);
    try {
      const get = async (p: number, route: string) => {
        try {
          const res = await fetch(`http://127.0.0.1:${p}${route}`, { signal: AbortSignal.timeout(1000) });
          return { code: res.status, body: (await res.json()) as Record<string, unknown> };
        } catch {
          return null;
        }
      };
      let base: Awaited<ReturnType<typeof get>> = null;
      for (let i = 0; i < 150 && !(base && base.body.reports_built === 1) && child.exitCode === null; i++) {
        base = await get(healthPort!, '/health');
        if (!(base && base.body.reports_built === 1)) await sleep(100);
      }
      expect(base?.body, `base /health:\n${output}`).toMatchObject({ status: 'ok', agent: 'ReportBuilderAgent', reports_built: 1, last_build: '2026-11-30' });
      const old = await get(port!, '/health');
      expect(old?.code, output).toBe(200);
      // The base's status (its own fields: agent, health_check_port), with the agent's business fields.
      expect(old!.body).toMatchObject({ status: 'ok', agent: 'ReportBuilderAgent', health_check_port: healthPort, reports_built: 1 });
      const report = await get(port!, '/reports/2026-11-30');
      expect(report?.code, output).toBe(200);
      expect(report!.body).toMatchObject({ day: '2026-11-30', total: 16, orders: 3 });
      expect((await get(port!, '/reports'))?.body).toEqual({ reports: ['2026-11-30'] });
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      expect(code, output).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      releasePorts([port!, healthPort!]);
    }
  }, 60_000);
});

// One handler for SIGHUP (reload) and SIGTERM/SIGINT (stop), answering SIGHUP first: its SIGTERM/SIGINT installs
// go and it stays installed for SIGHUP. Before, the whole handler was kept for review; here the _v2 still
// reloads on SIGHUP, and SIGTERM (now the base's handler) ends it with status 0 after the kept cleanup() ran once.
describe('a signal handler answering SIGHUP before it stops the agent', () => {
  it('signal-handler-answers-sighup-first-then-stops: SIGHUP re-reads the table, SIGTERM stops once', async () => {
    const c = listCases().find((x) => x.name === 'signal-handler-answers-sighup-first-then-stops')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const table = path.join(root, 'pc2_code', 'config', 'routing_table.json');
    const [port, healthPort] = await allocatePorts(2);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1',
      AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(healthPort),
    };
    delete env.REGISTRY_URL;
    delete env.METRICS_URL;
    const child = spawn('python3', [v2], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = exitedWithOutput(child);
    try {
      let status: Record<string, unknown> | null = null;
      const answers = async (want: (s: Record<string, unknown>) => boolean) =>
        within(15_000, async () => {
          status = (await health(healthPort!)) as Record<string, unknown> | null;
          return !!status && want(status);
        });
      expect(await answers((s) => s.table_version === 1 && s.intents === 2), `first table:\n${JSON.stringify(status)}\n${output}`).toBe(true);
      writeFileSync(table, JSON.stringify({ routes: { weather: { agent: 'WeatherAgent', port: 7310 } } }));
      child.kill('SIGHUP');
      expect(await answers((s) => s.table_version === 2 && s.intents === 1 && s.reloads === 1), `after SIGHUP:\n${JSON.stringify(status)}\n${output}`).toBe(true);
      expect(child.exitCode, output).toBeNull();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
      expect(code, output).toBe(0);
      expect(output.split('RoutingTableAgent shutting down after').length - 1, output).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      releasePorts([port!, healthPort!]);
    }
  }, 60_000);
});

// A _v2 must also start where its legacy started: with the ports its code falls back to, not only with the
// ones migrate validate hands it (AGENT_PORT, HEALTH_CHECK_PORT move the base's ports out of the way of
// anything the rewrite kept, so a kept server on the base's own default port passes validation and dies
// with "Address already in use" in production). For cases with runtime.legacy_defaults, the legacy file
// and then its expected _v2 are started with none of those variables set; each must answer GET /health
// on the health port its code falls back to and still be up (and answering) a while later.
const defaultsCases = listCases().filter((c) => c.spec.base === 'reference' && c.spec.runtime?.legacy_defaults?.health);

/** Starts `file` with no port variables; its /health answers and its output, then it is stopped (SIGKILL if SIGTERM is not enough). */
async function startAsOperators(root: string, file: string, healthPort: number): Promise<{ first: Record<string, unknown> | null; later: Record<string, unknown> | null; output: string }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
  for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'AGENT_HOST', 'AGENT_NAME', 'REGISTRY_URL', 'METRICS_URL']) delete env[k];
  const child = spawn('python3', [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    let first: Record<string, unknown> | null = null;
    for (let i = 0; i < 150 && !first && child.exitCode === null; i++) {
      first = await health(healthPort);
      if (!first) await sleep(100);
    }
    // A second bind on one port kills the process at start or soon after: still there, still answering.
    await sleep(2000);
    const later = child.exitCode === null ? await health(healthPort) : null;
    return { first, later, output };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
}

function prepared(c: (typeof cases)[number]): { root: string; legacy: string; v2: string } {
  const root = materialize(c);
  roots.push(root);
  mkdirSync(path.join(root, 'state'), { recursive: true });
  const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
  writeFileSync(v2, readFileSync(c.expectedFile));
  return { root, legacy: path.join(root, c.rel), v2 };
}

describe('legacy and _v2 started with their own default ports', () => {
  it('there are such cases', () => {
    expect(defaultsCases.length).toBeGreaterThan(0);
  });

  for (const c of defaultsCases) {
    it.concurrent(c.name, async ({ expect }) => {
      const healthPort = c.spec.runtime!.legacy_defaults!.health;
      const { root, legacy, v2 } = prepared(c);
      // One after the other: both fall back to the same ports.
      const before = await startAsOperators(root, legacy, healthPort);
      expect(before.first, `legacy: no /health on ${healthPort}:\n${before.output}`).not.toBeNull();
      expect(before.later, `legacy: gone or silent after its first answer:\n${before.output}`).not.toBeNull();
      const after = await startAsOperators(root, v2, healthPort);
      expect(after.output, '_v2 failed to bind a port').not.toMatch(/Address already in use/);
      expect(after.first, `_v2: no /health on ${healthPort}:\n${after.output}`).not.toBeNull();
      expect(after.later, `_v2: gone or silent after its first answer:\n${after.output}`).not.toBeNull();
      expect(['ok', 'healthy']).toContain(after.later!.status);
    });
  }
});
