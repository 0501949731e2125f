// A `process.on('beforeExit', ...)` listener (write the cursor, append a summary line, log "drained")
// ran in the legacy process on SIGTERM when the signal handler only stopped the agent and let the
// event loop drain: Node emits 'beforeExit' then. The base's signal handler ends the process with
// process.exit(), which skips 'beforeExit', so that work would silently never happen. A synchronous
// listener becomes an 'exit' listener (emitted by process.exit() too); an asynchronous one cannot
// (an 'exit' listener's promises never settle) and is reported.
import path from 'node:path';
import { Node, Project, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { signalHandlerCall, descendantsOfKind } from '../../src/lang/typescript/syntax.js';
import { signalStatements } from '../../src/lang/typescript/patterns.js';
import { localHandler } from './remove-signal-handlers.js';
import { placeInHook } from './lifecycle-log-lines.js';
import { inFlightTracker } from '../../src/lang/typescript/in-flight.js';
import { stopPathMembers } from './public-api.js';

const LISTEN = /^process\.(on|once|addListener|prependListener|prependOnceListener)$/;
const DEFERS = /(^|\.)(then|catch|finally|setTimeout|setImmediate|setInterval|queueMicrotask|nextTick)$/;

/**
 * Work of the agent in flight at SIGTERM, tracked while it runs, when the legacy's SIGTERM handler did
 * not end the process: Node lived until its loop drained, so that work ran to its end and what it does
 * after the await (a history record, the 'beforeExit' write of it) happened. The base ends the process
 * with process.exit() once onStop() returns, cutting that work where it is (probe-node71's JobScheduler:
 * the legacy exited 2.3 s after SIGTERM with the running job's history line written, its _v2 22 ms after
 * with none). Unless onStop() waits for it (it awaits or loops on the tracker, or an in-flight item said
 * so), a review item naming the work and what tracks it.
 */
function flagDrainedWork(ctx: TsRewriteContext, where: string): void {
  if (ctx.kept.some((k) => k.symbol === 'in-flight wait') || exitsWhenStarted(ctx)) return;
  for (const m of ctx.cls.getMethods()) {
    const body = m.getBody();
    if (!body || m.isStatic() || m.isAbstract()) continue;
    const tracked = inFlightTracker(m);
    if (!tracked || stopWaitsOn(ctx, tracked.holder)) continue;
    const { start, holder, awaitAt, work, ends } = tracked;
    ctx.kept.push({
      symbol: 'drained work',
      line: start.getStartLineNumber(),
      reason:
        `the legacy's SIGTERM handler did not end the process: Node exited once its loop drained, so work of ${work}() still running then (tracked in ${holder}, line ${start.getStartLineNumber()} (${start.getText()}), and it ${ends} at line ${awaitAt.getStartLineNumber()}) ran to its end, and what it does after that ${ends === 'awaits' ? 'await' : 'point'} happened before the exit; ` +
        `the base ends the process with process.exit() (${where}) once onStop() returns, which cuts that work where it is and drops what it would have done after. ` +
        `Make onStop() wait for it (under the base's grace, and say what a cut leaves behind), or accept the cut`,
    });
    return;
  }
}

/**
 * The entry ends the process once a call on the agent has fulfilled (`queue.start().then(() => process.exit(0))`,
 * or `.finally(...)`): the legacy did not wait for its loop to drain, so work still in flight was not let
 * finish either. Only an exit the fulfilment callback (then's first argument, finally's) always reaches:
 * one in the rejection callback (`.then(up, (err) => process.exit(1))`) or under a condition leaves the
 * started agent draining as before.
 */
function exitsWhenStarted(ctx: TsRewriteContext): boolean {
  const agentVar = ctx.entry?.variable;
  if (!agentVar) return false;
  return descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).some((c) => {
    if (c.getExpression().getText() !== 'process.exit') return false;
    const cb = c.getFirstAncestor((f) => Node.isArrowFunction(f) || Node.isFunctionExpression(f) || Node.isFunctionDeclaration(f) || Node.isMethodDeclaration(f));
    if (!cb || !(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) || !alwaysRuns(c, cb)) return false;
    const call = cb.getParent();
    if (!call || !Node.isCallExpression(call) || call.getArguments()[0] !== cb) return false;
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !/^(then|finally)$/.test(callee.getName())) return false;
    return settlesOnAgent(callee.getExpression(), agentVar);
  });
}

/** The exit is a statement of the callback's own body (or its expression body): no branch, loop or try around it. */
function alwaysRuns(exit: Node, cb: import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression): boolean {
  const body = cb.getBody();
  if (body === exit) return true;
  const st = exit.getParent();
  return !!st && Node.isExpressionStatement(st) && st.getParent() === body && Node.isBlock(body);
}

/** `agent.start()`, or a chain of promise calls on it (`agent.start().catch(log)`): the promise settles on the agent's call. */
function settlesOnAgent(e: Node, agentVar: string): boolean {
  let n: Node = e;
  while (Node.isCallExpression(n)) {
    const callee = n.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return false;
    const recv = callee.getExpression();
    if (Node.isIdentifier(recv)) return recv.getText() === agentVar;
    if (!/^(then|catch|finally)$/.test(callee.getName())) return false;
    n = recv;
  }
  return false;
}

/**
 * The stop the base now runs (onStop() as written, a stop renamed to it, and the methods it calls) waits
 * on that tracker: an await of Promise.all/allSettled over it (`await Promise.all(this.inFlight)`,
 * `[...this.running.values()]`), or a loop on it that awaits inside (`while (this.active > 0) await sleep(50)`,
 * `for (const p of this.pending.values()) await p`). An await that only mentions it
 * (`await this.notify(`${this.inProgress.size} still running`)`) waits on something else.
 */
function stopWaitsOn(ctx: TsRewriteContext, holder: string): boolean {
  const written = ctx.newMembers.filter((x) => x.name === 'onStop').map((x) => x.text);
  if (written.length > 0) {
    const sf = new Project({ useInMemoryFileSystem: true }).createSourceFile('/on-stop.ts', `class W {\n${written.join('\n')}\n}\n`);
    if (waitsOnTracker(sf, holder, () => true)) return true;
  }
  const live = (n: Node) => !ctx.edits.removes(n.getStart(), n.getEnd());
  for (const member of stopPathMembers(ctx)) {
    for (const decl of ctx.members.get(member)?.nodes ?? []) {
      if (Node.isMethodDeclaration(decl) && decl.getBody() && waitsOnTracker(decl, holder, live)) return true;
    }
  }
  return false;
}

function waitsOnTracker(scope: Node, holder: string, live: (n: Node) => boolean): boolean {
  // The tracker itself, or what iterates it: `this.h`, `this.h.values()`, `[...this.h]`, `Array.from(this.h)`.
  const isTracker = (e: Node | undefined): boolean => {
    if (!e) return false;
    if (Node.isParenthesizedExpression(e) || Node.isAsExpression(e)) return isTracker(e.getExpression());
    if (Node.isPropertyAccessExpression(e)) return Node.isThisExpression(e.getExpression()) && `this.${e.getName()}` === holder;
    if (Node.isArrayLiteralExpression(e)) {
      const els = e.getElements();
      return els.length === 1 && Node.isSpreadElement(els[0]!) && isTracker(els[0].getExpression());
    }
    if (Node.isCallExpression(e)) {
      const callee = e.getExpression();
      if (callee.getText() === 'Array.from') return isTracker(e.getArguments()[0]);
      return Node.isPropertyAccessExpression(callee) && /^(values|map)$/.test(callee.getName()) && isTracker(callee.getExpression());
    }
    return false;
  };
  const reads = (n: Node) => [n, ...n.getDescendants()].some((d) => Node.isPropertyAccessExpression(d) && Node.isThisExpression(d.getExpression()) && `this.${d.getName()}` === holder);
  const awaitsIn = (n: Node) => descendantsOfKind(n, SyntaxKind.AwaitExpression).length > 0 || descendantsOfKind(n, SyntaxKind.ForOfStatement).some((f) => f.isAwaited());
  for (const a of descendantsOfKind(scope, SyntaxKind.AwaitExpression)) {
    const e = a.getExpression();
    if (live(a) && Node.isCallExpression(e) && /^Promise\.(all|allSettled)$/.test(e.getExpression().getText()) && isTracker(e.getArguments()[0])) return true;
  }
  for (const l of [...descendantsOfKind(scope, SyntaxKind.WhileStatement), ...descendantsOfKind(scope, SyntaxKind.DoStatement)]) {
    if (live(l) && reads(l.getExpression()) && awaitsIn(l.getStatement())) return true;
  }
  for (const l of descendantsOfKind(scope, SyntaxKind.ForOfStatement)) {
    if (live(l) && isTracker(l.getExpression()) && (l.isAwaited() || awaitsIn(l.getStatement()))) return true;
  }
  return false;
}

export function keepBeforeExit(ctx: TsRewriteContext): void {
  if (ctx.base.exitLine === null || !ctx.base.signals.has('SIGTERM')) return;
  if (legacyDrainsOnSignal(ctx)) flagDrainedWork(ctx, `${path.basename(ctx.base.file)} line ${ctx.base.exitLine}`);
  const listeners = descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).filter((c) => {
    const event = c.getArguments()[0];
    return LISTEN.test(c.getExpression().getText().replace(/\s+/g, '')) && !!event && Node.isStringLiteral(event) && event.getLiteralValue() === 'beforeExit' && !ctx.edits.removes(c.getStart(), c.getEnd());
  });
  if (listeners.length === 0 || !legacyDrainsOnSignal(ctx)) return;
  const where = `${path.basename(ctx.base.file)} line ${ctx.base.exitLine}`;
  for (const call of listeners) {
    const event = call.getArguments()[0]!;
    const handler = localHandler(call.getArguments()[1]);
    const line = call.getStartLineNumber();
    if (handler && synchronous(ctx, handler, 0)) {
      const quote = event.getText()[0]!;
      ctx.edits.replace(event.getStart(), event.getEnd(), `${quote}exit${quote}`);
      ctx.warnings.push(`the 'beforeExit' listener (line ${line}) ran when the loop drained after the SIGTERM handler; the base ends the process with process.exit() (${where}), which skips 'beforeExit': it is now an 'exit' listener (it is synchronous), which also runs on an explicit process.exit()`);
    } else if (!exitsItself(handler) && runInOnStop(ctx)) {
      ctx.warnings.push(`the 'beforeExit' listener (line ${line}) ran when the loop drained after the SIGTERM handler; the base ends the process with process.exit() (${where}), which skips 'beforeExit', and it waits on asynchronous work, which an 'exit' listener cannot: onStop() now runs the 'beforeExit' listeners once, at its end, awaiting each (and removes them, so a later drain does not run them again)`);
    } else {
      ctx.kept.push({
        symbol: "process.on('beforeExit')",
        line,
        reason: `the 'beforeExit' listener (line ${line}) ran when the loop drained after the SIGTERM handler; the base ends the process with process.exit() (${where}), which skips 'beforeExit', and this listener waits on asynchronous work, which an 'exit' listener cannot: move that work into onStop()`,
      });
    }
  }
}

/**
 * The legacy file handled SIGTERM (or SIGINT) without ending the process itself on the way that
 * succeeds: the handler (and the agent methods or local functions it calls) holds no
 * `process.exit()` outside a failure path (a catch clause, a `.catch()` callback).
 */
function legacyDrainsOnSignal(ctx: TsRewriteContext): boolean {
  const stmts = signalStatements(ctx.sf, true).filter((s) => signalHandlerCall(s, true)!.signals.some((x) => ctx.base.signals.has(x)));
  if (stmts.length === 0) return false;
  const agentVar = ctx.entry?.variable ?? null;
  return stmts.every((s) => {
    const handler = localHandler(signalHandlerCall(s, true)!.call.getArguments()[1]);
    if (!handler) return false;
    const bodies = [handler, ...calledMethods(ctx, handler, agentVar)];
    return !bodies.some((b) => descendantsOfKind(b, SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === 'process.exit' && !onFailurePath(c, b)));
  });
}

/** The agent's methods a handler calls (`this.m()`, `agent.m()`), or local functions it calls. */
function calledMethods(ctx: TsRewriteContext, fn: Node, agentVar: string | null): Node[] {
  const out: Node[] = [];
  for (const c of descendantsOfKind(fn, SyntaxKind.CallExpression)) {
    const callee = c.getExpression();
    if (Node.isPropertyAccessExpression(callee)) {
      const recv = callee.getExpression();
      if (!(Node.isThisExpression(recv) || (agentVar !== null && recv.getText() === agentVar))) continue;
      const m = ctx.cls.getMembers().find((x) => (Node.isMethodDeclaration(x) || Node.isPropertyDeclaration(x)) && x.getName() === callee.getName());
      const body = m && Node.isPropertyDeclaration(m) ? m.getInitializer() : m;
      if (body) out.push(body);
    } else if (Node.isIdentifier(callee)) {
      const local = resolveLocal(callee);
      if (local) out.push(local);
    }
  }
  return out;
}

/** A function of the file declared under this identifier's name (function declaration or const arrow). */
function resolveLocal(id: Node): Node | undefined {
  const decl = id.getSymbol()?.getDeclarations()[0];
  if (!decl) return undefined;
  if (Node.isFunctionDeclaration(decl)) return decl;
  if (Node.isVariableDeclaration(decl)) {
    const init = decl.getInitializer();
    if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return init;
  }
  return undefined;
}

function onFailurePath(call: Node, within: Node): boolean {
  for (let n: Node | undefined = call.getParent(); n && n !== within; n = n.getParent()) {
    if (Node.isCatchClause(n)) return true;
    const p = n.getParent();
    if (p && Node.isCallExpression(p) && p.getArguments().includes(n as never) && /\.catch$/.test(p.getExpression().getText())) return true;
  }
  return false;
}

/**
 * Nothing in the function (nor in the agent methods and local functions it calls, two levels
 * down) waits: not async, no await, no promise callbacks or timers, no call typed as a Promise.
 */
function synchronous(ctx: TsRewriteContext, fn: Node, depth: number): boolean {
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn))) return false;
  if (fn.isAsync()) return false;
  if (descendantsOfKind(fn, SyntaxKind.AwaitExpression).length > 0) return false;
  for (const c of descendantsOfKind(fn, SyntaxKind.CallExpression)) {
    const callee = c.getExpression().getText().replace(/\s+/g, '');
    if (DEFERS.test(callee) || callee === 'fetch') return false;
    if (/\bPromise</.test(c.getType().getText())) return false;
  }
  if (descendantsOfKind(fn, SyntaxKind.NewExpression).some((n) => n.getExpression().getText() === 'Promise')) return false;
  if (depth >= 2) return true;
  return calledMethods(ctx, fn, ctx.entry?.variable ?? null).every((m) => synchronous(ctx, m, depth + 1));
}

const ranInOnStop = new WeakSet<TsRewriteContext>();

/**
 * An asynchronous 'beforeExit' listener: the legacy ran it (with every other 'beforeExit'
 * listener, as Node does when the loop drains) after the SIGTERM handler had stopped the agent.
 * The base's stop() awaits onStop() before it exits, so onStop() ends by running those
 * listeners itself, once each, in the order Node would have, awaiting what they return. Once per
 * file (the loop runs every listener). Always true: written on the first call.
 */
function runInOnStop(ctx: TsRewriteContext): boolean {
  if (ranInOnStop.has(ctx)) return true;
  ranInOnStop.add(ctx);
  // Already there (an output rewritten again): nothing to add.
  if (ctx.cls.getMembers().some((m) => Node.isMethodDeclaration(m) && m.getName() === 'onStop' && /process\.listeners\(\s*['"]beforeExit['"]\s*\)/.test(m.getText()))) return true;
  const code = ctx.js ? 'process.exitCode' : 'Number(process.exitCode ?? 0)';
  const lines = [
    "// The base exits with process.exit() on SIGTERM, which skips 'beforeExit': its listeners run here, once.",
    "for (const listener of process.listeners('beforeExit')) {",
    `${ctx.unit}process.off('beforeExit', listener);`,
    `${ctx.unit}await listener(${code});`,
    '}',
  ];
  placeInHook(ctx, 'onStop', [], lines.map((l) => ctx.unit + l), true);
  return true;
}

/** The listener ends the process itself (process.exit() anywhere in it): running it inside onStop() would cut the base's stop short. */
function exitsItself(handler: Node | undefined): boolean {
  if (!handler) return true;
  return descendantsOfKind(handler, SyntaxKind.CallExpression).some((c) => c.getExpression().getText().replace(/\s+/g, '') === 'process.exit');
}
