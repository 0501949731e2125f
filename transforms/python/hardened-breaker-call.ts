// Concern (seed 001): the agent's own circuit breaker object around its send.
// `self.breaker.call(self._send, batch)`, where `self.breaker` is an instance of a class of the
// file whose `call(self, fn, *args, **kwargs)` only decides whether to try: it calls
// `fn(*args, **kwargs)` once (never in a loop, never again in a handler), answers what fn
// answered, re-raises what fn raised, and otherwise raises (the breaker is open). Closed, it is
// exactly `self._send(batch)`. HardenedAgentBase wraps every publish and every drain in its own
// CircuitBreaker, so once the send moves into EventBusPublisher the call is unwrapped there: two
// breakers in a row would keep the base's retries and its queue drain failing for the legacy
// breaker's whole cool-down after the bus is back.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';

export interface BreakerCall {
  /** The call node `self.<attr>.<method>(self.<helper>, <args>)`. */
  call: SyntaxNode;
  attr: string;
  method: string;
  /** The agent method handed to the breaker. */
  helper: string;
  /** What the breaker passes on to the helper. */
  args: SyntaxNode[];
  /** The breaker's class: of the file, or of a sibling module several agents share. */
  cls: PyClass;
  /** The repository file the class comes from when it is imported, null for a class of the agent's file. */
  file: string | null;
}

const memo = new WeakMap<PythonTransformContext, Map<string, { cls: PyClass; file: string | null } | null>>();

/** `call` is `self.<attr>.<m>(self.<helper>, args...)` on a pass-through breaker of the file or an imported one. */
export function breakerCall(ctx: PythonTransformContext, call: SyntaxNode | null): BreakerCall | null {
  if (call?.type !== 'call') return null;
  const f = call.childForFieldName('function');
  if (f?.type !== 'attribute') return null;
  const obj = f.childForFieldName('object');
  const attr = obj ? selfAttribute(obj) : null;
  if (!attr || ctx.agent.methods.has(attr)) return null;
  const method = f.childForFieldName('attribute')!.text;
  const args = call.childForFieldName('arguments')!.namedChildren;
  const helper = args[0] ? selfAttribute(args[0]) : null;
  if (!helper || !ctx.agent.methods.has(helper)) return null;
  if (args.slice(1).some((a) => a.type === 'keyword_argument' || a.type === 'list_splat' || a.type === 'dictionary_splat')) return null;
  const where = breakerClass(ctx, attr, method);
  return where ? { call, attr, method, helper, args: args.slice(1), cls: where.cls, file: where.file } : null;
}

/** Where the class of `self.<attr>` is, when its `<method>` is a pass-through breaker call (see the header). */
function breakerClass(ctx: PythonTransformContext, attr: string, method: string): { cls: PyClass; file: string | null } | null {
  const key = `${attr}.${method}`;
  let m = memo.get(ctx);
  if (!m) memo.set(ctx, (m = new Map()));
  if (m.has(key)) return m.get(key)!;
  // A class of the file, or one imported from a sibling module (the package's shared breaker): the same call.
  const own = fileClassOf(ctx, attr);
  const where = own ? { cls: own, file: null } : importedClassOf(ctx, attr);
  const call = where?.cls.methods.get(method);
  const found = where && call && passThrough(call) ? where : null;
  m.set(key, found);
  return found;
}

/** The class of the file `self.<attr>` is built from, when __init__ alone assigns it (`self.breaker = Breaker(3, 60)`). */
export function fileClassOf(ctx: PythonTransformContext, attr: string): PyClass | null {
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const value = sets.length === 1 && sets[0]!.method === '__init__' ? sets[0]!.value : null;
  const fn = value?.type === 'call' ? value.childForFieldName('function') : null;
  return (fn?.type === 'identifier' ? ctx.module.classes.find((c) => c.name === fn.text && c.node.startPosition.column === 0) : undefined) ?? null;
}

/**
 * `self.<attr>.<method>()` (or its `not`) asks the agent's own breaker object whether to try: `self.<attr>`
 * is built once in __init__ from a class of the file whose `<method>(self)` reads a clock and answers
 * yes/no on every path (`allow()`: open until `cooldown` seconds after it tripped; `is_open()`).
 */
export function breakerQuery(ctx: PythonTransformContext, cond: SyntaxNode): { attr: string; cls: PyClass; method: PyFunction; file: string | null } | null {
  const call = cond.type === 'not_operator' ? cond.childForFieldName('argument') : cond;
  if (call?.type !== 'call' || call.childForFieldName('arguments')!.namedChildCount) return null;
  const f = call.childForFieldName('function');
  const attr = f?.type === 'attribute' ? selfAttribute(f.childForFieldName('object')!) : null;
  const own = attr ? fileClassOf(ctx, attr) : null;
  const where = own ? { cls: own, file: null } : attr ? importedClassOf(ctx, attr) : null;
  const cls = where?.cls;
  const m = cls?.methods.get(f!.childForFieldName('attribute')!.text);
  if (!attr || !m || m.isAsync || m.decorators.length || m.params.filter((p) => p.kind !== 'separator').length !== 1) return null;
  let yesNo = true;
  walk(m.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition' || n.type === 'yield') {
      yesNo = false;
      return false;
    }
    if (n.type === 'return_statement' && !['true', 'false', 'comparison_operator', 'not_operator', 'boolean_operator'].includes(n.namedChild(0)?.type ?? '')) yesNo = false;
  });
  // The clock may be read through a property of the class (`return self.state != "open"`, `state` comparing time.monotonic()).
  const property = (name: string) => {
    const p = cls!.methods.get(name);
    return p && p !== m && !p.isAsync && p.decorators.some((d) => d.replace(/^@/, '').trim() === 'property') ? p : null;
  };
  const clock = readsClock(m.body) || selfReads(m.body).some((name) => { const p = property(name); return !!p && readsClock(p.body); });
  return clock && yesNo && endsReturningOrRaising(m.body) ? { attr, cls: cls!, method: m, file: where!.file } : null;
}

function readsClock(body: SyntaxNode): boolean {
  let clock = false;
  walk(body, (n) => {
    if (n.type === 'call' && /^(time\.)?(time|monotonic)$/.test(n.childForFieldName('function')?.text ?? '')) clock = true;
  });
  return clock;
}

/** The `<name>` of every `self.<name>` read in a method body (not a call). */
function selfReads(body: SyntaxNode): string[] {
  const names: string[] = [];
  walk(body, (n) => {
    if (n.type !== 'attribute' || n.childForFieldName('object')?.text !== 'self') return;
    if (n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id) return;
    names.push(n.childForFieldName('attribute')!.text);
  });
  return names;
}

/**
 * The class `self.<attr>` is built from when __init__ alone assigns it and the class comes from another
 * file of the repository (`from amoskys.agents.common.breaker import CircuitBreaker`, or `breaker.CircuitBreaker`
 * after `from amoskys.agents.common import breaker`): a breaker several agents share. Null otherwise.
 */
function importedClassOf(ctx: PythonTransformContext, attr: string): { cls: PyClass; file: string } | null {
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const value = sets.length === 1 && sets[0]!.method === '__init__' ? sets[0]!.value : null;
  const fn = value?.type === 'call' ? value.childForFieldName('function') : null;
  const local = fn?.type === 'identifier' ? fn : fn?.type === 'attribute' && fn.childForFieldName('object')?.type === 'identifier' ? fn.childForFieldName('object')! : null;
  const t = local ? ctx.imported(local.text) : null;
  const name = t ? (fn!.type === 'identifier' ? t.name : t.name === null ? fn!.childForFieldName('attribute')!.text : null) : null;
  const cls = name ? t!.module.classes.find((c) => c.name === name && c.node.startPosition.column === 0) : undefined;
  return cls ? { cls, file: t!.file } : null;
}

function passThrough(fn: PyFunction): boolean {
  if (fn.isAsync || fn.decorators.length) return false;
  const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  const target = params[0];
  if (!target || target.kind !== 'plain') return false;
  const star = params.find((p) => p.kind === 'args')?.name ?? null;
  const kw = params.find((p) => p.kind === 'kwargs')?.name ?? null;
  if (params.length !== 1 + (star ? 1 : 0) + (kw ? 1 : 0)) return false;
  // The one call of the target, with exactly what the breaker was given.
  const calls: SyntaxNode[] = [];
  let other = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition' || n.type === 'yield') {
      other = true;
      return false;
    }
    if (n.type !== 'identifier' || n.text !== target.name) return;
    const p = n.parent;
    if (p?.type === 'call' && p.childForFieldName('function')?.id === n.id) calls.push(p);
    else if (!(p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id)) other = true;
  });
  if (other || calls.length !== 1) return false;
  const call = calls[0]!;
  const passed = call.childForFieldName('arguments')!.namedChildren.map((a) => a.text);
  const expected = [...(star ? [`*${star}`] : []), ...(kw ? [`**${kw}`] : [])];
  if (passed.length !== expected.length || passed.some((t, i) => t !== expected[i])) return false;
  // Called once: no loop around it; what wraps it is if / try / with only.
  let stmt: SyntaxNode = call;
  while (stmt.parent && stmt.parent.type !== 'block') stmt = stmt.parent;
  for (let p: SyntaxNode | null = stmt.parent; p && p.id !== fn.body.id; p = p.parent) {
    if (p.type === 'for_statement' || p.type === 'while_statement') return false;
  }
  // Its answer is the breaker's: `return fn(...)`, or `result = fn(...)` and every return is `return result`.
  let result: string | null = null;
  if (stmt.type === 'return_statement') {
    if (stmt.namedChild(0)?.id !== call.id) return false;
  } else if (stmt.type === 'expression_statement') {
    const e = stmt.namedChild(0);
    if (e?.type !== 'assignment' || e.childForFieldName('right')?.id !== call.id || e.childForFieldName('left')?.type !== 'identifier') return false;
    result = e.childForFieldName('left')!.text;
  } else return false;
  let ok = true;
  walk(fn.body, (n) => {
    if (!ok) return false;
    if (n.type === 'return_statement' && n.id !== stmt.id) {
      const v = n.namedChild(0);
      if (!result || v?.type !== 'identifier' || v.text !== result) ok = false;
    }
    // The result name is bound once.
    if (result && (n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === result && n.childForFieldName('right')?.id !== call.id) ok = false;
  });
  if (!ok) return false;
  // What the target raised goes on: every handler around the call ends with a bare `raise`, and
  // nothing there returns (a handler answering in fn's place would be lost); no finally returns.
  for (let p: SyntaxNode | null = stmt.parent; p && p.id !== fn.body.id; p = p.parent) {
    if (p.type !== 'block' || p.parent?.type !== 'try_statement' || p.parent.childForFieldName('body')?.id !== p.id) continue;
    for (const c of p.parent.namedChildren) {
      if (c.type === 'else_clause') return false;
      if (c.type !== 'except_clause' && c.type !== 'except_group_clause' && c.type !== 'finally_clause') continue;
      const b = statements(c.namedChildren.find((x) => x.type === 'block') ?? null).filter((x) => !isDocstring(x));
      let returns = false;
      walk(c, (n) => {
        if (n.type === 'return_statement') returns = true;
      });
      if (returns) return false;
      if (c.type !== 'finally_clause' && b[b.length - 1]?.text.trim() !== 'raise') return false;
    }
  }
  // Every other path ends in a raise (open) or reaches the call: the method never answers None instead.
  return endsReturningOrRaising(fn.body);
}

function endsReturningOrRaising(block: SyntaxNode | null): boolean {
  const body = statements(block).filter((s) => !isDocstring(s));
  const last = body[body.length - 1];
  if (!last) return false;
  if (last.type === 'return_statement' || last.type === 'raise_statement') return true;
  if (last.type === 'if_statement') {
    const alt = last.namedChildren.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause');
    if (!alt.some((c) => c.type === 'else_clause')) return false;
    return endsReturningOrRaising(last.childForFieldName('consequence')) && alt.every((c) => endsReturningOrRaising(c.childForFieldName(c.type === 'elif_clause' ? 'consequence' : 'body')));
  }
  if (last.type === 'try_statement') {
    const handlers = last.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
    return endsReturningOrRaising(last.childForFieldName('body')) && handlers.every((h) => endsReturningOrRaising(h.namedChildren.find((c) => c.type === 'block') ?? null));
  }
  return false;
}

/** Where the breaker's class is defined, for messages: `line 29`, or `amoskys/agents/common/breaker.py:12`. */
export function classWhere(b: BreakerCall): string {
  return b.file ? `${b.file}:${b.cls.line}` : `line ${b.cls.line}`;
}

/** The text of the call unwrapped: `self.<helper>(<args>)`. */
export function unwrappedText(b: BreakerCall): string {
  return `self.${b.helper}(${b.args.map((a) => a.text).join(', ')})`;
}

/**
 * Every use of `self.<attr>` in the agent outside __init__: a pass-through breaker call, inside
 * one of `scopes` (code that moves into the publisher or that the base replaces). Returns the
 * first other use, or null when there is none.
 */
export function otherBreakerUse(ctx: PythonTransformContext, attr: string, scopes: PyFunction[]): SyntaxNode | null {
  const init = ctx.agent.methods.get('__init__');
  for (const r of ctx.refs.of(attr)) {
    if (r.kind !== 'attribute') continue;
    if (init && init.outer.startIndex <= r.start && r.end <= init.outer.endIndex) continue;
    // r.node is the name `breaker` in `self.breaker.call(...)`: up through `self.breaker`, `.call`, the call.
    const call = r.node.parent?.parent?.parent ?? null;
    const b = breakerCall(ctx, call);
    const inScope = scopes.some((m) => m.outer.startIndex <= r.start && r.end <= m.outer.endIndex);
    if (!b || b.attr !== attr || !inScope) return r.node.parent ?? r.node;
  }
  return null;
}

/**
 * The publish methods' own breaker, also used by code that stays (`"bus_breaker": self.breaker.state`
 * in the cycle's report, a health method): unwrapping it in the publisher would leave that code reading
 * a breaker that never sees a failure, and keeping it would keep the base's drain failing for its whole
 * cool-down. Returns the reason the cycle stays (a person decides), or null.
 */
export function sharedBreaker(ctx: PythonTransformContext, publishers: string[], transport: (m: string) => boolean): { reason: string; line: number } | null {
  const scopes = [...ctx.agent.methods.values()].filter((m) => transport(m.name));
  // The helpers the publish methods call (`_post`), which move with them.
  for (const p of publishers) {
    const fn = ctx.agent.methods.get(p);
    if (!fn) continue;
    walk(fn.body, (n) => {
      const a = selfAttribute(n);
      const h = a ? ctx.agent.methods.get(a) : undefined;
      if (h && !scopes.includes(h) && h.name !== '__init__') scopes.push(h);
    });
  }
  for (const p of publishers) {
    const fn = ctx.agent.methods.get(p);
    if (!fn) continue;
    let found: { reason: string; line: number } | null = null;
    walk(fn.body, (n) => {
      if (found || n.type !== 'call') return;
      const b = breakerCall(ctx, n);
      if (!b) return;
      const other = otherBreakerUse(ctx, b.attr, scopes);
      if (other) {
        const at = other.startPosition.row + 1;
        found = {
          reason: `${p}() sends through the agent's own circuit breaker self.${b.attr} (${b.cls.name}, ${classWhere(b)}), whose state is also read at line ${at} (${ctx.source.split('\n')[at - 1]!.trim().slice(0, 60)}): the base's breaker replaces it in the publish, and that line would read a breaker that never sees a failure (kept, the base's queue drain would wait out its cool-down); decide by hand`,
          line: at,
        };
      }
    });
    if (found) return found;
  }
  return null;
}
