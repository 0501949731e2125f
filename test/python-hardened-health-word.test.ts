// The base's own status wins over a legacy health payload's healthy word, at run time: the migrated
// loadavg-health-healthy-word fixture (its removed health server answered {"status": "healthy", ...})
// runs on the reference HardenedAgentBase with the EventBus down; once the base's circuit breaker is
// open, /health must answer 503 "degraded" (the base's word) and still carry the legacy fields.
// Before the fix the override wrote the legacy "healthy" over it: 200 "healthy" while the bus was down.
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { httpGet } from '../src/validate/http-util.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { migratedCase, removeRoots, startV2, stopGroup } from './helpers/python-hardened.js';

afterAll(removeRoots);

it('a legacy "healthy" does not hide HardenedAgentBase\'s "degraded" while the EventBus is down', async () => {
  const { root, v2 } = await migratedCase('loadavg-health-healthy-word');
  // Two loopback ports nothing listens on (the validator's allocator: free, and not handed out twice).
  const [healthPort, busPort] = await allocatePorts(2);
  let child: ChildProcess | undefined;
  let output = () => '';
  try {
    ({ child, output } = startV2(root, v2, {
      HEALTH_CHECK_PORT: String(healthPort),
      // Nothing listens there: every publish fails, and after 5 failures the base's breaker opens.
      EVENTBUS_ADDRESS: `127.0.0.1:${busPort}`,
      COLLECTION_INTERVAL: '0.2',
      LOADAVG_QUEUE_PATH: path.join(root, 'data/queue/loadavg_agent.db'),
    }));
    const seen: string[] = [];
    let answer: { status: number; body: Record<string, unknown> } | null = null;
    const end = Date.now() + 30_000;
    while (Date.now() < end && child.exitCode === null) {
      try {
        const a = await httpGet(`http://127.0.0.1:${healthPort}/health`, 1000);
        const body = JSON.parse(a.body) as Record<string, unknown>;
        seen.push(`${a.status} ${String(body.status)} breaker=${String(body.circuit_breaker)}`);
        if (body.circuit_breaker === 'OPEN') {
          answer = { status: a.status, body };
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer, `the breaker never opened; answers: ${seen.slice(-5).join(', ')}\n${output()}`).not.toBeNull();
    // The base's own status and code, with the legacy endpoint's fields added.
    expect({ code: answer!.status, status: answer!.body.status }).toEqual({ code: 503, status: 'degraded' });
    expect(answer!.body).toHaveProperty('samples');
    expect(Number(answer!.body.samples)).toBeGreaterThan(0);
  } finally {
    await stopGroup(child);
    releasePorts([healthPort!, busPort!]);
  }
}, 90_000);

// loadavg-health-ready-flag: the legacy payload's constant "ready": True and its "uptime_seconds" (keys the
// base does not answer) are kept, and "ready" follows the base's own status: false while it says "degraded".
it('a legacy "ready": True is kept but never says ready while HardenedAgentBase says "degraded"', async () => {
  const { root, v2 } = await migratedCase('loadavg-health-ready-flag');
  // Two loopback ports nothing listens on (the validator's allocator: free, and not handed out twice).
  const [healthPort, busPort] = await allocatePorts(2);
  let child: ChildProcess | undefined;
  let output = () => '';
  try {
    ({ child, output } = startV2(root, v2, {
      HEALTH_CHECK_PORT: String(healthPort),
      // Nothing listens there: every publish fails, and after 5 failures the base's breaker opens.
      EVENTBUS_ADDRESS: `127.0.0.1:${busPort}`,
      COLLECTION_INTERVAL: '0.2',
      LOADAVG_QUEUE_PATH: path.join(root, 'data/queue/loadavg_agent.db'),
    }));
    const wrong: string[] = [];
    const seen: string[] = [];
    let answer: { status: number; body: Record<string, unknown> } | null = null;
    const end = Date.now() + 30_000;
    while (Date.now() < end && child.exitCode === null) {
      try {
        const a = await httpGet(`http://127.0.0.1:${healthPort}/health`, 1000);
        const body = JSON.parse(a.body) as Record<string, unknown>;
        seen.push(`${a.status} ${String(body.status)} breaker=${String(body.circuit_breaker)} ready=${String(body.ready)}`);
        // Every answer: ready exactly while the base says its healthy word.
        if (body.status !== 'starting' && body.ready !== (body.status === 'healthy')) wrong.push(`ready=${String(body.ready)} beside ${String(body.status)}`);
        if (body.circuit_breaker === 'OPEN') {
          answer = { status: a.status, body };
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answer, `the breaker never opened; answers: ${seen.slice(-5).join(', ')}\n${output()}`).not.toBeNull();
    // The base's own status and code, with the legacy endpoint's fields added.
    expect({ code: answer!.status, status: answer!.body.status }).toEqual({ code: 503, status: 'degraded' });
    expect(wrong, 'answers whose ready flag contradicts the base\'s status').toEqual([]);
    expect(answer!.body.ready).toBe(false);
    expect(answer!.body).toHaveProperty('uptime_seconds');
    expect(seen.some((x) => x.includes('ready=true')), `never ready while healthy: ${seen.join(', ')}`).toBe(true);
  } finally {
    await stopGroup(child);
    releasePorts([healthPort!, busPort!]);
  }
}, 90_000);
