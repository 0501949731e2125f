// Line, indentation and line-ending helpers for edits that insert whole lines.

export interface Layout {
  eol: string;
  /** One level of indentation in this file: a tab or N spaces. */
  unit: string;
}

/**
 * The file's line ending (CRLF when at least half its line breaks are) and indentation unit
 * (a tab when tab-indented lines are at least as many as indentation steps of spaces, otherwise
 * the most frequent step of 2-8 spaces, 4 by default), over its lines that are neither blank
 * nor comments. One pass over the characters: it ran on every rewrite and idempotency pass, and
 * splitting the file into line strings was a twentieth of the Python rewrite's allocation.
 */
export function detectLayout(source: string): Layout {
  let crlf = 0;
  let lf = 0;
  let tabs = 0;
  const widths = new Map<number, number>();
  let prev = 0;
  for (let start = 0; start <= source.length; ) {
    const nl = source.indexOf('\n', start);
    const end = nl === -1 ? source.length : nl;
    if (nl !== -1) {
      lf++;
      if (nl > 0 && source.charCodeAt(nl - 1) === 13) crlf++;
    }
    let ws = start;
    while (ws < end && (source.charCodeAt(ws) === 32 || source.charCodeAt(ws) === 9)) ws++;
    let text = ws;
    while (text < end && isWhiteSpace(source.charCodeAt(text))) text++;
    // Blank lines and comments say nothing of the indentation.
    if (text < end && source.charCodeAt(text) !== 35) {
      const width = ws - start;
      if (source.charCodeAt(start) === 9) tabs++;
      else {
        if (width > prev) widths.set(width - prev, (widths.get(width - prev) ?? 0) + 1);
        prev = width;
      }
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  const eol = crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
  let steps = 0;
  for (const c of widths.values()) steps += c;
  if (tabs > 0 && tabs >= steps) return { eol, unit: '\t' };
  let best = 4;
  let bestCount = 0;
  for (const [w, c] of widths) if (c > bestCount && w >= 2 && w <= 8) [best, bestCount] = [w, c];
  return { eol, unit: ' '.repeat(best) };
}

const NON_ASCII_SPACE = /\s/;
/** What String.prototype.trim() strips (the same set as a regular expression's \s). */
function isWhiteSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && NON_ASCII_SPACE.test(String.fromCharCode(c)));
}

export function lineStart(source: string, pos: number): number {
  return source.lastIndexOf('\n', pos - 1) + 1;
}

/** Position just after the end of the line holding pos (after its \n, or the end of text). */
export function lineEnd(source: string, pos: number): number {
  const nl = source.indexOf('\n', pos);
  return nl === -1 ? source.length : nl + 1;
}

export function indentAt(source: string, pos: number): string {
  const start = lineStart(source, pos);
  return /^[ \t]*/.exec(source.slice(start, pos + 1))![0];
}

/** True when only whitespace lies between the start of pos's line and pos. */
export function onlyWhitespaceBefore(source: string, pos: number): boolean {
  return source.slice(lineStart(source, pos), pos).trim() === '';
}

export function isBlankLine(source: string, start: number): boolean {
  const end = lineEnd(source, start);
  return source.slice(start, end).trim() === '';
}

/**
 * Render a block written with '\n' and four-space logical indentation into the file's
 * own layout: each line gets `indent` plus its nesting in the file's unit, ends with eol.
 */
export function renderBlock(block: string, indent: string, layout: Layout): string {
  const lines = block.replace(/\n$/, '').split('\n');
  return lines
    .map((line) => {
      if (!line.trim()) return layout.eol;
      const spaces = /^ */.exec(line)![0].length;
      const depth = Math.floor(spaces / 4);
      return indent + layout.unit.repeat(depth) + line.slice(depth * 4) + layout.eol;
    })
    .join('');
}
