// Registry: the agent appears in the service registry within the deadline
// (measured from its start). Embedded and external HTTP registries answer
// GET <url>/agents/<name>; a redis:// registry holds a hash `agent:<name>`
// and/or membership of the set `agents`. A record carrying another pid is a
// stale registration (an earlier run), not this agent.
import { createClient } from 'redis';
import type { CheckResult } from '../../core/types.js';
import { httpGet, networkReason } from '../http-util.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs, sleep } from './common.js';

export interface RegistryCheckOptions {
  kind: 'embedded' | 'http' | 'redis';
  url: string;
  name: string;
  /** The agent's pid: a record with another pid does not count. */
  pid?: number;
  startedAt: number;
  deadlineMs: number;
  proc?: AgentProcess;
  signal?: AbortSignal;
  intervalMs?: number;
}

type Lookup = { found: true; record: Record<string, unknown> } | { found: false; stalePid?: unknown };

interface Registry {
  lookup(name: string): Promise<Lookup>;
  close(): Promise<void>;
  label: string;
}

function httpRegistry(url: string, embedded: boolean): Registry {
  const base = url.replace(/\/+$/, '');
  return {
    label: embedded ? 'the embedded registry' : `registry ${redactUrl(base)}`,
    async lookup(name) {
      const a = await httpGet(`${base}/agents/${encodeURIComponent(name)}`, 1000);
      if (a.status === 404) return { found: false };
      if (a.status < 200 || a.status >= 300) throw new Error(`registry answered ${a.status}`);
      let body: unknown;
      try {
        body = JSON.parse(a.body);
      } catch {
        throw new Error('registry answered with a body that is not JSON');
      }
      const b = body as { record?: Record<string, unknown> } & Record<string, unknown>;
      return { found: true, record: b.record ?? b };
    },
    async close() {},
  };
}

/** Hide a password in a URL before it goes into a message. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

function redisRegistry(url: string): Registry {
  let client: ReturnType<typeof createClient> | undefined;
  const connect = async () => {
    if (client?.isReady) return client;
    await client?.disconnect().catch(() => {});
    const c = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
    c.on('error', () => {}); // failures surface through the awaited commands
    client = c;
    await c.connect();
    return c;
  };
  return {
    label: `redis ${redactUrl(url)}`,
    async lookup(name) {
      const c = await connect();
      const key = `agent:${name}`;
      const [type, member] = await Promise.all([c.type(key), c.sIsMember('agents', name)]);
      if (type === 'none' && !member) return { found: false };
      const record: Record<string, unknown> = type === 'hash' ? await c.hGetAll(key) : type === 'string' ? { value: await c.get(key) } : {};
      return { found: true, record };
    },
    async close() {
      await client?.disconnect().catch(() => {});
    },
  };
}

export async function checkRegistry(o: RegistryCheckOptions): Promise<CheckResult> {
  const registry = o.kind === 'redis' ? redisRegistry(o.url) : httpRegistry(o.url, o.kind === 'embedded');
  const end = o.startedAt + o.deadlineMs;
  let lastError: string | undefined;
  let stale: unknown;
  try {
    for (;;) {
      try {
        const l = await registry.lookup(o.name);
        lastError = undefined;
        if (l.found) {
          const pid = l.record.pid;
          if (o.pid === undefined || pid === undefined || Number(pid) === o.pid) {
            const ms = Date.now() - o.startedAt;
            return result('registry', true, ms, `${o.name} registered in ${registry.label} after ${secs(ms)}`);
          }
          stale = pid;
        }
      } catch (err) {
        lastError = networkReason(err);
      }
      if (o.proc?.exited()) {
        return result('registry', false, Date.now() - o.startedAt, `${o.name} not registered: ${exitedDetail(o.proc)}`);
      }
      if (Date.now() >= end || o.signal?.aborted) break;
      await sleep(o.intervalMs ?? 100, o.signal);
    }
  } finally {
    await registry.close();
  }
  const ms = Date.now() - o.startedAt;
  let why: string;
  if (lastError) why = `last registry error: ${lastError}`;
  else if (stale !== undefined) why = `${registry.label} only holds a stale record of pid ${String(stale)} (agent pid ${o.pid})`;
  else why = `${registry.label} answered but has no entry${agentSays(o.proc)}`;
  return result('registry', false, ms, `${o.name} not registered after ${secs(o.deadlineMs)}; ${why}`);
}

/** The agent's own last word about registering, when it logged one. */
function agentSays(proc?: AgentProcess): string {
  const line = proc
    ?.output()
    .split('\n')
    .filter((l) => /\bregist(er|ered|ering|ration|ry)\b/i.test(l))
    .pop();
  return line ? ` (agent log: ${line.trim().slice(0, 160)})` : '';
}
