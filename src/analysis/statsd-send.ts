// Statsd lines sent over UDP: `<sock>.sendto(<payload>, <address>)` whose payload is shaped
// `<name>:<value>|<type>` (a literal, a format, or the one value its local name is bound to). The scan
// reports them as metrics; the statsd-metrics transform hands them to the base's report API.
import type { SyntaxNode } from '../lang/python/parser.js';
import { walk } from '../lang/python/syntax.js';

/** A statsd line's shape in a string literal or format: `<name>:<value>|<type>`, the value or type a placeholder or not. */
const STATSD_LINE = /:[^:|\s]*\|(?:c|g|ms|h|s|%s|\{[^}]*\})(?:$|\||\\n)/;

/** Is `n` a `.sendto(payload, address)` call whose payload is a statsd line? `scope`: the function whose locals the payload may name. */
export function isStatsdSend(n: SyntaxNode, scope: SyntaxNode): boolean {
  if (n.type !== 'call') return false;
  const fn = n.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'sendto') return false;
  const args = n.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 2 && args[0]!.type !== 'keyword_argument' && statsdShaped(args[0]!, scope);
}

/**
 * Is the payload a statsd line: a string in it (or in the one value its local name is bound to in the
 * function, `.encode()` or not) shaped `<name>:<value>|<type>`?
 */
function statsdShaped(payload: SyntaxNode, scope: SyntaxNode): boolean {
  let e: SyntaxNode | null = encoded(payload);
  if (e?.type === 'identifier') {
    const name = e.text;
    const values: SyntaxNode[] = [];
    walk(scope, (a) => {
      if (a.type === 'assignment' && a.childForFieldName('left')?.text === name) values.push(a.childForFieldName('right')!);
    });
    e = values.length === 1 ? encoded(values[0]!) : null;
  }
  if (!e) return false;
  let shaped = false;
  walk(e, (s) => {
    if (shaped) return false;
    if (s.type !== 'string') return;
    const content = s.text.replace(/^[a-zA-Z]*("""|'''|"|')/, '').replace(/("""|'''|"|')$/, '');
    if (STATSD_LINE.test(content)) shaped = true;
    return false;
  });
  return shaped;
}

/** `<text>.encode(...)` → <text>; anything else as it is (parentheses dropped). */
function encoded(n: SyntaxNode): SyntaxNode {
  let e = n;
  while (e.type === 'parenthesized_expression' && e.namedChildren.length === 1) e = e.namedChild(0)!;
  const fn = e.type === 'call' ? e.childForFieldName('function') : null;
  if (fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'encode') return fn.childForFieldName('object')!;
  return e;
}
