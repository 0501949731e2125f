// Legacy entry points whose fatal `.catch((err) => { log(...); process.exit(1); })` ended the
// process when the agent's start failed, so the supervisor restarted it. The base only logs a
// failing onStart() and keeps running: each case starts the legacy file and its _v2 for real with
// the failure provoked, and both must log the handler's line and exit 1 on their own.
//
// tsleft47-ingest-listen-failure-exits: the business server cannot listen (EADDRINUSE, the
// previous instance still holds INGEST_PORT); before the fix the _v2 stayed up (health ok, nothing
// on /ingest) until killed.
// tsleft48-fill-stream-gives-up-exits: the reconnect loop run() awaited gives up after
// MAX_FAILURES refused connects; run() becomes onStart() with the loop detached, and before the
// fix its rejection was unhandled: Node ended the process with a stack trace, without the
// handler's line and without the base's stop() (registration left behind).
// tsleft48-fill-stream-probe-inline-loop-exits: the same with the loop inline in run() after an
// awaited probe (the gateway answers the probe, then 503s): the loop's promise is also what
// onStop() waits for, and the handler on it must not wait on its own stop().
// tsleft48-guarded-webhook-listen-failure-exits: the `.catch(...)` sits in the
// `if (require.main === module) { ... }` block; before the fix the _v2 ran on (health ok).
// tsleft48-esm-await-start-quote-cache-exits: an ES module's top-level `await cache.start()`: a
// rejection there makes Node print it and exit 1; before the fix the _v2 ran on.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir, loadProfile } from '../src/profile/profile.js';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { stopWhen } from './helpers/ts-agent-process.js';
import { fetchWhenBound, freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(fixture: string, agent: string): string {
  const dir = path.join(here, '..', 'fixtures', 'typescript', fixture);
  const ext = path.extname(agent);
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-start-failure-'));
  roots.push(root);
  mkdirSync(path.join(root, path.dirname(agent)), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(dir, `input${ext}`), 'utf8'));
  writeFileSync(path.join(root, agent.replace(/(\.[cm]?[jt]s)$/, '_v2$1')), readFileSync(path.join(dir, `expected${ext}`), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

/** Start `file` of the materialized fixture with `env` and wait (at most 15 s) for it to exit: its code and its output. */
async function runToExit(root: string, file: string, env: Record<string, string>): Promise<{ code: number | null; log: string }> {
  const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
  const full: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', ...env };
  for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete full[k];
  const child = spawn(cmd.command, cmd.args, { cwd: root, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  try {
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 15_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, log };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await cmd.cleanup?.();
  }
}

const sides = (agent: string) => [['legacy', agent], ['_v2', agent.replace(/(\.[cm]?[jt]s)$/, '_v2$1')]] as const;

describe('a business server that cannot listen ends the process, as the legacy entry point did', () => {
  const agent = 'services/telemetry-ingest.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: INGEST_PORT taken -> logs "failed to start" and exits 1 on its own`, async () => {
      const root = materialize('tsleft47-ingest-listen-failure-exits', agent);
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      try {
        const { code, log } = await runToExit(root, file, { INGEST_PORT: String((holder.address() as net.AddressInfo).port) });
        expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
        expect(log).toMatch(/telemetry-ingest failed to start: Error: listen EADDRINUSE/);
      } finally {
        holder.close();
      }
    }, 60_000);
  }
});

describe('a detached reconnect loop that gives up ends the process through the handler, as run() rejecting did', () => {
  const agent = 'agents/fill-stream-relay.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: gateway refusing -> logs "giving up" and exits 1${side === '_v2' ? ' after the base stopped' : ''}`, async () => {
      const root = materialize('tsleft48-fill-stream-gives-up-exits', agent);
      // A port nothing listens on: take one, then free it.
      const port = await freePort();
      const { code, log } = await runToExit(root, file, { FILLS_URL: `http://127.0.0.1:${port}/fills`, MAX_FAILURES: '3', HEALTH_PORT: '0' });
      expect(code, log).toBe(1);
      expect(log).toMatch(/fill-relay: giving up: fill gateway unreachable after 3 attempts/);
      // The base's stop() ran (health closed, registration withdrawn) before the exit.
      if (side === '_v2') expect(log).toMatch(/FillStreamRelay stopped/);
    }, 60_000);
  }
});

describe('a detached loop onStop() waits for, failing after an awaited probe, ends the process through the handler', () => {
  const agent = 'agents/fill-stream-relay.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: probe answered, stream 503s -> logs "giving up" and exits 1${side === '_v2' ? ' after the base stopped' : ''}`, async () => {
      const root = materialize('tsleft48-fill-stream-probe-inline-loop-exits', agent);
      let requests = 0;
      const gateway = http.createServer((_req, res) => {
        requests += 1;
        res.writeHead(requests === 1 ? 200 : 503).end();
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      try {
        const port = (gateway.address() as net.AddressInfo).port;
        const { code, log } = await runToExit(root, file, { FILLS_URL: `http://127.0.0.1:${port}/fills`, MAX_FAILURES: '3', HEALTH_PORT: '0' });
        expect(code, log).toBe(1);
        expect(log).toMatch(/fill-relay: giving up: fill gateway unreachable after 3 attempts/);
        if (side === '_v2') expect(log).toMatch(/FillStreamRelay stopped/);
      } finally {
        gateway.closeAllConnections();
        gateway.close();
      }
    }, 60_000);
  }
});

describe('a start failure reaching a guarded .catch() or a top-level await ends the process, as it did in the legacy', () => {
  const cases = [
    ['tsleft48-guarded-webhook-listen-failure-exits', 'services/webhook-relay.ts', 'WEBHOOK_PORT', /\[webhook-relay\] cannot start: listen EADDRINUSE/],
    ['tsleft48-esm-await-start-quote-cache-exits', 'services/quote-cache.ts', 'QUOTE_PORT', /Error: listen EADDRINUSE/],
  ] as const;
  for (const [fixture, agent, portVar, line] of cases) {
    for (const [side, file] of sides(agent)) {
      it(`${fixture} ${side}: ${portVar} taken -> logs the failure and exits 1 on its own`, async () => {
        const root = materialize(fixture, agent);
        const holder = net.createServer();
        await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
        try {
          const { code, log } = await runToExit(root, file, { [portVar]: String((holder.address() as net.AddressInfo).port) });
          expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
          expect(log).toMatch(line);
        } finally {
          holder.close();
        }
      }, 60_000);
    }
  }
});

// starter-elsewhere-catch-exits-webhook-relay (probe-node50): the module has no entry point; bin/relay.js
// starts it with `relay.start().catch(h)`, h logging and exiting 1. Run through that starter (for the
// _v2, the same starter requiring the _v2 module, as once promoted), RELAY_PORT taken: before the
// fix the _v2 logged "onStart failed" and ran on (health ok, nothing on /hooks) until killed.
describe('a start failure reaching the .catch() of another file that starts the agent ends the process', () => {
  const agent = 'services/webhooks/relay.js';
  const dir = path.join(here, '..', 'fixtures', 'typescript', 'starter-elsewhere-catch-exits-webhook-relay');
  for (const [side, file] of sides(agent)) {
    it(`${side}: RELAY_PORT taken -> bin/relay.js logs "cannot start" and exits 1 on its own`, async () => {
      const root = materialize('starter-elsewhere-catch-exits-webhook-relay', agent);
      mkdirSync(path.join(root, 'bin'), { recursive: true });
      const starter = readFileSync(path.join(dir, 'bin', 'relay.js'), 'utf8');
      writeFileSync(path.join(root, 'bin', 'relay.js'), starter.replace('../services/webhooks/relay', `../${file.replace(/\.js$/, '')}`));
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      try {
        const { code, log } = await runToExit(root, 'bin/relay.js', { RELAY_PORT: String((holder.address() as net.AddressInfo).port) });
        expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
        expect(log).toMatch(/relay: cannot start: listen EADDRINUSE/);
        if (side === '_v2') expect(log).toMatch(/WebhookRelay stopped/);
      } finally {
        holder.close();
      }
    }, 60_000);
  }
});

// guarded-entry-start-catch-exits-spool-worker (probe-node48): `worker.start().catch(h)` inside
// `if (require.main === module)`, start() failing because the spool directory cannot be created
// (its parent is a regular file).
describe('a start() failing before any listen, through a guarded .catch(), ends the process', () => {
  const agent = 'services/thumbnail-worker.ts';
  for (const [side, file] of sides(agent)) {
    it(`guarded-entry-start-catch-exits-spool-worker ${side}: spool dir impossible -> logs "cannot start" and exits 1`, async () => {
      const root = materialize('guarded-entry-start-catch-exits-spool-worker', agent);
      writeFileSync(path.join(root, 'not-a-dir'), '');
      const { code, log } = await runToExit(root, file, { THUMB_QUEUE_DIR: path.join(root, 'not-a-dir', 'spool'), WORKER_HEALTH_PORT: '0' });
      expect(code, `still running 15 s after start() failed:\n${log}`).toBe(1);
      expect(log).toMatch(/thumbnail-worker: cannot start: ENOTDIR/);
    }, 60_000);
  }
});

// tsleft49-void-main-price-feed-listen-unhandled: `void main();` with `await feed.start()` in main()
// and nothing catching. The port taken: the legacy's rejection is unhandled (Node prints it, exits 1);
// before the fix the _v2's onStart() failure was only logged and it ran on (health ok, no /prices).
// The port free: both serve /prices and stop on SIGTERM with 0.
describe('a start failure nothing catches (`void main();`) ends the process, as the unhandled rejection did', () => {
  const agent = 'services/price-feed.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: PRICE_FEED_PORT taken -> prints the error and exits 1 on its own`, async () => {
      const root = materialize('tsleft49-void-main-price-feed-listen-unhandled', agent);
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      try {
        const { code, log } = await runToExit(root, file, { PRICE_FEED_PORT: String((holder.address() as net.AddressInfo).port) });
        expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
        expect(log).toMatch(/Error: listen EADDRINUSE/);
        if (side === '_v2') expect(log).toMatch(/PriceFeed stopped/);
      } finally {
        holder.close();
      }
    }, 60_000);

    it(`${side}: PRICE_FEED_PORT free -> serves /prices, SIGTERM stops it with 0`, async () => {
      const root = materialize('tsleft49-void-main-price-feed-listen-unhandled', agent);
      const port = await freePort();
      // SIGTERM once /prices has answered (asked once the agent says it serves it).
      let asked = false;
      let served: number | string | null = null;
      const { code, log } = await stopWhen(root, file, { PRICE_FEED_PORT: String(port) }, (l) => {
        if (!asked && /serving \/prices on/.test(l)) {
          asked = true;
          void fetchWhenBound(`http://127.0.0.1:${port}/prices`, { headers: { connection: 'close' } }).then((r) => (served = r.status), (e) => (served = String(e)));
        }
        return served !== null;
      });
      expect(served, log).toBe(200);
      expect(code, log).toBe(0);
      expect(log).toMatch(/stopped after \d+ polls/);
    }, 60_000);
  }
});

// tsleft50-sync-start-missing-signing-key-exits: a synchronous start() called at the module's top
// level, throwing when SIGNING_KEY_FILE is unset: an uncaught exception, Node prints it and exits 1.
// Before the fix the _v2's onStart() threw into the base's start(), which only logged it and ran on
// (health ok, nothing on /sign). With the key: both sign on /sign and stop on SIGTERM with 0.
describe('a synchronous start() that throws ends the process, as the uncaught exception did', () => {
  const agent = 'services/receipt-signer.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: SIGNING_KEY_FILE unset -> prints the error and exits 1 on its own`, async () => {
      const root = materialize('tsleft50-sync-start-missing-signing-key-exits', agent);
      const { code, log } = await runToExit(root, file, { SIGNER_PORT: String(await freePort()), SIGNING_KEY_FILE: '' });
      expect(code, `still running 15 s after start() threw:\n${log}`).toBe(1);
      expect(log).toMatch(/Error: SIGNING_KEY_FILE is not set/);
      if (side === '_v2') expect(log).toMatch(/ReceiptSigner stopped/);
    }, 60_000);

    it(`${side}: key present -> signs on /sign, SIGTERM stops it with 0`, async () => {
      const root = materialize('tsleft50-sync-start-missing-signing-key-exits', agent);
      const keyFile = path.join(root, 'signing.key');
      writeFileSync(keyFile, 'a-test-signing-key-of-32-bytes!!');
      const port = await freePort();
      let asked = false;
      let signature: string | null = null;
      const { code, log } = await stopWhen(root, file, { SIGNER_PORT: String(port), SIGNING_KEY_FILE: keyFile }, (l) => {
        if (!asked && /signing receipts on/.test(l)) {
          asked = true;
          void fetchWhenBound(`http://127.0.0.1:${port}/sign`, { method: 'POST', body: 'receipt-1', headers: { connection: 'close' } })
            .then((r) => r.json() as Promise<{ signature: string }>)
            .then((b) => (signature = b.signature), (e) => (signature = String(e)));
        }
        return signature !== null;
      });
      expect(signature, log).toMatch(/^[0-9a-f]{64}$/);
      expect(code, log).toBe(0);
      expect(log).toMatch(/stopped after 1 receipts/);
    }, 60_000);
  }
});

// tsleft51-sync-main-signer-missing-key-exits: the synchronous start() is called from a synchronous
// main(), not at the top level; its throw (SIGNER_KEY_FILE unset) leaves main() and reaches Node,
// which prints it and exits 1. Before the fix the _v2's onStart() was not wrapped (only a top-level
// call was recognised) and the _v2 ran on, health ok, signing nothing. With the key both sign and
// stop on SIGTERM with 0.
describe('tsleft51: a synchronous start() throwing inside a synchronous main() ends the process', () => {
  const agent = 'services/webhook-signer.ts';
  for (const [side, file] of sides(agent)) {
    it(`${side}: SIGNER_KEY_FILE unset -> prints the error and exits 1 on its own`, async () => {
      const root = materialize('tsleft51-sync-main-signer-missing-key-exits', agent);
      const { code, log } = await runToExit(root, file, { SIGNER_PORT: String(await freePort()), SIGNER_KEY_FILE: '' });
      expect(code, `still running 15 s after start() threw:\n${log}`).toBe(1);
      expect(log).toMatch(/Error: SIGNER_KEY_FILE is not set/);
      if (side === '_v2') expect(log).toMatch(/WebhookSigner stopped/);
    }, 60_000);

    it(`${side}: key present -> signs a POSTed body, SIGTERM stops it with 0`, async () => {
      const root = materialize('tsleft51-sync-main-signer-missing-key-exits', agent);
      const keyFile = path.join(root, 'signer.key');
      writeFileSync(keyFile, 'a-test-webhook-signing-key-32-bytes!');
      const port = await freePort();
      let asked = false;
      let signature: string | null = null;
      const { code, log } = await stopWhen(root, file, { SIGNER_PORT: String(port), SIGNER_KEY_FILE: keyFile }, (l) => {
        if (!asked && /webhook signer listening on/.test(l)) {
          asked = true;
          // The agent logs this line right after listen(), before the socket is bound: a refused connection is asked again.
          void fetchWhenBound(`http://127.0.0.1:${port}/hooks/partner-1`, { method: 'POST', body: 'event-1', headers: { connection: 'close' } })
            .then((r) => r.json() as Promise<{ signature: string }>)
            .then((b) => (signature = b.signature), (e) => (signature = String(e)));
        }
        return signature !== null;
      });
      expect(signature, log).toMatch(/^[0-9a-f]{64}$/);
      expect(code, log).toBe(0);
    }, 60_000);
  }
});

// supervisor-guarded-async-main-start-fails-exits (probe-node70): `async function main() { ...; await
// sup.start(); }` called as `main().catch(h)` inside `if (require.main === module) { ... }`, start()
// failing because the TCP check port is taken. Before the fix `require.main` counted as a second use
// of main(), the handler was not found, and the _v2 logged "onStart failed" and ran on (health ok,
// no program supervised) until killed.
describe('a start failure reaching the .catch() of a guarded async main() ends the process', () => {
  const agent = 'supervisor/proc-supervisor.ts';
  const fixture = 'supervisor-guarded-async-main-start-fails-exits';
  const dir = path.join(here, '..', 'fixtures', 'typescript', fixture);
  for (const [side, file] of sides(agent)) {
    it(`${fixture} ${side}: SUPERVISOR_CHECK_PORT taken -> logs "supervisor failed" and exits 1 on its own`, async () => {
      const root = materialize(fixture, agent);
      cpSync(path.join(dir, 'lib'), path.join(root, 'lib'), { recursive: true });
      cpSync(path.join(dir, 'supervisor', 'backoff.ts'), path.join(root, 'supervisor', 'backoff.ts'));
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, resolve));
      try {
        const catalog = `http://127.0.0.1:${await freePort()}`;
        const { code, log } = await runToExit(root, file, {
          SUPERVISOR_CHECK_PORT: String((holder.address() as net.AddressInfo).port),
          SUPERVISE_JSON: JSON.stringify([{ name: 'sleeper', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'] }]),
          CATALOG_URL: catalog,
          PUSHGATEWAY_URL: catalog,
        });
        expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
        expect(log).toMatch(/supervisor failed: Error: listen EADDRINUSE/);
        if (side === '_v2') expect(log).toMatch(/ProcSupervisor stopped/);
      } finally {
        holder.close();
      }
    }, 60_000);
  }
});
