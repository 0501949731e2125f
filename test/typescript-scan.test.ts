// Scan of a TypeScript repository: which file holds which agent, legacy or migrated (through a
// parent class reached via a re-export and an import alias), and why the other files are not
// agents; tsconfig include/exclude is respected and findings carry 1-based lines.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (name: string, file: string) => readFileSync(path.join(here, '..', 'fixtures', 'typescript', name, file), 'utf8');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-scan-'));
const files: string[] = [];

function put(rel: string, text: string): void {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  files.push(abs);
}

let scan: ScanResult;

beforeAll(async () => {
  put('tsconfig.json', JSON.stringify({ include: ['agents/**/*.ts', 'common/**/*.ts', 'lib/**/*.ts'], exclude: ['agents/archive/**'] }));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  files.push(path.join(root, 'common', 'core', 'base-agent.ts'));
  put('agents/order_router.ts', fx('http-health-interval', 'input.ts'));
  put('agents/order_router_v2.ts', fx('http-health-interval', 'expected.ts'));
  put('agents/settlement_checker.ts', fx('prom-metrics-helper-first', 'input.ts'));
  put('agents/feed_relay.ts', fx('reconnect-while-loop', 'input.ts'));
  put('agents/rate_limiter_v2.ts', fx('already-migrated', 'input.ts'));
  put('agents/alert_relay.js', fx('prototype-style-relay', 'input.js'));
  // A pm2 mailer another file builds on the prototype way: the run skips it, so the scan must.
  put('services/mailer.js', fx('prototype-subclassed-elsewhere', 'input.js'));
  put('lib/priority-mailer.js', fx('prototype-subclassed-elsewhere', 'lib/priority-mailer.js'));
  // A service whose state lives in a closure factory's scope: no class, but no helper module either.
  put('services/sms-dispatcher.cjs', fx('closure-factory-service', 'input.cjs'));
  // A closure factory the rewrite moves onto the base (a class declared in it), and its _v2.
  put('services/webhook-fanout.mjs', fx('closure-factory-fanout-replay-caller', 'input.mjs'));
  put('services/webhook-fanout_v2.mjs', fx('closure-factory-fanout-replay-caller', 'expected.mjs'));
  // The same, as an arrow function whose body is the service object (`=> ({ start() {...}, ... })`).
  put('services/heartbeat-relay.js', fx('closure-factory-arrow-object', 'input.js'));
  put('lib/parents.ts', [
    "import { BaseAgent as Base } from '../common/core/base-agent.js';",
    'export abstract class ServiceBase extends Base {',
    '  protected describe(): string {',
    '    return this.name;',
    '  }',
    '}',
    '',
  ].join('\n'));
  put('lib/index.ts', "export { ServiceBase as AgentParent } from './parents.js';\n");
  put('agents/ledger_watch.ts', [
    "import { pathToFileURL } from 'node:url';",
    "import { AgentParent as Parent } from '../lib/index.js';",
    '',
    'export class LedgerWatch extends Parent {',
    '  constructor() {',
    "    super({ name: 'LedgerWatch' });",
    '  }',
    '}',
    '',
    'if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {',
    '  new LedgerWatch().run();',
    '}',
    '',
  ].join('\n'));
  // An old in-repo base with a loop of its own, which the base-service profile maps: its
  // subclass is the agent (moved onto BaseAgent by itself), the old base is not one.
  put('lib/base-service.ts', fx('base-service-log-helper-merged-call', 'lib/base-service.ts'));
  put('agents/payout_reconciler.ts', fx('base-service-log-helper-merged-call', 'input.ts'));
  // A health-only server class the agent constructs with its port and a status function: part of
  // that agent (its rewrite removes it), not an agent of its own.
  put('lib/status-port.ts', fx('health-helper-class-constructed', 'lib/status-port.ts'));
  put('agents/points_expirer.ts', fx('health-helper-class-constructed', 'input.ts'));
  // A router library: listen() builds the server and returns it to the worker that keeps it.
  put('lib/mini-router.ts', fx('main-flag-const-guard-drain-exit-code', 'lib/mini-router.ts'));
  // Health on a port of its own answering /live and /ping only, beside a business API.
  put('agents/quote_normalizer.ts', fx('tsleft50-liveness-ping-own-port-business-api', 'input.ts'));
  put('agents/helpers.ts', 'export function backoff(n: number): number {\n  return 2 ** n * 100;\n}\n');
  put('agents/types.ts', 'export interface Tick {\n  symbol: string;\n}\nexport type Side = "buy" | "sell";\n');
  put('agents/records.ts', 'export class Trade {\n  constructor(readonly id: string, readonly qty: number) {}\n}\n');
  put('agents/order_router.test.ts', "import { OrderRouter } from './order_router.js';\nnew OrderRouter();\n");
  put('agents/archive/old_agent.ts', fx('http-health-interval', 'input.ts'));
  // A sub-project with a tsconfig.json of its own (the root's include does not name it): that project
  // builds it, so its agents are agents; a nested tsconfig leaving a file out still leaves it out.
  put('scheduler/tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', strict: true }, include: ['**/*.ts'], exclude: ['attic/**'] }));
  put('scheduler/exposure.ts', fx('settimeout-chain', 'input.ts'));
  put('scheduler/attic/expirer.ts', fx('heartbeat-timer-beside-sweep-timer', 'input.ts'));
  put('agents/globals.d.ts', 'declare const BUILD_ID: string;\n');
  scan = await typescriptAdapter.scan(root, files.filter((f) => !f.endsWith('.json')), loadProfile('base-agent'));
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const agent = (name: string) => scan.agents.find((a) => a.name === name);
const skip = (file: string) => scan.skipped.find((s) => s.file === file)?.reason;

describe('TypeScript scan', () => {
  it('finds the legacy agent by evidence and links its _v2 output', () => {
    const a = agent('OrderRouter')!;
    expect(a).toMatchObject({ file: 'agents/order_router.ts', language: 'typescript', class: 'OrderRouter', status: 'legacy', output: 'agents/order_router_v2.ts', line: 15 });
    expect(a.evidence).toContain('constructed in the main guard');
    // The _v2 output is not a second agent.
    expect(scan.agents.filter((x) => x.name === 'OrderRouter')).toHaveLength(1);
  });

  it('reports findings with kind, symbol and 1-based line', () => {
    const f = agent('OrderRouter')!.findings;
    expect(f).toContainEqual({ kind: 'health', symbol: 'startHealthServer', line: 23 });
    expect(f).toContainEqual({ kind: 'loop', symbol: 'timer', line: 54 });
    expect(f).toContainEqual({ kind: 'signal', symbol: 'start', line: 57 });
    const s = agent('SettlementChecker')!.findings;
    expect(s).toContainEqual({ kind: 'metrics', symbol: 'pushMetrics', line: 53 });
    expect(s).toContainEqual({ kind: 'metrics', symbol: 'checked', line: 35 });
    expect(s).toContainEqual({ kind: 'health', symbol: 'server', line: 37 });
    const r = agent('FeedRelay')!.findings;
    expect(r).toContainEqual({ kind: 'retry', symbol: 'reconnectWithBackoff', line: 21 });
    expect(r).toContainEqual({ kind: 'loop', symbol: 'run', line: 46 });
  });

  it('carries the paths an own health server answers when not /health alone (the validator asks them)', () => {
    expect(agent('QuoteNormalizer')!.health_paths).toEqual(['/live', '/ping']);
    // /health alone: the validator asks that one anyway.
    expect(agent('OrderRouter')!.health_paths).toBeUndefined();
  });

  it('picks the agent among helper classes that come first', () => {
    const a = agent('SettlementChecker')!;
    expect(a.status).toBe('legacy');
    expect(scan.agents.find((x) => x.name === 'LedgerClient' || x.name === 'Counter')).toBeUndefined();
  });

  it('classifies a class reaching the base through a re-exported, aliased parent as migrated', () => {
    expect(agent('LedgerWatch')).toMatchObject({ status: 'migrated', file: 'agents/ledger_watch.ts' });
    expect(agent('LedgerWatch')!.evidence).toContain('extends BaseAgent through a parent class');
  });

  it('lists a closure factory the rewrite moves onto the base as an agent named by the factory, its _v2 as its output', () => {
    expect(agent('createFanout')).toMatchObject({ status: 'legacy', file: 'services/webhook-fanout.mjs', class: 'createFanout', line: 15, output: 'services/webhook-fanout_v2.mjs' });
    expect(skip('services/webhook-fanout_v2.mjs')).toBeUndefined();
  });

  it('lists a _v2 file without a legacy sibling as migrated', () => {
    expect(agent('RateLimiter')).toMatchObject({ status: 'migrated', file: 'agents/rate_limiter_v2.ts' });
  });

  it('skips what is not an agent, with the reason', () => {
    expect(skip('common/core/base-agent.ts')).toMatch(/defines BaseAgent itself/);
    expect(skip('agents/helpers.ts')).toMatch(/no class/);
    expect(skip('agents/alert_relay.js')).toMatch(/^prototype-style constructor function AlertRelay \(line 7; enqueue, flush, startHealth, start, stop on its prototype\), not a class: rewrite it as a class/);
    expect(skip('services/sms-dispatcher.cjs')).toBe("closure factory createDispatcher (line 16) returns { start, stop, flush, stats } over a server (line 88), a metrics push (pushMetrics(), line 79), registration (start(), line 87), a deregistration (stop(), line 112), a timer (line 105), a signal handler (line 136) of its own, not a class: not moved onto the base automatically, as the metrics push of pushMetrics() (line 79) is not a list of samples the base can record: rewrite it as a class to migrate it");
    expect(skip('services/heartbeat-relay.js')).toMatch(/^closure factory createHeartbeatRelay \(line 11\) returns \{ seen, forwarded, socket, server, timer, forward, start, stop \} over a server \(line 29\), a timer \(line 34\) of its own/);
    expect(skip('services/mailer.js')).toMatch(/^prototype-style constructor function Mailer, not a class: rewrite it as a class to migrate it \(not converted automatically: lib\/priority-mailer\.js:7/);
    expect(agent('Mailer')).toBeUndefined();
    expect(skip('agents/types.ts')).toMatch(/type-only/);
    expect(skip('agents/records.ts')).toMatch(/no agent: Trade/);
    expect(skip('agents/order_router.test.ts')).toMatch(/test file/);
    expect(skip('agents/archive/old_agent.ts')).toMatch(/excluded by tsconfig/);
    expect(agent('ExposureCalculator')).toMatchObject({ status: 'legacy', file: 'scheduler/exposure.ts' });
    expect(skip('scheduler/attic/expirer.ts')).toMatch(/excluded by tsconfig/);
    expect(skip('agents/globals.d.ts')).toMatch(/declarations/);
    expect(skip('lib/parents.ts')).toMatch(/no agent: ServiceBase/);
    expect(skip('lib/mini-router.ts')).toMatch(/no agent: MiniRouter builds an HTTP server and returns it to its caller/);
    expect(agent('MiniRouter')).toBeUndefined();
    expect(skip('lib/index.ts')).toMatch(/no class/);
    expect(skip('lib/status-port.ts')).toMatch(/^StatusPort is a health server helper \(constructed with a port and a status function, serves only \/health\)/);
    expect(skip('lib/base-service.ts')).toMatch(/^the old BaseService that the base-service profile maps onto BaseAgent: its subclasses are the agents/);
    expect(scan.agents.map((a) => a.name).sort()).toEqual(['ExposureCalculator', 'FeedRelay', 'LedgerWatch', 'OrderRouter', 'PayoutReconciler', 'PointsExpirer', 'QuoteNormalizer', 'RateLimiter', 'SettlementChecker', 'createFanout']);
  });
});
