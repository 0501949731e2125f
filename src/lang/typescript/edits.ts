// Concrete-syntax edits on the original text: every change is a byte range of the source
// (positions come from ts-morph nodes), so untouched code keeps its bytes, comments and
// formatting. Removals swallow whole lines and the blank line they would leave doubled.
import { Node } from 'ts-morph';

interface Edit {
  start: number;
  end: number;
  text: string;
  /** Removals may contain other edits (those are then dropped). */
  removal: boolean;
  order: number;
  /** An insertion at a line start that ends the lines above it: a wrap ending there holds it (insertAtBlockEnd). */
  closing?: boolean;
}

/** Lines wrapped in a new block (`try {` ... `} catch ...`), indented once every other edit is known. */
interface Wrap {
  start: number;
  end: number;
  before: string;
  after: string;
  unit: string;
  /** Ranges whose lines keep their bytes (multi-line template literals). */
  skip: Array<[number, number]>;
}

export class EditBuffer {
  private edits: Edit[] = [];
  private wraps: Wrap[] = [];
  private counter = 0;

  constructor(readonly text: string) {}

  replace(start: number, end: number, text: string): void {
    this.edits.push({ start, end, text, removal: false, order: this.counter++ });
  }

  insert(pos: number, text: string): void {
    this.replace(pos, pos, text);
  }

  /**
   * Insert whole lines at `pos`, the start of a block's closing line, as the block's last statements:
   * a wrap of the block's lines (wrapLines ending at `pos`, `try { ... } catch`) holds them, where a
   * plain insert there lands after it. They keep their order among themselves.
   */
  insertAtBlockEnd(pos: number, text: string): void {
    this.edits.push({ start: pos, end: pos, text, removal: false, order: -1e9 + this.counter++, closing: true });
  }

  /**
   * Wrap the lines starting in [start, end) (whole lines: `start` and `end` are line starts) in
   * `before` ... `after`, indenting each by `unit`. The indentation is decided when the edits are
   * applied, so it composes with every other edit: a line another edit removes or rewrites keeps
   * what that edit wrote (its new lines indented too), and lines starting inside `skip` stay.
   */
  wrapLines(start: number, end: number, before: string, after: string, unit: string, skip: Array<[number, number]> = []): void {
    this.wraps.push({ start, end, before, after, unit, skip });
  }

  /** Remove a statement or member with its own lines, its attached comments and a doubled blank line. */
  removeNode(node: Node): void {
    const [start, end] = this.lineRange(node);
    this.edits.push({ start, end, text: '', removal: true, order: this.counter++ });
  }

  /** Remove a range exactly (no line extension). */
  removeRange(start: number, end: number): void {
    this.edits.push({ start, end, text: '', removal: true, order: this.counter++ });
  }

  /** The range removeNode(node) would delete. */
  lineRange(node: Node): [number, number] {
    const t = this.text;
    // An element of an array literal goes with the comma that separates it from its neighbour.
    const list = node.getParent();
    if (list && Node.isArrayLiteralExpression(list)) {
      const els: Node[] = list.getElements();
      const i = els.indexOf(node);
      if (i > 0) return [els[i - 1]!.getEnd(), node.getEnd()];
      if (i === 0 && els.length > 1) return [node.getStart(), els[1]!.getStart()];
    }
    // The one callback of a promise chain's link (`.then(() => ...)`) goes with its `.then(` and `)`.
    if (list && Node.isCallExpression(list) && list.getArguments().length === 1 && list.getArguments()[0] === node) {
      const callee = list.getExpression();
      if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'then') return [callee.getExpression().getEnd(), list.getEnd()];
    }
    // Comments directly above (no blank line in between) belong to the node, except a file's
    // header comment above its first statement (after a 'use strict' directive, if any): a
    // `/** ... */` header counts as the first statement's JSDoc too, and stays with the file.
    const parent = node.getParent();
    let first = false;
    if (parent && Node.isSourceFile(parent)) {
      const stmts: Node[] = parent.getStatements();
      const i = stmts.indexOf(node);
      first = i >= 0 && stmts.slice(0, i).every((s) => Node.isExpressionStatement(s) && Node.isStringLiteral(s.getExpression()));
    }
    let start = node.getStart(!first);
    for (const c of first ? [] : [...node.getLeadingCommentRanges()].reverse()) {
      const between = t.slice(c.getEnd(), start);
      if (/\n[ \t]*\r?\n/.test(between)) break;
      start = c.getPos();
    }
    let end = node.getEnd();
    // A trailing comment on the node's last line goes with it.
    const rest = /^[ \t;]*(\/\/[^\n]*)?/.exec(t.slice(end))![0];
    const lineStart = t.lastIndexOf('\n', start - 1) + 1;
    const onlyIndentBefore = /^[ \t]*$/.test(t.slice(lineStart, start));
    const afterEnd = end + rest.length;
    const endsLine = t[afterEnd] === '\n' || afterEnd === t.length || t.startsWith('\r\n', afterEnd);
    if (onlyIndentBefore && endsLine) {
      start = lineStart;
      end = afterEnd === t.length ? afterEnd : afterEnd + (t[afterEnd] === '\r' ? 2 : 1);
      // Avoid leaving two blank lines, or a blank line right after `{` / before `}`.
      const prevLineStart = start > 0 ? t.lastIndexOf('\n', start - 2) + 1 : 0;
      const prevBlank = start > 0 && /^[ \t]*\r?\n$/.test(t.slice(prevLineStart, start));
      const nextLineEnd = t.indexOf('\n', end);
      const nextLine = t.slice(end, nextLineEnd < 0 ? t.length : nextLineEnd + 1);
      const nextBlank = /^[ \t]*\r?\n$/.test(nextLine);
      const nextCloses = /^[ \t]*[}\])]/.test(nextLine) || end >= t.length;
      const prevOpens = start > 0 && /[{[(][ \t]*\r?\n$/.test(t.slice(prevLineStart, start));
      if (prevBlank && (nextBlank || nextCloses)) start = prevLineStart;
      else if (prevOpens && nextBlank) end += nextLine.length;
    } else {
      end = end + /^[ \t;]*/.exec(t.slice(end))![0].length;
    }
    return [start, end];
  }

  /** True when [start, end) lies inside a removal. */
  removes(start: number, end: number): boolean {
    return this.edits.some((e) => e.removal && e.start <= start && end <= e.end && e.end > e.start);
  }

  /**
   * True when the use of `name` at [start, end) is gone from the output: inside a removal, or
   * inside a replacement when no edit writes the name anywhere (a push's body rewritten into
   * reportMetric() calls no longer reads the gateway URL it PUT to).
   */
  drops(start: number, end: number, name: string): boolean {
    const named = new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
    const within = this.edits.filter((e) => e.start <= start && end <= e.end && e.end > e.start);
    if (within.some((e) => e.removal)) return true;
    // Replaced: gone unless some edit writes the name again (here, or where the replaced code moved).
    return within.length > 0 && !this.edits.some((e) => !e.removal && named.test(e.text));
  }

  /** True when [start, end) lies inside a replacement that writes other text there (a re-spelled name). */
  rewrites(start: number, end: number): boolean {
    return this.edits.some((e) => !e.removal && e.start <= start && end <= e.end && e.end > e.start);
  }

  /** The text every edit writes (insertions and replacements), for a name search over what the rewrite adds. */
  writtenText(): string {
    return this.edits.filter((e) => !e.removal && e.text).map((e) => e.text).join('\n');
  }

  /**
   * The text of [start, end) with the edits made inside it so far (a removed `clearInterval(this.timer)`
   * stays removed when the code around it moves elsewhere as text).
   */
  textOf(start: number, end: number): string {
    const inner = new EditBuffer(this.text.slice(start, end));
    for (const e of this.edits) {
      if (e.start < start || e.end > end || (e.start === e.end && (e.start === start || e.start === end))) continue;
      inner.edits.push({ ...e, start: e.start - start, end: e.end - start });
    }
    for (const w of this.wraps) {
      if (w.start < start || w.end > end) continue;
      inner.wraps.push({ ...w, start: w.start - start, end: w.end - start, skip: w.skip.map(([a, b]) => [a - start, b - start] as [number, number]) });
    }
    inner.counter = this.counter;
    return inner.apply();
  }

  get size(): number {
    return this.edits.length;
  }

  apply(): string {
    // Innermost first: an outer wrap indents the lines an inner one wrote too.
    for (const w of [...this.wraps].sort((a, b) => a.end - a.start - (b.end - b.start))) this.edits.push(...this.wrapEdits(w));
    this.wraps = [];
    const removals = this.edits.filter((e) => e.removal);
    const kept = this.edits.filter(
      (e) =>
        !removals.some((r) => {
          if (r === e) return false;
          // An insertion at a removal's edge survives it (an import added after a removed one).
          if (e.start === e.end && !e.removal) return r.start < e.start && e.start < r.end;
          return r.start <= e.start && e.end <= r.end && (r.start < e.start || e.end < r.end || r.order < e.order);
        }),
    );
    kept.sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
    // New text follows the file's line endings.
    const crlf = (this.text.match(/\r\n/g)?.length ?? 0) > (this.text.match(/\n/g)?.length ?? 0) / 2;
    if (crlf) for (const e of kept) e.text = e.text.replace(/\r?\n/g, '\r\n');
    let out = '';
    let pos = 0;
    for (const e of kept) {
      if (e.start < pos) {
        // Overlapping edits: the later one is inside an earlier replacement; keep the first.
        if (e.start === e.end && e.start === pos) {
          out += e.text;
          continue;
        }
        throw new Error(`overlapping edits at offset ${e.start}`);
      }
      out += this.text.slice(pos, e.start) + e.text;
      pos = e.end;
    }
    return out + this.text.slice(pos);
  }

  /** The insertions a wrap makes (its own lines and each line's indentation); other edits' new lines inside it are indented too. */
  private wrapEdits(w: Wrap): Edit[] {
    const t = this.text;
    const out: Edit[] = [{ start: w.start, end: w.start, text: w.before, removal: false, order: -2 }];
    const inside = (p: number) => this.edits.some((e) => e.start < p && p < e.end);
    for (let ls = w.start; ls < w.end; ls = t.indexOf('\n', ls) + 1 || w.end) {
      const p = ls + /^[ \t]*/.exec(t.slice(ls))![0].length;
      if (p >= w.end || t[p] === '\n' || t[p] === '\r' || inside(p) || w.skip.some(([a, b]) => a < ls && ls < b)) continue;
      out.push({ start: p, end: p, text: w.unit, removal: false, order: -1 });
    }
    for (const e of this.edits) {
      if (e.removal || !e.text || e.start < w.start || e.end > w.end || (e.start === e.end && e.start === w.end && !e.closing)) continue;
      let text = e.text.replace(/\n(?=[^\r\n])/g, `\n${w.unit}`);
      if ((e.start === 0 || t[e.start - 1] === '\n') && !/^\r?\n/.test(text)) text = w.unit + text;
      e.text = text;
    }
    out.push({ start: w.end, end: w.end, text: w.after, removal: false, order: -2 });
    return out;
  }
}

/** 1-based line of an offset. */
export function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The indentation (spaces/tabs) of the line holding pos. */
export function indentAt(text: string, pos: number): string {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** The file's indentation unit, guessed from its first indented line. */
export function indentUnit(text: string): string {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return '  ';
  return m[1]!.startsWith('\t') ? '\t' : m[1]!.length >= 4 && m[1]!.length % 4 === 0 ? '    ' : '  ';
}

/** Re-indent a block of text from one base indentation to another. */
export function reindent(block: string, from: string, to: string): string {
  return block
    .split('\n')
    // Lines indented less than the block (inside a multi-line template literal) stay as they are.
    .map((l) => (l.trim() === '' ? l.replace(/[^\r]/g, '') : l.startsWith(from) ? to + l.slice(from.length) : l))
    .join('\n');
}
