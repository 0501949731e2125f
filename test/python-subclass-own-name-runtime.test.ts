// subclass-elsewhere-registers-own-class-name: QuoteRouter names itself nowhere, FxQuoteRouter subclasses it
// in another file and AsiaFxQuoteRouter subclasses FxQuoteRouter in a third; launch.py starts one by desk. Legacy and _v2 routers of both desks run side by side
// against a registry stand-in. The legacy registers nothing. On the _v2 each registers as its own class
// (given the literal "QuoteRouter" the FX router took the equity router's entry), and stopping the equity
// router deregisters only its own entry, the FX router's staying until it stops.
// subclass-elsewhere-registered-class-literal-kept: the same router registering itself as the literal
// "QuoteRouter": legacy and _v2 alike register both desks' routers under that one name.
// class-constant-name-registered-subclass-overrides: LedgerReconciler registers (and deregisters) itself
// as its class constant NAME, which FxLedgerReconciler in another file overrides, and AsiaFxLedgerReconciler
// (subclassing that) again: legacy and _v2 alike register each desk under its NAME, once, and deregister it at its own stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { exitedWithOutput } from './helpers/exited.js';

const OWN = 'subclass-elsewhere-registers-own-class-name';
const LITERAL = 'subclass-elsewhere-registered-class-literal-kept';
const CONSTANT = 'class-constant-name-registered-subclass-overrides';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fixture family: the agent's module (under agents/), the repository files importing it, and its desks (the first stopped first). */
interface Family {
  module: string;
  importers: string[];
  desks: string[];
}
const ROUTERS: Family = { module: 'quote_router', importers: ['launch.py', 'agents/fx_router.py'], desks: ['equity', 'fx'] };
/** With the Asia desk's AsiaFxQuoteRouter, which subclasses FxQuoteRouter in a third file (three levels). */
const ROUTER_LEVELS: Family = { ...ROUTERS, desks: ['equity', 'fx', 'asia'] };
const RECONCILERS: Family = { module: 'ledger_reconciler', importers: ['launch.py', 'agents/fx_reconciler.py'], desks: ['settlement', 'fx', 'asia'] };

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

/** Every desk's agent of case `name`, legacy or _v2, started together and stopped in the family's order: what the registry was posted. */
async function runDesks(name: string, family: Family, v2: boolean) {
  const root = repository(name, family, v2);
  const posts: Array<{ url: string; name: unknown }> = [];
  const pushedAs = new Set<string>();
  const registry = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      // The base's metrics push (PUT /metrics/job/<name>) comes here too: its job is the name it pushes under.
      const job = /^\/metrics\/job\/([^/]+)$/.exec(req.url ?? '');
      if (job) pushedAs.add(decodeURIComponent(job[1]!));
      else posts.push({ url: req.url ?? '', name: (JSON.parse(body || '{}') as { name?: unknown }).name });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
  const registryUrl = `http://127.0.0.1:${(registry.address() as { port: number }).port}`;
  const ports = await allocatePorts(2 * family.desks.length);
  const logs: Record<string, string> = Object.fromEntries(family.desks.map((d) => [d, '']));
  const start = (desk: string, port: number, health: number): { child: ChildProcess; exited: Promise<number | null> } => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1', AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registryUrl, METRICS_URL: registryUrl };
    delete env.AGENT_NAME;
    const child = spawn('python3', ['launch.py', desk], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (logs[desk] += d));
    child.stderr!.on('data', (d) => (logs[desk] += d));
    return { child, exited: exitedWithOutput(child) };
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
  const agents = family.desks.map((desk, i) => start(desk, ports[2 * i]!, ports[2 * i + 1]!));
  try {
    for (const [i, desk] of family.desks.entries()) expect(await healthy(ports[2 * i + 1]!), logs[desk]).toBe(true);
    // The base registers from a thread once started: wait for every desk (a legacy registering nothing never posts).
    for (let i = 0; i < 50 && of('/register').length < agents.length; i++) await sleep(100);
    const registered = [...of('/register')].sort();
    const codes = [await stop(agents[0]!)];
    // What the first desk's stop deregistered: its own entry only, the others' still registered.
    const afterEquity = [...of('/deregister')];
    for (const a of agents.slice(1)) codes.push(await stop(a));
    return { registered, afterEquity, deregistered: of('/deregister'), codes, logs, pushedAs: [...pushedAs].sort() };
  } finally {
    for (const a of agents) a.child.kill('SIGKILL');
    registry.close();
  }
}

describe('an agent subclassed in another file registers each subclass under its own class name', () => {
  it('legacy: no router registers', async () => {
    const r = await runDesks(OWN, ROUTER_LEVELS, false);
    expect(r.registered, JSON.stringify(r.logs)).toEqual([]);
    expect(r.deregistered).toEqual([]);
  }, 90_000);

  it('_v2: QuoteRouter, FxQuoteRouter and its subclass AsiaFxQuoteRouter register apart; stopping one deregisters only its own entry', async () => {
    const r = await runDesks(OWN, ROUTER_LEVELS, true);
    expect(r.registered, JSON.stringify(r.logs)).toEqual(['AsiaFxQuoteRouter', 'FxQuoteRouter', 'QuoteRouter']);
    // (each pushes its metrics under its own name as well: at the latest the final push at stop)
    expect(r.pushedAs).toEqual(r.registered);
    expect(r.afterEquity).toEqual(['QuoteRouter']);
    expect(r.deregistered).toEqual(['QuoteRouter', 'FxQuoteRouter', 'AsiaFxQuoteRouter']);
    expect(r.codes, JSON.stringify(r.logs)).toEqual([0, 0, 0]);
  }, 90_000);

  it('a router registering as the literal "QuoteRouter": both desks register under it, legacy and _v2 alike', async () => {
    const legacy = await runDesks(LITERAL, ROUTERS, false);
    const v2 = await runDesks(LITERAL, ROUTERS, true);
    expect(legacy.registered, JSON.stringify(legacy.logs)).toEqual(['QuoteRouter', 'QuoteRouter']);
    expect(v2.registered, JSON.stringify(v2.logs)).toEqual(legacy.registered);
  }, 180_000);
});

describe('an agent registering as its class constant NAME, which a subclass in another file overrides', () => {
  it('legacy and _v2 register and deregister each desk (three levels) under its NAME, once each, each at its own stop', async () => {
    const legacy = await runDesks(CONSTANT, RECONCILERS, false);
    const v2 = await runDesks(CONSTANT, RECONCILERS, true);
    expect(legacy.registered, JSON.stringify(legacy.logs)).toEqual(['asia-fx-ledger-reconciler', 'fx-ledger-reconciler', 'ledger-reconciler']);
    expect(legacy.afterEquity).toEqual(['ledger-reconciler']);
    expect(legacy.deregistered).toEqual(['ledger-reconciler', 'fx-ledger-reconciler', 'asia-fx-ledger-reconciler']);
    expect(v2.registered, JSON.stringify(v2.logs)).toEqual(legacy.registered);
    expect(v2.afterEquity).toEqual(legacy.afterEquity);
    expect(v2.deregistered).toEqual(legacy.deregistered);
    expect(v2.codes, JSON.stringify(v2.logs)).toEqual([0, 0, 0]);
    // The legacy pushed no metrics; each _v2 desk pushes under the name it registered with.
    expect(legacy.pushedAs).toEqual([]);
    expect(v2.pushedAs).toEqual(v2.registered);
  }, 180_000);
});
