// Concern: teardown the base does (cleanup/stop/shutdown that only closes what the base
// owns or what was removed, flips the running flag and logs) goes. A teardown that saves
// state or notifies peers is business: it stays, minus the lines the base now owns, and
// ends with the base's teardown (teardown-super). That is resolved, not a review item, when
// it still runs at shutdown: the base calls it (its run loop's finally, its signal handler),
// or the entry point does (where SIGTERM's SystemExit or the loop's end leads).
import { isLoopStatement } from '../../src/analysis/generator-loop.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { type InfraScope, isInfraBlock, isLogCall, logsAgentState, memberSet } from '../../src/analysis/infra.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { type PyFunction, constructsClass, entryScopes, factoryMethods } from '../../src/lang/python/module-model.js';
import { ASSIGNMENT_TYPE, bindingsOf, callee, expressionOf, selfAttribute, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';

// The types the typed walks below act on (see walkTypes): every other position is passed over.
const ATTRIBUTE: ReadonlySet<string> = new Set(['attribute']);
import { clauseKind, interruptCalls, wiredAtInterrupt } from './interrupt-teardown.js';
import { teardownHandlerWired } from './remove-signal-handlers.js';
import { STOP_SIGNAL } from './loop-tail-teardown.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';

export const TEARDOWN = /^(cleanup|stop|shutdown|close|_cleanup|_shutdown|_stop)$/;

export const removeTeardown: PythonTransform = {
  name: 'remove-teardown',
  phase: 'propose',
  run(ctx) {
    const teardowns = new Set([...ctx.agent.methods.keys()].filter((n) => TEARDOWN.test(n) || n === ctx.py.teardown));
    for (const name of teardowns) {
      const fn = ctx.agent.methods.get(name)!;
      if (fn.params.some((p) => p.name !== 'self' && p.kind === 'plain')) continue;
      const reached = reachedAtShutdown(ctx, name, teardowns);
      // Nothing ran it at shutdown in the legacy agent either (an API for callers, say): kept as it was.
      const wasReached = reachedAtShutdown(ctx, name, teardowns, new Set(), false);
      // Called after the loop of a kept method the entry point runs (start(): loop, then self.shutdown()).
      const afterLoop = reached ? null : calledAfterEntryLoop(ctx, name);
      // `signal.signal(SIGTERM, agent.stop)` in the entry point stays: without this definition the
      // signal would hand (signum, frame) to the base's method of that name.
      const handler = (ctx.base.positionalArity?.get(name) ?? 0) < 2 ? entrySignalHandler(ctx, name) : null;
      // `for sig in (signal.SIGTERM, signal.SIGINT): signal.signal(sig, self.stop)` in a method of the agent
      // that stays: remove-signal-handlers drops only installs naming SIGTERM/SIGINT, so this one stays and
      // would hand (signum, frame) to the base's method (a TypeError in the main thread at the first signal,
      // and the agent's own flag, which its stop() cleared, never cleared: probe-py70's SyslogRelayAgent).
      const own = (ctx.base.positionalArity?.get(name) ?? 0) < 2 && !handler ? ownSignalInstall(ctx, name) : null;
      ctx.plan.proposeMember({
        name,
        kind: 'method',
        finding: 'socket',
        reason: 'teardown the base does',
        // Kept (business), it still runs when the agent stops, and the base's teardown follows it.
        safeToKeep: reached || !wasReached,
        // Its callers that stay (a kept run loop ending in self.cleanup()) reach the base's teardown.
        callsReachBase: true,
        condition: (scope) => {
          const when = reached ? `, it still runs at shutdown` : afterLoop ? `, it still runs when the loop of ${afterLoop}() ends, as before` : wasReached ? `, but nothing calls it at shutdown any more` : `, as it was: nothing called it at shutdown in the legacy agent either`;
          if (!(isInfraBlock(fn.body, scope) && !logsAgentState(fn.body, scope))) {
            return `${name}() does business work besides teardown: kept${when}`;
          }
          // Only the base's teardown besides a line operators read when the agent stops: the line
          // stays, in the teardown the base runs (minus what the base now does), not silently gone.
          const lines = stopLogLines(fn, scope);
          if (lines.length && wasReached) {
            const shown = lines.map((l) => `line ${l.startPosition.row + 1}: ${l.text.split('\n')[0]}`).join('; ');
            return `${name}() only tears down what the base now owns, but logs what operators see when the agent stops (${shown}): kept with ${lines.length > 1 ? 'those lines' : 'that line'}${when}`;
          }
          if (own && !scope.removed.has(own.method)) return `${name}() is the signal handler ${own.method}() installs (line ${own.line}: ${own.text}), called with (signum, frame), which the base's ${name}() does not take: kept`;
          return handler ? `${name}() is the SIGTERM/SIGINT handler the entry point installs (line ${handler.line}), called with (signum, frame), which the base's ${name}() does not take: kept` : null;
        },
      });
    }
  },
};

/**
 * Does the method still run when the migrated agent stops? The base calls it at shutdown, the
 * entry point calls it on the constructed agent, or another teardown that does calls it.
 */
export function reachedAtShutdown(ctx: PythonTransformContext, name: string, teardowns: Set<string>, seen = new Set<string>(), withBase = true, viaInterrupt = true, entryInterrupt = true): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  if (withBase && ctx.base.shutdownCalls.has(name)) return true;
  // (entryInterrupt false: the entry point's `except KeyboardInterrupt:` no longer runs on a base that takes SIGINT)
  if (calledByEntryPoint(ctx, name, entryInterrupt)) return true;
  // `with Agent(...) as agent:` in the entry point: leaving the block (SystemExit from the base's SIGTERM
  // handler included) runs the agent's __exit__, and with it what __exit__ calls.
  if (name !== '__exit__' && callsSelf(ctx.agent.methods.get('__exit__')?.body, name) && enteredByEntryPoint(ctx)) return true;
  // The legacy loop's `except KeyboardInterrupt:` (or `finally:`) called it when the agent was interrupted;
  // on the base it is wired into the cleanup() override the base's signal handler runs (interrupt-teardown).
  if (viaInterrupt && (withBase ? wiredAtInterrupt(ctx, name) : interruptCalls(ctx, name).length > 0)) return true;
  // installed as the agent's own SIGTERM/SIGINT handler (it stays where the base installs none),
  // or registered to run at interpreter exit (atexit.register(self.shutdown): the base's SIGTERM
  // ends in SystemExit, so it runs then too)
  let handler = false;
  walk(ctx.agent.cls.node, (n) => {
    if (n.type !== 'call' || !/^((signal\.)?signal|(atexit\.)?register)$/.test(callee(n) ?? '')) return;
    if (/^register$/.test(callee(n) ?? '') && !/^from\s+atexit\s+import\b/m.test(ctx.source)) return;
    if ((n.childForFieldName('arguments')?.namedChildren ?? []).some((a) => selfAttribute(a) === name)) handler = true;
  });
  // (a teardown installed as its own handler whose install goes runs from the base's cleanup() override instead)
  if (handler && !(withBase && teardownHandlerWired(ctx, name))) return true;
  for (const other of teardowns) {
    if (other === name) continue;
    const fn = ctx.agent.methods.get(other);
    if (!fn) continue;
    let calls = false;
    walk(fn.body, (n) => {
      if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === name) calls = true;
    });
    if (calls && reachedAtShutdown(ctx, other, teardowns, seen, withBase, viaInterrupt, entryInterrupt)) return true;
  }
  return false;
}

/** `self.<name>(...)` somewhere in the body (nested definitions aside). */
function callsSelf(body: SyntaxNode | undefined, name: string): boolean {
  let calls = false;
  if (body) walk(body, (n) => {
    if (calls || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'call' && selfAttribute(n.childForFieldName('function')!) === name) calls = true;
  });
  return calls;
}

/**
 * The entry point's scopes, each with the variables it binds to a constructed agent (`a = Agent(...)`),
 * and the test for a construction of the agent (its class or a factory classmethod).
 */
export function entryAgentHolders(ctx: PythonTransformContext): { constructs: (n: SyntaxNode | null | undefined) => boolean; scopes: Array<{ scope: SyntaxNode; vars: Set<string> }> } {
  const factories = factoryMethods(ctx.agent.cls);
  const builds = (n: SyntaxNode | null | undefined) => n?.type === 'call' && constructsClass(n, ctx.agent.cls, factories);
  // `agent = launch("wakeword", port=port)` where the module's launch() returns the agent it builds
  // (`return VOICE_AGENTS[role](**kwargs)`, `cls = ...; return cls(...)`): the variable holds the agent all the same.
  const launchers = new Set([...ctx.module.functions.values()].filter((f) => returnsOnly(f.body, builds)).map((f) => f.name));
  const constructs = (n: SyntaxNode | null | undefined) => builds(n) || (n?.type === 'call' && launchers.has(callee(n) ?? ''));
  const scopes = entryScopes(ctx.module).map((scope) => {
    const vars = new Set<string>();
    walkTypes(scope, ASSIGNMENT_TYPE, (n) => {
      if (constructs(n.childForFieldName('right'))) {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier') vars.add(left.text);
      }
    });
    return { scope, vars };
  });
  return { constructs, scopes };
}

/** Every `return` of the function (not of one nested in it) returns a value `ok` accepts; at least one does. */
function returnsOnly(body: SyntaxNode, ok: (n: SyntaxNode | null) => boolean): boolean {
  let returns = 0;
  let all = true;
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'return_statement') return;
    returns++;
    if (!ok(n.namedChild(0))) all = false;
  });
  return returns > 0 && all;
}

/** The entry point enters the agent as a context manager: `with Agent(...) as a:`, or `with a:` on a variable holding it. */
function enteredByEntryPoint(ctx: PythonTransformContext): boolean {
  const { constructs, scopes } = entryAgentHolders(ctx);
  let entered = false;
  for (const { scope, vars } of scopes) {
    walk(scope, (n) => {
      if (entered || n.type !== 'with_item') return;
      let v = n.childForFieldName('value');
      if (v?.type === 'as_pattern') v = v.namedChild(0);
      if (constructs(v) || (v?.type === 'identifier' && vars.has(v.text))) entered = true;
    });
  }
  return entered;
}

/**
 * The method the entry point runs (`agent.start()`) in whose body `self.<name>()` is a statement right
 * after a `while` loop: it runs when that loop ends. That method's name, else null.
 */
function calledAfterEntryLoop(ctx: PythonTransformContext, name: string): string | null {
  for (const [m, fn] of ctx.agent.methods) {
    if (m === name || !calledByEntryPoint(ctx, m)) continue;
    let found = false;
    walk(fn.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      // (a for loop over the agent's own looping generator, `for tick in self.ticks():`, is a loop as a while is)
      if (found || !isLoopStatement(ctx, n) || !n.parent) return;
      const siblings = statements(n.parent);
      const next = siblings[siblings.findIndex((x) => x.id === n.id) + 1];
      const call = next?.type === 'expression_statement' ? next.namedChild(0) : null;
      if (call?.type === 'call' && selfAttribute(call.childForFieldName('function')!) === name) found = true;
    });
    if (found) return m;
  }
  return null;
}

/**
 * `agent.<name>()` in the entry point, on a variable holding the constructed agent. `interruptCounts`
 * false asks what still runs when the base's signal handler ends the agent with SystemExit: only a call
 * in a `finally:` (or a clause catching SystemExit) does. `agent.run(); agent.close()` or a call in an
 * `except KeyboardInterrupt:` is skipped by that SystemExit (probe-py50 ReportExportAgent: its close()
 * wrote the manifest's last line and was counted as run at shutdown, so it never ran on a signal).
 */
export function calledByEntryPoint(ctx: PythonTransformContext, name: string, interruptCounts = true): boolean {
  return entryAgentMembers(ctx, name).some((fn) => fn.parent?.type === 'call' && fn.parent.childForFieldName('function')?.id === fn.id && (interruptCounts || runsOnSystemExit(fn.parent)));
}

/** Inside a `finally:` or an except clause catching SystemExit (bare, BaseException, SystemExit). */
function runsOnSystemExit(node: SyntaxNode): boolean {
  for (let n: SyntaxNode | null = node.parent; n && n.type !== 'function_definition' && n.type !== 'module'; n = n.parent) {
    if (clauseKind(n) === 'survives') return true;
  }
  return false;
}

/**
 * `try: agent.run() except KeyboardInterrupt: agent.shutdown()` in the entry point: calls of the agent's
 * <name>() that only an interrupt reaches (an except clause naming KeyboardInterrupt but not SystemExit,
 * around a call of the agent's own method). On a base that takes SIGINT itself and ends with SystemExit,
 * that clause never runs again. `started`: the agent method the try runs.
 */
export function entryInterruptCalls(ctx: PythonTransformContext, name: string): Array<{ call: SyntaxNode; started: string }> {
  const { constructs, scopes } = entryAgentHolders(ctx);
  const out: Array<{ call: SyntaxNode; started: string }> = [];
  const onAgent = (n: SyntaxNode, vars: Set<string>): string | null => {
    const fn = n.type === 'call' ? n.childForFieldName('function') : null;
    const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    return obj && (vars.has(obj.text) || constructs(obj)) ? fn!.childForFieldName('attribute')!.text : null;
  };
  for (const { scope, vars } of scopes) {
    walk(scope, (t) => {
      if (t.type === 'class_definition' || (t.type === 'function_definition' && t.id !== scope.id)) return false;
      if (t.type !== 'try_statement') return;
      let started: string | null = null;
      walk(t.childForFieldName('body')!, (n) => {
        if (!started && n.type === 'call') started = onAgent(n, vars);
      });
      if (!started) return;
      for (const clause of t.namedChildren) {
        if (clauseKind(clause) !== 'interrupt') continue;
        walk(clause, (n) => {
          if (n.type === 'call' && onAgent(n, vars) === name && !n.childForFieldName('arguments')?.namedChildren.length) out.push({ call: n, started: started! });
        });
      }
    });
  }
  return out;
}

/**
 * `signal.signal(SIGTERM, on_term)` in the entry point before the agent is constructed, where the handler
 * (a function of the file, or a lambda) calls `agent.<name>()` on the variable the entry point binds to the
 * agent: the legacy agent's teardown ran there at SIGTERM/SIGINT. A base that installs its own handlers in
 * its constructor replaces that one when the agent is built, so the call no longer runs (probe-py57
 * CacheJanitorAgent: its shutdown() saved the cache manifest, and was said "nothing called it at shutdown").
 * Installed after the construction, the handler replaces the base's instead and still runs: not listed.
 */
export function entryHandlerCalls(ctx: PythonTransformContext, name: string): Array<{ call: SyntaxNode; handler: string; line: number }> {
  const out: Array<{ call: SyntaxNode; handler: string; line: number }> = [];
  for (const h of entryHandlersBeforeBuild(ctx)) {
    walk(h.body, (c) => {
      if (c.id !== h.body.id && (c.type === 'function_definition' || c.type === 'class_definition' || c.type === 'lambda')) return false;
      if (c.type !== 'call' || c.childForFieldName('arguments')?.namedChildren.length) return;
      const f = c.childForFieldName('function');
      if (f?.type === 'attribute' && h.vars.has(f.childForFieldName('object')?.text ?? '') && f.childForFieldName('attribute')!.text === name) {
        out.push({ call: c, handler: h.handler, line: h.install.startPosition.row + 1 });
      }
    });
  }
  return out;
}

/** A SIGTERM/SIGINT handler the entry point installs before it builds the agent. */
export interface EarlyEntryHandler {
  /** The `signal.signal(...)` call. */
  install: SyntaxNode;
  /** `_on_sigterm()`, or 'lambda'. */
  handler: string;
  /** The handler's block (a def's body) or a lambda's body expression. */
  body: SyntaxNode;
  /** Names the entry point binds to the agent (the handler reads them as globals or closure names). */
  vars: Set<string>;
}

/**
 * `signal.signal(SIGTERM, on_term)` in an entry point that builds the agent, before the construction: a base
 * that installs its own handlers in its constructor replaces that one when the agent is built.
 */
export function entryHandlersBeforeBuild(ctx: PythonTransformContext): EarlyEntryHandler[] {
  const { constructs, scopes } = entryAgentHolders(ctx);
  const out: EarlyEntryHandler[] = [];
  for (const { scope, vars } of scopes) {
    if (!vars.size) continue;
    let built = Infinity;
    walk(scope, (n) => {
      if (n.type === 'class_definition' || (n.type === 'function_definition' && n.id !== scope.id)) return false;
      if (n.type === 'assignment' && constructs(n.childForFieldName('right'))) built = Math.min(built, n.startIndex);
    });
    walk(scope, (n) => {
      if (n.type === 'class_definition' || (n.type === 'function_definition' && n.id !== scope.id)) return false;
      if (n.type !== 'call' || n.startIndex > built || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (args.length !== 2 || !/\bSIG(TERM|INT)$/.test(args[0]!.text)) return;
      const h = args[1]!;
      let body: SyntaxNode | null = null;
      if (h.type === 'lambda') body = h.childForFieldName('body');
      else if (h.type === 'identifier') {
        walk(scope, (d) => {
          if (d.type === 'function_definition' && d.id !== scope.id) {
            if (d.childForFieldName('name')?.text === h.text) body = d.childForFieldName('body');
            return false;
          }
        });
        // A function of the module reads the agent as a global: only a variable the guard itself binds is one.
        if (!body && scope.type !== 'function_definition') body = ctx.module.functions.get(h.text)?.body ?? null;
      }
      if (body) out.push({ install: n, handler: h.type === 'lambda' ? 'lambda' : `${h.text}()`, body, vars });
    });
  }
  return out;
}

/**
 * `signal.signal(SIGTERM, agent.<name>)` in the entry point: the agent's bound method installed as
 * a signal handler (called with signum and frame). Its line, else null.
 */
export function entrySignalHandler(ctx: PythonTransformContext, name: string): { line: number } | null {
  for (const ref of entryAgentMembers(ctx, name)) {
    const args = ref.parent;
    const call = args?.type === 'argument_list' ? args.parent : null;
    if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) continue;
    if (args!.namedChildren.length === 2 && args!.namedChildren[1]!.id === ref.id) return { line: ref.startPosition.row + 1 };
  }
  return null;
}

/**
 * `signal.signal(<sig>, self.<name>)` in a method of the agent whose signal is not written as SIGTERM/SIGINT
 * (a loop variable, a module constant): remove-signal-handlers never drops such an install, so it stays with
 * its method. The first one, with its method and line.
 */
function ownSignalInstall(ctx: PythonTransformContext, name: string): { method: string; line: number; text: string } | null {
  for (const m of ctx.agent.methods.values()) {
    if (m.name === name) continue;
    let found: SyntaxNode | null = null;
    walkAgentCode(m, (n) => {
      if (found) return false;
      if (n.type !== 'call' || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      const a = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (a.length === 2 && !STOP_SIGNAL.test(a[0]!.text) && selfAttribute(a[1]!) === name) found = n;
    });
    const f = found as SyntaxNode | null;
    if (f) return { method: m.name, line: f.startPosition.row + 1, text: f.text };
  }
  return null;
}

/** `agent.<name>` in the entry point (called or not), on the constructed agent or a variable holding it. */
function entryAgentMembers(ctx: PythonTransformContext, name: string): SyntaxNode[] {
  const { constructs, scopes } = entryAgentHolders(ctx);
  const found: SyntaxNode[] = [];
  for (const { scope, vars } of scopes) {
    walkTypes(scope, ATTRIBUTE, (n) => {
      if (n.childForFieldName('attribute')?.text !== name) return;
      // v = Agent(...); v.cleanup  or  Agent(...).run
      const obj = n.childForFieldName('object')!;
      if (vars.has(obj.text) || constructs(obj)) found.push(n);
    });
  }
  return found;
}

/**
 * The teardown's own log lines (info and louder, or print) at its top level that still mean the same
 * once its infrastructure is gone: they read literals, module names and members that stay or that
 * the base holds, never a local of the method or a member that goes. `logger.info("FileDigestAgent
 * stopped")` is what operators and their log searches see; a debug line is bookkeeping.
 */
export function stopLogLines(fn: PyFunction, scope: InfraScope): SyntaxNode[] {
  const locals = bindingsOf(fn.node);
  return statements(fn.body).filter((st) => {
    const call = expressionOf(st);
    if (!call || !isLogCall(call) || /\.debug$/.test(callee(call) ?? '')) return false;
    const args = call.childForFieldName('arguments');
    if (!args || args.namedChildren.length === 0) return false;
    if ([...memberSet(args)].some((m) => scope.removed.has(m) && !scope.baseOwned.has(m))) return false;
    let local = false;
    walk(args, (n) => {
      if (n.type !== 'identifier' || n.text === 'self' || !locals.has(n.text)) return;
      const p = n.parent;
      // the name of `obj.name` or of a keyword argument is not a read of the local
      if ((p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) || (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id)) return;
      local = true;
    });
    return !local;
  });
}
