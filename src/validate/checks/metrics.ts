// Metrics: at least one sample labelled with the agent (label `agent` or `job`
// equal to its name) arrives at the sink (embedded or a real Pushgateway,
// read back through GET <url>/metrics) or, in scrape mode, is served by the
// agent's own /metrics. A push older than this run does not count.
import type { CheckResult } from '../../core/types.js';
import { httpGet, networkReason } from '../http-util.js';
import { flatten, parseMetrics, renderSample, type Sample } from '../prometheus.js';
import type { AgentProcess } from '../runner.js';
import { clip, exitedDetail, result, secs, sleep } from './common.js';
import { redactUrl } from './registry.js';

export interface MetricsCheckOptions {
  kind: 'embedded' | 'pushgateway' | 'scrape';
  /** The sink or Pushgateway URL (unused for scrape). */
  url: string;
  /** The agent's health port, which serves /metrics. */
  healthPort: number;
  name: string;
  startedAt: number;
  deadlineMs: number;
  proc?: AgentProcess;
  signal?: AbortSignal;
  intervalMs?: number;
}

/** Sinks' own bookkeeping series, which prove a push happened but are not the agent's samples. */
const BOOKKEEPING = new Set(['push_time_seconds', 'push_failure_time_seconds']);

export function agentSamples(samples: Sample[], name: string): Sample[] {
  return samples.filter((s) => !BOOKKEEPING.has(s.name) && (s.labels.agent === name || s.labels.job === name));
}

/** Newest push time (epoch seconds) of the agent's groups; undefined when the sink does not say. */
export function lastPushTime(samples: Sample[], name: string): number | undefined {
  const times = samples.filter((s) => s.name === 'push_time_seconds' && s.labels.job === name).map((s) => Number(s.value));
  return times.length ? Math.max(...times) : undefined;
}

async function fetchSamples(url: string): Promise<Sample[]> {
  const a = await httpGet(url, 2000);
  if (a.status < 200 || a.status >= 300) throw new Error(`${url} answered ${a.status}`);
  return flatten(parseMetrics(a.body));
}

export async function checkMetrics(o: MetricsCheckOptions): Promise<CheckResult> {
  const scrape = o.kind === 'scrape';
  const target = scrape ? `http://127.0.0.1:${o.healthPort}/metrics` : `${o.url.replace(/\/+$/, '')}/metrics`;
  const where = scrape ? `the agent's /metrics (port ${o.healthPort})` : o.kind === 'embedded' ? 'the embedded metrics sink' : `Pushgateway ${redactUrl(o.url)}`;
  const end = o.startedAt + o.deadlineMs;
  let lastError: string | undefined;
  let staleOnly = false;
  for (;;) {
    try {
      const samples = await fetchSamples(target);
      lastError = undefined;
      const mine = agentSamples(samples, o.name);
      const pushed = lastPushTime(samples, o.name);
      // Allow a little clock skew between the sink's stamp and our start time.
      const fresh = scrape || pushed === undefined || pushed * 1000 >= o.startedAt - 1000;
      if (mine.length && fresh) {
        const ms = Date.now() - o.startedAt;
        return result('metrics', true, ms, `${mine.length} sample(s) labelled ${o.name} at ${where} after ${secs(ms)}, e.g. ${clip(renderSample(mine[0]!), 100)}`);
      }
      staleOnly = mine.length > 0 && !fresh;
    } catch (err) {
      lastError = networkReason(err);
    }
    if (o.proc?.exited()) {
      return result('metrics', false, Date.now() - o.startedAt, `no sample labelled ${o.name} at ${where}: ${exitedDetail(o.proc)}`);
    }
    if (Date.now() >= end || o.signal?.aborted) break;
    await sleep(o.intervalMs ?? 100, o.signal);
  }
  let why = lastError ? `; last error: ${lastError}` : staleOnly ? '; only samples from an earlier push' : '';
  if (!scrape && !lastError) why += await scrapeHint(o);
  return result('metrics', false, Date.now() - o.startedAt, `no sample labelled agent="${o.name}" or job="${o.name}" at ${where} after ${secs(o.deadlineMs)}${why}`);
}

/** When the push never came but the agent serves its samples, say so: it does not push. */
async function scrapeHint(o: MetricsCheckOptions): Promise<string> {
  try {
    const own = agentSamples(await fetchSamples(`http://127.0.0.1:${o.healthPort}/metrics`), o.name);
    return own.length ? ` (its own /metrics has ${own.length}: the agent does not push to METRICS_URL)` : '';
  } catch {
    return '';
  }
}
