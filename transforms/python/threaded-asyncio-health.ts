// Concern: an asyncio health server run in a thread of its own, with its own event loop
// (`Thread(target=self._run_health_loop)` running `loop.run_until_complete(asyncio.start_server(...))`
// then `loop.run_forever()`, or `asyncio.run(self._serve())` of a coroutine serving it under
// `async with server: await server.serve_forever()`). Whatever the names, the method starting the
// server on the health port, its handler, the thread target that only drives that coroutine, the
// event loop and the readiness event only they set are the health endpoint: they are proposed
// together, and the plan's use and business checks keep all of them when anything else needs one
// (a handler answering business paths, a loop the agent's work also runs on).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { callee, selfAttribute, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { asyncHealthListeners, businessPaths, healthPortExpressions, healthStartServer, proposeHealthLoop } from './remove-health.js';

/** Calls a thread target may make to run a coroutine on an event loop of its own (and nothing else). */
const DRIVES_LOOP = /(^|\.)(run|run_until_complete|set_event_loop|new_event_loop|run_forever|close|shutdown_asyncgens)$/;

export const threadedAsyncioHealth: PythonTransform = {
  name: 'threaded-asyncio-health',
  phase: 'propose',
  run(ctx) {
    const { agent } = ctx;
    const ports = healthPortExpressions(ctx);
    if (!ports.size) return;
    // Listeners started inside methods that stay (an async run() beside the business listener) are
    // remove-health's: their statement goes, the method stays.
    const listenerStmts = asyncHealthListeners(ctx, ports).map((l) => l.stmt);
    const targets = threadTargets(ctx);
    const lifecycle = new Set(['__init__', ctx.py.main_loop_method, ctx.py.teardown, 'stop', 'shutdown', 'close', 'cleanup'].filter(Boolean));
    const serving = new Set<string>();
    const handlers = new Set<string>();
    for (const m of agent.methods.values()) {
      if (lifecycle.has(m.name)) continue;
      const starts = healthServersIn(ctx, m, ports).filter((s) => !listenerStmts.some((l) => l.startIndex <= s.call.startIndex && s.call.endIndex <= l.endIndex));
      if (!starts.length) continue;
      serving.add(m.name);
      for (const s of starts) if (s.handler) handlers.add(s.handler);
    }
    if (!serving.size) return;
    // The thread targets that only drive one of those methods on a loop of their own.
    const runners = new Set<string>();
    for (const name of targets) {
      const fn = agent.methods.get(name);
      if (fn && !serving.has(name) && !lifecycle.has(name) && onlyDrives(fn, serving, agent.methods)) runners.add(name);
    }
    // A server method no thread runs (directly or through a runner) is not this shape.
    const threaded = [...serving].filter((m) => targets.has(m) || [...runners].some((r) => mentionsMember(agent.methods.get(r)!, m)));
    if (!threaded.length) return;
    const threadCode = new Set([...threaded, ...[...runners].filter((r) => threaded.some((m) => mentionsMember(agent.methods.get(r)!, m)))]);
    const reason = 'asyncio health server run in a thread with its own event loop (the base serves /health)';
    for (const name of threadCode) proposeHealthLoop(ctx, name, reason);
    for (const h of handlers) {
      const fn = agent.methods.get(h);
      if (!fn || lifecycle.has(h)) continue;
      // A handler that also answers business paths keeps the server (and its thread) where it is: said as a
      // review item, which the port plan names when it refuses the clash on the health port.
      const other = businessPaths(fn.body);
      if (other.length) {
        ctx.plan.proposeMember({
          name: h,
          kind: 'method',
          finding: 'health',
          reason: 'the handler of the threaded asyncio health server',
          condition: () => `it also answers ${other.join(', ')} on the health port, which BaseAgent's health server does not serve: kept, and the asyncio server with it (move those routes to a port of the agent's own by hand)`,
        });
        continue;
      }
      proposeHealthLoop(ctx, h, 'the handler of the threaded asyncio health server (the base serves /health)');
    }
    const code = [...threadCode].map((n) => agent.methods.get(n)!);
    for (const a of agent.assignments) {
      if (!a.value) continue;
      const fn = a.value.type === 'call' ? callee(a.value) ?? '' : '';
      const target = /(^|\.)Thread$/.test(fn) ? threadTargetOf(a.value) : null;
      if (target && threadCode.has(target)) {
        ctx.plan.proposeMember({ name: a.attr, kind: 'attribute', finding: 'health', reason: `the thread running the asyncio health server (${target}())`, safeToKeep: true });
      } else if (/(^|\.)new_event_loop$/.test(fn) && code.some((c) => mentionsMember(c, a.attr))) {
        ctx.plan.proposeMember({ name: a.attr, kind: 'attribute', finding: 'health', reason: 'the event loop of the asyncio health server\'s thread', safeToKeep: true });
      } else if (/(^|\.)Event$/.test(fn) && readinessOnly(ctx, a.attr, code)) {
        ctx.plan.proposeMember({ name: a.attr, kind: 'attribute', finding: 'health', reason: 'the event only the asyncio health server\'s thread sets (its readiness)', safeToKeep: true });
      }
    }
  },
};

// The node types the searches below act on: walkTypes steps through the file's index of them, not every node.
const CALLS: ReadonlySet<string> = new Set(['call']);
const CALLS_AND_SCOPES: ReadonlySet<string> = new Set(['call', 'function_definition', 'class_definition', 'lambda']);

/** `start_server(self.<handler>, host, <health port>)` calls in the method's own code (not in nested defs). */
function healthServersIn(ctx: PythonTransformContext, m: PyFunction, ports: Set<string>): Array<{ call: SyntaxNode; handler: string | null }> {
  const out: Array<{ call: SyntaxNode; handler: string | null }> = [];
  walkTypes(m.body, CALLS_AND_SCOPES, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'call') return;
    const s = healthStartServer(ctx, n, ports);
    if (s) out.push({ call: n, handler: s.handler });
  });
  return out;
}

/** Agent methods handed to a Thread as `target=self.<m>` anywhere in the class. */
function threadTargets(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  walkTypes(ctx.agent.cls.node, CALLS, (n) => {
    if (n.type !== 'call' || !/(^|\.)Thread$/.test(callee(n) ?? '')) return;
    const t = threadTargetOf(n);
    if (t && ctx.agent.methods.has(t)) out.add(t);
  });
  return out;
}

function threadTargetOf(call: SyntaxNode): string | null {
  const kw = (call.childForFieldName('arguments')?.namedChildren ?? []).find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'target');
  const v = kw?.childForFieldName('value');
  return v ? selfAttribute(v) : null;
}

/**
 * Every statement of the method (through try/finally) only runs coroutines of `serving` on an event loop
 * (`asyncio.run(self._serve())`, `loop.run_until_complete(self._serve())`, `asyncio.set_event_loop(loop)`,
 * `loop.close()`), and it runs at least one.
 */
function onlyDrives(fn: PyFunction, serving: Set<string>, methods: ReadonlyMap<string, PyFunction>): boolean {
  let drives = false;
  const ok = (block: SyntaxNode | null): boolean => statements(block).every((st) => {
    if (st.type === 'pass_statement' || st.type === 'comment') return true;
    if (st.type === 'try_statement') {
      return [st.childForFieldName('body'), ...st.namedChildren.filter((c) => c.type === 'finally_clause' || c.type === 'else_clause').map((c) => c.namedChildren.find((b) => b.type === 'block') ?? null)].every((b) => ok(b)) &&
        !st.namedChildren.some((c) => c.type === 'except_clause' || c.type === 'except_group_clause');
    }
    if (st.type !== 'expression_statement' || st.namedChildCount !== 1) return false;
    let e = st.namedChild(0)!;
    if (e.type === 'assignment') {
      if (e.childForFieldName('left')?.type !== 'identifier') return false;
      e = e.childForFieldName('right')!;
    }
    if (e.type === 'await') e = e.namedChild(0)!;
    if (e?.type !== 'call' || !DRIVES_LOOP.test(callee(e) ?? '')) return false;
    // `self._serve()` of a serving method is what it drives; any other method of the agent is other work.
    let clean = true;
    walk(e, (n) => {
      const a = n.type === 'attribute' ? selfAttribute(n) : null;
      if (a === null) return;
      if (serving.has(a) && n.parent?.type === 'call') drives = true;
      else if (methods.has(a)) clean = false;
      return false;
    });
    return clean;
  });
  return ok(fn.body) && drives;
}

/** `self.<m>` (a method or an attribute) anywhere in the method's body. */
function mentionsMember(fn: PyFunction, m: string): boolean {
  let found = false;
  walk(fn.body, (n) => {
    if (found) return false;
    if (n.type === 'attribute' && selfAttribute(n) === m) found = true;
  });
  return found;
}

/**
 * `self.<attr>.set()` only inside the health thread's code: the event tells set-up that the server is up,
 * nothing the agent's work waits on (a wait left in code that stays keeps it, by the plan's use check).
 */
function readinessOnly(ctx: PythonTransformContext, attr: string, code: PyFunction[]): boolean {
  let sets = 0;
  let outside = false;
  walkTypes(ctx.agent.cls.node, CALLS, (n) => {
    if (n.type !== 'call') return;
    const fn = n.childForFieldName('function');
    const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    if (!obj || selfAttribute(obj) !== attr || fn!.childForFieldName('attribute')?.text !== 'set') return;
    if (code.some((c) => c.outer.startIndex <= n.startIndex && n.endIndex <= c.outer.endIndex)) sets++;
    else outside = true;
  });
  return sets > 0 && !outside;
}

