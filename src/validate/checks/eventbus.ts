// EventBus (seed 001's Phase 5): with the fake bus up the agent's events reach it; with the bus
// down they are queued locally (the base's /health shows a queue); when it comes back the queue
// drains (back to empty, and the bus receives at least what was queued). The agent runs on
// HardenedAgentBase, whose /health reports queue_size and its counters. An agent that publishes
// only when something changes (hotplug, a new log line) may have nothing to send while the bus is
// down, and then queues nothing, as its legacy version would not have either: when its counters
// show that nothing was collected, sent or queued over the window (while they did count its
// publishing with the bus up), the queue phase is reported as not exercised, not failed. An agent
// that did try to send while the bus was down and queued nothing lost those events: it fails.
// Unless the _v2 declares that it hands refused events to a destination of its own and keeps none
// (RefusedEventsHandOff(..., keep=False), what the legacy did): then the base gave up on them (events_queued)
// and the queue stays empty, which passes, saying where they went.
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
  /**
   * The agent's own method the _v2 hands each refused event to, keeping none for re-send
   * (`RefusedEventsHandOff(self._relay, ..., keep=False)`: the legacy sent a refused batch there and
   * never re-posted it). With the bus down its queue stays empty by design: the phase passes when the
   * base gave up on events (events_queued grew, so they reached the hand-off) and none were kept.
   */
  handOff?: string;
}

/** The method a _v2 hands refused events to without keeping them (see EventBusCheckOptions.handOff), else undefined. */
export function refusedHandOff(source: string): string | undefined {
  return /^[ \t]+self\.local_queue = RefusedEventsHandOff\(self\.(\w+), self\.local_queue, keep=False\)[ \t]*\r?$/m.exec(source)?.[1];
}

type Health = {
  queue_size?: number;
  events_queued?: number;
  events_published?: number;
  events_collected?: number;
  events_rejected?: number;
  events_unpublished?: number;
  cycles?: number;
  status?: string;
  last_error?: string | null;
};

/**
 * A quiet window is over once the agent ran this many collection cycles after the bus went down
 * (the cycle running at that moment finished long before, with any publish it had started) and at
 * least QUIET_MIN_MS passed, with nothing sent and nothing collected: an agent that publishes only
 * when something changes (hotplug, a new log line) has nothing to queue, and the legacy agent
 * would have had nothing either.
 */
const QUIET_CYCLES = 10;
const QUIET_MIN_MS = 5000;

const n = (h: Health | null, k: keyof Health): number => Number(h?.[k] ?? 0) || 0;
/** Every publish through the base ends in one of these counters (sent, queued, or no publisher). */
const outcomes = (h: Health | null): number => n(h, 'events_published') + n(h, 'events_queued') + n(h, 'events_unpublished');
/** Events that entered the base's pipeline to be sent. */
const toSend = (h: Health | null): number => n(h, 'events_collected') - n(h, 'events_rejected');

/**
 * Did the agent try to send anything since `from` (taken once the bus was down)? Any publish
 * through the base moves an outcome counter (a publisher that swallows the failure counts as
 * "published" into a bus that is not there: lost); an event collected is on its way to one; a
 * failed attempt leaves "publish: ..." as the last error. Null when it cannot be told: the
 * counters never moved although the bus received envelopes (the agent sends around the base's
 * pipeline), or the cycle that was running when the bus went down may still be publishing.
 */
function attemptedSince(from: Health, now: Health, counted: boolean): 'attempted' | 'quiet' | 'unknown' {
  if (outcomes(now) > outcomes(from) || toSend(now) > toSend(from)) return 'attempted';
  if (now.last_error !== from.last_error && /publish/i.test(String(now.last_error ?? ''))) return 'attempted';
  if (!counted) return 'unknown';
  return n(now, 'cycles') - n(from, 'cycles') >= 2 ? 'quiet' : 'unknown';
}

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

  // 2. Bus down: the agent keeps collecting and queues locally. What it sends while the bus is
  // down is told apart from having nothing to send, from its /health counters: the counters taken
  // just before the bus goes down say whether they track this agent's publishing at all (they
  // moved while the bus received envelopes), those taken once it is down are the window's start.
  const beforeDown = await health(o.healthPort);
  await o.bus.stop();
  const downAt = Date.now();
  const atDown = await health(o.healthPort);
  let queued = 0;
  let quiet = false;
  let handedOff = 0;
  why = await until('events are queued locally (/health queue_size > 0)', async () => {
    lastHealth = await health(o.healthPort);
    queued = Number(lastHealth?.queue_size ?? 0);
    if (queued > 0) return true;
    if (o.handOff && atDown && lastHealth) handedOff = n(lastHealth, 'events_queued') - n(atDown, 'events_queued');
    if (handedOff > 0) return true;
    if (lastHealth && atDown && Date.now() - downAt >= QUIET_MIN_MS && n(lastHealth, 'cycles') - n(atDown, 'cycles') >= QUIET_CYCLES) {
      quiet = attemptedSince(atDown, lastHealth, outcomes(beforeDown ?? atDown) + outcomes(atDown) > 0) === 'quiet';
    }
    return quiet;
  }, o.queueDeadlineMs ?? 2 * o.phaseDeadlineMs);
  if (why && atDown && lastHealth && !o.proc?.exited()) {
    // The deadline passed with no queue: a failure only if the agent tried to send meanwhile.
    quiet = attemptedSince(atDown, lastHealth, outcomes(beforeDown ?? atDown) + outcomes(atDown) > 0) === 'quiet';
  }
  if (quiet) {
    await o.bus.start();
    const cycles = n(lastHealth, 'cycles') - n(atDown, 'cycles');
    return result(
      'eventbus',
      true,
      Date.now() - t0,
      `bus up: ${firstCount} envelope(s) after ${secs(upMs)}; bus down: not exercised: nothing published while the bus was down (${cycles} collection cycles in ${secs(Date.now() - downAt)}, no event collected, sent or queued): the queue was not exercised; bus back: nothing to drain`,
    );
  }
  if (why) {
    await o.bus.start();
    return fail('bus down', why);
  }
  const queuedMs = Date.now() - downAt;
  const beforeBack = o.bus.received().length;
  if (handedOff > 0) {
    // Nothing kept to drain: the bus back, new events reach it again, and the queue is still empty.
    await o.bus.start();
    const backAt = Date.now();
    why = await until('a new event reaches the bus, the local queue still empty', async () => {
      lastHealth = await health(o.healthPort);
      return o.bus.received().length > beforeBack && Number(lastHealth?.queue_size ?? -1) === 0;
    });
    if (why) return fail('bus back', why);
    return result(
      'eventbus',
      true,
      Date.now() - t0,
      `bus up: ${firstCount} envelope(s) after ${secs(upMs)}; bus down: ${handedOff} refused event(s) handed to ${o.handOff}() after ${secs(queuedMs)}, none kept for re-send (keep=False, as the legacy sent them there only); bus back: publishing again after ${secs(Date.now() - backAt)}, nothing to drain`,
    );
  }

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


