// Concern `main_loop`: the agent's own main loop — `this.timer = setInterval(cb, ms)` or an
// async `while (this.running) { ...; await sleep(ms) }` — becomes the base's runOnce() hook
// (the loop's body, verbatim) with the period passed to super() as intervalMs. Timers whose
// whole job is removed infrastructure (a metrics push) simply go; other timers stay.
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { hostMember, methodBody } from '../../src/lang/typescript/context.js';
import { reindent, indentAt } from '../../src/lang/typescript/edits.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { foreverLoops, intervalCalls, isSetInterval, rearmingTimeouts } from '../../src/lang/typescript/patterns.js';
import { blockStatements, descendantsOfKind, aliasPrelude, calleeText, isLogCall, signalHandlerCall, statementCall, thisAlias, thisMember, thisMembers, thisRoot } from '../../src/lang/typescript/syntax.js';

export function removeIntervalLoop(ctx: TsRewriteContext): void {
  if (ctx.members.has('runOnce')) return; // already on the base's loop
  const entry = ctx.entry?.method ?? null;
  const methods = [...ctx.members.values()].filter((m) => m.kind === 'method');
  // Prefer the loop the entry method starts, then any other method's.
  const host = ctx.hints.loopHost ?? entry;
  methods.sort((a, b) => Number(b.name === host) - Number(a.name === host));
  const bodies: Node[] = methods.map((m) => methodBody(ctx, m.name)).filter((b): b is Node => !!b);
  if (ctx.ctor?.getBody()) bodies.push(ctx.ctor.getBody()!);
  for (const body of bodies) {
    for (const { stmt, call, timer } of intervalCalls(body)) {
      const cb = call.getArguments()[0];
      if (!cb) continue;
      const touched = thisMembers(cb);
      // A kept registration refresh (the registry concern) is not the main loop.
      if (touched.size > 0 && [...touched].every((m) => ctx.hints.heartbeats?.has(m))) continue;
      // A timer that only drives proposed infrastructure goes with it (swept by the plan).
      const infraOnly = [...touched].every((m) => {
        const p = ctx.plan.members.get(m);
        return !!p && p.finding !== 'signal' && p.finding !== 'loop';
      });
      // A timer that other code arms again (an 'error' listener restarting the pump after a
      // pause, a resume()) is not a loop the base can run: it starts runOnce() once.
      if (startedOutsideStart(ctx, body, entry)) {
        ctx.warnings.push(`the timer at line ${stmt.getStartLineNumber()} is armed again outside the start path (${startedOutsideStart(ctx, body, entry)}): kept as the agent's own timer, not the base's loop`);
        continue;
      }
      // A timer armed only on one branch (`if (process.send) { ipc } else { this.poller =
      // setInterval(...) }`): the base runs runOnce() whatever that condition said, so the work
      // would start where the legacy never ran it. It stays the agent's own timer.
      const branch = conditionalArming(stmt, body, timer);
      if (branch) {
        ctx.warnings.push(`the timer at line ${stmt.getStartLineNumber()} is armed only when ${branch}: kept as the agent's own timer, not the base's loop (the base would run it whatever that condition said)`);
        continue;
      }
      const converted = loopBody(ctx, cb, body);
      if (!converted) continue;
      const ms = intervalExpr(ctx, call.getArguments()[1]);
      const take = () => {
        ctx.plan.moved.push(cb);
        adopt(ctx, stmt, timer, converted, ms, 'setInterval');
        // setInterval's first round came one period after start; the base's runOnce() runs at once
        // (an hourly report now also goes out at every restart): said, unless a round ran at once already.
        if (!dropKickOff(ctx, stmt, cb)) ctx.warnings.push(`the timer at line ${stmt.getStartLineNumber()} ran its first round ${call.getArguments()[1]?.getText() ?? '0'} ms after start; runOnce() runs at once when the agent starts, then every intervalMs`);
      };
      if (touched.size > 0 && infraOnly) {
        // A timer driving only proposed infrastructure goes with it; if some of that stays after
        // all (a business queue's drain), the timer is the main loop after all: adopt it then.
        ctx.deferred.push((removed) => {
          if ([...touched].every((m) => removed.has(m))) return false;
          // Another timer already is the main loop (the base has one runOnce()): this one stays
          // the agent's own, with what it drives.
          if (ctx.newMembers.some((m) => m.name === 'runOnce')) return false;
          take();
          return true;
        });
        continue;
      }
      take();
      return;
    }
    if (adoptIntervalIterator(ctx, body)) return;
    if (adoptTimeoutChain(ctx, body)) return;
    if (adoptRearm(ctx, body)) return;
    for (const loop of foreverLoops(body)) {
      if (!Node.isWhileStatement(loop)) continue;
      const inner = loop.getStatement();
      if (!Node.isBlock(inner)) continue;
      const all = inner.getStatements();
      // The pause of each round: the loop's last statement, or its first (sleep, then work).
      const first = all[0];
      const last = all[all.length - 1];
      const lastMs = last ? sleepArgument(last) : null;
      const firstMs = lastMs === null && first && all.length > 1 ? sleepArgument(first) : null;
      const sleepMs = lastMs ?? firstMs;
      if (sleepMs === null) continue;
      // A pause that reads state the agent changes (a back-off) cannot be a fixed intervalMs: it
      // stays in runOnce() and the base waits no more (intervalMs: 0).
      const dynamic = variesPerRound(ctx, sleepMs);
      const stmts = dynamic ? all : lastMs !== null ? all.slice(0, -1) : all.slice(1);
      if (stmts.length === (dynamic ? 1 : 0)) continue;
      // break and return end the loop for good, which a hook called once per period cannot do;
      // `continue` of this loop ends the round: in runOnce() that is `return`.
      const own = jumpsOf(inner, loop);
      if (own.some((j) => !Node.isContinueStatement(j))) continue;
      if (hasOuterLocals(loop, stmts, body)) continue;
      if (runsAfterLoop(loop, body)) continue;
      const replacements = own.map((j) => [j.getStart(), j.getEnd(), 'return;'] as [number, number, string]);
      const text = stmts.map((s) => sliceWith(ctx.text, s.getFullStart(), s.getEnd(), replacements)).join('');
      ctx.plan.moved.push(...stmts);
      if (firstMs !== null && !dynamic) ctx.warnings.push(`the while loop at line ${loop.getStartLineNumber()} slept before each round; runOnce() runs first and the base then waits intervalMs`);
      if (dynamic) ctx.warnings.push(`the while loop at line ${loop.getStartLineNumber()} paused by ${sleepMs.getText()}, which changes at run time: runOnce() keeps that pause and intervalMs is 0`);
      adopt(ctx, loop, null, { text: dedent(text, indentAt(ctx.text, stmts[0]!.getStart()), ctx.unit) }, dynamic ? '0' : intervalExpr(ctx, sleepMs), 'while loop', loopFlags(loop.getExpression()));
      return;
    }
  }
}

/**
 * The method holding the timer (`body`) is called from somewhere that is not the start path:
 * where, as `line N (method)`, or null. The start path is the entry method and the methods only
 * it reaches (each of their callers on the path too). Without an entry point nothing is said.
 */
function startedOutsideStart(ctx: TsRewriteContext, body: Node, entry: string | null): string | null {
  if (!entry) return null;
  const host = hostMember(body, ctx.cls);
  if (!host || host === entry) return null;
  const memo = new Map<string, string | null>();
  const outside = (name: string): string | null => {
    if (name === entry) return null;
    if (memo.has(name)) return memo.get(name)!;
    memo.set(name, null); // a cycle does not leave the path by itself
    let found: string | null = null;
    ctx.cls.forEachDescendant((n, walk) => {
      if (found) return walk.stop();
      if (!Node.isPropertyAccessExpression(n) || n.getName() !== name || thisMember(n) !== name) return;
      const caller = hostMember(n, ctx.cls);
      const where = `line ${n.getStartLineNumber()}${caller ? `, ${caller}()` : ''}`;
      const call = n.getParent();
      // Handed on as a value (a listener, a timer's callback): called at times nobody can tell.
      if (!call || !Node.isCallExpression(call) || call.getExpression() !== n) return void (found = where);
      // Inside a callback that runs again and again (an event listener, an interval's).
      if (inRepeatedCallback(n, ctx.cls)) return void (found = where);
      if (!caller) return; // the constructor's own statements run once
      if (outside(caller) !== null) found = where;
    });
    memo.set(name, found);
    return found;
  };
  return outside(host);
}

/**
 * The condition under which the method arms the timer at `stmt`, when it sits in one branch of
 * an if / switch / ternary of `body` (`process.send` for the else of `if (process.send)`), or
 * null. A test of the timer itself (`if (!this.timer)`, arming it once) is no condition: the base
 * runs its loop once too.
 */
function conditionalArming(stmt: Node, body: Node, timer: string | null): string | null {
  for (let n: Node = stmt; n !== body; ) {
    const p = n.getParent();
    if (!p) break;
    if (Node.isIfStatement(p) && n !== p.getExpression()) {
      const cond = p.getExpression();
      const members = thisMembers(cond);
      const onlyTimer = timer !== null && members.size === 1 && members.has(timer) && descendantsOfKind(cond, SyntaxKind.CallExpression).length === 0;
      if (!onlyTimer) return n === p.getElseStatement() ? `${cond.getText()} is false` : cond.getText();
    }
    if (Node.isCaseClause(p) || Node.isDefaultClause(p) || Node.isCatchClause(p) || Node.isConditionalExpression(p)) {
      return Node.isCatchClause(p) ? 'the try before it failed' : Node.isConditionalExpression(p) ? p.getCondition().getText() : `switch case ${p.getText().split('\n')[0]!.trim()}`;
    }
    n = p;
  }
  return null;
}

/** `this.on('error', (err) => this.restart(err))`: the node sits in a listener or an interval's callback. */
function inRepeatedCallback(n: Node, cls: Node): boolean {
  for (let a = n.getParent(); a && a !== cls; a = a.getParent()) {
    if (!(Node.isArrowFunction(a) || Node.isFunctionExpression(a))) continue;
    const call = a.getParent();
    if (!call || !Node.isCallExpression(call) || !call.getArguments().includes(a as never)) continue;
    const callee = call.getExpression();
    const name = Node.isPropertyAccessExpression(callee) ? callee.getName() : callee.getText();
    if (['on', 'addListener', 'prependListener', 'addEventListener', 'setInterval'].includes(name) || isSetInterval(call)) return true;
  }
  return false;
}

/**
 * Code of the method that runs once the loop has ended (the statements after it, a `finally`
 * around it): the loop ends when the agent stops, so that code ran at stop. runOnce() cannot
 * carry it, and left in onStart() it would run at start: the loop stays where it is.
 */
function runsAfterLoop(loop: Node, body: Node): boolean {
  for (let n: Node = loop; n !== body; ) {
    const p = n.getParent();
    if (!p) break;
    if (Node.isBlock(p)) {
      const siblings = p.getStatements();
      if (siblings.slice(siblings.indexOf(n as never) + 1).some((x) => !Node.isEmptyStatement(x))) return true;
    }
    if (Node.isTryStatement(p) && p.getFinallyBlock() && n !== p.getFinallyBlock()) return true;
    n = p;
  }
  return false;
}

/**
 * `void this.refresh(); this.timer = setInterval(() => void this.refresh(), ms);`: the round run
 * at once before the timer's first tick. The base calls runOnce() as soon as onStart() returns,
 * so kept beside it that round would run twice at start (the second while the first may still
 * be in flight): the statement next to the timer that is exactly the callback's one statement goes.
 */
function dropKickOff(ctx: TsRewriteContext, stmt: Node, cb: Node): boolean {
  let only: string | null = null;
  let caught: Node | undefined;
  if (Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) {
    const body = cb.getBody();
    const one = Node.isBlock(body) ? (body.getStatements().length === 1 ? body.getStatements()[0]! : undefined) : body;
    only = one ? (Node.isBlock(body) ? one.getText() : `${one.getText()};`) : null;
    // `this.round().catch((err) => log(err))` in the tick: the tick's own handling of a failed
    // round; the round run at once before it is `await this.round()` (its failure went to start()'s caller).
    const e = one && Node.isExpressionStatement(one) ? one.getExpression() : one;
    if (e && Node.isCallExpression(e)) {
      const callee = e.getExpression();
      if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'catch' && e.getArguments().length === 1 && Node.isCallExpression(callee.getExpression())) caught = callee.getExpression();
    }
  } else if (thisMember(cb) && ctx.members.has(thisMember(cb)!)) {
    // `setInterval(this.onTick, ms)` (an arrow property or a bound method): its round is `this.onTick()`.
    only = `${cb.getText()}();`;
  }
  return only ? dropRoundBeside(ctx, stmt, only, caught ? `${caught.getText()};` : undefined) : false;
}

/**
 * The statement that is exactly one round (`only`), run before the timer's first tick — right after
 * the timer, or before it in the same block with other statements between — goes. Every other
 * statement after that round (between it and the timer, or after both) moves before the base's
 * first runOnce(), so each must neither touch what the round writes nor write what it reads (log
 * lines and signal handlers aside, as before). A statement after an awaited (or synchronous) round
 * that makes the service reachable — a server's listen(), an emit() listeners act on, process.send()
 * to a supervisor — ran once the first data was loaded: moved before it, the service would answer
 * before its first load. The round stays then, with a warning (the base runs a second one at once).
 */
function dropRoundBeside(ctx: TsRewriteContext, stmt: Node, only: string, bare?: string): boolean {
  const norm = (t: string) => t.replace(/\s+/g, '').replace(/^(void|await)(?=[\w$(])/, '').replace(/;$/, '');
  const parent = stmt.getParent();
  if (!parent || !Node.isBlock(parent)) return false;
  const siblings = parent.getStatements();
  const i = siblings.indexOf(stmt as never);
  const isRound = (s: Node | undefined) => !!s && Node.isExpressionStatement(s) && [only, bare].some((t) => t !== undefined && norm(s.getText()) === norm(t));
  let k = isRound(siblings[i + 1]) ? i + 1 : -1;
  for (let j = i - 1; k < 0 && j >= 0; j--) if (isRound(siblings[j])) k = j;
  if (k < 0) return false;
  const s = siblings[k]!;
  const after = siblings.slice(k + 1).filter((x) => x !== stmt);
  const verdict = movesBeforeRound(ctx, s, after);
  if (verdict === 'keep') return true;
  if (verdict !== 'drop') {
    ctx.warnings.push(`the first round at line ${s.getStartLineNumber()} (${s.getText().replace(/;$/, '')}) stays in onStart(): ${verdict}; the base's runOnce() then runs a second round at once`);
    return true;
  }
  ctx.plan.proposeStatement({ node: s, symbol: s.getText().replace(/;$/, ''), finding: 'loop', reason: "the first round, run before the timer's first tick: the base calls runOnce() at once" });
  return true;
}

/**
 * Can the round `round` go, the base's first runOnce() taking its place after `after` (the
 * statements that followed it, now run before it)? 'drop'; 'keep' (one of them depends on the
 * round, or the round on it); or why the service would be reachable before its first round.
 */
function movesBeforeRound(ctx: TsRewriteContext, round: Node, after: Node[]): 'drop' | 'keep' | string {
  const memo = new Map<string, Effects>();
  const r = effectsOf(ctx, round, memo);
  // A round not awaited (an async method called bare) was still in flight when the next
  // statement ran: what follows did not wait for it, and need not now.
  const call = statementCall(round);
  const own = call ? thisMember(call.getExpression()) : null;
  const awaited = Node.isExpressionStatement(round) && Node.isAwaitExpression(round.getExpression());
  const completes = awaited || (!!own && ctx.members.get(own)?.kind === 'method' && !isAsyncMethod(ctx, own));
  let verdict: 'drop' | 'keep' = 'drop';
  for (const x of after) {
    const e = effectsOf(ctx, x, memo);
    if (completes && e.reaches) return `${e.reaches} (line ${x.getStartLineNumber()}) after it: the service answered only once its first round was done`;
    const logOrSignal = isLogCall(statementCall(x)) || !!signalHandlerCall(x);
    if (!logOrSignal && ([...e.touched].some((m) => r.written.has(m)) || [...e.written].some((m) => r.touched.has(m)))) verdict = 'keep';
  }
  return verdict;
}

interface Effects {
  /** Members of the agent the code reads or writes, through the agent's methods it calls too. */
  touched: Set<string>;
  written: Set<string>;
  /** What makes the service reachable in it (`this.server.listen()`), or null. */
  reaches: string | null;
}

const MUTATORS = /^(push|pop|shift|unshift|splice|sort|reverse|fill|set|add|delete|clear|assign)$/;

/** What a piece of the agent's code reads and writes, following its calls of the agent's own methods. */
function effectsOf(ctx: TsRewriteContext, root: Node, memo: Map<string, Effects>): Effects {
  const out: Effects = { touched: new Set(), written: new Set(), reaches: null };
  const going = (m: string | null) => !!m && (ctx.plan.members.get(m)?.finding === 'health' || m === ctx.hints.healthHolder);
  const merge = (e: Effects) => {
    for (const m of e.touched) out.touched.add(m);
    for (const m of e.written) out.written.add(m);
    out.reaches ??= e.reaches;
  };
  root.forEachDescendant((n) => {
    if (Node.isCallExpression(n)) {
      const callee = n.getExpression();
      const name = Node.isPropertyAccessExpression(callee) ? callee.getName() : null;
      const fn = calleeText(n);
      if ((name === 'listen' && !going(thisRoot(callee))) || fn === 'this.emit' || fn === 'process.send') out.reaches ??= n.getText().split('\n')[0]!.replace(/\s+/g, ' ');
      return;
    }
    const m = thisMember(n);
    if (!m) return;
    out.touched.add(m);
    const member = ctx.members.get(m);
    if (member?.kind === 'method' && !going(m)) {
      if (!memo.has(m)) {
        memo.set(m, { touched: new Set(), written: new Set(), reaches: null }); // a cycle adds nothing more
        const body = methodBody(ctx, m);
        if (body) memo.set(m, effectsOf(ctx, body, memo));
      }
      merge(memo.get(m)!);
      return;
    }
    // `this.m = v`, `this.m.x += 1`, `this.m++`, `delete this.m[k]`, `this.m.push(x)`: a write of m.
    for (let cur: Node = n; ; ) {
      const p = cur.getParent();
      if (!p) break;
      if (Node.isBinaryExpression(p) && p.getLeft() === cur && /^([-+*/%&|^]|\*\*|<<|>>>?|&&|\|\||\?\?)?=$/.test(p.getOperatorToken().getText())) out.written.add(m);
      else if ((Node.isPrefixUnaryExpression(p) || Node.isPostfixUnaryExpression(p)) && /\+\+|--/.test(p.getText())) out.written.add(m);
      else if (Node.isDeleteExpression(p)) out.written.add(m);
      else if (Node.isPropertyAccessExpression(p) && p.getExpression() === cur && MUTATORS.test(p.getName()) && Node.isCallExpression(p.getParent())) out.written.add(m);
      if ((Node.isPropertyAccessExpression(p) || Node.isElementAccessExpression(p) || Node.isNonNullExpression(p)) && p.getExpression() === cur) cur = p;
      else break;
    }
  });
  return out;
}

/** Does an expression read a member of the agent that its methods assign (state, not configuration)? */
function readsMutableState(ctx: TsRewriteContext, expr: Node): boolean {
  const read = thisMembers(expr);
  if (read.size === 0) return false;
  let mutable = false;
  ctx.cls.forEachDescendant((n, t) => {
    if (mutable) return t.stop();
    if (Node.isConstructorDeclaration(n)) {
      t.skip(); // (returning its value would end the whole walk)
      return;
    }
    const target = Node.isBinaryExpression(n) && /^[-+*/%]?=$|^\?\?=$/.test(n.getOperatorToken().getText()) ? n.getLeft() : Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n) ? n.getOperand() : null;
    const m = target ? thisMember(target) : null;
    if (m && read.has(m)) mutable = true;
  });
  return mutable;
}

// Calls whose value depends on their arguments only: a delay made of them and constants is fixed.
const FIXED_CALLS = /^(Number|String|parseInt|parseFloat|Math\.(max|min|round|floor|ceil|abs|trunc))$/;

/**
 * A delay that can differ from one round to the next: it reads state the agent changes (a
 * back-off), or it is computed by a call each time it is armed (`this.msUntilMidnight()`,
 * `Date.now()`, `Math.random()` jitter): the base's one fixed intervalMs would not be it.
 */
function variesPerRound(ctx: TsRewriteContext, expr: Node): boolean {
  if (readsMutableState(ctx, expr)) return true;
  // `await sleep(n === this.batch ? 100 : 15_000)`: a local of the agent's code (the round's
  // result) decides the pause.
  if (readsLocal(ctx, expr)) return true;
  const computed = (n: Node) => (Node.isCallExpression(n) && !FIXED_CALLS.test(calleeText(n))) || Node.isNewExpression(n);
  return computed(expr) || expr.getDescendants().some(computed);
}

/** Does an expression read a variable declared inside the agent's class (a method's local)? */
function readsLocal(ctx: TsRewriteContext, expr: Node): boolean {
  const ids = Node.isIdentifier(expr) ? [expr] : expr.getDescendantsOfKind(SyntaxKind.Identifier);
  return ids.some((id) => id.getSymbol()?.getDeclarations().some((d) => Node.isVariableDeclaration(d) && d.getFirstAncestor((a) => a === ctx.cls) !== undefined));
}

/** break/continue/return statements that leave `loop` itself (not a nested loop, switch or function). */
function jumpsOf(inner: Node, loop: Node): Node[] {
  const out: Node[] = [];
  inner.forEachDescendant((n, t) => {
    if (Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isClassDeclaration(n) || Node.isClassExpression(n)) {
      t.skip(); // (returning its value would end the whole walk)
      return;
    }
    if (Node.isReturnStatement(n)) out.push(n);
    else if (Node.isBreakStatement(n) || Node.isContinueStatement(n)) {
      if (n.getLabel()) {
        out.push(n);
        return;
      }
      // The nearest enclosing loop (or switch, for break) owns an unlabelled jump.
      const owner = n.getFirstAncestor((a) => isLoop(a) || (Node.isBreakStatement(n) && Node.isSwitchStatement(a)));
      if (owner === loop) out.push(n);
    }
  });
  return out;
}

function isLoop(n: Node): boolean {
  return Node.isWhileStatement(n) || Node.isDoStatement(n) || Node.isForStatement(n) || Node.isForOfStatement(n) || Node.isForInStatement(n);
}

/** Source text of [start, end) with some ranges inside it replaced. */
function sliceWith(text: string, start: number, end: number, replacements: Array<[number, number, string]>): string {
  let out = '';
  let pos = start;
  for (const [a, b, r] of replacements.filter(([a, b]) => start <= a && b <= end).sort((x, y) => x[0] - y[0])) {
    out += text.slice(pos, a) + r;
    pos = b;
  }
  return out + text.slice(pos, end);
}

/** The agent's flags a loop condition tests: `this.running && !this.stopPolling` → [running, stopPolling]. */
function loopFlags(cond: Node): string[] {
  const out: string[] = [];
  const visit = (n: Node) => {
    const m = thisMember(n);
    if (m) {
      const p = n.getParent();
      // `this.signal.aborted` is an AbortSignal member, not a flag the loop owns.
      if (!(p && Node.isPropertyAccessExpression(p) && p.getExpression() === n)) out.push(m);
      return;
    }
    n.forEachChild(visit);
  };
  visit(cond);
  return out;
}

/** The line where `this.timer` is read as a condition (`if (this.timer)`, `!this.timer`, `this.timer && ...`, `this.timer ? a : b`): "is the loop running". */
function testedAsRunning(ctx: TsRewriteContext, timer: string): number | null {
  const test = descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression).find((n) => {
    if (thisMember(n) !== timer) return false;
    const p = n.getParent();
    if (!p) return false;
    // `if (this.timer) clearInterval(this.timer)`: the teardown's own guard, which only clears it.
    if (Node.isIfStatement(p)) return p.getExpression() === n && !blockStatements(p.getThenStatement()).every((st) => {
        const c = statementCall(st);
        return !!c && /^clear(Interval|Timeout)$/.test(calleeText(c));
      });
    if (Node.isWhileStatement(p)) return p.getExpression() === n;
    if (Node.isConditionalExpression(p)) return p.getCondition() === n;
    if (Node.isPrefixUnaryExpression(p)) return p.getOperatorToken() === SyntaxKind.ExclamationToken;
    if (!Node.isBinaryExpression(p)) return false;
    const op = p.getOperatorToken().getKind();
    if (op === SyntaxKind.AmpersandAmpersandToken || op === SyntaxKind.BarBarToken) return true;
    // `this.timer !== null`, `this.timer === undefined`.
    const other = p.getLeft() === n ? p.getRight() : p.getLeft();
    return [SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken].includes(op) && /^(null|undefined)$/.test(other.getText());
  });
  return test ? test.getStartLineNumber() : null;
}

function adopt(ctx: TsRewriteContext, stmt: Node, timer: string | null, body: { text: string }, ms: string | null, what: string, flags: string[] = []): void {
  // The method that started the loop goes too when nothing but infrastructure is left in it.
  const name = hostMember(stmt, ctx.cls);
  if (name) {
    ctx.plan.proposeMember({
      name,
      finding: 'loop',
      reason: `${name}() only started the main loop and infrastructure the base provides`,
      condition: (removed) => (ctx.isInfraMethod(name, removed, []) ? null : `${name}() does business work`),
      quiet: true,
      delegate: 'start',
    });
  }
  ctx.plan.proposeStatement({ node: stmt, symbol: timer ?? what, finding: 'loop', reason: `main loop (${what}); the base calls runOnce() every intervalMs` });
  if (timer) {
    const tested = testedAsRunning(ctx, timer);
    ctx.plan.proposeMember({
      name: timer,
      finding: 'loop',
      reason: `${timer} held the main loop's timer`,
      // Kept for that use, it is never set again (the base runs the loop): read as "running", it now says "stopped" throughout.
      hint: tested === null ? undefined : `once the base runs the loop nothing sets it (it keeps its initial value), so its test at line ${tested} is never true and what it guards no longer runs: test a flag of the agent's own instead (set in onStart(), cleared in onStop())`,
    });
  }
  for (const flag of flags) {
    if (ctx.members.get(flag)?.kind === 'method') continue;
    ctx.plan.proposeMember({ name: flag, finding: 'loop', reason: `${flag} was the main loop's running flag; the base runs the loop`, quiet: true });
  }
  if (ms) ctx.superArgs.set('intervalMs', ms);
  else {
    // The base reads intervalMs once, in its constructor: a period known only later would make
    // runOnce() run at the base's default pace (every second) instead of the agent's own.
    ctx.kept.push({
      symbol: 'intervalMs',
      line: stmt.getStartLineNumber(),
      reason: `the ${what}'s period cannot be computed before super() (it reads values the constructor builds later): the base would call runOnce() at its default pace (every 1000 ms); pass the period to super({ intervalMs }) by hand`,
    });
  }
  const async = /\bawait\b/.test(body.text);
  ctx.newMembers.push({
    name: 'runOnce',
    text: methodText(ctx, { name: 'runOnce', async, body: body.text.replace(/^\n+|\s+$/g, '') }),
  });
}

/**
 * `for await (const _ of setInterval(ms)) { if (!this.running) break; ...work }` with setInterval
 * of node:timers/promises: an endless loop that does one round every ms, which is the base's
 * loop (runOnce() every intervalMs). Taken only when the round is all there is: the tick's value
 * is not read, the only ways out are leading `if (<stop flag>) break;` guards (the base stops its
 * loop itself), nothing of the method runs after the loop, and the round reads none of the
 * method's locals. The iterator waited ms before the first round; runOnce() runs at once, then
 * the base waits intervalMs after each round (said in a warning, as for a sleep-first loop).
 */
function adoptIntervalIterator(ctx: TsRewriteContext, body: Node): boolean {
  const fn = Node.isBlock(body) ? body.getParent() : undefined;
  for (const loop of descendantsOfKind(body, SyntaxKind.ForOfStatement)) {
    if (!loop.isAwaited()) continue;
    const owner = loop.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    if (!fn || owner !== fn) continue;
    const call = loop.getExpression();
    if (!Node.isCallExpression(call) || !isPromisesSetInterval(call)) continue;
    const args = call.getArguments();
    if (args.length === 0 || args.length > 2 || (args.length === 2 && args[1]!.getText() !== 'undefined')) continue;
    const init = loop.getInitializer();
    if (!Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1) continue;
    const tick = init.getDeclarations()[0]!.getNameNode();
    if (!Node.isIdentifier(tick)) continue;
    const inner = loop.getStatement();
    if (!Node.isBlock(inner)) continue;
    const sym = tick.getSymbol();
    if (inner.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getSymbol() === sym)) continue;
    const all = inner.getStatements();
    const flags: string[] = [];
    let first = 0;
    for (; first < all.length; first++) {
      const guard = stopGuard(all[first]!);
      if (!guard) break;
      flags.push(...guard);
    }
    const stmts = all.slice(first);
    if (stmts.length === 0) continue;
    const guards = new Set(all.slice(0, first).flatMap((g) => descendantsOfKind(g, SyntaxKind.BreakStatement)));
    const own = jumpsOf(inner, loop).filter((j) => !guards.has(j as never));
    if (own.some((j) => !Node.isContinueStatement(j))) continue;
    if (hasOuterLocals(loop, stmts, body)) continue;
    if (runsAfterLoop(loop, body)) continue;
    const ms = intervalExpr(ctx, args[0]);
    const replacements = own.map((j) => [j.getStart(), j.getEnd(), 'return;'] as [number, number, string]);
    const text = stmts.map((st) => sliceWith(ctx.text, st.getFullStart(), st.getEnd(), replacements)).join('');
    ctx.plan.moved.push(...stmts);
    ctx.warnings.push(`the for await loop over setInterval(${args[0]!.getText()}) at line ${loop.getStartLineNumber()} waited before each round; runOnce() runs first and the base then waits intervalMs after each round`);
    adopt(ctx, loop, null, { text: dedent(text, indentAt(ctx.text, stmts[0]!.getStart()), ctx.unit) }, ms, 'for await setInterval loop', flags);
    return true;
  }
  return false;
}

/** setInterval of node:timers/promises (also imported under another name). */
function isPromisesSetInterval(call: CallExpression): boolean {
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee)) return false;
  const decl = callee.getSymbol()?.getDeclarations()[0];
  if (!decl || !Node.isImportSpecifier(decl) || decl.getName() !== 'setInterval') return false;
  return /^(node:)?timers\/promises$/.test(decl.getImportDeclaration().getModuleSpecifierValue());
}

/**
 * `if (!this.running) break;` / `if (this.stopped) break;` / `if (this.abort.signal.aborted) break;`:
 * the agent's stop flags it tests (possibly none, for a signal), or null for any other statement.
 */
function stopGuard(stmt: Node): string[] | null {
  if (!Node.isIfStatement(stmt) || stmt.getElseStatement()) return null;
  const then = stmt.getThenStatement();
  const only = Node.isBlock(then) ? (then.getStatements().length === 1 ? then.getStatements()[0] : undefined) : then;
  if (!only || !Node.isBreakStatement(only) || only.getLabel()) return null;
  const t = stmt.getExpression().getText().replace(/\s+/g, '');
  if (!/^!?this\.[\w$]+$/.test(t) && !/^this\.[\w$]+(\.signal)?\??\.aborted$/.test(t)) return null;
  return loopFlags(stmt.getExpression());
}

/**
 * A self-rescheduling timeout — a method whose only statement is `[this.t =] setTimeout(() => {
 * ...; this.sameMethod(); }, ms)` — is a main loop too: the callback minus the reschedule call
 * becomes runOnce(), and the method goes (its callers are swept with it).
 */
function adoptTimeoutChain(ctx: TsRewriteContext, body: Node): boolean {
  const method = body.getParent();
  if (!method || !Node.isMethodDeclaration(method) || method.getParent() !== ctx.cls) return false;
  const name = method.getName();
  const stmts = Node.isBlock(body) ? body.getStatements() : [];
  if (stmts.length !== 1 || !Node.isExpressionStatement(stmts[0]!)) return false;
  let e: Node = stmts[0].getExpression();
  let timer: string | null = null;
  if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
    timer = thisMember(e.getLeft());
    e = e.getRight();
  }
  if (!Node.isCallExpression(e) || calleeText(e) !== 'setTimeout') return false;
  const cb = e.getArguments()[0];
  if (!cb || !Node.isArrowFunction(cb) || cb.getParameters().length > 0) return false;
  const cbBody = cb.getBody();
  if (!Node.isBlock(cbBody)) return false;
  const inner = cbBody.getStatements();
  const last = inner[inner.length - 1];
  const lastCall = last ? statementCall(last) : null;
  if (!lastCall || thisMember(lastCall.getExpression()) !== name || inner.length < 2) return false;
  if (hasOuterLocals(cb, inner.slice(0, -1), body)) return false;
  if (dynamicDelay(ctx, e.getArguments()[1], name)) return false;
  const keep = inner.slice(0, -1);
  const text = keep.map((s) => ctx.text.slice(s.getFullStart(), s.getEnd())).join('');
  ctx.plan.moved.push(...keep);
  ctx.plan.proposeMember({ name, finding: 'loop', reason: `${name}() rescheduled itself with setTimeout: the main loop the base runs` });
  adopt(ctx, stmts[0], timer, { text: dedent(text, indentAt(ctx.text, keep[0]!.getStart()), ctx.unit) }, intervalExpr(ctx, e.getArguments()[1]), 'setTimeout chain');
  // `this.poll(); this.schedule();` in start(): that round ran at once, before the chain's first
  // delay; the base's first runOnce() now runs it at once.
  if (keep.length === 1) {
    for (const m of ctx.members.values()) {
      if (m.name === name || m.kind !== 'method') continue;
      const b = methodBody(ctx, m.name);
      for (const st of b ? blockStatementsDeep(b) : []) {
        const c = statementCall(st);
        if (c && c.getArguments().length === 0 && thisMember(c.getExpression()) === name) dropRoundBeside(ctx, st, keep[0]!.getText());
      }
    }
  }
  return true;
}

/**
 * A method that re-arms itself with setTimeout on its normal path is one round of a main loop:
 * the re-arm (and an `if (this.running)` around it) goes, runOnce() calls the method, and the
 * calls that started the chain go too (the base calls runOnce()). The method keeps its name and
 * its work, so anything else that calls it still gets one round.
 */
function adoptRearm(ctx: TsRewriteContext, body: Node): boolean {
  const name = hostMember(body, ctx.cls);
  const r = name ? rearmingTimeouts(ctx.cls).find((x) => x.method === name) : undefined;
  if (!r || !name) return false;
  if (dynamicDelay(ctx, r.ms, name)) return false;
  ctx.plan.proposeStatement({ node: r.stmt, symbol: r.timer ?? (r.pause ? `this.${name}()` : `setTimeout(${name})`), finding: 'loop', reason: `${name}() scheduled itself again: the main loop the base runs` });
  if (r.pause) ctx.plan.proposeStatement({ node: r.pause, symbol: r.pause.getText().replace(/;$/, ''), finding: 'loop', reason: `the pause of the ${name}() loop; the base waits intervalMs` });
  if (r.timer) ctx.plan.proposeMember({ name: r.timer, finding: 'loop', reason: `${r.timer} held the ${name}() timer chain` });
  for (const flag of r.flags) {
    if (ctx.members.get(flag)?.kind !== 'method') ctx.plan.proposeMember({ name: flag, finding: 'loop', reason: `${flag} guarded the ${name}() timer chain; the base runs the loop`, quiet: true });
  }
  // The calls that started the chain (`this.poll()` in start()): the base's loop starts it now.
  const roots = [...ctx.members.values()].filter((m) => m.name !== name).map((m) => methodBody(ctx, m.name));
  if (ctx.ctor?.getBody()) roots.push(ctx.ctor.getBody()!);
  for (const root of roots) {
    for (const s of root ? blockStatementsDeep(root) : []) {
      let call = statementCall(s);
      // `this.poll().catch(log)`: the chain starts with the call.
      const callee = call?.getExpression();
      if (call && callee && Node.isPropertyAccessExpression(callee) && ['catch', 'then'].includes(callee.getName()) && Node.isCallExpression(callee.getExpression())) {
        call = callee.getExpression() as CallExpression;
      }
      if (call && thisMember(call.getExpression()) === name && call.getArguments().length === 0) {
        const block = s.getParent();
        const rest = block && Node.isBlock(block) ? block.getStatements().slice(block.getStatements().indexOf(s as never) + 1) : [];
        const verdict = movesBeforeRound(ctx, s, rest);
        if (verdict !== 'drop' && verdict !== 'keep') {
          ctx.warnings.push(`the first round at line ${s.getStartLineNumber()} (${s.getText().replace(/;$/, '')}) stays in onStart(): ${verdict}; the base's runOnce() then runs a second round at once`);
          continue;
        }
        ctx.plan.proposeStatement({ node: s, symbol: `this.${name}()`, finding: 'loop', reason: `started the ${name}() timer chain; the base calls runOnce()` });
      }
    }
  }
  const async = isAsyncMethod(ctx, name);
  adopt(ctx, r.stmt, null, { text: `${ctx.unit}${async ? 'await ' : ''}this.${name}();` }, intervalExpr(ctx, r.ms), r.pause ? 'self-call loop' : 'setTimeout chain');
  return true;
}

/**
 * A timer chain whose delay reads state the agent changes at run time (a back-off doubled on
 * each failure): the base calls runOnce() at one fixed intervalMs, which would freeze the delay
 * at its first value. The chain stays the agent's own timer (started where it was, cleared by
 * its own stop code), with a warning.
 */
function dynamicDelay(ctx: TsRewriteContext, ms: Node | undefined, name: string): boolean {
  if (!ms || !variesPerRound(ctx, ms)) return false;
  ctx.warnings.push(`${name}() re-arms itself after ${ms.getText()}, which changes at run time: it stays the agent's own timer (the base's runOnce() has one fixed period)`);
  return true;
}

/** Statements of a body and of the blocks nested in it (not nested functions). */
function blockStatementsDeep(root: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    for (const s of Node.isBlock(n) ? n.getStatements() : []) {
      out.push(s);
      if (Node.isIfStatement(s) || Node.isTryStatement(s) || Node.isBlock(s)) {
        for (const c of s.getChildren()) if (Node.isBlock(c)) visit(c);
        if (Node.isIfStatement(s)) {
          const t = s.getThenStatement();
          if (Node.isBlock(t)) visit(t);
        }
        if (Node.isTryStatement(s)) {
          visit(s.getTryBlock());
          const f = s.getFinallyBlock();
          if (f) visit(f);
        }
      }
    }
  };
  visit(root);
  return [...new Set(out)];
}

/** The callback's statements as text indented one level, or null when it cannot move. */
function loopBody(ctx: TsRewriteContext, cb: Node, method: Node): { text: string } | null {
  const unit = ctx.unit;
  if (Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) {
    if (Node.isFunctionExpression(cb) && cb.getDescendants().some((n) => n.getKind() === SyntaxKind.ThisKeyword)) return null;
    if (cb.getParameters().length > 0) return null;
    const body = cb.getBody();
    if (hasOuterLocals(cb, [body], method)) return null;
    if (Node.isBlock(body)) {
      const stmts = body.getStatements();
      if (stmts.length === 0) return null;
      if (stmts.some((s) => s.getDescendants().some((n) => Node.isReturnStatement(n) && n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)) === cb))) return null;
      const text = stmts.map((s) => ctx.text.slice(s.getFullStart(), s.getEnd())).join('');
      return { text: aliasPrelude(stmts, unit) + dedent(text, indentAt(ctx.text, stmts[0]!.getStart()), ctx.unit) };
    }
    const expr = body.getText();
    // Await what may be a promise; a call to one of the agent's own synchronous methods is not.
    const own = Node.isCallExpression(body) ? thisMember(body.getExpression()) : null;
    const syncOwn = !!own && ctx.members.get(own)?.kind === 'method' && !isAsyncMethod(ctx, own);
    const awaitable = (Node.isCallExpression(body) && !syncOwn) || Node.isAwaitExpression(body);
    return { text: `${aliasPrelude([body], unit)}${unit}${awaitable && !Node.isAwaitExpression(body) ? 'await ' : ''}${expr};` };
  }
  // setInterval(this.tick.bind(this), ms) / setInterval(this.tick, ms)
  const target = Node.isCallExpression(cb) && calleeText(cb).endsWith('.bind') ? (cb.getExpression() as Node).getFirstChild() : cb;
  const m = target ? thisMember(target) : null;
  if (m && ctx.members.get(m)?.kind === 'method') return { text: `${unit}${isAsyncMethod(ctx, m) ? 'await ' : ''}this.${m}();` };
  return null;
}

/** Declared async or returning a Promise (so the hook awaits it). */
export function isAsyncMethod(ctx: TsRewriteContext, name: string): boolean {
  return (ctx.members.get(name)?.nodes ?? []).some((n) => {
    const fn = Node.isPropertyDeclaration(n) ? n.getInitializer() : n;
    return (
      !!fn &&
      (Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) &&
      (fn.isAsync() || /^Promise</.test(fn.getReturnTypeNode()?.getText() ?? ''))
    );
  });
}

/**
 * The agent's method `name` returns a promise though neither async nor annotated so
 * (`close() { return new Promise((resolve) => this.server.close(resolve)); }`): its return type as
 * the checker infers it. Only a method returning a value asks the checker.
 */
export function returnsPromise(ctx: TsRewriteContext, name: string): boolean {
  return (ctx.members.get(name)?.nodes ?? []).some((n) => {
    const fn = Node.isPropertyDeclaration(n) ? n.getInitializer() : n;
    if (!fn || !(Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return false;
    const body = fn.getBody();
    if (!body || (Node.isBlock(body) && !descendantsOfKind(body, SyntaxKind.ReturnStatement).some((r) => r.getExpression()))) return false;
    const t = fn.getReturnType();
    return [t, ...(t.isUnion() ? t.getUnionTypes() : [])].some((x) => x.getSymbol()?.getName() === 'Promise' || !!x.getProperty('then'));
  });
}

function dedent(text: string, from: string, unit: string): string {
  return reindent(text.replace(/^\s*\n/, ''), from, unit);
}

/**
 * Whether `code` reads a local of the enclosing method that would not exist in runOnce(): a name
 * declared in the method (its parameters included) outside `inner`, the scope that moves. Read
 * from the syntax, by name: a type checker built for this alone cost a program per rewrite, and a
 * name that is both an outer and an inner local counts as outer (the loop stays).
 */
function hasOuterLocals(inner: Node, code: Node[], method: Node): boolean {
  const fn = Node.isBlock(method) ? (method.getParent() ?? method) : method;
  const outer = new Set<string>();
  const innerNode = inner.compilerNode;
  const declare = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) outer.add(name.text);
    else for (const e of name.elements) if (!ts.isOmittedExpression(e)) declare(e.name);
  };
  const visit = (n: ts.Node): void => {
    if (n === innerNode) return;
    if (ts.isVariableDeclaration(n) || ts.isParameter(n)) declare(n.name);
    else if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) && n.name && n !== fn.compilerNode) outer.add(n.name.text);
    ts.forEachChild(n, visit);
  };
  visit(fn.compilerNode);
  if (outer.size === 0) return false;
  const reads = (n: ts.Node): boolean => {
    // `self` of `var self = this`: the hook declares it again (aliasPrelude).
    if (ts.isIdentifier(n) && outer.has(n.text) && isReference(n) && !thisAlias(n)) return true;
    return !!ts.forEachChild(n, (c) => (reads(c) ? true : undefined));
  };
  return code.some((c) => reads(c.compilerNode));
}

/** An identifier that names a variable, not a property or member (`a.x`, `{ x: 1 }`, `x() {}`). */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if ((ts.isPropertyAccessExpression(p) && p.name === id) || (ts.isQualifiedName(p) && p.right === id)) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === id) return false;
  if ((ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) && p.label === id) return false;
  return true;
}

/** `await sleep(ms)` / `await new Promise((r) => setTimeout(r, ms))` → the ms expression. */
function sleepArgument(stmt: Node): Node | null {
  if (Node.isExpressionStatement(stmt)) {
    const e = stmt.getExpression();
    const inner = Node.isAwaitExpression(e) ? e.getExpression() : null;
    if (inner && Node.isNewExpression(inner) && inner.getExpression().getText() === 'Promise') {
      const timeout = descendantsOfKind(inner, SyntaxKind.CallExpression).find((c) => calleeText(c) === 'setTimeout');
      return timeout?.getArguments()[1] ?? null;
    }
  }
  const call = statementCall(stmt);
  if (!call) return null;
  const fn = calleeText(call);
  if (/^(sleep|delay|wait|pause)$/.test(fn) || /\.(sleep|delay|wait)$/.test(fn)) return call.getArguments()[0] ?? null;
  return null;
}

function intervalExpr(ctx: TsRewriteContext, n: Node | undefined): string | null {
  if (!n) return null;
  const resolved = ctx.constantValue(n);
  return resolved;
}
