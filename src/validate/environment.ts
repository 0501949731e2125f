// Where validated agents register and push metrics: embedded servers the tool
// starts on loopback (default), or real ones chosen by URL.
import { UsageError } from '../core/errors.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from './embedded-registry.js';
import { startMetricsSink, type MetricsSink } from './metrics-sink.js';

export type RegistryKind = 'embedded' | 'http' | 'redis';
/** `scrape`: no push; the metrics check reads the agent's own /metrics. */
export type MetricsKind = 'embedded' | 'pushgateway' | 'scrape';

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
  close(): Promise<void>;
}

export function registryKindOf(url: string): Exclude<RegistryKind, 'embedded'> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--registry-url "${url}" is not a URL (expected http://host:port or redis://host:port)`);
  }
  if (parsed.protocol === 'redis:') return 'redis';
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return 'http';
  throw new UsageError(`--registry-url "${url}": unsupported scheme ${parsed.protocol} (use http://, https:// or redis://)`);
}

function checkMetricsUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--metrics-url "${url}" is not a URL (expected http://host:port of a Pushgateway, or "scrape")`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--metrics-url "${url}": unsupported scheme ${parsed.protocol} (use http:// or https://)`);
  }
}

/** Fail on a --registry-url or --metrics-url that could never work, before anything starts. */
export function checkEnvironmentUrls(opts: { registryUrl?: string; metricsUrl?: string }): void {
  if (opts.registryUrl) registryKindOf(opts.registryUrl);
  if (opts.metricsUrl && opts.metricsUrl !== 'scrape') checkMetricsUrl(opts.metricsUrl);
}

export async function startValidationEnvironment(
  opts: { registryUrl?: string; metricsUrl?: string } = {},
): Promise<ValidationEnvironment> {
  const registryKind: RegistryKind = opts.registryUrl ? registryKindOf(opts.registryUrl) : 'embedded';
  const metricsKind: MetricsKind = !opts.metricsUrl ? 'embedded' : opts.metricsUrl === 'scrape' ? 'scrape' : 'pushgateway';
  if (metricsKind === 'pushgateway') checkMetricsUrl(opts.metricsUrl!);
  const registry = registryKind === 'embedded' ? await startEmbeddedRegistry() : undefined;
  let sink: MetricsSink | undefined;
  try {
    sink = metricsKind === 'embedded' ? await startMetricsSink() : undefined;
  } catch (err) {
    await registry?.close();
    throw err;
  }
  return {
    registryUrl: registry?.url ?? opts.registryUrl!,
    metricsUrl: sink?.url ?? (metricsKind === 'scrape' ? '' : opts.metricsUrl!.replace(/\/+$/, '')),
    embedded: Boolean(registry || sink),
    registryKind,
    metricsKind,
    registry,
    sink,
    async close() {
      await Promise.all([registry?.close(), sink?.close()]);
    },
  };
}
