// Where validated agents register and push metrics: embedded servers the tool
// starts on loopback (default), or real ones chosen by URL, from the command line or
// (to keep secrets off it, where `ps` shows them) from MIGRATE_REGISTRY_URL and
// MIGRATE_METRICS_URL. URLs are checked before anything is written or started, and
// real endpoints are probed once before a batch, so a wrong password or a registry
// that is down fails the run at once instead of every agent after its deadline.
import { UsageError } from '../core/errors.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from './embedded-registry.js';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { httpGet, httpPostJson, networkReason, timeoutDetail, type HttpAnswer } from './http-util.js';
import { parseMetrics } from './prometheus.js';
import { startMetricsSink, type MetricsSink } from './metrics-sink.js';
import { redactUrl } from './redact.js';

export type RegistryKind = 'embedded' | 'http' | 'redis';
/** `scrape`: no push; the metrics check reads the agent's own /metrics. */
export type MetricsKind = 'embedded' | 'pushgateway' | 'scrape';

export const REGISTRY_URL_ENV = 'MIGRATE_REGISTRY_URL';
export const METRICS_URL_ENV = 'MIGRATE_METRICS_URL';

export interface ValidationEnvironment {
  registryUrl: string;
  /** Empty when metricsKind is `scrape` (agents get no METRICS_URL). */
  metricsUrl: string;
  /** True when the tool started a registry or a metrics sink itself (close() stops them). */
  embedded: boolean;
  registryKind: RegistryKind;
  metricsKind: MetricsKind;
  registry?: EmbeddedRegistry;
  sink?: MetricsSink;
  /** The registry URL one started agent gets (the embedded registry: a scope of its own). */
  registryFor(scope: string): string;
  close(): Promise<void>;
}

export interface EndpointOptions {
  registryUrl?: string;
  metricsUrl?: string;
}

export function registryKindOf(url: string): Exclude<RegistryKind, 'embedded'> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--registry-url "${redactUrl(url)}" is not a URL (expected http://host:port or redis://host:port)`);
  }
  if (parsed.protocol === 'redis:') return 'redis';
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return 'http';
  throw new UsageError(`--registry-url "${redactUrl(url)}": unsupported scheme ${parsed.protocol} (use http://, https:// or redis://)`);
}

function checkMetricsUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--metrics-url "${redactUrl(url)}" is not a URL (expected http://host:port of a Pushgateway, or "scrape")`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--metrics-url "${redactUrl(url)}": unsupported scheme ${parsed.protocol} (use http:// or https://)`);
  }
}

/** Fail on a --registry-url or --metrics-url that could never work, before anything starts. */
export function checkEnvironmentUrls(opts: EndpointOptions): void {
  resolveEndpoints(opts);
}

/**
 * The URLs a run uses: the flags, else MIGRATE_REGISTRY_URL / MIGRATE_METRICS_URL,
 * each checked (a UsageError naming the flag, the password masked). Call it before
 * anything is written.
 */
export function resolveEndpoints(opts: EndpointOptions = {}, env: Record<string, string | undefined> = process.env): EndpointOptions {
  const registryUrl = opts.registryUrl || env[REGISTRY_URL_ENV] || undefined;
  const metricsUrl = opts.metricsUrl || env[METRICS_URL_ENV] || undefined;
  if (registryUrl) registryKindOf(registryUrl);
  if (metricsUrl && metricsUrl !== 'scrape') checkMetricsUrl(metricsUrl);
  return { registryUrl, metricsUrl };
}

export async function startValidationEnvironment(opts: EndpointOptions = {}): Promise<ValidationEnvironment> {
  const { registryUrl, metricsUrl } = resolveEndpoints(opts);
  const registryKind: RegistryKind = registryUrl ? registryKindOf(registryUrl) : 'embedded';
  const metricsKind: MetricsKind = !metricsUrl ? 'embedded' : metricsUrl === 'scrape' ? 'scrape' : 'pushgateway';
  // Started together: each is a thread of its own to start (see server-thread.ts).
  const [startedRegistry, startedSink] = await Promise.allSettled([
    registryKind === 'embedded' ? startEmbeddedRegistry() : undefined,
    metricsKind === 'embedded' ? startMetricsSink() : undefined,
  ]);
  const registry: EmbeddedRegistry | undefined = startedRegistry.status === 'fulfilled' ? startedRegistry.value : undefined;
  const sink: MetricsSink | undefined = startedSink.status === 'fulfilled' ? startedSink.value : undefined;
  for (const started of [startedRegistry, startedSink]) {
    if (started.status === 'rejected') {
      await Promise.all([registry?.close(), sink?.close()]);
      throw started.reason;
    }
  }
  return {
    registryUrl: registry?.url ?? registryUrl!,
    metricsUrl: sink?.url ?? (metricsKind === 'scrape' ? '' : metricsUrl!.replace(/\/+$/, '')),
    embedded: Boolean(registry || sink),
    registryKind,
    metricsKind,
    registry,
    sink,
    registryFor: (scope) => registry?.scoped(scope) ?? registryUrl!,
    async close() {
      await Promise.all([registry?.close(), sink?.close()]);
    },
  };
}

/** How long each request of the startup probe may take. */
const PROBE_MS = 3000;

/**
 * Probe the real registry and metrics sink once: reachable, taking our credentials, and
 * speaking their protocol (a web server that answers anything is not a registry: each agent
 * would wait out its registry deadline against it). Throws a one-line UsageError (passwords
 * masked) when one is not.
 */
export async function checkEndpoints(env: ValidationEnvironment): Promise<void> {
  const problems: string[] = [];
  if (env.registryKind === 'redis') {
    const p = await probeRedis(env.registryUrl);
    if (p) problems.push(`registry ${redactUrl(env.registryUrl)} ${p}`);
  } else if (env.registryKind === 'http') {
    const p = await probeHttpRegistry(env.registryUrl);
    if (p) problems.push(`registry ${redactUrl(env.registryUrl)} ${p}`);
  }
  if (env.metricsKind === 'pushgateway') {
    const p = await probePushgateway(env.metricsUrl);
    if (p) problems.push(`metrics sink ${redactUrl(env.metricsUrl)} ${p}`);
  }
  if (problems.length) throw new UsageError(`cannot validate: ${problems.join('; ')}`);
}

/** Why a probe's request failed: what a timeout met (accepted, no answer within N s), else the network error. */
function unreachable(err: unknown, what: string): string {
  const t = timeoutDetail(err);
  return t ? `${t} (${what})` : `is unreachable: ${networkReason(err)}`;
}

/** " (text/html)" / " (an HTML page)" / "": what an answer that is not the protocol's was. */
function answerKind(type: string | undefined, body: string): string {
  const t = (type ?? '').split(';')[0]!.trim();
  if (t) return ` (${t})`;
  return /^\s*</.test(body) ? ' (an HTML page)' : '';
}

const REGISTRY_PROTOCOL = 'a registry takes POST <url>/register with {"name"} and answers GET <url>/agents/<name>';

/**
 * An HTTP registry's round trip, as an agent and the registry check use it: POST /register a
 * probe name (migrate-probe-<pid>-<hex>), GET /agents/<it> answers 2xx JSON (a registry that
 * shows a registration late has PROBE_MS), then POST /deregister it (best effort). A reason when
 * it is not a registry, null when it is.
 */
async function probeHttpRegistry(url: string): Promise<string | null> {
  const base = url.replace(/\/+$/, '');
  const name = `migrate-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const entry = `/agents/${encodeURIComponent(name)}`;
  let posted: Awaited<ReturnType<typeof httpPostJson>>;
  try {
    posted = await httpPostJson(`${base}/register`, { name, pid: process.pid, probe: 'migrate checks this is a registry; deregistered at once' }, PROBE_MS);
  } catch (err) {
    return unreachable(err, 'POST /register');
  }
  if (posted.status === 401 || posted.status === 403) return `refused the credentials (HTTP ${posted.status})`;
  if (posted.status < 200 || posted.status >= 300) {
    return `answers HTTP but is not a registry: POST /register answered ${posted.status}${answerKind(posted.type, posted.body)}; ${REGISTRY_PROTOCOL}`;
  }
  try {
    const end = Date.now() + PROBE_MS;
    for (;;) {
      let a: HttpAnswer;
      try {
        a = await httpGet(`${base}${entry}`, PROBE_MS);
      } catch (err) {
        return unreachable(err, `GET ${entry}`);
      }
      if (a.status === 401 || a.status === 403) return `refused the credentials (HTTP ${a.status} on GET ${entry})`;
      if (a.status >= 200 && a.status < 300) {
        try {
          JSON.parse(a.body);
          return null;
        } catch {
          return `answers HTTP but is not a registry: GET ${entry} answered ${a.status} with a body that is not JSON${answerKind(undefined, a.body)}; ${REGISTRY_PROTOCOL}`;
        }
      }
      if (a.status !== 404 || Date.now() >= end) {
        return `answers HTTP but is not a registry: it took POST /register (HTTP ${posted.status}) but GET ${entry} answered ${a.status}${answerKind(undefined, a.body)}${a.status === 404 ? ` for ${(PROBE_MS / 1000).toFixed(0)} s` : ''}; ${REGISTRY_PROTOCOL}`;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await httpPostJson(`${base}/deregister`, { name }, 1000).catch(() => undefined);
  }
}

/** A Pushgateway answers GET /metrics 2xx in the Prometheus text format (what the metrics check reads back). */
async function probePushgateway(url: string): Promise<string | null> {
  let a: HttpAnswer;
  try {
    a = await httpGet(`${url}/metrics`, PROBE_MS);
  } catch (err) {
    return unreachable(err, 'GET /metrics');
  }
  if (a.status === 401 || a.status === 403) return `refused the credentials (HTTP ${a.status})`;
  const not = 'answers HTTP but is not a Pushgateway: GET /metrics answered';
  if (a.status < 200 || a.status >= 300) return `${not} ${a.status}${answerKind(undefined, a.body)}`;
  if (/^\s*</.test(a.body)) return `${not} ${a.status} with an HTML page, not the Prometheus text format`;
  try {
    parseMetrics(a.body);
  } catch (err) {
    return `${not} ${a.status} with ${(err as Error).message}`;
  }
  return null;
}

/** Connect and PING, bounded as a whole: a port that accepts and never answers must not hang the run. */
async function probeRedis(url: string): Promise<string | null> {
  // The TCP connection first, on its own: the client's connect() also waits for its first
  // commands' answers, so it cannot tell "no connection" from "connected, no answer".
  const tcp = await tcpConnect(url, PROBE_MS);
  if (tcp) return tcp;
  // The redis client (some 900 modules) is loaded only when a real Redis is talked to.
  const { createClient } = await import('redis');
  const c = createClient({ url, socket: { connectTimeout: PROBE_MS, reconnectStrategy: false } });
  c.on('error', () => {});
  let connected = false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), PROBE_MS)));
  try {
    const work = (async () => {
      await c.connect();
      connected = true;
      await c.ping();
      return 'ok' as const;
    })();
    // Once the probe gave up, the disconnect below rejects the pending PING: not an unhandled rejection.
    work.catch(() => {});
    const done = await Promise.race([work, timedOut]);
    if (done === 'timeout') return `accepted the connection but sent no answer ${connected ? 'to PING' : 'to the client\'s first commands'} within ${PROBE_MS / 1000} s`;
    return null;
  } catch (err) {
    const msg = String((err as Error)?.message ?? err);
    const auth = /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(msg);
    return auth ? `refused the credentials (${msg.split('\n')[0]})` : `accepted the connection, then: ${networkReason(err)} (is it a Redis server?)`;
  } finally {
    clearTimeout(timer);
    // disconnect() closes the socket at once (quit() would wait for an answer that may never come).
    await Promise.race([c.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
  }
}

/** A TCP connection to a redis:// URL's host and port (closed at once): null, or why it could not be made. */
function tcpConnect(url: string, timeoutMs: number): Promise<string | null> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(u.port || 6379);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`did not accept a connection within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve(`is unreachable: ${networkReason(err)}`);
    });
  });
}
