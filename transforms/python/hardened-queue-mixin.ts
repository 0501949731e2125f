// Concern (seed 001): a legacy queue the agent inherits. `class CronAgent(SpoolMixin, LegacyAgent)`
// where SpoolMixin, a class of the repository, gives the agent `enqueue(events)` (the cycle's
// fallback: `if not self.send(events): self.enqueue(events)`) and `flush()` (re-sends the spool
// through the agent's own publish at the start of the cycle). Those are the base's local queue and
// drain: the cycle's statements go like those of an own `_queue_*`/`_drain_*` method, and the mixin
// leaves the bases (inherit-base edits the class statement), since its methods call the publish
// that moves into EventBusPublisher. Only a plain mixin (no bases of its own, no __init__) whose
// every method the agent uses only in those statements, and nobody else calls on the agent, goes.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass } from '../../src/lang/python/module-model.js';
import { baseName } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { cycleMethod, isPublishMethod, selfCall } from './hardened-shapes.js';

export interface QueueMixin {
  name: string;
  /** The base expression in the agent's class statement. */
  base: SyntaxNode;
  cls: PyClass;
  /** Where the mixin is defined (relative to the root). */
  file: string;
  /** Its methods the cycle hands unsent events to. */
  fallbacks: Set<string>;
  /** Its methods the cycle calls to re-send the spool. */
  drains: Set<string>;
}

const memo = new WeakMap<PythonTransformContext, QueueMixin[]>();

export function queueMixins(ctx: PythonTransformContext): QueueMixin[] {
  let m = memo.get(ctx);
  if (!m) memo.set(ctx, (m = []));
  else return m;
  if (!ctx.py.remove.includes('queue')) return m;
  const cycle = ctx.agent.methods.get(cycleMethod(ctx));
  if (!cycle) return m;
  for (const base of ctx.agent.cls.bases) {
    const name = baseName(base);
    if (!name || name === ctx.profile.base_class || base.type !== 'identifier') continue;
    const local = ctx.module.classes.find((c) => c.name === name && c.name !== ctx.agent.cls.name);
    const parent = local ? { cls: local, file: ctx.file } : ctx.inherited().find((p) => p.cls.name === name);
    if (!parent) continue;
    const cls = parent.cls;
    if (cls.bases.some((b) => b.text !== 'object') || cls.methods.has('__init__') || cls.decorators.length) continue;
    const own = [...cls.methods.keys()].filter((k) => !k.startsWith('__'));
    if (!own.length || own.some((k) => ctx.agent.methods.has(k) || ctx.base.methods.has(k))) continue;
    const fallbacks = new Set<string>();
    const drains = new Set<string>();
    let other = false;
    for (const k of own) {
      for (const r of ctx.refs.of(k)) {
        if (r.kind !== 'attribute') {
          other = true;
          continue;
        }
        const use = cycleUse(ctx, cycle.body, r.node, k, cls);
        if (use === 'fallback') fallbacks.add(k);
        else if (use === 'drain') drains.add(k);
        else other = true;
      }
      if (ctx.external(k).some((u) => u.file !== parent.file)) other = true;
    }
    if (other || !fallbacks.size) continue;
    m.push({ name, base, cls, file: parent.file, fallbacks, drains });
  }
  return m;
}

/** A method of a queue mixin the agent inherits (see queueMixins). */
export function mixinQueueMethod(ctx: PythonTransformContext, name: string): 'fallback' | 'drain' | null {
  for (const q of queueMixins(ctx)) {
    if (q.fallbacks.has(name)) return 'fallback';
    if (q.drains.has(name)) return 'drain';
  }
  return null;
}

/**
 * How the cycle uses `self.<name>` at `ref`: the consequence of `if not self.<publish>(x):`
 * calling it with x (fallback), or a statement of its own without arguments whose method in
 * the mixin calls the agent's publish (drain). Anything else (another method, a value used): null.
 */
function cycleUse(ctx: PythonTransformContext, body: SyntaxNode, ref: SyntaxNode, name: string, cls: PyClass): 'fallback' | 'drain' | null {
  if (!(body.startIndex <= ref.startIndex && ref.endIndex <= body.endIndex)) return null;
  let stmt: SyntaxNode | null = ref;
  while (stmt && stmt.parent && stmt.parent.type !== 'block') stmt = stmt.parent;
  if (!stmt) return null;
  const c = selfCall(stmt);
  if (!c || c.method !== name || c.target || selfAttribute(c.call.childForFieldName('function')!) !== name) return null;
  const args = c.call.childForFieldName('arguments')!.namedChildren;
  const block = stmt.parent!;
  const owner = block.parent;
  if (owner?.type === 'if_statement' && owner.childForFieldName('consequence')?.id === block.id && !owner.childForFieldName('alternative')) {
    const cond = owner.childForFieldName('condition');
    const arg = cond?.type === 'not_operator' ? cond.childForFieldName('argument') : null;
    const fn = arg?.type === 'call' ? arg.childForFieldName('function') : null;
    const p = fn?.type === 'attribute' ? selfAttribute(fn) : null;
    const pArgs = arg?.type === 'call' ? arg.childForFieldName('arguments')!.namedChildren : [];
    if (p && ctx.agent.methods.has(p) && isPublishMethod(ctx, p) && pArgs.length === 1 && pArgs[0]!.type === 'identifier' && args.length === 1 && args[0]!.text === pArgs[0]!.text) return 'fallback';
    return null;
  }
  if (block.id !== body.id || args.length) return null;
  // Re-sends: its code (or a method of the mixin it calls) calls the agent's publish.
  const seen = new Set<string>();
  const resends = (m: string): boolean => {
    if (seen.has(m)) return false;
    seen.add(m);
    const fn = cls.methods.get(m);
    if (!fn) return false;
    let hit = false;
    walk(fn.body, (n) => {
      if (hit || n.type === 'function_definition' || n.type === 'class_definition') return false;
      const a = selfAttribute(n);
      if (!a || n.parent?.type !== 'call') return;
      if (ctx.agent.methods.has(a) && isPublishMethod(ctx, a)) hit = true;
      else if (cls.methods.has(a) && resends(a)) hit = true;
    });
    return hit;
  };
  return resends(name) ? 'drain' : null;
}

/** Statements of the mixin are gone from the class: the class-level names it read stay, unused. */
export function mixinLeftovers(ctx: PythonTransformContext, q: QueueMixin): string[] {
  const out: string[] = [];
  for (const s of statements(ctx.agent.cls.body)) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type !== 'identifier') continue;
    let read = false;
    for (const fn of q.cls.methods.values()) {
      walk(fn.body, (n) => {
        if (read) return false;
        if (selfAttribute(n) === left.text) read = true;
      });
    }
    const usedByAgent = ctx.refs.of(left.text).some((r) => r.kind === 'attribute');
    if (read && !usedByAgent) out.push(left.text);
  }
  return out;
}
