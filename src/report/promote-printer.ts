// Printers for `migrate promote`: one line per agent (and its warnings), or JSON.
import type { PromoteResult } from '../record/promote.js';

export interface PromoteRow {
  agent: string;
  status: 'promoted' | 'failed';
  result?: PromoteResult;
  error?: string;
}

export function promoteText(rows: PromoteRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    if (!r.result) {
      lines.push(`failed ${r.agent}: ${r.error}`);
      continue;
    }
    const p = r.result;
    const how =
      p.mode === 'replace'
        ? `${p.script} now holds its _v2 content`
        : `${p.config_edits.map((e) => `${e.file}:${e.line}`).join(', ')} now start${p.config_edits.length === 1 ? 's' : ''} ${p.members ? 'its agents\' _v2' : p.script}`;
    // A base migration unit: what each of its agents is started from now.
    const members = p.members
      ? `; base migration unit ${p.agent}: ${p.members.map((m) => `${m.class} starts ${m.script}`).join(', ')}${p.mode === 'replace' ? `, on ${p.script}` : ''}`
      : '';
    lines.push(`promoted ${p.agent} (${p.mode}): ${how}${members}; commit ${p.commit.slice(0, 12)}`);
    for (const w of p.warnings) lines.push(`  warning: ${w}`);
  }
  const ok = rows.filter((r) => r.status === 'promoted').length;
  lines.push(`${ok} promoted${rows.length > ok ? `, ${rows.length - ok} failed` : ''}`);
  return `${lines.join('\n')}\n`;
}

export function promoteJson(rows: PromoteRow[]): string {
  const results = rows.map((r) => ({
    agent: r.agent,
    status: r.status,
    mode: r.result?.mode ?? null,
    commit: r.result?.commit ?? null,
    script: r.result?.script ?? null,
    config_edits: r.result?.config_edits ?? [],
    importers: r.result?.importers ?? [],
    warnings: r.result?.warnings ?? [],
    ...(r.result?.members ? { members: r.result.members } : {}),
    error: r.error ?? null,
  }));
  return `${JSON.stringify({ results }, null, 2)}\n`;
}
