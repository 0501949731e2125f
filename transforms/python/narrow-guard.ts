// A try: whose handlers catch only some exceptions (`except OSError`): any other raised in its body went on
// up and, around a loop's work, ended the legacy agent (a traceback, exit status 1). The bases' loops catch
// every exception of their hook (HardenedAgentBase's collect_data(), BaseAgent's run_once()) and run on.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { excerpt } from '../../src/core/excerpt.js';

/** A try: whose handlers catch only some exceptions (their types, the first handler). */
export interface NarrowGuard {
  line: number;
  text: string;
  types: string[];
}

/** Exceptions a handler of these names catches every one of (what the bases' loops catch). */
export const CATCH_ALL = /^(Exception|BaseException|builtins\.Exception|builtins\.BaseException)$/;

/**
 * The try: `t` when no handler catches every exception (a bare `except:`, `except Exception`,
 * `except BaseException`, alone or in a tuple): the types its handlers name. Null when one does, when it has
 * no handler, or when the types cannot be read.
 */
export function narrowHandlers(t: SyntaxNode): NarrowGuard | null {
  const clauses = t.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
  if (!clauses.length) return null;
  const types: string[] = [];
  for (const c of clauses) {
    if (c.type === 'except_group_clause') return null;
    const first = c.namedChildren.find((x) => x.type !== 'block' && x.type !== 'comment');
    if (!first) return null; // bare except:
    const caught = first.type === 'as_pattern' ? first.namedChild(0)! : first;
    const names = caught.type === 'tuple' || caught.type === 'parenthesized_expression' ? caught.namedChildren : [caught];
    for (const n of names) {
      if (n.type !== 'identifier' && n.type !== 'attribute') return null;
      if (CATCH_ALL.test(n.text)) return null;
      types.push(n.text);
    }
  }
  const c = clauses[0]!;
  return { line: c.startPosition.row + 1, text: excerpt(c.text.split('\n')[0]!.replace(/\s+#.*$/, ''), 60), types: [...new Set(types)] };
}
