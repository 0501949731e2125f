// Handler classes reach the agent through the server the agent built and tagged with itself:
// `self.health_server.monitor = self` in the agent, then `self.server.monitor.alerts` (or
// `monitor = self.server.monitor; monitor.alerts`) in the handler. The tag's name is the
// agent's choice; `agent` is the usual one and always counts.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass } from '../lang/python/module-model.js';
import { walk } from '../lang/python/syntax.js';

const tagsByClass = new WeakMap<SyntaxNode, ReadonlySet<string>>();

/** The attribute names under which the agent stores itself on another object (`x.<tag> = self`). */
export function serverTags(agent: PyClass): ReadonlySet<string> {
  let tags = tagsByClass.get(agent.node);
  if (tags) return tags;
  const out = new Set<string>(['agent']);
  for (const m of agent.methods.values()) {
    const selfName = m.params[0]?.name ?? 'self';
    walk(m.body, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'assignment' || n.childForFieldName('right')?.text !== selfName) return;
      const left = n.childForFieldName('left');
      // obj.<tag> = self where obj is not self itself (self.me = self tags nothing)
      if (left?.type === 'attribute' && left.childForFieldName('object')!.text !== selfName) out.add(left.childForFieldName('attribute')!.text);
    });
  }
  tagsByClass.set(agent.node, (tags = out));
  return tags;
}

/** `self.server.<tag>`: a handler's way to the agent. */
export function isServerTag(obj: SyntaxNode, tags: ReadonlySet<string>): boolean {
  const m = /^self\.server\.(\w+)$/.exec(obj.text.replace(/\s+/g, ''));
  return !!m && tags.has(m[1]!);
}

/**
 * The agent as a handler reaches it: `self.server.<tag>`, or a local of the enclosing function
 * assigned from it (`monitor = self.server.monitor`) and never reassigned.
 */
export function reachesAgentViaServer(obj: SyntaxNode, tags: ReadonlySet<string>): boolean {
  if (obj.type === 'attribute') return isServerTag(obj, tags);
  if (obj.type !== 'identifier') return false;
  let fn: SyntaxNode | null = obj.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn) return false;
  let fromServer = 0;
  let other = 0;
  walk(fn, (n) => {
    if (n.type === 'function_definition' && n.id !== fn!.id) return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    if (n.childForFieldName('left')?.text !== obj.text) return;
    const right = n.childForFieldName('right');
    if (n.type === 'assignment' && right && isServerTag(right, tags)) fromServer++;
    else other++;
  });
  return fromServer === 1 && other === 0;
}
