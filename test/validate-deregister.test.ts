// The deregister check with real agents: an agent that registered must be gone from the
// registry once SIGTERM has stopped it, as every shipped base does inside its teardown.
// - hardened-agent-base: the sudo log agent migrated for real passes; the same _v2 as the engine
//   wrote it before the teardown-super fix (its kept shutdown() ends in sys.exit(0), which cuts the
//   base's teardown short) passed every other check, and fails this one alone;
// - base-agent, Python: an ordinary _v2 passes, also when its legacy agent never deregistered (the
//   base does it now); a _v2 whose kept cleanup() leaves with os._exit(0) fails it alone;
// - base-agent, TypeScript: an ordinary _v2 passes; one whose onStop() calls process.exit fails.
// A profile that names no checks does not say that its base deregisters: there the legacy
// agent's own run decides.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Profile } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { liveGroups } from '../src/validate/process-group.js';
import { builtValidate, migratedCase, removeRoots, validateMigrated } from './helpers/python-hardened.js';
import { baseAgent, deregisterRepo, detail, runDeregister, verdicts } from './helpers/validate-deregister.js';

// The tests run three at a time (describe.concurrent: the three groups side by side too). Each
// mostly waits on its agents (a legacy window, a survival window, a SIGTERM and what follows it):
// one after another they took 78 s of a full run for 10 CPU-s. Each has its own repository and
// its own embedded registry and metrics sink (two tests validate a QuoteCache, four a
// LedgerSync), so no agent is seen in another's.
vi.setConfig({ maxConcurrency: 3 });
const envs: ValidationEnvironment[] = [];
const temps: string[] = [];
const legacyWindow = process.env.MIGRATE_LEGACY_WINDOW_S;
beforeAll(() => {
  process.env.MIGRATE_LEGACY_WINDOW_S ??= '0.5';
});
afterAll(async () => {
  await Promise.all(envs.map((e) => e.close()));
  if (legacyWindow === undefined) delete process.env.MIGRATE_LEGACY_WINDOW_S;
  removeRoots();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const repo = () => deregisterRepo(temps);
/** The validation environment of one test. */
async function environment(): Promise<ValidationEnvironment> {
  const env = await startValidationEnvironment();
  envs.push(env);
  return env;
}
/**
 * Agent trees still tracked: those of the validations this file runs from the sources
 * (runDeregister) and those of validateMigrated's (the built tool's, its own module instance).
 */
async function allLiveGroups(): Promise<number[]> {
  return [...liveGroups(), ...(await builtValidate()).groups.liveGroups()];
}
/**
 * Agent trees still tracked that run in `root` (their command line or working directory there): a
 * validation that returned must have stopped and forgotten its own. The tests overlap, so another
 * test's agents may be live meanwhile; the last test checks that none at all is left.
 */
async function liveGroupsIn(root: string): Promise<number[]> {
  return (await allLiveGroups()).filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return cmdline.includes(root) || cwd === root || cwd.startsWith(`${root}/`);
    } catch {
      return false; // gone meanwhile: another test's agent on its way out (the last test sees any left)
    }
  });
}
/** Edits the LedgerSync _v2 of `root` in place. */
function editLedgerSync(root: string, edit: (text: string) => string): void {
  const file = path.join(root, 'agents', 'ledger_sync_v2.py');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
}
const run = (env: ValidationEnvironment, root: string, name: string, stem: string, extra: Parameters<typeof runDeregister>[4] = {}) => runDeregister(env, root, name, stem, extra);

describe.concurrent('hardened-agent-base: a kept shutdown() ending in sys.exit(0)', () => {
  // The migrated agent as the engine writes it passes every check, deregister included ("SudoLogAgent
  // deregistered on SIGTERM: the embedded registry no longer holds it after it exited"): its Phase 5
  // (test/helpers/python-hardened.ts phase5, every fixture that ends migrated), not validated twice.
  it.concurrent('the migrated sudo log agent with the exit back in shutdown() fails the deregister check alone', async ({ expect }) => {
    const { c, root, v2 } = await migratedCase('sudo-log-shutdown-exit-entry-signal');
    // The _v2 the engine wrote before the teardown-super fix: the exit kept, super().shutdown() after it.
    const file = path.join(root, v2);
    const text = readFileSync(file, 'utf8');
    const tail = '            self.metrics_server.shutdown()\n        super().shutdown()\n';
    expect(text).toContain(tail);
    writeFileSync(file, text.replace('import socket\n', 'import socket\nimport sys\n').replace(tail, '            self.metrics_server.shutdown()\n        sys.exit(0)\n        super().shutdown()\n'));
    const lost = await validateMigrated(c, root);
    const checks = lost.report.validation.checks;
    // Every check validation had before passes it (it exits 0 on SIGTERM, as the base's stop would):
    // only the new one sees that the base's teardown never reached its deregistration.
    expect(checks.map((k) => `${k.name}:${k.ok}`), JSON.stringify(checks)).toEqual([
      'health:true', 'registry:true', 'metrics:true', 'eventbus:true', 'shutdown:true', 'deregister:false', 'log:true',
    ]);
    expect(checks.find((k) => k.name === 'deregister')!.detail).toMatch(
      /^SudoLogAgent still registered in the embedded registry after it exited with code 0 on SIGTERM: the base deregisters at stop what it registered, so its teardown was cut short/,
    );
    expect(lost.code).toBe(1);
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 120_000);
});

describe.concurrent('base-agent, Python', () => {
  it.concurrent('a legacy agent that never deregistered: its _v2 passes, the base deregisters it now', async ({ expect }) => {
    const env = await environment();
    const root = repo();
    const r = await run(env, root, 'LedgerSync', 'ledger_sync');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
    expect(detail(r, 'deregister')).toBe(
      'LedgerSync deregistered on SIGTERM: the embedded registry no longer holds it after it exited; the legacy agent stayed registered after its SIGTERM (the base deregisters it now)',
    );
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 60_000);

  it.concurrent("a kept cleanup() that leaves with os._exit(0) before the base's stop fails the deregister check alone", async ({ expect }) => {
    const env = await environment();
    const root = repo();
    const r = await run(env, root, 'QuoteCache', 'quote_cache');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:false', 'log:true']);
    expect(detail(r, 'deregister')).toMatch(
      /^QuoteCache still registered in the embedded registry after it exited with code 0 on SIGTERM: the base deregisters at stop .*; the legacy agent deregistered on its SIGTERM too$/,
    );
    // Its own work on the way out did run: only the base's part was cut.
    expect(JSON.parse(readFileSync(path.join(root, 'quote_cache.json'), 'utf8'))).toHaveProperty('EURUSD');
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 60_000);

  it.concurrent("a _v2 whose own SIGTERM handler replaced the base's: the deregister failure says so, not 'an exit in a hook?'", async ({ expect }) => {
    const env = await environment();
    const root = repo();
    editLedgerSync(root, (text) =>
      text
        .replace('        self.synced = 0\n', '        self.synced = 0\n        signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))\n')
        .replace('from common.core.base_agent', 'import os\nimport signal\n\nfrom common.core.base_agent'),
    );
    const r = await run(env, root, 'LedgerSync', 'ledger_sync');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:false', 'log:true']);
    expect(detail(r, 'deregister')).toMatch(/its handler never said it received the SIGTERM .*a signal handler of the agent's own \(signal\.signal, loop\.add_signal_handler\) likely replaced the base's/);
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 60_000);

  it.concurrent("a _v2 renamed after the base registered it: the deregister failure names both names, not the signal handler", async ({ expect }) => {
    const env = await environment();
    const root = repo();
    // As a kept `self.name = f"..."` after super().__init__() does (probe-py58): the base deregisters the new name.
    // Renamed as the registration returns, not in a later cycle: under load the SIGTERM could come
    // between the registry's answer and the next cycle (the test then passed only on its retry).
    editLedgerSync(root, (text) =>
      text.replace(
        '        self.synced = 0\n',
        '        self.synced = 0\n\n    def _register_once(self):\n        super()._register_once()\n        self.name = "ledger-sync-eu"\n',
      ),
    );
    const r = await run(env, root, 'LedgerSync', 'ledger_sync');
    expect(r.checks.find((c) => c.name === 'shutdown'), JSON.stringify(r.checks)).toMatchObject({ ok: true });
    expect(r.checks.find((c) => c.name === 'deregister'), JSON.stringify(r.checks)).toMatchObject({ ok: false });
    expect(detail(r, 'deregister')).toMatch(
      /^LedgerSync still registered in the embedded registry after it exited with code 0 on SIGTERM: it deregistered 'ledger-sync-eu' but registered 'LedgerSync': its name changed after it registered/,
    );
    expect(detail(r, 'deregister')).not.toMatch(/signal handler/);
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 60_000);

  it.concurrent('a profile that names no checks does not say its base deregisters: the legacy run decides', async ({ expect }) => {
    const env = await environment();
    const root = repo();
    const silent: Profile = { ...baseAgent, validation: { ...baseAgent.validation, checks: undefined } };
    // The legacy agent deregistered: staying registered is a loss still.
    const lost = await run(env, root, 'QuoteCache', 'quote_cache', { profile: silent });
    expect(lost.checks.find((c) => c.name === 'deregister')).toMatchObject({ ok: false });
    expect(detail(lost, 'deregister')).toMatch(/after it exited with code 0 on SIGTERM: the legacy agent deregistered on its SIGTERM$/);
    // The legacy agent never deregistered either: nothing was lost.
    editLedgerSync(root, (text) =>
      text
        .replace("        self.report_metric('ledger_synced_total', 1)\n", "        self.report_metric('ledger_synced_total', 1)\n\n    def cleanup(self):\n        os._exit(0)\n")
        .replace('from common.core.base_agent', 'import os\n\nfrom common.core.base_agent'),
    );
    const kept = await run(env, root, 'LedgerSync', 'ledger_sync', { profile: silent });
    expect(kept.checks.find((c) => c.name === 'deregister'), JSON.stringify(kept.checks)).toMatchObject({ ok: true });
    expect(detail(kept, 'deregister')).toMatch(/^LedgerSync is still in the embedded registry after it exited on SIGTERM, as before the migration; the legacy agent stayed registered after its SIGTERM/);
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 90_000);
});

describe.concurrent('base-agent, TypeScript', () => {
  it.concurrent('an ordinary _v2 deregisters; one whose onStop() calls process.exit fails the deregister check alone', async ({ expect }) => {
    const env = await environment();
    const root = repo();
    const good = await run(env, root, 'Ticker', 'ticker', { v2: 'ticker_v2.ts' });
    expect(verdicts(good), JSON.stringify(good.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
    const lost = await run(env, root, 'Ticker', 'ticker', { v2: 'ticker_stop_exit_v2.ts' });
    expect(verdicts(lost), JSON.stringify(lost.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:false', 'log:true']);
    expect(detail(lost, 'deregister')).toMatch(/^Ticker still registered in the embedded registry after it exited with code 0 on SIGTERM/);
    expect(await liveGroupsIn(root)).toEqual([]);
  }, 90_000);
});

// Alone, after the groups above, as when the tests ran one after another: it times the base's 3 s
// stop grace, which agents validated beside it would stretch on a loaded machine.
describe('base-agent, Python', () => {
  it('a kept cleanup() that never returns (a join without a timeout): the base still deregisters, and the shutdown check names where it hung', async () => {
    const env = await environment();
    // The reference base runs the agent's cleanup() before its own stop(); its grace timer used to end
    // the process with os._exit(0) there, so the registration stayed ('deregister:false', "an exit in
    // a hook it calls?"). Now it deregisters before it exits, and says what had not returned.
    const root = repo();
    editLedgerSync(root, (text) =>
      text
        .replace(
          '        self.synced = 0\n',
          '        self.synced = 0\n        self.outbox = queue.Queue()\n        self.uploader = threading.Thread(target=self.outbox.get, name="uploader")\n        self.uploader.start()\n',
        )
        .replace(
          "        self.report_metric('ledger_synced_total', 1)\n",
          "        self.report_metric('ledger_synced_total', 1)\n\n    def cleanup(self):\n        self.uploader.join()\n        super().cleanup()\n",
        )
        .replace('from common.core.base_agent', 'import queue\nimport threading\n\nfrom common.core.base_agent'),
    );
    const r = await run(env, root, 'LedgerSync', 'ledger_sync');
    expect(verdicts(r), JSON.stringify(r.checks)).toEqual(['health:true', 'registry:true', 'metrics:true', 'survival:true', 'ports:true', 'shutdown:true', 'deregister:true', 'log:true']);
    expect(detail(r, 'shutdown')).toMatch(
      /^exited with code 0 3\.\d s after SIGTERM \(the base ended a stop that ran over: the teardown hook LedgerSync\.cleanup\(\) did not return within 3\.0 s of SIGTERM, still in cleanup\(\) at \S*ledger_sync_v2\.py:\d+ \(self\.uploader\.join\(\)\)\)/,
    );
    expect(liveGroups()).toEqual([]);
  }, 60_000);
});

// Last, once every test above has returned: no agent of any of them is still tracked.
describe('afterwards', () => {
  it('no agent of any test is left running', async () => {
    expect(await allLiveGroups()).toEqual([]);
  });
});
