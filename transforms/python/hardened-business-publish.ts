// Concern (seed 001): business code that publishes at once through the agent's own publish
// (`raise_incident()` calling `self._publish_event(incident)` the moment it sees a runaway load).
// Kept for that caller, the publish kept its own queue and drain beside the base's, and /health
// counted what it kept as published. When the publish is the transport the base can be handed
// (the publisher plan moves it into EventBusPublisher) and the base has a method of the shape
// "publish these events or keep them in my local queue, answer True or False" (read from its
// source: `_publish_with_retry(events)`), each such call is that method with the one event:
// `self._publish_with_retry([incident])`. The event goes to the bus at once as before, through the
// moved transport; what the bus refuses is kept in the base's local queue and drained by the base.
// Only a call made as a plain statement (its answer unread) or as the condition of an if whose branches
// only log, with one positional argument, from a method __init__ does not reach (before __init__ ends the
// base has no publisher yet).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { analyzeCollect } from './hardened-shapes.js';
import { analyzePublisher } from './hardened-publisher.js';

const label = 'hardened-business-publish';

export interface BusinessPublish {
  /** The statement `self.<entry>(<event>)`. */
  stmt: SyntaxNode;
  /** The method holding it. */
  method: string;
  replacement: string;
}

const memo = new WeakMap<PythonTransformContext, Map<number, BusinessPublish>>();

/** Calls of the publish that moves, from business code, that the base's queued publish can take (by statement id). */
export function businessPublishes(ctx: PythonTransformContext): Map<number, BusinessPublish> {
  let m = memo.get(ctx);
  if (!m) memo.set(ctx, (m = read(ctx)));
  return m;
}

/** The reference `ref` (the name in `self.<name>`) is one of those calls. */
export function redirectedPublish(ctx: PythonTransformContext, ref: SyntaxNode): boolean {
  const stmt = ref.parent?.parent?.parent;
  return !!stmt && businessPublishes(ctx).get(stmt.id)?.stmt.startIndex === stmt.startIndex;
}

function read(ctx: PythonTransformContext): Map<number, BusinessPublish> {
  const out = new Map<number, BusinessPublish>();
  const target = ctx.base.queuedPublish;
  if (!target || ctx.agent.methods.has(target)) return out;
  const a = analyzePublisher(ctx);
  if (!a.ok || a.value.module) return out;
  const entry = a.value.entry;
  const moved = a.value.moved;
  const collect = analyzeCollect(ctx);
  const cycleStmts = collect.ok ? [...collect.value.publishStmts, ...collect.value.drainStmts] : [];
  // Methods __init__ reaches: there the base has no publisher yet.
  const early = new Set<string>(['__init__']);
  const queue = ['__init__'];
  while (queue.length) {
    const fn = ctx.agent.methods.get(queue.shift()!);
    if (!fn) continue;
    walk(fn.body, (n) => {
      const name = selfAttribute(n);
      if (name && ctx.agent.methods.has(name) && !early.has(name) && !storedCallback(ctx, n)) {
        early.add(name);
        queue.push(name);
      }
    });
  }
  for (const r of ctx.refs.of(entry.name)) {
    if (r.kind !== 'attribute') continue;
    if (moved.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex)) continue;
    if (cycleStmts.some((s) => s.startIndex <= r.start && r.end <= s.endIndex)) continue;
    // `self.<entry>(...)`: the reference is the attribute's name.
    const attr = r.node.parent;
    if (attr?.type !== 'attribute' || selfAttribute(attr) !== entry.name) continue;
    const call = attr.parent;
    const stmt = call?.parent;
    if (call?.type !== 'call' || call.childForFieldName('function')?.id !== attr.id) continue;
    // `if self._publish(...): log else: log`: the answer read only for a log line, which the base's
    // queued publish answers the same way (True sent, False kept in its local queue).
    const logged = stmt?.type === 'if_statement' && answerOnlyLogged(stmt, call);
    if (stmt?.type !== 'expression_statement' && !logged) continue;
    const args = call.childForFieldName('arguments');
    const list = args?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    if (args?.type !== 'argument_list' || list.length !== 1 || ['keyword_argument', 'list_splat', 'dictionary_splat'].includes(list[0]!.type)) continue;
    // Directly in a method of the agent (not a nested def, lambda or class: `self` is the agent's).
    let owner: SyntaxNode | null = null;
    for (let p = stmt.parent; p; p = p.parent) {
      if (p.type === 'function_definition' || p.type === 'lambda' || p.type === 'class_definition') {
        owner = p;
        break;
      }
    }
    const method = [...ctx.agent.methods.values()].find((m) => m.node.id === owner?.id);
    if (!method || method.isAsync || early.has(method.name)) continue;
    const publish = `self.${target}([${list[0]!.text}])`;
    const replacement = logged ? stmt.text.slice(0, call.startIndex - stmt.startIndex) + publish + stmt.text.slice(call.endIndex - stmt.startIndex) : publish;
    out.set(stmt.id, { stmt, method: method.name, replacement });
  }
  return out;
}

/**
 * `self.<m>` handed to a helper class of the file that only keeps it (`SocketCollector(on_alert=self._alert_now)`,
 * its __init__ doing `self.on_alert = on_alert` and calling neither): __init__ does not run the method, the
 * helper calls it later (from the cycle), when the base has its publisher.
 */
function storedCallback(ctx: PythonTransformContext, ref: SyntaxNode): boolean {
  const arg = ref.parent?.type === 'keyword_argument' && ref.parent.childForFieldName('value')?.id === ref.id ? ref.parent : ref;
  const args = arg.parent;
  const call = args?.type === 'argument_list' ? args.parent : null;
  const f = call?.type === 'call' ? call.childForFieldName('function') : null;
  const helper = f?.type === 'identifier' ? ctx.module.classes.find((c) => c.name === f.text && c.node.startPosition.column === 0 && c.node.id !== ctx.agent.cls.node.id) : undefined;
  const init = helper?.methods.get('__init__');
  if (!init || helper!.bases.length) return false;
  const params = init.params.filter((p) => p.kind === 'plain' || p.kind === 'default');
  const param = arg.type === 'keyword_argument'
    ? params.find((p) => p.name === arg.childForFieldName('name')?.text)
    : params[1 + args!.namedChildren.filter((c) => c.type !== 'comment').findIndex((c) => c.id === arg.id)];
  if (!param || param === params[0]) return false;
  // Every use of the parameter in __init__ is `self.<x> = <param>`, and __init__ calls no self.<x> it kept.
  const kept = new Set<string>();
  let other = false;
  walk(init.body, (n) => {
    if (other || n.type !== 'identifier' || n.text !== param.name) return;
    if (n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id) return; // `self.on_alert`'s name
    const assign = n.parent;
    const x = assign?.type === 'assignment' && assign.childForFieldName('right')?.id === n.id ? selfAttribute(assign.childForFieldName('left')!) : null;
    if (x) kept.add(x);
    else other = true;
  });
  if (other || !kept.size) return false;
  let called = false;
  walk(init.body, (n) => {
    if (n.type === 'call' && kept.has(selfAttribute(n.childForFieldName('function')!) ?? '')) called = true;
  });
  return !called;
}

/** `if <call>:` with no elif, each branch only log lines. */
function answerOnlyLogged(stmt: SyntaxNode, call: SyntaxNode): boolean {
  const cond = stmt.childForFieldName('condition');
  if (cond?.id !== call.id || stmt.namedChildren.some((c) => c.type === 'elif_clause')) return false;
  const blocks = [stmt.childForFieldName('consequence'), stmt.namedChildren.find((c) => c.type === 'else_clause')?.childForFieldName('body')];
  return blocks.every((b) => !b || b.namedChildren.every((x) => x.type === 'comment' || (x.type === 'expression_statement' && isLogCall(x.namedChild(0)))));
}

export const hardenedBusinessPublishPropose: PythonTransform = {
  name: label,
  phase: 'propose',
  run(ctx) {
    const calls = businessPublishes(ctx);
    if (!calls.size) return;
    const a = analyzePublisher(ctx);
    if (!a.ok) return;
    for (const c of calls.values()) {
      ctx.plan.proposeStatement({
        node: c.stmt,
        symbol: `${c.method}: ${c.stmt.text.split('\n')[0]!.trim()}`,
        finding: 'publish',
        reason: `the base publishes the event at once through ${ctx.base.queuedPublish}(), keeping it in its local queue when the bus refuses it`,
        requires: [a.value.entry.name],
        replacement: c.replacement,
      });
    }
  },
};

export const hardenedBusinessPublish: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const calls = businessPublishes(ctx);
    const a = analyzePublisher(ctx);
    if (!calls.size || !a.ok || !ctx.resolved?.members.has(a.value.entry.name)) return;
    for (const c of calls.values()) {
      if (ctx.resolved.nodes.some((n) => n.startIndex <= c.stmt.startIndex && c.stmt.endIndex <= n.endIndex)) continue;
      ctx.warnings.push(
        `${ctx.agent.cls.name}: ${c.method}() published at once through ${a.value.entry.name}() (line ${c.stmt.startPosition.row + 1}); it calls the base's ${ctx.base.queuedPublish}() with that event now ` +
          `(${c.replacement.includes('\n') ? `self.${ctx.base.queuedPublish}([...])` : c.replacement}): sent through EventBusPublisher with the base's retries and breaker, kept in the base's local_queue when the bus refuses it and drained with it at the next cycle`,
      );
    }
  },
};
