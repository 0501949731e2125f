// `migrate diff --stat`: lines removed per concern, with the members removed under each.
import { CONCERN_ORDER, type DiffModel } from '../review/diff-model.js';
import { colours, table } from './terminal.js';
import { io } from '../core/invocation.js';

export function printDiffStat(names: { old: string; new: string }, m: DiffModel, stream: NodeJS.WriteStream = io.stdout): void {
  const c = colours(stream);
  stream.write(`${names.old} -> ${names.new}: ${c.red(`${m.removedLines} lines removed`)}, ${c.green(`${m.addedLines} added`)}\n`);
  const rows = CONCERN_ORDER.filter((k) => m.byConcern[k]).map((k) => [`  ${k}`, String(m.byConcern[k]), (m.symbolsByConcern[k] ?? []).join(', ')]);
  if (rows.length) stream.write(`${table(rows)}\n`);
}
