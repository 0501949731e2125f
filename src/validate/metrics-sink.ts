// The embedded metrics sink: a Pushgateway-compatible HTTP server on 127.0.0.1.
// PUT/POST/DELETE /metrics/job/<job>[/<label>/<value>...] (values may use the
// Pushgateway's `@base64` suffix), GET /metrics exposes every group with its
// grouping labels plus push_time_seconds, like the real Pushgateway.
import http from 'node:http';
import type { PromFamily } from 'parse-prometheus-text-format';
import { closeServer, listen, readBody, send } from './http-util.js';
import { serveInThread, type Served } from './server-thread.js';
import { flatten, parseMetrics, renderFamilies, type Sample } from './prometheus.js';

interface Group {
  labels: Record<string, string>;
  families: PromFamily[];
  pushedAt: number;
}

export interface MetricsSink {
  url: string;
  port: number;
  /** Every stored sample with its grouping labels applied. */
  samples(): Sample[];
  close(): Promise<void>;
}

/** Parse `/metrics/job/<job>/<k>/<v>...` into grouping labels; null when the path is not one. */
export function parseGroupingPath(pathname: string): Record<string, string> | null {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] !== 'metrics' || parts.length < 3 || parts.length % 2 !== 1) return null;
  const labels: Record<string, string> = {};
  for (let i = 1; i < parts.length; i += 2) {
    let key = parts[i]!;
    let value = decodeURIComponent(parts[i + 1]!);
    if (key.endsWith('@base64')) {
      key = key.slice(0, -'@base64'.length);
      value = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) return null;
    labels[key] = value;
  }
  return labels.job ? labels : null;
}

function groupKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** The sink, in its own thread where the tool runs built (see server-thread.ts), else in this one. */
export async function startMetricsSink(): Promise<MetricsSink> {
  const served = (await serveInThread('sink')) ?? (await serveMetricsSink());
  return { url: `http://127.0.0.1:${served.port}`, port: served.port, samples: () => served.query('samples') as Sample[], close: () => served.close() };
}

/** Serve the sink in this thread: its port, its state's answers, its close. */
export async function serveMetricsSink(): Promise<Served> {
  const groups = new Map<string, Group>();

  const exposition = (): string =>
    renderFamilies([
      ...[...groups.values()].map((g) => ({ families: g.families, extraLabels: g.labels })),
      ...[...groups.values()].map((g) => ({
        families: [{ name: 'push_time_seconds', help: 'Last time a push to this group succeeded.', type: 'GAUGE', metrics: [{ value: String(g.pushedAt / 1000) }] }],
        extraLabels: g.labels,
      })),
    ]);

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://sink');
      if (req.method === 'GET' && url.pathname === '/metrics') return send(res, 200, exposition(), 'text/plain; version=0.0.4');
      if (req.method === 'GET' && url.pathname === '/-/healthy') return send(res, 200, 'OK', 'text/plain');
      const labels = parseGroupingPath(url.pathname);
      if (!labels) return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      const key = groupKey(labels);
      if (req.method === 'DELETE') {
        groups.delete(key);
        return send(res, 202, '', 'text/plain');
      }
      if (req.method !== 'PUT' && req.method !== 'POST') return send(res, 405, { error: `method ${req.method} not allowed` });
      let families: PromFamily[];
      try {
        families = parseMetrics(await readBody(req));
      } catch (err) {
        return send(res, 400, (err as Error).message, 'text/plain');
      }
      const previous = groups.get(key);
      if (req.method === 'POST' && previous) {
        // POST replaces only the metric families it names (Pushgateway semantics).
        const names = new Set(families.map((f) => f.name));
        families = [...previous.families.filter((f) => !names.has(f.name)), ...families];
      }
      groups.set(key, { labels, families, pushedAt: Date.now() });
      send(res, 202, '', 'text/plain');
    } catch (err) {
      send(res, 500, { error: (err as Error).message });
    }
  });
  const port = await listen(server);
  const samples = (): Sample[] => [...groups.values()].flatMap((g) => flatten(g.families).map((s) => ({ ...s, labels: { ...s.labels, ...g.labels } })));
  return { port, query: (what) => (what === 'samples' ? samples() : undefined), close: () => closeServer(server) };
}
