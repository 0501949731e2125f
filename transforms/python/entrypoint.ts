// Concern: the entry point. The `__main__` guard (or the function it calls) must construct
// the agent class — not a helper or sidecar — and call the profile's run method. A guard
// that already does so is left as it is; a call to a method the migration removed is
// pointed at run(); a file without a guard gets one when the agent can be constructed.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { callee, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { keptLoopIsSafe } from './remove-main-loop.js';
import { LEGACY_RUN } from './hardened-shapes.js';
import { chosenClasses, constructsClass, entryScopes, factoryMethods } from '../../src/lang/python/module-model.js';
import { TEARDOWN, calledByEntryPoint, entryAgentHolders } from './remove-teardown.js';
import { clauseKind } from './interrupt-teardown.js';
import { restoreInterruptExit } from './interrupt-exit-code.js';
import { resolvedLoopMixin } from './inherited-loop-mixin.js';
import { branchBlock, oneShotStaysExclusive } from './one-shot-mode-exclusive.js';

const label = 'entrypoint';

export const entrypoint: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const runMethod = ctx.py.main_loop_method ?? 'run';
    const guard = ctx.module.mainGuard;
    if (!guard) {
      addGuard(ctx);
      return;
    }
    const scopes = entryScopes(ctx.module);
    const factories = factoryMethods(cls);
    let constructed = false;
    // The entry point's run() mode (`agent = Agent(...); agent.run()`), beside which another construction
    // may serve a one-shot mode (`Agent().route_pending()` for a `once` subcommand).
    let runMode: SyntaxNode | null = null;
    for (const scope of scopes) {
      walk(scope, (n) => {
        if (runMode || n.type !== 'call' || !constructsClass(n, cls, factories)) return;
        const started = startCallOn(ctx, scope, n);
        if (started?.childForFieldName('function')?.childForFieldName('attribute')?.text === runMethod) runMode = started;
      });
    }
    for (const scope of scopes) {
      walk(scope, (n) => {
        if (n.type !== 'call' || !constructsClass(n, cls, factories)) return;
        constructed = true;
        const started = startCallOn(ctx, scope, n);
        if (!started) return;
        const method = started.childForFieldName('function')!.childForFieldName('attribute')!;
        if (method.text === runMethod) {
          // `agent = Agent(cfg); if args.cmd == "once": agent.sync_once(); return` before agent.run(): the
          // one construction also serves a one-shot mode, which now starts the base as much as run()'s does.
          if (!baseStartsInRun(ctx) && ctx.base.binds.length > 0) {
            const calls = oneShotCallsBeforeRun(ctx, scope, n, started);
            const exclusive = calls.length ? oneShotStaysExclusive(ctx, calls[0]!) : null;
            if (exclusive) oneShotWarning(ctx, calls, exclusive);
            else for (const call of calls) oneShotItem(ctx, call, n, started, true);
          }
          return;
        }
        const removedByUs = ctx.resolved?.members.has(method.text) ?? false;
        const exists = ctx.agent.methods.has(method.text) || ctx.base.methods.has(method.text);
        // `agent = SudoWatcher() if which == "sudo" else SshLoginWatcher()`: the one start call also starts
        // another class of the file, which neither is nor inherits this agent; pointed at the base's method,
        // that other mode would call a method its class does not have.
        const others = otherClassesStarted(ctx, n);
        if ((removedByUs || !exists) && others.length) {
          ctx.unstartable = keep(ctx, `${cls.name}.${method.text}`, method.startPosition.row + 1,
            `the entry point's ${method.text}() call (line ${method.startPosition.row + 1}) starts whichever class it constructed: ${cls.name} or ${others.join(', ')} (line ${n.startPosition.row + 1}), which does not inherit ${cls.name}; ` +
              `it cannot become ${runMethod}() for ${cls.name} alone (${others.join(', ')} has no ${runMethod}()), so ${ctx.profile.base_class} starts nothing until a person splits the modes`);
          return;
        }
        if (removedByUs || !exists) {
          ctx.edits.replace(method.startIndex, method.endIndex, runMethod, label);
          interruptedClauseWarning(ctx, started, runMethod);
        } else if (runMode && !baseStartsInRun(ctx) && ctx.base.binds.length > 0) {
          oneShotItem(ctx, started, n, runMode, false);
        } else if (baseStartsInRun(ctx)) {
          // The base starts nothing when constructed (its services, health included, and its
          // hook loop all start in its run method): an agent started another way gets none of it.
          const own = ctx.agent.methods.get(method.text);
          // Already kept for review (run() that could not become the base's loop): that item says
          // why validation finds no /health, rather than a second item for the same method.
          const item = [...(ctx.resolved?.kept ?? []), ...ctx.kept].find((k) => k.symbol === method.text);
          if (item) {
            item.reason += `; the entry point still calls ${method.text}() and never ${runMethod}(), so ${ctx.profile.base_class} starts nothing (no /health, no registration, no collect_data() loop) until this is resolved`;
            ctx.unstartable = item;
            return;
          }
          // Not the agent's own: a legacy parent of the repository that stays among the bases defines it
          // (`class SnmpCollector(FleetAgentBase)`, FleetAgentBase running the fleet's loop and publish).
          const parent = own ? undefined : ctx.inherited().find((p) => p.cls.methods.has(method.text) && p.cls.name !== ctx.profile.base_class);
          // A loop mixin whose loop the base's takes the place of (resolvedLoopMixin), once the base is given
          // the period that loop slept: the call starts the base's loop.
          const mixin = resolvedLoopMixin(ctx);
          if (parent && mixin && parent.cls.name === mixin.name && method.text === 'run') {
            if (ctx.passThrough.get('collection_interval') !== mixin.param) {
              ctx.unstartable = keep(ctx, `${cls.name}.${method.text}`, method.startPosition.row + 1,
                `${mixin.name}.run() (${mixin.file}:${mixin.run.line}) slept self.${mixin.attr}, set from __init__'s ${mixin.param}, but ${ctx.profile.base_class} is not given ${mixin.param} as its collection_interval: hand it over by hand, then call ${runMethod}()`);
              return;
            }
            ctx.edits.replace(method.startIndex, method.endIndex, runMethod, label);
            interruptedClauseWarning(ctx, started, runMethod);
            return;
          }
          if (parent) {
            const def = parent.cls.methods.get(method.text)!;
            ctx.unstartable = keep(ctx, `${cls.name}.${method.text}`, method.startPosition.row + 1,
              `the entry point calls ${method.text}() (line ${method.startPosition.row + 1}), which ${cls.name} does not define: ${parent.cls.name}.${method.text}() (${parent.file}:${def.line}) runs, ` +
                `the loop of a legacy parent of the repository that stays a base, and never ${runMethod}(), so ${ctx.profile.base_class} starts nothing (no /health, no registration, no collect_data() loop); ` +
                `${parent.cls.name} holds that loop for every class built on it: migrate ${parent.cls.name} onto ${ctx.profile.base_class} by hand (its subclasses then reach the base through it), or decide to move this agent off it`);
            return;
          }
          // Not the agent's own, and its only base an older class of the profile's base's name imported from
          // another module (pointed at the profile's by hardened-old-base): the call ran that base's loop, whose
          // place the profile's run method takes (ResolverAgent(...).run() on the v0 HardenedAgentBase).
          if (!own && ctx.base.methods.has(method.text) && onlyProfileBase(ctx)) {
            ctx.edits.replace(method.startIndex, method.endIndex, runMethod, label);
            ctx.warnings.push(
              `the entry point's ${method.text}() (line ${method.startPosition.row + 1}), which ${cls.name} does not define, ran the loop of the base it inherits; ` +
                `it now calls ${ctx.profile.base_class}.${runMethod}()`);
            interruptedClauseWarning(ctx, started, runMethod);
            return;
          }
          ctx.unstartable = keep(ctx, `${cls.name}.${method.text}`, (own?.line ?? method.startPosition.row + 1),
            `the entry point calls ${method.text}() (kept, business code${own ? `, ${ctx.file}:${own.line}` : ''}) and never ${runMethod}(); ${ctx.profile.base_class} starts nothing when constructed (its loop over ${(ctx.py.hooks ?? []).filter((h) => ctx.base.methods.has(h)).slice(0, 2).map((h) => `${h}()`).join(', ') || 'its hooks'}, its /health and registration start in ${runMethod}()), so none of it runs: fold ${method.text}()'s cycle into the hooks and call ${runMethod}() by hand`);
        } else if (keptLoopIsSafe(ctx, ctx.agent.methods.get(method.text)?.body ?? ctx.agent.cls.body)) {
          // The base's run() does nothing this agent needs (decided from its code): the agent's own start stays.
          ctx.warnings.push(`the entry point calls ${method.text}() (kept, business code) rather than ${runMethod}(); ${ctx.profile.base_class}.${runMethod}() serves nothing this agent needs`);
        } else {
          keep(ctx, `${cls.name}.${method.text}`, method.startPosition.row + 1,
            `the entry point calls ${method.text}() (kept, business code) where the profile runs ${runMethod}(), so ${ctx.profile.base_class}.${runMethod}() never serves its request socket; review the entry point`);
        }
      });
    }
    if (constructed) entryInterruptClauses(ctx);
    if (!constructed) {
      keep(ctx, '__main__', guard.startPosition.row + 1,
        `the __main__ guard does not construct ${cls.name}; the profile's entry point is ${ctx.py.entrypoint.replace('{call}', `${cls.name}()`)}`);
    }
  },
};

/**
 * A one-shot mode beside the run() mode: constructing the agent now starts the base (it binds its ports,
 * registers and takes the signals while constructed), so this mode, run beside the agent, finds its ports
 * taken, and leaves a registration behind when it exits without stop(). A review item naming both modes.
 */
function oneShotItem(ctx: PythonTransformContext, call: SyntaxNode, construction: SyntaxNode, runCall: SyntaxNode, shared: boolean): void {
  const cls = ctx.agent.cls;
  const runMethod = runCall.childForFieldName('function')!.childForFieldName('attribute')!.text;
  const method = call.childForFieldName('function')!.childForFieldName('attribute')!.text;
  const own = ctx.agent.methods.get(method);
  const at = (shared ? call : construction).startPosition.row + 1;
  const where = `line ${at}${own ? `; ${method}() at ${ctx.file}:${own.line}` : ''}`;
  keep(ctx, `${cls.name}.${method}`, at,
    (shared
      ? `the entry point also uses the ${cls.name} it constructs (line ${construction.startPosition.row + 1}) only to call ${method}() and leave (${where}), before the ${runMethod}() mode (line ${runCall.startPosition.row + 1})`
      : `the entry point also constructs ${cls.name} only to call ${method}() (${where}), a mode beside the ${runMethod}() one (line ${runCall.startPosition.row + 1})`) +
      `; ${ctx.profile.base_class}'s constructor now binds ${ctx.base.binds.join(', ')}, registers and installs its signal handlers, ` +
      `so this mode clashes with a running agent's ports and leaves its registration behind; decide how this mode should run on the base`);
}

/** The one-shot mode that never ran beside a serving agent and ends in the base's teardown: what changed, said once. */
function oneShotWarning(ctx: PythonTransformContext, calls: SyntaxNode[], exclusive: { teardown: string; bindLine: number }): void {
  const what = calls.map((c) => `${c.childForFieldName('function')!.childForFieldName('attribute')!.text}() (line ${c.startPosition.row + 1})`).join(', ');
  ctx.warnings.push(
    `the entry point's one-shot mode (${what}) constructs ${ctx.agent.cls.name}, which now also binds ${ctx.base.binds.join(', ')} and registers: ` +
      `the legacy constructor already bound a port of its own (line ${exclusive.bindLine}), so that mode never ran beside a serving agent, ` +
      `and it ends with ${exclusive.teardown}(), which ends with ${ctx.profile.base_class}'s teardown (it deregisters)`);
}

/**
 * Calls of the agent's own methods on the variable holding the construction, after it and before the run
 * call, in a branch that leaves the scope (`return`, `sys.exit()`, `raise SystemExit`): a one-shot mode
 * sharing run()'s construction. Nested functions (a signal handler defined there) are not the branch.
 */
function oneShotCallsBeforeRun(ctx: PythonTransformContext, scope: SyntaxNode, construction: SyntaxNode, runCall: SyntaxNode): SyntaxNode[] {
  const assigned = construction.parent?.type === 'assignment' ? construction.parent.childForFieldName('left') : null;
  if (assigned?.type !== 'identifier') return [];
  const out: SyntaxNode[] = [];
  walk(scope, (n) => {
    if ((n.type === 'function_definition' && n.id !== scope.id) || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'call' || n.startIndex < construction.endIndex || n.startIndex >= runCall.startIndex) return;
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('object')?.text !== assigned.text) return;
    const m = fn.childForFieldName('attribute')!.text;
    if (!ctx.agent.methods.has(m) || ctx.base.methods.has(m) || ctx.resolved?.members.has(m)) return;
    if (leavesInBranch(n)) out.push(n);
  });
  return out;
}

/** The call sits in an `if`/`elif`/`else` block that ends by leaving the function or the program. */
function leavesInBranch(call: SyntaxNode): boolean {
  const block = branchBlock(call);
  const last = block ? statements(block).at(-1) : undefined;
  if (!last) return false;
  if (last.type === 'return_statement') return true;
  if (last.type === 'raise_statement' && /SystemExit/.test(last.text)) return true;
  const c = last.type === 'expression_statement' ? last.namedChild(0) : null;
  return c?.type === 'call' && /^(sys\.exit|exit|os\._exit)$/.test(callee(c) ?? '');
}

/** Method names of a start call on the constructed agent, which this transform points at the base's entry point. */
export const START_CALL = /^(run|start|serve|serve_forever|main|run_forever|loop|start_agent|run_agent)$/;

/**
 * The `.run()/.start()` call made on the constructed agent: `Agent(...).start()` directly,
 * or `v = Agent(...)` followed by `v.start()` in the same scope.
 */
export function startCallOn(ctx: PythonTransformContext, scope: SyntaxNode, construction: SyntaxNode): SyntaxNode | null {
  let parent = construction.parent;
  // `v = A() if cond else B()`: v is bound to this construction on one of the paths.
  while (parent?.type === 'conditional_expression' || parent?.type === 'parenthesized_expression') parent = parent.parent;
  if (parent?.type === 'attribute' && parent.parent?.type === 'call') return parent.parent;
  const v = parent?.type === 'assignment' ? parent.childForFieldName('left') : withTarget(ctx, construction);
  if (v?.type !== 'identifier') return null;
  let found: SyntaxNode | null = null;
  walk(scope, (n) => {
    if (found) return false;
    // A lambda or a def in the entry scope runs later, if at all (`signal.signal(SIGTERM, lambda *_:
    // agent.cleanup())`): a call in it is a handler's, not the start, and must not be pointed at run().
    if (n.id !== scope.id && (n.type === 'lambda' || n.type === 'function_definition' || n.type === 'class_definition')) return false;
    if (n.type !== 'call' || n.startIndex < construction.endIndex) return;
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('object')?.text !== v.text) return;
    const m = fn.childForFieldName('attribute')!.text;
    if (START_CALL.test(m) || ctx.resolved?.members.has(m)) {
      found = n;
    }
  });
  return found;
}

/**
 * `with Agent(cfg) as agent:` binds agent to the construction itself only when the class's own
 * __enter__ answers `return self` on every path (a context manager opening its queue and channel);
 * another __enter__, or one inherited, may hand over anything.
 */
function withTarget(ctx: PythonTransformContext, construction: SyntaxNode): SyntaxNode | null {
  const as = construction.parent;
  if (as?.type !== 'as_pattern' || as.parent?.type !== 'with_item') return null;
  const enter = ctx.agent.methods.get('__enter__');
  if (!enter) return null;
  let answers = 0;
  let other = false;
  walk(enter.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return;
    if (n.namedChildren[0]?.type === 'identifier' && n.namedChildren[0].text === 'self' && n.namedChildren.length === 1) answers++;
    else other = true;
  });
  if (!answers || other) return null;
  const target = as.childForFieldName('alias')?.namedChildren[0];
  return target?.type === 'identifier' ? target : null;
}

/**
 * The other classes a start call on this construction may start: the other branches of
 * `A() if cond else B()`, or the other classes of `cls = A if cond else B; cls(...)`, that are
 * neither the agent nor a class of the file inheriting it (those inherit the base's method too).
 */
export function otherClassesStarted(ctx: PythonTransformContext, construction: SyntaxNode): string[] {
  const cls = ctx.agent.cls;
  const names = new Set<string>();
  let top = construction;
  while (top.parent?.type === 'conditional_expression' || top.parent?.type === 'parenthesized_expression') top = top.parent;
  if (top.id !== construction.id) {
    walk(top, (n) => {
      if (n.type === 'lambda') return false;
      if (n.type !== 'call' || n.id === construction.id) return;
      const [a, , b] = n.parent?.type === 'conditional_expression' ? n.parent.namedChildren : [];
      if (a?.id !== n.id && b?.id !== n.id) return;
      const f = callee(n);
      if (f) names.add(f);
      return false;
    });
  }
  const f = callee(construction);
  if (f && f !== cls.name && !f.includes('.')) for (const c of chosenClasses(construction, f)) names.add(c);
  names.delete(cls.name);
  const inherits = (name: string, seen = new Set<string>()): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const c = ctx.module.classes.find((k) => k.name === name);
    return !!c && c.bases.some((b) => b.text === cls.name || inherits(b.text, seen));
  };
  return [...names].filter((x) => !inherits(x));
}

/**
 * `v = Other() if cond else Agent()` in an entry scope, v the receiver of a start call there: the
 * construction of the agent and the other classes v may be instead (none when v is only the agent).
 */
export function sharedReceiver(ctx: PythonTransformContext, receiver: SyntaxNode): { construction: SyntaxNode; others: string[] } | null {
  if (receiver.type !== 'identifier') return null;
  const scope = entryScopes(ctx.module).find((sc) => sc.startIndex <= receiver.startIndex && receiver.endIndex <= sc.endIndex);
  if (!scope) return null;
  const factories = factoryMethods(ctx.agent.cls);
  let found: { construction: SyntaxNode; others: string[] } | null = null;
  walk(scope, (n) => {
    if (found || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'call' || n.startIndex > receiver.startIndex || !constructsClass(n, ctx.agent.cls, factories)) return;
    let top = n;
    while (top.parent?.type === 'conditional_expression' || top.parent?.type === 'parenthesized_expression') top = top.parent;
    if (top.parent?.type !== 'assignment' || top.parent.childForFieldName('left')?.text !== receiver.text) return;
    const others = otherClassesStarted(ctx, n);
    if (others.length) found = { construction: n, others };
  });
  return found;
}

function addGuard(ctx: PythonTransformContext) {
  const cls = ctx.agent.cls;
  const init = cls.methods.get('__init__');
  const required = init?.params.filter((p, i) => i > 0 && p.kind === 'plain') ?? [];
  const call = ctx.py.entrypoint.replace('{call}', `${cls.name}()`);
  if (required.length) {
    keep(ctx, '__main__', cls.line,
      `no __main__ guard, and ${cls.name}() needs ${required.map((p) => p.name).join(', ')}; add the entry point by hand`);
    return;
  }
  // run() kept for review (its cycle could not become the hooks): a new guard calling the base's run method
  // would start the base with none of that cycle (collect_data() the base's empty default), and validation
  // would prove an agent that does nothing. Its callers (a launcher in another file) still call run().
  const loop = [...(ctx.resolved?.kept ?? []), ...ctx.kept].find((k) => k.symbol === LEGACY_RUN && cls.methods.has(LEGACY_RUN));
  if (loop && baseStartsInRun(ctx) && (ctx.py.main_loop_method ?? 'run') !== LEGACY_RUN) {
    ctx.unstartable = { ...loop, because: `and the file has no __main__ guard: one calling ${ctx.py.main_loop_method ?? 'run'}() would start ${ctx.profile.base_class} without the cycle ${LEGACY_RUN}() keeps (whoever starts the agent calls ${LEGACY_RUN}())` };
    return;
  }
  const src = ctx.source;
  const eol = ctx.layout.eol;
  // Two blank lines before the new top-level guard (PEP 8), counting what the file ends with.
  const trailing = /(\r?\n)*$/.exec(src)![0].split('\n').length - 1;
  const text = `${eol.repeat(Math.max(0, 3 - trailing))}if __name__ == "__main__":${eol}${ctx.layout.unit}${call}${eol}`;
  ctx.edits.insert(src.length, text, label);
}

/**
 * The base, read from its source, starts nothing in __init__ (no method of its own runs while it is
 * constructed) and has the profile's run method and lifecycle hooks: everything it serves starts
 * there (HardenedAgentBase: "Nothing starts before run_forever()").
 */
function baseStartsInRun(ctx: PythonTransformContext): boolean {
  const runMethod = ctx.py.main_loop_method ?? 'run';
  return ctx.base.learnedFrom === 'source' && ctx.base.initCalls.size === 0 && ctx.base.methods.has(runMethod) && (ctx.py.hooks ?? []).some((h) => ctx.base.methods.has(h));
}

/**
 * `try: agent.run() except KeyboardInterrupt: logger.info("FIM agent interrupted")` around the start
 * that now calls the base's run method: the base takes SIGINT (and SIGTERM) itself and returns from
 * its loop normally, so no KeyboardInterrupt reaches that clause and what it does (a log line operators
 * see on Ctrl-C) no longer happens. Said in a warning, naming the clause's line and first statement.
 */
function interruptedClauseWarning(ctx: PythonTransformContext, started: SyntaxNode, runMethod: string): void {
  if (!ctx.base.handlesSignals) return;
  for (let p: SyntaxNode | null = started.parent; p && p.type !== 'function_definition' && p.type !== 'module'; p = p.parent) {
    if (p.type !== 'block' || p.parent?.type !== 'try_statement' || p.parent.childForFieldName('body')?.id !== p.id) continue;
    for (const clause of p.parent.namedChildren.filter((c) => c.type === 'except_clause')) {
      if (!/^except\s+\(?\s*KeyboardInterrupt\b/.test(clause.text)) continue;
      const body = clause.namedChildren.find((c) => c.type === 'block');
      const first = body?.namedChildren.find((c) => c.type !== 'comment' && c.type !== 'pass_statement');
      if (!first) continue;
      // It ended the process with a code a supervisor reads: reported for review with that code (interruptExitCode).
      let scope: SyntaxNode = clause;
      while (scope.parent && scope.type !== 'function_definition') scope = scope.parent;
      if (clauseExitCode(ctx, scope, body!, "the entry point's")) continue;
      const line = first.text.split('\n')[0]!.trim();
      ctx.warnings.push(
        `the entry point's \`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1}) no longer runs: ${ctx.profile.base_class} takes SIGINT itself and ${runMethod}() returns normally, ` +
          `so \`${line.length > 120 ? `${line.slice(0, 117)}...` : line}\` (line ${first.startPosition.row + 1}) is not done on Ctrl-C any more; move it after ${runMethod}() or into shutdown() if it must run`,
      );
    }
  }
}

/**
 * `agent.start(); try: while agent.running: agent.scan() except KeyboardInterrupt: logger.info("stopping on
 * signal") finally: agent.cleanup()`, the entry point left as it is: the base's handler now takes SIGINT (and
 * SIGTERM, which the entry point may have turned into KeyboardInterrupt with a handler of its own: the base
 * replaces that one when the agent is constructed), runs cleanup() and ends with SystemExit, which an
 * `except KeyboardInterrupt:` does not catch. What the clause did besides the agent's own teardown (wired
 * into cleanup() by interrupt-teardown) is not done any more: a log line a monitor waits for, an exit code.
 * Said in a warning naming the clause and its first such statement (and the replaced handler).
 */
function entryInterruptClauses(ctx: PythonTransformContext): void {
  if (!ctx.base.handlesSignals) return;
  // A base that installs its handlers only when its main loop starts, and an entry point that never starts
  // it (its kept run() stays for review: ctx.unstartable): no handler of the base ever takes SIGINT, the
  // clause still runs on Ctrl-C, and nothing here is lost.
  if (ctx.unstartable && !ctx.base.signalsAtInit) return;
  const { constructs, scopes } = entryAgentHolders(ctx);
  const onAgent = (n: SyntaxNode, vars: Set<string>) => {
    const fn = n.type === 'call' ? n.childForFieldName('function') : null;
    const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    return !!obj && (vars.has(obj.text) || constructs(obj));
  };
  const handlers: string[] = [];
  for (const { scope, vars } of scopes) {
    // signal.signal(SIGTERM|SIGINT, handler) before the agent is constructed: the base's own replaces it.
    let constructedAt = Infinity;
    walk(scope, (n) => {
      if (n.type === 'call' && constructs(n)) constructedAt = Math.min(constructedAt, n.startIndex);
    });
    walk(scope, (n) => {
      if (n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type !== 'call' || n.startIndex > constructedAt || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      if (/\bSIG(TERM|INT)\b/.test(n.childForFieldName('arguments')?.namedChildren[0]?.text ?? '')) {
        handlers.push(`${n.text.replace(/\s+/g, ' ')} (line ${n.startPosition.row + 1})`);
      }
    });
  }
  for (const { scope, vars } of scopes) {
    interruptClauses(ctx, scope, (n) => onAgent(n, vars), "the entry point's", handlers, constructs);
  }
  // The same clause inside a kept method the entry point runs (`def run(self): try: while ...: ...
  // except KeyboardInterrupt: logger.info("interrupted by operator")`): its own teardown calls
  // (self.shutdown()) are interrupt-teardown's.
  const mainLoop = ctx.py.main_loop_method ?? 'run';
  const ownCall = (n: SyntaxNode) => n.type === 'call' && selfAttribute(n.childForFieldName('function')!) !== null;
  for (const [method, fn] of ctx.agent.methods) {
    if (fn.isAsync || (method !== mainLoop && !calledByEntryPoint(ctx, method)) || isRemoved(ctx, fn.node)) continue;
    interruptClauses(ctx, fn.body, ownCall, `${method}()'s`, handlers);
  }
}

/** Warns for each `except KeyboardInterrupt:` of a try in `scope` whose body `starts` the agent, doing more than `starts`' calls. */
function interruptClauses(ctx: PythonTransformContext, scope: SyntaxNode, starts: (n: SyntaxNode) => boolean, where: string, handlers: string[], agentConstructs?: (n: SyntaxNode | null | undefined) => boolean): void {
  walk(scope, (t) => {
    if (t.type === 'class_definition' || t.type === 'lambda' || (t.type === 'function_definition' && t.id !== scope.id && t.id !== scope.parent?.id)) return false;
    if (t.type !== 'try_statement' || isRemoved(ctx, t)) return;
    let usesAgent = false;
    walk(t.childForFieldName('body')!, (n) => {
      if (!usesAgent && starts(n)) usesAgent = true;
    });
    if (!usesAgent) return;
    for (const clause of t.namedChildren) {
      if (clauseKind(clause) !== 'interrupt') continue;
      if (ctx.warnings.some((w) => w.includes(`\`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1})`))) continue;
      const body = clause.namedChildren.find((c) => c.type === 'block');
      // Ctrl-C handed back to the clause (interrupt-exit-code): it runs as it did, nothing of it is lost.
      if (body && interruptExitCode(ctx, scope, clause, body, where, agentConstructs)) continue;
      // The agent's own teardown calls there are interrupt-teardown's; a bare re-raise loses nothing. Any other
      // call on the agent (agent.flush_pending()) is lost like a log line.
      const lost = body?.namedChildren.find((c) => {
        if (c.type === 'comment' || c.type === 'pass_statement' || (c.type === 'raise_statement' && !c.namedChildren.length)) return false;
        const e = c.type === 'expression_statement' ? c.namedChild(0) : null;
        const method = e?.type === 'call' ? e.childForFieldName('function')?.childForFieldName('attribute')?.text : undefined;
        return !(e && starts(e) && method !== undefined && (TEARDOWN.test(method) || method === ctx.py.teardown));
      });
      if (!lost) continue;
      const line = lost.text.split('\n')[0]!.trim();
      ctx.warnings.push(
        `${where} \`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1}) no longer runs: ${ctx.profile.base_class}'s signal handler takes SIGINT and SIGTERM, ` +
          `runs cleanup() and ends with SystemExit, which that clause does not catch, so \`${line.length > 120 ? `${line.slice(0, 117)}...` : line}\` (line ${lost.startPosition.row + 1}) is not done on a signal any more` +
          (handlers.length ? ` (the entry point's ${handlers.join(', ')} is replaced by the base's handler when the agent is constructed)` : '') +
          `; move it into a cleanup() override if it must run`,
      );
    }
  });
}

/**
 * The clause ended the process with a non-zero code: `sys.exit(130)` (exit, os._exit, raise SystemExit(2))
 * there, or `return 130` from the entry function whose value the module passes to sys.exit (`sys.exit(main())`).
 * A supervisor or cron wrapper reads that code; on the base, SIGINT goes to its handler, which exits 0. No
 * rewrite of the entry point can be proven to keep it, so it is a review item naming the clause, the code and
 * where it reached the exit (probe-py50 SpoolSweeperAgent `return 130`, ReportExportAgent `sys.exit(130)`:
 * only the clause's log line was warned about).
 */
function interruptExitCode(ctx: PythonTransformContext, scope: SyntaxNode, clause: SyntaxNode, body: SyntaxNode, where: string, constructs?: (n: SyntaxNode | null | undefined) => boolean): boolean {
  const fnName = scope.type === 'function_definition' ? scope.childForFieldName('name')?.text : undefined;
  const found = clauseExitCode(ctx, scope, body, where);
  if (!found) return false;
  const f = found;
  if (constructs && restoreInterruptExit(ctx, clause, constructs)) {
    ctx.warnings.push(
      `${where} \`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1}) ended the process with exit code ${f.code} (line ${f.stmt.startPosition.row + 1}): ` +
        `SIGINT is handed back to Python's default handler right after the agent is constructed, so Ctrl-C still runs that clause and its finally: (the agent's teardown, then the base's stop); SIGTERM stays ${ctx.profile.base_class}'s`,
    );
    return true;
  }
  // A base that installs its handler when its run method starts (HardenedAgentBase's run_forever()) replaces one
  // put back after the construction; on Ctrl-C its loop returns normally, the clause never runs, the process exits 0.
  const runMethod = ctx.py.main_loop_method ?? 'run';
  const path = ctx.base.signalsAtInit
    ? `${ctx.profile.base_class}'s signal handler now takes SIGINT, runs cleanup() and exits 0`
    : `${ctx.profile.base_class} installs its own SIGINT handler when ${runMethod}() starts (after the construction, so no handler put back there lasts): Ctrl-C stops its loop, ${runMethod}() returns normally, the clause never runs and the process exits 0`;
  keep(ctx, fnName ?? '__main__', clause.startPosition.row + 1,
    `${where} \`except KeyboardInterrupt:\` (line ${clause.startPosition.row + 1}) ended the process with exit code ${f.code} ` +
      `(\`${f.stmt.text.split('\n')[0]!.trim()}\`, line ${f.stmt.startPosition.row + 1}${f.via}); ${path}, ` +
      `so whatever reads the code (a supervisor, a cron wrapper) sees 0 after Ctrl-C: keep the code by hand ` +
      (ctx.base.signalsAtInit
        ? `(signal.signal(signal.SIGINT, signal.default_int_handler) after the agent is constructed lets that clause run again) or accept 0`
        : `or accept 0`));
  return false;
}

/**
 * The statement of an `except KeyboardInterrupt:` body that ends the process with a non-zero code, and the code:
 * `sys.exit(130)` (exit, os._exit, raise SystemExit(2)), or `return 130` from the entry function whose value the
 * module passes to sys.exit (`sys.exit(main())`, then `via` names that call). Null when it ends with none.
 */
function clauseExitCode(ctx: PythonTransformContext, scope: SyntaxNode, body: SyntaxNode, where: string): { stmt: SyntaxNode; code: string; via: string } | null {
  const fnName = scope.type === 'function_definition' ? scope.childForFieldName('name')?.text : undefined;
  // `sys.exit(main())`, `exit(main())`, `raise SystemExit(main())` somewhere in the module: main()'s return value is the exit code.
  let exitOfCall: SyntaxNode | null = null;
  if (fnName && where === "the entry point's") {
    walk(ctx.module.root, (n) => {
      if (exitOfCall) return false;
      const exitCall = (n.type === 'call' && /^((sys|os)\.)?(_?exit)$|^quit$/.test(callee(n) ?? '')) || (n.type === 'call' && callee(n) === 'SystemExit');
      const arg = exitCall ? n.childForFieldName('arguments')?.namedChildren[0] : null;
      if (arg?.type === 'call' && callee(arg) === fnName) exitOfCall = n;
    });
  }
  const nonZero = (v: SyntaxNode | null | undefined) => !!v && !/^(0|None|False|True)$/.test(v.text) && !(v.type === 'string');
  let found: { stmt: SyntaxNode; code: string; via: string } | null = null;
  walk(body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'return_statement' && exitOfCall && nonZero(n.namedChild(0))) {
      found = { stmt: n, code: n.namedChild(0)!.text, via: `, the value of ${(exitOfCall as SyntaxNode).text} at line ${(exitOfCall as SyntaxNode).startPosition.row + 1}` };
    }
    const isExit = n.type === 'call' && (/^((sys|os)\.)?(_?exit)$|^quit$/.test(callee(n) ?? '') || callee(n) === 'SystemExit');
    if (isExit && nonZero(n.childForFieldName('arguments')?.namedChildren[0])) {
      found = { stmt: n, code: n.childForFieldName('arguments')!.namedChildren[0]!.text, via: '' };
    }
  });
  return found as { stmt: SyntaxNode; code: string; via: string } | null;
}

/**
 * Every base the agent class names is the profile's base class (`HardenedAgentBase`), imported by that
 * name from another module than the profile's: an older base of the same name, whose import
 * hardened-old-base points at the profile's module (it runs after this transform, so the import still
 * names the old module here). A class given the base by inherit-base (its old base of another name
 * replaced) is not one: that old base's loop is reported as such.
 */
function onlyProfileBase(ctx: PythonTransformContext): boolean {
  const bases = ctx.agent.cls.bases;
  const name = ctx.profile.base_class;
  const imp = ctx.module.imports.get(name);
  return bases.length > 0 && bases.every((b) => b.text === name) && !!imp && imp.name === name && imp.module !== ctx.py.module;
}
