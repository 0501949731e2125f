// Printers for `migrate validate`: a summary table (one agent a line, one
// column per check), the one-line reason of every failed check, and the JSON form.
import type { CheckResult, ValidationReport } from '../core/types.js';
import { jsonText, table } from './terminal.js';

export interface ValidationRow {
  agent: string;
  /** The agent's source file, relative to the root. */
  file: string;
  /** The file that was run (the _v2), relative to the root. */
  output: string;
  validation: ValidationReport;
}

export function validationJson(rows: ValidationRow[]): string {
  const results = rows.map((r) => ({
    agent: r.agent,
    file: r.file,
    output: r.output,
    validation: {
      ok: r.validation.ok,
      ms: r.validation.ms,
      checks: r.validation.checks.map((c) => ({ name: c.name, ok: c.ok, ms: c.ms, detail: c.detail, ...(c.skipped ? { skipped: true } : {}), ...(c.as_legacy ? { as_legacy: c.as_legacy } : {}) })),
      ports: r.validation.ports,
      ...(r.validation.error ? { error: r.validation.error } : {}),
      ...(r.validation.not_run ? { not_run: r.validation.not_run } : {}),
      ...(r.validation.tree_cleanup ? { tree_cleanup: r.validation.tree_cleanup } : {}),
    },
  }));
  return jsonText({ results });
}

const BASE_CHECKS = ['health', 'registry', 'metrics', 'survival', 'ports', 'shutdown', 'deregister', 'log'] as const;

function cell(c: CheckResult | undefined, paint: Paint): string {
  if (!c) return '-';
  if (c.skipped) return 'skip';
  // Passed as the legacy's own unhealthy answer: not "ok" (the line below the table says why).
  if (c.ok && c.as_legacy) return `as legacy ${(c.ms / 1000).toFixed(1)}s`;
  return c.ok ? paint.green(`ok ${(c.ms / 1000).toFixed(1)}s`) : paint.red('FAIL');
}

interface Paint {
  green: (s: string) => string;
  red: (s: string) => string;
  bold: (s: string) => string;
}
const plain: Paint = { green: (s) => s, red: (s) => s, bold: (s) => s };

export function validationTable(rows: ValidationRow[], paint: Paint = plain): string {
  if (!rows.length) return 'no agents validated\n';
  // The EventBus cycle is a column only when a profile ran it (hardened-agent-base).
  const withBus = rows.some((r) => r.validation.checks.some((c) => c.name === 'eventbus'));
  const CHECKS = withBus ? (['health', 'registry', 'metrics', 'eventbus', 'survival', 'ports', 'shutdown', 'deregister', 'log'] as const) : BASE_CHECKS;
  const head = ['AGENT', ...CHECKS.map((c) => c.toUpperCase()), 'TOTAL', 'FILE'];
  const body = rows.map((r) => [
    r.agent,
    ...CHECKS.map((n) => cell(r.validation.checks.find((c) => c.name === n), paint)),
    `${(r.validation.ms / 1000).toFixed(1)}s`,
    r.output,
  ]);
  const failures = rows.filter((r) => !r.validation.not_run).flatMap((r) =>
    r.validation.checks.filter((c) => !c.ok && !c.skipped).map((c) => `  ${paint.red('✗')} ${r.agent} ${c.name}: ${c.detail}`),
  );
  const asLegacy = rows.flatMap((r) => r.validation.checks.filter((c) => c.ok && c.as_legacy).map((c) => `  ~ ${r.agent} ${c.name}: ${c.detail}`));
  const passed = rows.filter((r) => r.validation.ok).length;
  // Not run here (a module the agent and its legacy both lack) is no failure of the _v2: counted apart.
  const notRun = rows.filter((r) => r.validation.not_run);
  const summary = `${rows.length} agent(s): ${passed} passed, ${rows.length - passed - notRun.length} failed${notRun.length ? `, ${notRun.length} not run here` : ''}`;
  const notRunLines = notRun.map((r) => `  ? ${r.agent}: ${r.validation.error}`);
  return [table([head, ...body]), ...(notRunLines.length ? ['', ...notRunLines] : []), ...(failures.length ? ['', ...failures] : []), ...(asLegacy.length ? ['', ...asLegacy] : []), '', paint.bold(summary), ''].join('\n');
}
