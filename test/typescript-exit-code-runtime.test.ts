// An exit code the agent sets in code the rewrite keeps must survive the base's stop path, at run
// time: the exit-code-set-by-quarantined-batch fixture (its legacy file and its _v2 on the
// reference base) is started for real with a spool holding one batch the archive refuses (the
// archive URL is a closed loopback port, one attempt allowed): the batch is quarantined, the
// business code sets process.exitCode = 1, and after SIGTERM the process must end with 1, as the
// legacy one does through its handler's process.exit(). Without a batch both end with 0. Before
// the base's exit kept process.exitCode, the _v2 ended with 0 after the quarantine.
// Then a removed handler's own failure exit (`.catch((err) => { console.error(...); process.exit(1) })`
// around the shutdown it called): the signal-loop-stop-failure-exit-code _v2, whose shutdown()
// cannot write its spool (a directory that does not exist), must log the handler's line and end
// with 1 after SIGTERM, and with 0 when the spool is writable. Before, onStop() let the failure
// reach the base, which logged a WARNING and exited 0.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { exitedWithOutput } from './helpers/exited.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureDir = (name: string) => path.join(here, '..', 'fixtures', 'typescript', name);
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(name = 'exit-code-set-by-quarantined-batch', agent = 'jobs/export-shipper.ts'): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-exit-code-'));
  roots.push(root);
  mkdirSync(path.join(root, path.dirname(agent)), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(fixtureDir(name), 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, agent.replace(/\.ts$/, '_v2.ts')), readFileSync(path.join(fixtureDir(name), 'expected.ts'), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start `file`, wait for `ready` in its output, send SIGTERM, and resolve with its exit code and output. */
async function stopAfter(root: string, file: string, spool: string, ready: RegExp, extra: Record<string, string> = {}, beforeStop?: () => void): Promise<{ code: number | null; log: string }> {
  const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
  const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', HEALTH_PORT: '0', EXPORT_SPOOL: spool, ARCHIVE_URL: `http://127.0.0.1:${await closedPort()}`, SHIP_MAX_ATTEMPTS: '1', SHIP_EVERY_MS: '100', ...extra };
  for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
  const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  const exited = exitedWithOutput(child);
  try {
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !ready.test(log)) await new Promise((r) => setTimeout(r, 50));
    expect(log, log).toMatch(ready);
    // A legacy entry point logs from start() and installs its SIGTERM handler on the next line: a
    // signal sent the moment the line is read can land before it (the default action kills it).
    await new Promise((r) => setTimeout(r, 200));
    beforeStop?.();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return { code, log };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await cmd.cleanup?.();
  }
}

describe('an exit code set by kept business code survives the base\'s SIGTERM exit', () => {
  for (const [side, file] of [['legacy', 'jobs/export-shipper.ts'], ['_v2', 'jobs/export-shipper_v2.ts']] as const) {
    it(`${side}: a quarantined batch, then SIGTERM, ends with 1`, async () => {
      const root = materialize();
      const spool = path.join(root, 'spool');
      mkdirSync(spool, { recursive: true });
      writeFileSync(path.join(spool, '2026-12-03-orders.ndjson'), '{"order":1}\n');
      const { code, log } = await stopAfter(root, file, spool, /quarantined after 1 attempts/);
      expect(code, log).toBe(1);
      if (side === '_v2') expect(log).toMatch(/ExportShipper stopped/);
    }, 60_000);

    it(`${side}: no failed batch, then SIGTERM, ends with 0`, async () => {
      const root = materialize();
      const spool = path.join(root, 'spool');
      mkdirSync(spool, { recursive: true });
      const { code, log } = await stopAfter(root, file, spool, /watching .* every 100ms/);
      expect(code, log).toBe(0);
    }, 60_000);
  }
});

describe('a removed signal handler\'s failure exit is kept in onStop()', () => {
  const agent = 'services/payout_batcher.ts';
  it('_v2: a shutdown that cannot write its spool, on SIGTERM, ends with 1 after the handler\'s log line', async () => {
    const root = materialize('signal-loop-stop-failure-exit-code', agent);
    const { code, log } = await stopAfter(root, agent.replace(/\.ts$/, '_v2.ts'), root, /PayoutBatcher running/, { PAYOUT_SPOOL: path.join(root, 'no-such-dir', 'spool.json') });
    expect(code, log).toBe(1);
    expect(log).toMatch(/\[payouts\] shutdown failed, spool may be stale/);
    expect(log).toMatch(/PayoutBatcher stopped/);
  }, 60_000);

  it('_v2: a shutdown that spools, on SIGTERM, ends with 0', async () => {
    const root = materialize('signal-loop-stop-failure-exit-code', agent);
    const { code, log } = await stopAfter(root, agent.replace(/\.ts$/, '_v2.ts'), root, /PayoutBatcher running/, { PAYOUT_SPOOL: path.join(root, 'spool.json') });
    expect(code, log).toBe(0);
    expect(log).toMatch(/\[payouts\] spooled 0 payouts/);
  }, 60_000);
});

// A removed SIGTERM handler whose last statement exits with a code computed from the agent's state
// (`process.exit(this.failed ? 1 : 0)` after the last rollup): the ctor-health-server-state-exit-code
// _v2's onStop() ends with process.exitCode = that expression. With a rollup file it cannot write,
// the last rollup fails and both the legacy file and the _v2 end with 1 (the _v2 ended with 0
// before: the exit went with the handler); with a writable one, both end with 0.
describe('a removed signal handler\'s exit code computed from state is kept in onStop()', () => {
  const agent = 'services/metrics_aggregator.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a rollup that cannot be written, then SIGTERM, ends with 1`, async () => {
      const root = materialize('ctor-health-server-state-exit-code', agent);
      const { code, log } = await stopAfter(root, file, root, /aggregator ingesting on/, { AGG_PORT: '0', AGG_HEALTH_PORT: '0', AGG_ROLLUP: path.join(root, 'no-such-dir', 'rollup.jsonl') });
      expect(code, log).toBe(1);
      expect(log).toMatch(/rollup write failed/);
      expect(log).toMatch(/aggregator stopped after \d+ windows/);
    }, 60_000);

    it(`${side}: a rollup written, then SIGTERM, ends with 0`, async () => {
      const root = materialize('ctor-health-server-state-exit-code', agent);
      const { code, log } = await stopAfter(root, file, root, /aggregator ingesting on/, { AGG_PORT: '0', AGG_HEALTH_PORT: '0', AGG_ROLLUP: path.join(root, 'rollup.jsonl') });
      expect(code, log).toBe(0);
      expect(readFileSync(path.join(root, 'rollup.jsonl'), 'utf8')).toMatch(/"window":0/);
    }, 60_000);
  }
});

// The agent's own async stop(), renamed to the base's onStop() hook itself, whose failure the
// removed SIGTERM handler turned into exit 1 after a log line (`.catch((err) => { console.error(...);
// process.exit(1); })`): the stop-renamed-onstop-failure-exit-review _v2 runs the renamed body in a
// try whose catch logs that line and sets process.exitCode = 1. With a ledger file it cannot
// append to, the final flush fails and both the legacy file and the _v2 end with 1 (the _v2 ended
// with 0 before: the base logged the failing onStop() as a WARNING); with a writable one both end
// with 0 and the stop marker is flushed.
describe('a renamed stop()\'s failure exit is kept in its own onStop() body', () => {
  const agent = 'services/ledger_flusher.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a ledger that cannot be appended to, then SIGTERM, ends with 1 after the handler's log line`, async () => {
      const root = materialize('stop-renamed-onstop-failure-exit-review', agent);
      const { code, log } = await stopAfter(root, file, root, /ledger flusher: flushing to/, { LEDGER_HEALTH_PORT: '0', LEDGER_FILE: path.join(root, 'no-such-dir', 'ledger.log') });
      expect(code, log).toBe(1);
      expect(log).toMatch(/ledger flush on stop failed/);
      if (side === '_v2') expect(log).toMatch(/LedgerFlusher stopped/);
    }, 60_000);

    it(`${side}: a writable ledger, then SIGTERM, ends with 0 and the stop marker flushed`, async () => {
      const root = materialize('stop-renamed-onstop-failure-exit-review', agent);
      const { code, log } = await stopAfter(root, file, root, /ledger flusher: flushing to/, { LEDGER_HEALTH_PORT: '0', LEDGER_FILE: path.join(root, 'ledger.log') });
      expect(code, log).toBe(0);
      expect(log).toMatch(/ledger flusher stopped/);
      expect(readFileSync(path.join(root, 'ledger.log'), 'utf8')).toMatch(/--- stop ---/);
    }, 60_000);
  }
});

// A server closed with a callback in the stop() that became onStop() (`this.api?.close(() => {
// writeFileSync(journal, ...); console.log('scheduler stopped ...'); })`): the legacy process lived
// until the server had closed, so a request in flight at SIGTERM was answered and the journal was
// written after it. The stop-close-callback-final-flush _v2 awaits the server's 'close' in
// onStop(): a POST /jobs whose body is still arriving at SIGTERM is answered, and the journal
// (holding that job) and the callback's log line are written, legacy and _v2 alike. Before, the
// base exited as soon as onStop() returned: no answer, no journal, no log line.
describe('a kept server\'s close() callback runs before the base exits', () => {
  const agent = 'services/job_scheduler.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a request in flight at SIGTERM is answered, then the journal is written`, async () => {
      const root = materialize('stop-close-callback-final-flush', agent);
      const journal = path.join(root, 'journal.json');
      const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
      const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', SCHED_API_PORT: '0', SCHED_HEALTH_PORT: '0', SCHED_JOURNAL: journal };
      for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
      const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (c) => (log += String(c)));
      child.stderr.on('data', (c) => (log += String(c)));
      const exited = exitedWithOutput(child);
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      try {
        const end = Date.now() + 20_000;
        while (Date.now() < end && child.exitCode === null && !/jobs on :\d+/.test(log)) await sleep(50);
        const port = Number(/jobs on :(\d+)/.exec(log)?.[1]);
        expect(port, log).toBeGreaterThan(0);
        // A job whose body is half sent when SIGTERM arrives.
        const body = '{"delayMs":60000}';
        const sock = net.connect(port, '127.0.0.1');
        let answer = '';
        sock.on('data', (c) => (answer += String(c)));
        sock.on('error', () => {});
        await new Promise((r) => sock.once('connect', r));
        sock.write(`POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`);
        await sleep(300);
        child.kill('SIGTERM');
        await sleep(700);
        sock.write(body.slice(5));
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        sock.destroy();
        expect(code, log).toBe(0);
        expect(answer, log).toMatch(/^HTTP\/1\.1 202/);
        expect(log).toMatch(/scheduler stopped: 0 jobs ran, 1 pending/);
        expect(JSON.parse(readFileSync(journal, 'utf8')).pending).toHaveLength(1);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await cmd.cleanup?.();
      }
    }, 60_000);
  }
});

// tsleft51-session-snapshot-stop-throws-exits: the entry's SIGTERM handler awaits stop() and exits
// 0, nothing catching; a snapshot that cannot be written rejects it, and Node prints the error and
// exits 1. The _v2's renamed onStop() runs its body in a try whose catch prints the error and sets
// process.exitCode = 1: both end with 1 (the _v2 ended with 0 before: the base logged the failing
// onStop() as a WARNING). With a writable snapshot path both end with 0 and write the snapshot.
describe('tsleft51: a stop() failing uncaught in the entry\'s SIGTERM handler still ends with 1', () => {
  const agent = 'services/session-cache.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a snapshot that cannot be written, then SIGTERM, ends with 1 and the error`, async () => {
      const root = materialize('tsleft51-session-snapshot-stop-throws-exits', agent);
      const { code, log } = await stopAfter(root, file, root, /session cache up with 1 sessions/, { SESSION_HEALTH_PORT: '0', SESSION_SNAPSHOT: path.join(root, 'no-such-dir', 'snapshot.json') });
      expect(code, log).toBe(1);
      expect(log).toMatch(/ENOENT: no such file or directory, open '.*no-such-dir\/snapshot\.json'/);
      if (side === '_v2') expect(log).toMatch(/SessionCache stopped/);
    }, 60_000);

    it(`${side}: a writable snapshot, then SIGTERM, ends with 0 and writes it`, async () => {
      const root = materialize('tsleft51-session-snapshot-stop-throws-exits', agent);
      const snapshot = path.join(root, 'snapshot.json');
      const { code, log } = await stopAfter(root, file, root, /session cache up with 1 sessions/, { SESSION_HEALTH_PORT: '0', SESSION_SNAPSHOT: snapshot });
      expect(code, log).toBe(0);
      expect(JSON.parse(readFileSync(snapshot, 'utf8'))[0][0]).toBe('boot');
    }, 60_000);
  }
});

// tsleft51-reconciler-stop-resolves-exit-code: `process.exit(await reconciler.stop())`, stop()
// resolving to 3 when settlements are left unmatched. The _v2's renamed onStop() sets
// process.exitCode to what it returned: with one settlement carried over and no ledger, both end
// with 3 and write the carry file (the _v2 ended with 0 before); with none, both end with 0.
// tsleft52-drain-exit-code-agent-needs-review: the same with `process.exit(await reconciler.drain())`,
// drain() kept (no stop by name) and called from the written onStop(), in an agent that ends
// needs-review (its SIGHUP reload keeps the matcher timer): onStop() sets process.exitCode to what
// drain() resolved to (the _v2 ended with 0 before: `await this.drain();` dropped the value).
describe.each(['tsleft51-reconciler-stop-resolves-exit-code', 'tsleft52-drain-exit-code-agent-needs-review'])('the exit code stop() (or a kept drain()) resolved to is still the process\'s: %s', (fixture) => {
  const agent = 'services/settlement-reconciler.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a settlement left unmatched, then SIGTERM, ends with 3`, async () => {
      const root = materialize(fixture, agent);
      const carry = path.join(root, 'unmatched.json');
      writeFileSync(carry, JSON.stringify([{ id: 'stl-1', amountCents: 1250 }]));
      const { code, log } = await stopAfter(root, file, root, /reconciler: 1 settlements carried over/, { RECON_HEALTH_PORT: '0', RECON_CARRY_FILE: carry });
      expect(code, log).toBe(3);
      expect(log).toMatch(/1 settlements left unmatched/);
      if (side === '_v2') expect(log).toMatch(/SettlementReconciler stopped/);
    }, 60_000);

    it(`${side}: everything reconciled, then SIGTERM, ends with 0`, async () => {
      const root = materialize(fixture, agent);
      const { code, log } = await stopAfter(root, file, root, /reconciler: 0 settlements carried over/, { RECON_HEALTH_PORT: '0', RECON_CARRY_FILE: path.join(root, 'unmatched.json') });
      expect(code, log).toBe(0);
    }, 60_000);
  }
});

// tsleft52-ledger-stop-exit-code-on-sigterm: a non-async stop() that ends the process itself,
// process.exit(this.failed > 0 ? 3 : 0), renamed the base's onStop() with that exit made
// process.exitCode. A row in the outbox and an export directory that does not exist: on SIGTERM
// both end with 3 after the summary line; with a directory to export into, both end with 0.
// tsleft52-sync-dispose-stops-on-sigterm: the same exporter stopped by `exporter[Symbol.dispose]();
// process.exit(0);` in its SIGTERM handler: the dispose's body is onStop() and the handler goes; both
// log the summary and end with 0 whether the row could be exported or not.
describe.each([
  ['tsleft52-ledger-stop-exit-code-on-sigterm', 3],
  ['tsleft52-sync-dispose-stops-on-sigterm', 0],
] as const)('tsleft52: a non-async stop\'s summary and exit code on SIGTERM: %s', (fixture, failedCode) => {
  const agent = 'services/ledger-exporter.ts';
  const outbox = (root: string) => {
    mkdirSync(path.join(root, 'outbox'), { recursive: true });
    writeFileSync(path.join(root, 'outbox', 'row-1.json'), '{"id":"row-1","cents":1250}\n');
    return path.join(root, 'outbox');
  };
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: a row that cannot be exported, then SIGTERM, ends with ${failedCode}`, async () => {
      const root = materialize(fixture, agent);
      const { code, log } = await stopAfter(root, file, root, /ledger exporter: .* every/, { LEDGER_HEALTH_PORT: '0', LEDGER_OUTBOX: outbox(root), LEDGER_EXPORT_DIR: path.join(root, 'no-such-dir') });
      expect(code, log).toBe(failedCode);
      expect(log).toMatch(/ledger exporter stopped: 0 exported, [1-9]\d* failed/);
    }, 60_000);

    it(`${side}: the row exported, then SIGTERM, ends with 0`, async () => {
      const root = materialize(fixture, agent);
      mkdirSync(path.join(root, 'export'));
      const { code, log } = await stopAfter(root, file, root, /ledger exporter: .* every/, { LEDGER_HEALTH_PORT: '0', LEDGER_OUTBOX: outbox(root), LEDGER_EXPORT_DIR: path.join(root, 'export') });
      expect(code, log).toBe(0);
      expect(log).toMatch(/ledger exporter stopped: 1 exported, 0 failed/);
    }, 60_000);
  }
});

// tsleft52-await-using-dispose-is-stop: main() holds the agent with `await using` and leaves its
// scope on SIGTERM; the legacy's [Symbol.asyncDispose]() forwards what is spooled and logs the
// summary. On the base its body is onStop() and the dispose calls the base's stop(): the base's
// SIGTERM exit and main()'s disposal reach one stop, and the summary is logged once, before exit 0.
describe('tsleft52: an `await using` agent\'s dispose runs on the base\'s stop', () => {
  const agent = 'agents/audit-forwarder.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM disposes it once: the final forward is tried and the summary logged`, async () => {
      const root = materialize('tsleft52-await-using-dispose-is-stop', agent);
      mkdirSync(path.join(root, 'spool'));
      // Spooled once it runs: the _v2's first round runs at once (the legacy's 5 s later), and this
      // batch is the one only the stop forwards.
      const spool = () => writeFileSync(path.join(root, 'spool', 'a.jsonl'), '{"user":"ops","action":"login"}\n');
      // The SIEM: takes every batch (a closed port left the legacy's fetch to chance on a busy machine), and must see it once.
      const bodies: string[] = [];
      const siem = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += String(c)));
        req.on('end', () => {
          bodies.push(body);
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => siem.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(siem.address() as net.AddressInfo).port}/ingest`;
        const { code, log } = await stopAfter(root, file, root, /audit forwarder started/, { AUDIT_HEALTH_PORT: '0', AUDIT_SPOOL_DIR: path.join(root, 'spool'), SIEM_URL: url }, spool);
        expect(code, log).toBe(0);
        expect(log.match(/audit forwarder stopped: 1 lines forwarded, 0 failed posts/g), log).toHaveLength(1);
        expect(bodies).toEqual(['{"user":"ops","action":"login"}\n']);
      } finally {
        siem.close();
      }
    }, 60_000);
  }
});

// tsleft52-loop-round-outlasts-stop-grace: onStop() awaits the compactor's own loop, whose round
// (a 4 s merge, then a 1 s pause) outlasts the base's 3 s stop grace. SIGTERM mid-merge: the legacy
// finishes the merge and logs its summary line; the _v2 is ended at the grace without it, which is
// why the rewrite leaves it for review rather than claiming the line is kept.
describe('tsleft52: a loop round that outlasts the base\'s stop grace is cut on the _v2 (review item)', () => {
  const agent = 'agents/segment-compactor.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM during a merge`, async () => {
      const root = materialize('tsleft52-loop-round-outlasts-stop-grace', agent);
      mkdirSync(path.join(root, 'segments'));
      writeFileSync(path.join(root, 'segments', '0001.seg'), 'postings\n');
      const { code, log } = await stopAfter(root, file, root, /segment compactor started/, { COMPACT_HEALTH_PORT: '0', COMPACT_SEGMENTS_DIR: path.join(root, 'segments'), COMPACT_MERGE_MS: '4000' });
      expect(code, log).toBe(0);
      if (side === 'legacy') expect(log).toMatch(/segment compactor stopped after 1 merges/);
      else expect(log).not.toMatch(/segment compactor stopped after/);
    }, 60_000);
  }
});

// reconnect-backoff-loop-outlasts-stop-grace (probe-node66): onStop() awaits the tap's consume
// loop, asleep in its reconnect back-off (a local doubling up to 30 s) while the gateway is down.
// SIGTERM during a 4 s back-off: the legacy waits it out, checkpoints and logs "stopped at seq 3";
// the _v2 is ended at the base's 3 s grace without it, which is why the rewrite now leaves it for
// review (before, the back-off was no length the tool knew and the agent was migrated silently).
describe('probe-node66: a reconnect back-off that outlasts the base\'s stop grace is cut on the _v2 (review item)', () => {
  const agent = 'agents/quote-tap.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM while the gateway is down`, async () => {
      const root = materialize('reconnect-backoff-loop-outlasts-stop-grace', agent);
      mkdirSync(path.join(root, 'state'));
      // The gateway answers one replay with three quotes, then goes away (connections refused).
      const gateway = net.createServer((sock) => {
        sock.once('data', () => {
          sock.end('EURUSD 1.0841 1.0843 1\nGBPUSD 1.2710 1.2713 2\nEURUSD 1.0842 1.0844 3\n');
          gateway.close();
        });
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      const port = (gateway.address() as net.AddressInfo).port;
      try {
        const { code, log } = await stopAfter(root, file, root, /retry in 4000 ms/, { QUOTE_TAP_HEALTH_PORT: '0', QUOTE_GATEWAY_PORT: String(port), QUOTE_TAP_CHECKPOINT: path.join(root, 'state', 'quote-tap.json') });
        expect(code, log).toBe(0);
        if (side === 'legacy') expect(log).toMatch(/quote-tap: stopped at seq 3/);
        else expect(log).not.toMatch(/quote-tap: stopped at seq/);
      } finally {
        gateway.close();
      }
    }, 60_000);
  }
});

// drain-race-field-option-default-outlasts-grace (probe-node66): close() races the renders still
// running against a timer of this.drainTimeoutMs (an option's default, 20 s), then writes its stats.
// SIGTERM during a 5 s render: the legacy lets it finish and logs "closed after 2 invoice(s)"; the
// _v2 is ended at the base's 3 s grace without it (the render cut), which the review item names.
describe('probe-node66: a drain raced against a field\'s default timer is cut on the _v2 (review item)', () => {
  const agent = 'workers/invoice-pdf-worker.ts';
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.ts$/, '_v2.ts')]] as const) {
    it(`${side}: SIGTERM during a render`, async () => {
      const root = materialize('drain-race-field-option-default-outlasts-grace', agent);
      const spool = path.join(root, 'spool');
      mkdirSync(spool);
      // Two jobs taken in one poll (concurrency 2): the short one's line says the long one is rendering.
      writeFileSync(path.join(spool, 'inv-1000.json'), JSON.stringify({ invoice: 'INV-1000', pages: 1, renderMs: 300 }));
      writeFileSync(path.join(spool, 'inv-1001.json'), JSON.stringify({ invoice: 'INV-1001', pages: 2, renderMs: 5000 }));
      const { code, log } = await stopAfter(root, file, spool, /pdf-worker: rendered INV-1000/, { INVOICE_SPOOL_DIR: spool, PDF_WORKER_HEALTH_PORT: '0' });
      expect(code, log).toBe(0);
      if (side === 'legacy') expect(log).toMatch(/pdf-worker: closed after 2 invoice\(s\), 0 still running/);
      else expect(log).not.toMatch(/pdf-worker: closed after/);
    }, 60_000);
  }
});
