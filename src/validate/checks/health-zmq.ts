// Health over ZMQ REQ/REP: send {"action": "health_check"} to the agent's
// health port and expect a JSON reply whose status is ok or healthy.
import type { CheckResult } from '../../core/types.js';
import type { AgentProcess } from '../runner.js';
import { judgeHealth } from './health-http.js';
import { exitedDetail, result, secs, sleep } from './common.js';

export interface ZmqHealthOptions {
  port: number;
  deadlineMs: number;
  startedAt: number;
  proc?: AgentProcess;
  signal?: AbortSignal;
  /** Time one request may take (bounded: a REQ socket waits forever otherwise). */
  requestTimeoutMs?: number;
}

/** One probe; resolves with the reply text or rejects (timeout, no peer). */
export async function zmqRequest(port: number, payload: unknown, timeoutMs: number): Promise<string> {
  // Loaded lazily: a native module, needed only by agents whose health is ZMQ.
  const { Request } = await import('zeromq');
  // A fresh socket per attempt: a REQ socket whose reply timed out is unusable.
  const sock = new Request({ sendTimeout: timeoutMs, receiveTimeout: timeoutMs, linger: 0 });
  try {
    sock.connect(`tcp://127.0.0.1:${port}`);
    await sock.send(JSON.stringify(payload));
    const [reply] = await sock.receive();
    return reply!.toString('utf8');
  } finally {
    sock.close();
  }
}

export async function checkHealthZmq(o: ZmqHealthOptions): Promise<CheckResult> {
  const end = o.startedAt + o.deadlineMs;
  let last = 'no reply';
  for (;;) {
    if (o.proc?.exited()) {
      return result('health', false, Date.now() - o.startedAt, `${exitedDetail(o.proc)} (before the ZMQ health probe on port ${o.port} answered)`);
    }
    const timeout = Math.max(100, Math.min(o.requestTimeoutMs ?? 1000, end - Date.now()));
    try {
      const reply = await zmqRequest(o.port, { action: 'health_check' }, timeout);
      const v = judgeHealth(200, reply);
      const ms = Date.now() - o.startedAt;
      if (v.healthy) return result('health', true, ms, `ZMQ health_check on port ${o.port} answered status "${v.status}" after ${secs(ms)}`);
      last = v.why.replace(/^answered 200 with/, 'replied with');
    } catch (err) {
      const code = (err as { code?: string }).code;
      last = code === 'EAGAIN' ? `no reply within ${secs(timeout)}` : (err as Error).message;
    }
    if (Date.now() >= end || o.signal?.aborted) break;
    await sleep(100, o.signal);
  }
  return result('health', false, Date.now() - o.startedAt, `ZMQ health probe on tcp://127.0.0.1:${o.port} failed for ${secs(o.deadlineMs)}: ${last}`);
}
