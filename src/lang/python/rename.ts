// Renaming one member of the agent everywhere the file reaches it as the agent: `self.x` in
// its methods and their closures, `getattr(self, "x")`, `agent.x` where a method aliased
// `agent = self` for a nested handler, `self.server.agent.x` in a handler the agent tagged,
// `self.agent.x` (or `a = self.agent; a.x`) in a helper class holding the agent, and `v.x` (or
// `setattr(v, "x", ...)`) where the entry point holds the constructed agent in `v`. What else refers to
// the name from outside the class is returned, for the caller to wire or report.
import type { SyntaxNode } from './parser.js';
import type { PythonTransformContext } from './transform-context.js';
import { isRemoved, keep } from './transform-context.js';
import type { Reference } from '../../analysis/references.js';
import { walkAgentCode } from '../../analysis/agent-model.js';
import { callee, selfAttribute, stringValue, walk } from './syntax.js';
import { entryScopes } from './module-model.js';
import { reachesAgentViaServer, serverTags } from '../../analysis/server-tag.js';
import { agentHolders, holderReads } from '../../analysis/agent-holders.js';
import type { PyClass } from './module-model.js';

// Per agent class: the helper classes holding it (read once however many members a rewrite renames).
const holdersOf = new WeakMap<PyClass, Map<PyClass, Set<string>>>();

export function renameMember(ctx: PythonTransformContext, name: string, renamed: string, label: string): Reference[] {
  const { agent } = ctx;
  ctx.renames.set(name, renamed);
  const done = new Set<number>();
  const edit = (node: SyntaxNode, text: string) => {
    if (done.has(node.startIndex) || isRemoved(ctx, node)) return;
    done.add(node.startIndex);
    ctx.edits.replace(node.startIndex, node.endIndex, text, label);
  };
  const fn = agent.methods.get(name);
  if (fn) edit(fn.node.childForFieldName('name')!, renamed);
  const aliases = new Set<string>();
  for (const m of agent.methods.values()) {
    const selfName = m.params[0]?.name ?? 'self';
    walk(m.body, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('right')?.text === selfName && n.childForFieldName('left')?.type === 'identifier') {
        aliases.add(n.childForFieldName('left')!.text);
      }
    });
    walkAgentCode(m, (n) => {
      if (isRemoved(ctx, n)) return false;
      if (selfAttribute(n, selfName) === name) edit(n.childForFieldName('attribute')!, renamed);
      else {
        const content = reflectiveName(n, (obj) => obj.text === selfName, name);
        if (content) edit(content, renamed);
      }
    });
  }
  // agent.x inside handler classes nested in the agent's methods; self.server.<tag>.x anywhere
  walk(ctx.module.root, (n) => {
    if (n.type !== 'attribute' || n.childForFieldName('attribute')?.text !== name) return;
    const obj = n.childForFieldName('object')!;
    const inAgent = agent.cls.node.startIndex <= n.startIndex && n.endIndex <= agent.cls.node.endIndex;
    const viaAlias = inAgent && obj.type === 'identifier' && aliases.has(obj.text);
    const viaServer = reachesAgentViaServer(obj, serverTags(agent.cls));
    if (viaAlias || viaServer) edit(n.childForFieldName('attribute')!, renamed);
  });
  // v = Agent(...); v.x in the entry point
  for (const scope of entryScopes(ctx.module)) {
    const vars = new Set<string>();
    walk(scope, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('right')?.type === 'call' && callee(n.childForFieldName('right')!) === agent.cls.name) {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier') vars.add(left.text);
      }
    });
    walk(scope, (n) => {
      if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === name && vars.has(n.childForFieldName('object')!.text)) {
        edit(n.childForFieldName('attribute')!, renamed);
      }
      // setattr(v, "x", False) in a signal handler lambda the entry point installs
      const content = reflectiveName(n, (obj) => obj.type === 'identifier' && vars.has(obj.text), name);
      if (content) edit(content, renamed);
    });
  }
  // `self.agent.x` and `agent = self.agent; agent.x` in a helper class the agent hands itself to (a reporter thread)
  let holders = holdersOf.get(agent.cls);
  if (!holders) holdersOf.set(agent.cls, (holders = agentHolders(ctx.module.classes, agent.cls, ctx.module.root)));
  for (const [cls, held] of holders) {
    const { reads, unproven } = holderReads(cls, held, name);
    for (const r of reads) edit(r.attribute, renamed);
    for (const u of unproven) {
      if (isRemoved(ctx, u.read)) continue;
      const line = u.read.startPosition.row + 1;
      keep(ctx, name, line, `${cls.name} line ${line} reads ${u.alias}.${name}, and ${u.alias} is the agent (self.${[...held].join('/')}, line ${u.line}) but also bound to something else in that method: the agent's ${name} is renamed ${renamed}; point the read at ${renamed} where ${u.alias} is this agent`);
    }
  }
  // Left over: `x` reached from module code outside any class (a function holding an agent);
  // uses inside other classes are their own objects' members of the same name.
  return ctx.refs
    .of(name)
    .filter((r) => r.kind === 'attribute' && !done.has(r.start) && !isRemoved(ctx, r.node) && !insideClass(r.node));
}

/**
 * Callers of the old name in the repository's other files, as one review item for the symbol naming
 * every caller's file and line (one item per caller listed the same symbol several times).
 */
export function reportExternalCallers(ctx: PythonTransformContext, name: string, renamed: string, why: string): void {
  const uses = ctx.external(name);
  if (!uses.length) return;
  const callers = uses.map((u) => `${u.file}:${u.line} (${u.text})`).join(', ');
  keep(ctx, name, ctx.agent.methods.get(name)?.line ?? ctx.agent.cls.line,
    `${callers} ${uses.length > 1 ? 'reach' : 'reaches'} ${name}, renamed ${renamed} here because ${why}; point ${uses.length > 1 ? 'them' : 'it'} at ${renamed} if ${uses.length > 1 ? 'they are' : 'it is'} this agent`);
}

/** `getattr(obj, "x")` (hasattr, setattr, delattr) on an object `isAgent` accepts: the string's content node for `x`. */
function reflectiveName(n: SyntaxNode, isAgent: (obj: SyntaxNode) => boolean, name: string): SyntaxNode | null {
  if (n.type !== 'call' || !/^(getattr|hasattr|setattr|delattr)$/.test(callee(n) ?? '')) return null;
  const args = n.childForFieldName('arguments')?.namedChildren ?? [];
  if (!args[0] || !isAgent(args[0]) || !args[1] || stringValue(args[1]) !== name) return null;
  return args[1].namedChildren.find((c) => c.type === 'string_content') ?? null;
}

function insideClass(node: SyntaxNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'class_definition') return true;
  return false;
}

/** A fresh member name: `prefix + name`, with more underscores until nothing of the agent or base uses it. */
export function freshName(ctx: PythonTransformContext, name: string, prefix: string): string {
  let candidate = `${prefix}${name.replace(/^_+/, '')}`;
  const taken = (n: string) => ctx.agent.methods.has(n) || ctx.agent.attributes.has(n) || ctx.baseOwned.has(n) || ctx.refs.of(n).length > 0;
  while (taken(candidate)) candidate = `_${candidate}`;
  return candidate;
}
