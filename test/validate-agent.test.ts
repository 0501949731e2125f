// End-to-end validation of real fixture agents (python3 child processes) against
// the embedded registry and metrics sink: healthy agents pass every check, each
// broken agent fails the right check with the right message, nothing survives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import path from 'node:path';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { AgentInfo, CheckName, ValidationReport } from '../src/core/types.js';
import type { ValidationEnvironment } from '../src/validate/environment.js';
import type { ValidateAgentOptions } from '../src/validate/validate-agent.js';
import { freePort } from './helpers/ask.js';
import { importBuilt } from './helpers/cli.js';

// The built tool's modules (helpers/cli.ts importBuilt), one instance of each as `migrate validate`
// has: none of the sources through vitest's transform.
const { planInit } = await importBuilt<typeof import('../src/commands/init.js')>('commands/init.js');
const { loadProfile } = await importBuilt<typeof import('../src/profile/profile.js')>('profile/profile.js');
const { startValidationEnvironment } = await importBuilt<typeof import('../src/validate/environment.js')>('validate/environment.js');
const { validateAgent, validateAgents } = await importBuilt<typeof import('../src/validate/validate-agent.js')>('validate/validate-agent.js');
const { startEmbeddedRegistry } = await importBuilt<typeof import('../src/validate/embedded-registry.js')>('validate/embedded-registry.js');
const { startMetricsSink } = await importBuilt<typeof import('../src/validate/metrics-sink.js')>('validate/metrics-sink.js');
const { liveGroups } = await importBuilt<typeof import('../src/validate/process-group.js')>('validate/process-group.js');

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'validate');
const FLEET = path.join(FIXTURES, 'fleet');
const BROKEN = path.join(FIXTURES, 'broken');
const profile = loadProfile('base-agent');

function agentInfo(name: string, file: string): AgentInfo {
  return { name, file, language: 'python', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
}

function opts(root: string, stem: string, name: string, env: ValidationEnvironment, extra: Partial<ValidateAgentOptions> = {}): ValidateAgentOptions {
  return {
    root,
    agent: agentInfo(name, `agents/${stem}.py`),
    file: path.join(root, 'agents', `${stem}_v2.py`),
    legacyFile: path.join(root, 'agents', `${stem}.py`),
    profile,
    env,
    legacyWindowMs: 400,
    // 15 s, the product's health and metrics deadline: a passing check ends at its first success,
    // and a python3 start with its first registration and push can take longer than 5 s on a
    // loaded 2-core machine. The checks meant to fail set their own deadlines.
    healthDeadlineMs: 15_000,
    registryDeadlineMs: 15_000,
    metricsDeadlineMs: 15_000,
    shutdownDeadlineMs: 5000, // the product default; the base stop watchdog alone is 3 s
    ...extra,
  };
}

function check(r: ValidationReport, name: CheckName) {
  return r.checks.find((c) => c.name === name)!;
}

/** Live (non-zombie) processes started for this report: their environment holds its health port. */
function processesOf(r: ValidationReport): string[] {
  const mark = `HEALTH_CHECK_PORT=${r.ports.health_port}\0`;
  const out: string[] = [];
  for (const e of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${e}/environ`, 'utf8').includes(mark)) {
        out.push(`${e}: ${readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
      }
    } catch {
      // exited while we looked, or not ours to read
    }
  }
  return out;
}

/** Everything the run started is gone: no tracked group, no agent process; details are one line. */
function assertNothingLeft(r: ValidationReport) {
  expect(liveGroups()).toEqual([]);
  if (r.ports.health_port) expect(processesOf(r)).toEqual([]);
  for (const line of r.checks.map((c) => c.detail)) expect(line).not.toMatch(/\n/);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

let env: ValidationEnvironment;
beforeAll(async () => {
  env = await startValidationEnvironment();
});
afterAll(async () => {
  await env?.close();
});

describe('healthy migrated agents', () => {
  it('pass every check, with timings, on the embedded registry and sink', async () => {
    const r = await validateAgent(opts(FLEET, 'order_router', 'OrderRouter', env));
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['health', true],
      ['registry', true],
      ['metrics', true],
      ['survival', true],
      ['ports', true],
      ['shutdown', true],
      ['deregister', true],
      ['log', true],
    ]);
    expect(r.ok).toBe(true);
    expect(check(r, 'registry').detail).toMatch(/^OrderRouter registered in the embedded registry after \d+\.\d s$/);
    expect(check(r, 'metrics').detail).toMatch(/labelled OrderRouter at the embedded metrics sink/);
    expect(check(r, 'shutdown').detail).toMatch(/exited with code 0 .* after SIGTERM; no process left/);
    expect(check(r, 'log').detail).toMatch(/no new ERROR or Traceback lines, compared with the legacy run/);
    expect(r.ports.port).toBeGreaterThan(0);
    expect(r.ports.health_port).not.toBe(r.ports.port);
    // The agent registered with the pid the tool started, then deregistered on SIGTERM.
    expect(env.registry!.registrations().map((x) => x.name)).not.toContain('OrderRouter');
    expect(env.sink!.samples().some((s) => s.labels.agent === 'OrderRouter' && s.name === 'orders_routed_total')).toBe(true);
    assertNothingLeft(r);
  });

  // A traceback printed at start by an agent that goes on (an upstream it retries later), then silence: the
  // wait for an agent dying after its traceback ends at its cap, inside the legacy run's time limit; killed at
  // that limit instead, the legacy read as one that could not start.
  it('a legacy agent that prints a traceback at start and goes on quietly: a normal baseline, not "could not start"', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-logged-traceback-'));
    try {
      cpSync(FLEET, root, { recursive: true });
      const logged = 'import traceback as _tb\ntry:\n    raise ConnectionRefusedError("price cache down; retrying in 30 s")\nexcept ConnectionRefusedError:\n    _tb.print_exc()\n';
      for (const f of ['order_router.py', 'order_router_v2.py']) {
        const file = path.join(root, 'agents', f);
        const text = readFileSync(file, 'utf8');
        const docEnd = text.indexOf('\n') + 1;
        writeFileSync(file, text.slice(0, docEnd) + logged + text.slice(docEnd));
      }
      const r = await validateAgent(opts(root, 'order_router', 'OrderRouter', env, { legacyWindowMs: 2000 }));
      expect(r.error).toBeUndefined();
      expect(check(r, 'log'), check(r, 'log').detail).toMatchObject({ ok: true });
      expect(check(r, 'ports'), check(r, 'ports').detail).toMatchObject({ ok: true });
      expect(r.ok).toBe(true);
      assertNothingLeft(r);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('an ERROR the legacy agent logs after its short window (a hand-made registration giving up) is not new', async () => {
    // The legacy run is watched 400 ms; both log the give-up line after ~0.9 s of retries.
    const r = await validateAgent(opts(FLEET, 'catalog_publisher', 'CatalogPublisher', env));
    expect(check(r, 'log')).toMatchObject({ ok: true });
    expect(check(r, 'log').detail).toBe('no new ERROR or Traceback lines (1 also in the legacy run), compared with the legacy run (the legacy agent, watched longer, logs them too)');
    expect(r.ok).toBe(true);
    assertNothingLeft(r);
  });

  it('an ERROR both log only after ten seconds (a peer down after three probes 6 s apart) is not new: the legacy agent is watched again as long as the _v2 was', async () => {
    // Before, that second legacy run stopped at 10 s, just before the legacy agent's third probe,
    // and the _v2 failed "2 new ERROR/Traceback line(s)" (probe-ts53b: PeerWatchdogAgent).
    const r = await validateAgent(opts(FLEET, 'peer_prober', 'PeerProber', env, { survivalWindowMs: 14_000, survivalIntervalMs: 1000 }));
    expect(check(r, 'log')).toMatchObject({ ok: true });
    expect(check(r, 'log').detail).toBe('no new ERROR or Traceback lines (1 also in the legacy run), compared with the legacy run (the legacy agent, watched longer, logs them too)');
    expect(r.ok).toBe(true);
    assertNothingLeft(r);
  }, 90_000);

  it('an ERROR both log later than the second legacy run\'s shortest window: that run lasts as long as the _v2 took to print it', async () => {
    // The give-up line comes after ~0.9 s; a fixed 300 ms second run never saw it, and the line read as new.
    const r = await validateAgent(opts(FLEET, 'catalog_publisher', 'CatalogPublisher', env, { longerLegacyMs: 300 }));
    expect(check(r, 'log')).toMatchObject({ ok: true });
    expect(check(r, 'log').detail).toContain('(the legacy agent, watched longer, logs them too)');
    assertNothingLeft(r);
  });

  it('a legacy agent whose health sat on AGENT_PORT + 1 (HEALTH_CHECK_PORT unread): the _v2\'s health port stands in for it', async () => {
    // probe-py51: the ports check took that neighbour for a business port the _v2 no longer listened on and failed a
    // right migration; the legacy run now asks its derived ports for health too.
    // Watched long enough to see it listen (the fleet's 400 ms is before python3 has bound anything).
    const r = await validateAgent(opts(FLEET, 'quota_agent', 'QuotaAgent', env, { legacyWindowMs: 2500 }));
    expect(check(r, 'ports'), check(r, 'ports').detail).toMatchObject({ ok: true });
    expect(check(r, 'ports').detail).toMatch(/\(the legacy agent's health port, derived from its port\) as \d+ \(the _v2's health port\)/);
    expect(r.ok).toBe(true);
    assertNothingLeft(r);
  });

  it('a run() override with while True still stops with exit 0 on SIGTERM', async () => {
    const r = await validateAgent(opts(FLEET, 'price_watcher', 'PriceWatcher', env));
    expect(check(r, 'shutdown')).toMatchObject({ ok: true });
    expect(r.ok).toBe(true);
    assertNothingLeft(r);
  });

  it('several agents in parallel never share a port', async () => {
    const stems: Array<[string, string]> = [
      ['inventory_sync', 'InventorySync'],
      ['async_processor', 'AsyncProcessor'],
      ['memory_cache', 'MemoryCache'],
      ['report_builder', 'ReportBuilder'],
    ];
    const done: number[] = [];
    const reports = await validateAgents(
      stems.map(([s, n]) => opts(FLEET, s, n, env, { legacyFile: undefined })),
      { concurrency: 4, onDone: (i) => done.push(i) },
    );
    expect(reports.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(done.sort()).toEqual([0, 1, 2, 3]);
    const ports = reports.flatMap((r) => Object.values(r.ports));
    expect(new Set(ports).size).toBe(ports.length);
    expect(check(reports[0]!, 'log').detail).toMatch(/compared against none \(no legacy file given\)/);
    expect(liveGroups()).toEqual([]);
  });

  it('an agent past its start is watched beside the next one starting: one start at a time, never more alive than allowed', async () => {
    const stems: Array<[string, string]> = [
      ['inventory_sync', 'InventorySync'],
      ['async_processor', 'AsyncProcessor'],
      ['memory_cache', 'MemoryCache'],
      ['report_builder', 'ReportBuilder'],
    ];
    // The agents' process groups, sampled while they are validated (bounded: the run ends by itself).
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, liveGroups().length)), 50);
    let reports: ValidationReport[];
    try {
      reports = await validateAgents(
        stems.map(([s, n]) => opts(FLEET, s, n, env, { legacyFile: undefined, survivalWindowMs: 4000, survivalIntervalMs: 500 })),
        { concurrency: 1, watched: 3 },
      );
    } finally {
      clearInterval(sampler);
    }
    expect(reports.map((r) => r.ok)).toEqual([true, true, true, true]);
    for (const r of reports) expect(check(r, 'survival').detail).toMatch(/^stayed up and healthy for 4\.0 s/);
    // One agent at a time through its whole window would never have two alive.
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(3);
    expect(liveGroups()).toEqual([]);
  });
});

describe('validations that run one program', () => {
  // An abstract parent and its subclass (or a module and the file that starts it) run the same
  // program: that program's own fixed port (a status socket) cannot be bound by two copies.
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'migrate-one-program-'));
    cpSync(path.join(FLEET, 'common'), path.join(root, 'common'), { recursive: true });
    const fixed = await freePort();
    mkdirSync(path.join(root, 'agents'), { recursive: true });
    writeFileSync(
      path.join(root, 'agents', 'status_relay_v2.py'),
      [
        '"""StatusRelay on the shared BaseAgent; it also serves its status socket on a fixed port."""',
        'import socket',
        '',
        'from common.core.base_agent import BaseAgent',
        '',
        `STATUS_PORT = ${fixed}`,
        '',
        '',
        'class StatusRelay(BaseAgent):',
        '    def __init__(self, port=None, health_check_port=None, **kwargs):',
        '        super().__init__(name="StatusRelay", port=port, health_check_port=health_check_port, **kwargs)',
        '        self.status = socket.socket(socket.AF_INET, socket.SOCK_STREAM)',
        '        self.status.bind(("127.0.0.1", STATUS_PORT))',
        '        self.status.listen(4)',
        '',
        '    loop_interval = 0.05',
        '',
        '    def run_once(self):',
        "        self.report_metric('relayed_total', 1)",
        '',
        '',
        'if __name__ == "__main__":',
        '    StatusRelay().run()',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('run one after the other, never at once', async () => {
    const item = () => opts(root, 'status_relay', 'StatusRelay', env, { legacyFile: undefined, survivalWindowMs: 1500, survivalIntervalMs: 500 });
    const reports = await validateAgents([item(), item()], { concurrency: 2 });
    for (const r of reports) expect(check(r, 'health').detail).not.toMatch(/Address already in use|EADDRINUSE/);
    expect(reports.map((r) => r.ok)).toEqual([true, true]);
    expect(liveGroups()).toEqual([]);
  });
});

describe('survival under a slow answer', () => {
  // An agent whose /health answer comes late from its `n`-th request on: once (a loaded
  // machine), or for good (a hung agent). The base's health handler asks _get_health_status.
  const slowAgent = (name: string, stall: string) => `"""${name}: on the shared BaseAgent; its health answer stalls."""
import time

from common.core.base_agent import BaseAgent


class ${name}(BaseAgent):
    def __init__(self, **kwargs):
        super().__init__(name="${name}", **kwargs)
        self.asked = 0

    loop_interval = 0.05

    def _get_health_status(self):
        self.asked += 1
        ${stall}
        return super()._get_health_status()

    def run_once(self):
        self.report_metric("asked", self.asked)


if __name__ == "__main__":
    ${name}().run()
`;
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'migrate-slow-health-'));
    cpSync(FLEET, root, { recursive: true });
    writeFileSync(path.join(root, 'agents', 'slow_once_v2.py'), slowAgent('SlowOnce', 'if self.asked == 4:\n            time.sleep(2.6)'));
    writeFileSync(path.join(root, 'agents', 'hung_v2.py'), slowAgent('Hung', 'if self.asked >= 4:\n            time.sleep(30)'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('one late answer is asked for again and the agent survives; the report says so', async () => {
    const r = await validateAgent(opts(root, 'slow_once', 'SlowOnce', env, { legacyFile: undefined, survivalWindowMs: 6000, survivalIntervalMs: 500 }));
    expect(check(r, 'survival')).toMatchObject({ ok: true });
    expect(check(r, 'survival').detail).toMatch(/^stayed up and healthy for 6\.0 s after its first healthy answer \(\d+ probes; 1 late answer asked for again\)$/);
    expect(liveGroups()).toEqual([]);
  });

  it('an agent that stops answering still fails, once it is late three times in a row', async () => {
    const r = await validateAgent(opts(root, 'hung', 'Hung', env, { legacyFile: undefined, survivalWindowMs: 12000, survivalIntervalMs: 500 }));
    expect(check(r, 'survival')).toMatchObject({ ok: false });
    expect(check(r, 'survival').detail).toMatch(/^stopped answering health [\d.]+ s after its first healthy answer: timed out$/);
    expect(liveGroups()).toEqual([]);
  });
});

describe('broken agents fail the right check', () => {
  it('crash at import: health explains the exception; the legacy baseline still ran', async () => {
    const r = await validateAgent(opts(BROKEN, 'crash_at_import', 'CrashAtImport', env));
    expect(r.ok).toBe(false);
    expect(check(r, 'health').detail).toMatch(
      /^agent exited with code 1: ModuleNotFoundError: No module named 'nonexistent_vendor_sdk' \(before \/health on port \d+ was healthy\)$/,
    );
    expect(check(r, 'registry').detail).toMatch(/^CrashAtImport not registered: agent exited with code 1: ModuleNotFoundError/);
    expect(check(r, 'shutdown').detail).toMatch(/before SIGTERM was sent/);
    expect(check(r, 'log')).toMatchObject({ ok: false });
    expect(check(r, 'log').detail).toMatch(/new ERROR\/Traceback line\(s\), compared with the legacy run; first: Traceback … ModuleNotFoundError: No module named 'nonexistent_vendor_sdk'$/);
    assertNothingLeft(r);
  });

  // The legacy agent and its _v2 both need a vendor SDK that is not installed here; the second
  // legacy agent has an atexit hook (a vendor logger flushing) that keeps it a second after its
  // traceback is printed: its baseline window closes between the two, as on a loaded machine.
  it.each([
    ['a module this machine lacks, imported by the legacy agent too: not run (not ok), said to be the environment', ''],
    ['a legacy agent whose exit trails its traceback (slow teardown): still its start error, not a SIGTERM', 'import atexit, time\natexit.register(time.sleep, 1.0)\n'],
    // Its exit trails the traceback by more than a fixed grace (a slower teardown, or a loaded machine): the wait ends at its exit.
    ['a legacy agent whose exit trails its traceback by 3 s: still its start error, not a SIGTERM', 'import atexit, time\natexit.register(time.sleep, 3.0)\n'],
    // Slower to reach its import than its _v2 takes to die (a loaded machine): both legacy runs must see it die.
    ['a legacy agent slower to start than its _v2 is to fail (a loaded machine): still its start error', 'import time\ntime.sleep(2.0)\n'],
  ])('%s', async (_title, teardown) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-missing-dep-'));
    try {
      cpSync(path.join(BROKEN, 'common'), path.join(root, 'common'), { recursive: true });
      mkdirSync(path.join(root, 'agents'));
      writeFileSync(path.join(root, 'agents', 'vendor_bridge.py'), readFileSync(path.join(BROKEN, 'agents', 'crash_at_import.py'), 'utf8')
        .replace('import logging\n', `import logging\n${teardown}import nonexistent_vendor_sdk\n`));
      copyFileSync(path.join(BROKEN, 'agents', 'crash_at_import_v2.py'), path.join(root, 'agents', 'vendor_bridge_v2.py'));
      const r = await validateAgent(opts(root, 'vendor_bridge', 'CrashAtImport', env));
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/^validation: not run here: agents\/vendor_bridge_v2\.py and its legacy agent both stop at start for want of a module \(ModuleNotFoundError: No module named 'nonexistent_vendor_sdk'\)/);
      expect(r.not_run).toBe("ModuleNotFoundError: No module named 'nonexistent_vendor_sdk'");
      expect(check(r, 'health').ok).toBe(false);
      assertNothingLeft(r);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // probe-node70 (iii): the legacy agent and its _v2 both stop at start on an upstream this machine lacks
  // (QueueExporter exiting 2 on RabbitMQ's management API refusing): no missing module, so no not_run,
  // but the error says the legacy agent stops the same way here, where it named only the _v2's failed check.
  it('a start error the legacy agent stops on too (a broker refusing, no missing module): failed, and the error says the legacy stops the same way', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-same-start-error-'));
    try {
      cpSync(path.join(BROKEN, 'common'), path.join(root, 'common'), { recursive: true });
      mkdirSync(path.join(root, 'agents'));
      // A port nothing listens on: the broker the agent connects to at start.
      const broker = `import socket\nsocket.create_connection(('127.0.0.1', ${await freePort()}), timeout=2)\n`;
      writeFileSync(path.join(root, 'agents', 'broker_bridge.py'), readFileSync(path.join(BROKEN, 'agents', 'crash_at_import.py'), 'utf8').replace('import logging\n', `import logging\n${broker}`));
      writeFileSync(path.join(root, 'agents', 'broker_bridge_v2.py'), readFileSync(path.join(BROKEN, 'agents', 'crash_at_import_v2.py'), 'utf8').replace('import nonexistent_vendor_sdk  # removed from the environment long ago\n', broker));
      // (A window the legacy's python3 start fits in on a loaded machine: its exit is what the error names.)
      const r = await validateAgent(opts(root, 'broker_bridge', 'CrashAtImport', env, { legacyWindowMs: 4000 }));
      expect(r.ok).toBe(false);
      expect(r.not_run).toBeUndefined();
      expect(r.error).toMatch(/^validation: health: agent exited with code 1: ConnectionRefusedError: .* its legacy agent stops at start the same way here \(ConnectionRefusedError: [^)]*\), so this environment may lack what the agent needs at start/);
      assertNothingLeft(r);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never opens its health port: the detail says the port was never bound, watched past the deadline too', async () => {
    const r = await validateAgent(opts(BROKEN, 'no_health_port', 'NoHealthPort', env, { healthDeadlineMs: 1500, legacyFile: undefined }));
    expect(check(r, 'health').ok).toBe(false);
    expect(check(r, 'health').detail).toMatch(
      /^port (\d+) was never bound: nothing answered on 127\.0\.0\.1:\1 within the 1\.5 s deadline nor in the 0\.\d s after \(GET \/health: connection refused\); the agent listens on no TCP port$/,
    );
    expect(check(r, 'registry').ok).toBe(true); // the rest of the base still works
    expect(check(r, 'shutdown').ok).toBe(true);
    assertNothingLeft(r);
  });

  // probe-node68's LineCache: the _v2's start-up is still the agent's own (a starter calling its listen()), which
  // serves the business port and never starts the base. The detail named the health port and asked whether the
  // agent reads it from the environment; the cause is that nothing of the base came up, and it now says so first.
  it('never starts the base (its own start-up serves only its business port): the health detail names that cause', async () => {
    const r = await validateAgent(opts(BROKEN, 'never_started', 'NeverStarted', env, { healthDeadlineMs: 1500, registryDeadlineMs: 2000, metricsDeadlineMs: 2000, legacyFile: undefined }));
    const health = check(r, 'health');
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(
      /^the base was never started: nothing of it came up while the agent ran \(no \/health on port (\d+), no registration as NeverStarted, no metrics sample\) though the agent stayed up: whatever starts the _v2 .* does not build the agent and call the base's start\(\) or run\(\) .* port \1 was never bound: .*; the agent listens on port \d+ instead$/,
    );
    assertNothingLeft(r);
  });

  // An agent whose start-up binds the health port only after a slow warm-up (~20 s here in
  // production terms; 3 s against a 1.5 s deadline in the test): it failed with the same "nothing
  // answered ... (connection refused)" as one that never binds it, and a person could not tell.
  it('binds its health port after the deadline: still a failure, and the detail says it bound late and when', async () => {
    const r = await validateAgent(
      opts(BROKEN, 'late_health_port', 'LateHealthPort', env, { healthDeadlineMs: 1500, healthLateGraceMs: 8000, legacyFile: undefined, baseEnv: { ...process.env, HEALTH_BIND_DELAY_S: '3' } }),
    );
    const health = check(r, 'health');
    expect(health.ok).toBe(false);
    const m = /^port \d+ was not bound within the 1\.5 s deadline \(GET \/health: connection refused\); it bound late: \/health first answered 200 status "ok" (\d+\.\d) s after the start\. Its start-up does slow work before it listens: bind the health port first$/.exec(health.detail);
    expect(m, health.detail).not.toBeNull();
    // The bind came after the 3 s warm-up, and was seen before the grace ran out.
    expect(Number(m![1])).toBeGreaterThanOrEqual(3);
    expect(Number(m![1])).toBeLessThan(1.5 + 8 + 1);
    // Only health is late: registration and the rest of the base are not held up by it.
    expect(r.checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name)).toEqual(['health']);
    assertNothingLeft(r);
  });

  it('answers unhealthy', async () => {
    // 4 s, not 1 s: the deadline counts from the start, and on a loaded machine the agent had not
    // yet opened its port after 1 s ("nothing answered ... within 1.0 s", not the 503 this is about).
    const r = await validateAgent(opts(BROKEN, 'unhealthy', 'Unhealthy', env, { healthDeadlineMs: 4000, legacyFile: undefined }));
    expect(check(r, 'health').detail).toMatch(/^\/health on port \d+ answered 503 with status degraded \(expected 2xx and "ok" or "healthy"\) for 4\.0 s$/);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['health']);
    assertNothingLeft(r);
  });

  it('registers after the deadline', async () => {
    const r = await validateAgent(
      opts(BROKEN, 'late_register', 'LateRegister', env, { registryDeadlineMs: 1500, legacyFile: undefined, baseEnv: { ...process.env, REGISTER_DELAY_S: '4' } }),
    );
    expect(check(r, 'registry').ok).toBe(false);
    expect(check(r, 'registry').detail).toBe('LateRegister not registered after 1.5 s; the embedded registry answered but has no entry');
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['registry']);
    assertNothingLeft(r);
  });

  it('ignores SIGTERM: killed after the deadline, nothing left', async () => {
    const r = await validateAgent(opts(BROKEN, 'ignores_sigterm', 'IgnoresSigterm', env, { shutdownDeadlineMs: 1000, legacyFile: undefined }));
    expect(check(r, 'shutdown')).toMatchObject({ ok: false, detail: 'still running 1.0 s after SIGTERM (killed with SIGKILL)' });
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['shutdown']);
    assertNothingLeft(r);
  });

  // faults70: a SIGTERM-deaf agent's failed validation named the _v2's shutdown alone, where its legacy agent,
  // run first, ignored SIGTERM the same way: the error says so (as for a same start error), the check still fails.
  it('ignores SIGTERM as its legacy agent does: shutdown fails, and the error says the legacy ignores SIGTERM too', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-sigterm-deaf-'));
    try {
      cpSync(path.join(BROKEN, 'common'), path.join(root, 'common'), { recursive: true });
      mkdirSync(path.join(root, 'agents'));
      const legacy = readFileSync(path.join(BROKEN, 'agents', 'ignores_sigterm.py'), 'utf8');
      const deaf = legacy.replace('signal.signal(signal.SIGTERM, lambda *_: self.stop())', 'signal.signal(signal.SIGTERM, signal.SIG_IGN)  # "never die"');
      expect(deaf).not.toBe(legacy);
      writeFileSync(path.join(root, 'agents', 'ignores_sigterm.py'), deaf);
      cpSync(path.join(BROKEN, 'agents', 'ignores_sigterm_v2.py'), path.join(root, 'agents', 'ignores_sigterm_v2.py'));
      // (a window its python3 start and SIG_IGN fit in on a loaded machine: a SIGTERM before that ends it)
      const r = await validateAgent(opts(root, 'ignores_sigterm', 'IgnoresSigterm', env, { shutdownDeadlineMs: 1000, legacyWindowMs: 3000 }));
      expect(check(r, 'shutdown')).toMatchObject({ ok: false, detail: 'still running 1.0 s after SIGTERM (killed with SIGKILL)' });
      expect(r.error).toBe('validation: shutdown: still running 1.0 s after SIGTERM (killed with SIGKILL); its legacy agent ignores SIGTERM here too (still running 1.0 s after it in its own run), so the migration kept that: make the agent stop on SIGTERM, as the base expects');
      // Its legacy agent stopping on SIGTERM (the fixture's own): the error does not say so.
      writeFileSync(path.join(root, 'agents', 'ignores_sigterm.py'), legacy);
      const r2 = await validateAgent(opts(root, 'ignores_sigterm', 'IgnoresSigterm', env, { shutdownDeadlineMs: 1000 }));
      expect(check(r2, 'shutdown').ok).toBe(false);
      expect(r2.error ?? '').not.toMatch(/legacy agent ignores SIGTERM/);
      assertNothingLeft(r);
      assertNothingLeft(r2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('leaves a child process behind: shutdown names it and the group is killed', async () => {
    const r = await validateAgent(opts(BROKEN, 'orphan_child', 'OrphanChild', env, { legacyFile: undefined }));
    expect(check(r, 'shutdown').detail).toMatch(/^exited 0 after \d+\.\d s but left 1 process\(es\) running: pid \d+ \([^)]*\); killed$/);
    const pid = Number(/pid (\d+)/.exec(check(r, 'shutdown').detail)![1]);
    expect(alive(pid)).toBe(false);
    assertNothingLeft(r);
  });

  it('new ERROR lines compared with the legacy run fail the log check', async () => {
    const r = await validateAgent(opts(BROKEN, 'error_logger', 'ErrorLogger', env));
    expect(check(r, 'log').detail).toMatch(/^1 new ERROR\/Traceback line\(s\), compared with the legacy run; first: .*ERROR ErrorLogger: failed to load routing table/);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['log']);
  });

  it('does not push metrics: the metrics check says its own /metrics has them', async () => {
    // 4 s, not 1 s: its own /metrics must be up when the deadline passes (on a loaded machine it was not after 1 s).
    const r = await validateAgent(opts(BROKEN, 'no_push', 'NoPush', env, { metricsDeadlineMs: 4000, legacyFile: undefined }));
    expect(check(r, 'metrics').detail).toMatch(
      /^no sample labelled agent="NoPush" or job="NoPush" at the embedded metrics sink after 4\.0 s \(its own \/metrics has \d+: the agent does not push to METRICS_URL\)$/,
    );
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['metrics']);
  });
});

describe('environment faults', () => {
  it('a port taken by another process: asked-for health port, and a business port the agent binds', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const asked = await validateAgent(opts(FLEET, 'order_router', 'OrderRouter', env, { ports: { health_port: taken }, legacyFile: undefined }));
      expect(asked.error).toBe(`health port ${taken} is already in use by another process`);
      expect(check(asked, 'health').detail).toBe(`health port ${taken} is already in use by another process`);

      const bound = await validateAgent(
        opts(BROKEN, 'busy_port', 'BusyPort', env, { legacyFile: undefined, baseEnv: { ...process.env, BUSINESS_PORT: String(taken) } }),
      );
      expect(check(bound, 'health').detail).toMatch(/^agent exited with code 1: OSError: \[Errno 98\] Address already in use/);
      assertNothingLeft(bound);
    } finally {
      holder.close();
    }
  });

  it('python3 missing from PATH', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'nopath-'));
    try {
      const r = await validateAgent(opts(FLEET, 'order_router', 'OrderRouter', env, { baseEnv: { ...process.env, PATH: empty } }));
      expect(r.ok).toBe(false);
      expect(r.error).toBe('cannot start agents/order_router_v2.py: python3: not found on PATH');
      expect(r.checks.filter((c) => !c.skipped).every((c) => !c.ok && c.detail === r.error)).toBe(true);
      assertNothingLeft(r);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('an external HTTP registry and Pushgateway-style sink chosen by URL', async () => {
    const registry = await startEmbeddedRegistry();
    const sink = await startMetricsSink();
    const external = await startValidationEnvironment({ registryUrl: registry.url, metricsUrl: sink.url });
    try {
      expect([external.embedded, external.registryKind, external.metricsKind]).toEqual([false, 'http', 'pushgateway']);
      const r = await validateAgent(opts(FLEET, 'alert_dispatcher', 'AlertDispatcher', external, { legacyFile: undefined }));
      expect(r.ok).toBe(true);
      expect(check(r, 'registry').detail).toMatch(new RegExp(`^AlertDispatcher registered in registry ${registry.url} after`));
      expect(check(r, 'metrics').detail).toMatch(new RegExp(`labelled AlertDispatcher at Pushgateway ${sink.url} after`));
      assertNothingLeft(r);
    } finally {
      await Promise.all([external.close(), registry.close(), sink.close()]);
    }
  });

  it('a registry that is down', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const dead = (holder.address() as net.AddressInfo).port;
    await new Promise((r) => holder.close(r)); // nothing listens there now
    const down = await startValidationEnvironment({ registryUrl: `http://127.0.0.1:${dead}` });
    try {
      const r = await validateAgent(opts(FLEET, 'feature_store', 'FeatureStore', down, { registryDeadlineMs: 1500, legacyFile: undefined }));
      expect(check(r, 'registry').detail).toBe('FeatureStore not registered after 1.5 s; last registry error: connection refused');
      expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['registry']);
      assertNothingLeft(r);
    } finally {
      await down.close();
    }
  });
});

describe('TypeScript agents', () => {
  it("start through the TypeScript adapter's launch (compiled, on the base `migrate init` put there) and pass", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'validate-ts-'));
    try {
      cpSync(path.join(FIXTURES, 'ts'), root, { recursive: true });
      const tpl = planInit(root, 'typescript', 'base-agent');
      mkdirSync(path.dirname(path.join(root, tpl.target)), { recursive: true });
      copyFileSync(tpl.template, path.join(root, tpl.target));
      const r = await validateAgent({
        ...opts(root, 'ticker', 'Ticker', env),
        agent: { ...agentInfo('Ticker', 'agents/ticker.ts'), language: 'typescript' },
        file: path.join(root, 'agents', 'ticker_v2.ts'),
        legacyFile: undefined,
        healthDeadlineMs: 15_000,
      });
      expect(r.checks.map((c) => `${c.name}:${c.ok}`), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
      expect(env.sink!.samples().some((s) => s.name === 'ticks_total' && s.labels.agent === 'Ticker')).toBe(true);
      assertNothingLeft(r);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
