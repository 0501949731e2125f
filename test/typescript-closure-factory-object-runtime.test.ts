// An object-literal closure factory moved onto the base does the legacy's business: the
// closure-factory-object-const-arrow-members fixture's input and expected output, each transpiled
// to JavaScript beside the reference base and started for real with the same quote snapshot and a
// registry stub. A price moving past the threshold raises one alert (logged, counted on /health),
// the registry gets one registration under the legacy's name, SIGTERM ends the process with 0 and
// the stop's own log line. (Validation's 8 checks run in typescript-runtime-cases*.test.ts.)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { freePort } from './helpers/ask.js';
import { exitedWithOutput } from './helpers/exited.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-object-const-arrow-members');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function transpileInto(root: string, source: string, to: string): void {
  mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
  writeFileSync(path.join(root, to), ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
}

async function health(port: number): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    return res.ok ? ((await res.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function until<T>(what: () => Promise<T | null>, ok: (v: T) => boolean, ms: number): Promise<T | null> {
  const end = Date.now() + ms;
  let last: T | null = null;
  while (Date.now() < end) {
    last = await what();
    if (last !== null && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

/** Start the agent file (`input.ts` or `expected.ts`), move a price, then SIGTERM it: what it did. */
async function runAgent(source: string) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-closure-object-'));
  roots.push(root);
  transpileInto(root, readFileSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), 'utf8'), 'common/core/base-agent.js');
  transpileInto(root, readFileSync(path.join(fixture, source), 'utf8'), 'agents/price-alerts.js');
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true, "type": "module" }\n');
  const quotes = path.join(root, 'quotes.json');
  writeFileSync(quotes, JSON.stringify({ AAA: 100, BBB: 50 }));

  const registered: string[] = [];
  const registry = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/register') registered.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  const env = { ...process.env, QUOTES_SNAPSHOT: quotes, ALERTS_HEALTH_PORT: String(port), REGISTRY_URL: `http://127.0.0.1:${(registry.address() as AddressInfo).port}`, METRICS_URL: '', HEALTH_CHECK_PORT: '', AGENT_PORT: '' };
  const child = spawn(process.execPath, ['agents/price-alerts.js'], { cwd: root, env });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = exitedWithOutput(child);
  try {
    // A first check has seen the prices once /health counts both symbols; then AAA moves 10%, BBB 1%.
    const ready = await until(() => health(port), (h) => h.symbols === 2, 15_000);
    writeFileSync(quotes, JSON.stringify({ AAA: 110, BBB: 50.5 }));
    const alerted = await until(() => health(port), (h) => h.alerts === 1, 15_000);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    return { ready, alerted, code, output, registered: registered.map((b) => JSON.parse(b) as Record<string, unknown>) };
  } finally {
    child.kill('SIGKILL');
    registry.close();
  }
}

describe('object-literal closure factory on the base: the business, legacy and _v2', () => {
  it('both raise the one alert, count it on /health, register once as price-alerts and stop cleanly on SIGTERM', async () => {
    const [legacy, v2] = await Promise.all([runAgent('input.ts'), runAgent('expected.ts')]);
    for (const run of [legacy, v2]) {
      expect(run.ready, run.output).toMatchObject({ alerts: 0, symbols: 2 });
      expect(run.alerted, run.output).toMatchObject({ alerts: 1, symbols: 2 });
      expect(run.output).toMatch(/ALERT AAA 100 -> 110/);
      expect(run.output).not.toMatch(/ALERT BBB/);
      expect(run.code, run.output).toBe(0);
      expect(run.registered.map((r) => r.name)).toEqual(['price-alerts']);
    }
    // The legacy's stop() line, now the class's onStop(), which the base runs on SIGTERM.
    expect(v2.output).toMatch(/stopped after 1 alerts/);
    expect(legacy.output).toMatch(/stopped after 1 alerts/);
  }, 90_000);
});
