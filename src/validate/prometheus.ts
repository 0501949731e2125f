// Prometheus text format: parsing (parse-prometheus-text-format) into flat
// samples, and rendering families back into the exposition format.
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/** Parse exposition text; throws a one-line error on malformed input. */
export function parseMetrics(text: string): PromFamily[] {
  let families: PromFamily[];
  try {
    // The parser silently drops a last line without its newline.
    families = parsePrometheusTextFormat(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  } catch (err) {
    throw new Error(`not Prometheus text format: ${(err as Error).message.split('\n')[0]}`);
  }
  for (const s of flatten(families)) {
    if (!/^[+-]?(Inf|NaN|\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(s.value)) {
      throw new Error(`not Prometheus text format: sample ${s.name} has value "${s.value}", not a number`);
    }
  }
  return families;
}

/** Flatten families into samples (histogram/summary parts become _bucket/_sum/_count samples). */
export function flatten(families: PromFamily[]): Sample[] {
  const out: Sample[] = [];
  for (const f of families) {
    for (const m of f.metrics) {
      const labels = m.labels ?? {};
      if (m.value !== undefined) out.push({ name: f.name, labels, value: m.value });
      for (const [le, v] of Object.entries(m.buckets ?? {})) out.push({ name: `${f.name}_bucket`, labels: { ...labels, le }, value: v });
      for (const [q, v] of Object.entries(m.quantiles ?? {})) out.push({ name: f.name, labels: { ...labels, quantile: q }, value: v });
      if (m.sum !== undefined) out.push({ name: `${f.name}_sum`, labels, value: m.sum });
      if (m.count !== undefined) out.push({ name: `${f.name}_count`, labels, value: m.count });
    }
  }
  return out;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function renderSample(s: Sample): string {
  const labels = Object.entries(s.labels);
  const body = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
  return `${s.name}${body} ${s.value}`;
}

/** Render one family per name with its TYPE line, samples labelled by `extraLabels` (which win). */
export function renderFamilies(groups: Array<{ families: PromFamily[]; extraLabels: Record<string, string> }>): string {
  const byName = new Map<string, { type: string; help: string; lines: string[] }>();
  for (const g of groups) {
    for (const f of g.families) {
      const entry = byName.get(f.name) ?? { type: f.type.toLowerCase(), help: f.help, lines: [] };
      byName.set(f.name, entry);
      for (const s of flatten([f])) entry.lines.push(renderSample({ ...s, labels: { ...s.labels, ...g.extraLabels } }));
    }
  }
  const out: string[] = [];
  for (const [name, e] of byName) {
    if (e.help) out.push(`# HELP ${name} ${e.help}`);
    out.push(`# TYPE ${name} ${e.type}`);
    out.push(...e.lines);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
