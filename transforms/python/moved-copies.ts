// Finding code another transform moved: a later transform that edits a statement which meanwhile was copied
// into new code (a loop body become run_once()) edits the copy, found whitespace aside.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';

/**
 * Where code other transforms wrote holds a copy of a removed send, whitespace aside (moved code is
 * re-indented, a call spread over lines with it): each copy's edit, the offset of the payload's exact text
 * in it (-1 when the copy holds it other than once: a member renamed in it), the copy's own span in it
 * (`at` to `end`, and its `text`) and the method it lies in.
 */
export function movedCopies(ctx: PythonTransformContext, call: SyntaxNode, payload: SyntaxNode): Array<{ edit: number; at: number; end: number; text: string; payloadAt: number; into: string | null }> {
  const bare = call.text.replace(/\s+/g, '');
  const out: Array<{ edit: number; at: number; end: number; text: string; payloadAt: number; into: string | null }> = [];
  // From each place the call's first name starts.
  for (const o of ctx.edits.writtenOccurrences(bare.slice(0, bare.search(/[(.]/) + 1 || bare.length))) {
    let squeezed = '';
    let end = o.at;
    for (; end < o.written.length && squeezed.length < bare.length; end++) {
      if (!/\s/.test(o.written[end]!)) squeezed += o.written[end];
    }
    if (squeezed !== bare) continue;
    const region = o.written.slice(o.at, end);
    const first = region.indexOf(payload.text);
    const once = first >= 0 && region.indexOf(payload.text, first + 1) < 0;
    out.push({ edit: o.edit, at: o.at, end, text: region, payloadAt: once ? o.at + first : -1, into: enclosingDef(o.written, o.at) });
  }
  return out;
}

/** The name of the function whose body holds offset `at` of a written text (the nearest `def` indented less). */
function enclosingDef(text: string, at: number): string | null {
  const lines = text.slice(0, at).split(/\r?\n/);
  let indent = lines[lines.length - 1]!.match(/^[ \t]*/)![0].length;
  for (let i = lines.length - 2; i >= 0; i--) {
    const m = /^([ \t]*)(?:async\s+)?def\s+(\w+)\s*\(/.exec(lines[i]!);
    if (m && m[1]!.length < indent) return m[2]!;
    // A statement indented less (`try:`) encloses the copy: the def is indented less than that.
    const own = lines[i]!.match(/^[ \t]*(?=\S)/)?.[0].length;
    if (own !== undefined && own < indent) indent = own;
  }
  return null;
}

/**
 * The text of `part` (a node inside `call`) as a copy of the call holds it: the same code, whitespace aside,
 * with the copy's own indentation.
 */
export function spanInCopy(copy: string, call: SyntaxNode, part: SyntaxNode): string {
  const squeezed = (t: string) => t.replace(/\s+/g, '').length;
  const from = squeezed(call.text.slice(0, part.startIndex - call.startIndex));
  const to = from + squeezed(part.text);
  let seen = 0;
  let start = -1;
  for (let i = 0; i < copy.length; i++) {
    if (/\s/.test(copy[i]!)) continue;
    if (seen === from) start = i;
    seen++;
    if (seen === to) return copy.slice(start, i + 1);
  }
  throw new RangeError('the copy does not hold the call');
}
