// Survival: one healthy answer is not enough. An agent whose socket clashes crashes seconds
// later (after a base constructor that retried its binds), so after the first healthy answer
// the agent must stay up and keep answering its health probe for a whole window, probed
// every interval; optionally the window is repeated.
import type { CheckResult } from '../../core/types.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs, sleep } from './common.js';
import { asLegacyWords, type UnhealthyAnswer } from './health-http.js';

export interface SurvivalOptions {
  proc: AgentProcess;
  /** One health probe: null when healthy, else why not. */
  probe: () => Promise<string | null>;
  windowMs: number;
  intervalMs: number;
  repeats?: number;
  signal?: AbortSignal;
  /** The legacy agent's own unhealthy answer the probe accepted during the window, if it did (see asLegacyAnswer). */
  asLegacy?: () => UnhealthyAnswer | undefined;
  /** A 2xx answer with a status other than ok the probe accepted as the agent's declared code (see declaredHealthCodeHook), said. */
  declared?: () => string | undefined;
}

/** A probe's reason when the answer did not come in time (see networkReason). */
const SLOW = /^timed out\b/;
/**
 * A probe's reason when the agent's server closed the kept-alive connection the probe was written
 * into (undici's "other side closed"): a Node server ends an idle connection after 5 s, and on a
 * loaded machine the client's pool hands out one it is closing. Seen with TypeScript agents
 * validated side by side under load, up and healthy all along. An agent that went away is refused
 * when asked again; one that closes every connection is closed again, and judged.
 */
const CLOSED = /^other side closed$/;
/** How many times in a row a late answer (or a closed connection) is asked for again before it counts. */
const SLOW_ANSWERS_ASKED_AGAIN = 2;

export async function checkSurvival(o: SurvivalOptions): Promise<CheckResult> {
  const t0 = Date.now();
  const total = o.windowMs * Math.max(1, o.repeats ?? 1);
  const end = t0 + total;
  let probes = 0;
  let slow = 0;
  let closed = 0;
  for (;;) {
    if (o.proc.exited()) {
      return result('survival', false, Date.now() - t0, `${exitedDetail(o.proc)} ${secs(Date.now() - t0)} after its first healthy answer`);
    }
    let why = await o.probe();
    probes++;
    // An answer that came too late (or a kept-alive connection closed under the probe, CLOSED) is
    // asked for again before the agent is judged: a loaded
    // machine (many agents watched at once) can delay one; an agent that stopped answering
    // times out again. A refused connection or an unhealthy answer is judged at once.
    for (let again = 0; why !== null && (SLOW.test(why) || CLOSED.test(why)) && again < SLOW_ANSWERS_ASKED_AGAIN && !o.proc.exited(); again++) {
      if (SLOW.test(why)) slow++;
      else closed++;
      why = await o.probe();
      probes++;
    }
    if (why !== null) {
      return result('survival', false, Date.now() - t0, `stopped answering health ${secs(Date.now() - t0)} after its first healthy answer: ${why}`);
    }
    if (Date.now() >= end || o.signal?.aborted) break;
    await sleep(Math.min(o.intervalMs, Math.max(0, end - Date.now())), o.signal);
  }
  // Exited before the end, its last output still being read: wait for it (about 100 ms), then say so.
  if (o.proc.exitSeen?.() && !o.proc.exited()) await o.proc.exit;
  if (o.proc.exited()) return result('survival', false, Date.now() - t0, `${exitedDetail(o.proc)} at the end of the survival window`);
  const late =
    (slow ? `; ${slow} late answer${slow > 1 ? 's' : ''} asked for again` : '') +
    (closed ? `; ${closed} closed connection${closed > 1 ? 's' : ''} asked again` : '');
  // Not "healthy" when a probe was accepted as the legacy's own unhealthy answer: up, answering as the legacy did.
  const same = o.asLegacy?.();
  if (same) {
    return {
      ...result('survival', true, Date.now() - t0, `stayed up for ${secs(total)} after its first healthy answer (${probes} probes${late}), in it answering ${asLegacyWords(same)}`),
      as_legacy: { code: same.code, status: same.status, port: same.port },
    };
  }
  const declared = o.declared?.();
  if (declared) return result('survival', true, Date.now() - t0, `stayed up for ${secs(total)} after its first healthy answer (${probes} probes${late}), in it answering ${declared}`);
  return result('survival', true, Date.now() - t0, `stayed up and healthy for ${secs(total)} after its first healthy answer (${probes} probes${late})`);
}
