// Printers for `check-config`: one `file:line:col: severity: message [rule]` line per
// finding (the compiler convention editors and CI annotate), or JSON for CI.
import type { CheckConfigResult } from '../config/check.js';
import type { Severity } from '../config/findings.js';
import type { colours } from './terminal.js';

type Colours = ReturnType<typeof colours>;

export function configFindingCounts(r: CheckConfigResult): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, note: 0 };
  for (const f of r.findings) counts[f.severity]++;
  return counts;
}

export function configFindingsText(r: CheckConfigResult, c: Colours, opts: { warn?: boolean } = {}): string {
  const paint: Record<Severity, (s: string) => string> = { error: c.red, warning: c.yellow, note: c.dim };
  const lines = r.findings.map((f) => `${f.file}:${f.line}:${f.col}: ${paint[f.severity](f.severity)}: ${f.message} [${f.rule}]`);
  const n = configFindingCounts(r);
  const plural = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const agents = r.configs.reduce((s, x) => s + x.agents, 0);
  lines.push(
    `${plural(n.error, 'error')}, ${plural(n.warning, 'warning')}, ${plural(n.note, 'note')} in ${plural(r.configs.length, 'startup config')} (${plural(agents, 'agent')})` +
      (n.error && opts.warn ? '; not failing (--warn)' : ''),
  );
  return `${lines.join('\n')}\n`;
}

export function configFindingsJson(r: CheckConfigResult): string {
  return `${JSON.stringify({ configs: r.configs, findings: r.findings, summary: configFindingCounts(r) }, null, 2)}\n`;
}
