// Concern: SIGTERM/SIGINT handlers the base installs itself. A handler that does more
// than stop the agent (saves state, notifies peers) stays installed, with its method.
import { generatorWhileLoops, isLoopStatement } from '../../src/analysis/generator-loop.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep, withRenames } from '../../src/lang/python/transform-context.js';
import { indentAt, lineStart } from '../../src/lang/python/text.js';
import { insertAfterInit } from './health-hook.js';
import { STOP_SIGNAL as HANDLED, tailGetsBaseTeardown } from './loop-tail-teardown.js';
import { isInfraBlock, isInfraStatement, isLogCall, isTrivial, type InfraScope } from '../../src/analysis/infra.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { TEARDOWN, calledByEntryPoint } from './remove-teardown.js';
import { interruptWiringTarget, reaches } from './interrupt-teardown.js';
import { callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { entryScopes } from '../../src/lang/python/module-model.js';
import { analyzeRun, endsFlag } from './hardened-main-loop.js';
import { wirableEntryClause } from './entry-interrupt-clause.js';
import { LEGACY_RUN } from './hardened-shapes.js';
import { resolvedLoopMixin } from './inherited-loop-mixin.js';
import { callsSuper } from './early-overrides.js';


export const removeSignalHandlers: PythonTransform = {
  name: 'remove-signal-handlers',
  phase: 'propose',
  run(ctx) {
    // A base that installs no handler of its own needs the agent's (they end the loop so state is saved).
    if (!ctx.base.handlesSignals) return;
    const proposedHooks = new Set<string>();
    for (const fn of ctx.agent.methods.values()) {
      walkAgentCode(fn, (n) => {
        if (n.type !== 'expression_statement') return;
        const call = n.namedChild(0);
        if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) return;
        const args = call.childForFieldName('arguments')?.namedChildren ?? [];
        if (args.length !== 2 || !HANDLED.test(args[0]!.text)) return;
        const handler = selfAttribute(args[1]!) ?? lambdaCalling(args[1]!);
        if (!handler || !ctx.agent.methods.has(handler)) return;
        const h = ctx.agent.methods.get(handler)!;
        // A handler that saves state and exits: the base's own handler stops the loop and then
        // calls the shutdown() hook, so the handler becomes that hook (see handlerAsShutdown).
        const asHook = handlerAsShutdown(ctx, h);
        if (asHook) {
          // The base installs its handler only in its main loop method: while the entry point still runs a
          // loop of the agent's own (kept for review), nothing installs the base's, so the handler stays
          // installed as it is unless that loop goes.
          const requires = entryLoops(ctx);
          ctx.plan.proposeStatement({ node: n, symbol: `signal.signal(${args[0]!.text})`, finding: 'signal', reason: 'the base installs its own handler, which calls shutdown()', requires });
          if (proposedHooks.has(handler)) return;
          proposedHooks.add(handler);
          for (const x of asHook.logs) {
            ctx.plan.proposeStatement({ node: x, symbol: `${handler}: ${x.text.split('\n')[0]!.trim()}`, finding: 'signal', reason: 'the base logs the signal it received', requires });
          }
          for (const x of asHook.stops) {
            ctx.plan.proposeStatement({ node: x, symbol: `${handler}: ${x.text.split('\n')[0]!.trim()}`, finding: 'signal', reason: 'the base\'s handler ends its own loop before it calls shutdown()', requires });
          }
          return;
        }
        // The handler ends the loop, and the loop's method then tears down after it (not in a
        // finally:): the base's handler would exit through the loop (SystemExit) and skip that
        // teardown. Installed as before, it still ends the loop gently; the kept teardown then
        // ends with the base's (teardown-super).
        // What follows the loop is read in the code the rewrite leaves (the condition's scope): a teardown
        // line that goes with what the base owns now (`self.health_server.shutdown()`) needs no handler,
        // and a second run, which no longer sees it, decides the same.
        const after = workAfterLoop(ctx);
        const blockedIn = new Set(blockingCalls(ctx, loopMethods(ctx)).map((b) => b.member));
        const gentleEnd = after && onlyEndsMainLoop(ctx, h.body, { removed: new Set(), baseOwned: ctx.baseOwned }, blockedIn);
        const gentleAfter = (scope: InfraScope) => (gentleEnd ? workAfterLoop(ctx, undefined, scope) : null);
        // `signal.signal(SIGTERM, lambda signum, frame: self.stop())`: the lambda only calls a teardown
        // that the base's own handler reaches too (its handler -> cleanup() -> the agent's stop()). The
        // install goes and the teardown stays, as long as nothing after the loop or after the entry
        // point's run() call is skipped by the base's exit (SystemExit) that the lambda did not make.
        const route = lambdaCalling(args[1]!) && !after ? baseSignalRoute(ctx, handler) : null;
        if (route && nothingAfterRun(ctx)) {
          ctx.plan.proposeStatement({
            node: n,
            symbol: `signal.signal(${args[0]!.text})`,
            finding: 'signal',
            reason: `the base's own handler runs ${handler}() too`,
            requires: [],
          });
          ctx.warnings.push(
            `signal.signal(${args[0]!.text}, lambda ...: self.${handler}()) removed: ${ctx.profile.base_class}'s own handler runs ${route.join('() -> ')}() ` +
              `(${handler}() kept), then ends the process`,
          );
          return;
        }
        // The entry point's Ctrl-C clause calls this handler, and that clause moves into the cleanup() override
        // the base's own handler runs (entry-interrupt-clause): SIGTERM reaches the handler's work through it.
        const clause = !after ? clauseRunningHandler(ctx, h) : null;
        if (clause) {
          ctx.plan.proposeStatement({
            node: n,
            symbol: `signal.signal(${args[0]!.text})`,
            finding: 'signal',
            reason: `the base's own handler runs ${clause.target}(), which now calls ${handler}()`,
            requires: [],
          });
          ctx.warnings.push(
            `signal.signal(${args[0]!.text}, self.${handler}) removed: the entry point's \`except KeyboardInterrupt:\` (line ${clause.line}) calls ${handler}(), ` +
              `and runs from the ${clause.target}() override ${ctx.profile.base_class}'s own handler calls on SIGTERM and SIGINT: ${handler}() (kept) runs there, ` +
              `then ${ctx.profile.base_class} deregisters and ends the process with status 0`,
          );
          return;
        }
        // `signal.signal(SIGTERM, self.shutdown)`: a teardown of the agent installed as its own handler.
        // The install goes and the teardown stays with what it does besides the base's work (its
        // "stopped" line, state it saves), run from the cleanup() override the base's handler calls
        // (interrupt-teardown); remove-teardown decides what of it goes.
        if (selfAttribute(args[1]!) === handler && teardownHandlerWired(ctx, handler)) {
          ctx.plan.proposeStatement({
            node: n,
            symbol: `signal.signal(${args[0]!.text})`,
            finding: 'signal',
            reason: `the base installs its own handler; ${handler}() still runs at shutdown (the entry point or the base's ${interruptWiringTarget(ctx, handler)}() override calls it)`,
            requires: [],
          });
          return;
        }
        // One handler for SIGTERM/SIGINT and another signal it answers first (`if signum == signal.SIGHUP:
        // reload; return`): it stays, installed for that signal; the SIGTERM/SIGINT installs go when what
        // runs for them only stops the agent, which the base's own handler does.
        const split = !after && selfAttribute(args[1]!) === handler ? stopBranchOfDispatch(ctx, h, blockedIn) : null;
        if (split?.extension) {
          // Its stop branch does work of its own before it stops (saves state): the installs stay, so that work
          // still runs on SIGTERM/SIGINT, and the stop becomes the base's handler, which then tears down as the base does.
          if (proposedHooks.has(handler)) return;
          proposedHooks.add(handler);
          const { stop, call } = split.extension;
          ctx.plan.proposeStatement({
            node: stop,
            symbol: `${handler}: ${stop.text.split('\n')[0]!.trim()}`,
            finding: 'signal',
            reason: `the base's own handler stops the agent`,
            requires: [],
            replacement: call,
          });
          ctx.warnings.push(
            `${handler}() stays installed for ${split.others.join(', ')} (its branch at line ${split.branch.startPosition.row + 1}) and for SIGTERM/SIGINT: ` +
              `for them it still does its own work (${split.work.map((x) => `line ${x.startPosition.row + 1}: ${x.text.split('\n')[0]!.trim()}`).join('; ')}), ` +
              `then \`${call}\` (line ${stop.startPosition.row + 1}, was \`${stop.text.split('\n')[0]!.trim()}\`) runs ${ctx.profile.base_class}'s own handler (cleanup(), deregistration, exit 0)`,
          );
          return;
        }
        if (split) {
          ctx.plan.proposeStatement({
            node: n,
            symbol: `signal.signal(${args[0]!.text})`,
            finding: 'signal',
            reason: `the base installs its own handler; ${handler}() stays installed for ${split.others.join(', ')}`,
            requires: [],
          });
          if (!proposedHooks.has(handler)) {
            proposedHooks.add(handler);
            const rest = split.rest.map((x) => `line ${x.startPosition.row + 1}: ${x.text.split('\n')[0]!.trim()}`).join('; ');
            ctx.warnings.push(
              `${handler}() stays installed for ${split.others.join(', ')} (its branch at line ${split.branch.startPosition.row + 1}); its installs for SIGTERM/SIGINT go: ` +
                `${ctx.profile.base_class}'s own handler stops the agent, and what ${handler}() did for them (${rest}) no longer runs, its log line replaced by the base's own for the signal`,
            );
          }
          return;
        }
        // The handler overrides the one the base installs (same name) and ends by stopping the loop after
        // work of its own: that stop becomes the base's handler (super()), so its work runs, then the base's.
        const extension = extendsBaseSignalHandler(ctx, handler);
        if (extension) {
          ctx.plan.proposeStatement({
            node: n,
            symbol: `signal.signal(${args[0]!.text})`,
            finding: 'signal',
            reason: `the base installs ${handler}() itself, which now extends the base's`,
            requires: [],
          });
          if (proposedHooks.has(handler)) return;
          proposedHooks.add(handler);
          ctx.plan.proposeStatement({
            node: extension.stop,
            symbol: `${handler}: ${extension.stop.text.split('\n')[0]!.trim()}`,
            finding: 'signal',
            reason: `the base's own ${handler}() stops the agent`,
            requires: [],
            replacement: extension.call,
          });
          ctx.warnings.push(
            `${handler}() extends ${ctx.profile.base_class}.${handler}() (the handler the base installs for SIGTERM/SIGINT): its own work runs first, ` +
              `then \`${extension.call}\` (line ${extension.stop.startPosition.row + 1}, was \`${extension.stop.text.split('\n')[0]!.trim()}\`) runs the base's (cleanup(), deregistration, exit 0); its own installs go`,
          );
          return;
        }
        ctx.plan.proposeMember({
          name: handler,
          kind: 'method',
          finding: 'signal',
          reason: 'signal handler (the base handles SIGTERM/SIGINT)',
          condition: (scope) => {
            const tail = gentleAfter(scope);
            if (tail) {
              return `${handler}() stays installed as the SIGTERM/SIGINT handler: it ends the loop of ${ctx.py.main_loop_method ?? 'run'}(), which then tears down (line ${tail.startPosition.row + 1}: ${tail.text.split('\n')[0]!.trim()}); ` +
                `${ctx.profile.base_class}'s own handler would leave through the loop and skip that`;
            }
            if (isInfraBlock(h.body, scope) || onlyExits(ctx, h.body, scope)) return null;
            if (onlyEndsMainLoop(ctx, h.body, scope, blockedIn)) {
              const seen = flagReadBeyondLoop(ctx, h, scope.removed);
              if (!seen) return null;
              if (seen.thread) {
                return `signal handler sets self.${seen.flag}, which ends the loop of ${seen.thread}() (line ${seen.line}: ${seen.text}), run by a thread not marked daemon: ` +
                  `${ctx.profile.base_class}'s own handler never sets it, so that thread would keep the process alive after SIGTERM (${ctx.profile.base_class}.run_forever() installs its own handler over this one): set self.${seen.flag} in shutdown() by hand, or mark the thread daemon`;
              }
              return `signal handler sets self.${seen.flag}, which the agent also reads beyond its loop's condition (line ${seen.line}: ${seen.text}): ` +
                `on SIGTERM the loop ended gently and that code saw the flag; ${ctx.profile.base_class}'s own handler would end the process at once ` +
                `and never set it, so the handler stays installed`;
            }
            const ended = endsKeptLoop(ctx, h.body, scope);
            if (ended) {
              return `signal handler ends the loop of ${ended.method}(), which stays (the entry point runs it) and tears down after it (line ${ended.after.startPosition.row + 1}: ${ended.after.text.split('\n')[0]!.trim()}); ` +
                `kept installed: ${ctx.profile.base_class}'s own handler would leave through the loop and skip that`;
            }
            const stays = onlyEndsStayingLoop(ctx, h.body, scope);
            return stays
              ? `signal handler only ends the loop of ${stays}() (a log line, the flag or event the loop reads), and ${stays}() stays (the entry point runs it, never the base's loop): ` +
                  `kept installed, it ends that loop as before; it goes with ${stays}()`
              : `signal handler does more than stop the agent; kept installed${replacedAtStart(ctx, n)}`;
          },
          // Installed as before, it ends that loop as it did, and what follows the loop runs as it did.
          keptSafely: (scope) => gentleAfter(scope) !== null || endsKeptLoop(ctx, h.body, scope) !== null || onlyEndsStayingLoop(ctx, h.body, scope) !== null ||
            (onlyEndsMainLoop(ctx, h.body, scope, blockedIn) && flagReadBeyondLoop(ctx, h, scope.removed) !== null && tearsDownAfterLoop(ctx)),
        });
        ctx.plan.proposeStatement({
          node: n,
          symbol: `signal.signal(${args[0]!.text})`,
          finding: 'signal',
          reason: 'the base installs its own handler',
          requires: [handler],
        });
      });
    }
  },
};

const wiredMemo = new WeakMap<PythonTransformContext, Map<string, boolean>>();

/**
 * A teardown of the agent (stop(), shutdown(), ...) that the agent installs as its own SIGTERM/SIGINT
 * handler (`signal.signal(signal.SIGTERM, self.shutdown)`), and that can run from the base's teardown
 * override instead: the base installs a handler of its own that calls that override
 * (interruptWiringTarget: cleanup(), which the agent does not define), the teardown takes nothing
 * (signum and frame default and are never read), never leaves early (no return, raise or exit), and
 * the base's exit (SystemExit through the loop) skips nothing the legacy loop ran after it ended.
 * Then the install goes and the teardown is called from that override: its log line ("... stopped")
 * and any work besides the base's teardown still happen on SIGTERM, as before.
 */
export function teardownHandlerWired(ctx: PythonTransformContext, name: string): boolean {
  let memo = wiredMemo.get(ctx);
  if (!memo) wiredMemo.set(ctx, (memo = new Map()));
  if (!memo.has(name)) memo.set(name, readTeardownHandlerWired(ctx, name));
  return memo.get(name)!;
}

function readTeardownHandlerWired(ctx: PythonTransformContext, name: string): boolean {
  const fn = ctx.agent.methods.get(name);
  if (!fn || !ctx.base.handlesSignals || !(TEARDOWN.test(name) || name === ctx.py.teardown)) return false;
  if (fn.isAsync || fn.decorators.length || fn.params.slice(1).some((p) => p.kind === 'plain')) return false;
  const target = interruptWiringTarget(ctx, name);
  if (!target || reaches(ctx, name, target, new Set())) return false;
  // Installed by the agent, as a bound method, for SIGTERM/SIGINT.
  let installed = false;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'call' || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      const a = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (a.length === 2 && HANDLED.test(a[0]!.text) && selfAttribute(a[1]!) === name) installed = true;
    });
  }
  if (!installed) return false;
  const params = new Set(fn.params.slice(1).map((p) => p.name));
  // Its one way out may be a status-0 exit ending it (the legacy handler's `sys.exit(0)`): from the override,
  // that SystemExit leaves through the base's handler, whose `finally:` still runs the base's teardown, and
  // teardown-super puts the base's teardown before it.
  const body = statements(fn.body);
  const last = body[body.length - 1];
  const endingExit = last && cleanExit(last) ? last : null;
  let unsafe = false;
  walk(fn.body, (c) => {
    if (c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition') return false;
    if (endingExit && c.id === endingExit.id) return false;
    if (c.type === 'return_statement' || c.type === 'raise_statement' || c.type === 'yield') unsafe = true;
    if (c.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(c) ?? '')) unsafe = true;
    if (c.type === 'identifier' && params.has(c.text)) {
      const p = c.parent;
      if (!(p?.type === 'attribute' && p.childForFieldName('attribute')?.id === c.id)) unsafe = true;
    }
  });
  if (unsafe) return false;
  return workAfterLoop(ctx, loopMethods(ctx)) === null && nothingAfterRun(ctx);
}

/** `sys.exit()`, `sys.exit(0)`, `exit(0)`, `quit()`, `raise SystemExit` / `raise SystemExit(0)` as a statement. */
function cleanExit(st: SyntaxNode): boolean {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : st.type === 'raise_statement' ? st.namedChild(0) : null;
  if (!e) return false;
  if (st.type === 'raise_statement' && e.type === 'identifier') return e.text === 'SystemExit';
  if (e.type !== 'call') return false;
  const name = callee(e) ?? '';
  if (st.type === 'raise_statement' ? name !== 'SystemExit' : !/^(sys\.exit|exit|quit)$/.test(name)) return false;
  const args = e.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 0 || (args.length === 1 && /^(0|None)$/.test(args[0]!.text));
}

/** What turns a SIGTERM/SIGINT handler into the base's shutdown() hook. */
interface HandlerAsHook {
  /** The one `sys.exit(0)` / `os._exit(0)` / `raise SystemExit` ending it: the base stops the process itself after shutdown(). */
  exits: SyntaxNode[];
  /** Log lines about the signal (they read the handler's parameters): the base logs it. */
  logs: SyntaxNode[];
  /** `self.running = False` / `self._stop.set()` ending run()'s loop, which goes: the base's handler ends its own loop. */
  stops: SyntaxNode[];
  /**
   * Such a statement whose flag also ends the loop of a thread of the agent: it stays, opening the hook, since the
   * base's handler never sets it (without it the thread never ends, and a non-daemon one keeps the process alive).
   */
  threadStops: Array<{ stmt: SyntaxNode; thread: string; loop: SyntaxNode }>;
  /** The handler's parameters after self (the hook takes none). */
  params: SyntaxNode;
  /** The hook it becomes: HardenedAgentBase's shutdown(), BaseAgent's cleanup() (see signalHook). */
  hook: string;
}

/**
 * The hook the base's own SIGTERM/SIGINT handling calls for the agent's work once it stops: a
 * `shutdown` hook of the profile the base defines (HardenedAgentBase), else the profile's teardown
 * (BaseAgent's cleanup()) when the base's own handler reaches it (`_on_signal` -> cleanup()), even
 * through a handler of the base's that the agent's `handler` overrides (it goes). Null when there is none.
 */
function signalHook(ctx: PythonTransformContext, handler: string): string | null {
  if (ctx.py.hooks?.includes('shutdown') && ctx.base.methods.has('shutdown')) return 'shutdown';
  const teardown = ctx.py.teardown;
  if (teardown && ctx.base.methods.has(teardown) && baseSignalRoute(ctx, teardown, handler)) return teardown;
  return null;
}

const hookMemo = new WeakMap<PythonTransformContext, Map<string, HandlerAsHook | null>>();

/**
 * A SIGTERM/SIGINT handler that does work and then exits (`self._save_baseline(); sys.exit(0)`),
 * where the base's handler stops the loop and then calls the profile's shutdown() hook: the
 * handler's work is that hook's. It becomes shutdown() when it ends with its one exit (without
 * one it only ends a loop by a flag the loop reads, which stays as it was), the agent defines no
 * shutdown() and nothing else writes one (run()'s finally:), only the install statements name it,
 * and its work does not read the signal number or frame. The exit becomes `super().shutdown()`
 * (the base ends the process after the hook); log lines about the signal go. Anything else (an
 * exit inside a branch, a return, work reading the signal) keeps the handler installed for review.
 */
export function handlerAsShutdown(ctx: PythonTransformContext, h: PyFunction): HandlerAsHook | null {
  let memo = hookMemo.get(ctx);
  if (!memo) hookMemo.set(ctx, (memo = new Map()));
  if (!memo.has(h.name)) memo.set(h.name, readHandlerAsShutdown(ctx, h));
  return memo.get(h.name)!;
}

function readHandlerAsShutdown(ctx: PythonTransformContext, h: PyFunction): HandlerAsHook | null {
  const HOOK = signalHook(ctx, h.name);
  if (!HOOK || ctx.agent.methods.has(HOOK)) return null;
  // A handler named like a base method: only the base's own signal handler (`_on_signal`), which the
  // agent's overrode; as the hook, the base's handler is the one installed again.
  if (h.isAsync || h.decorators.length || h.name.startsWith('__') || (ctx.base.methods.has(h.name) && !ctx.base.signalCalls.handlers.has(h.name))) return null;
  // Another module calls or overrides it (a subclass's `def shutdown(self): drain(); super().shutdown()`):
  // renamed to the hook, that override would no longer run on SIGTERM and its super() call would dangle.
  // It stays installed under its name, as the first run left it when its teardown was still there.
  if (ctx.external(h.name).length) return null;
  const run = analyzeRun(ctx);
  if (run.ok && run.value.cycle.teardown.length) return null;
  const params = h.node.childForFieldName('parameters');
  const names = h.params.slice(1).map((p) => p.name);
  if (!params || h.params.length > 3 || h.params.slice(1).some((p) => p.kind !== 'plain')) return null;
  // Named only where it is installed: `signal.signal(signal.SIGTERM, self._on_signal)`.
  for (const r of ctx.refs.of(h.name)) {
    if (r.kind === 'identifier' && r.node.parent?.id === h.node.id) continue;
    if (r.kind !== 'attribute') return null;
    let st: SyntaxNode | null = r.node;
    while (st && st.type !== 'expression_statement') st = st.parent;
    const call = st?.namedChild(0);
    if (call?.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '')) return null;
  }
  // Locals the handler computes from the signal only for its log lines (`sig_name = signal.Signals(signum).name`).
  const derived = new Set<string>();
  const readsParam = (n: SyntaxNode) => {
    let found = false;
    walk(n, (c) => {
      if (c.type === 'identifier' && (names.includes(c.text) || derived.has(c.text))) {
        const p = c.parent;
        if (!(p?.type === 'attribute' && p.childForFieldName('attribute')?.id === c.id)) found = true;
      }
    });
    return found;
  };
  const exits: SyntaxNode[] = [];
  const logs: SyntaxNode[] = [];
  const stops: SyntaxNode[] = [];
  const threadStops: HandlerAsHook['threadStops'] = [];
  // The flag of run()'s loop when that loop goes (the base's loop runs instead, and its handler ends it).
  const flag = run.ok ? run.value.flag ?? null : null;
  let work = 0;
  for (const st of statements(h.body)) {
    if (isDocstring(st)) continue;
    if (flag && !exits.length && endsFlag(st, flag)) {
      const t = threadLoopReading(ctx, flag);
      if (t) threadStops.push({ stmt: st, ...t });
      else stops.push(st);
      continue;
    }
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const exitCall = e?.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(e) ?? '');
    const raiseExit = st.type === 'raise_statement' && /^SystemExit\b/.test(st.namedChild(0)?.text ?? '');
    if (exitCall || raiseExit) {
      if (exits.length) return null;
      exits.push(st);
      continue;
    }
    if (exits.length) return null; // work after an exit never ran
    let escapes = false;
    walk(st, (c) => {
      if (c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition') return false;
      if (c.type === 'return_statement' || c.type === 'yield' || (c.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(c) ?? '')) || c.type === 'raise_statement') escapes = true;
    });
    if (escapes) return null;
    if (isTrivial(st)) {
      if (readsParam(st)) logs.push(st);
      continue;
    }
    const local = readsParam(st) ? logOnlyLocal(st, h.body) : null;
    if (local) {
      // It goes with the log lines that read it.
      derived.add(local);
      logs.push(st);
      continue;
    }
    if (readsParam(st)) return null;
    work++;
  }
  // Without an exit the handler only ends a loop (a flag the loop reads): that is not shutdown work,
  // unless it also does work after ending run()'s loop, which goes (the base ends its own loop first).
  if (!work || exits.length > 1 || (exits.length === 0 && !stops.length && !threadStops.length)) return null;
  return { exits, logs, stops, threadStops, params, hook: HOOK };
}

/** Calls that only format a value (the signal's name, a frame's place) for a log line. */
const FORMATTING = /^(str|repr|int|float|format|getattr|signal\.Signals|Signals|signal\.strsignal|strsignal)$|\.(format|join|upper|lower)$/;

/**
 * `name = <expression>` at the top of the handler's body, the expression calling nothing but formatting,
 * whose name every other statement of the handler reads only in a log line: the local's name; else null.
 */
function logOnlyLocal(st: SyntaxNode, body: SyntaxNode): string | null {
  const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
  const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
  const right = a?.childForFieldName('right');
  if (left?.type !== 'identifier' || !right) return null;
  let pure = true;
  walk(right, (c) => {
    if (c.type === 'call' && !FORMATTING.test(callee(c) ?? '')) pure = false;
    if (c.type === 'lambda' || c.type === 'assignment_expression' || c.type === 'await' || c.type === 'yield') pure = false;
  });
  if (!pure) return null;
  for (const other of statements(body)) {
    if (other.id === st.id) continue;
    let reads = false;
    walk(other, (c) => {
      if (c.type === 'identifier' && c.text === left.text) reads = true;
    });
    if (reads && !isLogCall(expressionOf(other))) return null;
  }
  return left.text;
}

/** A `while` of a thread of the agent (threading.Thread(target=self.<method>)) whose condition reads `flag`: the thread and the loop. */
function threadLoopReading(ctx: PythonTransformContext, flag: string): { thread: string; loop: SyntaxNode } | null {
  if (baseSetsOnSignal(ctx, flag)) return null;
  for (const r of ctx.refs.of(flag)) {
    if (r.kind !== 'attribute') continue;
    let loop: SyntaxNode | null = r.node.parent;
    while (loop && loop.type !== 'while_statement' && loop.type !== 'function_definition') loop = loop.parent;
    if (loop?.type !== 'while_statement' || !readsFlag(loop.childForFieldName('condition'), flag)) continue;
    const t = threadOf(ctx, loop);
    if (t) return { thread: t.name, loop };
  }
  return null;
}

/** `lambda signum, frame: self.stop()`: the method a lambda handler only calls. */
/**
 * The route from the base's own SIGTERM/SIGINT handler to the agent's method `target`, through base
 * methods the agent does not override (`_on_signal`, `cleanup`, `stop`), or null when it does not reach it.
 */
export function baseSignalRoute(ctx: PythonTransformContext, target: string, going?: string): string[] | null {
  const { handlers, graph } = ctx.base.signalCalls;
  const seen = new Set<string>();
  // (`going`: an agent method that overrides a base handler and goes, so the base's own runs again)
  const queue: string[][] = [...handlers].filter((h) => h === going || !ctx.agent.methods.has(h)).map((h) => [h]);
  while (queue.length) {
    const path = queue.shift()!;
    const last = path[path.length - 1]!;
    if (seen.has(last)) continue;
    seen.add(last);
    for (const next of graph.get(last) ?? []) {
      if (next === target) return [...path.slice(1), next];
      // An override of the agent's runs instead of the base's: the route does not go through it.
      if (!ctx.agent.methods.has(next)) queue.push([...path, next]);
    }
  }
  return null;
}

/**
 * The entry point's call of the main loop method is the last thing it does, or followed only by a
 * `finally:` (which the base's SystemExit runs too): no statement after it, at any level up to its
 * function or the `__main__` guard, would be skipped, and no `except` clause catches SystemExit.
 */
function nothingAfterRun(ctx: PythonTransformContext): boolean {
  const loop = ctx.py.main_loop_method ?? 'run';
  let found = false;
  let ok = true;
  for (const scope of entryScopes(ctx.module)) {
    walk(scope, (n) => {
      if (n.type !== 'call' || n.childForFieldName('function')?.type !== 'attribute') return;
      if (n.childForFieldName('function')!.childForFieldName('attribute')!.text !== loop) return;
      found = true;
      let st: SyntaxNode | null = n;
      while (st && st.type !== 'expression_statement') st = st.parent;
      for (let cur: SyntaxNode | null = st; cur && cur.id !== scope.id; cur = cur.parent) {
        const block = cur.parent;
        if (!block || block.type !== 'block') continue;
        const siblings = statements(block);
        if (siblings.slice(siblings.findIndex((x) => x.id === cur!.id) + 1).some((x) => !isTrivial(x))) ok = false;
        const owner = block.parent;
        if (owner?.type === 'try_statement') {
          for (const c of owner.namedChildren) {
            if (c.type === 'else_clause') ok = false;
            if (c.type === 'except_clause' && !/^except\s+\(?\s*KeyboardInterrupt\b[^:]*:/.test(c.text)) ok = false;
          }
        }
        if (block.parent?.type === 'function_definition') break;
      }
    });
  }
  return found && ok;
}

/**
 * The entry point's `except KeyboardInterrupt:` that entry-interrupt-clause moves into the base's cleanup()
 * override calls the handler (`agent.handle_sigterm(signal.SIGINT, None)`): once the install goes, the base's
 * own handler runs the handler's work on SIGTERM through that override. Only when the handler reads none of
 * its parameters (it is given the clause's arguments now, not the signal), and every exit in it ends with
 * status 0 by SystemExit (the base then deregisters in its handler's `finally:` and exits 0; `os._exit`
 * would skip that). Its target and the clause's line, else null.
 */
function clauseRunningHandler(ctx: PythonTransformContext, h: PyFunction): { target: string; line: number } | null {
  if (h.isAsync || h.decorators.length) return null;
  const w = wirableEntryClause(ctx);
  // A clause inside a kept method depends on what the edits leave of its try: only the entry point's own.
  if (!w || w.agentVar === 'self') return null;
  const calls = w.statements.some((st) => {
    const call = st.namedChild(0);
    const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
    return fn?.type === 'attribute' && fn.childForFieldName('object')?.text === w.agentVar && fn.childForFieldName('attribute')?.text === h.name;
  });
  if (!calls) return null;
  const params = new Set(h.params.slice(1).map((p) => p.name));
  let ok = true;
  walk(h.body, (c) => {
    if (!ok || c.type === 'function_definition' || c.type === 'class_definition' || c.type === 'lambda') return false;
    if (c.type === 'identifier' && params.has(c.text)) {
      const p = c.parent;
      if (!(p?.type === 'attribute' && p.childForFieldName('attribute')?.id === c.id)) ok = false;
    }
    const exit = c.type === 'call' && /^(sys\.exit|exit|quit|os\._exit)$/.test(callee(c) ?? '') ? c
      : c.type === 'raise_statement' && /^SystemExit\b/.test(c.namedChild(0)?.text ?? '') ? c.namedChild(0) : null;
    if (exit) {
      const status = exit.type === 'call' ? exit.childForFieldName('arguments')?.namedChildren ?? [] : [];
      if ((exit.type === 'call' && callee(exit) === 'os._exit') || status.length > 1 || (status.length === 1 && !/^(0|None)$/.test(status[0]!.text))) ok = false;
    }
  });
  return ok ? { target: w.target, line: w.clause.startPosition.row + 1 } : null;
}

function lambdaCalling(arg: SyntaxNode): string | null {
  if (arg.type !== 'lambda') return null;
  const body = arg.childForFieldName('body');
  if (body?.type !== 'call') return null;
  const params = new Set((arg.childForFieldName('parameters')?.namedChildren ?? []).map((p) => p.text.replace(/^\*+/, '')));
  const callArgs = body.childForFieldName('arguments')?.namedChildren ?? [];
  if (!callArgs.every((a) => params.has(a.text.replace(/^\*+/, '')))) return null;
  return selfAttribute(body.childForFieldName('function')!);
}

/** `signum == signal.SIGHUP`, `signal.SIGHUP == signum`, `signum in (signal.SIGHUP, signal.SIGUSR1)`: the signals named, or null. */
function signalsTested(cond: SyntaxNode, param: string): string[] | null {
  if (cond.type !== 'comparison_operator' || cond.namedChildCount !== 2) return null;
  const op = cond.children.find((c) => !c.isNamed)?.text;
  const [a, b] = [cond.namedChild(0)!, cond.namedChild(1)!];
  const sig = (x: SyntaxNode) => (/^(signal\.)?SIG[A-Z0-9]+$/.test(x.text) ? x.text : null);
  if (op === '==' || op === 'is') {
    const other = a.text === param ? b : b.text === param ? a : null;
    const one = other ? sig(other) : null;
    return one ? [one] : null;
  }
  if (op === 'in' && a.text === param && (b.type === 'tuple' || b.type === 'list' || b.type === 'set')) {
    const all = b.namedChildren.map(sig);
    return all.length && all.every((x) => x !== null) ? (all as string[]) : null;
  }
  return null;
}

/**
 * A handler installed (as self.<name>) for SIGTERM/SIGINT and for other signals (SIGHUP: re-read the config),
 * whose body answers those first, by the signal number it is given: `if signum == signal.SIGHUP: ...` ending in a
 * bare return, the rest after it, or `if ...: ... else: <rest>` with nothing after. For SIGTERM/SIGINT only the rest
 * runs; it qualifies when each of its statements is a log line or ends the main loop as the base's handler does
 * (onlyEndsMainLoop), the rest reads the signal number only in its log lines, the flag it sets is read nowhere but the
 * loop (flagReadBeyondLoop), and nothing but those installs names the handler. Returns the other signals' installs,
 * the answering branch and the rest, or null.
 */
/**
 * One handler answering another signal first (`if signum == signal.SIGHUP: reload; return`) and stopping the agent
 * otherwise. `extension` when the stop branch does work of its own first (saves state) and ends by stopping the loop:
 * that last stop can call the base's own handler instead (`super()._on_signal(signum, frame)`).
 */
function stopBranchOfDispatch(
  ctx: PythonTransformContext,
  h: PyFunction,
  blockedIn: Set<string>,
): { others: string[]; branch: SyntaxNode; rest: SyntaxNode[]; work: SyntaxNode[]; extension: { stop: SyntaxNode; call: string } | null } | null {
  if (h.isAsync || h.decorators.length || h.params.length !== 3 || h.params.some((p) => p.kind !== 'plain')) return null;
  if (ctx.external(h.name).length || ctx.base.methods.has(h.name)) return null;
  // Every mention of it is an install `signal.signal(SIG, self.<name>)`; those for other signals are kept.
  const others: string[] = [];
  for (const r of ctx.refs.of(h.name)) {
    if (r.node.id === h.node.childForFieldName('name')?.id) continue;
    const attr = r.node.parent;
    const argList = attr?.type === 'attribute' ? attr.parent : null;
    const call = argList?.type === 'argument_list' ? argList.parent : null;
    const args = argList?.namedChildren ?? [];
    if (!call || call.type !== 'call' || !/^(signal\.)?signal$/.test(callee(call) ?? '') || args.length !== 2 || args[1]!.id !== attr!.id) return null;
    if (!HANDLED.test(args[0]!.text)) others.push(args[0]!.text);
  }
  if (!others.length) return null;
  const signum = h.params[1]!.name;
  const body = statements(h.body).filter((st) => !isDocstring(st));
  const first = body[0];
  if (first?.type !== 'if_statement') return null;
  const tested = signalsTested(first.childForFieldName('condition')!, signum);
  if (!tested || tested.some((x) => HANDLED.test(x))) return null;
  const alternatives = first.namedChildren.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause');
  let rest: SyntaxNode[];
  if (alternatives.length === 0) {
    const answer = statements(first.childForFieldName('consequence'));
    const last = answer[answer.length - 1];
    if (last?.type !== 'return_statement' || last.namedChildCount) return null;
    rest = body.slice(1);
  } else if (alternatives.length === 1 && alternatives[0]!.type === 'else_clause' && body.length === 1) {
    rest = statements(alternatives[0]!.childForFieldName('body'));
  } else return null;
  if (!rest.length) return null;
  const scope: InfraScope = { removed: new Set(), baseOwned: ctx.baseOwned };
  const logs = new Set<number>();
  // Log lines, and records of the signal nothing reads (`self.last_signal = signum`, which the rewrite may drop as
  // unread state: a second run must decide the same without it).
  const work: SyntaxNode[] = [];
  for (const st of rest) {
    if (st.type === 'expression_statement' && isLogCall(st.namedChild(0))) logs.add(st.id);
    else if (unreadRecord(ctx, st)) logs.add(st.id);
    else if (!onlyEndsMainLoop(ctx, st, scope, blockedIn, undefined, true)) work.push(st);
  }
  let readsSignum = false;
  for (const st of rest) {
    if (!logs.has(st.id)) walk(st, (c) => {
      if (c.type === 'identifier' && (c.text === signum || c.text === h.params[2]!.name)) readsSignum = true;
    });
  }
  if (readsSignum || flagReadBeyondLoop(ctx, h)) return null;
  const result = { others: [...new Set(others)], branch: first, rest, work, extension: null };
  if (!work.length) return result;
  const extension = baseHandlerAfterWork(ctx, h, rest, work);
  return extension ? { ...result, extension } : null;
}

/**
 * The stop branch's work runs, then its last statement stops the loop: that stop can become the base's own
 * handler (the base has exactly one, taking signum and frame) when nothing in the branch leaves early (the
 * base's handler exits 0) and nothing the base's exit skips follows the loop or the entry point's run().
 */
function baseHandlerAfterWork(ctx: PythonTransformContext, h: PyFunction, rest: SyntaxNode[], work: SyntaxNode[]): { stop: SyntaxNode; call: string } | null {
  const handlers = [...ctx.base.signalCalls.handlers];
  if (handlers.length !== 1 || ctx.agent.methods.has(handlers[0]!)) return null;
  const stop = rest[rest.length - 1]!;
  if (work.includes(stop)) return null;
  let leaves = false;
  for (const st of rest) {
    walk(st, (c) => {
      if (c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition') return false;
      if (c.type === 'return_statement' || c.type === 'raise_statement' || c.type === 'yield') leaves = true;
      if (c.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(c) ?? '')) leaves = true;
    });
  }
  if (leaves || !nothingAfterRun(ctx)) return null;
  return { stop, call: `super().${handlers[0]}(${h.params[1]!.name}, ${h.params[2]!.name})` };
}

/** `self.<attr> = <name or literal>` where nothing reads the attribute: not the agent's code, the base or another file. */
function unreadRecord(ctx: PythonTransformContext, st: SyntaxNode): boolean {
  const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
  const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
  const attr = left ? selfAttribute(left) : null;
  const right = a?.childForFieldName('right');
  if (!attr || !right || !/^(identifier|integer|float|string|true|false|none)$/.test(right.type)) return false;
  if (ctx.baseOwned.has(attr) || ctx.external(attr).length) return false;
  return ctx.refs.of(attr).every((r) => {
    const target = r.node.parent?.parent;
    return r.kind === 'attribute' && target?.type === 'assignment' && target.childForFieldName('left')?.id === r.node.parent!.id;
  });
}

/** The loops of the agent's main loop method, top level of its body or of a with/try body. */
function mainLoops(ctx: PythonTransformContext, runs: PyFunction[]): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const run of runs) {
    walk(run.body, (n) => {
      // (`for tick in self.ticks():` over the agent's own looping generator ends when its while loop does)
      const loop = isLoopStatement(ctx, n);
      if (loop) out.push(n);
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || loop) return false;
    });
  }
  return out;
}

/**
 * The agent's methods that run its main loop: the profile's main loop method, and what the entry
 * point runs on the agent (the legacy run() of an agent moving onto run_forever()).
 */
/**
 * The agent's own main loops the entry point runs (its run(), or any method it calls that loops):
 * the base's signal handler is installed only once they give way to the base's main loop method.
 */
function entryLoops(ctx: PythonTransformContext): string[] {
  const main = ctx.py.main_loop_method ?? 'run';
  return [...ctx.agent.methods.values()]
    .filter((m) => m.name !== '__init__' && m.name !== main && calledByEntryPoint(ctx, m.name) && (m.name === LEGACY_RUN || loops(m.body)))
    .map((m) => m.name);
}

function loops(body: SyntaxNode): boolean {
  let found = false;
  walk(body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'while_statement') found = true;
  });
  return found;
}

function loopMethods(ctx: PythonTransformContext): PyFunction[] {
  const main = ctx.py.main_loop_method ?? 'run';
  // A unit's base: its loop is started by its subclasses' entry points, in their files.
  return [...ctx.agent.methods.values()].filter((m) => m.name === main || m.name === ctx.unit?.loop || (m.name !== '__init__' && calledByEntryPoint(ctx, m.name)));
}

/** Where the main loop method blocks in a member instead of a while loop: `self.scheduler.run()`, `self.server.serve_forever()`. */
function blockingCalls(ctx: PythonTransformContext, runs: PyFunction[]): Array<{ stmt: SyntaxNode; member: string }> {
  const out: Array<{ stmt: SyntaxNode; member: string }> = [];
  for (const run of runs) walk(run.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda' || n.type === 'while_statement') return false;
    const e = n.type === 'expression_statement' ? n.namedChild(0) : null;
    const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
    if (fn?.type !== 'attribute' || !BLOCKING.test(fn.childForFieldName('attribute')!.text)) return;
    const member = selfAttribute(fn.childForFieldName('object')!);
    if (member && !ctx.agent.methods.has(member)) out.push({ stmt: n, member });
  });
  return out;
}

/** `self.cleanup()` as a statement: the method's name. */
function selfCallOf(st: SyntaxNode): string | null {
  const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
  return e?.type === 'call' && (e.childForFieldName('arguments')?.namedChildCount ?? 0) === 0 ? selfAttribute(e.childForFieldName('function')!) : null;
}

const BLOCKING = /^(run|serve_forever|run_forever|join|wait)$/;
/** What tells a member the main loop blocks in to return (a scheduler's events cancelled, a server shut down). */
const STOPPING = /^(cancel|shutdown|stop|set|clear|close|cancel_all)$/;

/**
 * The first statement after the main loop, in the loop's own block, that does work (not a log
 * line, a sleep or a bare return): what only runs when the loop ends by its condition.
 */
function workAfterLoop(ctx: PythonTransformContext, given?: PyFunction[], scope?: InfraScope): SyntaxNode | null {
  // Only an override of the base's own main loop method stays as it is; a legacy loop under another
  // name (run() of an agent moving onto run_forever()) goes, its teardown moved by its own transform.
  const main = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  const runs = given ?? (main ? [main] : []);
  // With a scope: what the rewrite deletes is no work, except a shutdown whose place the base's
  // teardown takes (loop-tail-teardown writes super().cleanup() there, which a second run reads as work).
  const gone = scope ? (n: SyntaxNode) => ctx.plan.statementGoes(n, scope, ctx.agent) : null;
  for (const run of runs) {
    if (scope?.removed.has(run.name)) continue;
    const replaced = gone !== null && tailGetsBaseTeardown(ctx, run, gone);
    for (const loop of [...mainLoops(ctx, [run]), ...blockingCalls(ctx, [run]).map((b) => b.stmt)]) {
      const block = loop.parent;
      if (!block) continue;
      const siblings = statements(block);
      const after = siblings.slice(siblings.findIndex((s) => s.id === loop.id) + 1);
      // A call of a teardown the base's own handler makes too (self.cleanup()) is not skipped by it.
      const work = after.find((s) => !isTrivial(s) && !ctx.base.shutdownCalls.has(selfCallOf(s) ?? '') && (replaced || !gone?.(s)));
      if (work) return work;
    }
  }
  return null;
}

/**
 * A flag the handler sets to end the main loop (`self._stopping = True`, `self._stop.set()`) that other
 * code reads too, beyond a loop's condition: a scan that stops between files (`if self._stopping: break`),
 * a health answer that says "stopping". The base's own handler ends the process instead of setting it,
 * so what those reads did on SIGTERM would silently never happen. The first such read, else null.
 */
function flagReadBeyondLoop(ctx: PythonTransformContext, handler: PyFunction, removed: Set<string> = new Set()): { flag: string; line: number; text: string; thread?: string } | null {
  const within = (n: SyntaxNode, outer: SyntaxNode) => outer.startIndex <= n.startIndex && n.endIndex <= outer.endIndex;
  // (a read in loop code that goes, the tick of a folded Timer chain, ends that loop as the base's stop does; health
  // code that goes is not skipped: what it answered moves into the base's hook, reads included)
  const gone = [...removed].filter((m) => ctx.plan.findingOf(m) === 'loop').map((m) => ctx.agent.methods.get(m)).filter((m): m is PyFunction => !!m);
  // A flag the base's own handler sets as well on its way out (`self.running = False` in its stop()) is kept as it was.
  for (const flag of handlerFlags(ctx, handler)) {
    for (const r of ctx.refs.of(flag)) {
      if (r.kind !== 'attribute' || within(r.node, handler.node) || gone.some((m) => within(r.node, m.node))) continue;
      let p: SyntaxNode | null = r.node.parent;
      // The attribute itself is being assigned (its start value, a reset): not a read.
      const target = p?.parent;
      if (target?.type === 'assignment' && target.childForFieldName('left')?.id === p!.id) continue;
      // `self._stop.wait(interval)`: a sleep the flag cuts short, not a decision taken on it (the process ends anyway).
      if (p?.parent?.type === 'attribute' && p.parent.childForFieldName('attribute')?.text === 'wait') continue;
      // `self._stop.set()` / `.clear()` elsewhere (a shutdown() that sets it too): a write, not a read.
      if (p?.parent?.type === 'attribute' && /^(set|clear)$/.test(p.parent.childForFieldName('attribute')?.text ?? '') && p.parent.parent?.type === 'call') continue;
      // In a loop that the flag ends (its condition, or its body: `if self._stop.is_set(): break`): ending the loop.
      let inLoop = false;
      for (; p; p = p.parent) {
        if (p.type === 'while_statement' && readsFlag(p.childForFieldName('condition'), flag)) inLoop = true;
        if (p.type === 'class_definition' || inLoop) break;
      }
      // ... unless that loop is a non-daemon thread's (`threading.Thread(target=self._watchdog).start()`):
      // nothing but the handler ends it, and the thread keeps the process alive after the base's teardown,
      // unless the base's signal hook sets the flag in its place (threadFlagPrelude).
      const t = inLoop ? threadOf(ctx, p) : null;
      if (inLoop && (!t || t.daemon || flagCarriedByHook(ctx, handler, flag))) continue;
      const thread = t?.name;
      // The source line of the read (a multi-line statement shows the line it is on).
      const st = enclosingStatement(r.node);
      return { flag, line: r.line, text: (st.text.split('\n')[r.line - 1 - st.startPosition.row] ?? st.text).trim(), ...(thread ? { thread } : {}) };
    }
  }
  return null;
}

/**
 * The agent's thread running the method holding `loop` (`threading.Thread(target=self.<method>, ...)`):
 * its name, and whether every start of it is marked daemon (`daemon=True`, or `.daemon = True` beside it).
 */
function threadOf(ctx: PythonTransformContext, loop: SyntaxNode | null): { name: string; daemon: boolean } | null {
  let f: SyntaxNode | null = loop;
  while (f && f.type !== 'function_definition') f = f.parent;
  const name = f?.childForFieldName('name')?.text;
  if (!name || !ctx.agent.methods.has(name)) return null;
  let starts = 0;
  let daemons = 0;
  for (const m of ctx.agent.methods.values()) {
    let daemonSet = false;
    walk(m.body, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'attribute' && n.childForFieldName('left')!.childForFieldName('attribute')?.text === 'daemon' && n.childForFieldName('right')?.type === 'true') daemonSet = true;
    });
    walk(m.body, (n) => {
      if (n.type !== 'call' || !/^(threading\.)?Thread$/.test(callee(n) ?? '')) return;
      const kws = (n.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type === 'keyword_argument');
      const kw = (k: string) => kws.find((a) => a.childForFieldName('name')?.text === k)?.childForFieldName('value');
      if (selfAttribute(kw('target') ?? n) !== name) return;
      starts++;
      if (kw('daemon')?.type === 'true' || daemonSet) daemons++;
    });
  }
  return starts ? { name, daemon: daemons === starts } : null;
}

function readsFlag(cond: SyntaxNode | null, flag: string): boolean {
  let hit = false;
  if (cond) walk(cond, (c) => {
    if (selfAttribute(c) === flag) hit = true;
  });
  return hit;
}

function enclosingStatement(n: SyntaxNode): SyntaxNode {
  let s = n;
  while (s.parent && s.parent.type !== 'block' && s.parent.type !== 'module') s = s.parent;
  return s;
}

/**
 * The agent's main loop method stays and tears down once its loop has ended (a `finally:` around the
 * loop, or work after it), where the base's teardown joins it: a handler that only ends that loop
 * gently, kept installed, still leads to the base's deregistration and final push.
 */
function tearsDownAfterLoop(ctx: PythonTransformContext): boolean {
  const main = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
  if (!main) return false;
  if (workAfterLoop(ctx, [main])) return true;
  return mainLoops(ctx, [main]).some((loop) => {
    for (let p = loop.parent; p && p.id !== main.body.id; p = p.parent) {
      if (p.type === 'try_statement' && p.namedChildren.some((c) => c.type === 'finally_clause' && statements(c.namedChildren.find((x) => x.type === 'block') ?? null).some((x) => !isTrivial(x)))) return true;
    }
    return false;
  });
}

/**
 * The handler only ends the main loop: it sets the event or flag the loop's condition reads
 * (`self.stop_event.set()` for `while not self.stop_event.is_set()`). The base's own handler
 * ends the process instead (SystemExit through the loop), and the entry point's teardown follows.
 */
function onlyEndsMainLoop(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope, blockedIn: Set<string> = new Set(), given?: PyFunction[], single = false): boolean {
  // A legacy loop under another name only counts when it goes (the base's loop replaces it and the
  // base's handler stops that): kept, it still needs the handler that ends it.
  const main = ctx.py.main_loop_method ?? 'run';
  const own = given ?? loopMethods(ctx).filter((m) => m.name === main || scope.removed.has(m.name));
  // A loop mixin's loop the base's loop takes the place of (resolvedLoopMixin): the base's stop ends it now.
  const mixin = own.length ? null : resolvedLoopMixin(ctx);
  const runs = mixin ? [mixin.run] : own;
  if (runs.length === 0) return false;
  const loopReads = new Set<string>();
  // Events the loop runs while they are set (`while self._running.is_set():`): clearing one ends it.
  const whileSet = new Set<string>();
  // The while loops of the agent's generators the loop method consumes (`for tick in self.ticks():`) end it too.
  const generatorLoops = runs.flatMap((run) => generatorWhileLoops(ctx, run.body));
  for (const body of [...runs.map((run) => run.body), ...generatorLoops]) walk(body, (n) => {
    if (n.type === 'while_statement') {
      const cond = n.childForFieldName('condition');
      if (cond) walk(cond, (c) => {
        const a = selfAttribute(c);
        if (a) loopReads.add(a);
        const fn = c.type === 'call' ? c.childForFieldName('function') : null;
        const ev = fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'is_set' ? selfAttribute(fn.childForFieldName('object')!) : null;
        if (ev && c.parent?.type !== 'not_operator') whileSet.add(ev);
      });
    }
  });
  // A timer chain folded into the base's loop (timer-chain): the flag its tick re-arms under is the loop's condition.
  if (!given && !mixin) {
    const folded = analyzeRun(ctx);
    if (folded.ok && folded.value.chain && folded.value.flag && scope.removed.has(folded.value.chain.method)) loopReads.add(folded.value.flag);
  }
  // `for event in list(self.scheduler.queue): try: self.scheduler.cancel(event) except ValueError: pass`
  const unblocks = (st: SyntaxNode): boolean => {
    if (st.type === 'pass_statement' || isTrivial(st)) return true;
    if (st.type === 'for_statement') {
      const right = st.childForFieldName('right');
      let over = false;
      if (right) walk(right, (c) => {
        if (selfAttribute(c) && blockedIn.has(selfAttribute(c)!)) over = true;
      });
      return over && statements(st.childForFieldName('body')).every(unblocks) && !st.namedChildren.some((c) => c.type === 'else_clause');
    }
    if (st.type === 'try_statement') {
      return st.namedChildren.every((c) => {
        if (c.type === 'block') return statements(c).every(unblocks);
        if (c.type === 'except_clause') return statements(c.namedChildren.find((x) => x.type === 'block') ?? null).every((x) => x.type === 'pass_statement' || isTrivial(x));
        return c.type !== 'finally_clause' && c.type !== 'else_clause';
      });
    }
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const fn = e?.type === 'call' ? e.childForFieldName('function') : null;
    const member = fn?.type === 'attribute' ? selfAttribute(fn.childForFieldName('object')!) : null;
    if (member && blockedIn.has(member) && STOPPING.test(fn!.childForFieldName('attribute')!.text)) return true;
    // `threading.Thread(target=self.rpc.shutdown, daemon=True).start()`: the same stop, from a thread (a
    // socketserver's shutdown() called in the thread blocked in its serve_forever() would wait forever).
    return e?.type === 'call' && threadStopping(e, blockedIn);
  };
  // (single: the body is one statement of a handler, not a block)
  const ends = (st: SyntaxNode): boolean => {
    if (isInfraStatement(st, scope)) return true;
    // `with self._sched_lock:` around the stop: a lock of the agent's held only for it is no work of its own.
    if (st.type === 'with_statement' && heldAgentLock(ctx, st)) return statements(st.childForFieldName('body')).every(ends);
    if (blockedIn.size && unblocks(st)) return true;
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (e?.type === 'call') {
      const fn = e.childForFieldName('function');
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
      const a = obj ? selfAttribute(obj) : null;
      const verb = fn!.childForFieldName('attribute')!.text;
      return !!a && loopReads.has(a) && (verb === 'set' || (verb === 'clear' && whileSet.has(a)));
    }
    if (e?.type === 'assignment') {
      const a = selfAttribute(e.childForFieldName('left')!);
      return !!a && loopReads.has(a) && /^(False|True|None)$/.test(e.childForFieldName('right')?.text ?? '');
    }
    return false;
  };
  return (single ? [body] : statements(body)).every(ends);
}

/** `with self.L:` (each item, no `as`) where the agent's every assignment of L is a threading.Lock() / RLock(). */
function heldAgentLock(ctx: PythonTransformContext, st: SyntaxNode): boolean {
  const items = st.namedChildren.find((c) => c.type === 'with_clause')?.namedChildren.filter((c) => c.type === 'with_item') ?? [];
  return items.length > 0 && items.every((item) => {
    const value = item.childForFieldName('value');
    const attr = value ? selfAttribute(value) : null;
    const assigns = attr ? ctx.agent.assignments.filter((a) => a.attr === attr) : [];
    return assigns.length > 0 && assigns.every((a) => !!a.value && /^(threading\.)?R?Lock\(\)$/.test(a.value.text.replace(/\s+/g, '')));
  });
}

/**
 * The handler only ends the loop of a method that stays under its own name and that the entry point
 * runs (`agent.start()`: `while not self.stop_event.is_set(): ...` then `self.shutdown()`), and that
 * method does work after its loop: installed as before, SIGTERM ends the loop and that work runs, as in
 * the legacy agent; the base's own handler would leave through the loop (SystemExit) and skip it.
 */
function endsKeptLoop(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope): { method: string; after: SyntaxNode } | null {
  const main = ctx.py.main_loop_method ?? 'run';
  for (const m of loopMethods(ctx)) {
    if (m.name === main || m.isAsync || scope.removed.has(m.name) || !calledByEntryPoint(ctx, m.name)) continue;
    const blockedIn = new Set(blockingCalls(ctx, [m]).map((b) => b.member));
    const after = workAfterLoop(ctx, [m]);
    if (after && onlyEndsMainLoop(ctx, body, scope, blockedIn, [m])) return { method: m.name, after };
  }
  return null;
}

/**
 * The handler only ends (logs, clears the flag or sets the event of) the loop of a method that stays and the
 * entry point runs (run() kept for review): the base's loop never starts, so its handler is never installed
 * and this one is still what ends that loop. Not a concern of its own: it goes when that loop goes.
 */
function onlyEndsStayingLoop(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope): string | null {
  for (const m of loopMethods(ctx)) {
    if (m.isAsync || scope.removed.has(m.name) || !calledByEntryPoint(ctx, m.name)) continue;
    const blockedIn = new Set(blockingCalls(ctx, [m]).map((b) => b.member));
    if (onlyEndsMainLoop(ctx, body, scope, blockedIn, [m])) return m.name;
  }
  return null;
}

/** `[threading.]Thread(target=self.<member>.<stop verb>[, daemon=...]).start()`, member one the loop blocks in. */
function threadStopping(call: SyntaxNode, blockedIn: Set<string>): boolean {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'start') return false;
  if ((call.childForFieldName('arguments')?.namedChildCount ?? 0) !== 0) return false;
  const thread = fn.childForFieldName('object');
  if (thread?.type !== 'call' || !/^(threading\.)?Thread$/.test(callee(thread) ?? '')) return false;
  const args = thread.childForFieldName('arguments')?.namedChildren ?? [];
  let target: SyntaxNode | null = null;
  for (const a of args) {
    if (a.type !== 'keyword_argument') return false;
    const name = a.childForFieldName('name')?.text;
    if (name === 'target') target = a.childForFieldName('value');
    else if (name !== 'daemon' && name !== 'name') return false;
  }
  if (target?.type !== 'attribute') return false;
  const member = selfAttribute(target.childForFieldName('object')!);
  return !!member && blockedIn.has(member) && STOPPING.test(target.childForFieldName('attribute')!.text);
}

/**
 * The handler only ends the process cleanly (`raise SystemExit(0)`, `sys.exit(0)` or `sys.exit()`,
 * maybe after log lines): the legacy loop then left through its `finally:`/teardown. The base's own
 * handler stops its loop and calls the shutdown() hook (where that teardown goes), exit 0. Only when
 * the legacy loop goes (the base's loop, which installs that handler, runs instead).
 */
function onlyExits(ctx: PythonTransformContext, body: SyntaxNode, scope: InfraScope): boolean {
  const main = ctx.py.main_loop_method ?? 'run';
  if (!loopMethods(ctx).some((m) => m.name === main || scope.removed.has(m.name))) return false;
  let exits = 0;
  for (const st of statements(body)) {
    if (isDocstring(st) || (isTrivial(st) && st.type !== 'return_statement')) continue;
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const code = st.type === 'raise_statement' ? st.namedChild(0) : e?.type === 'call' && /^(sys\.exit|exit|quit)$/.test(callee(e) ?? '') ? e : null;
    if (!code) return false;
    const args = code.type === 'call' ? code.childForFieldName('arguments')!.namedChildren : [];
    const name = code.type === 'call' ? callee(code) ?? '' : code.text;
    if (!/^(SystemExit|sys\.exit|exit|quit)$/.test(name) && code.type !== 'identifier') return false;
    if (code.type === 'identifier' && code.text !== 'SystemExit') return false;
    if (args.length > 1 || (args.length === 1 && !/^(0|None)$/.test(args[0]!.text))) return false;
    exits++;
  }
  return exits === 1;
}

/**
 * Edit: the handler whose installs went (see handlerAsShutdown) becomes the shutdown() hook in
 * place: renamed, without the signal's parameters, its work kept byte for byte, ending with the
 * base's own shutdown() as every kept teardown does (teardown-super).
 */
export const signalHandlerShutdown: PythonTransform = {
  name: 'signal-handler-shutdown',
  phase: 'edit',
  run(ctx) {
    if (!ctx.base.handlesSignals) return;
    for (const h of ctx.agent.methods.values()) {
      const hook = hookMemo.get(ctx)?.get(h.name);
      if (!hook) continue;
      const refs = ctx.refs.of(h.name).filter((r) => !(r.kind === 'identifier' && r.node.parent?.id === h.node.id));
      if (!refs.length) continue;
      if (!refs.every((r) => isRemoved(ctx, r.node))) {
        const kept = entryLoops(ctx).filter((m) => !isRemoved(ctx, ctx.agent.methods.get(m)!.outer));
        if (kept.length) {
          ctx.warnings.push(
            `${h.name}() stays installed as the SIGTERM handler, as written: the entry point still runs ${kept.map((m) => `${m}()`).join(', ')} (kept), ` +
              `so ${ctx.profile.base_class} installs no handler of its own; once that loop goes, it becomes ${hook.hook}()`,
          );
        }
        continue;
      }
      if (![...hook.logs, ...hook.stops].every((x) => isRemoved(ctx, x)) || hook.exits.some((x) => isRemoved(ctx, x))) continue;
      const name = h.node.childForFieldName('name')!;
      const to = hook.hook;
      ctx.edits.replace(name.startIndex, name.endIndex, to, 'signal-handler-shutdown');
      ctx.edits.replace(hook.params.startIndex, hook.params.endIndex, `(${h.params[0]!.name})`, 'signal-handler-shutdown');
      // The exit ending the handler is where the base's shutdown() runs now (the base exits after it);
      // without one, after the handler's last statement.
      const exit = hook.exits[0];
      if (exit) ctx.edits.replace(exit.startIndex, exit.endIndex, `super().${to}()`, 'signal-handler-shutdown');
      else {
        const body = statements(h.body);
        const last = body[body.length - 1]!;
        const indent = ctx.source.slice(ctx.source.lastIndexOf('\n', last.startIndex) + 1, last.startIndex);
        ctx.edits.insert(last.endIndex, `${ctx.layout.eol}${indent}super().${to}()`, 'signal-handler-shutdown');
      }
      ctx.renames.set(h.name, to);
      const clash = ctx.base.methods.has(h.name) ? ` (it no longer overrides ${ctx.profile.base_class}.${h.name}(), the base's own handler)` : '';
      ctx.warnings.push(
        `${ctx.agent.cls.name}: ${h.name}() (the SIGTERM/SIGINT handler) is now ${to}()${clash}: ${ctx.profile.base_class}'s own handler stops the agent and then calls it` +
          (hook.exits.length ? `; its ${hook.exits.map((x) => x.text.split('\n')[0]!.trim()).join(', ')} went (the base ends the process)` : '') +
          (hook.stops.length ? `; its ${hook.stops.map((x) => x.text.split('\n')[0]!.trim()).join(', ')} went (the base ends its own loop first, then calls ${to}())` : '') +
          hook.threadStops.map((t) => `; its ${t.stmt.text.trim()} stays: it also ends the loop of the thread ${t.thread}() (line ${t.loop.startPosition.row + 1}: ${t.loop.text.split('\n')[0]!.trim()}), which ${ctx.profile.base_class}'s own handler does not set`).join('') +
          (hook.logs.length ? `; its log line ${hook.logs.map((x) => x.text.split('\n')[0]!.trim()).join(', ')} went (it names the signal, which ${to}() is not given; ${ctx.profile.base_class} logs the signal it receives)` : ''),
      );
    }
  },
};

/**
 * The log lines of the handler's own body (at any depth, not in a nested function): every one of them is no
 * longer written once the handler goes. `naming`: those that name what the handler was given (signum, frame),
 * whose place the base's own line for the signal takes, in its words.
 */
function ownLogLines(h: { body: SyntaxNode; params: Array<{ name: string }> }): { own: SyntaxNode[]; naming: SyntaxNode[] } {
  const given = new Set(h.params.slice(1).map((p) => p.name));
  const own: SyntaxNode[] = [];
  const naming: SyntaxNode[] = [];
  walk(h.body, (st) => {
    if (st.type === 'function_definition' || st.type === 'lambda' || st.type === 'class_definition') return false;
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (!e || !isLogCall(e)) return;
    let names = false;
    walk(e, (n) => {
      if (n.type === 'identifier' && given.has(n.text)) names = true;
    });
    (names ? naming : own).push(st);
    return false;
  });
  return { own, naming };
}

/**
 * Edit: a signal handler that went whole (it only ended the loop the base now runs) with a log line of its
 * own: the line is no longer written (BaseAgent logs the signal it receives in its own words). Said in the
 * warnings, not left for a reader of the diff to notice: a log search or a script waiting for it must change.
 */
export const removedSignalHandlerLogLine: PythonTransform = {
  name: 'removed-signal-handler-log-line',
  phase: 'edit',
  run(ctx) {
    for (const [name, p] of ctx.resolved!.members) {
      if (p.finding !== 'signal' || p.kind !== 'method') continue;
      const h = ctx.agent.methods.get(name);
      if (!h) continue;
      const { own, naming } = ownLogLines(h);
      const said = (lines: SyntaxNode[]) => lines.map((l) => `${l.text.split('\n')[0]!.trim()} (line ${l.startPosition.row + 1})`).join(', ');
      if (own.length) {
        ctx.warnings.push(
          `${name}() (the signal handler) removed: the base's own handler stops the agent; its log line${own.length > 1 ? 's' : ''} ${said(own)} ` +
            `${own.length > 1 ? 'are' : 'is'} no longer written (${ctx.profile.base_class} logs the signal it receives in its own words): change a log search or script that waits for ${own.length > 1 ? 'them' : 'it'}`,
        );
      }
      // A line naming the signal has an equivalent in the base's own, but not the same words: a grep for
      // the legacy's ("finishing current cycle") would wait in vain.
      if (naming.length) {
        ctx.warnings.push(
          `${name}() (the signal handler) removed: its log line${naming.length > 1 ? 's' : ''} naming the signal, ${said(naming)}, ${naming.length > 1 ? 'are' : 'is'} replaced by ` +
            `${ctx.profile.base_class}'s own line for the signal it receives, in the base's words: change a log search or script that matches the legacy's`,
        );
      }
    }
  },
};

/** A flag a removed SIGTERM/SIGINT handler set that ends the loop of a thread of the agent. */
interface ThreadFlag {
  handler: PyFunction;
  flag: string;
  /** The handler's statement setting it (`self.running = False`, `self._stop.set()`). */
  stmt: SyntaxNode;
  thread: string;
  daemon: boolean;
  /** The thread's `while` reading the flag. */
  loop: SyntaxNode;
  /** The base's hook its own handler runs once it stops (shutdown(), cleanup()), where the statement can go; null when none. */
  hook: string | null;
}

/**
 * The handler's statement setting `flag` can open the base's signal hook instead: there is one (the base's
 * own handler runs it), and the statement is one line that reads nothing the hook is not given (signum, frame).
 */
function flagCarriedByHook(ctx: PythonTransformContext, handler: PyFunction, flag: string): boolean {
  const st = flagStatements(handler).get(flag);
  if (!st || st.text.includes('\n') || !signalHook(ctx, handler.name)) return false;
  const given = new Set(handler.params.slice(1).map((p) => p.name));
  let reads = false;
  walk(st, (n) => {
    if (n.type === 'identifier' && given.has(n.text)) reads = true;
  });
  return !reads;
}

const threadFlagMemo = new WeakMap<PythonTransformContext, ThreadFlag[]>();

/**
 * Edit phase: the flags of SIGTERM/SIGINT handlers that went whole (not one turned into the hook, which
 * stays) that still end the loop of a kept thread of the agent (`threading.Thread(target=self._watchdog)`
 * looping `while self.running:`). The base's own handler never sets them.
 */
function threadFlags(ctx: PythonTransformContext): ThreadFlag[] {
  const known = threadFlagMemo.get(ctx);
  if (known) return known;
  const out: ThreadFlag[] = [];
  const handlers = new Set<string>();
  for (const fn of ctx.agent.methods.values()) {
    walkAgentCode(fn, (n) => {
      if (n.type !== 'call' || !/^(signal\.)?signal$/.test(callee(n) ?? '')) return;
      const a = n.childForFieldName('arguments')?.namedChildren ?? [];
      const h = a.length === 2 && HANDLED.test(a[0]!.text) ? selfAttribute(a[1]!) : null;
      if (h && ctx.agent.methods.has(h)) handlers.add(h);
    });
  }
  const seen = new Set<string>();
  for (const name of handlers) {
    const h = ctx.agent.methods.get(name)!;
    if (!isRemoved(ctx, h.outer) || hookMemo.get(ctx)?.get(name)) continue;
    for (const flag of handlerFlags(ctx, h)) {
      for (const r of ctx.refs.of(flag)) {
        if (r.kind !== 'attribute' || isRemoved(ctx, r.node)) continue;
        let loop: SyntaxNode | null = r.node.parent;
        while (loop && loop.type !== 'while_statement' && loop.type !== 'function_definition') loop = loop.parent;
        if (loop?.type !== 'while_statement' || !readsFlag(loop.childForFieldName('condition'), flag) || isRemoved(ctx, loop)) continue;
        const thread = threadOf(ctx, loop);
        const key = `${thread?.name}:${flag}`;
        if (!thread || seen.has(key)) continue;
        seen.add(key);
        const hook = flagCarriedByHook(ctx, h, flag) ? signalHook(ctx, name) : null;
        out.push({ handler: h, flag, stmt: flagStatements(h).get(flag)!, thread: thread.name, daemon: thread.daemon, loop, hook });
      }
    }
  }
  threadFlagMemo.set(ctx, out);
  return out;
}

/**
 * What opens the base's signal hook `hook` (shutdown(), cleanup()) so that the agent's threads still end at
 * SIGTERM: the removed handler's statements setting the flags their loops read, as written. A transform
 * writing that hook (the teardown of run()'s finally:) starts it with these lines; signal-flag-thread-hook
 * writes them into the agent's own hook or a new one.
 */
export function threadFlagPrelude(ctx: PythonTransformContext, hook: string): string[] {
  return [...new Set(threadFlags(ctx).filter((t) => t.hook === hook).map((t) => withRenames(ctx, t.stmt.text)))];
}

/**
 * Edit: a SIGTERM/SIGINT handler that went whole while a flag it set (`self.running = False`,
 * `self._stop.set()`) still ends the loop of a thread of the agent (`threading.Thread(target=self._watchdog)`
 * looping `while self.running:`). The base's own handler never sets that flag: a non-daemon thread would keep
 * the process alive after SIGTERM (and its work after the loop never run), a daemon one would run on through
 * the teardown (a watchdog that os._exit()s when a cycle is late may cut it). The statement now opens the hook
 * the base's handler runs once it stops (HardenedAgentBase's shutdown(), BaseAgent's cleanup()): the agent's
 * own, the one another transform writes (threadFlagPrelude), or a new one. Without such a hook, a note.
 */
export const signalFlagThreadHook: PythonTransform = {
  name: 'signal-flag-thread-hook',
  phase: 'edit',
  run(ctx) {
    if (!ctx.base.handlesSignals) return;
    const flags = threadFlags(ctx);
    const cls = ctx.agent.cls.name;
    const said = (t: ThreadFlag) => `line ${t.loop.startPosition.row + 1}: ${t.loop.text.split('\n')[0]!.trim()}`;
    for (const t of flags) {
      if (t.hook || !t.daemon) continue;
      ctx.warnings.push(
        `${cls}: the daemon thread ${t.thread}() loops on self.${t.flag} (${said(t)}), which only the removed SIGTERM handler ${t.handler.name}() ended (line ${t.handler.node.startPosition.row + 1}); ` +
          `${ctx.profile.base_class}'s own handler never sets self.${t.flag}, so at SIGTERM that thread keeps running through shutdown() until the process exits` +
          ` (if it exits or os._exit()s on its own, it may do so mid-teardown): set self.${t.flag} as ${t.handler.name}() did at the start of shutdown() by hand if that matters`,
      );
    }
    for (const hook of new Set(flags.map((t) => t.hook).filter((h): h is string => !!h))) {
      const mine = flags.filter((t) => t.hook === hook);
      const lines = threadFlagPrelude(ctx, hook);
      const what = mine.map((t) => `self.${t.flag} (${t.thread}()'s loop, ${said(t)})`).join(', ');
      const handlers = [...new Set(mine.map((t) => `${t.handler.name}()`))].join(', ');
      const placed = placeHookPrelude(ctx, hook, lines, mine);
      if (placed) {
        ctx.warnings.push(
          `${cls}: the removed SIGTERM handler ${handlers} set ${what}; ${ctx.profile.base_class}'s own handler does not, so ${hook}(), which it runs once it stops, ${placed} ${lines.join('; ')}: the thread ends at SIGTERM as it did`,
        );
        continue;
      }
      for (const t of mine) {
        const reason = `the removed SIGTERM handler ${t.handler.name}() set self.${t.flag}, which ends the loop of the thread ${t.thread}() (${said(t)}); ${ctx.profile.base_class}'s own handler does not, and ${hook}() could not be opened with ${t.stmt.text}: add it at the start of ${hook}() by hand`;
        if (t.daemon) ctx.warnings.push(`${cls}: ${reason}`);
        else keep(ctx, t.thread, t.loop.startPosition.row + 1, reason);
      }
    }
  },
};

/**
 * Opens the hook with `lines`: the agent's own (kept, or the method renamed to it) after its docstring, or
 * a new one after __init__; one another transform wrote must hold them already. What it did, else null.
 */
function placeHookPrelude(ctx: PythonTransformContext, hook: string, lines: string[], flags: ThreadFlag[]): string | null {
  const renamed = [...ctx.renames].find(([, to]) => to === hook)?.[0];
  const own = ctx.agent.methods.get(renamed ?? hook);
  if (own && !isRemoved(ctx, own.outer)) {
    const first = statements(own.body).find((x) => !isDocstring(x) && !isRemoved(ctx, x));
    if (!first || first.startPosition.row === own.node.startPosition.row) return null;
    const indent = indentAt(ctx.source, first.startIndex);
    ctx.edits.insert(lineStart(ctx.source, first.startIndex), lines.map((l) => `${indent}${l}${ctx.layout.eol}`).join(''), 'signal-flag-thread-hook');
    return 'now opens with';
  }
  const written = ctx.edits.writtenTexts().filter((t) => new RegExp(`\\bdef ${hook}\\(`).test(t));
  if (written.length) return written.some((t) => lines.every((l) => t.includes(l))) ? 'opens with' : null;
  const doc = `"""What the removed SIGTERM handler ${[...new Set(flags.map((t) => t.handler.name))].join('(), ')}() did to end the loop of ${[...new Set(flags.map((t) => t.thread))].join('(), ')}() (moved by migrate)."""`;
  insertAfterInit(ctx, `def ${hook}(self):\n    ${doc}\n${lines.map((l) => `    ${l}\n`).join('')}    super().${hook}()\n`, 'signal-flag-thread-hook');
  return 'is written to open with';
}

/** The statements of a handler's body that set a flag of the agent: `self.x = ...` and `self.x.set()`, by flag. */
function flagStatements(handler: PyFunction): Map<string, SyntaxNode> {
  const out = new Map<string, SyntaxNode>();
  for (const st of statements(handler.body)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    let a: string | null = null;
    if (e?.type === 'assignment') a = selfAttribute(e.childForFieldName('left')!);
    else if (e?.type === 'call') {
      const fn = e.childForFieldName('function');
      a = fn?.type === 'attribute' && fn.childForFieldName('attribute')!.text === 'set' ? selfAttribute(fn.childForFieldName('object')!) : null;
    }
    if (a && !out.has(a)) out.set(a, st);
  }
  return out;
}

/** The self attributes a handler sets as flags: `self.x = ...` and `self.x.set()` statements of its body. */
function handlerFlags(ctx: PythonTransformContext, handler: PyFunction): string[] {
  return [...flagStatements(handler).keys()].filter((f) => !baseSetsOnSignal(ctx, f));
}

/** The base's own SIGTERM/SIGINT handler sets `flag` too on its way out (through the base methods it calls): it is set as before. */
function baseSetsOnSignal(ctx: PythonTransformContext, flag: string): boolean {
  const { handlers, graph } = ctx.base.signalCalls;
  const reached = new Set<string>();
  for (const todo = [...handlers]; todo.length; ) {
    const m = todo.pop()!;
    if (reached.has(m)) continue;
    reached.add(m);
    todo.push(...(graph.get(m) ?? []));
  }
  return [...reached].some((m) => ctx.base.assignedIn.get(m)?.has(flag));
}

const extensionMemo = new WeakMap<PythonTransformContext, Map<string, { stop: SyntaxNode; call: string } | null>>();

/**
 * The agent's SIGTERM/SIGINT handler under the name of the handler the base installs itself
 * (`_on_signal(self, signum, frame)`), whose last statement only ends the loop the base's replaces
 * (`self.running = False`) after work of its own that may read the signal (a closing journal line naming
 * it): kept as it was, it overrode the base's, so the base's cleanup(), deregistration and final push never
 * ran. Its stop becomes `super().<name>(signum, frame)`: the work runs first, as before the loop ended,
 * then the base's handler. Only when nothing leaves the handler early (return, raise, exit: the super()
 * call would be skipped), it is installed for SIGTERM/SIGINT only, and the base's exit skips nothing the
 * legacy loop or entry point ran after it. base-method-clash reads this to leave the override alone.
 */
export function extendsBaseSignalHandler(ctx: PythonTransformContext, name: string): { stop: SyntaxNode; call: string } | null {
  let memo = extensionMemo.get(ctx);
  if (!memo) extensionMemo.set(ctx, (memo = new Map()));
  if (!memo.has(name)) memo.set(name, readBaseSignalExtension(ctx, name));
  return memo.get(name)!;
}

function readBaseSignalExtension(ctx: PythonTransformContext, name: string): { stop: SyntaxNode; call: string } | null {
  const fn = ctx.agent.methods.get(name);
  if (!fn || !ctx.base.handlesSignals || !ctx.base.signalCalls.handlers.has(name)) return null;
  if (fn.isAsync || fn.decorators.length || fn.params.length !== 3 || fn.params.some((p) => p.kind !== 'plain')) return null;
  if (callsSuper(fn.body, name) || entryLoops(ctx).length) return null;
  // Installed by the agent as a bound method, and only for the signals the base's handler answers.
  let installs = 0;
  let other = false;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (c) => {
      if (c.type !== 'call' || !/^(signal\.)?signal$/.test(callee(c) ?? '')) return;
      const a = c.childForFieldName('arguments')?.namedChildren ?? [];
      if (a.length !== 2 || selfAttribute(a[1]!) !== name) return;
      if (HANDLED.test(a[0]!.text)) installs++;
      else other = true;
    });
  }
  if (!installs || other) return null;
  const body = statements(fn.body).filter((st) => !isDocstring(st));
  const stop = body[body.length - 1];
  const scope: InfraScope = { removed: new Set(), baseOwned: ctx.baseOwned };
  if (!stop || body.length < 2 || !onlyEndsMainLoop(ctx, stop, scope, new Set(), undefined, true)) return null;
  // The work before it must be more than ending the loop (that handler simply goes) and must not leave early.
  if (body.slice(0, -1).every((st) => onlyEndsMainLoop(ctx, st, scope, new Set(), undefined, true))) return null;
  let leaves = false;
  walk(fn.body, (c) => {
    if (c.type === 'function_definition' || c.type === 'lambda' || c.type === 'class_definition') return false;
    if (c.type === 'return_statement' || c.type === 'raise_statement' || c.type === 'yield') leaves = true;
    if (c.type === 'call' && /^(sys\.exit|os\._exit|exit|quit)$/.test(callee(c) ?? '')) leaves = true;
  });
  if (leaves || workAfterLoop(ctx) !== null || !nothingAfterRun(ctx)) return null;
  return { stop, call: `super().${name}(${fn.params[1]!.name}, ${fn.params[2]!.name})` };
}

/**
 * A handler installed in the agent's __init__ while the base installs its own SIGTERM/SIGINT handlers only when it
 * starts (HardenedAgentBase.run_forever(), after __init__): the base's replace it, so it never runs on those
 * signals; said, since "kept installed" alone reads as if it still did. Empty otherwise.
 */
function replacedAtStart(ctx: PythonTransformContext, install: SyntaxNode): string {
  if (!ctx.base.handlesSignals || ctx.base.signalsAtInit) return '';
  const init = ctx.agent.methods.get('__init__');
  if (!init || install.startIndex < init.body.startIndex || install.endIndex > init.body.endIndex) return '';
  const start = ctx.py.main_loop_method ?? 'run';
  return ` in __init__, but ${ctx.profile.base_class}.${start}() installs its own SIGTERM/SIGINT handlers when it starts, over this one: it no longer runs on those signals (its work, e.g. saving state, is lost there); move that work into shutdown() by hand`;
}
