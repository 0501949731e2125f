// The entry point: `new X(args).run()` in the module's main guard (`require.main === module`
// for CommonJS files, the `import.meta.url` test for ESM). The legacy start method called on
// the instance becomes run(); when that method still does business work it is renamed to the
// base's onStart() hook (or, when other code calls it too, onStart() calls it).
import { Node, Project, SyntaxKind } from 'ts-morph';
import type { EntryInfo, TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { descendantsOfKind, fileClasses, isFunctionValue, mainGuards, thisMember, throwsBecomeRejections, START_NAMES } from '../../src/lang/typescript/syntax.js';
import { isAsyncMethod } from './remove-interval-loop.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { isPublicMember } from '../../src/lang/typescript/context.js';
import { keepStartFailureExit, mayFail, startFailureExit } from './start-failure-exit.js';
import type { StartFailureExit } from './start-failure-exit.js';
import { readFileSync } from 'node:fs';
import { buildsToCommonJs } from '../../src/lang/typescript/build-kind.js';
import { agentImporters } from '../../src/lang/typescript/references.js';
import path from 'node:path';
import { resolveModule } from '../../src/lang/typescript/old-base.js';
import { classIn } from '../../src/lang/typescript/family.js';
import { awaitedSignals } from './awaited-signal-tail.js';

/** Find where the file constructs the agent: the guard body, a function the guard calls, or the top level. */
export function findEntry(ctx: Pick<TsRewriteContext, 'sf' | 'className' | 'classRef'>): EntryInfo | null {
  // `new X()`, or for an exported class expression `new module.exports()` / `new exports.X()`.
  const names = new Set([ctx.className, ...(ctx.classRef ? [ctx.classRef] : [])]);
  const sf = ctx.sf;
  addClassAliases(sf, names);
  // The start call is one of the class's own methods (or named like one): `agent.on('x', ...)`
  // on an EventEmitter agent wires a listener, it does not start the agent.
  const own = ownMethods(sf, ctx.className);
  const isStart = (name: string) => own.has(name) || START_NAMES.test(name);
  const factories = staticFactories(sf, ctx.className);
  const singletons = singletonAccessors(sf, ctx.className);
  const builders = factoryFunctions(sf, names);
  const guards = mainGuards(sf);
  const containers: Array<{ node: Node; guarded: boolean }> = [];
  for (const g of guards) {
    containers.push({ node: g, guarded: true });
    // main() called from the guard.
    g.forEachDescendant((n) => {
      if (Node.isCallExpression(n) && Node.isIdentifier(n.getExpression())) {
        const f = sf.getFunction(n.getExpression().getText());
        if (f?.getBody()) containers.push({ node: f.getBody()!, guarded: true });
      }
    });
  }
  containers.push({ node: sf, guarded: false });
  // `main().catch(...)`, `void main()`, `await main()` at the top level of a file without a
  // guard: the function's body constructs and starts the agent (searched after the top level).
  for (const s of sf.getStatements()) {
    if (!Node.isExpressionStatement(s)) continue;
    s.forEachDescendant((n, walk) => {
      if (Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n)) return walk.skip();
      if (Node.isCallExpression(n) && Node.isIdentifier(n.getExpression())) {
        const f = sf.getFunction(n.getExpression().getText());
        if (f?.getBody() && !containers.some((c) => c.node === f.getBody())) containers.push({ node: f.getBody()!, guarded: false });
      }
    });
  }
  for (const { node, guarded } of containers) {
    // The `new X()` a factory function returns is not where the agent starts: its callers are.
    const news: Node[] = descendantsOfKind(node, SyntaxKind.NewExpression)
      .filter((n) => names.has(n.getExpression().getText().replace(/\s+/g, '')) && !builders.returns.has(n));
    // `await X.create()`: a static factory of the class that constructs it (private constructor);
    // `createService(opts)`: a module function that returns `new X(...)`.
    for (const c of descendantsOfKind(node, SyntaxKind.CallExpression)) {
      const callee = c.getExpression();
      if (Node.isPropertyAccessExpression(callee) && names.has(callee.getExpression().getText()) && factories.has(callee.getName())) news.push(c);
      else if (Node.isIdentifier(callee) && builders.names.has(callee.getText())) news.push(c);
    }
    // `X.instance`: the class's singleton, built by a static getter or static field on first read.
    // Every read is the same agent: a read in a callback (`process.on('SIGTERM', () =>
    // X.instance.stop())`) is not where it starts.
    for (const a of descendantsOfKind(node, SyntaxKind.PropertyAccessExpression)) {
      if (!names.has(a.getExpression().getText()) || !singletons.has(a.getName())) continue;
      const fn = a.getFirstAncestor((f) => Node.isFunctionLikeDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f));
      if (fn && node.containsRange(fn.getPos(), fn.getEnd()) && fn !== node.getParent()) continue;
      news.push(a);
    }
    news.sort((a, b) => a.getStart() - b.getStart());
    for (let ne of news) {
      // The factory's promise: the agent is what it resolves to.
      if (Node.isCallExpression(ne) && Node.isAwaitExpression(ne.getParent())) ne = ne.getParentOrThrow();
      // Top-level search: only statements directly in the file, not inside classes/functions.
      if (!guarded && Node.isSourceFile(node)) {
        const top = ne.getParentWhile((p) => !Node.isSourceFile(p));
        if (!top || !(Node.isExpressionStatement(top) || Node.isVariableStatement(top) || startedUnderTopLevelIf(ne, top))) continue;
        // `export const metrics = { requests: new CounterMetric(...), ... }`: an instance kept in
        // a table (an object or array literal) at load is a value of the module, not an agent it starts.
        if (inLiteralTable(ne, top)) continue;
      }
      const stmt = ne.getFirstAncestor((a) => Node.isStatement(a))!;
      let variable: string | null = null;
      let methodNameNode: Node | null = null;
      const parent = ne.getParent();
      let chainEnd: Node | null = null;
      const chainedInto = Node.isPropertyAccessExpression(parent) ? chainedSetupVariable(ne, own) : null;
      if (Node.isPropertyAccessExpression(parent) && Node.isCallExpression(parent.getParent()) && !thenVariable(ne, factories) && !chainedInto) {
        // `new X().on('a', f).start()`: the first start call along the chain.
        let access: Node | undefined = parent;
        while (access && Node.isPropertyAccessExpression(access) && Node.isCallExpression(access.getParent())) {
          if (isStart(access.getName())) {
            methodNameNode = access.getNameNode();
            break;
          }
          chainEnd = access.getParent()!;
          access = chainEnd.getParent();
        }
      } else if (chainedInto || Node.isVariableDeclaration(parent) || assignedVariable(ne) || thenVariable(ne, factories)) {
        // `let svc: X; try { svc = X.fromEnv(); } catch { ... }`: the variable is declared (and
        // started) in an enclosing block; the assignment only gives it its value. `X.create(file)
        // .then((svc) => { ...; return svc.run(); })`: the callback's parameter is the agent.
        const assigned = Node.isVariableDeclaration(parent) ? null : (assignedVariable(ne) ?? thenVariable(ne, factories)!);
        variable = chainedInto ? chainedInto.getName() : assigned ? assigned.name : (parent as import('ts-morph').VariableDeclaration).getName();
        // The start call among the block's own statements: one named like a start method first,
        // else the last call of the class's own methods (`agent.register(spec)` comes before
        // `agent.start()`); calls nested in loops or callbacks only when there is none.
        const block = assigned ? assigned.block : stmt.getParentOrThrow();
        const calls: Node[] = [];
        const waited = signalWaitIndex(block);
        block.forEachDescendant((n) => {
          if (Node.isPropertyAccessExpression(n) && n.getExpression().getText() === variable && Node.isCallExpression(n.getParent()) && (n.getParent() as Node).getChildAtIndex(0) === n) {
            if (isStart(n.getName()) && !insideSignalHandler(n) && !afterSignalWait(n, block, waited)) calls.push(n);
          }
        });
        const topLevel = calls.filter((c) => c.getFirstAncestor((a) => Node.isStatement(a))?.getParent() === block);
        const pool = topLevel.length > 0 ? topLevel : calls;
        const chosen = pool.find((c) => START_NAMES.test((c as import('ts-morph').PropertyAccessExpression).getName())) ?? pool[pool.length - 1];
        if (chosen && Node.isPropertyAccessExpression(chosen)) methodNameNode = chosen.getNameNode();
      }
      const container = Node.isIfStatement(node) ? node.getThenStatement() : node;
      return {
        container,
        guarded,
        newExpr: ne,
        method: methodNameNode ? (methodNameNode as Node).getText() : null,
        methodNameNode,
        variable,
        statement: stmt,
        chainEnd: methodNameNode ? null : chainEnd,
      };
    }
  }
  return null;
}

/** A construction inside an object or array literal, below the top-level statement `top`. */
function inLiteralTable(ne: Node, top: Node): boolean {
  for (let a = ne.getParent(); a && a !== top; a = a.getParent()) {
    if (Node.isObjectLiteralExpression(a) || Node.isArrayLiteralExpression(a)) return true;
    if (Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) return false;
  }
  return false;
}

/**
 * `if (isMainThread) { const farm = new Farm(); farm.start(); } else { workerMain(); }` (or
 * `cluster.isPrimary`, a feature flag): the module starts the agent at load, under a condition
 * of its own, from a statement of a block of a top-level if/else chain. That is the entry point
 * (a guard added beside it would start a second agent in the same process).
 */
function startedUnderTopLevelIf(ne: Node, top: Node): boolean {
  if (!Node.isIfStatement(top)) return false;
  const stmt = ne.getFirstAncestor((a) => Node.isStatement(a));
  if (!stmt || !(Node.isExpressionStatement(stmt) || Node.isVariableStatement(stmt))) return false;
  for (let a = stmt.getParent(); a && a !== top; a = a.getParent()) {
    if (!Node.isBlock(a) && !Node.isIfStatement(a)) return false;
  }
  return true;
}

/**
 * `svc = X.fromEnv()` (or `= new X()`) assigning a `let` declared in an enclosing block of the
 * same function: the variable and the block that declares it.
 */
function assignedVariable(ne: Node): { name: string; block: Node } | null {
  const parent = ne.getParent();
  if (!parent || !Node.isBinaryExpression(parent) || parent.getRight() !== ne || parent.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  const left = parent.getLeft();
  if (!Node.isIdentifier(left) || !Node.isExpressionStatement(parent.getParent())) return null;
  const decl = left.getSymbol()?.getDeclarations().find((d) => Node.isVariableDeclaration(d));
  const declStmt = decl?.getFirstAncestor((a) => Node.isVariableStatement(a));
  const block = declStmt?.getParent();
  if (!decl || !block || !(Node.isBlock(block) || Node.isSourceFile(block)) || !block.containsRange(parent.getPos(), parent.getEnd())) return null;
  // Only blocks of the same function (a callback assigning it later is not the start).
  const fnOf = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  if (fnOf(parent) !== fnOf(declStmt!)) return null;
  return { name: left.getText(), block };
}

/**
 * `X.create(file).then((svc) => { ... })`: a static factory's promise whose fulfilment callback
 * receives the agent as its only parameter. The parameter and the callback's body (where the
 * agent is started) play the part of a declared variable and its block.
 */
function thenVariable(ne: Node, factories: Set<string>): { name: string; block: Node } | null {
  if (!Node.isCallExpression(ne)) return null;
  const callee = ne.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !factories.has(callee.getName())) return null;
  const access = ne.getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'then') return null;
  const call = access.getParent();
  if (!call || !Node.isCallExpression(call) || call.getExpression() !== access) return null;
  const cb = call.getArguments()[0];
  if (!cb || !(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) || cb.getParameters().length !== 1) return null;
  const name = cb.getParameters()[0]!.getNameNode();
  if (!Node.isIdentifier(name)) return null;
  return { name: name.getText(), block: cb.getBody() };
}

/** An argument that means the same inside the class: literals, module-level names, process.env. */
function moduleEvaluable(arg: Node): boolean {
  let ok = true;
  const check = (n: Node) => {
    if (!ok) return;
    if (n.getKind() === SyntaxKind.ThisKeyword) ok = false;
    if (Node.isIdentifier(n)) {
      const p = n.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === n) return;
      for (const d of n.getSymbol()?.getDeclarations() ?? []) {
        if (d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isIfStatement(a) || Node.isBlock(a))) ok = false;
      }
    }
  };
  check(arg);
  arg.forEachDescendant(check);
  return ok;
}

/**
 * onStart() (a business start method renamed) that awaits a loop running until the agent stops
 * (`await this.receive()` over a `for await`, a `while (!signal.aborted)`): the base awaits
 * onStart() before it starts runOnce() and resolves start(), so that await would hold both back
 * for the agent's whole life. From that statement on, the method's statements run in an async
 * function onStart() starts and does not wait for (their order among themselves unchanged).
 * When a rejection of the method ended the process through the entry point (`exit`), the detached
 * tail's rejection still does: it was the same promise, settled later. The kept statements before
 * the tail (still awaited by onStart()), or null when nothing was detached.
 */
function detachBlockingTail(ctx: TsRewriteContext, m: string, exit: StartFailureExit | null = null): Node[] | null {
  const decl = ctx.members.get(m)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
  if (!decl || !Node.isMethodDeclaration(decl) || !decl.isAsync()) return null;
  const body = decl.getBody();
  if (!body || !Node.isBlock(body)) return null;
  const stmts = body.getStatements();
  const kept = (st: Node) => !ctx.edits.removes(st.getStart(), st.getEnd());
  const i = stmts.findIndex((st) => kept(st) && runsUntilStopped(ctx, st));
  if (i < 0) return null;
  const t = ctx.text;
  const lineStart = (pos: number) => t.lastIndexOf('\n', pos - 1) + 1;
  const first = lineStart(stmts[i]!.getStart(true));
  const close = lineStart(body.getEnd() - 1);
  const indent = indentAt(t, stmts[i]!.getStart());
  const templates = body.getDescendants().filter((n) => Node.isTemplateExpression(n) || Node.isNoSubstitutionTemplateLiteral(n));
  // Legacy callers awaited the method, so its loop's last round and what follows the loop (the
  // final flush, the closing log line) ran before the process ended. The base exits once its
  // stop() resolves: when the loop provably ends at stop, onStop() waits for the detached tail.
  const field = stopsWithAgent(ctx, stmts[i]!) ? waitInOnStop(ctx, m) : null;
  ctx.edits.insert(first, `${indent}${field ? `this.${field} = ` : 'void '}(async () => {\n`);
  // Each line one unit deeper, after its own indentation (a try wrapped around the whole body
  // later indents those lines once more, and only text at a line's start counts as a new line).
  for (let pos = first; pos < close; pos = t.indexOf('\n', pos) + 1) {
    const inTemplate = templates.some((n) => n.getStart() < pos && pos < n.getEnd());
    const p = pos + /^[ \t]*/.exec(t.slice(pos))![0].length;
    if (!inTemplate && t[p] !== '\n' && t[p] !== '\r' && !ctx.edits.removes(p, p + 1)) ctx.edits.insert(p, ctx.unit);
  }
  // onStop() waits for the field's promise: the handler (which awaits stop()) goes on it apart.
  const caught = exit ? `.catch(${exit.handler(indent)})` : '';
  // At the end of the last line kept (not at the closing brace's line, where a try around the
  // body ends): the line break that ends it.
  let end = close - 1;
  while (end > first && ctx.edits.removes(end, end + 1)) end = t.lastIndexOf('\n', end - 1);
  if (t[end - 1] === '\r') end -= 1;
  ctx.edits.insert(end, `\n${indent}})()${field ? '' : caught};${field && exit ? `\n${indent}this.${field}${caught};` : ''}`);
  ctx.warnings.push(
    `${m}() waits on a loop that runs until the agent stops (line ${stmts[i]!.getStartLineNumber()}): onStart() starts it and everything after it without waiting, so the base's start() completes and its runOnce() loop runs` +
      (field ? `; onStop() waits for it (this.${field}), as the legacy caller did before the process ended` : ''),
  );
  if (exit) {
    ctx.warnings.push(
      `${m}() rejecting ended the process through ${exit.via} (line ${exit.line}: exit ${exit.code}), also when its loop (line ${stmts[i]!.getStartLineNumber()}) failed later: the detached loop's rejection now does what that handler did, after the base's stop()`,
    );
  }
  return stmts.slice(0, i).filter(kept);
}

/**
 * The start method renamed to onStart(): when its rejection ended the process through the entry
 * point's fatal `.catch()`, it still does, from the detached loop and from what onStart() awaits
 * before it that can fail (a call other than a log line, an await, a throw).
 */
function keepStartFailures(ctx: TsRewriteContext, e: EntryInfo, m: string): void {
  const exit = startFailureExit(ctx, e);
  const before = detachBlockingTail(ctx, m, exit);
  if (exit && (!before || before.some(mayFail))) keepStartFailureExit(ctx, exit, m);
}

/** An async method of the agent whose body awaits a loop that runs until the agent stops. */
function untilStopped(ctx: TsRewriteContext, m: string): boolean {
  return !!stoppingLoop(ctx, m);
}

/** The statement of async method m that awaits a loop running until the agent stops (one the rewrite keeps). */
function stoppingLoop(ctx: TsRewriteContext, m: string): Node | undefined {
  const decl = ctx.members.get(m)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
  if (!decl || !Node.isMethodDeclaration(decl) || !decl.isAsync()) return undefined;
  const body = decl.getBody();
  if (!body || !Node.isBlock(body)) return undefined;
  return body.getStatements().find((st) => !ctx.edits.removes(st.getStart(), st.getEnd()) && runsUntilStopped(ctx, st));
}

/**
 * onStart() for a start method other code calls too, so it stays as it is and onStart() calls it.
 * When it loops until the agent stops (`while (!this.stopped) { ...; await sleep(...) }`),
 * awaiting it would hold the base's start() and runOnce() back for the agent's whole life, as in
 * detachBlockingTail(): onStart() starts it without waiting, and onStop() waits for it when the
 * loop provably ends at stop (the legacy caller awaited its last round before the process ended).
 */
function callingOnStart(ctx: TsRewriteContext, m: string): string {
  const async = isAsyncMethod(ctx, m);
  const loop = async ? stoppingLoop(ctx, m) : undefined;
  if (!loop) return methodText(ctx, { name: 'onStart', async, body: `${ctx.unit}${async ? 'await ' : ''}this.${m}();` });
  const field = stopsWithAgent(ctx, loop) ? waitInOnStop(ctx, m) : null;
  ctx.warnings.push(
    `${m}() waits on a loop that runs until the agent stops (line ${loop.getStartLineNumber()}): onStart() starts it without waiting, so the base's start() completes and its runOnce() loop runs` +
      (field ? `; onStop() waits for it (this.${field}), as the legacy caller did before the process ended` : ''),
  );
  return methodText(ctx, { name: 'onStart', async: false, body: `${ctx.unit}${field ? `this.${field} = ` : 'void '}this.${m}();` });
}

/**
 * A loop statement whose condition the agent's stop ends: `while (!this.stopSignal.aborted)` (the
 * base aborts it before onStop()), `while (!this.ctl.signal.aborted)` with `this.ctl.abort()` on
 * the stop path, `while (!this.stopped)` / `while (this.running)` with the flag set there. Not a
 * `while (true)`, nor a loop a method call hides: waiting for those could hold stop() back.
 */
function stopsWithAgent(ctx: TsRewriteContext, st: Node): boolean {
  // `await this.consume()`, when the legacy process ended only once the start method resolved
  // (the entry's `.then(() => process.exit(0))`): the one loop it drains (its own, or a generator's
  // it awaits) decides. Where a signal handler exited instead, nothing waited for the loop.
  if (Node.isExpressionStatement(st)) {
    if (!exitsOnceResolved(ctx)) return false;
    const loops = awaitedLoops(ctx, st);
    return loops.length === 1 && stopsWithAgent(ctx, loops[0]!);
  }
  const cond = continueCondition(st);
  if (cond === null) return false;
  if (/^!this\.stopSignal\??\.aborted$/.test(cond) && ctx.base.members.has('stopSignal') && !ctx.members.has('stopSignal')) return true;
  const ctl = /^!this\.([\w$]+)\.signal\??\.aborted$/.exec(cond);
  if (ctl) {
    const abort = new RegExp(`this\\.${ctl[1]}\\??\\.abort\\(`);
    const path = stopPathMethods(ctx);
    if (ctx.newMembers.some((n) => n.name === 'onStop' && abort.test(n.text))) return true;
    return [...path].some((name) => (ctx.members.get(name)?.nodes ?? []).some((d) => Node.isMethodDeclaration(d) && abort.test(d.getText())));
  }
  return endsAtStop(ctx, cond);
}

/**
 * The condition a loop statement goes on under, as text without spaces: a `while`'s or `do`'s,
 * or for `for (;;) { if (X) break; ... }` / `while (true) { if (X) break; ... }` (the exit test
 * first in the body) the negation of X. Null for other loops.
 */
function continueCondition(st: Node): string | null {
  const endless = (Node.isForStatement(st) && !st.getCondition() && !st.getIncrementor()) || ((Node.isWhileStatement(st) || Node.isDoStatement(st)) && st.getExpression().getKind() === SyntaxKind.TrueKeyword);
  if (!endless) return Node.isWhileStatement(st) || Node.isDoStatement(st) ? st.getExpression().getText().replace(/\s+/g, '') : null;
  const body = (st as import('ts-morph').ForStatement | import('ts-morph').WhileStatement | import('ts-morph').DoStatement).getStatement();
  const first = Node.isBlock(body) ? body.getStatements()[0] : body;
  if (!first || !Node.isIfStatement(first) || first.getElseStatement()) return null;
  const then = first.getThenStatement();
  const exit = Node.isBlock(then) && then.getStatements().length === 1 ? then.getStatements()[0] : then;
  if (!exit || !Node.isBreakStatement(exit) || exit.getLabel()) return null;
  let x = first.getExpression();
  while (Node.isParenthesizedExpression(x)) x = x.getExpression();
  if (Node.isPrefixUnaryExpression(x) && x.getOperatorToken() === SyntaxKind.ExclamationToken) return x.getOperand().getText().replace(/\s+/g, '');
  return /^[\w$.#?]+$/.test(x.getText().replace(/\s+/g, '')) ? `!${x.getText().replace(/\s+/g, '')}` : null;
}

/**
 * Make onStop() wait for a promise kept in a new field (named so no member clashes); the field's
 * name, or null when onStop() cannot be made to wait (a kept method that is not async).
 */
function waitInOnStop(ctx: TsRewriteContext, m: string): string | null {
  let field = `${m}Tail`;
  for (let k = 2; ctx.members.has(field) || ctx.base.members.has(field); k++) field = `${m}Tail${k}`;
  const wait = `${ctx.unit}await this.${field};`;
  const added = ctx.newMembers.find((n) => n.name === 'onStop');
  const own = [...ctx.renames].find(([, to]) => to === 'onStop')?.[0] ?? (ctx.members.get('onStop')?.kind === 'method' ? 'onStop' : undefined);
  if (added) {
    const close = added.text.lastIndexOf('\n}');
    let text = `${added.text.slice(0, close)}\n${wait}${added.text.slice(close)}`;
    if (!/^(protected override )?async /.test(text)) {
      text = text.replace(/^((?:protected override )?)onStop\(\)(: void)? \{/, (_, mods: string, ret?: string) => `${mods}async onStop()${ret ? ': Promise<void>' : ''} {`);
      if (!/^(protected override )?async onStop\(\)/.test(text)) return null;
    }
    added.text = text;
  } else if (own) {
    const decl = ctx.members.get(own)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
    if (!decl || !Node.isMethodDeclaration(decl) || decl.isGenerator()) return null;
    const body = decl.getBody();
    if (!body || !Node.isBlock(body)) return null;
    if (!decl.isAsync()) {
      // `stop(): void { this.ctl.abort(); ... }`: made async so that it can wait (nothing it
      // returned is lost: it returned nothing); a value-returning one stays as it is.
      const returns = decl.getReturnTypeNode();
      if (returns && returns.getText() !== 'void') return null;
      if (descendantsOfKind(body, SyntaxKind.ReturnStatement).some((r) => r.getExpression())) return null;
      if (returns) ctx.edits.replace(returns.getStart(), returns.getEnd(), 'Promise<void>');
      ctx.edits.insert(decl.getNameNode().getStart(), 'async ');
      const thrown = throwsBecomeRejections(decl, 'onStop');
      if (thrown) ctx.warnings.push(`${own}() is now async so that onStop() can wait for ${m}()'s loop (line ${decl.getStartLineNumber()})${thrown}`);
    }
    // Before the closing brace's line: the end of the last statement may be removed with it.
    const close = body.getEnd() - 1;
    const closeLine = ctx.text.lastIndexOf('\n', close - 1) + 1;
    const wait_ = reindent(wait, ctx.unit, indentAt(ctx.text, body.getStart()) + ctx.unit);
    if (ctx.text.slice(closeLine, close).trim() === '') ctx.edits.insert(closeLine, `${wait_}\n`);
    else ctx.edits.insert(close, `\n${wait_}\n`);
  } else {
    ctx.newMembers.push({ name: 'onStop', text: methodText(ctx, { name: 'onStop', async: true, body: wait }) });
  }
  ctx.newFields.push(ctx.js ? `${field};` : `private ${field}: Promise<void> | undefined;`);
  return field;
}

/** The stop path: the method now onStop() (or onStop() itself), what the new onStop() calls, and the methods those call. */
export function stopPathMethods(ctx: TsRewriteContext): Set<string> {
  const stopPath = new Set<string>([...ctx.renames].filter(([, to]) => to === 'onStop').map(([from]) => from));
  if (ctx.members.has('onStop')) stopPath.add('onStop');
  for (const n of ctx.newMembers) if (n.name === 'onStop') for (const c of n.text.matchAll(/this\.([#\w$]+)\(/g)) stopPath.add(c[1]!);
  const bodies = (name: string) => (ctx.members.get(name)?.nodes ?? []).filter((d) => Node.isMethodDeclaration(d) && d.hasBody());
  for (const name of [...stopPath]) {
    for (const d of bodies(name)) {
      for (const call of descendantsOfKind(d, SyntaxKind.CallExpression)) {
        const callee = thisMember(call.getExpression());
        if (callee && ctx.members.get(callee)?.kind === 'method') stopPath.add(callee);
      }
    }
  }
  return stopPath;
}

/** A statement that awaits a loop ending only when the agent stops, directly or in a method it awaits. */
function runsUntilStopped(ctx: TsRewriteContext, st: Node): boolean {
  const endless = (n: Node) =>
    (Node.isForOfStatement(n) && !!n.getAwaitKeyword()) ||
    // `for (;;) { if (signal.aborted) break; ... }`: the same endless loop as `while (true)`.
    (Node.isForStatement(n) && !n.getCondition()) ||
    ((Node.isWhileStatement(n) || Node.isDoStatement(n)) && (/^(true|!.*\.aborted|!this\.\w+\.signal\.aborted)$/.test(n.getExpression().getText().replace(/\s+/g, '')) || endsAtStop(ctx, n.getExpression().getText().replace(/\s+/g, ''))));
  if (endless(st)) return true;
  if (Node.isTryStatement(st)) return st.getTryBlock().getStatements().some((x) => runsUntilStopped(ctx, x));
  if (!Node.isExpressionStatement(st)) return false;
  const e = st.getExpression();
  if (!Node.isAwaitExpression(e)) return false;
  const call = e.getExpression();
  const name = Node.isCallExpression(call) ? thisMember(call.getExpression()) : null;
  const methodOf = (member: string | null) => bodiedMethod(ctx, member);
  const loopsItself = (m: import('ts-morph').MethodDeclaration) =>
    m.getDescendants().some((n) => endless(n) && n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === m);
  const target = methodOf(name);
  if (!target) return false;
  if (loopsItself(target)) return true;
  // `await pipeline(Readable.from(this.entries()), sink, { signal })` where entries() is an async
  // generator looping until the agent stops: what it awaits drains that loop, so it lasts as long.
  return descendantsOfKind(target, SyntaxKind.AwaitExpression).some((aw) =>
    descendantsOfKind(aw, SyntaxKind.CallExpression).some((c) => {
      const inner = methodOf(thisMember(c.getExpression()));
      return !!inner && inner !== target && loopsItself(inner);
    }),
  );
}

/** The agent's method of that name with a body, if it has one. */
function bodiedMethod(ctx: TsRewriteContext, member: string | null): import('ts-morph').MethodDeclaration | undefined {
  const d = member ? ctx.members.get(member)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody()) : undefined;
  return d && Node.isMethodDeclaration(d) ? d : undefined;
}

/**
 * The entry point's start call is `x.main().then(() => { ...; process.exit(...) }, ...)`, or
 * `await x.main();` followed by `process.exit(...)`: the process ended once it resolved.
 */
function exitsOnceResolved(ctx: TsRewriteContext): boolean {
  const call = ctx.entry?.methodNameNode?.getParent()?.getParent();
  const then = call?.getParent();
  if (then && Node.isAwaitExpression(then)) {
    const stmt = then.getParent();
    const next = stmt && Node.isExpressionStatement(stmt) ? stmt.getNextSibling() : undefined;
    return !!next && Node.isExpressionStatement(next) && /^process\.exit\(/.test(next.getExpression().getText());
  }
  if (!call || !then || !Node.isPropertyAccessExpression(then) || then.getName() !== 'then') return false;
  const outer = then.getParent();
  const onResolved = outer && Node.isCallExpression(outer) ? outer.getArguments()[0] : undefined;
  return !!onResolved && (Node.isArrowFunction(onResolved) || Node.isFunctionExpression(onResolved)) && /\bprocess\.exit\(/.test(onResolved.getText());
}

/**
 * The endless loops `await this.x()` runs until the agent stops: x()'s own (not in a callback), or
 * those of the methods x() awaits a call of (a generator its pipeline drains). Loops only.
 */
function awaitedLoops(ctx: TsRewriteContext, st: Node): Node[] {
  const e = Node.isExpressionStatement(st) ? st.getExpression() : null;
  const call = e && Node.isAwaitExpression(e) ? e.getExpression() : null;
  const methodOf = (member: string | null) => bodiedMethod(ctx, member);
  const target = call && Node.isCallExpression(call) ? methodOf(thisMember(call.getExpression())) : undefined;
  if (!target) return [];
  const loopsOf = (m: import('ts-morph').MethodDeclaration) =>
    m.getDescendants().filter(
      (n) =>
        (Node.isWhileStatement(n) || Node.isDoStatement(n) || Node.isForStatement(n)) &&
        n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === m &&
        runsUntilStopped(ctx, n),
    );
  const own = loopsOf(target);
  if (own.length > 0) return own;
  const inner = new Set<import('ts-morph').MethodDeclaration>();
  // (`for await (const batch of this.batches())` drains the generator as an awaited pipeline does.)
  const drained = [...descendantsOfKind(target, SyntaxKind.AwaitExpression), ...descendantsOfKind(target, SyntaxKind.ForOfStatement).filter((f) => !!f.getAwaitKeyword()).map((f) => f.getExpression())];
  for (const aw of drained) {
    for (const c of [aw, ...descendantsOfKind(aw, SyntaxKind.CallExpression)]) {
      if (!Node.isCallExpression(c)) continue;
      const m = methodOf(thisMember(c.getExpression()));
      if (m && m !== target) inner.add(m);
    }
  }
  return [...inner].flatMap(loopsOf);
}

/**
 * `while (!this.stopped)` / `while (this.running)`: a flag of the agent that its stop path (the
 * method that is now onStop(), or what onStop() calls, and the methods those call) sets to the
 * value ending the loop. Such a loop runs until the agent stops, as one over an AbortSignal does.
 */
function endsAtStop(ctx: TsRewriteContext, cond: string): boolean {
  const m = /^(!?)this\.([#\w$]+)$/.exec(cond);
  if (!m) return false;
  const flag = m[2]!;
  const ending = m[1] ? SyntaxKind.TrueKeyword : SyntaxKind.FalseKeyword;
  const stopPath = stopPathMethods(ctx);
  const bodies = (name: string) => (ctx.members.get(name)?.nodes ?? []).filter((d) => Node.isMethodDeclaration(d) && d.hasBody());
  return [...stopPath].some((name) =>
    bodies(name).some((d) =>
      descendantsOfKind(d, SyntaxKind.BinaryExpression).some(
        (b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(b.getLeft()) === flag && b.getRight().getKind() === ending,
      ),
    ),
  );
}

/**
 * How the entry point reaches an agent whose constructor is private or protected: `X.get()` (a static
 * method building it that needs no argument and is not async) or `X.instance` (a singleton accessor),
 * undefined when the constructor is open (`new X()`), null when no such member builds it.
 */
function closedConstructorAccess(ctx: TsRewriteContext): string | null | undefined {
  if (!ctx.ctor || !(ctx.ctor.hasModifier(SyntaxKind.PrivateKeyword) || ctx.ctor.hasModifier(SyntaxKind.ProtectedKeyword))) return undefined;
  const ref = ctx.classRef ?? ctx.className;
  // Only a member the module can read: a private static is as closed as the constructor.
  const open = (n: Node | undefined) => !!n && !(Node.isModifierable(n) && (n.hasModifier(SyntaxKind.PrivateKeyword) || n.hasModifier(SyntaxKind.ProtectedKeyword)));
  const accessor = [...singletonAccessors(ctx.sf, ctx.className)].find((n) => open(ctx.cls.getGetAccessor(n) ?? ctx.cls.getStaticProperty(n)));
  if (accessor) return `${ref}.${accessor}`;
  for (const name of staticFactories(ctx.sf, ctx.className)) {
    const m = ctx.cls.getStaticMethod(name);
    if (!m || !open(m) || m.isAsync() || m.getParameters().some((p) => !p.isOptional() && !p.hasInitializer() && !p.isRestParameter())) continue;
    // Its value is the agent, not a promise of it (a method returning `Promise<X>` is a factory to await).
    if (/\bPromise\s*</.test(m.getReturnTypeNode()?.getText() ?? '')) continue;
    return `${ref}.${name}()`;
  }
  return null;
}

/** Static methods of the class that construct it (`static async create() { ... return new X(...) }`). */
function staticFactories(sf: import('ts-morph').SourceFile, className: string): Set<string> {
  const fc = fileClasses(sf).find((c) => c.name === className);
  const out = new Set<string>();
  for (const m of fc?.cls.getMethods() ?? []) {
    if (!m.isStatic()) continue;
    const builds = descendantsOfKind(m, SyntaxKind.NewExpression).some((n) => [className, 'this'].includes(n.getExpression().getText()));
    if (builds) out.add(m.getName());
  }
  return out;
}

/**
 * The class's singleton accessors: `static get instance() { return (X._i ??= new X()); }` and
 * `static readonly instance = new X()`. Reading one constructs (or returns) the agent, as a call
 * of a static factory does, with no call to see.
 */
function singletonAccessors(sf: import('ts-morph').SourceFile, className: string): Set<string> {
  const fc = fileClasses(sf).find((c) => c.name === className);
  const out = new Set<string>();
  const builds = (n: Node | undefined) => !!n && (Node.isNewExpression(n) ? [n] : descendantsOfKind(n, SyntaxKind.NewExpression)).some((e) => [className, 'this'].includes((e as import('ts-morph').NewExpression).getExpression().getText()));
  for (const g of fc?.cls.getGetAccessors() ?? []) if (g.isStatic() && builds(g.getBody())) out.add(g.getName());
  for (const p of fc?.cls.getProperties() ?? []) if (p.isStatic() && builds(p.getInitializer())) out.add(p.getName());
  return out;
}

/**
 * Module-level functions that build the agent and hand it back (`function createService(opts) {
 * return new X({ ...DEFAULTS, ...opts }); }`, `const make = (o) => new X(o)`): their names, and
 * the `new X()` each returns (not an entry point itself: its callers start the agent, or not).
 */
function factoryFunctions(sf: import('ts-morph').SourceFile, names: Set<string>): { names: Set<string>; returns: Set<Node> } {
  const out = { names: new Set<string>(), returns: new Set<Node>() };
  const built = (e: Node | undefined): Node | undefined => {
    let cur = e;
    while (cur && (Node.isParenthesizedExpression(cur) || Node.isAwaitExpression(cur) || Node.isAsExpression(cur))) cur = cur.getExpression();
    return cur && Node.isNewExpression(cur) && names.has(cur.getExpression().getText().replace(/\s+/g, '')) ? cur : undefined;
  };
  const consider = (name: string | undefined, fn: Node | undefined) => {
    if (!name || !fn) return;
    const returned: Node[] = [];
    if (Node.isArrowFunction(fn) && !Node.isBlock(fn.getBody())) {
      const b = built(fn.getBody());
      if (b) returned.push(b);
    } else if (Node.isFunctionDeclaration(fn) || Node.isFunctionExpression(fn) || Node.isArrowFunction(fn)) {
      // The function's own returns (not those of a callback inside it, `svc.on('error', (e) => ...)`,
      // which ended the walk that looked for them before).
      for (const n of fn.getDescendantsOfKind(SyntaxKind.ReturnStatement)) {
        if (n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isClassDeclaration(a)) !== fn) continue;
        const b = built(n.getExpression()) ?? builtLocal(fn, n.getExpression());
        if (b) returned.push(b);
      }
    }
    if (returned.length === 0) return;
    out.names.add(name);
    for (const r of returned) out.returns.add(r);
  };
  // `const svc = new X(opts); svc.on('error', log); return svc;`: the local the function built it in.
  const builtLocal = (fn: Node, e: Node | undefined): Node | undefined => {
    if (!e || !Node.isIdentifier(e)) return undefined;
    const body = (fn as import('ts-morph').FunctionDeclaration).getBody?.();
    if (!body || !Node.isBlock(body)) return undefined;
    for (const st of body.getStatements()) {
      if (!Node.isVariableStatement(st) || st.getDeclarationKind() !== 'const') continue;
      const d = st.getDeclarations().find((x) => x.getName() === e.getText());
      if (d) return built(d.getInitializer());
    }
    return undefined;
  };
  for (const f of sf.getFunctions()) consider(f.getName(), f);
  for (const v of sf.getVariableStatements()) for (const d of v.getDeclarations()) consider(d.getName(), d.getInitializer());
  return out;
}

/** Names a start method has when the class does not declare it itself (inherited from an old base). */

/**
 * `const queue = new RetryQueue().register('webhook', handler);` then `queue.start()`: a chain of
 * the class's own setup methods (none named like a start method, each returning the agent)
 * whose result a variable keeps. The variable is the agent, and its start call is found among
 * the block's statements like for `const queue = new RetryQueue();`; the chain stays as it is.
 */
function chainedSetupVariable(ne: Node, own: Set<string>): import('ts-morph').VariableDeclaration | null {
  let top: Node = ne;
  for (;;) {
    const access = top.getParent();
    if (!access || !Node.isPropertyAccessExpression(access) || access.getExpression() !== top) break;
    const call = access.getParent();
    if (!call || !Node.isCallExpression(call) || call.getExpression() !== access) return null;
    if (!own.has(access.getName()) || START_NAMES.test(access.getName())) return null;
    top = call;
  }
  if (top === ne) return null;
  const decl = top.getParent();
  if (!decl || !Node.isVariableDeclaration(decl) || decl.getInitializer() !== top || !Node.isIdentifier(decl.getNameNode())) return null;
  // Each link gives the agent back (`return this`): else the variable holds something else.
  for (let cur: Node = top; cur !== ne; cur = (cur as import('ts-morph').CallExpression).getExpression().getChildAtIndex(0)) {
    const name = ((cur as import('ts-morph').CallExpression).getExpression() as import('ts-morph').PropertyAccessExpression).getName();
    if (!returnsThis(ne.getSourceFile(), ne.getFirstChildByKind(SyntaxKind.Identifier)?.getText() ?? '', name)) return null;
  }
  return decl;
}

/** The class's method of this name returns the instance (`return this`, typed `this` or the class). */
function returnsThis(sf: import('ts-morph').SourceFile, className: string, method: string): boolean {
  const cls = sf.getClass(className);
  const m = cls?.getInstanceMethod(method);
  if (!m) return false;
  const declared = m.getReturnTypeNode()?.getText().replace(/\s+/g, '');
  if (declared) return new RegExp(`^(this|${className})$`).test(declared);
  const own = descendantsOfKind(m, SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === m);
  return own.length > 0 && own.every((r) => r.getExpression()?.getKind() === SyntaxKind.ThisKeyword);
}

/** Methods the class declares: methods and arrow-function properties. */
function ownMethods(sf: import('ts-morph').SourceFile, className: string): Set<string> {
  const fc = fileClasses(sf).find((c) => c.name === className);
  const out = new Set<string>();
  for (const m of fc?.cls.getMembers() ?? []) {
    if (Node.isMethodDeclaration(m)) out.add(m.getName());
    else if (Node.isPropertyDeclaration(m) && isFunctionValue(m.getInitializer())) out.add(m.getName());
  }
  return out;
}

/** EventEmitter methods that return the emitter, so `.run()` can follow them in a chain. */
const RETURNS_THIS = /^(on|once|addListener|prependListener|prependOnceListener|off|removeListener|removeAllListeners|setMaxListeners)$/;

/**
 * A call the entry makes once it has waited for a signal itself (`await once(process, 'SIGTERM');
 * await rotator.close();`, `await new Promise((r) => process.once('SIGINT', r))`, a Promise.race of
 * such waits): the stop path, not the start (probe-node71's SecretRotator: close() was taken for the
 * start, the last own call, and became onStart()). `waited`: signalWaitIndex(block).
 */
function afterSignalWait(n: Node, block: Node, waited: number): boolean {
  if (waited < 0 || !(Node.isBlock(block) || Node.isSourceFile(block))) return false;
  const stmt = n.getFirstAncestor((a) => Node.isStatement(a) && a.getParent() === block);
  return !!stmt && block.getStatements().indexOf(stmt as never) > waited;
}

/** The index of the block's first statement awaiting a signal (awaited-signal-tail's reading of one), -1 when none. */
function signalWaitIndex(block: Node): number {
  if (!(Node.isBlock(block) || Node.isSourceFile(block))) return -1;
  return block.getStatements().findIndex((st) => descendantsOfKind(st, SyntaxKind.AwaitExpression).some((a) => awaitedSignals(a.getExpression()).length > 0));
}

function insideSignalHandler(n: Node): boolean {
  return !!n.getFirstAncestor((a) => Node.isCallExpression(a) && /^process\.(on|once)$/.test(a.getExpression().getText()));
}

/** Rewrite the entry call after the plan is resolved. */
export function rewriteEntry(ctx: TsRewriteContext, removed: Set<string>): void {
  const e = ctx.entry;
  if (!e) {
    addGuard(ctx, removed);
    return;
  }
  const run = waitsThenGoesOn(ctx, e) ? 'start' : ctx.ts.main_loop_method ?? 'run';
  const m = e.method;
  if (m && m !== run) {
    ctx.edits.replace(e.methodNameNode!.getStart(), e.methodNameNode!.getEnd(), run);
    if (removed.has(m)) moveArguments(ctx, e, m);
  } else if (!m) {
    let handed: ReturnType<typeof handedTo>;
    if (!e.guarded && Node.isVariableStatement(e.statement) && e.variable && exportedInstance(ctx.sf, e.statement, e.variable)) {
      // `export const relay = new MetricsRelay()`: the module hands its one instance to the
      // modules that import it, and they start it; starting it here would start it on import.
      ctx.warnings.push(`${e.variable} (line ${e.statement.getStartLineNumber()}) is the instance the module exports and its importers start: no run() added to the module`);
    } else if (!e.guarded && exportedConstruction(e.newExpr)) {
      // `module.exports = new DigestPoller()`: the same hand-over in CommonJS. Appending `.run()`
      // would export run()'s promise instead of the instance, and start the agent on require.
      ctx.warnings.push(`the instance built at line ${e.statement.getStartLineNumber()} is what the module exports (${exportedConstruction(e.newExpr)}) and its importers start: no run() added to the module`);
      return;
    } else if (Node.isVariableStatement(e.statement) && e.variable) {
      const indent = indentAt(ctx.text, e.statement.getStart());
      ctx.edits.insert(e.statement.getEnd(), `\n${indent}${e.variable}.${run}();`);
    } else if (e.chainEnd) {
      // `new X().on('tick', f)` → `new X().on('tick', f).run()` when the chain returns the agent.
      const chainOk = (() => {
        let cur: Node | undefined = e.newExpr.getParent();
        while (cur && Node.isPropertyAccessExpression(cur) && cur.getPos() < e.chainEnd!.getEnd()) {
          if (!RETURNS_THIS.test(cur.getName())) return false;
          cur = cur.getParent()?.getParent();
        }
        return true;
      })();
      if (chainOk) ctx.edits.insert(e.chainEnd.getEnd(), `.${run}()`);
      else ctx.warnings.push(`the agent built at line ${e.statement.getStartLineNumber()} is not started: call ${run}() on it`);
    } else if ((handed = handedTo(ctx, e.newExpr))) {
      // `QueueWorker.main(new ThumbnailWorker())`: the construction is an argument, not a receiver;
      // `.run()` there would hand the function run()'s promise instead of the agent.
      const h = handed;
      if (h.starts) {
        ctx.warnings.push(`the agent built at line ${e.statement.getStartLineNumber()} is handed to ${h.callee}(), which starts it (${h.starts}): no ${run}() added`);
      } else {
        ctx.kept.push({
          symbol: `${h.callee}()`,
          line: e.statement.getStartLineNumber(),
          reason: `the agent built here is handed to ${h.callee}(), which ${h.read ? `calls neither start() nor ${run}() on it (${h.read})` : 'is not a function of this module or of its class or parent, so what it does with the agent is not known'}: the base's health server, registration and metrics start only from start() or ${run}(); check that it starts the agent, or call ${run}() on it by hand`,
        });
      }
    } else {
      ctx.edits.insert(e.newExpr.getEnd(), `.${run}()`);
    }
  }
  // The legacy start method: gone when it was only infrastructure, else the onStart() hook.
  if (m && ctx.members.get(m)?.kind === 'method' && !removed.has(m)) {
    const otherUses = ctx.usesOutside(m);
    const call = e.methodNameNode!.getParent()?.getParent();
    const args = call && Node.isCallExpression(call) ? call.getArguments() : [];
    if (args.length > 0 && m !== run) {
      // `metrics.listen(port)`: the base calls onStart() without arguments, so onStart() makes the
      // call with the entry point's arguments when they mean the same there (module-level values).
      if (args.every((a) => moduleEvaluable(a)) && !ctx.members.has('onStart')) {
        const async = isAsyncMethod(ctx, m);
        ctx.newMembers.push({ name: 'onStart', text: methodText(ctx, { name: 'onStart', async, body: `${ctx.unit}${async ? 'await ' : ''}this.${m}(${args.map((a) => a.getText()).join(', ')});` }) });
        ctx.edits.replace(args[0]!.getStart(), args[args.length - 1]!.getEnd(), '');
        ctx.warnings.push(`${m}(${args.map((a) => a.getText()).join(', ')}) still does business work: the base's onStart() hook now makes that call`);
      } else {
        ctx.kept.push({ symbol: m, line: ctx.members.get(m)!.line, reason: `${m}() takes the entry point's arguments, which cannot move into onStart(): start it from onStart() by hand` });
      }
    } else if (args.length > 0) {
      // `agent.run(x)`: the base's run() takes no arguments and calls onStart() bare, so the
      // entry point's values become the parameters' defaults (exact for the one call there was).
      const moved = otherUses === 0 && argumentsAsDefaults(ctx, m, args);
      ctx.edits.replace(args[0]!.getStart(), args[args.length - 1]!.getEnd(), '');
      ctx.renameMember(m, 'onStart', `${m}() still does business work: renamed to the base's onStart() hook (the base's ${m}() calls it)`);
      keepStartFailures(ctx, e, m);
      if (moved) ctx.warnings.push(`${m}() took ${args.map((a) => a.getText()).join(', ')} from the entry point: the base calls onStart() without arguments, so those are its parameters' defaults now`);
      else ctx.kept.push({ symbol: m, line: ctx.members.get(m)!.line, reason: `${m}() takes the entry point's arguments, which the base's ${m}() does not pass on to onStart(): give them to onStart() by hand` });
    } else if (otherUses === 0 && !ctx.base.members.has(m)) {
      ctx.renameMember(m, 'onStart', `${m}() still does business work: renamed to the base's onStart() hook`);
      keepStartFailures(ctx, e, m);
    } else if (m === run || ctx.base.members.get(m)?.kind === 'method') {
      // The base's own run()/start() calls onStart(): its callers reach the business through it.
      ctx.renameMember(m, 'onStart', `${m}() still does business work: renamed to the base's onStart() hook (the base's ${m}() calls it)`);
      keepStartFailures(ctx, e, m);
    } else if (!ctx.members.has('onStart')) {
      ctx.warnings.push(`${m}() is also called elsewhere: the base's onStart() hook now calls it`);
      ctx.newMembers.push({ name: 'onStart', text: callingOnStart(ctx, m) });
    }
  }
  if (!e.guarded && Node.isExpressionStatement(e.statement)) {
    ctx.warnings.push(`the entry point at line ${e.statement.getStartLineNumber()} is not inside a main guard`);
  }
}

/**
 * The call a construction is an argument of (`QueueWorker.main(new ThumbnailWorker())`,
 * `serve(new Relay(), port)`), or null. `starts` says where the function it is handed to starts that
 * parameter (`worker.start()` at line 95 of workers/queue-worker.ts), when the function is one this
 * rewrite can read: a function of the module, or a static method of the agent's class or of the
 * in-repository parent it follows; `read` says which function was read when it starts nothing.
 */
function handedTo(ctx: TsRewriteContext, ne: Node): { callee: string; starts: string | null; read: string | null } | null {
  const call = ne.getParent();
  if (!call || !Node.isCallExpression(call) || !call.getArguments().includes(ne)) return null;
  const index = call.getArguments().indexOf(ne);
  const callee = call.getExpression();
  const found = calledFunction(ctx, callee);
  if (!found) return { callee: callee.getText(), starts: null, read: null };
  const param = found.fn.getParameters()[index];
  const where = `${callee.getText()}() at line ${found.fn.getStartLineNumber()}${found.file ? ` of ${found.file}` : ''}`;
  if (!param || !Node.isIdentifier(param.getNameNode())) return { callee: callee.getText(), starts: null, read: where };
  const name = param.getName();
  const starters = new Set(['start', 'run', ctx.ts.main_loop_method ?? 'run']);
  const start = found.fn.getDescendantsOfKind(SyntaxKind.CallExpression).find((c) => {
    const x = c.getExpression();
    return Node.isPropertyAccessExpression(x) && x.getExpression().getText() === name && starters.has(x.getName());
  });
  const starts = start ? `${start.getExpression().getText()}() at line ${start.getStartLineNumber()}${found.file ? ` of ${found.file}` : ''}` : null;
  return { callee: callee.getText(), starts, read: where };
}

type HandedFunction = import('ts-morph').FunctionDeclaration | import('ts-morph').MethodDeclaration | import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression;

/** The function a callee names: a function of this module, or a static method of the agent's class or its family parent's (read from its file). */
function calledFunction(ctx: TsRewriteContext, callee: Node): { fn: HandedFunction; file: string | null } | null {
  if (Node.isIdentifier(callee)) {
    const fn = ctx.sf.getFunction(callee.getText());
    if (fn?.hasBody()) return { fn, file: null };
    const v = ctx.sf.getVariableDeclaration(callee.getText());
    const init = v?.getInitializer();
    if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return { fn: init, file: null };
    return null;
  }
  if (!Node.isPropertyAccessExpression(callee)) return null;
  const owner = callee.getExpression().getText();
  const staticOf = (cls: import('../../src/lang/typescript/syntax.js').ClassLike) =>
    cls.getMembers().find((m): m is import('ts-morph').MethodDeclaration => Node.isMethodDeclaration(m) && m.isStatic() && m.getName() === callee.getName() && m.hasBody());
  if (owner === ctx.className) {
    const fn = staticOf(ctx.cls);
    return fn ? { fn, file: null } : null;
  }
  if (ctx.parent.kind === 'family' && owner === ctx.parent.parent.className && Node.isStringLiteral(ctx.parent.parent.specifier)) {
    const file = resolveModule(path.resolve(ctx.root, path.dirname(ctx.file)), ctx.parent.parent.specifier.getLiteralText());
    if (!file) return null;
    const cls = classIn(file, owner, false)?.cls;
    const fn = cls ? staticOf(cls) : undefined;
    return fn ? { fn, file: path.relative(ctx.root, file) } : null;
  }
  return null;
}

/** `module.exports = new X()`, `exports.poller = new X()`: the CommonJS export the construction is, or null. */
function exportedConstruction(ne: Node): string | null {
  const b = ne.getParent();
  if (!b || !Node.isBinaryExpression(b) || b.getRight() !== ne || b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  const left = b.getLeft().getText();
  return /^(module\.exports|exports)(\.[A-Za-z_$][\w$]*)?$/.test(left) ? left : null;
}

/** `export default new X(...)` (or `export = new X(...)`) of the agent class: that statement, else null. */
function defaultExportedConstruction(ctx: TsRewriteContext): import('ts-morph').ExportAssignment | null {
  for (const st of ctx.sf.getStatements()) {
    if (!Node.isExportAssignment(st)) continue;
    let e: Node = st.getExpression();
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (Node.isNewExpression(e) && e.getExpression().getText() === ctx.className) return st;
  }
  return null;
}

/** The top-level variable is exported: `export const x`, `export { x }`, `export default x`, `module.exports = x`, `exports.y = x`. */
function exportedInstance(sf: import('ts-morph').SourceFile, stmt: import('ts-morph').VariableStatement, name: string): boolean {
  if (stmt.hasExportKeyword()) return true;
  return sf.getStatements().some((st) => {
    if (Node.isExportDeclaration(st)) return !st.getModuleSpecifier() && st.getNamedExports().some((x) => (x.getNameNode().getText()) === name);
    if (Node.isExportAssignment(st)) return st.getExpression().getText() === name;
    if (!Node.isExpressionStatement(st)) return false;
    const b = st.getExpression();
    return Node.isBinaryExpression(b) && b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /^(module\.exports|exports)\b/.test(b.getLeft().getText()) && b.getRight().getText() === name;
  });
}

/**
 * `await agent.start(); <more statements>` (or `.then(...)` on it): the code after the call ran
 * once the agent was up. The base's run() resolves only once the agent stops, so the call
 * becomes the base's start(), which resolves once the agent runs (when the base has one).
 */
function waitsThenGoesOn(ctx: TsRewriteContext, e: EntryInfo): boolean {
  if (!e.methodNameNode || ctx.base.members.get('start')?.kind !== 'method') return false;
  const call = e.methodNameNode.getParent()?.getParent();
  if (!call || !Node.isCallExpression(call)) return false;
  // `await drain.consume(); console.log('stopped')` where consume() loops until the agent stops:
  // what follows ran once it had stopped, which is when the base's run() resolves.
  if (e.method && untilStopped(ctx, e.method)) return false;
  // On the base already, the base's own run() is that call (a second rewrite keeps it).
  if (ctx.parent.kind === 'base' && e.method === (ctx.ts.main_loop_method ?? 'run') && !ctx.members.has(e.method)) return false;
  const parent = call.getParent();
  if (Node.isPropertyAccessExpression(parent) && parent.getName() === 'then') return true;
  if (!Node.isAwaitExpression(parent)) return false;
  const stmt = call.getFirstAncestor((a) => Node.isStatement(a));
  const block = stmt?.getParent();
  if (!stmt || !block || !(Node.isBlock(block) || Node.isSourceFile(block))) return false;
  const after = (block.getStatements() as Node[]).filter((s) => s.getPos() >= stmt.getEnd());
  // Declarations do nothing by themselves (`let stopping = false` beside a removed handler).
  const inert = (s: Node) =>
    Node.isFunctionDeclaration(s) || Node.isClassDeclaration(s) || Node.isInterfaceDeclaration(s) || Node.isTypeAliasDeclaration(s) ||
    (Node.isVariableStatement(s) && s.getDeclarations().every((d) => { const i = d.getInitializer(); return !i || Node.isLiteralExpression(i) || /^(true|false|null|undefined)$/.test(i.getText()); }));
  return after.some((s) => !inert(s) && !ctx.edits.removes(s.getStart(), s.getEnd()));
}

/**
 * The entry point's arguments of `m` as the defaults of its parameters, when every argument is
 * a module-level value and lands on a plain named parameter (no rest, no destructuring, no `?`).
 */
function argumentsAsDefaults(ctx: TsRewriteContext, m: string, args: Node[]): boolean {
  if (!args.every((a) => moduleEvaluable(a) && !Node.isSpreadElement(a))) return false;
  return parametersDefaultTo(ctx, m, args.map((a) => a.getText()));
}

/**
 * The method's first parameters default to these values (the one call the base no longer makes
 * with them), when it has one implementation and they are plain named parameters.
 */
export function parametersDefaultTo(ctx: TsRewriteContext, m: string, values: string[]): boolean {
  const impls = ctx.members.get(m)?.nodes ?? [];
  const impl = impls.length === 1 ? impls[0] : undefined;
  if (!impl || !Node.isMethodDeclaration(impl) || !impl.hasBody()) return false;
  const params = impl.getParameters();
  if (params.length < values.length) return false;
  const targets = params.slice(0, values.length);
  if (targets.some((p) => p.isRestParameter() || p.hasQuestionToken() || !Node.isIdentifier(p.getNameNode()))) return false;
  targets.forEach((p, i) => {
    const init = p.getInitializer();
    if (init) ctx.edits.replace(init.getStart(), init.getEnd(), values[i]!);
    else ctx.edits.insert(p.getEnd(), ` = ${values[i]}`);
  });
  return true;
}

/**
 * `new X().listen(port)` where listen() went: run() takes no arguments, so values for the
 * base's options (by the profile's pass-through names) move into the constructor call when
 * the constructor forwards options; anything else is dropped with a warning.
 */
function moveArguments(ctx: TsRewriteContext, e: EntryInfo, m: string): void {
  const call = e.methodNameNode!.getParent()?.getParent();
  if (!call || !Node.isCallExpression(call)) return;
  const args = call.getArguments();
  if (args.length === 0) return;
  const impl = ctx.members.get(m)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
  const params = impl && Node.isMethodDeclaration(impl) ? impl.getParameters() : [];
  const moved: string[] = [];
  const dropped: string[] = [];
  args.forEach((a, i) => {
    const pname = params[i]?.getName();
    const key = pname ? Object.entries(ctx.ts.super_call.pass_through ?? {}).find(([, names]) => names.includes(pname))?.[0] : undefined;
    if (key && ctx.newConstructor) moved.push(`${key}: ${a.getText()}`);
    else dropped.push(a.getText());
  });
  ctx.edits.replace(args[0]!.getStart(), args[args.length - 1]!.getEnd(), '');
  const newExpr = e.newExpr;
  if (moved.length > 0 && Node.isNewExpression(newExpr) && newExpr.getArguments().length === 0) {
    ctx.edits.insert(newExpr.getEnd() - 1, `{ ${moved.join(', ')} }`);
    ctx.warnings.push(`the argument of ${m}() now reaches the base through the constructor options (${moved.join(', ')})`);
  } else if (moved.length > 0) dropped.push(...moved);
  if (dropped.length > 0) ctx.warnings.push(`${m}() is gone and run() takes no arguments: dropped ${dropped.join(', ')}`);
}

/**
 * A parameter the constructor body defaults before anything else reads it (`options = options ||
 * {}`, `opts ??= {}`, `if (!opts) opts = {}`): JavaScript constructors written so are called bare.
 */
function defaultedFirst(ctx: TsRewriteContext, name: string): boolean {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body)) return false;
  const mentions = (n: Node) => n.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === name);
  const defaults = (e: Node | undefined): boolean => {
    if (!e || !Node.isBinaryExpression(e) || e.getLeft().getText() !== name) return false;
    const op = e.getOperatorToken().getKind();
    if (op === SyntaxKind.BarBarEqualsToken || op === SyntaxKind.QuestionQuestionEqualsToken) return true;
    const r = e.getRight();
    return op === SyntaxKind.EqualsToken && Node.isBinaryExpression(r) && r.getLeft().getText() === name &&
      [SyntaxKind.BarBarToken, SyntaxKind.QuestionQuestionToken].includes(r.getOperatorToken().getKind());
  };
  for (const s of body.getStatements()) {
    if (!mentions(s)) continue;
    if (Node.isExpressionStatement(s)) return defaults(s.getExpression());
    if (Node.isIfStatement(s) && !s.getElseStatement() && s.getExpression().getText().replace(/\s+/g, '') === `!${name}`) {
      const then = s.getThenStatement();
      const only = Node.isBlock(then) ? (then.getStatements().length === 1 ? then.getStatements()[0] : undefined) : then;
      const e = only && Node.isExpressionStatement(only) ? only.getExpression() : undefined;
      return !!e && Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && e.getLeft().getText() === name;
    }
    return false;
  }
  return false;
}

/**
 * `const d = new MailDispatcher(config); d.listen();` in server.js, the module that builds and
 * starts the agent: the module itself has no entry point, and the starter calls a method of the
 * agent's own that neither is the base's start()/run() nor now leads to it. Nothing would start
 * the base (its health server, registration, metrics): the _v2 runs as the legacy agent did, on
 * the base in name only. Reported for review with the starter's line, rather than as migrated.
 */
function startedOnlyElsewhere(ctx: TsRewriteContext, removed: Set<string>): void {
  const starters = new Set(['start', 'run']);
  for (const [from, to] of ctx.renames) if (to === 'onStart' || to === 'runOnce') starters.add(from);
  for (const name of removed) if (ctx.plan.members.get(name)?.delegate === 'start') starters.add(name);
  const constructs = new RegExp(`\\bnew\\s+${ctx.className}\\b`);
  const builds = (file: string): boolean => {
    try {
      return constructs.test(readFileSync(path.join(ctx.root, file), 'utf8'));
    } catch {
      return false;
    }
  };
  // A method that starts the base itself (`listen(cb) { this.start().then(...) }`, as a first
  // rewrite leaves it) is a start.
  for (const m of ctx.members.values()) {
    const body = m.kind === 'method' ? m.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody()) : undefined;
    if (body && descendantsOfKind(body, SyntaxKind.CallExpression).some((c) => ['start', 'run'].includes(thisMember(c.getExpression()) ?? ''))) starters.add(m.name);
  }
  if ([...starters].some((m) => ctx.outsideCallers(m).some((c) => builds(c.file)))) return;
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' || removed.has(m.name) || ctx.renames.has(m.name) || ctx.base.members.has(m.name) || !isPublicMember(ctx, m.name)) continue;
    const call = ctx.outsideCallers(m.name).find((c) => builds(c.file));
    if (!call) continue;
    const refused = wrapOwnLifecycle(ctx, m.name, call, removed);
    if (refused === null) return;
    ctx.kept.push({
      symbol: refused.symbol ?? m.name,
      line: refused.symbol ? ctx.members.get(refused.symbol)!.line : m.line,
      reason:
        `${call.file}:${call.line} builds ${ctx.className} and starts it with ${m.name}() (${call.text}), which does not start the base: ` +
        `nothing calls its start() or run(), so the base's health server, registration and metrics never come up; start it there with start() (or run())` +
        (refused.why ? ` (${m.name}() is not made a wrapper of the base's start(): ${refused.why})` : ''),
    });
    return;
  }
}

/**
 * The express/http-server idiom: `const d = new MailDispatcher(config); d.listen();` and
 * `process.on('SIGTERM', () => d.close(() => process.exit(0)))` in the starter, `listen(cb)` and
 * `close(cb)` the class's own start and stop, each calling back once done. Their bodies become the
 * base's onStart() and onStop() (each resolving when it would have called back), and `listen(cb)`
 * / `close(cb)` stay as wrappers that call the base's start() / stop() and then back, so the
 * starter keeps working unchanged and starting the service starts the base (health, registry,
 * metrics). Both SIGTERM handlers stop the agent once (stop() is idempotent; the base's, on a
 * signal, exits 0 once stopped and deregistered), so the starter's may only exit 0 in its callback.
 * Null when done, else why not (the review item says it), with the member that stops it.
 */
function wrapOwnLifecycle(ctx: TsRewriteContext, m: string, call: { file: string; line: number }, removed: Set<string>): { why: string | null; symbol?: string } | null {
  let starter: import('ts-morph').SourceFile;
  try {
    starter = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } }).createSourceFile(path.basename(call.file), readFileSync(path.join(ctx.root, call.file), 'utf8'));
  } catch {
    return { why: null };
  }
  const startCall = descendantsOfKind(starter, SyntaxKind.CallExpression).find((c) => {
    const callee = c.getExpression();
    return c.getStartLineNumber() === call.line && Node.isPropertyAccessExpression(callee) && callee.getName() === m && Node.isIdentifier(callee.getExpression());
  });
  if (!startCall) return { why: null };
  const variable = (startCall.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression().getText();
  if (!valueUnused(startCall) || startCall.getArguments().length > 1) {
    // `await cache.listen();`: only awaited, for the promise an async start settles (rejecting on a port in use).
    const awaited = startCall.getArguments().length === 0 && Node.isAwaitExpression(startCall.getParent()) && Node.isExpressionStatement(startCall.getParentOrThrow().getParent());
    if (awaited) {
      return {
        why:
          `the starter awaits the promise ${m}() returns (line ${call.line}: ${startCall.getParentOrThrow().getParentOrThrow().getText()}), which rejects when ${m}()'s own work fails (a port in use); ` +
          `a wrapper of the base's start() would resolve all the same, since the base only logs a failing onStart(), and the starter would go on as if the service had started`,
      };
    }
    return { why: `the starter uses what ${m}() returns or passes it more than a callback (line ${call.line})` };
  }
  // The starter's signal handlers and the agent methods they call on it.
  const handlers: Node[] = [];
  for (const c of descendantsOfKind(starter, SyntaxKind.CallExpression)) {
    if (!/^process\.(on|once)$/.test(c.getExpression().getText())) continue;
    const [sig, fn] = c.getArguments();
    if (!sig || !/^['"`]SIG(TERM|INT)['"`]$/.test(sig.getText()) || !fn) continue;
    if (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) handlers.push(fn);
    else if (Node.isIdentifier(fn)) {
      const f = starter.getFunction(fn.getText()) ?? starter.getVariableDeclaration(fn.getText())?.getInitializer();
      if (!f || !(Node.isFunctionDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f))) return { why: `the signal handler ${fn.getText()} (line ${c.getStartLineNumber()}) is not a function of the starter` };
      handlers.push(f);
    } else return { why: `the signal handler at line ${c.getStartLineNumber()} is not a function of the starter` };
  }
  const stopCalls: import('ts-morph').CallExpression[] = [];
  for (const h of handlers) {
    for (const c of descendantsOfKind(h, SyntaxKind.CallExpression)) {
      const callee = c.getExpression();
      if (Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === variable) stopCalls.push(c);
      // An exit of the handler's own (not the callback of the stop it asks for) would end the
      // process before the base deregisters.
      else if (/^process\.exit$/.test(callee.getText()) && !stopCalls.some((s) => s.getArguments().some((a) => a.containsRange(c.getPos(), c.getEnd())))) {
        const inStopArgument = descendantsOfKind(h, SyntaxKind.CallExpression).some((s) => {
          const e = s.getExpression();
          return Node.isPropertyAccessExpression(e) && e.getExpression().getText() === variable && s.getArguments().some((a) => a.containsRange(c.getPos(), c.getEnd()));
        });
        if (!inStopArgument) return { why: `the starter's signal handler exits by itself (line ${c.getStartLineNumber()}), before the base deregisters` };
      }
    }
  }
  const stops = [...new Set(stopCalls.map((c) => (c.getExpression() as import('ts-morph').PropertyAccessExpression).getName()))];
  if (stops.length > 1) return { why: `the starter's signal handlers call ${stops.map((x) => `${x}()`).join(', ')} on it` };
  const stop = stops[0];
  if (stop !== undefined && (stop === m || ctx.members.get(stop)?.kind !== 'method' || ctx.base.members.has(stop) || removed.has(stop) || ctx.renames.has(stop))) {
    return { why: `the starter's signal handler calls ${stop}() (line ${stopCalls[0]!.getStartLineNumber()}), not a method of its own the base's stop() can take` };
  }
  for (const c of stopCalls) {
    if (!valueUnused(c) || c.getArguments().length > 1) return { why: `the starter uses what ${stop}() returns or passes it more than a callback (line ${c.getStartLineNumber()})` };
    const cb = c.getArguments()[0];
    if (cb && !onlyExitsClean(cb)) {
      return { why: `the callback the starter passes to ${stop}() (line ${c.getStartLineNumber()}) does more than exit 0, and the base's SIGTERM handler exits 0 once stopped, before it runs`, symbol: stop };
    }
  }
  for (const name of stop === undefined ? [m] : [m, stop]) {
    const why = callbackShapeRefusal(ctx, name);
    if (why) return { why, symbol: name };
    // `restart() { this.close(() => this.listen()); }`: the class's own calls mean its own server
    // again, which the base's start() (once per process) and stop() would not give.
    const own = ctx.cls.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression).find((p) => thisMember(p) === name && !ctx.members.get(name)!.nodes.some((d) => d.containsRange(p.getPos(), p.getEnd())));
    if (own) return { why: `the agent's own code calls ${name}() too (line ${own.getStartLineNumber()})`, symbol: name };
  }
  if (['onStart', 'onStop'].some((h) => ctx.members.has(h) || ctx.newMembers.some((n) => n.name === h) || [...ctx.renames.values()].includes(h))) {
    return { why: 'the class already has an onStart() or onStop()' };
  }
  wrapMethod(ctx, m, 'onStart', 'start', `${call.file}:${call.line}`);
  if (stop !== undefined) wrapMethod(ctx, stop, 'onStop', 'stop', `${call.file}:${stopCalls[0]!.getStartLineNumber()}`);
  if (handlers.length > 0) {
    ctx.warnings.push(
      `${call.file} stops the agent from its own signal handler${stop ? ` (${stop}(), line ${stopCalls[0]!.getStartLineNumber()})` : ''} beside the base's: both reach the base's stop(), which runs once; on SIGTERM the base exits 0 once stopped and deregistered`,
    );
  }
  return null;
}

/** A call whose value nothing takes: a statement, `void x.f()`, or the whole body of an arrow function whose own value nothing takes either (a listener's). */
function valueUnused(c: Node): boolean {
  let e: Node = c;
  while (Node.isVoidExpression(e.getParent()) || Node.isParenthesizedExpression(e.getParent())) e = e.getParentOrThrow();
  const parent = e.getParent();
  if (Node.isExpressionStatement(parent)) return true;
  // `process.on('SIGTERM', () => d.close(...))`: the listener's value is dropped by process.on.
  return !!parent && Node.isArrowFunction(parent) && parent.getBody() === e && Node.isCallExpression(parent.getParent()) && /^process\.(on|once)$/.test((parent.getParent() as import('ts-morph').CallExpression).getExpression().getText());
}

/** `() => process.exit(0)`, `() => { process.exit(); }`, `() => {}`: a callback that only ends the process cleanly. */
function onlyExitsClean(cb: Node): boolean {
  if (!Node.isArrowFunction(cb) && !Node.isFunctionExpression(cb)) return false;
  const body = cb.getBody();
  const stmts = Node.isBlock(body) ? body.getStatements() : [body];
  if (stmts.length > 1) return false;
  if (stmts.length === 0) return true;
  const only = stmts[0]!;
  const e = Node.isExpressionStatement(only) ? only.getExpression() : only;
  return /^process\.exit\((0)?\)$/.test(e.getText().replace(/\s+/g, ''));
}

/**
 * Why `name(cb)` cannot become a hook resolving when it would have called back (null when it
 * can): one method, synchronous, at most one parameter, which it only calls, tests or hands on,
 * and no return or throw of its own that could leave the callback uncalled.
 */
function callbackShapeRefusal(ctx: TsRewriteContext, name: string): string | null {
  const nodes = ctx.members.get(name)?.nodes ?? [];
  const decl = nodes.length === 1 ? nodes[0] : undefined;
  if (!decl || !Node.isMethodDeclaration(decl) || !decl.hasBody() || decl.isStatic() || decl.isAsync() || decl.isGenerator()) return `${name}() is not one synchronous method`;
  const params = decl.getParameters();
  if (params.length > 1) return `${name}() takes ${params.length} parameters`;
  const own = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === decl;
  const p = params[0];
  // `if (!this.server) return done?.();`: a return that is the call back itself leaves none uncalled.
  const callsBack = (r: Node) => {
    const e = Node.isReturnStatement(r) ? r.getExpression() : undefined;
    const call = e && Node.isVoidExpression(e) ? e.getExpression() : e;
    return !!p && !!call && Node.isCallExpression(call) && call.getExpression().getText() === p.getName();
  };
  if ([...descendantsOfKind(decl, SyntaxKind.ReturnStatement), ...descendantsOfKind(decl, SyntaxKind.ThrowStatement)].some((r) => own(r) && !callsBack(r))) return `${name}() returns or throws before it may call back`;
  if (!p) return null;
  if (!Node.isIdentifier(p.getNameNode()) || p.hasInitializer() || p.isRestParameter()) return `${name}()'s parameter is not a plain callback`;
  if (!ctx.js) {
    const type = p.getTypeNode()?.getText().replace(/\s+/g, '');
    if (type !== undefined && !(p.hasQuestionToken() && /^\(\)=>void$/.test(type))) return `${name}()'s callback is typed ${type}`;
  }
  const cb = p.getName();
  let calls = 0;
  let other: Node | undefined;
  decl.getBody()!.forEachDescendant((n) => {
    if (other || !Node.isIdentifier(n) || n.getText() !== cb) return;
    const parent = n.getParent()!;
    if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === n) return;
    if (Node.isCallExpression(parent) && parent.getExpression() === n) calls++;
    else if (Node.isCallExpression(parent) && parent.getArguments().includes(n)) calls++;
    else if (Node.isIfStatement(parent) && parent.getExpression() === n) return;
    else if (Node.isBinaryExpression(parent) && parent.getLeft() === n && parent.getOperatorToken().getKind() === SyntaxKind.AmpersandAmpersandToken) return;
    else other = n;
  });
  if (other) return `${name}() uses its callback otherwise (line ${other.getStartLineNumber()})`;
  if (calls === 0) return `${name}() never calls its callback`;
  return null;
}

/**
 * `listen(cb) { BODY }` → `onStart() { return new Promise((resolve, reject) => { const cb = ...; BODY }); }`
 * plus `listen(cb) { this.start().then(() => { if (cb) cb(); }, ...); }`: the body keeps its bytes
 * (one level deeper) and the hook settles when it would have called back.
 */
function wrapMethod(ctx: TsRewriteContext, name: string, hook: 'onStart' | 'onStop', base: 'start' | 'stop', caller: string): void {
  const decl = ctx.members.get(name)!.nodes[0] as import('ts-morph').MethodDeclaration;
  const param = decl.getParameters()[0];
  const body = decl.getBody() as import('ts-morph').Block;
  const u = ctx.unit;
  const failed = base === 'start' ? ', () => undefined' : '';
  const then = param
    ? `${u}this.${base}().then(() => {\n${u}${u}if (${param.getName()}) ${param.getName()}();\n${u}}${failed});`
    : `${u}this.${base}().then(() => undefined${failed});`;
  ctx.newMembers.push({ name, text: methodText(ctx, { name, async: false, params: param?.getText() ?? '', body: then, visibility: 'public' }) });
  ctx.renameMember(
    name,
    hook,
    `${name}() was the service's own ${base === 'start' ? 'start' : 'stop'}, called from ${caller}: its body is now the base's ${hook}() hook${param ? ` (settling when it called back)` : ''}, and ${name}(${param?.getName() ?? ''}) a wrapper that calls the base's ${base}()${param ? ' and then back' : ''}, so ${caller.replace(/:\d+$/, '')} keeps working unchanged`,
  );
  if (!param) return;
  if (!ctx.js) {
    const returns = decl.getReturnTypeNode();
    if (returns) ctx.edits.replace(returns.getStart(), returns.getEnd(), 'Promise<void>');
    else ctx.edits.insert(decl.getParameters().length ? decl.getFirstChildByKindOrThrow(SyntaxKind.CloseParenToken).getEnd() : body.getStart(), ': Promise<void>');
  }
  ctx.edits.replace(param.getStart(), param.getEnd(), '');
  const text = ctx.text;
  const methodText_ = decl.getText();
  let [ok, no] = ['resolve', 'reject'];
  for (let k = 2; new RegExp(`\\b(${ok}|${no})\\b`).test(methodText_); k++) [ok, no] = [`resolve${k}`, `reject${k}`];
  const lineStart = (pos: number) => text.lastIndexOf('\n', pos - 1) + 1;
  const stmts = body.getStatements();
  const close = lineStart(body.getEnd() - 1);
  const inner = indentAt(text, body.getStart()) + u;
  const first = stmts.length ? lineStart(stmts[0]!.getStart(true)) : close;
  const templates = body.getDescendants().filter((n) => Node.isTemplateExpression(n) || Node.isNoSubstitutionTemplateLiteral(n));
  const errType = ctx.js ? '' : '?: unknown';
  ctx.edits.insert(first, `${inner}return new Promise${ctx.js ? '' : '<void>'}((${ok}, ${no}) => {\n${inner}${u}const ${param.getName()} = (err${errType}) => (err ? ${no}(err) : ${ok}());\n`);
  for (let pos = first; pos < close; pos = text.indexOf('\n', pos) + 1) {
    const inTemplate = templates.some((n) => n.getStart() < pos && pos < n.getEnd());
    if (!inTemplate && text[pos] !== '\n' && text[pos] !== '\r' && !ctx.edits.removes(pos, pos + 1)) ctx.edits.insert(pos, u);
  }
  ctx.edits.insert(close, `${inner}});\n`);
}

/**
 * A file that builds the agent with arguments it reads from its command line (`bin/feed-relay.js`
 * parsing --port and --poll-ms into `new FeedRelay(options)`) or from the environment (`const port =
 * Number(process.env.ORDERS_PORT ?? 8080)` into `new OrdersApi(port)`), calling its start: the
 * agent's launcher. `source` names where the options come from, for the warning.
 */
function optionsStarter(ctx: TsRewriteContext): { file: string; line: number; text: string; source: string } | null {
  const built = new RegExp(`\\bnew\\s+${ctx.className}\\s*\\(\\s*[^)\\s]`);
  // Its start: the base's, a legacy start renamed onStart(), or (rewriting the _v2 again) the
  // wrapper that rename left for outside callers (`listen() { this.start()... }`).
  const wrappers = ctx.cls.getMembers().filter(Node.isMethodDeclaration).filter((m) => /\bthis\.(start|run)\s*\(/.test(m.getBody()?.getText() ?? '')).map((m) => m.getName());
  const methods = ['start', 'run', ...[...ctx.renames].filter(([, to]) => to === 'onStart').map(([from]) => from), ...wrappers];
  const starts = new RegExp(`\\.\\s*(${methods.map((m) => m.replace(/\$/g, '\\$')).join('|')})\\s*\\(`);
  // The files importing the agent, not its members' callers: rewriting the _v2 again, start() is the
  // base's, which a typed starter's references no longer tie to the class.
  for (const { file, text } of agentImporters(ctx.root, ctx.file, ctx.className)) {
    const rel = path.relative(ctx.root, file).split(path.sep).join('/');
    // A test builds the agent with options of its own and starts it: it launches nothing.
    if (!built.test(text) || /(^|[/.])(test|tests|spec|__tests__)[/.]/.test(rel)) continue;
    const lines = text.split('\n');
    const at = lines.findIndex((l) => starts.test(l));
    if (at < 0) continue;
    const c = { file: rel, line: at + 1, text: lines[at]!.trim() };
    if (/\bprocess\.argv\b/.test(text)) return { ...c, source: 'its command line (process.argv)' };
    // Parsers that read process.argv themselves when given no arguments: node:util's parseArgs()
    // (without `args`), commander's program.parse().
    const cli = commandLineParser(text);
    if (cli) return { ...c, source: `its command line (${cli})` };
    // The base reads its health port and registry variables whoever starts it: a starter
    // reading only those loses nothing to an entry point here.
    const own = new Set([ctx.healthPortEnv, ctx.registryEnv]);
    const names = [...new Set([...text.matchAll(/\bprocess\.env(?:\.([A-Za-z_$][\w$]*)|\[\s*['"]([^'"]+)['"]\s*\])/g)].map((x) => x[1] ?? x[2]!))].filter((n) => !own.has(n));
    if (names.length) return { ...c, source: `the environment (${names.join(', ')})` };
  }
  return null;
}

/** The command-line parser a starter's text uses that reads process.argv by itself, or null. */
function commandLineParser(text: string): string | null {
  const fromUtil = /\bparseArgs\b[^;]*?(from\s*|require\(\s*)['"](node:)?util['"]|require\(\s*['"](node:)?util['"]\s*\)\.parseArgs\b|\butil\.parseArgs\s*\(/s;
  if (fromUtil.test(text) && /\bparseArgs\s*\(/.test(text)) return 'parseArgs()';
  if (/(from\s*|require\(\s*)['"]commander['"]/.test(text) && /\.parse(Async)?\s*\(/.test(text)) return "commander's parse()";
  return null;
}

/**
 * `const Relay = module.exports; new Relay().start();`, `var Ctor = Agent`: a variable that only
 * ever holds the class is the class; constructing through it is the entry point (missed, a second
 * entry point was added and the process built two agents). Aliases of aliases too.
 */
function addClassAliases(sf: Node, names: Set<string>): void {
  // (From the file's index of nodes by kind: the same declarations in the same order as ts-morph's
  // getDescendantsOfKind, whose walk of the whole file at each findEntry was a tenth of the rewrite's CPU.)
  const decls = descendantsOfKind(sf, SyntaxKind.VariableDeclaration);
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of decls) {
      const init = d.getInitializer();
      if (!init || !Node.isIdentifier(d.getNameNode()) || names.has(d.getName()) || !names.has(init.getText().replace(/\s+/g, ''))) continue;
      if (d.getVariableStatement()?.getDeclarationKind() !== 'const' && reassigned(sf, d.getName())) continue;
      names.add(d.getName());
      grew = true;
    }
  }
}

/** `name = ...` somewhere in the file (a let/var alias that may stop holding the class). */
function reassigned(sf: Node, name: string): boolean {
  return descendantsOfKind(sf, SyntaxKind.BinaryExpression).some((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && b.getLeft().getText() === name);
}

function addGuard(ctx: TsRewriteContext, removed: Set<string>): void {
  if (ctx.cls.isAbstract()) {
    ctx.warnings.push(`no entry point added: ${ctx.className} is abstract, its subclasses are the agents that run`);
    return;
  }
  // `export default new FlagCache()`: the ES module's one instance, which its importers start (a
  // bin script, the tests), as `module.exports = new X()` is in CommonJS. An entry point here
  // would start another instance than the one they import.
  const exported = defaultExportedConstruction(ctx);
  if (exported) {
    ctx.warnings.push(`the instance built at line ${exported.getStartLineNumber()} is what the module exports (${exported.isExportEquals() ? 'export =' : 'export default'}) and its importers start: no run() added to the module`);
    return;
  }
  const required =
    ctx.ctor?.getParameters().some((p) => !p.isOptional() && !p.hasInitializer() && !p.isRestParameter() && !defaultedFirst(ctx, p.getName())) ||
    // The constructor the old base's parameters gave the class.
    (!ctx.ctor && ctx.parent.kind === 'old-base' && ctx.parent.old.params.some((p) => !p.optional && !p.initializer));
  if (required) {
    ctx.warnings.push(`no entry point added: the constructor of ${ctx.className} needs arguments`);
    ctx.startedElsewhere = true;
    startedOnlyElsewhere(ctx, removed);
    return;
  }
  // The entry point added below runs the module by itself; a starter in another file that builds
  // the agent and starts it with a method of its own (`d.listen()`) would still not start the base.
  startedOnlyElsewhere(ctx, removed);
  const launcher = optionsStarter(ctx);
  if (launcher) {
    ctx.warnings.push(
      `no entry point added: ${launcher.file}:${launcher.line} builds ${ctx.className} with options it reads from ${launcher.source} and starts it (${launcher.text}): ` +
        `it stays the entry point (run through it, the _v2 gets them too); an entry point here would start ${ctx.className} without them`,
    );
    ctx.startedElsewhere = true;
    return;
  }
  // A private (or protected) constructor builds the agent only through the class's own singleton or
  // static factory (`PriceFeed.get()`): `new X()` here would not compile. The entry point takes that
  // accessor when one builds it with no argument and hands it back at once; otherwise none is added.
  const closed = closedConstructorAccess(ctx);
  if (closed === null) {
    ctx.warnings.push(`no entry point added: the constructor of ${ctx.className} is ${ctx.ctor!.hasModifier(SyntaxKind.PrivateKeyword) ? 'private' : 'protected'} and no static member builds it without arguments`);
    ctx.startedElsewhere = true;
    return;
  }
  // An exported class expression is reached through its export (`new module.exports()`).
  const template = closed ? ctx.ts.entrypoint.replace(/new\s+\{class\}\(\{args\}\)/, closed) : ctx.ts.entrypoint;
  const call = template.replace('{class}', ctx.classRef ?? ctx.className).replace('{args}', '');
  const body = `${ctx.unit}${call.endsWith(';') ? call : `${call};`}`;
  let guard: string;
  // The repository's build decides, not the file's syntax: an `import` file compiled to CommonJS
  // cannot hold `import.meta`.
  if (ctx.kind === 'cjs' || buildsToCommonJs(ctx.root, ctx.file, ctx.sf, () => agentImporters(ctx.root, ctx.file, ctx.className))) {
    guard = `if (require.main === module) {\n${body}\n}\n`;
  }
  else {
    ctx.addImport('pathToFileURL', 'node:url');
    guard = `if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {\n${body}\n}\n`;
  }
  const sep = ctx.text.endsWith('\n') ? '\n' : '\n\n';
  ctx.edits.insert(ctx.text.length, `${sep}${guard}`);
}
