// Where validated agents register and push metrics: embedded servers the tool
// starts on loopback (default), or real ones chosen by URL, from the command line or
// (to keep secrets off it, where `ps` shows them) from MIGRATE_REGISTRY_URL and
// MIGRATE_METRICS_URL. URLs are checked before anything is written or started, and
// real endpoints are probed once before a batch, so a wrong password or a registry
// that is down fails the run at once instead of every agent after its deadline.
import { UsageError } from '../core/errors.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from './embedded-registry.js';
import { httpGet, networkReason } from './http-util.js';
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

/**
 * Probe the real registry and metrics sink once: reachable, and taking our credentials.
 * Throws a one-line UsageError (passwords masked) when one is not.
 */
export async function checkEndpoints(env: ValidationEnvironment): Promise<void> {
  const problems: string[] = [];
  if (env.registryKind === 'redis') {
    // The redis client (some 900 modules) is loaded only when a real Redis is talked to.
    const { createClient } = await import('redis');
    const c = createClient({ url: env.registryUrl, socket: { connectTimeout: 2000, reconnectStrategy: false } });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      const auth = /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(msg);
      problems.push(`registry ${redactUrl(env.registryUrl)} ${auth ? `refused the credentials (${msg.split('\n')[0]})` : `is unreachable: ${networkReason(err)}`}`);
    } finally {
      await c.disconnect().catch(() => {});
    }
  } else if (env.registryKind === 'http') {
    const p = await probeHttp(env.registryUrl);
    if (p) problems.push(`registry ${redactUrl(env.registryUrl)} ${p}`);
  }
  if (env.metricsKind === 'pushgateway') {
    const p = await probeHttp(`${env.metricsUrl}/metrics`);
    if (p) problems.push(`metrics sink ${redactUrl(env.metricsUrl)} ${p}`);
  }
  if (problems.length) throw new UsageError(`cannot validate: ${problems.join('; ')}`);
}

/** Any HTTP answer but 401/403 means the endpoint is there; a reason when it is not. */
async function probeHttp(url: string): Promise<string | null> {
  try {
    const a = await httpGet(url, 3000);
    return a.status === 401 || a.status === 403 ? `refused the credentials (HTTP ${a.status})` : null;
  } catch (err) {
    return `is unreachable: ${networkReason(err)}`;
  }
}
