// A migrated TypeScript agent runs for real: compiled with the TypeScript compiler API by the
// adapter's launch(), started with node in its own process group, it serves /health on
// loopback, registers, pushes metrics labelled with its name, and exits 0 on SIGTERM.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import type { LaunchCommand } from '../src/pipeline/language.js';
import { freePort } from './helpers/ask.js';
import { exitedWithOutput } from './helpers/exited.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (name: string) => {
  const dir = path.join(here, '..', 'fixtures', 'typescript', name);
  return readFileSync(path.join(dir, ['expected.ts', 'expected.js', 'expected.cjs', 'expected.mjs'].find((f) => existsSync(path.join(dir, f)))!), 'utf8');
};
const tmp = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-launch-'));
const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const c of cleanups.splice(0)) await c();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A registry + metrics sink on loopback that records what agents send. */
async function sink(): Promise<{ url: string; registrations: unknown[]; pushes: string[]; close: () => Promise<void> }> {
  const registrations: unknown[] = [];
  const pushes: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/register') registrations.push(JSON.parse(body));
      else if (req.method === 'PUT' && req.url?.startsWith('/metrics/job/')) pushes.push(body);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    registrations,
    pushes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function getJson(port: number): Promise<{ code: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(body || 'null') }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

// 25 s: a whole suite on 2 cores can hold a tsx-compiled agent's start past 15 s (seen once); the tests allow 40 s.
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, deadlineMs = 25_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen in time${last ? ` (${String(last)})` : ''}`);
}

async function launchFixture(caseName: string, rel: string, className: string, extraEnv: Record<string, string> = {}, beside?: (root: string) => void) {
  const root = mkdtempSync(path.join(tmp, `${caseName}-`));
  mkdirSync(path.join(root, path.dirname(rel)), { recursive: true });
  writeFileSync(path.join(root, rel), fx(caseName));
  beside?.(root);
  const cmd: LaunchCommand = await typescriptAdapter.launch(root, path.join(root, rel));
  cleanups.push(async () => cmd.cleanup?.());
  expect(cmd.command).toBe(process.execPath);
  expect(existsSync(cmd.args[0]!)).toBe(true);
  const reg = await sink();
  cleanups.push(reg.close);
  const healthPort = await freePort();
  const child = spawn(cmd.command, cmd.args, {
    cwd: root,
    detached: true, // its own process group, killed as a whole
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...cmd.env,
      AGENT_NAME: className,
      AGENT_PORT: String(await freePort()),
      HEALTH_CHECK_PORT: String(healthPort),
      REGISTRY_URL: reg.url,
      METRICS_URL: reg.url,
      METRICS_PUSH_INTERVAL: '1',
      ...extraEnv,
    },
  });
  children.push(child);
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (c) => (stderr += c));
  child.stdout!.on('data', (c) => (stdout += c));
  const exited = exitedWithOutput(child);
  return { child, reg, healthPort, exited, stderr: () => stderr, stdout: () => stdout, cmd };
}

describe('the launch thread (the built CLI compiles agents off the main thread)', () => {
  it('compiles what the adapter compiles in this thread; a refusal comes back with its message; cleanup removes the build', async () => {
    const dist = path.join(here, '..', 'dist', 'src', 'lang', 'typescript', 'launch-thread.js');
    if (!existsSync(dist)) execFileSync('npm', ['run', 'build'], { cwd: path.join(here, '..') });
    const { launchInThread } = (await import(dist)) as { launchInThread: (root: string, file: string) => Promise<LaunchCommand> | null };
    const root = mkdtempSync(path.join(tmp, 'thread-'));
    mkdirSync(path.join(root, 'agents'));
    const file = path.join(root, 'agents', 'order_router_v2.ts');
    writeFileSync(file, fx('http-health-interval'));
    const here_ = await typescriptAdapter.launch(root, file);
    const there = await launchInThread(root, file)!;
    try {
      expect(there.command).toBe(process.execPath);
      expect(readFileSync(there.args[0]!, 'utf8')).toBe(readFileSync(here_.args[0]!, 'utf8'));
    } finally {
      await here_.cleanup?.();
      await there.cleanup?.();
    }
    expect(existsSync(there.args[0]!)).toBe(false);
    writeFileSync(path.join(root, 'agents', 'poller_family_v2.ts'), 'export abstract class PollerFamily {\n  protected abstract poll(): Promise<number>;\n}\n');
    await expect(launchInThread(root, path.join(root, 'agents', 'poller_family_v2.ts'))!).rejects.toThrow(/^PollerFamily is abstract and no subclass migrated with it \(_v2\) runs it/);
  });
});

describe('launching a migrated TypeScript agent', () => {
  it("a repository whose node_modules is a symlink: the agent's own main-module guard (import.meta.url === `file://${process.argv[1]}`) still holds", async () => {
    // The build sits under node_modules/.cache; Node names the main module by its real path, so
    // argv[1] must be that path too, or every such guard is false and the agent exits at once.
    const root = mkdtempSync(path.join(tmp, 'symlinked-modules-'));
    mkdirSync(path.join(root, 'agents'));
    mkdirSync(path.join(root, 'shared-modules'));
    execFileSync('ln', ['-s', path.join(root, 'shared-modules'), path.join(root, 'node_modules')]);
    writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(path.join(root, 'agents', 'guard.ts'), "console.log(import.meta.url === `file://${process.argv[1]}` ? 'main module' : 'imported');\n");
    const cmd = await typescriptAdapter.launch(root, path.join(root, 'agents', 'guard.ts'));
    cleanups.push(async () => cmd.cleanup?.());
    expect(execFileSync(cmd.command, cmd.args, { cwd: root, env: { ...process.env, ...cmd.env } }).toString()).toBe('main module\n');
  });

  it('ESM agent: health, registry, metrics, SIGTERM → exit 0', async () => {
    const run = await launchFixture('http-health-interval', 'agents/order_router_v2.ts', 'OrderRouter');
    const health = await until('health', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', agent: 'OrderRouter' });
    const registered = await until('registration', () => run.reg.registrations[0]);
    expect(registered).toMatchObject({ name: 'OrderRouter', host: '127.0.0.1', health_check_port: run.healthPort, pid: run.child.pid });
    const pushed = await until('metrics push', () => run.reg.pushes.find((p) => p.includes('agent_up')));
    expect(pushed).toMatch(/agent_up\{agent="OrderRouter"\} 1/);
    for (const line of pushed.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toContain('agent="OrderRouter"');
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toMatch(/\bERROR\b/);
  }, 40_000);

  it('CommonJS agent (require.main guard) compiles to CommonJS and serves health', async () => {
    const run = await launchFixture('cjs-require-plain', 'agents/audit_trail_v2.ts', 'AuditTrail');
    const health = await until('health', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', agent: 'AuditTrail' });
    expect(readFileSync(run.cmd.args[0]!, 'utf8')).toMatch(/require\.main === module/);
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
  }, 40_000);

  it("the entry point's SIGTERM handler said, through the agent's variable, how much was pending: onStop() still says it on SIGTERM", async () => {
    const run = await launchFixture('cjs-entry-sigterm-log-via-agent-var', 'services/webhook-retrier_v2.js', 'WebhookRetrier', { RETRY_SWEEP_MS: '100' });
    const health = await until('health', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', agent: 'WebhookRetrier' });
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('retrier closing with 0 pending, 0 delivered');
  }, 40_000);

  it('a health server kept for review keeps its port to itself: the base, not told HEALTH_CHECK_PORT, does not bind it too', async () => {
    const legacyHealth = await freePort();
    // As deployed before the migration: HEALTH_PORT only (the base's variable unset).
    const run = await launchFixture('health-kept-param-port-not-passed', 'services/fanout-hub_v2.ts', 'FanoutHub', { HEALTH_PORT: String(legacyHealth), FANOUT_PORT: String(await freePort()), HEALTH_CHECK_PORT: '' });
    const health = await until('health on the legacy port', async () => {
      const r = await getJson(legacyHealth);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', subscribers: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect(run.child.exitCode).toBeNull();
    expect(run.stderr()).not.toMatch(/EADDRINUSE/);
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
  }, 40_000);

  it('a for-await consumer started from onStart() lets the base run runOnce(), and SIGTERM still ends the loop and runs its tail', async () => {
    const udp = await freePort();
    const out = path.join(tmp, `statsd-${process.pid}.jsonl`);
    const run = await launchFixture('statsd-for-await-consumer', 'services/statsd_sink_v2.ts', 'StatsdSink', { STATSD_PORT: String(udp), FLUSH_MS: '300', STATSD_OUT: out });
    await until('health', async () => ((await getJson(run.healthPort)).code === 200 ? true : undefined));
    // The periodic flush (the base's runOnce()) runs while the receive loop is still waiting.
    await until('three flush windows', async () => (((await getJson(run.healthPort)).body as { windows: number }).windows >= 3 ? true : undefined));
    const dgram = await import('node:dgram');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send('orders.placed:3|c', udp, '127.0.0.1', () => r()));
    sock.close();
    await until('sample received', async () => (((await getJson(run.healthPort)).body as { received: number }).received === 1 ? true : undefined));
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    // onStop() aborted the loop: the statements after it ran (final flush, socket closed, last line).
    expect(run.stdout()).toContain('statsd sink stopped after 1 samples');
    expect(readFileSync(out, 'utf8')).toContain('"orders.placed":3');
  }, 40_000);

  it('a data file the agent reads beside itself (__dirname) is found from the compiled output, and cleanup leaves it', async () => {
    const dir = path.join(here, '..', 'fixtures', 'typescript', 'config-json-beside-agent');
    const root = mkdtempSync(path.join(tmp, 'beside-'));
    mkdirSync(path.join(root, 'services'));
    const config = path.join(root, 'services', 'geo-enricher.config.json');
    writeFileSync(config, readFileSync(path.join(dir, 'services', 'geo-enricher.config.json'), 'utf8'));
    writeFileSync(path.join(root, 'services', 'geo-enricher_v2.cjs'), readFileSync(path.join(dir, 'expected.cjs'), 'utf8'));
    const cmd = await typescriptAdapter.launch(root, path.join(root, 'services', 'geo-enricher_v2.cjs'));
    const healthPort = await freePort();
    const child = spawn(cmd.command, cmd.args, {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: String(healthPort), AGENT_PORT: String(await freePort()), REGISTRY_URL: '', METRICS_URL: '' },
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    const exited = exitedWithOutput(child);
    await until('health', async () => ((await getJson(healthPort)).code === 200 ? true : undefined));
    expect(out).toContain('geo-enricher: 3 prefixes, scanning var/geo/inbox every 1500ms');
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    await cmd.cleanup!();
    expect(existsSync(cmd.args[0]!)).toBe(false);
    expect(JSON.parse(readFileSync(config, 'utf8')).scanMs).toBe(1500);
  }, 40_000);

  it('an instance its module exports runs through the file that imports and starts it (extensionless imports: CommonJS)', async () => {
    const dir = path.join(here, '..', 'fixtures', 'typescript', 'exported-singleton-started-by-importer');
    const run = await launchFixture('exported-singleton-started-by-importer', 'lib/relay_v2.ts', 'MetricsRelay', {}, (root) => {
      writeFileSync(path.join(root, 'lib', 'relay.ts'), readFileSync(path.join(dir, 'input.ts')));
      mkdirSync(path.join(root, 'agents'), { recursive: true });
      writeFileSync(path.join(root, 'agents', 'relay_main.ts'), readFileSync(path.join(dir, 'agents', 'relay_main.ts')));
    });
    const health = await until('health', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', agent: 'MetricsRelay', series: 0 });
    expect(run.stdout()).toContain('metrics relay started');
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
  }, 40_000);

  it('a module whose own relative imports name no extension runs as CommonJS, though the base import written by the rewrite has one', async () => {
    const dir = path.join(here, '..', 'fixtures', 'typescript', 'extensionless-sibling-import-top-level-start');
    const run = await launchFixture('extensionless-sibling-import-top-level-start', 'agents/metering-gate_v2.ts', 'MeteringGate', { GATE_PORT: String(await freePort()) }, (root) => {
      writeFileSync(path.join(root, 'agents', 'quota-ledger.ts'), readFileSync(path.join(dir, 'agents', 'quota-ledger.ts')));
    });
    const health = await until('health', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', agent: 'MeteringGate' });
    expect(run.stdout()).toContain('metering-gate: charging on');
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
  }, 40_000);

  it("onStart() calling a main() other code calls too, which loops until the stop flag: start() resolves, and stop() waits for the loop's last round", async () => {
    const root = mkdtempSync(path.join(tmp, 'main-loop-'));
    mkdirSync(path.join(root, 'agents'));
    const file = path.join(root, 'agents', 'dunning-scheduler_v2.ts');
    writeFileSync(file, fx('main-flag-loop-called-elsewhere-detached'));
    const cmd = await typescriptAdapter.launch(root, file);
    cleanups.push(async () => cmd.cleanup?.());
    const reg = await sink();
    cleanups.push(reg.close);
    // Not the entry point (require.main is not the module): a caller that awaits start() itself.
    const script = [
      `const { DunningScheduler } = require(${JSON.stringify(cmd.args[0])});`,
      'const agent = new DunningScheduler();',
      "const late = setTimeout(() => { console.log('start() did not resolve'); process.exit(3); }, 5000);",
      "agent.start().then(async () => { clearTimeout(late); console.log('start() resolved'); await agent.stop(); console.log('stop() resolved'); process.exit(0); });",
    ].join('\n');
    const child = spawn(process.execPath, ['-e', script], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: String(await freePort()), AGENT_PORT: String(await freePort()), REGISTRY_URL: reg.url, METRICS_URL: reg.url, BILLING_URL: reg.url, DUNNING_CYCLE_MS: '200' },
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    const code = await exitedWithOutput(child);
    expect(out).toContain('start() resolved');
    expect(code).toBe(0);
    // onStop() waited for main(): its loop ended at the flag and its closing line ran before stop() resolved.
    expect(out.indexOf('[dunning] stopped after')).toBeGreaterThan(out.indexOf('start() resolved'));
    expect(out.indexOf('[dunning] stopped after')).toBeLessThan(out.indexOf('stop() resolved'));
  }, 40_000);

  it("legacy decorators compile as the repository's tsconfig.json says (experimentalDecorators): the @every timer routes an event, SIGTERM → exit 0", async () => {
    const fixtureDir = path.join(here, '..', 'fixtures', 'typescript', 'legacy-decorators-timer-metadata');
    let inbox = '';
    const run = await launchFixture('legacy-decorators-timer-metadata', 'agents/dock-router_v2.ts', 'DockRouter', {}, (root) => {
      writeFileSync(path.join(root, 'tsconfig.json'), readFileSync(path.join(fixtureDir, 'tsconfig.json'), 'utf8'));
      inbox = path.join(root, 'var', 'dock-events');
      mkdirSync(inbox, { recursive: true });
      writeFileSync(path.join(inbox, '0001.ndjson'), `${JSON.stringify({ type: 'truck.arrived', door: 4, truck: 'KX-11' })}\n${JSON.stringify({ type: 'door.opened', door: 4 })}\n`);
    });
    // Compiled as standard decorators, `desc.value` threw at class definition: no health at all.
    const health = await until('the event routed', async () => {
      const r = await getJson(run.healthPort);
      return r.code === 200 && (r.body as { arrivals?: number }).arrivals === 1 ? r : undefined;
    });
    expect(health.body).toMatchObject({ status: 'ok', arrivals: 1, open_doors: 1, unrouted: 0 });
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toMatch(/\bERROR\b/);
  }, 40_000);

  it('removes the compiled output on cleanup', async () => {
    const root = mkdtempSync(path.join(tmp, 'cleanup-'));
    mkdirSync(path.join(root, 'agents'));
    writeFileSync(path.join(root, 'agents', 'rate_limiter.ts'), readFileSync(path.join(here, '..', 'fixtures', 'typescript', 'already-migrated', 'input.ts'), 'utf8'));
    const cmd = await typescriptAdapter.launch(root, path.join(root, 'agents', 'rate_limiter.ts'));
    expect(existsSync(cmd.args[0]!)).toBe(true);
    await cmd.cleanup!();
    expect(existsSync(cmd.args[0]!)).toBe(false);
  });
});

describe('a stop() that returned a promise of values, now the onStop() hook', () => {
  it('relays while up; on SIGTERM it logs the signal, every relay listener closes (Promise.all of closers) and the process exits 0', async () => {
    const upstream = net.createServer((s) => s.pipe(s)); // echo
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => upstream.close(() => r())));
    const target = (upstream.address() as net.AddressInfo).port;
    const listen = await freePort();
    const run = await launchFixture('stop-returns-promise-all-of-closers', 'agents/edge_supervisor_v2.ts', 'EdgeSupervisor', {
      EDGE_ROUTES: `${listen}->127.0.0.1:${target}`,
      EDGE_STATUS_PORT: String(await freePort()),
    });
    await until('health', async () => ((await getJson(run.healthPort)).code === 200 ? true : undefined));
    const echoed = await new Promise<string>((resolve, reject) => {
      const c = net.connect(listen, '127.0.0.1', () => c.write('ping'));
      c.once('data', (d) => {
        resolve(String(d));
        c.destroy();
      });
      c.once('error', reject);
    });
    expect(echoed).toBe('ping');
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    const refused = await new Promise<string>((resolve) => {
      const c = net.connect(listen, '127.0.0.1', () => {
        c.destroy();
        resolve('connected');
      });
      c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    // The entry point's wrapper handed the signal's name on: its log line still says which one.
    expect(run.stdout()).toContain('SIGTERM: closing listeners');
    expect(run.stderr()).not.toMatch(/\bERROR\b/);
  }, 40_000);
});

describe('a for (;;) loop that breaks on an aborted signal, detached from onStart()', () => {
  it('on SIGTERM onStop() aborts it and waits for its tail: the drain line is written, then exit 0', async () => {
    const run = await launchFixture('fluent-setup-chain-for-ever-abort-loop', 'agents/retry_queue_v2.ts', 'RetryQueue');
    await until('health', async () => ((await getJson(run.healthPort)).code === 200 ? true : undefined));
    process.kill(run.child.pid!, 'SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('queue drained: 0 done, 0 failed, 0 left');
  }, 40_000);
});

describe('a health-only server whose status decided a 503, now healthStatus()', () => {
  it("answers 503 with the agent's report while a required feed is missing, 200 once it is fresh; SIGTERM → exit 0", async () => {
    const stale = await launchFixture('health-forwarded-handler-destructured-503', 'agents/feed_freshness_watch_v2.ts', 'FeedFreshnessWatch', {
      FEEDS: 'orders=var/in/orders.csv:2h:required',
      FEED_WATCH_PORT: String(await freePort()),
    });
    const down = await until('a 503 from the base', async () => {
      const r = await getJson(stale.healthPort).catch(() => undefined);
      return r && r.code !== 200 && (r.body as { sweeps?: number }).sweeps ? r : undefined;
    });
    expect(down.code).toBe(503);
    expect(down.body).toMatchObject({ status: 'stale', agent: 'FeedFreshnessWatch', feeds: { orders: { required: true, fresh: false } } });
    process.kill(stale.child.pid!, 'SIGTERM');
    expect(await stale.exited).toBe(0);

    const fresh = await launchFixture(
      'health-forwarded-handler-destructured-503',
      'agents/feed_freshness_watch_v2.ts',
      'FeedFreshnessWatch',
      { FEEDS: 'orders=var/in/orders.csv:2h:required', FEED_WATCH_PORT: String(await freePort()) },
      (root) => {
        mkdirSync(path.join(root, 'var', 'in'), { recursive: true });
        writeFileSync(path.join(root, 'var', 'in', 'orders.csv'), 'sku,qty\nA-1,3\n');
      },
    );
    const up = await until('a 200 after the first sweep', async () => {
      const r = await getJson(fresh.healthPort).catch(() => undefined);
      return r && (r.body as { sweeps?: number }).sweeps ? r : undefined;
    });
    expect(up.code).toBe(200);
    expect(up.body).toMatchObject({ status: 'ok', feeds: { orders: { fresh: true } } });
    process.kill(fresh.child.pid!, 'SIGTERM');
    expect(await fresh.exited).toBe(0);
    expect(fresh.stderr()).not.toMatch(/\bERROR\b/);
  }, 60_000);
});
