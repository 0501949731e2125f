// Health that is the business, at run time: the migrated tlsprobe-health-server-returned-to-run-local fixture
// (its own health server, built by a method and held in a run() local, went with that local and its
// shutdown) runs on the reference HardenedAgentBase probing one port nothing listens on. The base's /health
// must carry what the legacy endpoint reported per target: the consecutive failures counting up cycle after
// cycle, the last error, and the target in "failing" once it failed FAIL_THRESHOLD (3) times in a row.
// Before the fix run() stayed for review and there was no _v2 to ask.
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { httpGet } from '../src/validate/http-util.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { migratedCase, removeRoots, startV2, stopGroup } from './helpers/python-hardened.js';

afterAll(removeRoots);

interface TargetHealth {
  consecutive_failures: number;
  last_error: string | null;
}

it("the base's /health reports each target's consecutive failures, as the legacy health server did", async () => {
  const { root, v2 } = await migratedCase('tlsprobe-health-server-returned-to-run-local');
  // The health port, one port nothing listens on (the probed target) and one for the bus (down too).
  const [healthPort, closedPort, busPort] = await allocatePorts(3);
  const target = `127.0.0.1:${closedPort}`;
  let child: ChildProcess | undefined;
  let output = () => '';
  try {
    ({ child, output } = startV2(root, v2, {
      HEALTH_CHECK_PORT: String(healthPort),
      EVENTBUS_ADDRESS: `127.0.0.1:${busPort}`,
      TLS_PROBE_TARGETS: target,
      COLLECTION_INTERVAL: '0.2',
    }));
    const counts: number[] = [];
    let last: Record<string, unknown> | null = null;
    const end = Date.now() + 30_000;
    while (Date.now() < end && child.exitCode === null) {
      try {
        const a = await httpGet(`http://127.0.0.1:${healthPort}/health`, 1000);
        last = JSON.parse(a.body) as Record<string, unknown>;
        const t = (last.targets as Record<string, TargetHealth> | undefined)?.[target];
        if (t && counts[counts.length - 1] !== t.consecutive_failures) counts.push(t.consecutive_failures);
        if (t && t.consecutive_failures >= 3) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(last, output()).not.toBeNull();
    const t = (last!.targets as Record<string, TargetHealth>)[target]!;
    expect(t.consecutive_failures, `${JSON.stringify(last)}\n${output()}`).toBeGreaterThanOrEqual(3);
    // Counted up one cycle at a time, never reset (nothing ever answered on that port).
    expect(counts, JSON.stringify(counts)).toEqual([...counts].sort((a, b) => a - b));
    expect(t.last_error).toMatch(/refused/i);
    expect(last!.failing).toEqual([target]);
    // The base's own fields are still there: the payload was added to them, not put in their place.
    expect(last!.agent).toBe('TlsProbeAgent');
    expect(last).toHaveProperty('circuit_breaker');
  } finally {
    await stopGroup(child);
    releasePorts([healthPort!, closedPort!, busPort!]);
  }
}, 90_000);
