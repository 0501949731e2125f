// Turning "delete these statements/definitions" into line-exact deletions: whole lines
// only, comment lines attached directly above go with a removed paragraph, the blank
// line that separated it goes too, and a block left empty gets `pass`.
import type { SyntaxNode } from './parser.js';
import type { EditBuffer } from './edit-buffer.js';
import { isBlankLine, lineEnd, lineStart, onlyWhitespaceBefore, type Layout } from './text.js';
import { statements } from './syntax.js';

interface Span {
  start: number;
  end: number;
  nodes: SyntaxNode[];
}

/** Nodes that cannot be removed as whole lines (e.g. `a(); b()` on one line) are returned. */
export function removeNodes(
  source: string,
  nodes: SyntaxNode[],
  buffer: EditBuffer,
  layout: Layout,
  label: string,
): SyntaxNode[] {
  const refused: SyntaxNode[] = [];
  const spans: Span[] = [];
  for (const n of nodes) {
    const tail = source.slice(n.endIndex, lineEnd(source, n.endIndex)).trim();
    if (!onlyWhitespaceBefore(source, n.startIndex) || (tail !== '' && !tail.startsWith('#'))) {
      refused.push(n);
      continue;
    }
    spans.push({ start: lineStart(source, n.startIndex), end: lineEnd(source, n.endIndex), nodes: [n] });
  }
  spans.sort((a, b) => a.start - b.start);
  // Merge spans separated only by blank or comment lines inside the same block.
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && (s.start <= last.end || onlyBlankOrComments(source, last.end, s.start))) {
      last.end = Math.max(last.end, s.end);
      last.nodes.push(...s.nodes);
    } else merged.push({ ...s });
  }
  // Blocks emptied by the removal get `pass` instead.
  const emptied = new Set<number>();
  for (const span of merged) {
    const block = span.nodes[0]!.parent;
    if (!block || block.type !== 'block') continue;
    const all = statements(block);
    const gone = all.every((st) => merged.some((m) => m.start <= st.startIndex && st.endIndex <= m.end));
    if (gone && !emptied.has(block.id) && !buffer.hasInsertIn(lineStart(source, block.startIndex), block.endIndex)) {
      emptied.add(block.id);
      const first = all[0]!;
      const indent = source.slice(lineStart(source, first.startIndex), first.startIndex);
      buffer.insert(lineStart(source, first.startIndex), `${indent}pass${layout.eol}`, `${label}:pass`);
    }
  }
  const inserts = buffer.insertPositions();
  // Extensions over comments and blank lines stop at an insertion point.
  const crossesInsert = (from: number, to: number) => inserts.some((p) => from < p && p < to);
  const finals: Array<[number, number, SyntaxNode]> = [];
  for (const span of merged) {
    let { start, end } = span;
    // Comment lines directly above (no blank line between) describe what is removed.
    const firstNode = span.nodes[0]!;
    const nextIsGap = end >= source.length || isBlankLine(source, end) || dedentsAt(source, end, firstNode);
    if (nextIsGap || isDefinition(firstNode)) {
      let s = start;
      while (s > 0) {
        const prev = lineStart(source, s - 1);
        const text = source.slice(prev, s).trim();
        if (text.startsWith('#') && sameIndent(source, prev, firstNode.startIndex) && !crossesInsert(prev, span.end)) s = prev;
        else break;
      }
      start = s;
    }
    // Blank lines: drop the ones before (or after, at the start of a block) so one gap remains.
    const prevLineStart = start > 0 ? lineStart(source, start - 1) : 0;
    const atBlockStart = start === 0 || /:\s*(#.*)?$/.test(source.slice(prevLineStart, start).trimEnd());
    // A span that takes a whole block (left as `pass`) keeps the blank lines after it: they separate
    // the emptied block's owner from what follows (the next method), not lines of the block.
    if (atBlockStart && !dedentsAt(source, end, firstNode)) {
      while (end < source.length && isBlankLine(source, end) && !isLastLine(source, end) && !crossesInsert(start, lineEnd(source, end))) {
        end = lineEnd(source, end);
      }
    } else if (end >= source.length || isBlankLine(source, end) || dedentsAt(source, end, firstNode)) {
      while (start > 0) {
        const prev = lineStart(source, start - 1);
        if (isBlankLine(source, prev) && !crossesInsert(prev, end)) start = prev;
        else break;
      }
    }
    finals.push([start, end, firstNode]);
  }
  // Extensions over blank lines can make neighbouring spans meet: merge before deleting.
  finals.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number, SyntaxNode]> = [];
  for (const r of finals) {
    const last = out[out.length - 1];
    // Spans that only touch stay apart where something is inserted at the junction (a
    // method written after a removed statement, right before a removed definition).
    const touchesInsert = last && r[0] === last[1] && inserts.includes(r[0]);
    if (last && r[0] <= last[1] && !touchesInsert) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1], r[2]]);
  }
  // A deletion that now starts its block (merged paragraphs: `agent = self`, a handler class, a server
  // set-up, each after a blank line) takes the blank lines after it, up to the next deletion or the code
  // that stays: before, the first paragraph's blank went but the one before the last removed paragraph
  // stayed, and the block (a renamed set-up method) began with a blank line.
  for (let k = 0; k < out.length; k++) {
    const r = out[k]!;
    const prev = r[0] > 0 ? lineStart(source, r[0] - 1) : 0;
    const atBlockStart = r[0] > 0 && /:\s*(#.*)?$/.test(source.slice(prev, r[0]).trimEnd());
    if (!atBlockStart || dedentsAt(source, r[1], r[2])) continue;
    let end = r[1];
    while (end < source.length && isBlankLine(source, end) && !isLastLine(source, end) && !crossesInsert(r[0], lineEnd(source, end))) end = lineEnd(source, end);
    r[1] = end;
    const next = out[k + 1];
    if (next && next[0] <= end && !inserts.includes(next[0])) {
      r[1] = Math.max(end, next[1]);
      out.splice(k + 1, 1);
      k--;
    }
  }
  for (const [start, end] of out) buffer.delete(start, end, label);
  return refused;
}

function isDefinition(n: SyntaxNode): boolean {
  return ['function_definition', 'class_definition', 'decorated_definition'].includes(n.type);
}

function isLastLine(source: string, pos: number): boolean {
  return lineEnd(source, pos) >= source.length;
}

function sameIndent(source: string, lineStartPos: number, nodeStart: number): boolean {
  const a = /^[ \t]*/.exec(source.slice(lineStartPos))![0];
  const b = source.slice(lineStart(source, nodeStart), nodeStart);
  return a === b;
}

/** The line at pos is indented less than the node (the block ends there). */
function dedentsAt(source: string, pos: number, node: SyntaxNode): boolean {
  let p = pos;
  while (p < source.length && isBlankLine(source, p)) p = lineEnd(source, p);
  if (p >= source.length) return true;
  const ind = /^[ \t]*/.exec(source.slice(p))![0].length;
  return ind < node.startPosition.column;
}

function onlyBlankOrComments(source: string, from: number, to: number): boolean {
  if (from > to) return false;
  const text = source.slice(from, to);
  if (text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) return false;
  // Do not bridge a blank line: paragraphs stay separate so their gaps are handled per span.
  return !text.split('\n').slice(0, -1).some((l) => l.trim() === '');
}

/**
 * An `if` (no elif/else) whose whole body the removal takes, and whose test has no side effect (names,
 * attributes, subscripts, comparisons, boolean operators, literals: no call, no `:=`, no await): the `if`
 * goes whole instead of being left as `if cond: pass`. Not when it is all that would be left of its own
 * block (a set-up method emptied whole is another transform's to drop, and `pass` there is stable): it is
 * answered in `emptied` only, so the flag's loss is still reported. Answers the `if` statements to remove
 * besides `nodes` (`remove`) and every such `if` (`emptied`).
 */
export function emptiedGuards(nodes: SyntaxNode[]): { remove: SyntaxNode[]; emptied: SyntaxNode[] } {
  const taken = [...nodes];
  const out: SyntaxNode[] = [];
  const emptied: SyntaxNode[] = [];
  const covered = (st: SyntaxNode) => taken.some((n) => n.startIndex <= st.startIndex && st.endIndex <= n.endIndex);
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of [...taken]) {
      const block = n.parent;
      const guard = block?.type === 'block' ? block.parent : null;
      if (guard?.type !== 'if_statement' || covered(guard) || guard.childForFieldName('consequence')?.id !== block!.id) continue;
      if (guard.namedChildren.some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) continue;
      if (!statements(block).every(covered) || !pureTest(guard.childForFieldName('condition')) || emptied.some((g) => g.id === guard.id)) continue;
      emptied.push(guard);
      if (statements(guard.parent).every((st) => st.id === guard.id || covered(st))) continue;
      taken.push(guard);
      out.push(guard);
      changed = true;
    }
  }
  return { remove: out, emptied };
}

const PURE = new Set(['identifier', 'attribute', 'subscript', 'comparison_operator', 'boolean_operator', 'not_operator', 'parenthesized_expression',
  'string', 'string_start', 'string_content', 'string_end', 'integer', 'float', 'true', 'false', 'none', 'not', 'and', 'or', 'is', 'in', '==', '!=', '<', '>', '<=', '>=', '.', '(', ')', '[', ']']);

function pureTest(n: SyntaxNode | null): boolean {
  if (!n) return false;
  if (!PURE.has(n.type)) return false;
  return n.children.every((c) => pureTest(c));
}
