// Concern `signal`: `process.on('SIGTERM' | 'SIGINT', ...)` handlers in the agent and its entry
// point. The base installs its own and calls stop() → onStop(). The method a handler called
// goes too when it is pure infrastructure; when it still does business cleanup it stays and
// the base's onStop() hook is made to call it, so SIGTERM still runs it.
import { Node, SyntaxKind } from 'ts-morph';
import type { CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { signalStatements } from '../../src/lang/typescript/patterns.js';
import { isAsyncMethod, returnsPromise } from './remove-interval-loop.js';
import { parametersDefaultTo } from './entrypoint.js';
import { handlesProcessEvent, throwsSync, wrapBodyInTry } from './start-failure-exit.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { keepCalledStopExitCodes } from './called-stop-exit-code.js';
import { awaitCloseExitChain } from './close-callback-exit-chain.js';
import { LITERAL_ARGUMENT, descendantsOfKind, aliasPrelude, calleeText, fileNameNodes, isLogCall, isModuleFormatterCall, isModuleLogHelperCall, signalHandlerCall, statementCall, thisAlias, thisMember, thisMembers, thisRoot, throwsBecomeRejections } from '../../src/lang/typescript/syntax.js';
import { excerpt } from '../../src/core/excerpt.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { callerList, isInfraStatement, methodBody, scopeFor, usesOf } from '../../src/lang/typescript/context.js';
import { ipcCallersOntoStop } from './ipc-shutdown-stop.js';
import { endingCallersOntoStop } from './fatal-exit-callers-stop.js';
import { millis } from './stop-grace-tail.js';
import { appendToStop, chainedAfterStop } from './stop-chain-fold.js';

export function removeSignalHandlers(ctx: TsRewriteContext): void {
  const roots: Node[] = [ctx.cls];
  if (ctx.entry) roots.push(ctx.entry.container);
  // A singleton the entry reads (`X.shared.start()`) goes by that read in the handlers too.
  const singletonRead = ctx.entry && !ctx.entry.variable && Node.isPropertyAccessExpression(ctx.entry.newExpr) ? ctx.entry.newExpr.getText() : null;
  const agentVar = ctx.entry?.variable ?? singletonRead;
  const targets = new Set<string>();
  // The arguments each target was called with by the handler (for the onStop() delegate).
  const argsOf = new Map<string, string>();
  // The same arguments one by one, with the line of the call that passed them.
  const argValuesOf = new Map<string, { values: string[]; line: number }>();
  // Targets whose arguments named the handler's signal parameter, and the signal written instead.
  const namedSignalOf = new Map<string, string>();
  const namedSignalLine = new Map<string, number>();
  // The signals whose handler gave a method its onStop() arguments, and the handlers of other
  // signals that called it with other ones (`this.shutdown('SIGINT')` beside `this.shutdown('SIGTERM')`).
  const argsSignalOf = new Map<string, { signals: string[]; line: number }>();
  const otherArgs = new Map<string, Array<{ signal: string; args: string; line: number }>>();
  // Targets the handler gave an exit-only callback (its line), and those that must get one.
  const exitArgs = new Map<string, number>();
  const settles = new Set<string>();
  // The inline handlers that call each target (their statements may become onStop() whole).
  const handlersOf = new Map<string, Node[]>();
  // The process.on() statements whose handler reaches each target, and those kept for review: a
  // target only kept handlers reach is not also called from onStop() (on SIGTERM it would run twice,
  // the kept handler's exit cutting the base's stop short).
  const reachedBy = new Map<string, Set<Node>>();
  const keptStmts = new Set<Node>();
  // The names the agent goes by inside each inline handler of the entry point (`svc` of
  // `const svc = new Svc()`): there they stand for the instance, which onStop() calls `this`.
  const agentNamesOf = new Map<Node, string[]>();
  // Inline handlers that call no agent method (their statements may become onStop() whole).
  const memberOnly: Array<{ handler: Node; signal: string }> = [];
  // Handlers kept as a listener setting their fixed exit code after their log lines, with the warning
  // said and the one to say instead should their statements all move into onStop().
  const fixedExitLogs = new Map<Node, { logs: Node[]; said: string; plain: string }>();
  // Removed handlers, for the failure exit codes they set (`.catch(() => process.exit(1))`).
  const failureExits: Array<{ stmt: Node; handler: Node; signal: string; cut?: boolean }> = [];
  for (const root of roots) librarySignalHandling(ctx, root);
  // Named handlers (functions of the file) and the process.on() statements that install them.
  const named = new Map<Node, Node[]>();
  // Handlers already cut down to their log lines naming the signal.
  const keptNaming = new Set<Node>();
  // Every handler of a signal the base handles, with its signals and line.
  const signalHandlers: Array<{ handler: Node; signals: string[]; line: number }> = [];
  for (const root of roots) {
    for (const stmt of signalStatements(root, true)) {
      if (root !== ctx.cls && ctx.cls.getPos() <= stmt.getPos() && stmt.getEnd() <= ctx.cls.getEnd()) continue;
      const sig = signalHandlerCall(stmt, true)!;
      // A signal the base does not handle (SIGHUP to reload, SIGQUIT to dump): removing the
      // handler would leave Node's default for it (exit) instead of what the agent did.
      if (!sig.signals.every((x) => ctx.base.signals.has(x))) continue;
      // A named handler (`process.on('SIGTERM', onSignal)`, `() => void stop('SIGTERM')`): what
      // it does is the body of that function of the file.
      // `process.on('SIGTERM', handleSignal(service))`: the handler a module function builds for
      // the agent it is given; inside it, that function's parameter is the agent.
      const factory = factoryHandler(sig.call.getArguments()[1], agentVar);
      const handler = factory?.inner ?? localHandler(sig.call.getArguments()[1]);
      const agentNames = [...(agentVar ? [agentVar] : []), ...(factory?.aliases ?? []), ...staticAgentParameters(ctx, stmt)];
      if (handler && root !== ctx.cls) agentNamesOf.set(handler, agentNames);
      // A log line naming the signal it got (`console.log(`stopping on ${signal}`)`) stays in a
      // listener of its own: the base's stop() knows no signal.
      const naming = handler ? signalNamingLogs(stmt, sig.call, handler) : null;
      // (A loop whose handler reads the signal otherwise, to pass it on, stays as it was; one that
      // only hands it to an agent method named like the base's own, `() => svc.stop(sig)`, cannot
      // stay: that method becomes the base's hook, and the kept call would reach the base's stop(),
      // which takes no signal. It is a handler per signal calling that method with the signal's
      // name, as `() => svc.stop('SIGTERM')` is.)
      const loopSignal = Node.isForOfStatement(stmt) && handler ? signalArgumentOfAgent(ctx, stmt, handler, agentNames) : undefined;
      if (Node.isForOfStatement(stmt) && !naming && !loopSignal && readsLoopVariable(stmt, sig.call.getArguments()[1])) {
        handOnWithoutExit(ctx, stmt, sig.call.getArguments()[1], agentNames, sig.signals);
        continue;
      }
      if (handler) signalHandlers.push({ handler, signals: sig.signals, line: stmt.getStartLineNumber() });
      if (handler) for (const [m, line] of exitValues(ctx, handler, agentNames)) (ctx.hints.exitCodeOf ??= new Map()).set(m, line);
      const fnOf = factory?.fn ?? handler;
      if (fnOf && handler !== sig.call.getArguments()[1]) named.set(fnOf, [...(named.get(fnOf) ?? []), stmt]);
      // The agent methods the handler calls: this.x() inside the class, agent.x() in the entry point.
      handler?.forEachDescendantAsArray().forEach((n) => {
        if (Node.isPropertyAccessExpression(n)) {
          const viaThis = thisMember(n);
          const name = viaThis ?? (agentNames.includes(n.getExpression().getText()) ? n.getName() : null);
          if (!name) return;
          targets.add(name);
          reachedBy.set(name, (reachedBy.get(name) ?? new Set()).add(stmt));
          if (handler && (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) handlersOf.set(name, [...(handlersOf.get(name) ?? []), handler]);
          const call = n.getParent();
          // `(signal) => svc.shutdown(signal)`: onStop() has no handler parameter; the method
          // gets the signal's name as a literal (SIGTERM, the one deployments send, when the
          // handlers cover it), as Node would have passed it.
          const renamed = namedSignalOf.get(name);
          const redo = renamed !== undefined && renamed !== 'SIGTERM' && sig.signals.includes('SIGTERM');
          if (Node.isCallExpression(call) && call.getExpression() === n && (!argsOf.has(name) || redo)) {
            // `() => svc.shutdown(() => process.exit(0))`: the exit callback is the base's now
            // (it exits once it has deregistered); onStop() still waits for the call back when
            // the method must be given one.
            const args = call.getArguments();
            const last = args[args.length - 1];
            const exit = !!last && exitsOnly(last);
            const signalName = sig.signals.includes('SIGTERM') ? 'SIGTERM' : sig.signals[0]!;
            const param = loopSignal ?? (handler && (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) ? handler.getParameters()[0] : undefined);
            const kept = (exit ? args.slice(0, -1) : args).map((a) => withSignalName(ctx, a, param, signalName));
            if (param && kept.some((k, i) => k !== args[i]!.getText())) {
              namedSignalOf.set(name, signalName);
              namedSignalLine.set(name, call.getStartLineNumber());
            } else if (redo) return;
            if (exit && requiredParameter(ctx, name, args.length - 1)) settles.add(name);
            if (exit) exitArgs.set(name, call.getStartLineNumber());
            argsOf.set(name, kept.join(', '));
            argValuesOf.set(name, { values: kept, line: call.getStartLineNumber() });
            argsSignalOf.set(name, { signals: sig.signals, line: call.getStartLineNumber() });
            otherArgs.set(name, (otherArgs.get(name) ?? []).filter((o) => !sig.signals.includes(o.signal)));
          } else if (Node.isCallExpression(call) && call.getExpression() === n && argsOf.has(name) && !redo && !namedSignalOf.has(name)) {
            // Another signal's handler calls the same method with its own arguments: onStop()
            // passes one set whichever signal stops the agent, SIGTERM's (what deployments send).
            const args = call.getArguments();
            const last = args[args.length - 1];
            const text = (last && exitsOnly(last) ? args.slice(0, -1) : args).map((a) => a.getText()).join(', ');
            if (text !== argsOf.get(name)) {
              const before = argsSignalOf.get(name) ?? { signals: [], line: 0 };
              const entry = { signal: sig.signals[0]!, args: text, line: call.getStartLineNumber() };
              if (sig.signals.includes('SIGTERM') && !before.signals.includes('SIGTERM')) {
                otherArgs.set(name, [...(otherArgs.get(name) ?? []), ...before.signals.map((b) => ({ signal: b, args: argsOf.get(name)!, line: before.line }))]);
                argsOf.set(name, text);
                argsSignalOf.set(name, { signals: sig.signals, line: entry.line });
              } else otherArgs.set(name, [...(otherArgs.get(name) ?? []), entry]);
            }
          }
        }
      });
      if (handler && (Node.isPropertyAccessExpression(handler) || Node.isCallExpression(handler))) {
        const m = thisMember(Node.isCallExpression(handler) ? handler.getExpression() : handler);
        if (m) targets.add(m);
        if (m) reachedBy.set(m, (reachedBy.get(m) ?? new Set()).add(stmt));
        // `process.on('SIGTERM', this.onSignal)`: Node calls it with the signal's name, and so does onStop().
        if (m && Node.isPropertyAccessExpression(handler) && !argsOf.has(m) && takesParameters(ctx, m)) argsOf.set(m, `${ctx.quote}${sig.signals[0]}${ctx.quote}`);
      }
      // An inline handler that calls no method of the agent, only its members' own methods
      // (`() => this.abort.abort()`): what it did must still happen on SIGTERM.
      if (handler && (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) && ![...targets].some((t) => ctx.members.get(t)?.kind === 'method' && handlersOf.get(t)?.includes(handler))) {
        memberOnly.push({ handler, signal: sig.signals[0]! });
      }
      // `setTimeout(() => process.exit(1), 8000).unref()`: a watchdog the handler arms before stopping.
      const watchdogs = handler && !factory ? handlerWatchdogs(handler) : [];
      let foreign = factory?.extra ?? (handler ? foreignWork(handler, agentNames, watchdogs) : null);
      // Its only other work a formatter inside a log line (`${new Date().toISOString()}`,
      // `${JSON.stringify(svc.stats)}`), and all of it can move into onStop() (the line reads the agent,
      // module names and globals only): stop work, a log line and an exit, which onStop() holds whole.
      if (foreign && handler && !factory && watchdogs.length === 0 && formattersInLogsOnly(handler, agentNames) && handlerBody(ctx, handler, new Set(), agentNames) !== null) foreign = null;
      const armed = !foreign && watchdogs.length > 0 ? watchdogPrefix(handler!, watchdogs) : null;
      if (!foreign && watchdogs.length > 0 && !armed) {
        ctx.kept.push({
          symbol: `process.on('${sig.signals[0]}')`,
          line: stmt.getStartLineNumber(),
          reason: `the ${sig.signals[0]} handler arms a forced exit (line ${watchdogs[0]!.getStartLineNumber()}) after other work; fold it into onStop() by hand`,
        });
        keptStmts.add(stmt);
        continue;
      }
      if (armed) {
        keepNamingLogs(ctx, handler!, armed, sig.signals[0]!, keptNaming, watchdogWarning(ctx, sig.signals[0]!, watchdogs));
        failureExits.push({ stmt, handler: (fnOf ?? handler)!, signal: sig.signals[0]!, cut: true });
        continue;
      }
      if (foreign) {
        // The handler does more than stop this agent: dropping it would lose that work. Unless what
        // was found is a runtime formatter inside a log line (`console.log(`closed: ${JSON.stringify(relay.counters)}`)`):
        // that is a log line, said as one, with where it runs (after the stop it awaits, it reports the stopped agent).
        const line = handler && !factory ? formattedLogLine(handler, foreign) : null;
        const item = {
          symbol: `process.on('${sig.signals[0]}')`,
          line: stmt.getStartLineNumber(),
          reason: line
            ? `the ${sig.signals[0]} handler logs at line ${line.getStartLineNumber()} (${excerpt(line.getText().replace(/\s+/g, ' '), 80)})${stopsBefore(handler!, line, agentNames) ? ', after it has stopped the agent' : ''}; the base's stop would drop that line, and a listener of its own would print it before the base's stop ends: fold it into the end of onStop() by hand, or accept losing it`
            : `the ${sig.signals[0]} handler also does other work (${foreign}); fold it into onStop() by hand`,
        };
        ctx.kept.push(item);
        keptStmts.add(stmt);
        // Kept inside a method the rewrite removes whole (a start() holding the server, the timer and
        // this handler): it is not in the _v2 to fold, so the item says it went and what went with it.
        const signal = sig.signals[0]!;
        const kept = stmt;
        ctx.after.push((removed) => {
          const host = hostMember(kept, ctx.cls);
          if (!host || !removed.has(host)) return;
          item.reason = `the ${signal} handler went with ${host}(), which the rewrite removes, so its other work (${foreign}) no longer runs on ${signal}: add it to onStop() by hand (from the legacy line ${item.line}), or accept losing it`;
        });
        continue;
      }
      // `process.once('SIGINT', async () => { await svc.stop(); process.exit(130); })`: the code the
      // signal ended the process with (130 for Ctrl-C, what a shell or supervisor reads) stays.
      // A named one (`function onInterrupt() { process.exit(130); }`) only when nothing but signal
      // listeners reach it: another caller would no longer exit.
      const fixedExit = handler && !factory && ctx.base.fixedExitLine === null && (handler === sig.call.getArguments()[1] || onlySignalListeners(ctx, handler)) ? fixedSignalExit(handler) : null;
      if (fixedExit) {
        // (Its log lines stay with it: they said what that signal did, `interrupted`, not what a stop does.)
        const body = (handler as import('ts-morph').ArrowFunction).getBody();
        const logs = Node.isBlock(body) ? body.getStatements().filter((st) => isLogLine(statementCall(st))) : [];
        const said = keepFixedSignalExit(ctx, handler!, fixedExit, logs, sig.signals[0]!, stmt, keptNaming);
        if (said && logs.length > 0) fixedExitLogs.set(handler!, { logs, said, plain: fixedExitWarning(sig.signals[0]!, stmt, fixedExit, []) });
        continue;
      }
      if (naming) {
        keepNamingLogs(ctx, handler!, naming, sig.signals[0]!, keptNaming);
        // The statements cut from it may have set a failure exit code (`catch { process.exit(2) }`).
        failureExits.push({ stmt, handler: (fnOf ?? handler)!, signal: sig.signals[0]!, cut: true });
        continue;
      }
      ctx.plan.proposeStatement({ node: stmt, symbol: `process.on('${sig.signals[0]}')`, finding: 'signal', reason: 'the base handles SIGTERM/SIGINT' });
      if (fnOf ?? handler) failureExits.push({ stmt, handler: (fnOf ?? handler)!, signal: sig.signals[0]! });
    }
  }
  ctx.after.push(() => uninstallers(ctx));
  for (const [name, others] of otherArgs) {
    ctx.after.push((removed) => {
      if (removed.has(name) || !argsOf.has(name)) return;
      for (const o of others) {
        ctx.warnings.push(`the ${o.signal} handler called ${name}(${o.args}) (line ${o.line}): onStop() calls ${name}(${argsOf.get(name)}) whichever signal stops the agent`);
      }
    });
  }
  for (const [name, signalName] of namedSignalOf) {
    ctx.after.push((removed) => {
      if (removed.has(name)) return;
      ctx.warnings.push(`the signal handler passed the signal's name to ${name}() (line ${namedSignalLine.get(name)}): onStop() passes '${signalName}', whichever signal stops the agent`);
    });
  }
  // A named handler that only the removed process.on() statements used goes with them.
  for (const [fn, stmts] of named) {
    const decl = Node.isFunctionDeclaration(fn) ? fn : fn.getFirstAncestorByKind(SyntaxKind.VariableStatement);
    const nameNode = Node.isFunctionDeclaration(fn) ? fn.getNameNode() : fn.getParentIfKind(SyntaxKind.VariableDeclaration)?.getNameNode();
    if (!decl || !nameNode || (Node.isVariableStatement(decl) && decl.getDeclarations().length !== 1)) continue;
    if (!stmts.every((st) => ctx.plan.statements.some((p) => p.node === st))) continue;
    // Every other identifier of that name counts (a shadowing local only keeps the function).
    const refs = namesOf(ctx, nameNode);
    if (!refs.every((r) => stmts.some((st) => st.getPos() <= r.getPos() && r.getEnd() <= st.getEnd()))) continue;
    ctx.plan.proposeStatement({ node: decl, symbol: nameNode.getText(), finding: 'signal', reason: 'the signal handler the base replaces' });
    dropHandlerFlags(ctx, decl);
  }
  if (memberOnly.length > 0) ctx.after.push((removed) => memberOnlyHandlers(ctx, memberOnly, removed, agentNamesOf));
  // The targets that stay and still do work, in the handler's order: onStop() calls every one
  // (`await gw.drain(); await gw.close();` keeps both, not only the first).
  const surviving: string[] = [];
  // Targets whose fire-and-forget cleanup (`void this.close().then(exit)`) is now awaited.
  const madeAsync = new Set<string>();
  for (const t of targets) {
    const member = ctx.members.get(t);
    if (!member || member.kind !== 'method' || t === 'run') continue;
    ctx.plan.proposeMember({
      name: t,
      finding: 'signal',
      reason: `${t}() was the signal handler; the base stops the agent`,
      condition: (removed) => (ctx.isInfraMethod(t, removed, []) ? null : `${t}() does business cleanup besides stopping`),
      quiet: true,
      delegate: 'stop',
    });
    ctx.after.push((removed) => {
      if (removed.has(t) || ctx.renames.has(t)) return;
      // Reached only from handlers kept for review: they still call it on SIGTERM themselves. Only a
      // kept handler that survives counts: one inside a method the rewrite removes (a start() holding
      // the server, the timer and the handler) is gone, and onStop() must call it instead.
      const live = (st: Node) => keptStmts.has(st) && !ctx.edits.removes(st.getStart(), st.getEnd()) && !removedHost(st, removed, ctx.cls);
      const keptOnly = [...(reachedBy.get(t) ?? [])].every(live) && (reachedBy.get(t)?.size ?? 0) > 0;
      if (keptOnly && t !== 'stop' && t !== 'onStop') return;
      if (t === 'stop' || t === 'onStop') {
        // Its callers now reach it through the base's stop() → onStop().
        // A stop(done) that must be handed its callback is not the hook as it is: the lifecycle
        // clash rename makes its body onStop() waiting for done, and keeps stop(done?) for callers.
        if (t === 'stop' && settles.has('stop')) return;
        if (t === 'stop') {
          ctx.renameMember('stop', 'onStop', "stop() was the SIGTERM handler and still does work: renamed to the base's onStop() hook (the base's stop() calls it)");
          // `() => relay.stop('SIGTERM')`: the base calls onStop() bare; the handler's literal
          // arguments become the parameters' defaults, so `stop(reason)` still logs its reason.
          const given = argValuesOf.get('stop');
          if (given && given.values.length > 0 && given.values.every((v) => LITERAL_ARGUMENT.test(v)) && parametersDefaultTo(ctx, 'stop', given.values)) {
            ctx.warnings.push(`the signal handler called stop(${given.values.join(', ')}) (line ${given.line}): the base calls onStop() without arguments, so those are its parameters' defaults now (other callers' arguments to stop() no longer reach it)`);
          }
        }
        dropExit(ctx, t);
        return;
      }
      if (dropExit(ctx, t)) madeAsync.add(t);
      stoppedForOthers(ctx, t);
      surviving.push(t);
    });
  }
  ctx.after.push((removed) => {
    // stop() renamed to onStop() above, and the handler called other methods of the agent beside it
    // (`svc.stop().then(() => svc.flush())`: probe-node71's second read): onStop() is stop()'s body only,
    // so they would run no more. Said, not folded (where in onStop(), and whether after a failing stop, is the
    // handler's chain to read).
    const renamedStop = [...ctx.renames.entries()].find(([, to]) => to === 'onStop')?.[0];
    // The handler's own calls of each (not a read inside a log line it keeps, `${worker.healthStatus().scored}`).
    const callsOf = (t: string) =>
      [...new Set(handlersOf.get(t) ?? [])].flatMap((h) => h.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)).filter((a) => {
        const c = a.getParent();
        return a.getName() === t && Node.isCallExpression(c) && c.getExpression() === a && !c.getAncestors().some((x) => Node.isCallExpression(x) && isLogLine(x));
      });
    const lost = renamedStop ? surviving.filter((t) => callsOf(t).length > 0) : [];
    // Each called once stop()'s promise fulfilled (`.then(() => svc.flush())`, `await svc.stop(); await svc.flush();`)
    // and stop() ends only at its last statement: its end is where they ran, and a failing stop skips them there too.
    const chained = lost.length > 0 && !ctx.newMembers.some((m) => m.name === 'onStop') ? chainedAfterStop(ctx, renamedStop!, lost, callsOf) : null;
    if (chained) {
      appendToStop(ctx, renamedStop!, chained.map((c) => `${c.awaited ? 'await ' : ''}this.${c.name}(${c.args});`));
      ctx.onStopAppended.push(...chained.map((c) => ({ name: c.name, awaited: c.awaited })));
      ctx.warnings.push(
        `the signal handler called ${chained.map((c) => `${c.name}()`).join(', ')} once ${renamedStop}() had ended (${chained.map((c) => `line ${c.line}: ${ctx.text.split('\n')[c.line - 1]!.trim()}`).join('; ')}): ` +
          `${renamedStop}() is the base's onStop() hook now and calls ${chained.length > 1 ? 'them' : 'it'} at its end, after its own work; a ${renamedStop}() that throws skips ${chained.length > 1 ? 'them' : 'it'}, as the handler's chain did`,
      );
      return;
    }
    if (lost.length > 0 && !ctx.newMembers.some((m) => m.name === 'onStop')) {
      // Where the handler called each: its first call, with its line's code.
      const where = lost.map((t) => {
        const at = callsOf(t)[0]!;
        return `line ${at.getStartLineNumber()}: ${ctx.text.split('\n')[at.getStartLineNumber() - 1]!.trim()}`;
      });
      const first = lost.map((t) => callsOf(t)[0]!).sort((a, b) => a.getStart() - b.getStart())[0]!;
      ctx.kept.push({
        symbol: `${lost.join('(), ')}()`,
        line: first.getStartLineNumber(),
        reason:
          `the signal handler also called ${lost.map((t) => `${t}()`).join(', ')} beside ${renamedStop}() (${where.join('; ')}), ` +
          `and ${renamedStop}() is now the base's onStop() hook with its own body only: ${lost.length > 1 ? 'they run' : 'it runs'} no more on SIGTERM. ` +
          `Call ${lost.length > 1 ? 'them' : 'it'} in onStop() where the handler did (after ${renamedStop}()'s work when its chain waited for it, and not after a failure it skipped)`,
      });
      return;
    }
    if (surviving.length === 0 || ctx.newMembers.some((m) => m.name === 'onStop') || ctx.members.has('onStop') || [...ctx.renames.values()].includes('onStop')) return;
    // An inline handler's own statements (the log line reporting what was saved, a second
    // business call) go into onStop() with the call, when they can all move.
    const bodies = [...new Set(surviving.flatMap((t) => handlersOf.get(t) ?? []).map((h) => handlerBody(ctx, h, removed, agentNamesOf.get(h))))];
    const whole = bodies.length === 1 ? bodies[0]! : null;
    // (A method returning a promise without saying so, `close() { return new Promise(...) }`, is awaited
    // too: the legacy's loop drained after it, the base exits once onStop() returns.)
    const isAsync = (t: string) => isAsyncMethod(ctx, t) || madeAsync.has(t) || returnsPromise(ctx, t);
    const awaited = whole ? /\bawait\b/.test(whole) : surviving.some((t) => isAsync(t) || settles.has(t));
    const callOf = (t: string) => {
      const args = argsOf.get(t) ?? '';
      if (settles.has(t)) return `await new Promise${ctx.js ? '' : '<void>'}((resolve) => this.${t}(${args ? `${args}, ` : ''}() => resolve()));`;
      return `${isAsync(t) ? 'await ' : ''}this.${t}(${args});`;
    };
    const calls = surviving.map((t) => `${ctx.unit}${callOf(t)}`).join('\n');
    if (!whole) {
      for (const t of surviving) {
        const line = exitArgs.get(t);
        if (line !== undefined) ctx.warnings.push(`process.exit() passed to ${t}() by the signal handler dropped (line ${line}): the base exits once it has deregistered and closed its servers${settles.has(t) ? `; onStop() waits for ${t}() to call back` : ''}`);
      }
    }
    const body = keepCalledStopExitCodes(ctx, whole ?? calls, surviving);
    ctx.newMembers.push({ name: 'onStop', text: methodText(ctx, { name: 'onStop', async: awaited, body }) });
    // The handler's log lines moved into onStop() with the rest of it (after the stop they follow):
    // the listener kept for its exit code sets only that, or each line would print twice, first
    // before the stop has run.
    if (whole) {
      for (const h of new Set(surviving.flatMap((t) => handlersOf.get(t) ?? []))) {
        const kept = fixedExitLogs.get(h);
        if (!kept) continue;
        for (const l of kept.logs) ctx.edits.removeNode(l);
        const i = ctx.warnings.indexOf(kept.said);
        if (i >= 0) ctx.warnings[i] = `${kept.plain} (its log line${kept.logs.length > 1 ? 's are' : ' is'} in onStop() with its other statements)`;
      }
    }
    ctx.warnings.push(
      whole && whole.replace(/\s+/g, '') !== calls.replace(/\s+/g, '')
        ? `the SIGTERM handler still did business work (${surviving.join('(), ')}()): its statements are now the base's onStop() hook, without the exit${otherSignals(surviving, handlersOf, signalHandlers, true)}`
        : `${surviving.join('(), ')}() still ${surviving.length > 1 ? 'do' : 'does'} business cleanup: the base's onStop() now calls ${surviving.length > 1 ? 'them' : 'it'} on SIGTERM${otherSignals(surviving, handlersOf, signalHandlers)}`,
    );
  });
  // Last: onStop() is written by the hooks above, and a failure exit may be kept inside it.
  ctx.after.push((removed) => warnFailureExits(ctx, failureExits, removed));
}

/**
 * A signal whose own legacy handler did not call the work onStop() now runs (SIGINT that only
 * printed a line and exited 130, beside a SIGTERM handler that drained): the base runs one
 * onStop() for SIGTERM and SIGINT and does not tell it which signal it got, so that work (and the
 * lines it prints) now runs on that signal too.
 */
function otherSignals(work: string[], handlersOf: Map<string, Node[]>, all: Array<{ handler: Node; signals: string[]; line: number }>, statements = false): string {
  const callers = new Set(work.flatMap((t) => handlersOf.get(t) ?? []));
  const mentions = (h: Node) => work.some((t) => new RegExp(`\\b${t.replace(/\$/g, '\\$')}\\b`).test(h.getText()));
  const signals = new Set(all.filter((x) => callers.has(x.handler)).flatMap((x) => x.signals));
  const others = all.filter((x) => !callers.has(x.handler) && !mentions(x.handler) && x.signals.some((g) => !signals.has(g)));
  if (signals.size === 0 || others.length === 0) return '';
  // The handler's statements moved whole: its log lines (which name its signal, say) print there too.
  const logs = statements ? [...callers].flatMap((h) => h.getDescendantsOfKind(SyntaxKind.ExpressionStatement).filter((st) => isLogCall(statementCall(st)))) : [];
  const printed = logs.length > 0 ? ` (so it prints ${logs.map((st) => `line ${st.getStartLineNumber()}: ${st.getText().replace(/\s*\n\s*/g, ' ').replace(/;$/, '')}`).join('; ')} there)` : '';
  const it = statements ? 'that work' : work.length > 1 ? 'them' : 'it';
  return `, and on ${others.map((x) => `${x.signals.filter((g) => !signals.has(g)).join('/')} too, whose own handler (line ${x.line}) did not call ${it}`).join('; on ')}${printed}: the base runs one onStop() for every signal and does not tell it which one it got`;
}

/**
 * A kept cleanup method the signal handler called, which also stopped the agent's own loop or
 * servers (statements the rewrite removed: the base's stop() does that now), and which other
 * files call to stop the agent (`await feed.shutdown('replay done')`): after it, the base's
 * loop, health server and signal handlers go on and such a caller's process never ends. Those
 * callers must call stop() (which calls onStop(), and so the method): a review item naming them.
 */
function stoppedForOthers(ctx: TsRewriteContext, t: string): void {
  const body = methodBody(ctx, t);
  if (!body || !Node.isBlock(body)) return;
  const gone = body.getStatements().filter((st) => ctx.edits.removes(st.getStart(), st.getEnd()));
  if (gone.length === 0) return;
  const callers = ctx.outsideCallers(t);
  if (callers.length === 0) return;
  const first = gone[0]!;
  ctx.kept.push({
    symbol: `${t}()`,
    line: first.getStartLineNumber(),
    reason: `${t}() stopped the agent (line ${first.getStartLineNumber()}: ${first.getText().split('\n')[0]}, now the base's stop()) and ${callerList(callers)} call${callers.length > 1 ? '' : 's'} it to stop it: it now only does its cleanup, and the base's loop, health server and signal handlers keep the process running after it; make ${callers.length > 1 ? 'those callers' : 'that caller'} call stop(), which calls onStop() and so ${t}()`,
  });
}

/**
 * A removed handler that ended the process with a failure code (`.catch((err) => { log(err);
 * process.exit(1); })`, `catch { process.exit(1) }`, `if (err) process.exitCode = 1`): the base
 * catches a failing onStop(), logs it as a WARNING and exits 0, so a supervisor that restarted
 * or alerted on that code no longer sees it. Said once per handler, with the code, where it was
 * set, and the log line of that branch that went with it.
 */
function warnFailureExits(ctx: TsRewriteContext, handlers: Array<{ stmt: Node; handler: Node; signal: string; cut?: boolean }>, removed: Set<string>): void {
  const seen = new Set<Node>();
  for (const { stmt, handler, signal, cut } of handlers) {
    // A handler cut down to its log lines naming the signal stays installed: only its exits went.
    if (seen.has(handler) || !(cut || ctx.edits.removes(stmt.getStart(), stmt.getEnd()))) continue;
    seen.add(handler);
    const codes: Array<{ node: Node; code: string }> = [];
    for (const n of handler.getDescendants()) {
      if (Node.isCallExpression(n) && calleeText(n) === 'process.exit') {
        const arg = n.getArguments()[0];
        if (arg && !/^0$/.test(arg.getText().trim())) codes.push({ node: n, code: arg.getText() });
      } else if (Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken && n.getLeft().getText().replace(/\s+/g, '') === 'process.exitCode') {
        const value = n.getRight().getText();
        if (!/^0$/.test(value.trim())) codes.push({ node: n, code: value });
      }
    }
    // A handler in a function the rewrite keeps (its other callers) keeps its exits; an exit with
    // the value the renamed onStop() now sets as process.exitCode (exitCodeKept) is kept there.
    const live = codes.filter((c) => ctx.edits.removes(c.node.getStart(), c.node.getEnd()) && !exitValueKept(ctx, c.node));
    if (live.length === 0) {
      if (!cut && codes.every((c) => exitValueKept(ctx, c.node))) keepUncaughtStopFailure(ctx, stmt, handler, signal, removed);
      continue;
    }
    const first = live[0]!;
    const branch = failureBranch(first.node, handler);
    const logs = branch
      ? branch.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => isLogCall(c) && c.getStart() < first.node.getStart())
      : [];
    const logged = logs.length > 0 ? `, after ${logs.map((c) => c.getText().replace(/\s+/g, ' ')).join('; ')}` : '';
    const when = branch ? ' when stopping failed' : '';
    if (!branch && keepStateExitCode(ctx, live, handler, removed)) {
      ctx.warnings.push(
        `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${first.code} (line ${first.node.getStartLineNumber()}), decided by the agent's state once it had stopped: ` +
          `onStop() now ends with process.exitCode = ${first.code}, which the base's exit keeps once it has closed its servers and deregistered`,
      );
      continue;
    }
    const kept = keepFailureExit(ctx, live, branch, logs);
    if (kept) {
      ctx.warnings.push(
        `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${first.code} when stopping failed (line ${first.node.getStartLineNumber()}): ` +
          `onStop() now catches that failure${logs.length > 0 ? `, logs it as the handler did` : ''} and sets process.exitCode = ${first.code}, which the base's exit keeps once it has closed its servers and deregistered`,
      );
      continue;
    }
    const renamedStop = [...ctx.renames.entries()].find(([, to]) => to === 'onStop')?.[0];
    const stopFailed = !!branch && !!renamedStop && calledIn(branch.getParent() ?? branch, renamedStop);
    // The agent's own stop() failing, now the onStop() hook itself: its body is wrapped to keep the code.
    const caught = stopFailed ? failureCatch(ctx, live, branch, logs) : null;
    if (caught && keepRenamedStopFailureExit(ctx, renamedStop!, caught)) {
      ctx.warnings.push(
        `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${first.code} when ${renamedStop}() failed (line ${first.node.getStartLineNumber()}): ` +
          `${renamedStop}() is now the base's onStop() hook, whose body now runs in a try that${logs.length > 0 ? ' logs the failure as the handler did and' : ''} sets process.exitCode = ${first.code}, which the base's exit keeps once it has closed its servers and deregistered`,
      );
      continue;
    }
    if (!stopFailed) {
      ctx.warnings.push(
        `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${live.map((c) => c.code).join(' / ')}${when} (line ${first.node.getStartLineNumber()}${logged}): ` +
          // An unconditional exit (SIGINT's 130) was no failure: the base simply exits 0 after its stop.
          `${branch ? 'the base logs a failing onStop() as a WARNING and exits 0' : 'the base exits 0 once it has stopped'}, so whatever watched that exit code no longer sees it`,
      );
      continue;
    }
    // The agent's own stop() failing, renamed to onStop() itself (no onStop() written around it
    // that could catch the failure): its exit code would be lost without a word to the supervisor
    // that watched it, so a person decides.
    ctx.kept.push({
      symbol: `process.exit(${first.code})`,
      line: first.node.getStartLineNumber(),
      reason:
        `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${live.map((c) => c.code).join(' / ')}${when} (line ${first.node.getStartLineNumber()}${logged}), and the handler is gone: ` +
        `${renamedStop}() is now the base's onStop() hook, and the base logs a failing onStop() as a WARNING and exits 0, so whatever watched that exit code would no longer see it; set process.exitCode in onStop()'s failure path by hand (the base's exit keeps it)`,
    });
  }
}

/** `E` of `process.exit(E)` / `process.exitCode = E`, without `await` and parentheses. */
function exitValue(n: Node): Node | null {
  let e: Node | undefined = Node.isCallExpression(n) && calleeText(n) === 'process.exit' ? n.getArguments()[0] : Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken && n.getLeft().getText().replace(/\s+/g, '') === 'process.exitCode' ? n.getRight() : undefined;
  while (e && (Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
  return e ?? null;
}

/**
 * The agent's methods whose value handler `fn` exits with: `process.exit(await svc.stop())`,
 * `process.exitCode = this.stop()`, `svc.stop().then((code) => process.exit(code))`; each with its line.
 */
function exitValues(ctx: TsRewriteContext, fn: Node, agentNames: string[]): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const method = (c: Node) => {
    const e = Node.isCallExpression(c) ? c.getExpression() : null;
    if (!e || !Node.isPropertyAccessExpression(e)) return null;
    const viaThis = thisMember(e);
    const name = viaThis ?? (agentNames.includes(e.getExpression().getText()) ? e.getName() : null);
    return name && ctx.members.get(name)?.kind === 'method' ? name : null;
  };
  for (const n of [fn, ...fn.getDescendants()]) {
    const v = exitValue(n);
    if (!v) continue;
    const direct = method(v);
    if (direct) out.push([direct, n.getStartLineNumber()]);
    // `.then((code) => process.exit(code))` on the method's promise.
    const cb = n.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    const then = cb?.getParent();
    const param = cb && (Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) ? cb.getParameters()[0] : undefined;
    if (!direct && param && Node.isIdentifier(v) && v.getText() === param.getName() && then && Node.isCallExpression(then) && then.getArguments()[0] === cb) {
      const access = then.getExpression();
      const m = Node.isPropertyAccessExpression(access) && access.getName() === 'then' ? method(access.getExpression()) : null;
      if (m) out.push([m, n.getStartLineNumber()]);
    }
  }
  return out;
}

/** An exit of a removed handler with the value of a method whose hook now sets process.exitCode to it. */
function exitValueKept(ctx: TsRewriteContext, n: Node): boolean {
  const kept = ctx.hints.exitCodeKept;
  if (!kept || kept.size === 0) return false;
  const v = exitValue(n);
  if (!v) return false;
  const called = (c: Node) => Node.isCallExpression(c) && Node.isPropertyAccessExpression(c.getExpression()) && kept.has((c.getExpression() as import('ts-morph').PropertyAccessExpression).getName());
  if (called(v)) return true;
  const cb = n.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  const then = cb?.getParent();
  const access = then && Node.isCallExpression(then) ? then.getExpression() : null;
  return !!access && Node.isPropertyAccessExpression(access) && access.getName() === 'then' && called(access.getExpression());
}

/**
 * A removed handler whose stop call's failure nothing caught (`async () => { await svc.stop();
 * process.exit(0); }`, `() => { svc.stop(); process.exit(0); }` with a synchronous stop): a stop
 * that throws or rejects (the final flush to disk failing) reached Node as an uncaught exception or
 * an unhandled rejection, which prints the error and exits 1, the code a supervisor sees. The base
 * catches a failing onStop(), logs a WARNING and exits 0. The stop the handler called, now onStop()
 * (renamed, or called from the onStop() written for it), runs in a try whose catch prints the error
 * and sets process.exitCode = 1, which the base's exit keeps once it has closed its servers and
 * deregistered. Only when that stop can fail (it throws synchronously, or awaits something), and
 * when the file does not handle uncaught exceptions / unhandled rejections itself.
 */
// The rewrites whose onStop() already runs in a try that keeps a failure's exit code: a second
// handler (SIGINT's beside SIGTERM's) calling the same stop wraps nothing twice.
const stopWrapped = new WeakSet<TsRewriteContext>();

function keepUncaughtStopFailure(ctx: TsRewriteContext, stmt: Node, handler: Node, signal: string, removed: Set<string>): void {
  if (ctx.base.fixedExitLine !== null || stopWrapped.has(ctx)) return;
  const renamedStop = [...ctx.renames.entries()].find(([, to]) => to === 'onStop')?.[0];
  const written = ctx.newMembers.find((m) => m.name === 'onStop');
  if (!renamedStop && (!written || ctx.members.has('onStop'))) return;
  const fn = Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isFunctionDeclaration(handler) ? handler : null;
  if (!fn) return;
  const method = (c: CallExpression) => {
    const e = c.getExpression();
    return Node.isPropertyAccessExpression(e) && ctx.members.get(e.getName())?.kind === 'method' && !removed.has(e.getName()) ? e.getName() : null;
  };
  const calls = descendantsOfKind(fn, SyntaxKind.CallExpression).filter((c) => {
    const m = method(c);
    return m !== null && (renamedStop ? m === renamedStop : written!.text.includes(`this.${m}(`));
  });
  const fatal = calls.map((c) => ({ c, how: uncaughtFailure(ctx, fn, c, method(c)!) })).find((x) => x.how !== null);
  if (!fatal) return;
  const name = method(fatal.c)!;
  if (!canFail(ctx, name)) return;
  // A renamed stop not declared async may be made so by another rewrite (a throw turned into a
  // rejection, a returned promise awaited): a second `async` would not compile. Those stay as they were.
  const decl = renamedStop ? ctx.members.get(renamedStop)?.nodes[0] : undefined;
  if (renamedStop && !(decl && Node.isMethodDeclaration(decl) && decl.isAsync())) return;
  const clause = (indent: string) => `catch (err) {\n${indent}${ctx.unit}console.error(err);\n${indent}${ctx.unit}process.exitCode = 1;\n${indent}}`;
  const kept = renamedStop ? wrapBodyInTry(ctx, renamedStop, clause) : wrapWrittenOnStop(ctx, clause);
  if (!kept) return;
  stopWrapped.add(ctx);
  ctx.warnings.push(
    `the ${signal} handler (line ${stmt.getStartLineNumber()}) let ${name}() fail uncaught (line ${fatal.c.getStartLineNumber()}): Node printed the error and exited 1 (${fatal.how}); ` +
      `the base logs a failing onStop() as a WARNING and exits 0, so onStop() now runs ${renamedStop ? 'its body' : `${name}()`} in a try whose catch prints the error and sets process.exitCode = 1, which the base's exit keeps once it has closed its servers and deregistered`,
  );
}

/**
 * How a failure of `call` (the agent's method `name`) inside signal handler `fn` reached Node
 * uncaught, or null: not in a try with a catch, no `.catch()` / `.then(_, onRejected)` on its
 * chain, and (a promise the handler does not await) no synchronous process.exit() after it that
 * ends the process before the rejection is seen.
 */
function uncaughtFailure(ctx: TsRewriteContext, fn: Node, call: CallExpression, name: string): string | null {
  let top: Node = call;
  for (;;) {
    const p = top.getParent();
    if (p && (Node.isParenthesizedExpression(p) || Node.isNonNullExpression(p))) top = p;
    else if (p && Node.isPropertyAccessExpression(p) && Node.isCallExpression(p.getParent()) && /^(then|finally)$/.test(p.getName())) {
      const chained = p.getParent() as CallExpression;
      if (p.getName() === 'then' && chained.getArguments().length > 1) return null;
      // `svc.stop().finally(() => process.exit(0))`: the callback exits before the rejection can surface,
      // with its own code (a failing stop exited 0 there, as the base's exit does).
      const cb = chained.getArguments()[0];
      if (p.getName() === 'finally' && cb && (Node.isArrowFunction(cb) || Node.isFunctionExpression(cb))) {
        const cbBody = cb.getBody();
        const direct = Node.isBlock(cbBody) ? cbBody.getStatements().map((st) => (Node.isExpressionStatement(st) ? st.getExpression() : st)) : [cbBody];
        if (direct.some((e) => Node.isCallExpression(e) && calleeText(e) === 'process.exit')) return null;
      }
      top = chained;
    } else break;
  }
  const after = top.getParent();
  if (after && Node.isPropertyAccessExpression(after) && after.getName() === 'catch') return null;
  for (let n: Node | undefined = top.getParent(); n && n !== fn; n = n.getParent()) {
    if (Node.isTryStatement(n) && n.getCatchClause() && n.getTryBlock().getPos() <= top.getPos() && top.getEnd() <= n.getTryBlock().getEnd()) return null;
    if (Node.isArrowFunction(n) || Node.isFunctionExpression(n)) return null;
  }
  const awaited = !!after && Node.isAwaitExpression(after);
  const promise = awaited || top !== call || isAsyncMethod(ctx, name);
  if (promise && handlesProcessEvent(ctx, 'unhandledRejection')) return null;
  if (!promise && handlesProcessEvent(ctx, 'uncaughtException')) return null;
  if (awaited) return 'an unhandled rejection of the awaited call';
  if (!promise) return 'an uncaught exception';
  // A promise not awaited: a synchronous exit after it ends the process before its rejection is seen.
  const st = top.getFirstAncestor((a) => Node.isStatement(a) && Node.isBlock(a.getParent()));
  const block = st?.getParent();
  if (st && block && Node.isBlock(block) && block.getStatements().slice(block.getStatements().indexOf(st as never) + 1).some((x) => descendantsOfKind(x, SyntaxKind.CallExpression).some((c) => calleeText(c) === 'process.exit'))) return null;
  return 'an unhandled rejection of its promise';
}

/**
 * Can the agent's method `name` fail as the body the rewrite keeps: a synchronous throw (a `*Sync`
 * write, JSON.parse, a `throw`), or an await of a file write (`appendFile`, `writeFile`, ...) or of
 * one of its own methods that can, with no `.catch()` of its own.
 */
function canFail(ctx: TsRewriteContext, name: string, seen = new Set<string>()): boolean {
  seen.add(name);
  const body = methodBody(ctx, name);
  if (!body || !Node.isBlock(body)) return false;
  const kept = body.getStatements().filter((st) => !ctx.edits.removes(st.getStart(), st.getEnd()));
  const rejects = (e: Node): boolean => {
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (!Node.isCallExpression(e) || /\.catch$/.test(calleeText(e))) return false;
    if (/(^|\.)(appendFile|writeFile|rename|mkdir|unlink|copyFile|rm)$/.test(calleeText(e))) return true;
    const m = thisMember(e.getExpression());
    return !!m && ctx.members.get(m)?.kind === 'method' && !seen.has(m) && canFail(ctx, m, seen);
  };
  const own = (n: Node, st: Node) => !n.getFirstAncestor((a) => a !== st && (Node.isArrowFunction(a) || Node.isFunctionExpression(a)) && st.getPos() <= a.getPos());
  // `await this.flush().catch(() => {})`: what the call throws or rejects with is swallowed there.
  const swallowed = (st: Node) => {
    let e: Node | undefined = Node.isExpressionStatement(st) ? st.getExpression() : undefined;
    while (e && (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
    return !!e && Node.isCallExpression(e) && /\.catch$/.test(calleeText(e));
  };
  return kept.some((st) => !swallowed(st) && (throwsSync(ctx, st) || [st, ...st.getDescendants()].some((n) => Node.isAwaitExpression(n) && own(n, st) && rejects(n.getExpression()))));
}

/** The onStop() this transform wrote, its body in a `try` whose catch is `clause(indent)` (a synchronous onStop() calls synchronous methods only). True when wrapped. */
function wrapWrittenOnStop(ctx: TsRewriteContext, clause: (indent: string) => string): boolean {
  const member = ctx.newMembers.find((m) => m.name === 'onStop');
  const open = member ? member.text.indexOf('{\n') : -1;
  if (!member || open < 0 || !member.text.endsWith('\n}')) return false;
  const u = ctx.unit;
  const inner = member.text.slice(open + 2, -2).split('\n').map((l) => (l.trim() ? u + l : l)).join('\n');
  member.text = `${member.text.slice(0, open)}{\n${u}try {\n${inner}\n${u}} ${clause(u)}\n}`;
  return true;
}

/**
 * Keep a removed handler's failure exit (`.catch((err) => { console.error('drain failed', err);
 * process.exit(1); })`) in the onStop() this transform wrote for it, when the base's exit keeps
 * process.exitCode: onStop()'s body runs in a `try`, and its `catch` logs what the branch logged and
 * sets the code. Only for one literal code on a promise rejection or catch clause whose other
 * statements are log lines reading nothing but the error, and an async onStop() that awaits what
 * failed (a sync body would not see the rejection). True when kept.
 */
function keepFailureExit(ctx: TsRewriteContext, live: Array<{ node: Node; code: string }>, branch: Node | null, logs: Node[]): boolean {
  const caught = failureCatch(ctx, live, branch, logs);
  if (!caught) return false;
  const index = ctx.newMembers.findIndex((m) => m.name === 'onStop');
  if (index < 0 || ctx.members.has('onStop') || [...ctx.renames.values()].includes('onStop')) return false;
  const member = ctx.newMembers[index]!;
  const open = member.text.indexOf('{\n');
  const head = member.text.slice(0, open);
  if (open < 0 || !/\basync\b/.test(head) || !member.text.endsWith('\n}')) return false;
  if (!/\bawait\b/.test(member.text.slice(open + 2, -2)) || !wrapWrittenOnStop(ctx, caught.clause)) return false;
  stopWrapped.add(ctx);
  return true;
}

/**
 * The `catch` a removed handler's failure branch becomes in onStop(), when the base's exit keeps
 * process.exitCode: it logs what the branch logged and sets the code (`clause(indent)` is the text
 * from `catch` to its closing brace at that indentation). Only for one literal code on a promise
 * rejection or catch clause whose other statements are log lines reading nothing but the error:
 * in onStop() nothing else of the handler is in scope. Null otherwise.
 */
function failureCatch(ctx: TsRewriteContext, live: Array<{ node: Node; code: string }>, branch: Node | null, logs: Node[]): { code: string; clause: (indent: string) => string } | null {
  if (ctx.base.fixedExitLine !== null || !branch || Node.isIfStatement(branch)) return null;
  const codes = new Set(live.map((c) => c.code.trim()));
  if (codes.size !== 1 || !/^[1-9]\d*$/.test([...codes][0]!)) return null;
  const code = [...codes][0]!;
  // The error's name in the branch, and what else the branch does (only log lines and the exits).
  const param = Node.isCatchClause(branch) ? branch.getVariableDeclaration() : (branch as import('ts-morph').ArrowFunction).getParameters()[0];
  const name = param && Node.isIdentifier(param.getNameNode()) ? param.getName() : null;
  if (param && !name) return null;
  const block = Node.isCatchClause(branch) ? branch.getBlock() : (branch as import('ts-morph').ArrowFunction).getBody();
  const statements = Node.isBlock(block) ? block.getStatements() : [block];
  for (const st of statements) {
    const call = Node.isBlock(block) ? statementCall(st) : Node.isCallExpression(st) ? st : undefined;
    const assigns = Node.isExpressionStatement(st) && st.getExpression().getText().replace(/\s+/g, '').startsWith('process.exitCode=');
    if (!assigns && !(call && (calleeText(call) === 'process.exit' || logs.includes(call)))) return null;
  }
  // A log line may read the error and literals only.
  for (const log of logs) {
    for (const id of log.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const p = id.getParent();
      if (Node.isPropertyAccessExpression(p) && p.getNameNode() === id) continue;
      if (id.getText() === name || id.getText() === 'console' || PURE_CALLS.test(id.getText())) continue;
      return null;
    }
  }
  const u = ctx.unit;
  const usesError = name !== null && logs.some((l) => l.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === name));
  // In TypeScript a catch variable is `unknown`; the handler's was `any` (a rejection's reason).
  const anyType = !ctx.js && usesError && !param!.getTypeNode() && logs.some((l) => l.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression).some((pa) => pa.getExpression().getText() === name));
  const binding = usesError ? ` (${name}${anyType ? ': any' : ''})` : '';
  return {
    code,
    clause: (indent) => `catch${binding} {\n${logs.map((l) => `${indent}${u}${l.getText().replace(/\s*\n\s*/g, ' ')};\n`).join('')}${indent}${u}process.exitCode = ${code};\n${indent}}`,
  };
}

/**
 * The agent's own stop(), renamed to the base's onStop() itself, failing where the removed
 * handler's `.catch()` exited 1: the renamed method's body goes into a `try` whose `catch` logs
 * what the handler logged and sets process.exitCode (the base's exit keeps it), so the supervisor
 * still sees the code. The method becomes async (a synchronous throw was a failure of the
 * handler's call too) and a promise it returns is awaited (`return await`), so the `try` sees it
 * settle. Only for one body with its braces on lines of their own. True when kept.
 */
function keepRenamedStopFailureExit(ctx: TsRewriteContext, name: string, caught: { clause: (indent: string) => string }): boolean {
  if (!wrapBodyInTry(ctx, name, caught.clause)) return false;
  stopWrapped.add(ctx);
  return true;
}

/**
 * `process.on('SIGTERM', () => { ...; this.tcp.close(); process.exit(this.failed ? 1 : 0); })`:
 * the handler's last statement ends the process with a code computed from the agent's state
 * after everything else it did, and those statements are the onStop() this transform wrote. The
 * base's exit keeps process.exitCode, so onStop() ends by setting it: the same code reaches the
 * supervisor. Only for one exit, the handler's last statement, whose code reads nothing but the
 * agent's members that stay (`this.x`), module-level names and literals: in onStop() nothing else
 * of the handler is in scope. True when kept.
 */
function keepStateExitCode(ctx: TsRewriteContext, live: Array<{ node: Node; code: string }>, handler: Node, removed: Set<string>): boolean {
  if (ctx.base.fixedExitLine !== null || live.length !== 1) return false;
  const exit = live[0]!.node;
  if (!Node.isCallExpression(exit) || exit.getArguments().length !== 1) return false;
  const body = Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isFunctionDeclaration(handler) || Node.isMethodDeclaration(handler) ? handler.getBody() : undefined;
  if (!body || !Node.isBlock(body)) return false;
  const stmts = body.getStatements();
  if (stmts.length < 2 || statementCall(stmts[stmts.length - 1]!) !== exit) return false;
  const code = exit.getArguments()[0]!;
  if (Node.isNumericLiteral(code)) return false; // a fixed code: the failure-exit rules decide
  for (const id of [code, ...code.getDescendants()].filter((n) => Node.isIdentifier(n))) {
    const p = id.getParent();
    if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === id) continue;
    // A name declared inside a function (the handler's locals, parameters) is not in scope in onStop().
    const decls = id.getSymbol()?.getDeclarations() ?? [];
    if (decls.length === 0 || decls.some((d) => d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isClassDeclaration(a) || Node.isClassExpression(a)))) return false;
  }
  const members = thisMembers(code);
  if (code.getDescendantsOfKind(SyntaxKind.ThisKeyword).length !== [...code.getDescendants()].filter((n) => Node.isPropertyAccessExpression(n) && n.getExpression().getKind() === SyntaxKind.ThisKeyword).length) return false;
  if ([...members].some((m) => removed.has(m) || !ctx.members.has(m)) || descendantsOfKind(code, SyntaxKind.CallExpression).length > 0) return false;
  const index = ctx.newMembers.findIndex((m) => m.name === 'onStop');
  if (index < 0 || ctx.members.has('onStop') || [...ctx.renames.values()].includes('onStop')) return false;
  const member = ctx.newMembers[index]!;
  if (!member.text.endsWith('\n}')) return false;
  member.text = `${member.text.slice(0, -2)}\n${ctx.unit}process.exitCode = ${code.getText()};\n}`;
  return true;
}

/** Does `scope` (a failure branch's surroundings: the `.catch()` call, the try) call method `name` (`this.stop()`, `agent.stop()`)? */
function calledIn(scope: Node, name: string): boolean {
  let root: Node = scope;
  // `this.stop().then(ok).catch(fail)`: the chain the failure callback hangs on.
  while (Node.isCallExpression(root.getParent()) || Node.isPropertyAccessExpression(root.getParent())) root = root.getParent()!;
  return [root, ...root.getDescendants()].some((n) => Node.isCallExpression(n) && Node.isPropertyAccessExpression(n.getExpression()) && (n.getExpression() as import('ts-morph').PropertyAccessExpression).getName() === name);
}

/** The catch clause, `.catch()` / `.then(_, onRejected)` callback or `if (err)` branch a node sits in, within the handler. */
function failureBranch(node: Node, handler: Node): Node | null {
  for (let n: Node | undefined = node.getParent(); n && n !== handler; n = n.getParent()) {
    if (Node.isCatchClause(n)) return n;
    if (Node.isIfStatement(n) && /\b(err|error|e)\b/.test(n.getExpression().getText())) return n;
    if (Node.isArrowFunction(n) || Node.isFunctionExpression(n)) {
      const call = n.getParent();
      if (!Node.isCallExpression(call)) continue;
      const callee = call.getExpression();
      if (!Node.isPropertyAccessExpression(callee)) continue;
      const args = call.getArguments();
      if (callee.getName() === 'catch' || (callee.getName() === 'then' && args.indexOf(n) === 1)) return n;
    }
  }
  return null;
}

function memberOnlyHandlers(ctx: TsRewriteContext, handlers: Array<{ handler: Node; signal: string }>, removed: Set<string>, agentNamesOf: Map<Node, string[]>): void {
  const live = handlers.filter((h) => ctx.edits.removes(h.handler.getStart(), h.handler.getEnd()));
  if (live.length === 0) return;
  const bodies = live.map((h) => ({ ...h, body: handlerBody(ctx, h.handler, removed, agentNamesOf.get(h.handler)) }));
  const texts = [...new Set(bodies.filter((b) => b.body !== null).map((b) => b.body!))];
  // A handler whose own work cannot move (`this.sigints += 1; if (this.sigints > 1) process.exit(130)`:
  // a second Ctrl-C exits at once) beside one whose statements become onStop(): removing both
  // would drop that work without a word.
  if (texts.length > 0) {
    const scope = scopeFor(ctx, removed);
    const moved = new Set(texts.flatMap((t) => t.split('\n').map((l) => l.trim())).filter(Boolean));
    for (const b of bodies) {
      const block = b.body === null && (Node.isArrowFunction(b.handler) || Node.isFunctionExpression(b.handler)) ? b.handler.getBody() : undefined;
      if (!block || !Node.isBlock(block)) continue;
      const left = block.getStatements().filter((st) => {
        const call = statementCall(st);
        if (call && (isLogCall(call) || calleeText(call) === 'process.exit')) return false;
        return !isInfraStatement(st, scope) && !moved.has(st.getText().trim());
      });
      if (left.length === 0) continue;
      ctx.kept.push({
        symbol: `process.on('${b.signal}')`,
        line: b.handler.getStartLineNumber(),
        reason: `the ${b.signal} handler also did ${left.map((st) => st.getText().split('\n')[0]!.replace(/;$/, '')).join('; ')}, which cannot move into onStop() (the base's handler for every signal): fold it in by hand`,
      });
    }
  }
  if (texts.length === 0) return;
  const hasStop = ctx.newMembers.some((m) => m.name === 'onStop') || ctx.members.has('onStop') || [...ctx.renames.values()].includes('onStop');
  const first = bodies.find((b) => b.body !== null)!;
  if (texts.length > 1 || hasStop) {
    ctx.kept.push({
      symbol: `process.on('${first.signal}')`,
      line: first.handler.getStartLineNumber(),
      reason: `the ${first.signal} handler did ${texts[0]!.trim().split('\n')[0]!.replace(/;$/, '')}; the base's stop() no longer does: add it to onStop() by hand`,
    });
    return;
  }
  const body = texts[0]!;
  ctx.newMembers.push({ name: 'onStop', text: methodText(ctx, { name: 'onStop', async: /\bawait\b/.test(body), body }) });
  ctx.warnings.push(`the ${first.signal} handler (line ${first.handler.getStartLineNumber()}) did ${body.trim().split('\n')[0]!.replace(/;$/, '')}: its statements are now the base's onStop() hook`);
}

/**
 * `process.exit()` in a stop method that only SIGTERM reached: inside onStop() it would end the
 * process before the base deregisters and closes its servers (the base exits after that itself).
 * A method something else still calls keeps its exit.
 */
function dropExit(ctx: TsRewriteContext, name: string): boolean {
  const body = methodBody(ctx, name);
  if (!body || !Node.isBlock(body)) return false;
  let live = usesOf(ctx, name, 'member').filter((u) => !ctx.edits.removes(u.getStart(), u.getEnd()) && !isSelfBind(u, name));
  const outside = ctx.outsideCallers(name);
  // Its other callers all a forked worker's IPC shutdown: they become the base's stop() and the exit.
  // Or they are the agent ending itself (a fatal error, a dependency given up on): they become the base's stop() and the exit.
  if (live.length > 0 && outside.length === 0 && (ipcCallersOntoStop(ctx, name, body, live) || endingCallersOntoStop(ctx, name, body, live))) live = [];
  // A removed server's `close(() => { log(...); process.exit(0); })` becomes its callback's
  // statements, run where the close was: they are the method's own statements then.
  const unwraps = (ctx.closeUnwraps ?? []).filter((u) => u.stmt.getParent() === body);
  const ownFunctions = new Set<Node | undefined>([body.getParent(), ...unwraps.map((u) => u.body.getParent())]);
  if (live.length > 0 || outside.length > 0) {
    // Its other callers keep the exit, and onStop() calls it too: on SIGTERM that exit ends the
    // process before the base has closed its servers and deregistered (validation would see the
    // registry keep a dead agent). Splitting the exit from the work is a person's call.
    const exit = body.getDescendantsOfKind(SyntaxKind.CallExpression).find((c) => calleeText(c) === 'process.exit' && ownFunctions.has(c.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isMethodDeclaration(a) || Node.isFunctionDeclaration(a))));
    if (exit) {
      const where = live.length > 0 ? `line ${live[0]!.getStartLineNumber()}` : `${outside[0]!.file}:${outside[0]!.line}`;
      ctx.kept.push({
        symbol: `${exit.getText()}`,
        line: exit.getStartLineNumber(),
        reason:
          `${name}() ends the process (line ${exit.getStartLineNumber()}) and is still called from ${where}, so it keeps that exit; the base's onStop() now calls it on SIGTERM, where it ends the process before the base has closed its servers and deregistered: ` +
          `move the exit out of ${name}() (its other caller can call stop() and then exit) by hand`,
      });
      // Every SIGTERM of the output ends there: validating it could only fail (deregister).
      ctx.unstartable ??= { ...ctx.kept[ctx.kept.length - 1]!, because: `and onStop() ends the process through ${name}() on SIGTERM before the base has deregistered` };
    }
    return false;
  }
  let awaits = false;
  const fn = body.getParent();
  const asyncNow = () => (!!fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn)) && fn.isAsync()) || makeAsync(ctx, body);
  const unwrapped = new Map<Node, Node[]>(unwraps.map((u) => [u.stmt, u.body.getStatements()]));
  for (const s of body.getStatements().flatMap((st) => unwrapped.get(st) ?? [st])) {
    if (awaitCloseExitChain(ctx, name, s, body, failureChainText, asyncNow) || awaitFailureChain(ctx, name, s, body)) {
      awaits = true;
      continue;
    }
    const call = statementCall(s);
    // process.exit(), or the same a moment later: setTimeout(() => process.exit(0), 100).
    const delayedExit = !!call && calleeText(call) === 'setTimeout' && !!call.getArguments()[0] && exitsOnly(call.getArguments()[0]!);
    if (call && !delayedExit && calleeText(call) !== 'process.exit') {
      // The exit as the last callback of another call (`this.server.close(() => process.exit(0))`):
      // the call stays, the callback goes (else the process ends before the base deregisters).
      const args = call.getArguments();
      const last = args[args.length - 1];
      if (!last || !exitsOnly(last)) continue;
      const callee = call.getExpression();
      if (args.length === 1 && Node.isPropertyAccessExpression(callee) && /^(then|finally)$/.test(callee.getName())) {
        // `this.shutdown().then(() => process.exit(0))`: the whole `.then(...)` goes.
        ctx.edits.removeRange(callee.getExpression().getEnd(), call.getEnd());
        // `void this.close().then(exit)`: the exit waited for close(); the base exits once stop()
        // (so onStop()) resolves, so the method now awaits it and onStop() awaits the method.
        const e = Node.isExpressionStatement(s) ? s.getExpression() : undefined;
        if (e && Node.isVoidExpression(e) && e.getExpression() === call && makeAsync(ctx, body)) {
          ctx.edits.replace(e.getStart(), e.getExpression().getStart(), 'await ');
          awaits = true;
        }
      } else ctx.edits.removeRange(args.length > 1 ? args[args.length - 2]!.getEnd() : last.getStart(), last.getEnd());
      ctx.warnings.push(`process.exit() passed to ${calleeText(call)}() in ${name}() dropped (line ${s.getStartLineNumber()}): the base exits once it has deregistered and closed its servers`);
      continue;
    }
    if (!call) continue;
    // `process.exit(this.buffer.length > 0 ? 2 : 0)`: the code tells the supervisor something; a
    // base whose exit keeps process.exitCode ends with it once it has deregistered.
    const code = delayedExit ? undefined : call.getArguments()[0];
    if (code && code.getText().trim() !== '0' && ctx.base.fixedExitLine === null && Node.isExpressionStatement(s)) {
      ctx.edits.replace(s.getStart(), s.getEnd(), `process.exitCode = ${code.getText()};`);
      ctx.warnings.push(`process.exit(${code.getText()}) in ${name}() (line ${s.getStartLineNumber()}) is now process.exitCode = ${code.getText()}: the base exits once it has deregistered and closed its servers, with that code`);
      continue;
    }
    ctx.edits.removeNode(s);
    ctx.warnings.push(`process.exit() in ${name}() dropped (line ${s.getStartLineNumber()}): the base exits once it has deregistered and closed its servers`);
  }
  return awaits;
}

/**
 * `this.shutdown = this.shutdown.bind(this)` (a constructor binding the method it hands out as a
 * bare function, `process.on('SIGTERM', this.shutdown)`): the method bound to the agent, not a
 * call of it; the bound member's own uses are its callers.
 */
function isSelfBind(use: Node, name: string): boolean {
  const stmt = use.getFirstAncestorByKind(SyntaxKind.ExpressionStatement);
  const e = stmt?.getExpression();
  if (!e || !Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return false;
  const right = e.getRight();
  if (thisMember(e.getLeft()) !== name || !Node.isCallExpression(right) || right.getArguments().length !== 1 || right.getArguments()[0]!.getKind() !== SyntaxKind.ThisKeyword) return false;
  const callee = right.getExpression();
  return Node.isPropertyAccessExpression(callee) && callee.getName() === 'bind' && thisMember(callee.getExpression()) === name;
}

/**
 * `this.shutdown().then(() => process.exit(0)).catch((err) => { log(...); process.exit(1); })` (or
 * `.then(exit, onRejected)`) as a statement of a stop method only SIGTERM reached: the success
 * exit is the base's now (it exits once it has deregistered), and the failure's code reaches the
 * supervisor through process.exitCode, which the base's exit keeps. The statement becomes
 * `try { await this.shutdown(); } catch (err) { log(...); process.exitCode = 1; }` in place (the
 * failure branch's statements keep their scope), the method async so that onStop() awaits it. Only
 * for a failure branch whose exits are its own top-level statements with a literal code. True when
 * rewritten.
 */
function awaitFailureChain(ctx: TsRewriteContext, name: string, s: Node, body: Node): boolean {
  const fn = body.getParent();
  if (!fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) return false;
  const chain = failureChainText(ctx, s, indentAt(ctx.text, s.getStart()));
  if (!chain) return false;
  if (!fn.isAsync() && !makeAsync(ctx, body)) return false;
  ctx.edits.replace(s.getStart(), s.getEnd(), chain.text);
  ctx.warnings.push(
    `${name}() ended the process when ${chain.promise} settled (line ${s.getStartLineNumber()}): it now awaits it, the base exits once it has deregistered and closed its servers, ` +
      `and a failure sets process.exitCode = ${chain.code} (the base's exit keeps it) after the lines the handler logged`,
  );
  return true;
}

/**
 * The `try { await promise; ...ok } catch (err) { ...; process.exitCode = N; }` text, written at
 * `indent`, that replaces the exit chain statement `s` (see awaitFailureChain), or null when `s`
 * is not one. In `.then(ok).catch(fail)` the catch also took what ok threw, so ok's statements
 * before its final `process.exit(0)` (the "drained" log line) go into the try after the await.
 */
function failureChainText(ctx: TsRewriteContext, s: Node, indent: string): { text: string; promise: string; code: string } | null {
  if (ctx.base.fixedExitLine !== null || !Node.isExpressionStatement(s)) return null;
  let e: Node = s.getExpression();
  if (Node.isVoidExpression(e)) e = e.getExpression();
  if (!Node.isCallExpression(e)) return null;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee)) return null;
  let then: import('ts-morph').CallExpression | undefined;
  let onRejected: Node | undefined;
  const args = e.getArguments();
  if (callee.getName() === 'catch' && args.length === 1) {
    const inner = callee.getExpression();
    if (!Node.isCallExpression(inner) || inner.getArguments().length !== 1) return null;
    const ic = inner.getExpression();
    if (!Node.isPropertyAccessExpression(ic) || ic.getName() !== 'then') return null;
    then = inner;
    onRejected = args[0];
  } else if (callee.getName() === 'then' && args.length === 2) {
    then = e;
    onRejected = args[1];
  } else return null;
  // The success exit must be a plain one (code 0), which the base's own exit is.
  const ok = then.getArguments()[0]!;
  const okLead = exitsOnly(ok) ? [] : then === e ? null : leadBeforeZeroExit(ok);
  if (!okLead || ok.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => calleeText(c) === 'process.exit' && c.getArguments().some((a) => a.getText().trim() !== '0'))) return null;
  if (!onRejected || !(Node.isArrowFunction(onRejected) || Node.isFunctionExpression(onRejected)) || onRejected.getParameters().length > 1) return null;
  const block = onRejected.getBody();
  if (!Node.isBlock(block)) return null;
  const stmts = block.getStatements();
  const exits = stmts.filter((st) => {
    const c = statementCall(st);
    return !!c && calleeText(c) === 'process.exit';
  });
  if (exits.length === 0) return null;
  for (const x of exits) {
    const code = statementCall(x)!.getArguments()[0];
    if (!code || !/^[1-9]\d*$/.test(code.getText().trim())) return null;
  }
  // Every other exit of the branch must be one of those statements (none nested in an if).
  if (block.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'process.exit').length !== exits.length) return null;
  const promise = (then.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression();
  const u = ctx.unit;
  const param = onRejected.getParameters()[0];
  const binding = param ? ` (${param.getName()}${!ctx.js && !param.getTypeNode() ? ': any' : ''})` : '';
  const lines = (list: Node[], rewrite: (st: Node) => string | null) => {
    const from = list.length > 0 ? indentAt(ctx.text, list[0]!.getStart()) : '';
    return list.map((st) => `${indent}${u}${reindent(rewrite(st) ?? ctx.text.slice(st.getStart(), st.getEnd()), from, `${indent}${u}`)}\n`).join('');
  };
  const handled = lines(stmts, (st) => (exits.includes(st as (typeof exits)[number]) ? `process.exitCode = ${statementCall(st)!.getArguments()[0]!.getText()};` : null));
  return {
    text: `try {\n${indent}${u}await ${promise.getText()};\n${lines(okLead, () => null)}${indent}} catch${binding} {\n${handled}${indent}}`,
    promise: promise.getText(),
    code: statementCall(exits[0]!)!.getArguments()[0]!.getText(),
  };
}

/**
 * `() => { log('drained'); process.exit(0); }`: the statements before a final `process.exit(0)`,
 * when that is the function's only exit and it takes no parameter; null otherwise.
 */
function leadBeforeZeroExit(fn: Node): Node[] | null {
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.getParameters().length > 0) return null;
  const block = fn.getBody();
  if (!Node.isBlock(block)) return null;
  const stmts = block.getStatements();
  const last = stmts[stmts.length - 1];
  const exit = last ? statementCall(last) : undefined;
  if (!exit || calleeText(exit) !== 'process.exit' || (exit.getArguments()[0]?.getText().trim() ?? '0') !== '0') return null;
  if (block.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'process.exit').length !== 1) return null;
  // A return would now leave the method, not the callback.
  if (block.getDescendantsOfKind(SyntaxKind.ReturnStatement).some((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)) === fn)) return null;
  return stmts.slice(0, -1);
}

/**
 * Make the function whose body this is async (returning `Promise<void>` where it said `void`), so
 * it can await; false when it cannot be (already async, a generator, another declared return type).
 */
function makeAsync(ctx: TsRewriteContext, body: Node): boolean {
  const fn = body.getParent();
  if (!fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) return false;
  if (fn.isAsync() || (!Node.isArrowFunction(fn) && fn.isGenerator())) return false;
  const returns = fn.getReturnTypeNode();
  if (returns && returns.getText() !== 'void') return false;
  if (returns) ctx.edits.replace(returns.getStart(), returns.getEnd(), 'Promise<void>');
  const at = Node.isMethodDeclaration(fn) ? fn.getNameNode().getStart() : Node.isFunctionExpression(fn) ? fn.getStart() : fn.getStart();
  ctx.edits.insert(at, 'async ');
  const thrown = throwsBecomeRejections(fn, Node.isMethodDeclaration(fn) ? fn.getName() : 'the handler');
  if (thrown) ctx.warnings.push(`${Node.isMethodDeclaration(fn) ? fn.getName() : 'the handler'}() is now async so that it can await what it started (line ${fn.getStartLineNumber()})${thrown}`);
  return true;
}

// Calls of the language's own objects a moved statement may make (formatting what it logs).
const PURE_CALLS = /^(JSON\.stringify|String|Number|Boolean|Math\.\w+|Date\.now|Object\.(keys|values|entries)|Array\.isArray)$/;
// Methods that only format the value they are called on (a date, a number, a string).
const FORMAT_METHODS = /^(toISOString|toUTCString|toLocale(Date|Time)?String|toFixed|toPrecision|padStart|padEnd)$/;

/**
 * The statements of an inline signal handler as onStop()'s body, or null when one cannot move:
 * what the base now does goes (process.exit, clearing removed timers, and an exit passed as the
 * last callback of a call: `server.close(() => process.exit(0))` keeps `server.close()`); every
 * other statement may call only the agent (this, or its `self` alias), log, or format, and read
 * no local of the method around the handler.
 */
function handlerBody(ctx: TsRewriteContext, handler: Node, removed: Set<string>, agentNames: string[] = []): string | null {
  if (!(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) return null;
  if (handler.getParameters().length > 0) return null;
  const block = handler.getBody();
  const scope = scopeFor(ctx, removed);
  if (!Node.isBlock(block)) return expressionBody(ctx, block, scope);
  const method = handler.getParentWhile((p) => !(Node.isMethodDeclaration(p) || Node.isConstructorDeclaration(p) || Node.isSourceFile(p))) ?? handler;
  // In the entry point, the agent's variable (declared outside the handler) is the instance:
  // `await svc.close(); console.log(`closed with ${svc.pending.length} pending`)` reads as
  // `this.close()` / `this.pending` inside onStop().
  const isAgentName = (id: Node) =>
    agentNames.includes(id.getText()) && (id.getSymbol()?.getDeclarations() ?? []).every((d) => !(block.getPos() <= d.getPos() && d.getEnd() <= block.getEnd()));
  const agentRooted = (e: Node): boolean => {
    let cur: Node = e;
    while (Node.isCallExpression(cur) || Node.isPropertyAccessExpression(cur) || Node.isElementAccessExpression(cur) || Node.isNonNullExpression(cur) || Node.isAwaitExpression(cur) || Node.isParenthesizedExpression(cur)) cur = cur.getExpression();
    return Node.isIdentifier(cur) && isAgentName(cur);
  };
  // The member of the agent a call through its variable reaches first (`stop` of `svc.stop().then(...)`).
  const agentMember = (e: Node): string | null => {
    let cur: Node = e;
    let name: string | null = null;
    while (Node.isCallExpression(cur) || Node.isPropertyAccessExpression(cur) || Node.isElementAccessExpression(cur) || Node.isNonNullExpression(cur) || Node.isAwaitExpression(cur) || Node.isParenthesizedExpression(cur)) {
      if (Node.isPropertyAccessExpression(cur)) name = cur.getName();
      cur = cur.getExpression();
    }
    return Node.isIdentifier(cur) && isAgentName(cur) ? name : null;
  };
  const parts: string[] = [];
  const moved: Node[] = [];
  for (const s of block.getStatements()) {
    const call = statementCall(s);
    if (!(call && isLogLine(call)) && isInfraStatement(s, scope)) continue;
    // `svc.stop()` / `void svc.stop().then(exit)`: the base's own stop(), which calls onStop(); as
    // `this.stop()` inside onStop() it would wait for itself.
    const reached = call && agentNames.length > 0 ? agentMember(call) : null;
    if (reached && ctx.base.members.get(reached)?.kind === 'method' && !ctx.members.has(reached)) continue;
    let cut: [number, number] | null = null;
    let awaitIt: [number, number, string] | null = null;
    // `router.close(() => process.exit(0))` where close(done) must be given its callback: the
    // exit waited for close() to call back, so onStop() waits for that instead.
    let settle: Array<[number, number, string]> = [];
    const fns = s.getDescendants().filter((n) => Node.isArrowFunction(n) || Node.isFunctionExpression(n));
    if (fns.length > 0) {
      const args = call?.getArguments() ?? [];
      const last = args[args.length - 1];
      if (fns.length !== 1 || !last || last !== fns[0] || !exitsOnly(last)) return null;
      cut = [args.length > 1 ? args[args.length - 2]!.getEnd() : last.getStart(), last.getEnd()];
      const callee = call!.getExpression();
      const e = Node.isExpressionStatement(s) ? s.getExpression() : undefined;
      const member = Node.isPropertyAccessExpression(callee) && (thisRoot(callee) || agentRooted(callee)) ? callee.getName() : null;
      if (member && e === call && requiredParameter(ctx, member, args.length - 1)) {
        cut = null;
        settle = [
          [call!.getStart(), call!.getStart(), `await new Promise${ctx.js ? '' : '<void>'}((resolve) => `],
          [last.getStart(), last.getEnd(), '() => resolve()'],
          [call!.getEnd(), call!.getEnd(), ')'],
        ];
      } else if (args.length === 1 && Node.isPropertyAccessExpression(callee) && /^(then|finally)$/.test(callee.getName()) && e) {
        // `svc.shutdown().then(() => process.exit(0))`: the exit waited for shutdown(); the base
        // exits once stop() (so onStop()) resolves: the whole `.then(...)` goes and onStop()
        // awaits the call instead of leaving a bare `.then()` that waits for nothing.
        cut = [callee.getExpression().getEnd(), call!.getEnd()];
        if (Node.isVoidExpression(e) && e.getExpression() === call) awaitIt = [e.getStart(), e.getExpression().getStart(), 'await '];
        else if (e === call) awaitIt = [e.getStart(), e.getStart(), 'await '];
      }
    }
    for (const c of descendantsOfKind(s, SyntaxKind.CallExpression)) {
      if (cut && c.getStart() >= cut[0]) continue;
      if (settle.length > 0 && c.getStart() >= settle[1]![0] && c.getEnd() <= settle[1]![1]) continue;
      if (!thisRoot(c.getExpression()) && !agentRooted(c.getExpression()) && !isLogLine(c) && !inLogLine(c) && !PURE_CALLS.test(calleeText(c)) && !formatterInLogLine(c)) return null;
    }
    const asThis: Array<[number, number]> = [];
    for (const id of s.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const p = id.getParent();
      if (thisAlias(id.compilerNode) || (Node.isPropertyAccessExpression(p) && p.getNameNode() === id)) continue;
      if (agentNames.length > 0 && isAgentName(id)) {
        // `{ svc }` names a property too: not a plain use of the variable that `this` can take.
        if (Node.isShorthandPropertyAssignment(p)) return null;
        if (!(cut && id.getStart() >= cut[0])) asThis.push([id.getStart(), id.getEnd()]);
        continue;
      }
      for (const d of id.getSymbol()?.getDeclarations() ?? []) {
        const inMethod = d.getSourceFile() === ctx.sf && method.getPos() <= d.getPos() && d.getEnd() <= method.getEnd();
        const inHandler = block.getPos() <= d.getPos() && d.getEnd() <= block.getEnd();
        if (inMethod && !inHandler) return null;
      }
    }
    // The statement's text with the exit callback cut and the agent's variable read as `this`.
    const edits: Array<[number, number, string]> = [
      ...asThis.map(([a, b]) => [a, b, 'this'] as [number, number, string]),
      ...(cut ? [[cut[0], cut[1], ''] as [number, number, string]] : []),
      ...(awaitIt ? [awaitIt] : []),
      ...settle,
    ];
    let text = ctx.text.slice(s.getFullStart(), s.getEnd());
    // From the end; at one position, the replacement before the insertion in front of it.
    for (const [a, b, r] of edits.sort((x, y) => y[0] - x[0] || y[1] - x[1])) text = text.slice(0, a - s.getFullStart()) + r + text.slice(b - s.getFullStart());
    parts.push(text);
    moved.push(s);
  }
  if (moved.length === 0 || moved.every((s) => isLogLine(statementCall(s)))) return null;
  const text = parts.join('').replace(/^\s*\n/, '');
  return aliasPrelude(moved, ctx.unit) + reindent(text, indentAt(ctx.text, moved[0]!.getStart()), ctx.unit).replace(/\s+$/, '');
}

/**
 * An expression-bodied handler (`() => this.shutdown.abort()`) as onStop()'s body: one call on a
 * member the agent keeps, with nothing but literals and the agent's members for arguments.
 */
function expressionBody(ctx: TsRewriteContext, body: Node, scope: ReturnType<typeof scopeFor>): string | null {
  let e: Node = body;
  while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (!Node.isCallExpression(e)) return null;
  const root = thisRoot(e.getExpression());
  if (!root || scope.removed.has(root) || scope.baseOwned.has(root) || ctx.members.get(root)?.kind === 'method') return null;
  if (e.getArguments().some((a) => !(Node.isLiteralExpression(a) || thisRoot(a)))) return null;
  return `${ctx.unit}${e.getText()};`;
}

/** The agent's method `name` declares a parameter at `index` that a call must pass. */
function requiredParameter(ctx: TsRewriteContext, name: string, index: number): boolean {
  const decl = ctx.members.get(name)?.kind === 'method' ? ctx.members.get(name)!.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody()) : undefined;
  const p = decl && Node.isMethodDeclaration(decl) ? decl.getParameters()[index] : undefined;
  return !!p && !p.isOptional() && !p.hasInitializer() && !p.isRestParameter();
}

/** A callback that only exits the process. */
function exitsOnly(fn: Node): boolean {
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return false;
  const body = fn.getBody();
  const stmts = Node.isBlock(body) ? body.getStatements() : [];
  if (!Node.isBlock(body)) return Node.isCallExpression(body) && calleeText(body) === 'process.exit';
  return stmts.length > 0 && stmts.every((st) => {
    const c = statementCall(st);
    return !!c && calleeText(c) === 'process.exit';
  });
}

/**
 * `setTimeout(() => process.exit(1), 8000).unref();` as a statement of an inline handler's block:
 * a watchdog that ends the process with its own code when stopping hangs. Also its two-statement
 * form, `const force = setTimeout(() => process.exit(1), 20_000); force.unref();`, when that local
 * is used for nothing else. The statements that are one, in order.
 */
function handlerWatchdogs(handler: Node): Node[] {
  if (!(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) return [];
  const body = handler.getBody();
  if (!Node.isBlock(body)) return [];
  const stmts = body.getStatements();
  const exitTimer = (call: Node | undefined): boolean => {
    if (!call || !Node.isCallExpression(call)) return false;
    const callee = call.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'unref' && call.getArguments().length === 0) return exitTimer(callee.getExpression());
    const args = call.getArguments();
    return calleeText(call) === 'setTimeout' && args.length === 2 && exitsOnly(args[0]!);
  };
  const found: Node[] = [];
  for (const st of stmts) {
    const call = statementCall(st);
    if (call && !Node.isAwaitExpression(st.getChildAtIndex(0)) && exitTimer(call)) {
      found.push(st);
      continue;
    }
    const local = watchdogLocal(st, exitTimer);
    if (!local) continue;
    // Its one other use: `force.unref();`, a statement of the same block after it.
    const uses = fileNameNodes(st.getSourceFile(), local.getText()).filter((id) => id !== local && Node.isIdentifier(id) && !(Node.isPropertyAccessExpression(id.getParent()) && (id.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === id));
    const unrefs = stmts.filter((o) => o.getPos() > st.getPos() && /^[\w$]+\.unref\(\);?$/.test(o.getText()) && o.getText().startsWith(`${local.getText()}.`));
    if (unrefs.length === 1 && uses.length === 1 && unrefs[0]!.getPos() <= uses[0]!.getPos() && uses[0]!.getEnd() <= unrefs[0]!.getEnd()) found.push(st, unrefs[0]!);
  }
  return stmts.filter((st) => found.includes(st));
}

/** The name `const force = setTimeout(() => process.exit(1), ms)` declares, when `st` is that statement. */
function watchdogLocal(st: Node, exitTimer: (call: Node | undefined) => boolean): Node | null {
  if (!Node.isVariableStatement(st) || st.getDeclarations().length !== 1) return null;
  const d = st.getDeclarations()[0]!;
  const nameNode = d.getNameNode();
  return Node.isIdentifier(nameNode) && exitTimer(d.getInitializer()) ? nameNode : null;
}

/**
 * `if (stopping) return;` and `stopping = true;` in a handler: its once-only guard on a flag of the
 * enclosing scope (not a member, not a local of the handler). It may stay with the watchdog, in the
 * listener of its own: a second signal arms no second watchdog, as before.
 */
function onceGuard(handler: Node, st: Node): boolean {
  const flagOf = (e: Node): string | null => (Node.isIdentifier(e) ? e.getText() : null);
  let flag: string | null = null;
  if (Node.isIfStatement(st) && !st.getElseStatement()) {
    const then = st.getThenStatement();
    const only = Node.isBlock(then) ? (then.getStatements().length === 1 ? then.getStatements()[0]! : null) : then;
    if (only && Node.isReturnStatement(only) && !only.getExpression()) flag = flagOf(st.getExpression());
  } else if (Node.isExpressionStatement(st)) {
    const e = st.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && e.getRight().getKind() === SyntaxKind.TrueKeyword) flag = flagOf(e.getLeft());
  }
  if (!flag) return false;
  // Declared outside the handler: a local of its own would guard nothing.
  return !handler.getDescendantsOfKind(SyntaxKind.VariableDeclaration).some((d) => d.getName() === flag) && !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) ? handler.getParameters().some((p) => p.getName() === flag) : false);
}

/**
 * The statements of a handler that arms watchdogs which stay in a listener of their own: its
 * watchdogs and log lines (and a once-only guard before them, `if (stopping) return; stopping =
 * true;`), when together they come before everything else it does (stopping the agent, exiting),
 * so that on the signal they still run first. Null when a log line or a watchdog comes after that
 * work (it waited for the stop, which the listener cannot).
 */
function watchdogPrefix(handler: Node, watchdogs: Node[]): Node[] | null {
  const body = (handler as import('ts-morph').ArrowFunction).getBody() as import('ts-morph').Block;
  const stmts = body.getStatements();
  const kept = (st: Node) => watchdogs.includes(st) || isLogCall(statementCall(st)) || onceGuard(handler, st);
  const firstWork = stmts.findIndex((st) => !kept(st));
  const prefix = firstWork < 0 ? stmts : stmts.slice(0, firstWork);
  return stmts.slice(prefix.length).some(kept) ? null : prefix;
}

function watchdogWarning(ctx: TsRewriteContext, signal: string, watchdogs: Node[]): string {
  const first = watchdogs[0]!;
  const text = `the ${signal} handler armed a forced exit (line ${first.getStartLineNumber()}: ${first.getText().split('\n')[0]}): it stays, with the handler's log lines before it, in a listener of its own, so a stop that hangs still ends the process with that code; the rest of the handler (stopping the agent, exiting) is the base's, which also ends a stop that outlasts its own grace period`;
  // A watchdog later than the base's grace never fires now: the base ends the process first.
  const grace = ctx.base.stopGraceMs;
  const call = (Node.isVariableStatement(first) ? first.getDeclarations()[0]!.getInitializer() : statementCall(first)) as Node | undefined;
  const timer = call?.getFirstDescendant((d) => Node.isCallExpression(d) && calleeText(d) === 'setTimeout') ?? call;
  const ms = timer && Node.isCallExpression(timer) && calleeText(timer) === 'setTimeout' ? millis(timer.getArguments()[1]!) : null;
  if (grace === null || ms === null || ms <= grace) return text;
  return `${text} (${grace} ms after ${signal}, before this watchdog's ${ms} ms: a stop the legacy let run up to ${ms} ms is cut at ${grace} ms, with the exit code the agent set, 0 when none, and this watchdog never fires)`;
}

/** A call in the handler that is not about this agent (stopping, logging, exiting), or null. */
function foreignWork(handler: Node, agentNames: string[], skip: Node[] = []): string | null {
  if (Node.isIdentifier(handler)) return `${handler.getText()}()`;
  const calls = Node.isCallExpression(handler) ? [handler] : descendantsOfKind(handler, SyntaxKind.CallExpression);
  for (const c of calls) {
    if (skip.some((st) => st.getPos() <= c.getPos() && c.getEnd() <= st.getEnd())) continue;
    const fn = calleeText(c);
    if (/^(process\.exit|clearInterval|clearTimeout|console\.\w+)$/.test(fn) || isLogLine(c)) continue;
    if (inLogLine(c)) continue;
    const onAgent = (f: string) => agentNames.some((a) => f.startsWith(`${a}.`));
    if (/^this\./.test(fn) || thisRoot(c.getExpression()) || onAgent(fn)) continue;
    // A call on the result of an agent call (`agent.stop().then(...)`) is about the agent too.
    if (c.getFirstDescendant((d) => Node.isCallExpression(d) && (/^this\./.test(calleeText(d)) || onAgent(calleeText(d))))) continue;
    // As written, on one line (calleeText drops every space: `newDate().toISOString`).
    const shown = c.getExpression().getText().replace(/\s+/g, ' ');
    return shown.length > 40 ? `${shown.slice(0, 37)}...` : shown;
  }
  return null;
}

/**
 * `process.on('SIGTERM', handleSignal(service))`, where `handleSignal` is a function of the
 * module (a declaration, or a `const` arrow / function at the file's top level) whose whole body
 * returns a function, and the call passes it the agent variable (and literals only): the
 * returned function is the handler Node calls with the signal's name, and the factory's
 * parameters given the agent variable name the agent inside it. `extra` names a statement of it
 * that does more than log, stop the agent or exit. Null for any other handler.
 */
function factoryHandler(arg: Node | undefined, agentVar: string | null): { fn: Node; inner: Node; aliases: string[]; extra?: string } | null {
  if (!arg || !agentVar || !Node.isCallExpression(arg) || !Node.isIdentifier(arg.getExpression())) return null;
  const name = arg.getExpression().getText();
  const sf = arg.getSourceFile();
  let fn: Node | undefined;
  for (const st of sf.getStatements()) {
    if (Node.isFunctionDeclaration(st) && st.getName() === name) fn = st.getBody() ? st : undefined;
    else if (Node.isVariableStatement(st) && st.getDeclarationKind() === 'const') {
      const d = st.getDeclarations().find((x) => x.getName() === name);
      const init = d?.getInitializer();
      if (d) fn = init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) ? init : undefined;
    }
  }
  if (!fn || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.isAsync() || (!Node.isArrowFunction(fn) && fn.isGenerator())) return null;
  // Declared once at the top level, not shadowed by a nearer declaration around the call.
  for (let scope = arg.getParent(); scope && !Node.isSourceFile(scope); scope = scope.getParent()) {
    if ((Node.isFunctionLikeDeclaration(scope) || Node.isArrowFunction(scope) || Node.isFunctionExpression(scope)) && scope.getParameters().some((p) => p.getName() === name)) return null;
    if (Node.isBlock(scope) && scope.getStatements().some((st) => (Node.isFunctionDeclaration(st) && st.getName() === name) || (Node.isVariableStatement(st) && st.getDeclarations().some((d) => d.getName() === name)))) return null;
  }
  const body = fn.getBody();
  let inner: Node | undefined;
  if (body && Node.isBlock(body)) {
    const only = body.getStatements();
    inner = only.length === 1 && Node.isReturnStatement(only[0]!) ? only[0].getExpression() : undefined;
  } else inner = body;
  while (inner && Node.isParenthesizedExpression(inner)) inner = inner.getExpression();
  if (!inner || !(Node.isArrowFunction(inner) || Node.isFunctionExpression(inner))) return null;
  const params = fn.getParameters();
  const aliases: string[] = [];
  const args = arg.getArguments();
  if (args.length > params.length) return null;
  for (const [i, a] of args.entries()) {
    const p = params[i]!;
    if (!Node.isIdentifier(p.getNameNode()) || p.isRestParameter()) return null;
    if (Node.isIdentifier(a) && a.getText() === agentVar) aliases.push(p.getName());
    else if (!(Node.isStringLiteral(a) || Node.isNumericLiteral(a) || Node.isNoSubstitutionTemplateLiteral(a))) return null;
  }
  if (aliases.length === 0) return null;
  // The agent's name inside the returned function must be the factory's parameter, not a local of its own.
  if (aliases.some((al) => descendantsOfKind(inner!, SyntaxKind.VariableDeclaration).some((d) => d.getName() === al) || (inner as import('ts-morph').ArrowFunction).getParameters().some((p) => p.getName() === al))) return null;
  // Its body only logs, stops the agent and exits (anything else is for a person to fold in).
  const innerBody = (inner as import('ts-morph').ArrowFunction).getBody();
  const exprs = Node.isBlock(innerBody) ? innerBody.getStatements().map((st) => (Node.isExpressionStatement(st) ? st.getExpression() : null)) : [innerBody];
  const onAgent = (c: Node): boolean => {
    let e: Node = c;
    while (Node.isCallExpression(e) || Node.isPropertyAccessExpression(e)) e = e.getExpression();
    return Node.isIdentifier(e) && aliases.includes(e.getText());
  };
  const stmts = Node.isBlock(innerBody) ? innerBody.getStatements() : [innerBody];
  for (const [i, e0] of exprs.entries()) {
    let e = e0;
    while (e && (Node.isVoidExpression(e) || Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
    if (e && Node.isCallExpression(e) && (isLogCall(e) || calleeText(e) === 'process.exit' || onAgent(e))) continue;
    const text = stmts[i]!.getText().split('\n')[0]!.replace(/;$/, '');
    return { fn, inner, aliases, extra: `${name}() returns a handler that also does ${text.length > 60 ? `${text.slice(0, 57)}...` : text}` };
  }
  return { fn, inner, aliases };
}

/**
 * `static main(worker: QueueWorker) { ...; process.once('SIGTERM', () => worker.stop()...) }`: in a
 * static method of the agent's class, a parameter typed as the class is the agent it was handed
 * (the subclass instance its entry point built), as `this` is in an instance method.
 */
function staticAgentParameters(ctx: TsRewriteContext, stmt: Node): string[] {
  const method = stmt.getFirstAncestor((a) => Node.isMethodDeclaration(a));
  if (!method || !Node.isMethodDeclaration(method) || !method.isStatic() || method.getParent() !== ctx.cls) return [];
  return method.getParameters().filter((p) => Node.isIdentifier(p.getNameNode()) && p.getTypeNode()?.getText() === ctx.className).map((p) => p.getName());
}

/**
 * The function a signal handler stands for: an identifier naming a function of the file (a
 * declaration, or a `const f = (...) => {...}` in a scope around the handler), or an arrow
 * whose whole body calls such a function (`() => void stop('SIGTERM')`). Any other handler
 * is itself.
 */
export function localHandler(handler: Node | undefined): Node | undefined {
  if (!handler) return handler;
  let callee: Node | undefined = handler;
  if (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) {
    let body: Node | undefined = handler.getBody();
    if (Node.isBlock(body)) {
      const only = body.getStatements();
      body = only.length === 1 && Node.isExpressionStatement(only[0]) ? only[0].getExpression() : undefined;
    }
    while (body && (Node.isVoidExpression(body) || Node.isAwaitExpression(body) || Node.isParenthesizedExpression(body))) body = body.getExpression();
    callee = body && Node.isCallExpression(body) && Node.isIdentifier(body.getExpression()) ? body.getExpression() : undefined;
  }
  if (!callee || !Node.isIdentifier(callee)) return handler;
  // Read from the syntax (the scopes around the handler, innermost first), not the type checker.
  const name = callee.getText();
  for (let scope: Node | undefined = callee.getParent(); scope; scope = scope.getParent()) {
    if ((Node.isFunctionLikeDeclaration(scope) || Node.isArrowFunction(scope) || Node.isFunctionExpression(scope)) && scope.getParameters().some((p) => p.getName() === name)) return handler;
    if (!(Node.isBlock(scope) || Node.isSourceFile(scope))) continue;
    for (const st of scope.getStatements() as Node[]) {
      if (Node.isFunctionDeclaration(st) && st.getName() === name) return st.getBody() ? st : handler;
      if (!Node.isVariableStatement(st)) continue;
      const d = st.getDeclarations().find((x) => x.getName() === name);
      if (!d) continue;
      const init = d.getInitializer();
      return init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) && st.getDeclarationKind() === 'const' ? init : handler;
    }
  }
  return handler;
}

/** The file's other identifiers spelled like a declared name, without property and member names. */
function namesOf(ctx: TsRewriteContext, nameNode: Node): Node[] {
  return fileNameNodes(ctx.sf, nameNode.getText()).filter((id) => {
    if (!Node.isIdentifier(id) || id === nameNode) return false;
    const p = id.getParent();
    return !((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || ((Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) || Node.isPropertyDeclaration(p)) && p.getNameNode() === id));
  });
}

/**
 * `let stopping = false;` beside a named signal handler that alone reads and sets it (`if
 * (stopping) return; stopping = true;`): the handler's once-only guard goes with the handler
 * rather than stay behind unused.
 */
function dropHandlerFlags(ctx: TsRewriteContext, handler: Node): void {
  const block = handler.getParent();
  if (!block || !(Node.isBlock(block) || Node.isSourceFile(block))) return;
  for (const st of block.getStatements() as Node[]) {
    if (st === handler || !Node.isVariableStatement(st) || st.getDeclarations().length !== 1) continue;
    const d = st.getDeclarations()[0]!;
    const init = d.getInitializer();
    const nameNode = d.getNameNode();
    if (!Node.isIdentifier(nameNode) || !init || !(Node.isLiteralExpression(init) || [SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword, SyntaxKind.NullKeyword].includes(init.getKind()))) continue;
    const uses = namesOf(ctx, nameNode);
    if (uses.length > 0 && uses.every((u) => handler.getPos() <= u.getPos() && u.getEnd() <= handler.getEnd())) {
      ctx.plan.proposeStatement({ node: st, symbol: nameNode.getText(), finding: 'signal', reason: 'a flag only the removed signal handler used' });
    }
  }
}

/** Option names under which graceful-shutdown libraries take the code to run on a signal. */
const SHUTDOWN_HOOK_NAMES = 'onSignal|onShutdown|beforeShutdown|onTerminate|preShutdown';
const SHUTDOWN_HOOKS = new RegExp(`^(${SHUTDOWN_HOOK_NAMES})$`);
/** Text that may hold such options: a `signal(s): 'SIG...'` property or a hook's name. */
const MAY_HOLD_SIGNAL_OPTIONS = new RegExp(`\\bsignals?\\s*:\\s*\\[?\\s*['"\`]SIG|\\b(${SHUTDOWN_HOOK_NAMES})\\b`);

/**
 * A library given the process's signal handling: a call (not on the agent) with an options
 * object naming signals (`signals: ['SIGINT']`, `signal: 'SIGTERM'`) or a shutdown hook
 * (`onSignal: () => this.cleanup()`), as `createTerminus(server, {...})` takes them. It keeps
 * its own SIGTERM handler beside the base's, and the base exits once its stop() resolves: the
 * library's cleanup can be cut short (terminus's onShutdown never ran). Which of the two should
 * own shutdown is a person's call, so it is a review item, with the reason.
 */
function librarySignalHandling(ctx: TsRewriteContext, root: Node): void {
  // Most files hold no such text and are passed over unwalked.
  if (!MAY_HOLD_SIGNAL_OPTIONS.test(root.getText())) return;
  for (const c of descendantsOfKind(root, SyntaxKind.CallExpression)) {
    if (thisRoot(c.getExpression()) || /^process\.(on|once|addListener)$/.test(calleeText(c))) continue;
    for (const a of c.getArguments()) {
      if (!Node.isObjectLiteralExpression(a)) continue;
      const hooks: string[] = [];
      let signals = false;
      for (const p of a.getProperties()) {
        if (!(Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) || Node.isShorthandPropertyAssignment(p))) continue;
        const name = p.getName();
        const init = Node.isPropertyAssignment(p) ? p.getInitializer() : undefined;
        // `signals: ['SIGINT']`, `signal: 'SIGTERM'` (not `killSignal`, which names what a child is sent).
        if (/^signals?$/.test(name) && init && /^\[?\s*(['"`]SIG[A-Z0-9]+['"`]\s*,?\s*)+\]?$/.test(init.getText())) signals = true;
        if (SHUTDOWN_HOOKS.test(name)) hooks.push(name);
      }
      if (!signals && hooks.length === 0) continue;
      const callee = calleeText(c);
      ctx.kept.push({
        symbol: `${callee}(...)`,
        line: c.getStartLineNumber(),
        reason:
          `${callee}() handles the process's signals itself${hooks.length > 0 ? ` and runs ${hooks.join(', ')} on them` : ''}; ` +
          `the base also stops on SIGTERM/SIGINT and exits once its stop() resolves, which can cut that cleanup short: ` +
          `run the cleanup from onStop() and turn the library's signal handling off, by hand`,
      });
      break;
    }
  }
}

/** Does the member (a method, or an arrow-function property) declare parameters? */
/**
 * An argument's text with the handler's signal parameter (`signal` of `(signal) => ...`: Node
 * passes the signal's name) written as that name's literal, for a call moved out of the handler.
 */
function withSignalName(ctx: TsRewriteContext, arg: Node, param: Node | undefined, signalName: string): string {
  const name = param && (Node.isParameterDeclaration(param) || Node.isVariableDeclaration(param)) ? param.getNameNode() : undefined;
  if (!name || !Node.isIdentifier(name)) return arg.getText();
  const decl = name.getSymbol()?.getDeclarations()[0];
  const uses = [arg, ...arg.getDescendantsOfKind(SyntaxKind.Identifier)].filter((id) => {
    if (!Node.isIdentifier(id) || id.getText() !== name.getText() || id.getSymbol()?.getDeclarations()[0] !== decl) return false;
    const parent = id.getParent();
    // `x.signal` names a property, not the parameter.
    return !(Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id);
  });
  if (uses.length === 0) return arg.getText();
  let text = arg.getText();
  const start = arg.getStart();
  for (const id of uses.sort((a, b) => b.getStart() - a.getStart())) {
    // `{ signal }` keeps its property name.
    const literal = `${Node.isShorthandPropertyAssignment(id.getParent()) ? `${id.getText()}: ` : ''}${ctx.quote}${signalName}${ctx.quote}`;
    text = `${text.slice(0, id.getStart() - start)}${literal}${text.slice(id.getEnd() - start)}`;
  }
  return text;
}

function takesParameters(ctx: TsRewriteContext, name: string): boolean {
  for (const n of ctx.members.get(name)?.nodes ?? []) {
    if (Node.isMethodDeclaration(n)) return n.getParameters().length > 0;
    const fn = Node.isPropertyDeclaration(n) ? n.getInitializer() : undefined;
    if (fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return fn.getParameters().length > 0;
  }
  return false;
}

/**
 * `process.off('SIGTERM', this.onSignal)` (removeListener too) in the agent: it uninstalls a
 * handler whose `process.on(...)` went (the base handles the signal now), so it would remove
 * nothing, and it would keep the handler's member referenced. It goes with the installation.
 */
function uninstallers(ctx: TsRewriteContext): void {
  const installed = new Set<string>();
  for (const p of ctx.plan.statements) {
    const sig = p.finding === 'signal' ? signalHandlerCall(p.node) : null;
    const h = sig?.call.getArguments()[1];
    if (sig && h && ctx.edits.removes(p.node.getStart(), p.node.getEnd())) for (const x of sig.signals) installed.add(`${x}|${h.getText().replace(/\s+/g, '')}`);
  }
  if (installed.size === 0) return;
  for (const c of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    if (!/^process\.(off|removeListener)$/.test(calleeText(c))) continue;
    const [sig, h] = c.getArguments();
    const stmt = c.getParent();
    if (!sig || !h || !Node.isStringLiteral(sig) || !stmt || !Node.isExpressionStatement(stmt) || statementCall(stmt) !== c) continue;
    if (!installed.has(`${sig.getLiteralText()}|${h.getText().replace(/\s+/g, '')}`) || ctx.edits.removes(stmt.getStart(), stmt.getEnd())) continue;
    ctx.edits.removeNode(stmt);
  }
}

/** The name the handler's signal has inside it: its first parameter, or the for-of variable it reads. */
function signalNames(stmt: Node, call: Node, handler: Node): Set<string> {
  const out = new Set<string>();
  const given = Node.isCallExpression(call) ? call.getArguments()[1] : undefined;
  if (Node.isForOfStatement(stmt)) {
    const init = stmt.getInitializer();
    const decl = Node.isVariableDeclarationList(init) ? init.getDeclarations()[0] : undefined;
    if (decl && given && given === handler) out.add(decl.getName());
  }
  if (!(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isFunctionDeclaration(handler))) return out;
  const params = handler.getParameters();
  if (given === handler || (given && Node.isIdentifier(given))) {
    // Installed as it is: Node passes the signal's name first.
    if (params[0] && Node.isIdentifier(params[0].getNameNode())) out.add(params[0].getName());
    return out;
  }
  // Built by a module function (`handleSignal(service)`): the function it returns is installed as it is.
  if (given && Node.isCallExpression(given) && !Node.isFunctionDeclaration(handler)) {
    if (params[0] && Node.isIdentifier(params[0].getNameNode())) out.add(params[0].getName());
    return out;
  }
  // Reached through a wrapper (`(signal) => void onSignal(signal, api)`): the parameter the wrapper hands the signal to.
  if (given && (Node.isArrowFunction(given) || Node.isFunctionExpression(given))) {
    const outer = given.getParameters()[0]?.getName();
    const inner = descendantsOfKind(given, SyntaxKind.CallExpression).find((c) => c.getExpression().getText() === (Node.isFunctionDeclaration(handler) ? handler.getName() : handler.getParentIfKind(SyntaxKind.VariableDeclaration)?.getName()));
    // ... or the signal's own name, written out (`() => shutdown('SIGINT')`, one wrapper per signal).
    const literal = (a: Node) => Node.isStringLiteral(a) && /^SIG[A-Z0-9]+$/.test(a.getLiteralValue());
    inner?.getArguments().forEach((a, i) => {
      const p = params[i];
      if (((outer && a.getText() === outer) || literal(a)) && p && Node.isIdentifier(p.getNameNode())) out.add(p.getName());
    });
  }
  return out;
}

/**
 * The log statements of a handler that name the signal it got, when the rest of its body can go
 * without them (no local they read is declared by another statement); null when there is none.
 */
function signalNamingLogs(stmt: Node, call: Node, handler: Node): Node[] | null {
  if (!(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isFunctionDeclaration(handler))) return null;
  const body = handler.getBody();
  if (!body || !Node.isBlock(body)) return null;
  const names = signalNames(stmt, call, handler);
  if (names.size === 0) return null;
  const reads = (s: Node) =>
    s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
      const p = id.getParent();
      return names.has(id.getText()) && !(Node.isPropertyAccessExpression(p) && p.getNameNode() === id);
    });
  const statements = body.getStatements();
  const logs = statements.filter((s) => isLogLine(statementCall(s)) && reads(s));
  if (logs.length === 0) return null;
  const others = statements.filter((s) => !logs.includes(s));
  // What goes must not hand the signal on (it would be lost there), nor declare what a kept line reads.
  if (others.some(reads)) return null;
  const declaredByOthers = new Set(others.flatMap((s) => descendantsOfKind(s, SyntaxKind.VariableDeclaration).map((d) => d.getName())));
  if (logs.some((l) => l.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => declaredByOthers.has(id.getText())))) return null;
  return logs;
}

/**
 * `for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { worker.shutdown(sig); process.exit(0); })`:
 * the handler hands the signal on, so it stays; but its process.exit() would end the process
 * before the base's own handler stops the agent (onStop(), deregistration, the last metrics push).
 * When everything else it does is synchronous (the agent's synchronous methods, log lines), that
 * work is done by the time the base stops, so the exit goes: the base exits once stopped. Anything
 * else that exits is a review item rather than left as it was.
 */
function handOnWithoutExit(ctx: TsRewriteContext, loop: Node, handler: Node | undefined, agentNames: string[], signals: string[]): void {
  if (!handler || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) return;
  const body = handler.getBody();
  const stmts = Node.isBlock(body) ? body.getStatements() : [];
  const exitOf = (st: Node) => {
    const c = statementCall(st);
    return !!c && /^process\.exit$/.test(calleeText(c));
  };
  const exits = stmts.filter(exitOf);
  if (exits.length === 0) return;
  const syncWork = (st: Node) => {
    if (!Node.isExpressionStatement(st) || Node.isAwaitExpression(st.getExpression())) return false;
    const c = statementCall(st);
    if (!c) return false;
    if (isLogCall(c)) return true;
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !agentNames.includes(callee.getExpression().getText())) return false;
    const m = callee.getName();
    return ctx.members.get(m)?.kind === 'method' && !isAsyncMethod(ctx, m);
  };
  const last = stmts[stmts.length - 1]!;
  const names = signals.join('/');
  if (exits.length === 1 && exits[0] === last && stmts.slice(0, -1).every(syncWork)) {
    ctx.edits.removeNode(last);
    ctx.warnings.push(`the ${names} handler at line ${loop.getStartLineNumber()} hands the signal on (${stmts[0]!.getText().replace(/;$/, '')}): it stays, without its ${last.getText().replace(/;$/, '')}, so the base's own handler then stops the agent (onStop(), deregistration) and exits`);
    return;
  }
  ctx.kept.push({
    symbol: `process.on('${signals[0]}')`,
    line: loop.getStartLineNumber(),
    reason: `the ${names} handler hands the signal on and exits the process itself, before the base's handler can stop the agent (onStop(), deregistration); fold it into onStop() by hand`,
  });
}

/**
 * `for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => svc.stop(sig))`: the loop's
 * variable, when the inline handler (taking no parameter of its own) reads it only as an argument
 * of the agent's methods named like the base's (`svc.stop(...)`, `this.stop(...)`), so those calls
 * get the signal's name as a literal. Undefined for any other read (a log line, a method of the
 * agent's own name, which the kept handler can still call with the signal it got).
 */
function signalArgumentOfAgent(ctx: TsRewriteContext, loop: Node, handler: Node, agentNames: string[]): Node | undefined {
  if (!Node.isForOfStatement(loop) || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) || handler.getParameters().length > 0) return undefined;
  const init = loop.getInitializer();
  const decl = Node.isVariableDeclarationList(init) && init.getDeclarations().length === 1 ? init.getDeclarations()[0] : undefined;
  const nameNode = decl?.getNameNode();
  if (!decl || !nameNode || !Node.isIdentifier(nameNode)) return undefined;
  const sym = nameNode.getSymbol();
  const reads = handler.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getText() === nameNode.getText() && id.getSymbol() === sym);
  if (reads.length === 0) return undefined;
  const toAgent = (id: Node) => {
    const call = id.getParentIfKind(SyntaxKind.CallExpression);
    if (!call || !call.getArguments().includes(id as never)) return false;
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return false;
    const owner = callee.getExpression();
    const agent = owner.getKind() === SyntaxKind.ThisKeyword || agentNames.includes(owner.getText());
    return agent && ctx.members.get(callee.getName())?.kind === 'method' && ctx.base.members.get(callee.getName())?.kind === 'method';
  };
  return reads.every(toAgent) ? decl : undefined;
}

/** A for-of over signals whose inline handler reads the loop variable. */
function readsLoopVariable(loop: Node, handler: Node | undefined): boolean {
  if (!Node.isForOfStatement(loop) || !handler) return false;
  const init = loop.getInitializer();
  const decl = Node.isVariableDeclarationList(init) ? init.getDeclarations()[0] : undefined;
  const name = decl?.getName();
  return !!name && handler.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === name);
}

/**
 * `process.exit(130)` (or `process.exitCode = 130`) as the last statement of a handler's body,
 * unconditional, with a fixed non-zero code: the exit code that signal always ended the process
 * with. Also the whole body of an arrow (`() => process.exit(130)`, `() => void process.exit(2)`),
 * `expression` then, and the exit of a stop's one callback (`() => pool.stop().then(() =>
 * process.exit(130))`). The statement (or that body) and the code, or null.
 */
function fixedSignalExit(handler: Node): { stmt: Node; code: string; expression?: boolean } | null {
  if (!Node.isArrowFunction(handler) && !Node.isFunctionExpression(handler) && !Node.isFunctionDeclaration(handler)) return null;
  const body = handler.getBody();
  if (!body) return null;
  let e: Node | undefined;
  if (Node.isBlock(body)) {
    const last = body.getStatements().at(-1);
    if (!last || !Node.isExpressionStatement(last)) return null;
    e = last.getExpression();
  } else {
    e = body;
    while (Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  }
  // `pool.stop().then(() => process.exit(130))` (awaited or voided, the whole arrow body or its last
  // statement): the exit the stop's callback makes once it has stopped, as `await pool.stop();
  // process.exit(130);` makes it after the await; the statement or body goes whole for the code.
  const outer = e;
  const thenExit = thenCallbackExit(e);
  if (thenExit) e = thenExit;
  const value =
    Node.isCallExpression(e) && calleeText(e) === 'process.exit' && e.getArguments().length === 1
      ? e.getArguments()[0]!
      : Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && e.getLeft().getText().replace(/\s+/g, '') === 'process.exitCode'
        ? e.getRight()
        : null;
  if (!value || !Node.isNumericLiteral(value) || Number(value.getLiteralValue()) === 0) return null;
  // An exit anywhere else in it (a failure path's own code) is the failure-exit rules' to decide.
  const exits = handler.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'process.exit');
  if (exits.some((c) => c !== e)) return null;
  if (Node.isBlock(body)) return { stmt: (thenExit ? outer : e).getParent()!, code: value.getText() };
  return { stmt: body, code: value.getText(), expression: true };
}

/**
 * `X.then(() => process.exit(N))` / `.then(() => { process.exit(N); })` / `.then(function () {...})`,
 * under `await`, `void` or parentheses, where X is itself a call (the agent's stop): the exit (or
 * `process.exitCode = N`) of that one callback, which takes no parameter and does nothing else. Null otherwise.
 */
function thenCallbackExit(e: Node): Node | null {
  while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (!Node.isCallExpression(e)) return null;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'then' || !Node.isCallExpression(callee.getExpression()) || e.getArguments().length !== 1) return null;
  const cb = e.getArguments()[0]!;
  if (!(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) || cb.getParameters().length > 0 || cb.isAsync()) return null;
  const body = cb.getBody();
  let inner: Node | undefined = body;
  if (Node.isBlock(body)) {
    const stmts = body.getStatements();
    inner = stmts.length === 1 && Node.isExpressionStatement(stmts[0]!) ? stmts[0].getExpression() : undefined;
  }
  while (inner && (Node.isVoidExpression(inner) || Node.isParenthesizedExpression(inner))) inner = inner.getExpression();
  if (!inner) return null;
  const exits = (Node.isCallExpression(inner) && calleeText(inner) === 'process.exit') ||
    (Node.isBinaryExpression(inner) && inner.getOperatorToken().getKind() === SyntaxKind.EqualsToken && inner.getLeft().getText().replace(/\s+/g, '') === 'process.exitCode');
  return exits ? inner : null;
}

/**
 * A handler function of the file (`function onInterrupt() {...}`, `const onInterrupt = () => ...`)
 * whose name is read only inside signal listeners' statements (`process.on('SIGINT', onInterrupt)`,
 * `() => onInterrupt()`): what it does on those signals is all it does.
 */
function onlySignalListeners(ctx: TsRewriteContext, handler: Node): boolean {
  const nameNode = Node.isFunctionDeclaration(handler) ? handler.getNameNode() : handler.getParentIfKind(SyntaxKind.VariableDeclaration)?.getNameNode();
  if (!nameNode || !Node.isIdentifier(nameNode)) return false;
  const refs = namesOf(ctx, nameNode);
  return refs.length > 0 && refs.every((r) => r.getAncestors().some((a) => (Node.isExpressionStatement(a) || Node.isForOfStatement(a)) && signalHandlerCall(a, true) !== null));
}

/**
 * The handler keeps its fixed exit code, as `process.exitCode = N` (and its log lines naming the
 * signal, if any): the base's own handler stops the agent and exits with process.exitCode, so the
 * process still ends with N on that signal. The rest (stopping the agent, exiting) is the base's.
 * An arrow whose body was the exit (`() => process.exit(130)`) gets the block `{ process.exitCode = 130; }`.
 * Run again on the output, the listener is left as it is.
 */
function keepFixedSignalExit(ctx: TsRewriteContext, handler: Node, exit: { stmt: Node; code: string; expression?: boolean }, logs: Node[], signal: string, stmt: Node, done: Set<Node>): string | null {
  const setsCode = `process.exitCode = ${exit.code};`;
  const warning = fixedExitWarning(signal, stmt, exit, logs);
  if (exit.expression) {
    if (done.has(handler)) return null;
    done.add(handler);
    ctx.edits.replace(exit.stmt.getStart(), exit.stmt.getEnd(), `{ ${setsCode} }`);
    ctx.warnings.push(warning);
    return warning;
  }
  const body = (handler as import('ts-morph').ArrowFunction).getBody() as import('ts-morph').Block;
  const already = exit.stmt.getText() === setsCode && body.getStatements().every((c) => c === exit.stmt || logs.includes(c));
  if (already || done.has(handler)) return null;
  keepNamingLogs(ctx, handler, [...logs, exit.stmt], signal, done, warning);
  if (exit.stmt.getText() !== setsCode) ctx.edits.replace(exit.stmt.getStart(), exit.stmt.getEnd(), setsCode);
  return warning;
}

function fixedExitWarning(signal: string, stmt: Node, exit: { stmt: Node; code: string }, logs: Node[]): string {
  return `the ${signal} handler (line ${stmt.getStartLineNumber()}) ended the process with exit code ${exit.code} (line ${exit.stmt.getStartLineNumber()}): it stays a listener of its own that sets process.exitCode = ${exit.code}${logs.length > 0 ? ` after its log line${logs.length > 1 ? 's' : ''}` : ''}, which the base's exit keeps once it has stopped the agent; the rest of the handler (stopping the agent, exiting) is the base's`;
}

/**
 * The handler keeps only its log lines naming the signal: the base installs its own handler,
 * which stops the agent (onStop() calls what this one called) and exits.
 */
function keepNamingLogs(ctx: TsRewriteContext, handler: Node, logs: Node[], signal: string, done: Set<Node>, warning?: string): void {
  if (done.has(handler)) return;
  done.add(handler);
  const body = (handler as import('ts-morph').ArrowFunction).getBody() as import('ts-morph').Block;
  const gone = body.getStatements().filter((s) => !logs.includes(s));
  for (const s of gone) ctx.edits.removeNode(s);
  // A once-only flag (`let shuttingDown = false`) only the removed statements read and set goes too.
  const decl = Node.isFunctionDeclaration(handler) ? handler : handler.getFirstAncestor((a) => Node.isStatement(a) && (Node.isBlock(a.getParent()) || Node.isSourceFile(a.getParent())));
  const block = decl?.getParent();
  if (block && (Node.isBlock(block) || Node.isSourceFile(block))) {
    for (const st of block.getStatements() as Node[]) {
      if (st === decl || !Node.isVariableStatement(st) || st.getDeclarations().length !== 1) continue;
      const d = st.getDeclarations()[0]!;
      const init = d.getInitializer();
      const nameNode = d.getNameNode();
      if (!Node.isIdentifier(nameNode) || !init || !(Node.isLiteralExpression(init) || [SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword, SyntaxKind.NullKeyword].includes(init.getKind()))) continue;
      const uses = namesOf(ctx, nameNode);
      if (uses.length > 0 && uses.every((u) => gone.some((g) => g.getPos() <= u.getPos() && u.getEnd() <= g.getEnd()))) {
        ctx.plan.proposeStatement({ node: st, symbol: nameNode.getText(), finding: 'signal', reason: 'a flag only the removed part of the signal handler used' });
      }
    }
  }
  ctx.warnings.push(
    warning ??
      `the ${signal} handler logged the signal's name (line ${logs[0]!.getStartLineNumber()}: ${logs[0]!.getText().split('\n')[0]}): that line stays, in a listener of its own; the rest of the handler (stopping the agent, exiting) is the base's`,
  );
}

/** A log line: console.*, a logger's method, or a log helper function of the module (`log('INFO', ...)`). */
function isLogLine(call: import('ts-morph').CallExpression | null): boolean {
  return isLogCall(call) || isModuleLogHelperCall(call);
}

/**
 * Every call of the handler that is not about the agent, logging or exiting is a formatter inside a
 * log line's arguments: a language formatter (`JSON.stringify(...)`, `String(...)`) or a formatting
 * method of a value (`new Date().toISOString()`, `(ms / 1000).toFixed(1)`).
 */
function formattersInLogsOnly(handler: Node, agentNames: string[]): boolean {
  const calls = descendantsOfKind(handler, SyntaxKind.CallExpression);
  const others = calls.filter((c) => foreignWork(c, agentNames) !== null);
  return others.length > 0 && others.every(formatterInLogLine);
}

/** A language formatter or a value's formatting method, inside a log line's arguments. */
function formatterInLogLine(c: import('ts-morph').CallExpression): boolean {
  const callee = c.getExpression();
  const formats = PURE_CALLS.test(calleeText(c)) || (Node.isPropertyAccessExpression(callee) && FORMAT_METHODS.test(callee.getName()));
  return formats && c.getAncestors().some((a) => Node.isCallExpression(a) && isLogLine(a) && a.getArguments().some((x) => x.getPos() <= c.getPos() && c.getEnd() <= x.getEnd()));
}

/** The log line a handler's other work sits in when that work is only a runtime formatter of its arguments (`JSON.stringify(...)`), or null. */
function formattedLogLine(handler: Node, foreign: string): import('ts-morph').CallExpression | null {
  if (!/^(JSON\.stringify|String|Number|Object\.(keys|values|entries))$/.test(foreign)) return null;
  for (const c of descendantsOfKind(handler, SyntaxKind.CallExpression)) {
    if (calleeText(c) !== foreign) continue;
    const log = c.getAncestors().find((a): a is import('ts-morph').CallExpression => Node.isCallExpression(a) && isLogLine(a) && a.getArguments().some((x) => x.getPos() <= c.getPos() && c.getEnd() <= x.getEnd()));
    return log ?? null;
  }
  return null;
}

/** A statement before `line` in the handler awaits or calls the agent's stop (`await relay.close()`). */
function stopsBefore(handler: Node, line: Node, agentNames: string[]): boolean {
  return descendantsOfKind(handler, SyntaxKind.CallExpression).some((c) => c.getEnd() <= line.getPos() && (/^this\./.test(calleeText(c)) || agentNames.some((a) => calleeText(c).startsWith(`${a}.`))));
}

/**
 * `stamp()` in `console.log(`${stamp()} stopping`)`, or a method call on what it returns
 * (`new Date().toISOString()`): a formatter of the module inside a log line's arguments, part of
 * that line (it goes, or stays, with it).
 */
function inLogLine(c: import('ts-morph').CallExpression): boolean {
  const inArgs = (a: Node) => Node.isCallExpression(a) && isLogLine(a) && a.getArguments().some((x) => x.getPos() <= c.getPos() && c.getEnd() <= x.getEnd());
  return isModuleFormatterCall(c) && c.getAncestors().some(inArgs);
}

/** The member of the agent's class the statement sits in (method or property), by name. */
function hostMember(st: Node, cls: Node): string | null {
  const host = st.getFirstAncestor((a) => (Node.isMethodDeclaration(a) || Node.isPropertyDeclaration(a)) && a.getParent() === cls);
  return host && (Node.isMethodDeclaration(host) || Node.isPropertyDeclaration(host)) ? host.getName() : null;
}

/** The statement sits in a member the rewrite removes whole (its removal is no edit yet when the after-steps run). */
function removedHost(st: Node, removed: Set<string>, cls: Node): boolean {
  const host = hostMember(st, cls);
  return host !== null && removed.has(host);
}
