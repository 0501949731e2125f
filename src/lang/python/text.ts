// Line, indentation and line-ending helpers for edits that insert whole lines.

export interface Layout {
  eol: string;
  /** One level of indentation in this file: a tab or N spaces. */
  unit: string;
}

export function detectLayout(source: string): Layout {
  const crlf = (source.match(/\r\n/g) ?? []).length;
  const lf = (source.match(/\n/g) ?? []).length;
  const eol = crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
  let tabs = 0;
  const widths = new Map<number, number>();
  let prev = 0;
  for (const line of source.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const ws = /^[ \t]*/.exec(line)![0];
    if (ws.startsWith('\t')) tabs++;
    else if (ws.length > prev) widths.set(ws.length - prev, (widths.get(ws.length - prev) ?? 0) + 1);
    if (!ws.startsWith('\t')) prev = ws.length;
  }
  if (tabs > 0 && tabs >= [...widths.values()].reduce((a, b) => a + b, 0)) return { eol, unit: '\t' };
  let best = 4;
  let bestCount = 0;
  for (const [w, c] of widths) if (c > bestCount && w >= 2 && w <= 8) [best, bestCount] = [w, c];
  return { eol, unit: ' '.repeat(best) };
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
