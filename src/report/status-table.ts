// Printers for `migrate status` (and the one-line result of `migrate revert`).
import pc from 'picocolors';
import type { AgentStatusRow, AgentState } from '../record/status.js';
import { jsonText } from './terminal.js';

export function statusJson(rows: AgentStatusRow[]): string {
  const agents = rows.map((r) => ({ name: r.name, file: r.file, state: r.state, commit: r.commit, time: r.time }));
  return jsonText({ agents });
}

const paint: Record<AgentState, (s: string) => string> = {
  legacy: (s) => s,
  migrated: pc.yellow,
  validated: pc.cyan,
  committed: pc.green,
  promoted: pc.blue,
  reverted: pc.magenta,
};

/** An aligned table, one agent a line, and counts by state at the end. */
export function statusTable(rows: AgentStatusRow[], opts: { color?: boolean } = {}): string {
  if (!rows.length) return 'no agents found\n';
  const cells = rows.map((r) => [r.name, r.state, r.commit ? r.commit.slice(0, 12) : '-', r.time ?? '-', r.file || '-']);
  const head = ['AGENT', 'STATE', 'COMMIT', 'TIME', 'FILE'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[], state?: AgentState) =>
    c
      .map((v, i) => {
        const padded = i === c.length - 1 ? v : v.padEnd(widths[i]);
        return i === 1 && state && opts.color ? paint[state](padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  return [line(head), ...cells.map((c, i) => line(c, rows[i].state)), '', `${rows.length} agents: ${summary}`, ''].join('\n');
}

interface RevertResult {
  agent: string;
  reverted: string;
  revert_commit: string;
  /** What the revert undid: the promotion of a promoted agent comes first. */
  undid?: 'migration' | 'promotion';
}

export function revertLine(r: RevertResult): string {
  const again = r.undid === 'promotion' ? `; its migration stays (migrate revert ${r.agent} again undoes it)` : '';
  return `reverted ${r.agent}: ${r.undid ?? 'migration'} commit ${r.reverted.slice(0, 12)} undone by ${r.revert_commit.slice(0, 12)}${again}\n`;
}

export function revertJson(r: RevertResult): string {
  // `undid` only for a promotion: a migration's revert prints what it always printed.
  return jsonText({ agent: r.agent, reverted: r.reverted, revert_commit: r.revert_commit, ...(r.undid === 'promotion' ? { undid: r.undid } : {}) });
}
