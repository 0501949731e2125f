// subclass-elsewhere-registers-own-class-name: QuoteRouter names itself nowhere and FxQuoteRouter subclasses it
// in another file; launch.py starts either by desk. Legacy and _v2 routers of both desks run side by side
// against a registry stand-in. The legacy registers nothing. On the _v2 each registers as its own class
// (given the literal "QuoteRouter" the FX router took the equity router's entry), and stopping the equity
// router deregisters only its own entry, the FX router's staying until it stops.
// subclass-elsewhere-registered-class-literal-kept: the same router registering itself as the literal
// "QuoteRouter": legacy and _v2 alike register both desks' routers under that one name.
// class-constant-name-registered-subclass-overrides: LedgerReconciler registers (and deregisters) itself
// as its class constant NAME, which FxLedgerReconciler in another file overrides: legacy and _v2 alike
// register "ledger-reconciler" and "fx-ledger-reconciler", once each, and deregister each at its own stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';

const OWN = 'subclass-elsewhere-registers-own-class-name';
const LITERAL = 'subclass-elsewhere-registered-class-literal-kept';
const CONSTANT = 'class-constant-name-registered-subclass-overrides';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fixture family: the agent's module (under agents/), the repository files importing it, and its two desks (started first, second). */
interface Family {
  module: string;
  importers: string[];
  desks: [string, string];
}
const ROUTERS: Family = { module: 'quote_router', importers: ['launch.py', 'agents/fx_router.py'], desks: ['equity', 'fx'] };
const RECONCILERS: Family = { module: 'ledger_reconciler', importers: ['launch.py', 'agents/fx_reconciler.py'], desks: ['settlement', 'fx'] };

/** The case's repository with the launcher and the subclass's file importing the family's module, legacy or its _v2. */
function repository(name: string, family: Family, v2: boolean): string {
  const c = listCases().find((x) => x.name === name)!;
  const root = materialize(c);
  roots.push(root);
  writeFileSync(path.join(root, 'agents', `${family.module}_v2.py`), readFileSync(c.expectedFile));
  for (const f of family.importers) {
    const file = path.join(root, f);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`from agents.${family.module} import`, `from agents.${family.module}${v2 ? '_v2' : ''} import`));
  }
  return root;
}

/** Both desks' agents of case `name`, legacy or _v2, started and stopped (the first desk first): what the registry was posted, in order. */
async function runDesks(name: string, family: Family, v2: boolean) {
  const root = repository(name, family, v2);
  const [first, second] = family.desks;
  const posts: Array<{ url: string; name: unknown }> = [];
  const registry = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', name: (JSON.parse(body || '{}') as { name?: unknown }).name });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
  const registryUrl = `http://127.0.0.1:${(registry.address() as { port: number }).port}`;
  const [ep, eh, fp, fh] = await allocatePorts(4);
  const logs: Record<string, string> = { [first]: '', [second]: '' };
  const start = (desk: string, port: number, health: number): { child: ChildProcess; exited: Promise<number | null> } => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1', AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registryUrl };
    for (const k of ['METRICS_URL', 'AGENT_NAME']) delete env[k];
    const child = spawn('python3', ['launch.py', desk], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (logs[desk] += d));
    child.stderr!.on('data', (d) => (logs[desk] += d));
    return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
  };
  const healthy = async (port: number) => {
    for (let i = 0; i < 200; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return true;
      await sleep(100);
    }
    return false;
  };
  const stop = async (p: { child: ChildProcess; exited: Promise<number | null> }) => {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    const code = await p.exited;
    clearTimeout(timer);
    return code;
  };
  const of = (url: string) => posts.filter((x) => x.url === url).map((x) => x.name);
  const equity = start(first, ep, eh);
  const fx = start(second, fp, fh);
  try {
    expect(await healthy(eh), logs[first]).toBe(true);
    expect(await healthy(fh), logs[second]).toBe(true);
    // The base registers from a thread once started: wait for both (the legacy never posts).
    for (let i = 0; i < 50 && of('/register').length < 2; i++) await sleep(100);
    const registered = [...of('/register')].sort();
    const equityCode = await stop(equity);
    const afterEquity = [...of('/deregister')];
    const fxCode = await stop(fx);
    return { registered, afterEquity, deregistered: of('/deregister'), codes: [equityCode, fxCode], logs };
  } finally {
    equity.child.kill('SIGKILL');
    fx.child.kill('SIGKILL');
    registry.close();
  }
}

describe('an agent subclassed in another file registers each subclass under its own class name', () => {
  it('legacy: neither router registers', async () => {
    const r = await runDesks(OWN, ROUTERS, false);
    expect(r.registered, JSON.stringify(r.logs)).toEqual([]);
    expect(r.deregistered).toEqual([]);
  }, 90_000);

  it('_v2: QuoteRouter and FxQuoteRouter register apart; stopping one deregisters only its own entry', async () => {
    const r = await runDesks(OWN, ROUTERS, true);
    expect(r.registered, JSON.stringify(r.logs)).toEqual(['FxQuoteRouter', 'QuoteRouter']);
    expect(r.afterEquity).toEqual(['QuoteRouter']);
    expect(r.deregistered).toEqual(['QuoteRouter', 'FxQuoteRouter']);
    expect(r.codes, JSON.stringify(r.logs)).toEqual([0, 0]);
  }, 90_000);

  it('a router registering as the literal "QuoteRouter": both desks register under it, legacy and _v2 alike', async () => {
    const legacy = await runDesks(LITERAL, ROUTERS, false);
    const v2 = await runDesks(LITERAL, ROUTERS, true);
    expect(legacy.registered, JSON.stringify(legacy.logs)).toEqual(['QuoteRouter', 'QuoteRouter']);
    expect(v2.registered, JSON.stringify(v2.logs)).toEqual(legacy.registered);
  }, 180_000);
});

describe('an agent registering as its class constant NAME, which a subclass in another file overrides', () => {
  it('legacy and _v2 register and deregister each desk under its NAME, once each, each at its own stop', async () => {
    const legacy = await runDesks(CONSTANT, RECONCILERS, false);
    const v2 = await runDesks(CONSTANT, RECONCILERS, true);
    expect(legacy.registered, JSON.stringify(legacy.logs)).toEqual(['fx-ledger-reconciler', 'ledger-reconciler']);
    expect(legacy.afterEquity).toEqual(['ledger-reconciler']);
    expect(legacy.deregistered).toEqual(['ledger-reconciler', 'fx-ledger-reconciler']);
    expect(v2.registered, JSON.stringify(v2.logs)).toEqual(legacy.registered);
    expect(v2.afterEquity).toEqual(legacy.afterEquity);
    expect(v2.deregistered).toEqual(legacy.deregistered);
    expect(v2.codes, JSON.stringify(v2.logs)).toEqual([0, 0]);
  }, 180_000);
});
