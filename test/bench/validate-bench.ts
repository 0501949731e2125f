// Benchmark: validate the ten fixture agents of fixtures/validate/fleet at concurrency 4, first
// with each agent holding its slot through its windows (as before agents that only wait were
// watched beside the next ones starting), then as it runs now (embedded registry and sink,
// legacy baselines included), and report the wall times side by side. Every agent must pass,
// or it throws.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentInfo } from '../../src/core/types.js';
import { loadProfile } from '../../src/profile/profile.js';
import { startValidationEnvironment } from '../../src/validate/environment.js';
import { validateAgents, type ValidateAgentOptions } from '../../src/validate/validate-agent.js';

const AGENTS: Array<[string, string]> = [
  ['order_router', 'OrderRouter'],
  ['inventory_sync', 'InventorySync'],
  ['price_watcher', 'PriceWatcher'],
  ['async_processor', 'AsyncProcessor'],
  ['memory_cache', 'MemoryCache'],
  ['report_builder', 'ReportBuilder'],
  ['alert_dispatcher', 'AlertDispatcher'],
  ['session_tracker', 'SessionTracker'],
  ['feature_store', 'FeatureStore'],
  ['queue_monitor', 'QueueMonitor'],
];

/** The fleet fixture, found from src/ (vitest) or dist/ (npm run bench). */
function fleetRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'fixtures', 'validate', 'fleet');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find fixtures/validate/fleet');
}

const SURVIVAL_WINDOW_MS = 3000;

export async function benchValidation(): Promise<string> {
  const root = fleetRoot();
  const profile = loadProfile('base-agent');
  const env = await startValidationEnvironment();
  try {
    const list = (): ValidateAgentOptions[] =>
      AGENTS.map(([stem, name]) => {
        const agent: AgentInfo = { name, file: `agents/${stem}.py`, language: 'python', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
        return {
          root,
          agent,
          file: path.join(root, 'agents', `${stem}_v2.py`),
          legacyFile: path.join(root, 'agents', `${stem}.py`),
          legacyWindowMs: 500,
          // The survival window (30 s by default) only adds the same wait to every agent; a short
          // one keeps the bench within its five minutes and the concurrency ratio what it is.
          survivalWindowMs: SURVIVAL_WINDOW_MS,
          survivalIntervalMs: 500,
          profile,
          env,
        };
      });
    const timed = async (concurrency: number, watched?: number) => {
      const t0 = performance.now();
      const reports = await validateAgents(list(), { concurrency, watched });
      const ms = performance.now() - t0;
      const failed = reports.map((r, i) => (r.ok ? '' : `${AGENTS[i]![1]}: ${r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`)).filter(Boolean);
      if (failed.length) throw new Error(`validation bench: ${failed.join(' | ')}`);
      const sum = reports.reduce((s, r) => s + r.ms, 0);
      const slowest = Math.max(...reports.map((r) => r.ms));
      return { ms, sum, slowest };
    };
    // One agent at a time (about 45 s) is left out: the bench keeps within its five minutes.
    const held = await timed(4, 4);
    const four = await timed(4);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    return (
      `validate ${AGENTS.length} agents (survival window ${SURVIVAL_WINDOW_MS / 1000} s) at concurrency 4: ` +
      `each holding its slot through its windows ${s(held.ms)}, watched beside the next starts ${s(four.ms)} ` +
      `(${(held.ms / four.ms).toFixed(2)}x faster; sum of per-agent times ${s(four.sum)}, slowest agent ${s(four.slowest)})`
    );
  } finally {
    await env.close();
  }
}
