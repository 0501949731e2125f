// Registry: the agent itself registers in the service registry within the deadline
// (measured from its start). Only a registration this very process made after it
// started counts:
// - the embedded registry gives every started agent a scope of its own in its
//   REGISTRY_URL (the legacy baseline run and other agents register elsewhere) and
//   stamps each registration with its arrival time (an agent that drops the path and
//   registers at the root is still found there, by that time and its pid);
// - an external HTTP registry (GET <url>/agents/<name>) or a redis:// one (hash
//   `agent:<name>`) holds state from before: the entry seen just before the agent
//   started does not count, the record must carry a pid of the agent's own process
//   tree, and a time it carries must not be older than the agent. Bare membership of
//   the Redis set `agents` proves nothing and does not count.
// Errors that cannot heal (bad credentials, unknown host, a registry refusing
// connections for seconds) end the check at once rather than at the deadline.
import type { createClient } from 'redis';
import type { CheckResult } from '../../core/types.js';
import { httpGet, networkReason } from '../http-util.js';
import { redactUrl } from '../redact.js';
import type { AgentProcess } from '../runner.js';
import { exitedDetail, result, secs, sleep } from './common.js';

export { redactUrl };

export interface RegistryCheckOptions {
  kind: 'embedded' | 'http' | 'redis';
  /** The registry URL as the agent got it (for the embedded registry: the agent's own scope). */
  url: string;
  name: string;
  /** The agent's pid: a record with another pid (not of its process tree) does not count. */
  pid?: number;
  /** True when a pid is the agent or one of its processes (default: equal to `pid`). */
  owns?: (pid: number) => boolean;
  startedAt: number;
  deadlineMs: number;
  /** The entry of an external registry just before the agent started (registrySnapshot). */
  before?: string;
  proc?: AgentProcess;
  signal?: AbortSignal;
  intervalMs?: number;
}

export interface Entry {
  record: Record<string, unknown>;
  /** When the registration arrived or says it was made (epoch ms), when known. */
  at?: number;
  /** Exactly what the registry holds, to tell an entry from before from a new one. */
  fingerprint: string;
  /** Redis: only a member of the set `agents`, no record. */
  setOnly?: boolean;
}

interface Registry {
  lookup(name: string): Promise<Entry | null>;
  close(): Promise<void>;
  label: string;
}

/** An error no retry will cure: fail now instead of at the deadline. */
class PermanentError extends Error {}

function httpRegistry(url: string, embedded: boolean): Registry {
  const base = url.replace(/\/+$/, '');
  // An agent whose code drops the path of REGISTRY_URL (urljoin with "/register")
  // registers outside its scope: found at the root, where only the time and pid tie it to it.
  const root = embedded ? base.replace(/\/s\/[^/]+$/, '') : base;
  return {
    label: embedded ? 'the embedded registry' : `registry ${redactUrl(base)}`,
    async lookup(name) {
      const entry = `/agents/${encodeURIComponent(name)}`;
      let a = await httpGet(`${base}${entry}`, 1000);
      if (a.status === 404 && root !== base) a = await httpGet(`${root}${entry}`, 1000);
      if (a.status === 404) return null;
      if (a.status === 401 || a.status === 403) throw new PermanentError(`registry answered ${a.status}: the credentials are refused`);
      if (a.status < 200 || a.status >= 300) throw new Error(`registry answered ${a.status}`);
      let body: unknown;
      try {
        body = JSON.parse(a.body);
      } catch {
        throw new Error('registry answered with a body that is not JSON');
      }
      const b = body as { record?: Record<string, unknown>; at?: unknown } & Record<string, unknown>;
      const record = b.record ?? b;
      const at = embedded && typeof b.at === 'number' ? b.at : timeOf(record);
      return { record, at, fingerprint: a.body };
    },
    async close() {},
  };
}

/** A registration time the record carries itself (seconds or milliseconds since the epoch). */
function timeOf(record: Record<string, unknown>): number | undefined {
  for (const key of ['registered_at', 'registeredAt', 'timestamp', 'time', 'at', 'started_at']) {
    const v = record[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n) && n > 0) return n < 1e12 ? n * 1000 : n;
    if (typeof v === 'string') {
      const t = Date.parse(v);
      if (Number.isFinite(t)) return t;
    }
  }
  return undefined;
}

function redisRegistry(url: string): Registry {
  let client: ReturnType<typeof createClient> | undefined;
  const connect = async () => {
    if (client?.isReady) return client;
    await client?.disconnect().catch(() => {});
    // The redis client (some 900 modules) is loaded only when a real Redis is talked to.
    const c = (await import('redis')).createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
    c.on('error', () => {}); // failures surface through the awaited commands
    client = c;
    try {
      await c.connect();
    } catch (err) {
      if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(String((err as Error)?.message))) {
        throw new PermanentError(`redis refused the credentials (${(err as Error).message.split('\n')[0]})`);
      }
      throw err;
    }
    return c;
  };
  return {
    label: `redis ${redactUrl(url)}`,
    async lookup(name) {
      const c = await connect();
      const key = `agent:${name}`;
      const [type, member] = await Promise.all([c.type(key), c.sIsMember('agents', name)]);
      if (type === 'none' && !member) return null;
      if (type === 'none') return { record: {}, fingerprint: 'set member only', setOnly: true };
      const record: Record<string, unknown> = type === 'hash' ? await c.hGetAll(key) : type === 'string' ? parseOr(await c.get(key)) : {};
      return { record, at: timeOf(record), fingerprint: `${type}:${JSON.stringify(record)}` };
    },
    async close() {
      await client?.disconnect().catch(() => {});
    },
  };
}

function parseOr(text: string | null): Record<string, unknown> {
  try {
    const v = JSON.parse(text ?? '') as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : { value: text };
  } catch {
    return { value: text };
  }
}

function registryFor(o: { kind: RegistryCheckOptions['kind']; url: string }): Registry {
  return o.kind === 'redis' ? redisRegistry(o.url) : httpRegistry(o.url, o.kind === 'embedded');
}

/** What an external registry holds for the agent right now (undefined: nothing, or it cannot be read). */
export async function registrySnapshot(o: { kind: RegistryCheckOptions['kind']; url: string; name: string }): Promise<string | undefined> {
  if (o.kind === 'embedded') return undefined;
  const registry = registryFor(o);
  try {
    return (await registry.lookup(o.name))?.fingerprint;
  } catch {
    return undefined;
  } finally {
    await registry.close();
  }
}

/** Clock skew allowed between a time an external record carries and our start time. */
const SKEW_MS = 1000;
/** How long a registry may refuse connections before that counts as down for good. */
const REFUSED_FOR_MS = 3000;

/** Why an entry is not this agent's registration, or null when it is. */
function notOurs(e: Entry, o: RegistryCheckOptions, label: string): string | null {
  if (e.setOnly) return `${label} only lists ${o.name} in the set "agents", which cannot tell who registered it (no record agent:${o.name})`;
  const rawPid = e.record.pid;
  const pid = rawPid === undefined || rawPid === null || rawPid === '' ? undefined : Number(rawPid);
  const owns = o.owns ?? ((p: number) => p === o.pid);
  if (pid !== undefined && !(Number.isInteger(pid) && (pid === o.pid || owns(pid)))) {
    return `${label} only holds a stale record of pid ${String(rawPid)} (agent pid ${o.pid})`;
  }
  if (e.at !== undefined && e.at < o.startedAt - (o.kind === 'embedded' ? 0 : SKEW_MS)) {
    return `${label} only holds a record from ${new Date(e.at).toISOString()}, before the agent started`;
  }
  if (o.before !== undefined && e.fingerprint === o.before) return `${label} only holds the entry it had before the agent started`;
  // The embedded registry's scope is the agent's own; elsewhere only a pid ties the record to it.
  if (pid === undefined && o.kind !== 'embedded') return `${label} holds a record of ${o.name} without a pid, so it cannot be told to be this agent's`;
  return null;
}

export async function checkRegistry(o: RegistryCheckOptions): Promise<CheckResult> {
  return (await watchRegistration(o)).result;
}

/** The registry check, with the entry it accepted as this agent's registration (for the deregister check). */
export async function watchRegistration(o: RegistryCheckOptions): Promise<{ result: CheckResult; entry?: Entry }> {
  const registry = registryFor(o);
  const end = o.startedAt + o.deadlineMs;
  let lastError: string | undefined;
  let refusedSince: number | undefined;
  let stale: string | undefined;
  try {
    for (;;) {
      try {
        const e = await registry.lookup(o.name);
        lastError = undefined;
        refusedSince = undefined;
        if (e) {
          const why = notOurs(e, o, registry.label);
          if (!why) {
            const ms = Date.now() - o.startedAt;
            return { result: result('registry', true, ms, `${o.name} registered in ${registry.label} after ${secs(ms)}`), entry: e };
          }
          stale = why;
        }
      } catch (err) {
        if (err instanceof PermanentError) {
          return { result: result('registry', false, Date.now() - o.startedAt, `${o.name} not registered: ${registry.label}: ${err.message} (an error that will not heal; not retried)`) };
        }
        lastError = networkReason(err);
        if (lastError === 'host not found') {
          return { result: result('registry', false, Date.now() - o.startedAt, `${o.name} not registered: ${registry.label}: host not found (not retried)`) };
        }
        if (lastError === 'connection refused') {
          refusedSince ??= Date.now();
          if (Date.now() - refusedSince >= REFUSED_FOR_MS) {
            return { result: result('registry', false, Date.now() - o.startedAt, `${o.name} not registered: ${registry.label} refused connections for ${secs(REFUSED_FOR_MS)}; it is down`) };
          }
        } else refusedSince = undefined;
      }
      if (o.proc?.exited()) {
        return { result: result('registry', false, Date.now() - o.startedAt, `${o.name} not registered: ${exitedDetail(o.proc)}`) };
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
  else if (stale !== undefined) why = stale;
  else why = `${registry.label} answered but has no entry${agentSays(o.proc)}`;
  return { result: result('registry', false, ms, `${o.name} not registered after ${secs(o.deadlineMs)}; ${why}`) };
}

/** The agent's own last word about registering (or what `about` matches), when it logged one. */
export function agentSays(proc?: AgentProcess, about = /\bregist(er|ered|ering|ration|ry)\b/i): string {
  const line = proc
    ?.output()
    .split('\n')
    .filter((l) => about.test(l))
    .pop();
  return line ? ` (agent log: ${line.trim().slice(0, 160)})` : '';
}

/**
 * What the agent's base said was still running when its stop ran past the grace period (the reference
 * Python base logs `stop overdue: the teardown hook X.cleanup() did not return within 3.0 s of SIGTERM,
 * still in cleanup() at agents/x_v2.py:117 (self.uploader.join())`): that reason, else ''.
 */
export function stillRunning(proc?: AgentProcess): string {
  const line = proc?.output().split('\n').filter((l) => /\bstop overdue: /.test(l)).pop();
  if (!line) return '';
  return line.slice(line.indexOf('stop overdue: ') + 'stop overdue: '.length).replace(/; deregistering and exiting\s*$/, '').trim().slice(0, 240);
}

/** What a registry holds of one agent at one moment (see registrationNow). */
export type RegistrationNow = { label: string } & ({ state: 'gone' | 'there'; entry?: Entry } | { state: 'unknown'; error: string });

/**
 * What the registry holds of this agent right now: 'there' when it still holds its registration
 * (the entry the registry check accepted, an entry of the same pid, or one that check would accept
 * as this process's), 'gone' when it holds nothing of it (nothing, or only an entry from before it
 * started or of another process), 'unknown' when the registry cannot be read.
 */
export async function registrationNow(o: RegistryCheckOptions, accepted?: Entry, tries = 4): Promise<RegistrationNow> {
  const registry = registryFor(o);
  const label = registry.label;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const e = await registry.lookup(o.name);
        if (!e) return { label, state: 'gone' };
        const pid = accepted?.record.pid;
        const samePid = pid !== undefined && pid !== null && pid !== '' && String(e.record.pid) === String(pid);
        const ours = !notOurs(e, o, label) || e.fingerprint === accepted?.fingerprint || samePid;
        return { label, state: ours ? 'there' : 'gone', entry: e };
      } catch (err) {
        const why = err instanceof PermanentError ? err.message : networkReason(err);
        if (err instanceof PermanentError || attempt >= tries) return { label, state: 'unknown', error: why };
        await sleep(250, o.signal);
      }
    }
  } finally {
    await registry.close();
  }
}

/**
 * registrationNow once the agent has exited, watched until the registration is gone or `settleMs` has
 * passed: a /deregister sent before the exit may not have landed yet (a starved registry reads it late;
 * the reference base gives up waiting for the answer after 1 s and exits 0 with the request in flight),
 * and a single read at the exit called a deregistered agent registered. Only a registration still
 * there at the end is one.
 */
export async function registrationAfterExit(o: RegistryCheckOptions, accepted: Entry | undefined, settleMs: number, tries?: number): Promise<RegistrationNow> {
  const end = Date.now() + settleMs;
  for (;;) {
    const now = await registrationNow(o, accepted, tries);
    if (now.state !== 'there' || Date.now() >= end || o.signal?.aborted) return now;
    await sleep(Math.min(o.intervalMs ?? 100, Math.max(0, end - Date.now())), o.signal);
  }
}

/**
 * Watch the registry until the agent's registration has landed, `withinMs` from its start has passed or
 * it exited: the state then ('there' once it registered).
 */
export async function registrationLanded(o: RegistryCheckOptions, withinMs: number): Promise<RegistrationNow> {
  const end = o.startedAt + withinMs;
  for (;;) {
    const now = await registrationNow(o, undefined, 1);
    if (now.state === 'there' || Date.now() >= end || o.signal?.aborted || o.proc?.exited()) return now;
    await sleep(Math.min(o.intervalMs ?? 100, Math.max(0, end - Date.now())), o.signal);
  }
}
