// A signal handler's fixed exit code stays (remove-signal-handlers.ts, keepFixedSignalExit): TariffSync
// (esm-top-level-config-sigint-exit-130) exits 130 on SIGINT and 0 on SIGTERM. The legacy file and
// the _v2 are started for real, each stopped once by each signal: the same exit codes, and the same
// port registered (cfg.port, handed to the base from the constructor's config). DispatchNotifier
// (sigint-expression-exit-130-kept): the same for an expression-bodied `() => process.exit(130)`,
// and the _v2's stop on SIGINT is the base's clean one (one deregistration) where the legacy left at once.
// LedgerExporter (sigint-then-exit-130-kept): the same for `() => exporter.stop().then(() => process.exit(130))`.
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { driveAgent, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const roots: string[] = [];
afterAll(() => removeRepos(roots));

/** Start `file`, wait until it printed `ready` and registered, send `signal`; its exit code and output. */
async function signalledOnceRegistered(root: string, file: string, env: Record<string, string>, registry: { registrations: unknown[] }, ready: RegExp, signal: NodeJS.Signals) {
  return driveAgent(root, file, env, [], async (child, out, exited) => {
    const end = Date.now() + 30_000;
    while (Date.now() < end && child.exitCode === null && !(ready.test(out()) && registry.registrations.length > 0)) await new Promise((r) => setTimeout(r, 50));
    expect(registry.registrations.length, out()).toBeGreaterThan(0);
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const c = await exited;
    clearTimeout(timer);
    return c;
  });
}

const FIXTURE = 'esm-top-level-config-sigint-exit-130';
const AGENT = 'services/tariff-sync.mjs';

describe('a fixed exit code of a signal handler is kept on the _v2', () => {
  for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 0]] as const) {
    for (const [side, file] of [['legacy', AGENT], ['_v2', v2(AGENT)]] as const) {
      it(`${side}: ${signal} ends it with ${expected}, the config's port registered`, async () => {
        const root = fixtureRepo(FIXTURE, AGENT, roots);
        const registry = await recordingRegistry();
        const [port, health] = [await freePort(), await freePort()];
        try {
          const env = { TARIFF_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registry.url, CONFIG_DIR: root };
          const { code, log } = await signalledOnceRegistered(root, file, env, registry, /syncing /, signal);
          expect(code, log).toBe(expected);
          expect(registry.registrations[0]!.port, log).toBe(port);
        } finally {
          registry.close();
        }
      }, 60_000);
    }
  }
});

describe('an expression-bodied signal exit keeps its code, and the _v2 stops cleanly on it', () => {
  const fixture = 'sigint-expression-exit-130-kept';
  const agent = 'agents/dispatch-notifier.ts';
  for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 0]] as const) {
    for (const [side, file] of [['legacy', agent], ['_v2', v2(agent)]] as const) {
      it(`${side}: ${signal} ends it with ${expected}`, async () => {
        const root = fixtureRepo(fixture, agent, roots);
        const registry = await recordingRegistry();
        try {
          const env = { HEALTH_CHECK_PORT: String(await freePort()), AGENT_PORT: String(await freePort()), REGISTRY_URL: registry.url, DISPATCH_SPOOL: `${root}/spool` };
          const { code, log } = await signalledOnceRegistered(root, file, env, registry, /watching /, signal);
          expect(code, log).toBe(expected);
          const deregistrations = registry.requests.filter((r) => r.path === '/deregister');
          // The legacy left at once on Ctrl-C (no deregistration); the _v2's base stops it, as on SIGTERM.
          const cleanly = side === '_v2' || signal === 'SIGTERM';
          expect(deregistrations, log).toEqual(cleanly ? [{ path: '/deregister', name: 'dispatch-notifier' }] : []);
          if (cleanly) expect(log).toMatch(/dispatch notifier stopped after 0 notices/);
        } finally {
          registry.close();
        }
      }, 60_000);
    }
  }
});

describe("a stop's .then(() => process.exit(130)) keeps its code on the _v2", () => {
  const fixture = 'sigint-then-exit-130-kept';
  const agent = 'agents/ledger-exporter.ts';
  for (const [signal, expected] of [['SIGINT', 130], ['SIGTERM', 0]] as const) {
    for (const [side, file] of [['legacy', agent], ['_v2', v2(agent)]] as const) {
      it(`${side}: ${signal} ends it with ${expected}, deregistered once`, async () => {
        const root = fixtureRepo(fixture, agent, roots);
        const registry = await recordingRegistry();
        try {
          const env = { HEALTH_CHECK_PORT: String(await freePort()), REGISTRY_URL: registry.url, EXPORT_REQUESTS: `${root}/requests`, EXPORT_OUTPUT: `${root}/ready` };
          const { code, log } = await signalledOnceRegistered(root, file, env, registry, /watching /, signal);
          expect(code, log).toBe(expected);
          expect(registry.requests.filter((r) => r.path === '/deregister'), log).toEqual([{ path: '/deregister', name: 'ledger-exporter' }]);
          expect(log).toMatch(/stopped after 0 exports/);
        } finally {
          registry.close();
        }
      }, 60_000);
    }
  }
});
