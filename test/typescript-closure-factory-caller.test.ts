// A closure factory moved onto the base keeps its return shape for the files that build it:
// scripts/replay.mjs of the closure-factory-fanout-replay-caller fixture builds one with
// createFanout() and calls sweep() and stats() without starting it. Run for real against the
// fixture's expected output (at the legacy path, as `promote --mode replace` leaves it), the
// replay must deliver the outbox to a subscriber, print the counters and exit by itself: building
// the factory constructs the agent but serves, registers and pushes nothing until start().
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-fanout-replay-caller');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** `node <args>` in root: exit code (null when killed), stdout, stderr. */
function node(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { cwd: root, env, timeout: 20_000 }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

/** A temporary repository holding the reference base as the JavaScript the _v2's import names (one transpile, in process). */
function repositoryWithBase(prefix: string, module: ts.ModuleKind): string {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  roots.push(root);
  transpileInto(root, readFileSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), 'utf8'), 'common/core/base-agent.js', module);
  return root;
}

function transpileInto(root: string, source: string, to: string, module: ts.ModuleKind): void {
  mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
  writeFileSync(path.join(root, to), ts.transpileModule(source, { compilerOptions: { module, target: ts.ScriptTarget.ES2022 } }).outputText);
}

/** The fixture's repository with its expected output at the legacy path, the base as JavaScript, one outbox event, a live subscriber. */
async function repository(): Promise<{ root: string; received: string[]; subscriber: http.Server }> {
  const root = repositoryWithBase('migrate-closure-caller-', ts.ModuleKind.ESNext);
  cpSync(path.join(fixture, 'scripts'), path.join(root, 'scripts'), { recursive: true });
  mkdirSync(path.join(root, 'services'));
  writeFileSync(path.join(root, 'services', 'webhook-fanout.mjs'), readFileSync(path.join(fixture, 'expected.mjs'), 'utf8'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true, "type": "module" }\n');
  mkdirSync(path.join(root, 'var', 'outbox'), { recursive: true });
  writeFileSync(path.join(root, 'var', 'outbox', '0001.json'), JSON.stringify({ id: 'evt-1', order: 42 }));

  const received: string[] = [];
  const subscriber = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/hook`;
  writeFileSync(path.join(root, 'var', 'subscribers.json'), JSON.stringify([url]));
  return { root, received, subscriber };
}

/** The arrow-form fixture's repository: its expected output at the legacy path, the base as CommonJS, two price sheets. */
function arrowRepository(): string {
  const dir = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-arrow-block-consts');
  const root = repositoryWithBase('migrate-closure-arrow-', ts.ModuleKind.CommonJS);
  cpSync(path.join(dir, 'scripts'), path.join(root, 'scripts'), { recursive: true });
  mkdirSync(path.join(root, 'services'));
  writeFileSync(path.join(root, 'services', 'price-watch.cjs'), readFileSync(path.join(dir, 'expected.cjs'), 'utf8'));
  mkdirSync(path.join(root, 'var'));
  writeFileSync(path.join(root, 'var', 'prices.json'), JSON.stringify({ 'sku-1': 10, 'sku-2': 20 }));
  return root;
}

/** The TypeScript fixture's repository, as its build leaves it: the _v2 (at the legacy path), its caller and the base transpiled to ESM JavaScript; two ledger entries, one invalid. */
function typedRepository(): string {
  const dir = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-typed-service-interface');
  const root = repositoryWithBase('migrate-closure-typed-', ts.ModuleKind.ESNext);
  transpileInto(root, readFileSync(path.join(dir, 'expected.ts'), 'utf8'), 'services/ledger-export.js', ts.ModuleKind.ESNext);
  transpileInto(root, readFileSync(path.join(dir, 'scripts', 'export-now.ts'), 'utf8'), 'scripts/export-now.js', ts.ModuleKind.ESNext);
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true, "type": "module" }\n');
  mkdirSync(path.join(root, 'var', 'ledger'), { recursive: true });
  writeFileSync(path.join(root, 'var', 'ledger', '0001.json'), JSON.stringify({ id: 'le-1', amountCents: 1250, settledAt: '2026-12-05T10:00:00Z' }));
  writeFileSync(path.join(root, 'var', 'ledger', '0002.json'), JSON.stringify({ id: 'le-2' }));
  return root;
}

describe('closure factory on the base: its caller in another file', () => {
  it('the TypeScript form: scripts/export-now.ts builds the _v2 factory through its interface, exports once without starting it, and exits', async () => {
    const root = typedRepository();
    const env = { ...process.env, REGISTRY_URL: 'http://127.0.0.1:1', METRICS_URL: 'http://127.0.0.1:1', HEALTH_CHECK_PORT: '', AGENT_PORT: '' };
    const { code, stdout, stderr } = await node(root, ['scripts/export-now.js'], env);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({ written: 1, batches: 1, entries: 1, rejected: 1 });
    expect(stderr).not.toMatch(/running \(port|registered/);
  }, 60_000);

  it('the arrow form: scripts/check-prices.cjs builds the _v2 factory, checks twice without starting it, and exits', async () => {
    const root = arrowRepository();
    const env = { ...process.env, REGISTRY_URL: 'http://127.0.0.1:1', METRICS_URL: 'http://127.0.0.1:1', HEALTH_CHECK_PORT: '', AGENT_PORT: '' };
    const { code, stdout, stderr } = await node(root, ['scripts/check-prices.cjs'], env);
    expect(code, stderr).toBe(0);
    // Same sheet twice: nothing moved; both checks ran on the closure's state, read through snapshot().
    expect(JSON.parse(stdout.trim())).toEqual({ raised: 0, checks: 2, alerts: 0, unreadable: 0, tracked: 2 });
    expect(stderr).not.toMatch(/running \(port|registered/);
  }, 60_000);

  it('scripts/replay.mjs builds the _v2 factory, sweeps without starting it, and exits', async () => {
    const { root, received, subscriber } = await repository();
    try {
      // No registry or metrics gateway to reach: the replay must not try (it never starts the agent).
      const env = { ...process.env, REGISTRY_URL: 'http://127.0.0.1:1', METRICS_URL: 'http://127.0.0.1:1' };
      const { code, stdout, stderr } = await node(root, ['scripts/replay.mjs'], env);
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/delivered: 1\b/);
      expect(stdout).toMatch(/sweeps: 1\b/);
      expect(received.map((b) => JSON.parse(b))).toEqual([{ id: 'evt-1', order: 42 }]);
      expect(existsSync(path.join(root, 'var', 'outbox-sent', '0001.json'))).toBe(true);
      // Nothing of the base ran: no health server, no registration, no "running" line.
      expect(stderr).not.toMatch(/running \(port/);
    } finally {
      subscriber.close();
    }
  }, 60_000);

  it('start() serves the closure\'s state on /health through the base, stop() lets the process end', async () => {
    const { root, subscriber } = await repository();
    const port = await freePort();
    // Started as a service would be, then asked for /health until a sweep has delivered (at most 20 s:
    // a fixed wait was short on a loaded machine), then stopped. The last answer is printed either way.
    const script = [
      "import { createFanout } from './services/webhook-fanout.mjs';",
      `const fanout = createFanout({ healthPort: ${port}, sweepMs: 100 });`,
      'await fanout.start();',
      `const ask = async () => (await fetch('http://127.0.0.1:${port}/health')).json();`,
      'let health = await ask();',
      'for (const end = Date.now() + 20000; health.delivered < 1 && Date.now() < end; health = await ask()) await new Promise((r) => setTimeout(r, 100));',
      'console.log(JSON.stringify(health));',
      'await fanout.stop();',
    ].join('\n');
    const env = { ...process.env, HEALTH_CHECK_PORT: '', AGENT_PORT: '', REGISTRY_URL: '', METRICS_URL: '' };
    try {
      const { code, stdout, stderr } = await node(root, ['--input-type=module', '-e', script], env);
      expect(code, stderr).toBe(0);
      const health = JSON.parse(stdout.trim().split('\n').pop()!);
      // The legacy /health fields, read from the closure by the class declared in it, beside the base's.
      expect(health).toMatchObject({ status: 'ok', delivered: 1, failed: 0, backingOff: 0, health_check_port: port });
      expect(health.sweeps).toBeGreaterThanOrEqual(1);
      expect(stderr).toMatch(/stopped/);
    } finally {
      subscriber.close();
    }
  }, 60_000);
});
