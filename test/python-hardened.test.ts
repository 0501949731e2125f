// The seed-001 fixture suite for the hardened-agent-base profile: every case in
// fixtures/python-hardened/ is scanned and rewritten against the reference
// HardenedAgentBase (templates/runtime/python/amoskys, copied into each temporary
// repository); the output equals expected.py byte for byte, parses, byte-compiles, is a
// fixed point, passes the verify step `migrate run` applies before it writes, and meets the
// case's semantic expectations. Each migrated fixture is then
// validated for real with `migrate validate --profile hardened-agent-base` (Phase 5) in
// test/python-hardened-runtime-{1,2,3}.test.ts, a third of the cases each.
// UPDATE_FIXTURES=1 writes expected.py from the current output (review the diff!).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../src/profile/profile.js';
import { pythonAdapter } from '../src/lang/python/adapter.js';
import { parsePython, firstSyntaxError, decodePythonSource } from '../src/lang/python/parser.js';
import { pyCompileAll } from '../src/lang/python/py-compile.js';
import { scanRepository } from '../src/discover/scan.js';
import { cliRefusals, verifyRequestAsCli } from './helpers/cli-verify.js';
import { reviewLineMisses } from './helpers/review-lines.js';
import type { VerifyRequest } from '../src/pipeline/language.js';
import { planInit } from '../src/commands/init.js';
import { cases, endsMigrated, FIXTURES, removeRoots, roots, RUNTIME_BASE, SUPPORT, update } from './helpers/python-hardened.js';
import { migrate, profile, parsedOutput, stillDefined, stillMentioned } from './helpers/python-hardened-rewrite.js';
import { exitedWithOutput } from './helpers/exited.js';

const toVerify: Array<{ name: string; req: VerifyRequest }> = [];

afterAll(removeRoots);

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
      if (ex.rewrite_error_contains) {
        // Refused by the rewrite itself or, as `migrate run` does next, by its verify step.
        const refused = r.outcome?.status === 'failed' ? r.error ?? '' : await cliRefusals([{ name: c.name, req: verifyRequestAsCli(r.root, c.rel, { ...r.agent!, status: 'legacy' }, profile, r.outcome!) }]);
        expect(refused).toContain(ex.rewrite_error_contains);
        expect(existsSync(c.expectedFile)).toBe(false);
        return;
      }
      expect(r.error ?? null).toBeNull();
      const output = r.outcome!.output!;
      if (update) writeFileSync(c.expectedFile, output);
      expect(output).toBe(readFileSync(c.expectedFile, 'utf8'));
      expect(firstSyntaxError(parsedOutput(output).tree)).toBeNull();
      // What `migrate run` checks before it writes: idempotent, and no method that ran in the original left uncalled.
      // (Not for a rewrite that refused its own output: `migrate run` sets that aside before verify.)
      if (!r.outcome!.unstartable?.because) expect(r.outcome!.idempotency ?? null, 'migrate run would refuse this output').toBeNull();
      // `migrate run` ends it migrated (no review item, startable; the verify step is the test after the
      // cases) exactly when case.yaml says how it runs: Phase 5 (python-hardened-runtime-*) validates
      // those, from expected.py. One that a human finishes first has nothing to run.
      if (r.agent!.status === 'legacy' && endsMigrated(r.outcome!)) expect(spec.runtime, `${c.name} ends migrated: its case.yaml must say how it runs (runtime:)`).toBeDefined();
      else expect(spec.runtime, `${c.name} does not end migrated: it cannot have a runtime section`).toBeUndefined();
      // A rewrite that refused its own output (unstartable.because) is set aside before verify, as `migrate run` does.
      if (!r.outcome!.unstartable?.because) toVerify.push({ name: `${c.name}/expected.py`, req: verifyRequestAsCli(r.root, c.rel, { ...r.agent!, status: 'legacy' }, profile, r.outcome!) });
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
      for (const w of ex.warnings_absent ?? []) expect(r.outcome!.warnings.join('\n')).not.toContain(w);
      for (const name of ex.not_for_review ?? []) expect(reported, `${name} must not be reported`).not.toContain(name);
      for (const w of ex.review_reason_contains ?? []) expect(r.outcome!.kept_for_review.map((k) => k.reason).join('\n')).toContain(w);
      for (const w of ex.review_reason_lacks ?? []) expect(r.outcome!.kept_for_review.map((k) => k.reason).join('\n')).not.toContain(w);
      // Each review item's quoted line holds the code it quotes (a person goes to that line).
      expect(reviewLineMisses(readFileSync(path.join(c.dir, 'input.py'), 'utf8'), c.rel, r.outcome!.kept_for_review)).toEqual([]);
    });
  }

  it("every output passes the CLI's verify step and byte-compiles (one python3 process for the suite)", async () => {
    expect(toVerify.length).toBeGreaterThan(0);
    expect(await cliRefusals(toVerify)).toBe('');
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
    // One batch, as `migrate run --all` makes it: the repository (every fixture's input, ~250
    // files) is listed and read once for all the rewrites (batch.ts's snapshot), not twice per agent.
    const snapshot = randomUUID();
    for (const agent of legacy) {
      const file = path.join(root, agent.file);
      const source = decodePythonSource(readFileSync(file), agent.file);
      const o = await pythonAdapter.rewrite({ root, file, source, agent, profile, snapshot });
      if (o.status === 'failed') {
        // Refusals are one clear line naming the file; never a crash of the engine.
        expect(o.error ?? '', agent.file).toContain(agent.file);
        expect(o.error ?? '', agent.file).not.toMatch(/TypeError|undefined|internal edit conflict|still referenced/);
        continue;
      }
      changed++;
      expect(firstSyntaxError(parsePython(o.output!)), agent.file).toBeNull();
      const again = await pythonAdapter.rewrite({ root, file, source: o.output!, agent, profile, snapshot });
      expect(again.output, `${agent.file} idempotent`).toBe(o.output);
      outputs.push({ name: `corpus/${agent.file}`, text: o.output! });
    }
    expect(changed).toBeGreaterThan(20);
    expect((await pyCompileAll(outputs)).filter(Boolean)).toEqual([]);
    // Two rewrites of every seed-000 fixture (~130 and growing): ~26 s quiet, past 60 s at load 17+.
  }, 240_000);

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
    const exit = exitedWithOutput(child);
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
