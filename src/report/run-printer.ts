// Printing a batch: the JSON contract, or a per-agent table and a summary for people.
import type { RunResult, RunStatus } from '../core/types.js';
import type { BatchOutcome } from '../pipeline/batch.js';
import { colours, printJson, table } from './terminal.js';
import { splitSymbol } from './symbols.js';
import type { ProfileJson } from '../profile/choose.js';
import { io } from '../core/invocation.js';
import { unitCounts, unitSummary } from './unit-counts.js';

/** `profile`: which profile the run used and why. `diffs` (a dry run's): each result gains `diff`, its original → `_v2` diff, or null. */
export function printRunJson(outcome: BatchOutcome, diffs?: Map<string, string>, profile?: ProfileJson): void {
  const results = outcome.results.map(contractResult);
  printJson({
    results: diffs ? results.map((r) => ({ ...r, diff: diffs.get(r.agent) ?? null })) : results,
    summary: contractSummary(outcome.summary),
    ...(outcome.units?.length ? { units: outcome.units, unit_summary: unitSummary(outcome.units) } : {}),
    ...(profile ? { profile } : {}),
  });
}

function contractStatus(status: RunStatus): Exclude<RunStatus, 'not-validated'> {
  return status === 'not-validated' ? 'failed' : status;
}

function contractSummary(summary: BatchOutcome['summary']): BatchOutcome['summary'] {
  const out: BatchOutcome['summary'] = {};
  for (const [status, n] of Object.entries(summary) as Array<[RunStatus, number]>) out[contractStatus(status)] = (out[contractStatus(status)] ?? 0) + n;
  return out;
}

/**
 * A result as DESIGN.md's contract has it: symbols in `removed` and `symbol`, descriptions in `detail`;
 * its five statuses, so a not-validated agent is `failed` there (not migrated, nothing committed), told
 * apart by its `validation.not_run` (the start error) as the people's output and `status` tell it apart.
 */
function contractResult(r: RunResult) {
  const removed = r.removed.map(splitSymbol);
  // Always present (often empty), so the result's fields are the same for every agent.
  const described = removed.filter((x) => x.detail);
  return {
    ...r,
    status: contractStatus(r.status),
    removed: removed.map((x) => x.symbol),
    removed_detail: described,
    kept_for_review: r.kept_for_review.map((k) => ({ ...k, ...splitSymbol(k.symbol) })),
  };
}

export function printRunHuman(outcome: BatchOutcome, stream: NodeJS.WriteStream = io.stdout): void {
  const c = colours(stream);
  const paint = (r: RunResult) =>
    r.status === 'failed' ? c.red(r.status) : r.status === 'needs-review' || r.status === 'not-validated' ? c.yellow(r.status) : r.status === 'migrated' ? c.green(r.status) : c.dim(r.status);
  const rows = [['AGENT', 'STATUS', 'OUTPUT', 'REMOVED', 'REVIEW', 'WARNINGS', 'CHECKS', 'COMMIT']];
  for (const r of outcome.results) {
    const counted = r.validation?.checks.filter((x) => !x.skipped) ?? [];
    const checks = r.validation ? `${counted.filter((x) => x.ok).length}/${counted.length}` : '-';
    rows.push([r.agent, paint(r), r.output ?? '-', String(r.removed.length), String(r.kept_for_review.length), String(r.warnings.length), checks, r.commit?.slice(0, 10) ?? '-']);
  }
  stream.write(`${table(rows)}\n\n`);
  // Warnings say what the tool resolved and how; review items what needs a person. A failed
  // agent shows both too: they usually explain the failure.
  for (const r of outcome.results.filter((x) => x.warnings.length || x.kept_for_review.length)) {
    stream.write(`${r.status === 'failed' ? c.red(r.agent) : r.kept_for_review.length ? c.yellow(r.agent) : r.agent} (${r.file}):\n`);
    for (const w of r.warnings) stream.write(`  ${c.dim('note')} ${w}\n`);
    for (const k of r.kept_for_review) stream.write(`  ${c.yellow('review')} line ${k.line}: ${k.symbol}: ${k.reason}\n`);
  }
  const failed = outcome.results.filter((x) => x.status === 'failed');
  for (const r of failed) stream.write(`${c.red('failed')} ${r.agent}: ${r.error}\n`);
  for (const r of outcome.results.filter((x) => x.status === 'not-validated')) stream.write(`${c.yellow('not validated')} ${r.agent}: ${r.error}\n`);
  for (const u of outcome.units ?? []) {
    const what = u.status === 'migrated' && !u.commit
      ? `written and validated, not committed: ${u.files?.join(', ')} (\`migrate commit ${u.name}\` or \`migrate review\` commits them as one)`
      : u.status === 'migrated' || u.status === 'unchanged' ? `commit ${u.commit?.slice(0, 12)}: ${u.files?.join(', ')}` : u.status === 'failed' ? `${u.error}; nothing of it was kept` : u.reason;
    stream.write(`${c.yellow('unit')} ${u.name} ${u.status} (${u.members.length} agent${u.members.length === 1 ? '' : 's'} ${u.status === 'migrated' || u.status === 'unchanged' ? 'migrated' : 'skipped'} with it): ${what}\n`);
  }
  const counts = Object.entries(outcome.summary)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const warnings = outcome.results.reduce((n, r) => n + r.warnings.length, 0);
  const review = outcome.results.reduce((n, r) => n + r.kept_for_review.length, 0);
  const extra = counts ? `; ${review} review item${review === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}` : '';
  // Units are counted apart: their agents are no results (each is migrated, or not, with its unit).
  const units = unitCounts(outcome.units ?? []);
  stream.write(`\n${[counts, units].filter(Boolean).join('; ') || 'nothing to do'}${extra} in ${(outcome.ms / 1000).toFixed(1)} s${outcome.interrupted ? c.red(' (interrupted)') : ''}\n`);
}

export function printDiffs(diffs: string[], stream: NodeJS.WriteStream = io.stdout): void {
  const c = colours(stream);
  for (const d of diffs) {
    for (const line of d.split('\n')) {
      if (line.startsWith('+') && !line.startsWith('+++')) stream.write(`${c.green(line)}\n`);
      else if (line.startsWith('-') && !line.startsWith('---')) stream.write(`${c.red(line)}\n`);
      else if (line.startsWith('@@')) stream.write(`${c.cyan(line)}\n`);
      else stream.write(`${line}\n`);
    }
  }
}
