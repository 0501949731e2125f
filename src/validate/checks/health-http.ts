// Health over HTTP: GET /health on the agent's health port answers 2xx with
// JSON whose status is ok or healthy, or, when it never does, answers exactly as the legacy
// agent's own /health answered in this environment (a health that follows a business dependency
// the validator does not provide: an upstream gateway, a database): the rewrite changed nothing
// there, and requiring 200 would fail every faithful migration of such an agent.
import type { CheckResult } from '../../core/types.js';
import { httpGet, networkReason } from '../http-util.js';
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
}

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

export type HealthVerdict = { healthy: true; status: string } | { healthy: false; why: string };

/** Judge one /health answer. */
export function judgeHealth(status: number, body: string): HealthVerdict {
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
  return { healthy: false, why: `answered ${status} with status ${text ?? 'missing'} (expected 2xx and "ok" or "healthy")` };
}

export async function checkHealthHttp(o: HealthOptions): Promise<CheckResult> {
  const url = `http://127.0.0.1:${o.port}/health`;
  const end = o.startedAt + o.deadlineMs;
  let last = 'connection refused';
  let answered = false;
  // The _v2's last answer, when it was the legacy's own unhealthy answer (same code, same status).
  let asLegacy: UnhealthyAnswer | undefined;
  for (;;) {
    if (o.proc?.exited()) {
      return result('health', false, Date.now() - o.startedAt, `${exitedDetail(o.proc)} (before /health on port ${o.port} was healthy)`);
    }
    try {
      const a = await httpGet(url, 1000);
      answered = true;
      const v = judgeHealth(a.status, a.body);
      if (v.healthy) {
        const ms = Date.now() - o.startedAt;
        return result('health', true, ms, `GET /health on port ${o.port} answered ${a.status} status "${v.status}" after ${secs(ms)}`);
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
  const ms = Date.now() - o.startedAt;
  if (!answered) return result('health', false, ms, `nothing answered on 127.0.0.1:${o.port} within ${secs(o.deadlineMs)} (${last})`);
  // Still unhealthy at the deadline (it was given the whole time to turn healthy), the way the legacy was.
  if (asLegacy) {
    return {
      ...result('health', true, ms, `/health on port ${o.port} answered ${asLegacyWords(asLegacy)} (for ${secs(o.deadlineMs)}, never healthy)`),
      as_legacy: { code: asLegacy.code, status: asLegacy.status, port: asLegacy.port },
    };
  }
  return result('health', false, ms, `/health on port ${o.port} ${last} for ${secs(o.deadlineMs)}`);
}
