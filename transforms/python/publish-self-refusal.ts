// Concern: a moved publish that refuses an event itself before it tries the bus (`if not
// self.bucket.consume(): ... return self._queue_telemetry(t)`: a rate limit in front of the publish, its
// bucket moved into EventBusPublisher with it). Its failure result raises now like the bus's own refusals,
// so the base takes it for a failed publish: it retries after a back-off inside the cycle, and its circuit
// breaker counts it, so enough refusals in a row stop every publish and drain until the breaker recovers,
// where the legacy only queued the refused event. Said with the line, for the person to judge the limit.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';

/**
 * The top-level `if` statements of the entry's body holding a failure return (one that now raises) whose
 * condition asks an object moved into the publisher (`self.<attr>.<method>(...)`, attr in `movedState`)
 * and reads no local of the entry (not `if not channel:`, the transport's own state).
 */
export function selfRefusals(body: SyntaxNode, failures: ReadonlyArray<{ node: SyntaxNode }>, movedState: ReadonlySet<string>): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const st of statements(body)) {
    if (st.type !== 'if_statement') continue;
    const cond = st.childForFieldName('condition');
    const consequence = st.childForFieldName('consequence');
    if (!cond || !consequence || !failures.some((f) => consequence.startIndex <= f.node.startIndex && f.node.endIndex <= consequence.endIndex)) continue;
    let asks = false;
    let local = false;
    walk(cond, (n) => {
      if (n.type === 'call') {
        const f = n.childForFieldName('function');
        const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
        const attr = obj ? selfAttribute(obj) : null;
        if (attr && movedState.has(attr)) asks = true;
      }
      if (n.type === 'identifier' && n.text !== 'self' && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) local = true;
    });
    if (asks && !local) out.push(st);
  }
  return out;
}
