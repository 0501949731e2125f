// The report's overview figures as inline SVG and HTML (no script, so they print too).
import type { FleetAgent } from '../../review/fleet.js';
import { CONCERN_ORDER, type Concern } from '../../review/diff-model.js';
import { esc } from './escape.js';

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`);

/** Registration time per agent (the registry check's time) against the deadline. */
export function registrationChart(agents: FleetAgent[], deadlineMs: number): string {
  // A unit's base is never started alone: its agents' validations are what registered (one row each, filtered with the unit).
  const runs = agents.flatMap((a) => (a.unit ? a.unit.members.map((m) => ({ a, name: `${a.name} · ${m.class}`, v: m.validation })) : [{ a, name: a.name, v: a.validation }]));
  const measured = runs
    .map((r) => ({ ...r, check: r.v?.checks.find((c) => c.name === 'registry' && !c.skipped) }))
    .filter((x): x is typeof x & { check: NonNullable<typeof x.check> } => !!x.check);
  const unmeasured = runs.filter((r) => r.a.status !== 'legacy' && !measured.some((m) => m.name === r.name)).map((r) => r.name);
  if (!measured.length) {
    return `<p class="muted" id="registration-empty">No agent has a registry measurement (none was validated).</p>${unmeasuredLine(unmeasured)}`;
  }
  const label = 210;
  const barArea = 380;
  const rowH = 22;
  const top = 24;
  const max = Math.max(deadlineMs, ...measured.map((m) => m.check.ms)) * 1.08;
  const x = (ms: number) => label + (ms / max) * barArea;
  const height = top + measured.length * rowH + 8;
  const rows = measured
    .map(({ a, name, check }, i) => {
      const y = top + i * rowH;
      const cls = !check.ok ? 'failed' : check.ms > deadlineMs ? 'late' : 'ok';
      const w = Math.max(1, x(check.ms) - label);
      return (
        `<g class="row" data-agent="${esc(a.name)}"><title>${esc(`${name}: ${check.detail}`)}</title>` +
        `<text x="${label - 6}" y="${y + 15}" text-anchor="end">${esc(name)}</text>` +
        `<rect class="bar ${cls}" x="${label}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="2"/>` +
        `<text x="${(label + w + 4).toFixed(1)}" y="${y + 15}">${seconds(check.ms)}${check.ok ? '' : ' (failed)'}</text></g>`
      );
    })
    .join('');
  const dx = x(deadlineMs).toFixed(1);
  return (
    `<svg id="registration-chart" role="img" aria-label="Registration time per agent against the ${seconds(deadlineMs)} deadline" ` +
    `viewBox="0 0 ${label + barArea + 70} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">` +
    `<line class="axis" x1="${label}" y1="${top - 4}" x2="${label}" y2="${height - 4}"/>` +
    `<line class="deadline" x1="${dx}" y1="${top - 8}" x2="${dx}" y2="${height - 4}"/>` +
    `<text x="${dx}" y="${top - 12}" text-anchor="middle">${seconds(deadlineMs)} deadline</text>${rows}</svg>${unmeasuredLine(unmeasured)}`
  );
}

function unmeasuredLine(names: string[]): string {
  return names.length ? `<p class="muted">Not measured (not validated, or no registry check): ${names.map(esc).join(', ')}</p>` : '';
}

/** Lines removed per concern over the fleet, with the members removed under each. */
export function concernsTable(totals: Partial<Record<Concern, number>>, agentsPer: Partial<Record<Concern, number>>): string {
  const present = CONCERN_ORDER.filter((c) => (totals[c] ?? 0) > 0);
  if (!present.length) return '<p class="muted">No removed lines to count yet.</p>';
  const max = Math.max(...present.map((c) => totals[c]!));
  const rows = present
    .map(
      (c) =>
        `<tr data-concern="${c}"><td>${esc(c)}</td><td class="n">${totals[c]}</td>` +
        `<td class="bar"><span class="meter" style="width:${Math.max(1, Math.round((totals[c]! / max) * 100))}%"></span></td>` +
        `<td class="n muted">${agentsPer[c] ?? 0} agent(s)</td></tr>`,
    )
    .join('');
  return `<table class="concerns" id="concerns"><thead><tr><th>concern</th><th class="n">lines removed</th><th></th><th class="n">in</th></tr></thead><tbody>${rows}</tbody></table>`;
}
