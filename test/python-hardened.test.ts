// The seed-001 fixture suite for the hardened-agent-base profile: every case in
// fixtures/python-hardened/ is scanned and rewritten against the reference
// HardenedAgentBase (templates/runtime/python/amoskys, copied into each temporary
// repository); the output equals expected.py byte for byte, parses, byte-compiles, is a
// fixed point, and meets the case's semantic expectations. One migrated agent is then
// validated for real with `migrate validate --profile hardened-agent-base`.
// UPDATE_FIXTURES=1 writes expected.py from the current output (review the diff!).
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { pythonAdapter } from '../src/lang/python/adapter.js';
import { parsePython, firstSyntaxError, decodePythonSource } from '../src/lang/python/parser.js';
import { pyCompileAll } from '../src/lang/python/py-compile.js';
import { ReferenceIndex } from '../src/analysis/references.js';
import { buildModuleModel } from '../src/lang/python/module-model.js';
import { scanRepository } from '../src/discover/scan.js';
import type { AgentInfo, RewriteOutcome } from '../src/core/types.js';
import { validateCommand } from '../src/commands/validate.js';
import { planInit } from '../src/commands/init.js';
import { runCommand } from '../src/commands/run.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/python-hardened');
const RUNTIME_BASE = path.join(templatesDir(), 'runtime', 'python', 'amoskys');
const SUPPORT = path.join(FIXTURES, '_support');
const profile = loadProfile('hardened-agent-base');
const update = process.env.UPDATE_FIXTURES === '1';
const roots: string[] = [];
const toCompile: Array<{ name: string; text: string }> = [];

interface Spec {
  description?: string;
  path?: string;
  scan?: { status: 'legacy' | 'migrated'; class?: string };
  /** Rewrite even though the scan calls it migrated (an agent on an older base of the same name). */
  rewrite_migrated?: boolean;
  expect?: {
    removed?: string[];
    kept?: string[];
    /** Symbols that must be reported; an empty list means nothing may be reported. */
    kept_for_review?: string[];
    output_contains?: string[];
    output_lacks?: string[];
    warnings_contain?: string[];
    error_contains?: string;
    error_line?: number;
    /** Symbols that must not be reported (defined by the class itself, say). */
    not_for_review?: string[];
    /** Text every kept_for_review reason together must contain (the line of a business decision). */
    review_reason_contains?: string[];
  };
  /** How the migrated fixture runs for the Phase 5 checks. */
  runtime?: {
    /** Environment for the agent; {root} is the temporary repository. */
    env?: Record<string, string>;
    /** Files written into the repository first (relative path -> text). */
    files?: Record<string, string>;
    /** Dummy ca.crt/agent.crt/agent.key under {root}/certs (the agent's channel reads them). */
    certs?: boolean;
    /** A file appended to every 300 ms while the agent runs (a change for it to report). */
    touch?: string;
    /** The line appended to `touch` ({now} is the time in ms); default `changed {now}`. */
    touch_line?: string;
    /** A short-lived process started every 300 ms while the agent runs (a change for an agent that reports new processes). */
    spawn?: boolean;
    /** After the run: file (relative) -> text it must contain. */
    afterwards?: Record<string, string>;
  };
}

interface Case {
  name: string;
  dir: string;
  spec: Spec;
  rel: string;
  expectedFile: string;
}

const cases: Case[] = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(path.join(FIXTURES, d.name, 'input.py')))
  .map((d) => {
    const dir = path.join(FIXTURES, d.name);
    const spec: Spec = YAML.parse(readFileSync(path.join(dir, 'case.yaml'), 'utf8')) ?? {};
    return { name: d.name, dir, spec, rel: spec.path ?? `agents/${d.name.replace(/-/g, '_')}.py`, expectedFile: path.join(dir, 'expected.py') };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/** A fresh repository: the reference HardenedAgentBase where the profile imports it from, the case's extra files, its input. */
function materialize(c: Case): string {
  const root = mkdtempSync(path.join(os.tmpdir(), `migrate-hx-${c.name}-`));
  roots.push(root);
  cpSync(RUNTIME_BASE, path.join(root, 'amoskys'), { recursive: true });
  // Loopback stand-ins for grpc, psutil, the generated protobuf modules and the sqlite queue.
  cpSync(SUPPORT, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  const extra = path.join(c.dir, 'repo');
  if (existsSync(extra)) cpSync(extra, root, { recursive: true });
  const dest = path.join(root, c.rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(path.join(c.dir, 'input.py')));
  return root;
}

async function migrate(c: Case): Promise<{ agent?: AgentInfo; outcome?: RewriteOutcome; root: string; error?: string }> {
  const root = materialize(c);
  const scan = await scanRepository(root, profile);
  const agent = scan.agents.find((a) => a.file === c.rel);
  if (!agent) {
    const skipped = scan.skipped.find((s) => s.file === c.rel);
    return { root, error: skipped ? `${skipped.file}: ${skipped.reason}` : undefined };
  }
  const source = decodePythonSource(readFileSync(path.join(root, c.rel)), c.rel);
  const asLegacy = c.spec.rewrite_migrated ? { ...agent, status: 'legacy' as const } : agent;
  const outcome = await pythonAdapter.rewrite({ root, file: path.join(root, c.rel), source, agent: asLegacy, profile });
  return { agent, outcome, root, error: outcome.status === 'failed' ? outcome.error : undefined };
}

function stillDefined(output: string, name: string, agentClass?: string): boolean {
  // Removed from the agent: transport code that moved into the module's EventBusPublisher is
  // not the agent's any more.
  const cls = agentClass ? buildModuleModel(output, parsePython(output)).classes.find((c) => c.name === agentClass) : undefined;
  const scope = cls ? cls.node.text : output;
  return new RegExp(`\\b(def|class)\\s+${name}\\b|self\\.${name}\\s*(:[^=\\n]+)?=[^=]`).test(scope);
}

function stillMentioned(output: string, name: string): boolean {
  return new ReferenceIndex(parsePython(output).rootNode).of(name).length > 0 || stillDefined(output, name);
}

/** Run a command function, returning what it printed on stdout and its exit code. */
async function captureStdout(fn: () => Promise<number>): Promise<{ out: string; code: number }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await fn();
    return { out, code };
  } finally {
    process.stdout.write = write;
  }
}

afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('python fixtures, hardened-agent-base profile (seed 001)', () => {
  it('has at least 8 realistic cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const r = await migrate(c);
      const spec = c.spec;
      const ex = spec.expect ?? {};
      if (ex.error_contains) {
        expect(r.agent, `${c.rel} must be refused`).toBeUndefined();
        expect(r.error ?? '').toContain(ex.error_contains);
        expect(r.error ?? '').toContain(c.rel);
        if (ex.error_line) expect(r.error ?? '').toContain(`${c.rel}:${ex.error_line}`);
        expect(existsSync(c.expectedFile)).toBe(false);
        return;
      }
      expect(r.agent?.class, `${c.rel}: agent class`).toBe(spec.scan?.class);
      expect(r.agent?.status).toBe(spec.scan?.status);
      expect(r.error ?? null).toBeNull();
      const output = r.outcome!.output!;
      if (update) writeFileSync(c.expectedFile, output);
      expect(output).toBe(readFileSync(c.expectedFile, 'utf8'));
      expect(firstSyntaxError(parsePython(output))).toBeNull();
      const again = await pythonAdapter.rewrite({
        root: r.root,
        file: path.join(r.root, c.rel),
        source: output,
        agent: { ...r.agent!, status: 'legacy' },
        profile,
      });
      expect(again.error ?? null).toBeNull();
      expect(again.output, 'idempotent').toBe(output);
      toCompile.push({ name: `${c.name}/expected.py`, text: output });
      for (const name of ex.removed ?? []) {
        expect(stillDefined(output, name, spec.scan?.class), `${name} must be removed`).toBe(false);
        expect(r.outcome!.removed.some((s) => s === name || s.startsWith(`${name} `)), `${name} must be listed as removed`).toBe(true);
      }
      for (const name of ex.kept ?? []) expect(stillMentioned(output, name), `${name} must be kept`).toBe(true);
      const reported = r.outcome!.kept_for_review.map((k) => k.symbol);
      if (ex.kept_for_review) {
        if (ex.kept_for_review.length === 0) expect(r.outcome!.kept_for_review).toEqual([]);
        for (const name of ex.kept_for_review) expect(reported, `${name} must be reported for review`).toContain(name);
        for (const k of r.outcome!.kept_for_review) {
          expect(k.line).toBeGreaterThan(0);
          expect(k.reason.length).toBeGreaterThan(10);
        }
      }
      for (const s of ex.output_contains ?? []) expect(output).toContain(s);
      for (const s of ex.output_lacks ?? []) expect(output).not.toContain(s);
      for (const w of ex.warnings_contain ?? []) expect(r.outcome!.warnings.join('\n')).toContain(w);
      for (const name of ex.not_for_review ?? []) expect(reported, `${name} must not be reported`).not.toContain(name);
      for (const w of ex.review_reason_contains ?? []) expect(r.outcome!.kept_for_review.map((k) => k.reason).join('\n')).toContain(w);
    });
  }

  it('every output byte-compiles (one python3 process for the suite)', async () => {
    const errors = await pyCompileAll(toCompile);
    expect(errors.filter(Boolean)).toEqual([]);
  });

  it('on the seed-000 fixture corpus (fixtures/python) it never crashes, dangles or writes what does not parse or repeat', async () => {
    const corpus = path.resolve(import.meta.dirname, '../fixtures/python');
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-hx-corpus-'));
    roots.push(root);
    cpSync(RUNTIME_BASE, path.join(root, 'amoskys'), { recursive: true });
    const names = readdirSync(corpus, { withFileTypes: true })
      // huge-agent only measures speed (it has its own fixture test); the rest are shapes.
      .filter((d) => d.isDirectory() && !d.name.startsWith('_') && d.name !== 'huge-agent' && existsSync(path.join(corpus, d.name, 'input.py')))
      .map((d) => d.name);
    for (const n of names) {
      mkdirSync(path.join(root, 'agents'), { recursive: true });
      writeFileSync(path.join(root, 'agents', `${n.replace(/-/g, '_')}.py`), readFileSync(path.join(corpus, n, 'input.py')));
    }
    const scan = await scanRepository(root, profile);
    const legacy = scan.agents.filter((a) => a.status === 'legacy');
    expect(legacy.length).toBeGreaterThan(20);
    let changed = 0;
    const outputs: Array<{ name: string; text: string }> = [];
    for (const agent of legacy) {
      const file = path.join(root, agent.file);
      const source = decodePythonSource(readFileSync(file), agent.file);
      const o = await pythonAdapter.rewrite({ root, file, source, agent, profile });
      if (o.status === 'failed') {
        // Refusals are one clear line naming the file; never a crash of the engine.
        expect(o.error ?? '', agent.file).toContain(agent.file);
        expect(o.error ?? '', agent.file).not.toMatch(/TypeError|undefined|internal edit conflict|still referenced/);
        continue;
      }
      changed++;
      expect(firstSyntaxError(parsePython(o.output!)), agent.file).toBeNull();
      const again = await pythonAdapter.rewrite({ root, file, source: o.output!, agent, profile });
      expect(again.output, `${agent.file} idempotent`).toBe(o.output);
      outputs.push({ name: `corpus/${agent.file}`, text: o.output! });
    }
    expect(changed).toBeGreaterThan(20);
    expect((await pyCompileAll(outputs)).filter(Boolean)).toEqual([]);
  }, 60_000);

  it('the base-agent profile leaves the seed-001 concerns alone (its remove list does not name them)', () => {
    const base = loadProfile('base-agent');
    for (const concern of ['publish', 'queue', 'retry', 'collect_loop', 'old_base']) expect(base.python!.remove).not.toContain(concern);
    expect(profile.python!.remove).toEqual(expect.arrayContaining(['publish', 'queue', 'collect_loop', 'old_base']));
  });

  it('an agent already on HardenedAgentBase is migrated under its profile and skipped (naming it) under base-agent', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-hx-other-profile-'));
    roots.push(root);
    cpSync(RUNTIME_BASE, path.join(root, 'amoskys'), { recursive: true });
    cpSync(SUPPORT, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
    mkdirSync(path.join(root, 'agents'), { recursive: true });
    cpSync(path.join(FIXTURES, '_other-profile', 'memory_pressure_agent.py'), path.join(root, 'agents', 'memory_pressure_agent.py'));
    const rel = 'agents/memory_pressure_agent.py';
    const hardened = await scanRepository(root, profile);
    expect(hardened.agents.find((a) => a.file === rel)).toMatchObject({ class: 'MemoryPressureAgent', status: 'migrated' });
    const base = await scanRepository(root, loadProfile('base-agent'));
    expect(base.agents.find((a) => a.file === rel), 'not a legacy BaseAgent agent').toBeUndefined();
    expect(base.skipped.find((s) => s.file === rel)?.reason).toBe(
      'MemoryPressureAgent (line 50) is already on HardenedAgentBase, the base of profile hardened-agent-base (use --profile hardened-agent-base)',
    );
  });

  // Seed 001's Phase 5 for every fixture that ends `migrated`: `migrate run` writes the _v2, then
  // `migrate validate` runs it with the reference HardenedAgentBase against the fake EventBus
  // on loopback: health, registry, metrics, events reach the bus, bus down -> queued locally,
  // bus back -> the queue drains, SIGTERM ends it cleanly, no new ERROR lines.
  for (const c of cases.filter((k) => !k.spec.expect?.error_contains)) {
    it(`${c.name}: Phase 5 at run time (migrated fixtures only)`, async () => {
      const root = materialize(c);
      const ran = await captureStdout(() =>
        runCommand([c.rel], { root, profile: 'hardened-agent-base', validate: false, commit: false, runInBand: true, allowDirty: true, json: true }),
      );
      const result = JSON.parse(ran.out).results[0];
      if (result.status !== 'migrated') {
        // A human finishes it first; nothing to run. Such a fixture must not claim a runtime.
        expect(c.spec.runtime, `${c.name} is ${result.status}: it cannot have a runtime section`).toBeUndefined();
        return;
      }
      expect(c.spec.runtime, `${c.name} ends migrated: its case.yaml must say how it runs (runtime:)`).toBeDefined();
      expect(result, ran.out).toMatchObject({ status: 'migrated', error: null, kept_for_review: [] });
      expect(readFileSync(path.join(root, c.rel.replace(/\.py$/, '_v2.py')), 'utf8')).toBe(readFileSync(c.expectedFile, 'utf8'));
      const rt = c.spec.runtime!;
      const at = (v: string) => v.replaceAll('{root}', root);
      for (const [rel, text] of Object.entries(rt.files ?? {})) {
        mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        writeFileSync(path.join(root, rel), text);
      }
      if (rt.certs) {
        mkdirSync(path.join(root, 'certs'), { recursive: true });
        for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
      }
      const env = Object.fromEntries(Object.entries(rt.env ?? {}).map(([k, v]) => [k, at(String(v))]));
      const saved = { ...process.env };
      Object.assign(process.env, env);
      // An agent that reports changes only (FIM) gets one to report while it runs.
      const touchLine = () => (rt.touch_line ?? 'changed {now}').replaceAll('{now}', String(Date.now())) + '\n';
    const touch = rt.touch ? setInterval(() => appendFileSync(at(rt.touch!), touchLine()), 300) : undefined;
      // On a quiet machine no process may start in the bus-down window: the agent would have nothing to queue.
      const spawner = rt.spawn ? setInterval(() => spawn('sleep', ['0.2'], { stdio: 'ignore' }).on('error', () => undefined), 300) : undefined;
      let out: string;
      let code: number;
      try {
        ({ out, code } = await captureStdout(() => validateCommand([c.rel], { root, profile: 'hardened-agent-base', json: true, registryDeadline: 15 })));
      } finally {
        if (touch) clearInterval(touch);
        if (spawner) clearInterval(spawner);
        for (const k of Object.keys(env)) {
          if (saved[k] === undefined) delete process.env[k];
          else process.env[k] = saved[k];
        }
      }
      const report = JSON.parse(out).results[0];
      expect(report.output).toBe(c.rel.replace(/\.py$/, '_v2.py'));
      expect(report.validation.checks.map((k: { name: string; ok: boolean }) => `${k.name}:${k.ok}`), JSON.stringify(report.validation.checks)).toEqual([
        'health:true', 'registry:true', 'metrics:true', 'eventbus:true', 'shutdown:true', 'log:true',
      ]);
      expect(report.validation.checks.some((k: { skipped?: boolean }) => k.skipped)).toBe(false);
      expect(code).toBe(0);
      for (const [rel, needle] of Object.entries(rt.afterwards ?? {})) expect(readFileSync(path.join(root, rel), 'utf8')).toContain(at(needle));
    }, 120_000);
  }
});

describe('reference HardenedAgentBase (templates/runtime/python/amoskys)', () => {
  it('is what `migrate init --profile hardened-agent-base` installs, with its package __init__ files', () => {
    const plan = planInit(os.tmpdir(), 'python', 'hardened-agent-base');
    expect(plan.target).toBe('amoskys/agents/common/base.py');
    expect(plan.packageInits).toEqual(['amoskys/__init__.py', 'amoskys/agents/__init__.py', 'amoskys/agents/common/__init__.py']);
    expect(readFileSync(plan.template, 'utf8')).toBe(readFileSync(path.join(RUNTIME_BASE, 'agents', 'common', 'base.py'), 'utf8'));
    for (const init of plan.packageInits) expect(existsSync(path.join(path.dirname(RUNTIME_BASE), init)), init).toBe(true);
    // LocalQueueAdapter goes beside it: migrated agents import it from there.
    expect(plan.companions?.map((c) => c.target)).toEqual(['amoskys/agents/common/queue_adapter.py']);
    expect(existsSync(plan.companions![0]!.template)).toBe(true);
  });

  it('LocalQueueAdapter drives a keyed sqlite-style queue, a deque and a queue.Queue as the base\'s local_queue, keeping order and what a failed drain did not send', () => {
    const script = String.raw`
import collections, json, queue
from amoskys.agents.common.queue_adapter import LocalQueueAdapter

class Keyed:
    """The fleet's LocalQueue interface: enqueue(item, key), drain(fn, limit) with fn(item) -> ack."""
    def __init__(self):
        self.rows = []
    def enqueue(self, item, idempotency_key):
        self.rows.append((idempotency_key, item))
        return True
    def drain(self, fn, limit=100):
        n = 0
        while self.rows and n < limit:
            if fn(self.rows[0][1]).status != 0:
                break
            self.rows.pop(0)
            n += 1
        return n
    def size(self):
        return len(self.rows)

out = {}
for name, q in [("keyed", Keyed()), ("deque", collections.deque()), ("queue", queue.Queue())]:
    a = LocalQueueAdapter(q, agent_name="t")
    a.enqueue([1, 2, 3])
    sent = []
    def flaky(events):
        if events[0] == 2 and not sent.count("failed"):
            sent.append("failed")
            raise ConnectionError("bus down")
        sent.extend(events)
    try:
        a.drain(flaky)
    except ConnectionError:
        pass
    left = a.size()
    drained = a.drain(flaky)
    out[name] = dict(sent=[x for x in sent if x != "failed"], left_after_failure=left, drained=drained, size=a.size())
out["keys"] = [k.split(":")[0] for k, _ in Keyed().rows] or "n/a"
print(json.dumps(out))
`;
    const r = JSON.parse(
      execFileSync('python3', ['-c', script], {
        env: { ...process.env, PYTHONPATH: path.dirname(RUNTIME_BASE), PYTHONDONTWRITEBYTECODE: '1' },
        encoding: 'utf8',
        timeout: 20_000,
      }).trim(),
    );
    for (const kind of ['keyed', 'deque', 'queue']) {
      expect(r[kind], kind).toEqual({ sent: [1, 2, 3], left_after_failure: 2, drained: 2, size: 0 });
    }
  });

  it('runs the hooks, rejects invalid events, retries, queues, opens the circuit, drains, and reports health', () => {
    const script = String.raw`
import json, threading
from amoskys.agents.common.base import HardenedAgentBase, ValidationResult, CircuitBreakerOpen

class Bus:
    def __init__(self):
        self.up = False
        self.got = []
        self.calls = 0
    def publish(self, events):
        self.calls += 1
        if not self.up:
            raise ConnectionError("bus down")
        self.got.extend(events)

class Agent(HardenedAgentBase):
    retry_backoff_s = 0.001
    def __init__(self, bus):
        super().__init__(agent_name="t", collection_interval=0.01, eventbus_publisher=bus)
        self.n = 0
        self.closed = False
    def collect_data(self):
        self.n += 1
        return [{"seq": self.n}, {"seq": -1}]
    def validate_event(self, event):
        return ValidationResult(is_valid=event["seq"] > 0, errors=["negative seq"])
    def enrich_event(self, event):
        event["host"] = "h"
        return event
    def shutdown(self):
        self.closed = True

bus = Bus()
a = Agent(bus)
a.run_cycle()                       # 3 failed attempts, then the event is queued
first = dict(queued=a.local_queue.size(), calls=bus.calls, state=a.circuit_breaker.state)
a.run_cycle()                       # 2 more failures open the circuit; no third call
opened = dict(state=a.circuit_breaker.state, calls=bus.calls, status=a.health_summary()["status"])
try:
    a._publish_with_circuit_breaker([{"x": 1}])
    blocked = False
except CircuitBreakerOpen:
    blocked = True
bus.up = True
a.circuit_breaker.recovery_timeout = 0
a.run_cycle()                       # half-open: the drain publishes the backlog, then this cycle's event
h = a.health_summary()
print(json.dumps(dict(first=first, opened=opened, blocked=blocked, got=[e["seq"] for e in bus.got],
                      hosts=sorted({e["host"] for e in bus.got}), queued=a.local_queue.size(),
                      state=a.circuit_breaker.state, rejected=h["events_rejected"], published=h["events_published"],
                      status=h["status"])))
`;
    const out = execFileSync('python3', ['-c', script], {
      env: { ...process.env, PYTHONPATH: path.dirname(RUNTIME_BASE), PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.first).toEqual({ queued: 1, calls: 3, state: 'CLOSED' });
    expect(r.opened).toEqual({ state: 'OPEN', calls: 5, status: 'degraded' });
    expect(r.blocked).toBe(true);
    expect(r.got).toEqual([1, 2, 3]);
    expect(r.hosts).toEqual(['h']);
    expect(r).toMatchObject({ queued: 0, state: 'CLOSED', rejected: 3, published: 3, status: 'healthy' });
  });

  it('SIGTERM ends run_forever() with exit 0 and runs shutdown(), even when the agent overrides stop()', async () => {
    const script = [
      'from amoskys.agents.common.base import HardenedAgentBase',
      'class A(HardenedAgentBase):',
      '    def stop(self):',
      '        print("legacy stop", flush=True)',
      '    def shutdown(self):',
      '        print("shutdown hook", flush=True)',
      'A(agent_name="a", collection_interval=0.05).run_forever()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], {
      env: { ...process.env, PYTHONPATH: path.dirname(RUNTIME_BASE), PYTHONDONTWRITEBYTECODE: '1', HEALTH_CHECK_PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 10_000;
      while (!err.includes('running every') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(err).toContain('running every');
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(out).toContain('shutdown hook');
      expect(out).not.toContain('legacy stop');
      expect(err).toContain('received SIGTERM');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 20_000);
});
