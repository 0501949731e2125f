// The HTML review report: one self-contained page (styles, scripts and data inline; a
// Content-Security-Policy that forbids every request) over the fleet gathered by
// src/review/fleet.ts. Diffs are rendered side by side by diff2html and highlighted in
// the page by its UI bundle; review items, warnings and removed-block labels are placed
// at their lines by the page's script (assets/report.js).
import { html as diff2html } from 'diff2html';
import type { FleetAgent, Fleet, FleetStatus } from '../../review/fleet.js';
import { fleetCountLine, STATUS_ORDER } from '../../review/fleet.js';
import { CONCERN_ORDER, diffModel, reviewNotes, unifiedForReview, type Concern, type DiffModel } from '../../review/diff-model.js';
import { reportAssets } from './assets.js';
import { concernsTable, registrationChart } from './charts.js';
import { esc, jsonForScript } from './escape.js';

export interface ReportMeta {
  title: string;
  generatedAt: Date;
  toolVersion: string;
  head: string | null;
  registryDeadlineMs: number;
}

interface Note {
  line: number | null;
  kind: 'review' | 'warning' | 'removed';
  label: string;
  text: string;
}

/** Agents whose diff counts in the fleet's totals: the migrations in force or waiting. */
const COUNTED: FleetStatus[] = ['needs-review', 'migrated', 'committed', 'promoted'];

export function renderReport(fleet: Fleet, meta: ReportMeta): string {
  const assets = reportAssets();
  const models = new Map<string, DiffModel>();
  for (const a of fleet.agents) if (a.texts) models.set(a.name, diffModel(a.texts.source, a.texts.output, a.removed, a.findings));

  const totals: Partial<Record<Concern, number>> = {};
  const agentsPer: Partial<Record<Concern, number>> = {};
  for (const a of fleet.agents) {
    const m = models.get(a.name);
    if (!m || !COUNTED.includes(a.status)) continue;
    for (const c of CONCERN_ORDER) {
      if (!m.byConcern[c]) continue;
      totals[c] = (totals[c] ?? 0) + m.byConcern[c]!;
      agentsPer[c] = (agentsPer[c] ?? 0) + 1;
    }
  }

  const filters = [
    `<button type="button" class="filter" data-status="all" aria-pressed="true">all<b>${fleet.agents.length}</b></button>`,
    ...STATUS_ORDER.map((s) => `<button type="button" class="filter s-${s}" data-status="${s}" aria-pressed="false">${s}<b>${fleet.counts[s]}</b></button>`),
  ].join('');
  const counts = STATUS_ORDER.map((s) => `<li class="s-${s}" data-status="${s}"><b>${fleet.counts[s]}</b>${s}</li>`).join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'">
<meta name="generator" content="migrate ${esc(meta.toolVersion)}">
<title>${esc(meta.title)}</title>
<style>${assets.diffCss}</style>
<style>${assets.highlightCss}</style>
<style>${assets.css}</style>
</head>
<body>
<header class="page">
<h1>${esc(meta.title)}</h1>
<p>${esc(fleetCountLine(fleet))} · made ${esc(meta.generatedAt.toISOString())} by migrate ${esc(meta.toolVersion)}${meta.head ? ` at commit <code>${esc(meta.head.slice(0, 12))}</code>` : ''} from the migration log, the records and the files in the repository (nothing was re-run).</p>
</header>
<nav class="toolbar" aria-label="Filter agents">${filters}<input type="search" id="search" placeholder="Search agents by name or file" aria-label="Search agents by name or file"><span id="shown" aria-live="polite"></span></nav>
<div class="overview">
<section id="summary"><h2>Fleet by status</h2><ul class="counts">${counts}</ul>${failureList(fleet.agents)}</section>
<section id="removed-by-concern"><h2>Lines removed by concern</h2><p class="muted">Over the agents ${COUNTED.join(', ')}; each removed line is counted under the removed member it belonged to.</p>${concernsTable(totals, agentsPer)}</section>
<section id="registration"><h2>Registration time against the ${(meta.registryDeadlineMs / 1000).toFixed(0)} s deadline</h2>${registrationChart(fleet.agents, meta.registryDeadlineMs)}</section>
</div>
<main id="agents">
${fleet.agents.map((a) => agentSection(a, models.get(a.name))).join('\n')}
</main>
<script>${assets.diffScript}</script>
<script>${assets.script}</script>
</body>
</html>
`;
}

function failureList(agents: FleetAgent[]): string {
  const failed = agents.filter((a) => a.status === 'failed');
  if (!failed.length) return '<p class="muted">No failures.</p>';
  return `<h3>Failures</h3><ol class="notes">${failed.map((a) => `<li><a href="#agent-${esc(a.name)}">${esc(a.name)}</a>: ${esc(a.error ?? 'failed')}</li>`).join('')}</ol>`;
}

function notesOf(a: FleetAgent, m: DiffModel | undefined): Note[] {
  const notes: Note[] = reviewNotes(a.kept_for_review, a.warnings, m?.rows ?? []).map((n) => ({
    line: n.line,
    kind: n.kind,
    label: n.kind === 'review' ? `review · ${n.symbol}` : 'warning',
    text: n.text,
  }));
  for (const b of m?.blocks ?? []) {
    for (const p of b.parts) {
      if (p.concern === 'edited') continue;
      const lines = p.from === p.to ? `line ${p.from}` : `lines ${p.from}–${p.to}`;
      const what = p.symbol
        ? `${p.symbol}: removed, the base class provides it (${lines})`
        : p.concern === 'other'
          ? `${lines} removed`
          : `${lines} removed (${p.concern} code the scan found here)`;
      notes.push({ line: p.from, kind: 'removed', label: `removed · ${p.concern}`, text: what });
    }
  }
  return notes;
}

function agentSection(a: FleetAgent, m: DiffModel | undefined): string {
  const id = `agent-${a.name}`;
  const notes = notesOf(a, m);
  const facts: Array<[string, string]> = [
    ['original', `<code>${esc(a.file || '?')}</code>`],
    ['_v2', a.output ? `<code>${esc(a.output)}</code>` : '<span class="muted">none</span>'],
  ];
  if (a.second_agent_of) facts.push(['second agent of', `<a href="#agent-${esc(a.second_agent_of)}">${esc(a.second_agent_of)}</a> (one agent per file is migrated: this one by hand)`]);
  if (a.language || a.profile) facts.push(['language · profile', esc([a.language, a.profile].filter(Boolean).join(' · '))]);
  if (a.migratedAt) facts.push(['migrated', esc(a.migratedAt)]);
  if (a.commit) facts.push(['commit', `<code>${esc(a.commit.sha)}</code> ${esc(a.commit.date)}`]);
  if (a.promotion) facts.push(['promotion', `<code>${esc(a.promotion.sha)}</code> ${esc(a.promotion.date)}${a.promotion.mode ? ` (${esc(a.promotion.mode)})` : ''}`]);
  for (const r of a.reverts) facts.push([r.undid === 'promotion' ? 'promotion reverted' : 'reverted', `<code>${esc(r.sha)}</code> ${esc(r.date)}`]);
  if (a.review.length) facts.push(['review answers', esc(a.review.map((r) => `${r.answer} ${r.at}${r.by ? ` by ${r.by}` : ''}`).join('; '))]);
  if (a.unit) {
    facts.push(['base migration unit', `${a.unit.members.length} agents: ${a.unit.members.map((x) => `<a href="#${esc(id)}-${esc(x.class)}">${esc(x.class)}</a>`).join(', ')}`]);
    facts.push(['_v2 files', a.unit.files.map((f) => `<code>${esc(f)}</code>`).join(', ')]);
  }
  if (m) facts.push(['lines', `${m.removedLines} removed, ${m.addedLines} added`]);
  facts.push(['from', esc(a.source)]);

  const parts = [
    `<article class="agent s-${a.status}" id="${esc(id)}" data-agent="${esc(a.name)}" data-status="${a.status}" data-name="${esc(a.name.toLowerCase())}" data-file="${esc(a.file.toLowerCase())}">`,
    `<header><h2><a href="#${esc(id)}">${esc(a.name)}</a></h2><span class="badge s-${a.status}">${a.status}</span><span class="state">${esc(a.state)}</span></header>`,
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`,
  ];
  if (a.error) parts.push(`<p class="error"><b>Error:</b> ${esc(a.error)}</p>`);
  const items = notes.filter((n) => n.kind !== 'removed');
  if (items.length) {
    parts.push(
      `<h3>Left for review and warnings (${items.length})</h3><ol class="notes">${items
        .map(
          (n) =>
            `<li class="${n.kind}"><span class="tag ${n.kind}">${esc(n.label)}</span>${n.line ? `<a href="#${esc(a.name)}-L${n.line}">line ${n.line}</a>: ` : ''}${esc(n.text)}</li>`,
        )
        .join('')}</ol>`,
    );
  }
  if (m && Object.keys(m.byConcern).length) {
    parts.push(
      `<h3>Removed by concern</h3><table class="concerns"><tbody>${CONCERN_ORDER.filter((c) => m.byConcern[c])
        .map((c) => `<tr><td>${c}</td><td class="n">${m.byConcern[c]} lines</td><td>${esc((m.symbolsByConcern[c] ?? []).join(', '))}</td></tr>`)
        .join('')}</tbody></table>`,
    );
  }
  if (a.validation) parts.push(validationTable(a.validation));
  else if (a.unit) parts.push('<h3>Validation</h3><p class="muted">The base is never started alone: each agent of the unit is validated on its _v2 (below).</p>');
  else if (a.status !== 'legacy') parts.push('<h3>Validation</h3><p class="muted">Not validated (run with --no-validate, or the file changed since).</p>');
  if (a.commands.length) {
    parts.push(
      `<h3>Commands</h3><div class="cmds">${a.commands
        .map((c) => `<div class="cmd"><code>${esc(c.command)}</code><button type="button" class="copy">Copy</button><span class="label">${esc(c.label)}</span></div>`)
        .join('')}</div>`,
    );
  }
  if (a.texts && m) {
    parts.push(`<h3>Diff</h3>${diffBlock(a.name, m, { old: a.file, new: a.output ?? `${a.file} (v2)` }, notes)}`);
    // Each agent of a unit after its base's diff: the page's script reads the first notes of a diff's parent.
    for (const x of a.unit?.members ?? []) parts.push(unitMember(id, x));
  } else if (a.status !== 'legacy' && !(a.status === 'migrated' && !a.output)) {
    parts.push('<h3>Diff</h3><p class="muted">No texts to compare: the run that failed wrote nothing this clone kept.</p>');
  }
  parts.push('</article>');
  return parts.join('\n');
}

/** A side-by-side diff (highlighted and annotated by the page's script) with its notes. */
function diffBlock(agent: string, m: DiffModel, names: { old: string; new: string }, notes: Note[]): string {
  const focus = notes.map((n) => n.line).filter((l): l is number => l !== null);
  const body = m.rows.some((r) => r.kind !== ' ')
    ? diff2html(unifiedForReview(m.rows, names, focus), { outputFormat: 'side-by-side', drawFileList: false, matching: 'lines', diffStyle: 'word', renderNothingWhenEmpty: false })
    : '<p class="muted">The _v2 is identical to the original.</p>';
  return `<ul class="notes unplaced" hidden></ul><div class="diff-host" data-agent="${esc(agent)}">${body}</div><script type="application/json" class="notes-data">${jsonForScript(notes)}</script>`;
}

/** One agent of a base migration unit: its `_v2`, its validation (and what commit needs of it, while the unit is uncommitted), its diff. */
function unitMember(unitId: string, x: NonNullable<FleetAgent['unit']>['members'][number]): string {
  const head = `<h3 id="${esc(unitId)}-${esc(x.class)}">Agent ${esc(x.class)}: <code>${esc(x.file)}</code> → <code>${esc(x.output)}</code></h3>`;
  const validation = x.validation
    ? `${x.problem ? `<p class="${x.validation.ok ? 'muted' : 'error'}">Commit refuses it: ${esc(x.problem)}.</p>` : ''}${validationTable(x.validation, 'h4')}`
    : `<p class="muted">Not validated as it is now (commit refuses it: ${esc(x.problem ?? 'not validated')}).</p>`;
  const diff = x.texts ? diffBlock(`${x.class}`, diffModel(x.texts.source, x.texts.output, [], []), { old: x.file, new: x.output }, []) : '<p class="muted">No texts to compare.</p>';
  return `<section class="unit-member" data-member="${esc(x.class)}">${head}${validation}${diff}</section>`;
}

/** The log check's evidence: each run's ERROR lines, the new ones marked. */
function logLines(lines: NonNullable<NonNullable<FleetAgent['validation']>['checks'][number]['lines']>): string {
  const fresh = new Set(lines.fresh);
  const list = (ls: string[], mark: boolean) =>
    ls.length ? `<ul class="log">${ls.map((l) => `<li${mark && fresh.has(l) ? ' class="fresh"' : ''}><code>${esc(l)}</code></li>`).join('')}</ul>` : ' <span class="muted">none</span>';
  return `<details class="log-lines"${lines.fresh.length ? ' open' : ''}><summary>ERROR lines compared: legacy ${lines.legacy.length}, _v2 ${lines.v2.length}, new ${lines.fresh.length}</summary>` +
    `<div>legacy run:${list(lines.legacy, false)}</div><div>_v2 run:${list(lines.v2, true)}</div></details>`;
}

function validationTable(v: NonNullable<FleetAgent['validation']>, h = 'h3'): string {
  const rows = v.checks
    .map(
      (c) =>
        `<tr data-check="${esc(c.name)}"><td>${esc(c.name)}</td><td class="${c.skipped ? 'skip' : c.ok ? 'ok' : 'bad'}">${c.skipped ? 'skipped' : c.ok ? 'ok' : 'FAILED'}</td>` +
        `<td class="n">${(c.ms / 1000).toFixed(2)} s</td><td>${esc(c.detail)}${c.lines ? logLines(c.lines) : ''}</td></tr>`,
    )
    .join('');
  const ports = Object.entries(v.ports ?? {})
    .map(([k, p]) => `${k} ${p}`)
    .join(', ');
  return (
    `<${h}>Validation: <span class="${v.ok ? 'ok' : 'bad'}">${v.ok ? 'passed' : 'failed'}</span> in ${(v.ms / 1000).toFixed(1)} s</${h}>` +
    (v.error ? `<p class="error">${esc(v.error)}</p>` : '') +
    `<table class="checks"><thead><tr><th>check</th><th>result</th><th class="n">time</th><th>detail (the log check compares the _v2's ERROR lines with the legacy run's)</th></tr></thead><tbody>${rows}</tbody></table>` +
    (ports ? `<p class="muted">ports: ${esc(ports)}</p>` : '')
  );
}
