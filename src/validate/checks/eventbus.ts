// EventBus (seed 001's Phase 5): with the fake bus up the agent's events reach it; with the bus
// down they are queued locally (the base's /health shows a queue); when it comes back the queue
// drains (back to empty, and the bus receives at least what was queued). The agent runs on
// HardenedAgentBase, whose /health reports queue_size and its counters.
import type { CheckResult } from '../../core/types.js';
import type { FakeEventBus } from '../fake-eventbus.js';
import { httpGet } from '../http-util.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs, sleep } from './common.js';

export interface EventBusCheckOptions {
  bus: FakeEventBus;
  healthPort: number;
  proc?: AgentProcess;
  /** Time allowed for each phase (events arrive, a queue forms, the queue drains). */
  phaseDeadlineMs: number;
  /**
   * Time allowed for the queue to form once the bus is down (default twice the phase). The other
   * phases wait for one call that succeeds; this one waits for a whole publish to give up: a
   * collection interval, then the base's attempts (3, backing off 0.5 s then 1 s), each through
   * the agent's own publisher, which may retry again inside (disk-usage-generic-retry: 3 x
   * 0.5+1+2 s, so a queue 12-13 s after the bus went down on a quiet machine, more under load).
   */
  queueDeadlineMs?: number;
  signal?: AbortSignal;
  intervalMs?: number;
}

type Health = { queue_size?: number; events_queued?: number; events_published?: number; events_collected?: number; cycles?: number; status?: string };

async function health(port: number): Promise<Health | null> {
  try {
    const a = await httpGet(`http://127.0.0.1:${port}/health`, 1000);
    return JSON.parse(a.body) as Health;
  } catch {
    return null;
  }
}

export async function checkEventBus(o: EventBusCheckOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const every = o.intervalMs ?? 100;
  let lastHealth: Health | null = null;
  /** Wait until `done()` holds; null when it did, else why not. */
  const until = async (what: string, done: () => Promise<boolean>, deadlineMs = o.phaseDeadlineMs): Promise<string | null> => {
    const end = Date.now() + deadlineMs;
    for (;;) {
      if (o.proc?.exited()) return `${exitedDetail(o.proc)} (waiting until ${what})`;
      if (await done()) return null;
      if (Date.now() >= end || o.signal?.aborted) return `not within ${secs(deadlineMs)}: ${what}`;
      await sleep(every, o.signal);
    }
  };
  const fail = (phase: string, why: string) => {
    const h = lastHealth ? ` (agent /health: queue_size ${lastHealth.queue_size ?? '?'}, events_queued ${lastHealth.events_queued ?? 0}, events_published ${lastHealth.events_published ?? 0})` : '';
    return result('eventbus', false, Date.now() - t0, `${phase}: ${why}${h}`);
  };

  // 1. Bus up: events arrive.
  let why = await until('an event reaches the fake EventBus', async () => o.bus.received().length > 0);
  if (why) {
    // An agent that found nothing to report here (no auth log, no file change) proves nothing
    // either way: said so, neither passed nor failed.
    lastHealth = await health(o.healthPort);
    if (lastHealth && !o.proc?.exited() && Number(lastHealth.cycles ?? 0) >= 2 && Number(lastHealth.events_collected ?? 0) === 0) {
      return { ...result('eventbus', true, Date.now() - t0, `not proven: the agent collected no events in ${lastHealth.cycles} cycles (nothing to publish in this environment)`), skipped: true };
    }
    return fail('bus up', why);
  }
  const upMs = Date.now() - t0;
  const firstCount = o.bus.received().length;

  // 2. Bus down: the agent keeps collecting and queues locally.
  await o.bus.stop();
  const downAt = Date.now();
  let queued = 0;
  why = await until('events are queued locally (/health queue_size > 0)', async () => {
    lastHealth = await health(o.healthPort);
    queued = Number(lastHealth?.queue_size ?? 0);
    return queued > 0;
  }, o.queueDeadlineMs ?? 2 * o.phaseDeadlineMs);
  if (why) {
    await o.bus.start();
    return fail('bus down', why);
  }
  const queuedMs = Date.now() - downAt;
  const beforeBack = o.bus.received().length;

  // 3. Bus back: the queue drains onto it.
  await o.bus.start();
  const backAt = Date.now();
  why = await until('the local queue drains (/health queue_size 0) onto the bus', async () => {
    lastHealth = await health(o.healthPort);
    return lastHealth !== null && Number(lastHealth.queue_size ?? -1) === 0 && o.bus.received().length - beforeBack >= queued;
  });
  if (why) return fail('bus back', why);
  const drainMs = Date.now() - backAt;
  return result(
    'eventbus',
    true,
    Date.now() - t0,
    `bus up: ${firstCount} envelope(s) after ${secs(upMs)}; bus down: ${queued} queued locally after ${secs(queuedMs)}; bus back: drained in ${secs(drainMs)} (${o.bus.received().length} received in all)`,
  );
}


