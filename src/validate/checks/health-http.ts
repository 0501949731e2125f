// Health over HTTP: GET /health on the agent's health port answers 2xx with
// JSON whose status is ok or healthy, or, when it never does, answers exactly as the legacy
// agent's own /health answered in this environment (a health that follows a business dependency
// the validator does not provide: an upstream gateway, a database): the rewrite changed nothing
// there, and requiring 200 would fail every faithful migration of such an agent.
import type { CheckResult } from '../../core/types.js';
import { httpGet, networkReason } from '../http-util.js';
import { listeningPorts } from '../listening-ports.js';
import type { AgentProcess } from '../runner.js';
import { clip, exitedDetail, result, secs, sleep } from './common.js';

export interface HealthOptions {
  port: number;
  /** Give up this long after `startedAt`. */
  deadlineMs: number;
  startedAt: number;
  proc?: AgentProcess;
  signal?: AbortSignal;
  intervalMs?: number;
  /** The legacy agent's own /health answers in its baseline run that were not healthy. */
  legacy?: UnhealthyAnswer[];
  /** The base's code hook the agent overrides (see declaredHealthCodeHook): its 2xx answers count whatever their status. */
  declaredBy?: string;
  /**
   * When nothing answered by the deadline, how much longer the port is watched (the verdict stays a
   * failure) to tell a health port bound late from one never bound (default: half the deadline, at
   * most LATE_BIND_GRACE_MS: within the time limit, which leaves 10 s past the checks).
   */
  lateGraceMs?: number;
}

/**
 * An agent that binds its health port after slow start-up work failed with "nothing answered
 * within 15.0 s (connection refused)", the same words as one listening elsewhere or not at all: a
 * few more seconds of watching a failed check tell a person which it was.
 */
export const LATE_BIND_GRACE_MS = 8_000;

/** A JSON /health answer with a string status that is not healthy (its code and status). */
export interface UnhealthyAnswer {
  port: number;
  code: number;
  status: string;
}

/** The answer as an UnhealthyAnswer when it is a JSON health report that is not healthy. */
export function unhealthyAnswer(port: number, code: number, body: string): UnhealthyAnswer | undefined {
  if (judgeHealth(code, body).healthy) return undefined;
  try {
    const status = (JSON.parse(body) as { status?: unknown })?.status;
    return typeof status === 'string' ? { port, code, status } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What every check says of a _v2 accepted because it answered as the legacy agent's own unhealthy
 * /health did (health, survival; the record and --json carry as_legacy beside it): one wording, so
 * a person reading any of them learns the same thing.
 */
export function asLegacyWords(a: UnhealthyAnswer): string {
  return `${a.code} status "${a.status}", as the legacy agent's own /health (port ${a.port}) answered in this environment (its status follows something this environment does not provide): not proven healthy`;
}

/** The legacy agent's unhealthy answer this one repeats (same code, same status), if any. */
export function asLegacyAnswer(port: number, code: number, body: string, legacy: UnhealthyAnswer[] | undefined): UnhealthyAnswer | undefined {
  const mine = unhealthyAnswer(port, code, body);
  return mine && legacy?.find((l) => l.code === mine.code && l.status === mine.status);
}

/** What a check says of an answer passed because the agent declares its code (empty otherwise). */
export function declaredWords(v: HealthVerdict): string {
  return v.healthy && v.declared ? ` (the code the agent declares for that status through its ${v.declared}() override)` : '';
}

export type HealthVerdict = { healthy: true; status: string; declared?: string } | { healthy: false; why: string };

/**
 * Judge one /health answer. `declaredBy`: the base's code hook the agent overrides, through which it
 * answers 2xx for a status it still serves in ("degraded"): such an answer passes, said as declared.
 */
export function judgeHealth(status: number, body: string, declaredBy?: string): HealthVerdict {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { healthy: false, why: `answered ${status} with a body that is not JSON: ${JSON.stringify(clip(body, 80))}` };
  }
  const s = (json as { status?: unknown })?.status;
  const text = typeof s === 'string' ? s : JSON.stringify(s);
  if (status >= 200 && status < 300 && typeof s === 'string' && ['ok', 'healthy'].includes(s.toLowerCase())) {
    return { healthy: true, status: s };
  }
  if (declaredBy && status >= 200 && status < 300 && typeof s === 'string') return { healthy: true, status: s, declared: declaredBy };
  return { healthy: false, why: `answered ${status} with status ${text ?? 'missing'} (expected 2xx and "ok" or "healthy")` };
}

export async function checkHealthHttp(o: HealthOptions): Promise<CheckResult> {
  const url = `http://127.0.0.1:${o.port}/health`;
  const end = o.startedAt + o.deadlineMs;
  let last = 'connection refused';
  let answered = false;
  // When the first answer came (a port bound late, then unhealthy until the deadline, says so).
  let firstAnswerMs: number | undefined;
  // The _v2's last answer, when it was the legacy's own unhealthy answer (same code, same status).
  let asLegacy: UnhealthyAnswer | undefined;
  for (;;) {
    if (o.proc?.exited()) {
      return result('health', false, Date.now() - o.startedAt, `${exitedDetail(o.proc)} (before /health on port ${o.port} was healthy)`);
    }
    try {
      const a = await httpGet(url, 1000);
      answered = true;
      firstAnswerMs ??= Date.now() - o.startedAt;
      const v = judgeHealth(a.status, a.body, o.declaredBy);
      if (v.healthy) {
        const ms = Date.now() - o.startedAt;
        return result('health', true, ms, `GET /health on port ${o.port} answered ${a.status} status "${v.status}" after ${secs(ms)}${declaredWords(v)}`);
      }
      last = v.why;
      asLegacy = asLegacyAnswer(o.port, a.status, a.body, o.legacy);
    } catch (err) {
      asLegacy = undefined;
      if (!answered) last = networkReason(err);
      else last = `stopped answering: ${networkReason(err)}`;
    }
    if (Date.now() >= end || o.signal?.aborted) break;
    await sleep(o.intervalMs ?? 100, o.signal);
  }
  if (!answered) {
    const detail = await unansweredDetail(o, url, last);
    return result('health', false, Date.now() - o.startedAt, detail);
  }
  const ms = Date.now() - o.startedAt;
  // Still unhealthy at the deadline (it was given the whole time to turn healthy), the way the legacy was.
  if (asLegacy) {
    return {
      ...result('health', true, ms, `/health on port ${o.port} answered ${asLegacyWords(asLegacy)} (for ${secs(o.deadlineMs)}, never healthy)`),
      as_legacy: { code: asLegacy.code, status: asLegacy.status, port: asLegacy.port },
    };
  }
  const late = firstAnswerMs !== undefined && firstAnswerMs > 2000 ? ` (it first answered ${secs(firstAnswerMs)} after the start)` : '';
  return result('health', false, ms, `/health on port ${o.port} ${last} for ${secs(o.deadlineMs)}${late}`);
}

/**
 * Why nothing answered on the health port by the deadline, in words a person can act on: bound
 * late (it answered a few seconds after the deadline: at N s), bound but silent (the agent holds
 * the port, GET /health never got an answer), never bound (refused throughout, and whether the
 * agent listens on other ports instead). The verdict is the same failure in every case.
 */
async function unansweredDetail(o: HealthOptions, url: string, last: string): Promise<string> {
  const within = `within the ${secs(o.deadlineMs)} deadline`;
  const held = () => (o.proc && !o.proc.exited() ? listeningPorts(o.proc.members()) : null);
  const atDeadline = held();
  if (atDeadline?.includes(o.port)) {
    return `port ${o.port} is bound by the agent but GET /health got no answer ${within} (${last}): its health server accepts connections and never answers`;
  }
  const graceMs = o.lateGraceMs ?? Math.min(LATE_BIND_GRACE_MS, o.deadlineMs / 2);
  const graceEnd = Date.now() + graceMs;
  while (Date.now() < graceEnd && !o.signal?.aborted && !o.proc?.exited()) {
    await sleep(250, o.signal);
    try {
      const a = await httpGet(url, 1000);
      const v = judgeHealth(a.status, a.body);
      const what = v.healthy ? `${a.status} status "${v.status}"` : v.why.replace(/^answered /, '');
      return `port ${o.port} was not bound ${within} (GET /health: ${last}); it bound late: /health first answered ${what} ${secs(Date.now() - o.startedAt)} after the start. Its start-up does slow work before it listens: bind the health port first`;
    } catch (err) {
      if (held()?.includes(o.port)) {
        return `port ${o.port} was not bound ${within} (GET /health: ${last}); the agent bound it late, at ${secs(Date.now() - o.startedAt)}, and GET /health then got no answer (${networkReason(err)})`;
      }
    }
  }
  const more = o.proc && !o.proc.exited() && !o.signal?.aborted ? ` nor in the ${secs(graceMs)} after` : '';
  const elsewhere = (atDeadline ?? []).filter((p) => p !== o.port);
  const instead = elsewhere.length
    ? `; the agent listens on ${elsewhere.length > 1 ? 'ports' : 'port'} ${elsewhere.join(', ')} instead: does it take its health port from the environment it is given?`
    : atDeadline
      ? '; the agent listens on no TCP port'
      : '';
  return `port ${o.port} was never bound: nothing answered on 127.0.0.1:${o.port} ${within}${more} (GET /health: ${last})${instead}`;
}
