// Scan of Node services as they are in the wild: JavaScript (.js/.cjs/.mjs, class expressions
// exported with module.exports), EventEmitter and old-base parents, loops written as
// self-re-arming timers or compound while conditions, health on a router or in a healthcheck()
// method, prom-client metrics, retry by recursion, arrow-function methods and abstract family
// parents are all found; build output beside its sources is not mistaken for agents.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../src/core/types.js';
import { scanRepository } from '../src/discover/scan.js';
import '../src/lang/adapters.js';
import { loadProfile } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (name: string, file: string) => readFileSync(path.join(here, '..', 'fixtures', 'typescript', name, file), 'utf8');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-scan-wild-'));

function put(rel: string, text: string): void {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, text);
}

let scan: ScanResult;

beforeAll(async () => {
  put('agents/stats_pusher.js', fx('cjs-class-expression-pusher', 'input.js'));
  put('agents/queue_metrics.cjs', fx('cjs-prom-client-metrics', 'input.js'));
  put('agents/supervisor.ts', fx('eventemitter-supervisor-daemon', 'input.ts'));
  put('agents/mqtt_bridge.js', fx('cjs-exports-mqtt-bridge', 'input.js'));
  put('agents/shipment_tracker.ts', fx('abortable-tracker-backoff', 'input.ts'));
  put('agents/job_runner.ts', fx('express-health-router', 'input.ts'));
  put('lib/base-service.ts', fx('base-service-poll-loop', 'lib/base-service.ts'));
  put('agents/deposit_relayer.ts', fx('base-service-poll-loop', 'input.ts'));
  put('lib/device-supervisor.ts', fx('abstract-family-parent', 'input.ts'));
  // A poller whose loop is a timer chain and whose health is a method, with no entry point.
  put('agents/ledger_poller.mjs', [
    "import { EventEmitter } from 'node:events';",
    '',
    'export class LedgerPoller extends EventEmitter {',
    '  constructor(url, everyMs = 5000) {',
    '    super();',
    '    this.url = url;',
    '    this.everyMs = everyMs;',
    '    this.height = 0;',
    '  }',
    '',
    '  healthcheck() {',
    "    return { status: 'ok', height: this.height };",
    '  }',
    '',
    '  poll = async () => {',
    '    try {',
    '      const res = await fetch(this.url);',
    '      this.height = (await res.json()).height;',
    "      this.emit('height', this.height);",
    '    } finally {',
    '      this.timer = setTimeout(() => this.poll(), this.everyMs);',
    '    }',
    '  };',
    '',
    '  async connect() {',
    '    try {',
    '      await fetch(`${this.url}/hello`);',
    '    } catch {',
    '      await new Promise((r) => setTimeout(r, 1000));',
    '      return this.connect();',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n'));
  // A hand-written metrics registry: classes constructed inside the module's exported table.
  put('lib/metrics.ts', fx('scan-metrics-table-module', 'lib/metrics.ts'));
  // A dashboard's browser script beside a Node poller that, like it, imports nothing and uses fetch().
  put('static/dashboard.js', fx('scan-browser-dashboard-script', 'static/dashboard.js'));
  put('agents/status-poller.mjs', fx('scan-browser-dashboard-script', 'agents/status-poller.mjs'));
  // Build output: compiled next to its source, in the outDir, minified.
  put('tsconfig.json', JSON.stringify({ compilerOptions: { outDir: 'build' }, include: ['agents/**/*.ts', 'lib/**/*.ts'] }));
  put('agents/supervisor.js', '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nclass Supervisor { start() { setInterval(() => 1, 10); } }\n');
  put('build/agents/shipment_tracker.js', 'class ShipmentTracker { run() { setInterval(() => 1, 10); } }\n');
  put('public/vendor.min.js', 'class A{start(){setInterval(()=>1,9)}}');
  put('scripts/gen.cjs', '"use strict";\nexports.__esModule = true;\nvar __importDefault = 1;\n');
  scan = await scanRepository(root, loadProfile('base-agent'));
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const agent = (name: string) => scan.agents.find((a) => a.name === name);
const skip = (file: string) => scan.skipped.find((s) => s.file === file)?.reason;

describe('TypeScript/JavaScript scan of services in the wild', () => {
  it('finds JavaScript agents, CommonJS class expressions and classes exported after the fact', () => {
    expect(agent('StatsPusher')).toMatchObject({ file: 'agents/stats_pusher.js', status: 'legacy', class: 'StatsPusher' });
    expect(agent('QueueMetrics')).toMatchObject({ file: 'agents/queue_metrics.cjs', status: 'legacy' });
    expect(agent('LedgerPoller')).toMatchObject({ file: 'agents/ledger_poller.mjs', status: 'legacy' });
    // `exports.MqttBridge = class extends EventEmitter`: named by its export.
    expect(agent('MqttBridge')).toMatchObject({ file: 'agents/mqtt_bridge.js', class: 'MqttBridge', status: 'legacy' });
    expect(agent('MqttBridge')!.findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'loop', symbol: 'heartbeat' }),
      expect.objectContaining({ kind: 'retry', symbol: 'connect' }),
      expect.objectContaining({ kind: 'health', symbol: 'healthcheck' }),
    ]));
  });

  it('finds agents on EventEmitter and on an old in-repo base, legacy both', () => {
    expect(agent('Supervisor')).toMatchObject({ file: 'agents/supervisor.ts', status: 'legacy' });
    expect(agent('DepositRelayer')).toMatchObject({ status: 'legacy' });
    expect(agent('DepositRelayer')!.findings).toContainEqual(expect.objectContaining({ kind: 'loop', symbol: '_start' }));
  });

  it('sees timer-chain and compound-condition loops, router and method health, prom-client and recursive retry', () => {
    const poller = agent('LedgerPoller')!;
    expect(poller.evidence).toEqual(expect.arrayContaining(['runs a loop', 'has a health-check method']));
    expect(poller.findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'loop', symbol: 'poll' }),
      expect.objectContaining({ kind: 'health', symbol: 'healthcheck' }),
      expect.objectContaining({ kind: 'retry', symbol: 'connect' }),
    ]));
    expect(agent('ShipmentTracker')!.findings).toContainEqual(expect.objectContaining({ kind: 'loop', symbol: 'run' }));
    expect(agent('JobRunner')!.findings).toContainEqual(expect.objectContaining({ kind: 'health', symbol: "router.get('/healthz')" }));
    expect(agent('QueueMetrics')!.evidence).toContain('keeps prom-client metrics');
    expect(agent('QueueMetrics')!.findings).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'metrics', symbol: 'client.Registry' })]));
  });

  it('takes an abstract class with an agent\'s infrastructure as its family\'s parent', () => {
    expect(agent('DeviceSupervisor')).toMatchObject({ file: 'lib/device-supervisor.ts', status: 'legacy' });
    expect(agent('DeviceSupervisor')!.evidence).toContain('abstract parent of an agent family (its subclasses follow it)');
    expect(skip('lib/base-service.ts')).toMatch(/no agent: BaseService/);
  });

  it('takes classes constructed only inside an exported table (a metrics registry object) for helpers, not agents', () => {
    expect(scan.agents.filter((a) => a.file === 'lib/metrics.ts')).toEqual([]);
    expect(skip('lib/metrics.ts')).toMatch(/no agent: Metric, Counter, Gauge, Histogram have no entry point/);
  });

  it('skips a page\'s script (DOM globals, no module, no process) as a browser script, not a Node poller that uses fetch()', () => {
    expect(scan.agents.filter((a) => a.file === 'static/dashboard.js')).toEqual([]);
    expect(skip('static/dashboard.js')).toMatch(/^browser script: reads document \(line 35\), a page's global, and imports no module nor uses process\/require/);
    expect(agent('StatusPoller')).toMatchObject({ file: 'agents/status-poller.mjs', status: 'legacy' });
  });

  it('skips build output and bundles, with the reason', () => {
    expect(skip('agents/supervisor.js')).toMatch(/compiled output of supervisor\.ts/);
    expect(skip('build/agents/shipment_tracker.js')).toMatch(/compiled output \(tsconfig outDir\)/);
    expect(skip('public/vendor.min.js')).toMatch(/minified bundle/);
    expect(skip('scripts/gen.cjs')).toMatch(/compiled output/);
  });
});
