// What a reviewer sees of one migration: the original and the `_v2` aligned line by
// line, the removed blocks labelled with the removed member they held and its concern,
// and the lines removed per concern. Built from the texts, the record's `removed` list
// and (when the legacy file is the one the record names) the scan's findings, so it
// needs no re-run of the rewrite. Pure: printers and the HTML report render it.
import { diffLines } from 'diff';
import type { Finding, FindingKind, KeptForReview } from '../core/types.js';

/** The concerns lines are counted under: the scan's finding kinds, plus what a rewrite also touches. */
export type Concern = FindingKind | 'imports' | 'base-attributes' | 'edited';

export const CONCERN_ORDER: Concern[] = ['health', 'signal', 'loop', 'queue', 'retry', 'socket', 'registry', 'metrics', 'publish', 'base-attributes', 'imports', 'other', 'edited'];

export interface Row {
  kind: ' ' | '-' | '+';
  /** 1-based line in the original (for ' ' and '-'). */
  oldLine?: number;
  /** 1-based line in the `_v2` (for ' ' and '+'). */
  newLine?: number;
  text: string;
  /** The file's last line has no final newline. */
  noEol?: boolean;
}

export interface RemovedBlock {
  /** First and last original line of the block. */
  from: number;
  to: number;
  /** True when lines were added in place of it (an edit rather than a pure removal). */
  replaced: boolean;
  /** Who the lines belonged to, in order: a removed member (or statement) and its concern. */
  parts: Array<{ symbol: string | null; concern: Concern; from: number; to: number }>;
}

export interface DiffModel {
  rows: Row[];
  blocks: RemovedBlock[];
  removedLines: number;
  addedLines: number;
  /** Removed original lines per concern (edited lines under `edited`). */
  byConcern: Partial<Record<Concern, number>>;
  /** Removed members and statements per concern, for labels and `diff --stat`. */
  symbolsByConcern: Partial<Record<Concern, string[]>>;
}

function linesOf(value: string): { lines: string[]; noEol: boolean } {
  const noEol = !value.endsWith('\n');
  const lines = value.split('\n');
  if (!noEol) lines.pop();
  return { lines, noEol };
}

/** The two texts aligned line by line (jsdiff's line diff). */
export function alignRows(source: string, output: string): Row[] {
  const rows: Row[] = [];
  let o = 1;
  let n = 1;
  for (const change of diffLines(source, output)) {
    const { lines, noEol } = linesOf(change.value);
    lines.forEach((text, i) => {
      const last = noEol && i === lines.length - 1;
      if (change.added) rows.push({ kind: '+', newLine: n++, text, ...(last ? { noEol } : {}) });
      else if (change.removed) rows.push({ kind: '-', oldLine: o++, text, ...(last ? { noEol } : {}) });
      else rows.push({ kind: ' ', oldLine: o++, newLine: n++, text, ...(last ? { noEol } : {}) });
    });
  }
  return rows;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A test telling whether a removed line is where the removed member or statement `symbol` starts. */
function startsSymbol(symbol: string): (line: string) => boolean {
  const attr = /^self\.([A-Za-z_]\w*) \(set by the base\)$/.exec(symbol);
  if (attr) {
    const re = new RegExp(`\\bself\\.${escape(attr[1]!)}\\s*(:[^=]*)?=(?!=)`);
    return (l) => re.test(l);
  }
  const imp = /^import (.+)$/.exec(symbol);
  if (imp) {
    const names = imp[1]!.split(/\s*,\s*/).map((x) => x.trim()).filter(Boolean);
    return (l) => /^\s*(from\s+\S+\s+)?import\b/.test(l) && names.some((x) => new RegExp(`\\b${escape(x)}\\b`).test(l));
  }
  const call = /^([\w.]+)\(([\w.]+)\)$/.exec(symbol); // signal.signal(signal.SIGTERM)
  if (call) return (l) => l.includes(`${call[1]}(${call[2]}`);
  const stmt = /^[\w.]+: (.+)$/.exec(symbol); // "run: while not self.stop_event.is_set()"
  if (stmt) {
    const text = stmt[1]!.trim();
    return (l) => l.trim().startsWith(text) || l.includes(text);
  }
  const name = /^[A-Za-z_$][\w$]*$/.test(symbol) ? escape(symbol) : null;
  if (!name) return (l) => l.includes(symbol);
  const re = new RegExp(
    `^\\s*((async\\s+)?def\\s+${name}\\b|class\\s+${name}\\b|(private\\s+|protected\\s+|public\\s+|static\\s+|readonly\\s+|async\\s+)*${name}\\s*[(:=]|self\\.${name}\\s*(:[^=]*)?=(?!=)|this\\.${name}\\s*=(?!=)|${name}\\s*=(?!=)|(const|let|var|function)\\s+${name}\\b)`,
  );
  return (l) => re.test(l);
}

const KEYWORDS: Array<[RegExp, Concern]> = [
  [/^import |^from /, 'imports'],
  [/\(set by the base\)$/, 'base-attributes'],
  [/health/i, 'health'],
  [/signal|sigterm|sigint/i, 'signal'],
  [/regist/i, 'registry'],
  [/metric|prometheus/i, 'metrics'],
  [/retry|retries|backoff/i, 'retry'],
  [/queue|unsent|buffer/i, 'queue'],
  [/publish|emit/i, 'publish'],
  [/socket|zmq|context|server|poller/i, 'socket'],
  [/loop|while|interval|running|stop_event/i, 'loop'],
];

/** The concern of a removed symbol: the scan's finding for it when there is one, else its name. */
export function concernOf(symbol: string, findings: Finding[] = []): Concern {
  const head = symbol.split(':')[0]!.trim();
  const f = findings.find((x) => x.symbol === symbol) ?? findings.find((x) => x.symbol.split(':')[0]!.trim() === head);
  if (f && !/\(set by the base\)$|^import /.test(symbol)) return f.kind;
  for (const [re, c] of KEYWORDS) if (re.test(symbol)) return c;
  return 'other';
}

/** Group the removed lines into blocks and tell, line by line, which removed member they belonged to. */
export function removedBlocks(rows: Row[], removed: string[], findings: Finding[] = []): RemovedBlock[] {
  const tests = removed.map((s) => ({ symbol: s, starts: startsSymbol(s), concern: concernOf(s, findings) }));
  const findingAt = new Map(findings.map((f) => [f.line, f]));
  const blocks: RemovedBlock[] = [];
  let i = 0;
  while (i < rows.length) {
    if (rows[i]!.kind === ' ') {
      i++;
      continue;
    }
    // A run of changed rows: its '-' rows are the block, '+' rows make it an edit.
    let j = i;
    while (j < rows.length && rows[j]!.kind !== ' ') j++;
    const minus = rows.slice(i, j).filter((r) => r.kind === '-');
    const replaced = minus.length < j - i;
    i = j;
    if (!minus.length) continue;
    const parts: RemovedBlock['parts'] = [];
    let owner: { symbol: string | null; concern: Concern } | null = null;
    // The indentation of a removed def/class: deeper lines are its body, whatever they mention.
    let bodyOf: number | null = null;
    for (const r of minus) {
      const indent = /^\s*/.exec(r.text)![0].length;
      const inBody = bodyOf !== null && (r.text.trim() === '' || indent > bodyOf);
      if (!inBody) bodyOf = null;
      const hit = inBody ? undefined : tests.find((t) => t.starts(r.text));
      const finding = inBody || replaced ? undefined : findingAt.get(r.oldLine!);
      let next: { symbol: string | null; concern: Concern } | null = null;
      if (hit) next = { symbol: hit.symbol, concern: hit.concern };
      else if (finding && !owner?.symbol) next = { symbol: null, concern: finding.kind };
      if (hit && /^\s*((async\s+)?def|class|function)\b|^\s*[\w$]+\s*\([^)]*\)\s*[:{]/.test(r.text)) bodyOf = indent;
      if (next && (!owner || next.symbol !== owner.symbol || next.concern !== owner.concern)) {
        owner = next;
        parts.push({ symbol: next.symbol, concern: next.concern, from: r.oldLine!, to: r.oldLine! });
      } else if (!parts.length) {
        owner = { symbol: null, concern: replaced ? 'edited' : 'other' };
        parts.push({ symbol: owner.symbol, concern: owner.concern, from: r.oldLine!, to: r.oldLine! });
      } else {
        parts[parts.length - 1]!.to = r.oldLine!;
      }
    }
    // Lines before the first recognised start belong to it (comments and decorators above a def).
    if (parts.length > 1 && parts[0]!.symbol === null && parts[0]!.concern === 'other' && parts[1]!.symbol) {
      parts[1]!.from = parts[0]!.from;
      parts.shift();
    }
    blocks.push({ from: minus[0]!.oldLine!, to: minus[minus.length - 1]!.oldLine!, replaced, parts });
  }
  return blocks;
}

export function diffModel(source: string, output: string, removed: string[], findings: Finding[] = []): DiffModel {
  const rows = alignRows(source, output);
  const blocks = removedBlocks(rows, removed, findings);
  const byConcern: DiffModel['byConcern'] = {};
  const symbolsByConcern: DiffModel['symbolsByConcern'] = {};
  for (const b of blocks) {
    for (const p of b.parts) {
      byConcern[p.concern] = (byConcern[p.concern] ?? 0) + (p.to - p.from + 1);
      if (p.symbol) (symbolsByConcern[p.concern] ??= []).includes(p.symbol) || symbolsByConcern[p.concern]!.push(p.symbol);
    }
  }
  return {
    rows,
    blocks,
    removedLines: rows.filter((r) => r.kind === '-').length,
    addedLines: rows.filter((r) => r.kind === '+').length,
    byConcern,
    symbolsByConcern,
  };
}

/** The original line a warning is about: a `line N` it names, else where a member it names is defined. */
export function warningLine(warning: string, rows: Row[]): number | null {
  const named = /\bline (\d+)\b/.exec(warning);
  if (named) return Number(named[1]);
  const idents = [...warning.matchAll(/\b(?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)\(\)/g), ...warning.matchAll(/"([A-Za-z_]\w*)"/g), ...warning.matchAll(/\b(?:removed|kept) ([A-Za-z_]\w*)\b/g)].map((m) => m[1]!);
  for (const id of idents) {
    const starts = startsSymbol(id);
    const row = rows.find((r) => r.oldLine !== undefined && /^\s*((async\s+)?def|class|function)\b/.test(r.text) && starts(r.text));
    if (row) return row.oldLine!;
  }
  return null;
}

/**
 * A unified diff of the aligned rows, with `context` lines around each change and the
 * lines in `focus` (original line numbers: review items, warnings) shown too, so every
 * note has its line on screen. For display only (`git apply` gets jsdiff's patches).
 */
export function unifiedForReview(rows: Row[], names: { old: string; new: string }, focus: number[] = [], context = 3): string {
  const show = new Array<boolean>(rows.length).fill(false);
  const mark = (i: number, around: number) => {
    for (let k = Math.max(0, i - around); k <= Math.min(rows.length - 1, i + around); k++) show[k] = true;
  };
  const focusSet = new Set(focus);
  rows.forEach((r, i) => {
    if (r.kind !== ' ') mark(i, context);
    else if (r.oldLine !== undefined && focusSet.has(r.oldLine)) mark(i, 1);
  });
  const out = [`diff --git a/${names.old} b/${names.new}`, `--- a/${names.old}`, `+++ b/${names.new}`];
  let i = 0;
  while (i < rows.length) {
    if (!show[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < rows.length && show[j]) j++;
    const hunk = rows.slice(i, j);
    const olds = hunk.filter((r) => r.kind !== '+');
    const news = hunk.filter((r) => r.kind !== '-');
    const oldStart = olds[0]?.oldLine ?? (rows.slice(0, i).reverse().find((r) => r.oldLine !== undefined)?.oldLine ?? 0);
    const newStart = news[0]?.newLine ?? (rows.slice(0, i).reverse().find((r) => r.newLine !== undefined)?.newLine ?? 0);
    out.push(`@@ -${oldStart},${olds.length} +${newStart},${news.length} @@`);
    for (const r of hunk) {
      out.push(`${r.kind}${r.text}`);
      if (r.noEol) out.push('\\ No newline at end of file');
    }
    i = j;
  }
  return `${out.join('\n')}\n`;
}

/** The review items and warnings of one agent placed at original lines (null: no line known). */
export function reviewNotes(kept: KeptForReview[], warnings: string[], rows: Row[]): Array<{ line: number | null; kind: 'review' | 'warning'; text: string; symbol?: string }> {
  return [
    ...kept.map((k) => ({ line: k.line, kind: 'review' as const, text: k.reason, symbol: k.symbol })),
    ...warnings.map((w) => ({ line: warningLine(w, rows), kind: 'warning' as const, text: w })),
  ];
}
