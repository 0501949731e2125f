// A cycle that branches on each publish's answer (`if self._send(event): self.sent += 1 else:
// self.backlog.append(event)`) and then reads what those branches changed (its log line's
// `self.sent`, `len(self.backlog)`): under the base the events the hook returns are published
// after the cycle, so that read would report the previous cycle's answers. The review item says
// so, where it used to say the cycle used the publish "in a way the migration cannot classify".
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { excerpt } from '../../src/core/excerpt.js';

const line = (n: SyntaxNode) => n.startPosition.row + 1;

/** `self.X` the statement changes: `self.X = / += ...`, `self.X.append(...)` and other calls on it. */
function changedState(block: SyntaxNode): Set<string> {
  const out = new Set<string>();
  walk(block, (n) => {
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const a = selfAttribute(n.childForFieldName('left')!);
      if (a) out.add(a);
    }
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      const a = f?.type === 'attribute' ? selfAttribute(f.childForFieldName('object')!) : null;
      if (a) out.add(a);
    }
  });
  return out;
}

/**
 * The reason for the cycle method `name` whose statement `s` branches on a publish's answer
 * (`if self.<publish>(ev): ... else: ...`, either branch changing `self.<state>`) while a later
 * statement of the cycle (`after`) reads that state; null for any other shape.
 */
export function answersReadAfter(ctx: PythonTransformContext, name: string, s: SyntaxNode, after: SyntaxNode[], isPublish: (m: string) => boolean): { reason: string; at: number } | null {
  let branch: { stmt: SyntaxNode; method: string; state: Set<string> } | null = null;
  walk(s, (n) => {
    if (branch || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'if_statement') return;
    let cond = n.childForFieldName('condition');
    if (cond?.type === 'not_operator') cond = cond.childForFieldName('argument');
    const m = cond?.type === 'call' ? selfAttribute(cond.childForFieldName('function')!) : null;
    if (!m || !isPublish(m)) return;
    const state = new Set<string>();
    for (const c of n.namedChildren) if (c.id !== cond!.id && c.type !== 'comment') for (const a of changedState(c)) state.add(a);
    if (state.size) branch = { stmt: n, method: m, state };
  });
  if (!branch) return null;
  const { stmt, method, state } = branch as { stmt: SyntaxNode; method: string; state: Set<string> };
  for (const later of after) {
    const reads: string[] = [];
    walk(later, (n) => {
      const a = n.type === 'attribute' ? selfAttribute(n) : null;
      if (!a || !state.has(a)) return;
      const text = n.parent?.type === 'argument_list' && n.parent.parent?.childForFieldName('function')?.text === 'len' ? `len(${n.text})` : n.text;
      if (!reads.includes(text)) reads.push(text);
    });
    if (!reads.length) continue;
    return {
      at: line(stmt),
      reason:
        `${name}() keeps the answer of each self.${method}() in ${[...state].map((a) => `self.${a}`).join(', ')} (line ${line(stmt)}: ${stmt.text.split('\n')[0]!.trim()}), ` +
        `and line ${line(later)} (${excerpt(later.text, 60)}) reads ${reads.join(', ')} after it; under ${ctx.profile.base_class} the events ` +
        `the cycle returns are published after it, so that line would report the previous cycle's answers: decide by hand where those counts are read`,
    };
  }
  return null;
}
