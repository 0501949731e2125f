// onStop() drains (`drain()` on SIGTERM: stop accepting, wait for the requests in flight until a
// deadline, `const deadline = Date.now() + DRAIN_TIMEOUT_MS; while (this.inFlight > 0 && Date.now()
// < deadline) await sleep(100);`, then flush and close). The legacy's SIGTERM handler waited for the
// whole drain; the base ends the process a fixed grace after SIGTERM (3 s in the reference base)
// whatever onStop() still waits for. A drain allowed longer than that is cut at the grace, and what
// it does after the wait (the journal flush of requests already answered) never runs: a silent loss.
// The base has no option that lengthens the grace, so it is a review item naming the deadline and
// what comes after it. A wait raced against a timer (`await Promise.race([this.idle(), sleep(MS)])`)
// is bounded the same way. One with no spelled-out bound is not provable here and stays quiet.
//
// Work in flight that onStop() waits for (`if (this.shipping) await this.shipping;` of a batch ship()
// sends with retries up to 8 s apart, `await Promise.all(running)` of a scheduler's jobs spawned with
// their own timeouts): the legacy's SIGTERM handler waited for it to finish; the base cuts it at the
// grace (a batch re-sent at restart, a job killed half-way). A review item naming what the work may
// take: each timeout or delay its method spells out from the grace on, or the timeout it computes,
// or that nothing bounds it. Work whose every spelled-out bound is under the grace stays quiet.
//
// Work the stop starts itself (`await this.flush();` where flush() retries each batch 3 times, each
// request allowed 10 s: probe-node70's AuditForwarder) is weighed the same way, each spelled-out bound
// times the attempts of the counted loops around it; so are several such steps one after the other
// whose bounds add up past the grace though each alone is under it.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, mayBeVariable, requestsIn, thisMember } from '../../src/lang/typescript/syntax.js';
import { excerpt } from '../../src/core/excerpt.js';
import { millis } from './stop-grace-tail.js';

export function flagStopGraceDrain(ctx: TsRewriteContext): void {
  const grace = ctx.base.stopGraceMs;
  if (grace === null || !ctx.base.signals.has('SIGTERM')) return;
  const renamed = [...ctx.renames].find(([, to]) => to === 'onStop')?.[0];
  // (The calls the rewrite appends to the renamed stop, stop-chain-fold's, are in its text as written.)
  const appended = renamed ? ctx.onStopAppended : [];
  const onStopText = [
    ...(renamed ? [methodBody(ctx, renamed)?.getText() ?? ''] : []),
    ...appended.map((a) => `${a.awaited ? 'await ' : ''}this.${a.name}()`),
    ...ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text),
  ].join('\n');
  // The stop's own body, and the agent's methods it awaits (one level: `await this.drain()`).
  // Those the stop path calls with no argument (the base calls onStop() with none) run with their
  // parameters' defaults: `async shutdown(graceMs = 20_000)` awaited as `this.shutdown()` waits 20 s.
  const bodies = new Set<Node>();
  const bare = new Set<Node>();
  const own = renamed ? methodBody(ctx, renamed) : undefined;
  if (own) {
    bodies.add(own);
    bare.add(own);
  }
  for (const [, name, args] of onStopText.matchAll(/\bawait\s+this\.([\w$]+)\s*\(\s*(\)?)/g)) {
    const body = methodBody(ctx, name!);
    if (body) bodies.add(body);
    if (body && args) bare.add(body);
  }
  const ms = (n: Node) => millis(n) ?? parameterDefault(n, bare) ?? fieldDefault(ctx, n);
  const held = heldWork(ctx);
  // The stop's own steps: the awaits of the renamed stop's body, else the methods the onStop() the rewrite writes
  // awaits (`await this.shutdown(); await this.flush();`), each a step itself, not the awaits inside it.
  const generatedSteps = own ? [] : [...onStopText.matchAll(/\bawait\s+this\.([\w$]+)\s*\(/g)].map(([, name]) => name!);
  for (const body of bodies) {
    const waits = [
      ...[...descendantsOfKind(body, SyntaxKind.WhileStatement), ...descendantsOfKind(body, SyntaxKind.DoStatement), ...descendantsOfKind(body, SyntaxKind.ForStatement)].map((loop) => ({ wait: loop as Node, bound: deadlineOf(loop, ms) })),
      // (The statement the wait is in, `if (!(await Promise.race(...)))` too: what follows it is what never runs.)
      ...descendantsOfKind(body, SyntaxKind.AwaitExpression).map((a) => ({ wait: a.getFirstAncestor((s) => Node.isStatement(s) && Node.isBlock(s.getParent())) ?? a, bound: raceBoundOf(a, ms) })),
    ];
    flagInFlightWaits(ctx, held, body, grace, ms);
    flagEachStopWaits(ctx, body, grace, ms);
    if (body === own && appended.length === 0) flagStartedWork(ctx, ownStopSteps(ctx, body, ms), body, grace);
    for (const { wait: loop, bound } of waits) {
      if (!bound || bound.ms < grace || ctx.edits.removes(loop.getStart(), loop.getEnd())) continue;
      const after = followingStatements(loop, body).filter((s) => !ctx.edits.removes(s.getStart(), s.getEnd()));
      const tail = after.length > 0 ? `, and what follows it (${after.map((s) => `line ${s.getStartLineNumber()}: ${s.getText().split('\n')[0]!.replace(/;$/, '')}`).join('; ')}) never runs` : '';
      ctx.kept.push({
        symbol: 'drain deadline',
        line: loop.getStartLineNumber(),
        reason:
          `onStop() waits at line ${loop.getStartLineNumber()} ${bound.race ? 'for' : 'until'} ${bound.text} (up to ${bound.ms} ms, line ${bound.line}), as the legacy's SIGTERM handler did; ` +
          `the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: a drain longer than that is cut there${tail}. ` +
          `Bring the deadline under the grace (or do that work before the wait), or accept the cut`,
      });
    }
  }
  // After the waits' items: one already made inside a written step's method says that step.
  if (generatedSteps.length > 0) flagStartedWork(ctx, generatedStopSteps(ctx, generatedSteps, ms), null, grace);
  // The renamed stop's own steps, then those appended at its end (after the waits' items, as written steps are).
  const appendedSteps = appended.filter((a) => a.awaited).map((a) => a.name);
  if (own && appended.length > 0) flagStartedWork(ctx, [...ownStopSteps(ctx, own, ms), ...generatedStopSteps(ctx, appendedSteps, ms)], own, grace);
}

/** ", and what follows the wait (line N: ...) never runs" for the statements after `stmt` the rewrite keeps (three at most), or ''. */
function waitTail(ctx: TsRewriteContext, stmt: Node, body: Node): string {
  const after = followingStatements(stmt, body).filter((st) => !ctx.edits.removes(st.getStart(), st.getEnd()));
  return after.length > 0 ? `, and what follows the wait (${after.slice(0, 3).map((st) => `line ${st.getStartLineNumber()}: ${firstLine(st)}`).join('; ')}) never runs` : '';
}

/** A statement's first line; for a `try {`, what it tries (`try { unlinkSync(lease) }`), which `try {` alone does not say. */
function firstLine(st: Node): string {
  const inner = Node.isTryStatement(st) ? st.getTryBlock().getStatements()[0] : undefined;
  return inner ? `try { ${firstLine(inner)} }` : st.getText().split('\n')[0]!.replace(/;$/, '');
}

/** The statements that run after `stmt` in its block and in each block around it, up to `body`. */
function followingStatements(stmt: Node, body: Node): Node[] {
  const out: Node[] = [];
  for (let s: Node | undefined = stmt; s && s !== body; s = s.getParent()) {
    const block = s.getParent();
    if (Node.isBlock(block) && Node.isStatement(s)) out.push(...block.getStatements().slice(block.getStatements().indexOf(s) + 1));
    if (block === body) break;
  }
  return out;
}

/**
 * `await Promise.race([this.idle(), new Promise((r) => setTimeout(r, DRAIN_MS))])`: a wait bounded
 * by a timer raced against the drain, no deadline variable. The timer is a `new Promise` whose
 * executor arms `setTimeout(_, MS)`, or a sleep-like call (`sleep(MS)`, timers/promises'
 * `setTimeout(MS)`); MS spelled out as for a deadline. The race ends at the timer at the latest.
 */
function raceBoundOf(wait: Node, millis: (n: Node) => number | null): { ms: number; line: number; text: string; race: true } | null {
  if (!Node.isAwaitExpression(wait)) return null;
  const call = wait.getExpression();
  if (!Node.isCallExpression(call) || call.getExpression().getText().replace(/\s+/g, '') !== 'Promise.race') return null;
  const list = call.getArguments()[0];
  if (!list || !Node.isArrayLiteralExpression(list)) return null;
  for (const el of list.getElements()) {
    const ms = timerMillis(el, millis);
    if (ms === null) continue;
    const others = list.getElements().filter((e) => e !== el).map((e) => e.getText());
    return { ms, line: el.getStartLineNumber(), text: `the first of ${others.join(', ')} and a ${ms} ms timer (${el.getText().replace(/\s+/g, ' ')})`, race: true };
  }
  return null;
}

function timerMillis(el: Node, millis: (n: Node) => number | null): number | null {
  // `const timedOut = new Promise((r) => setTimeout(() => r(false), MS).unref()); await Promise.race([drained, timedOut])`:
  // the element names a local const of the same function holding the timer.
  if (Node.isIdentifier(el)) {
    const d = el.getSymbol()?.getDeclarations()[0];
    const init = d && Node.isVariableDeclaration(d) && !Node.isSourceFile(d.getParent()?.getParent()?.getParent()) ? d.getInitializer() : undefined;
    return init ? timerMillis(init, millis) : null;
  }
  if (Node.isNewExpression(el) && el.getExpression().getText() === 'Promise') {
    for (const c of descendantsOfKind(el, SyntaxKind.CallExpression)) {
      if (!/^(globalThis\.)?setTimeout$/.test(c.getExpression().getText())) continue;
      const ms = c.getArguments()[1];
      const v = ms ? millis(ms) : null;
      if (v !== null) return v;
    }
    return null;
  }
  if (Node.isCallExpression(el) && /^(sleep|delay|wait|timeout|setTimeout|setTimeoutPromise)$/i.test(el.getExpression().getText().replace(/^.*\./, ''))) {
    const ms = el.getArguments()[0];
    return ms ? millis(ms) : null;
  }
  return null;
}

/**
 * A loop bounded by a deadline: its condition compares `Date.now()` with a local const
 * `deadline = Date.now() + MS`, MS spelled out (a number, or a module const with a default).
 */
function deadlineOf(loop: Node, millis: (n: Node) => number | null): { ms: number; line: number; text: string; race?: boolean } | null {
  const cond = Node.isWhileStatement(loop) || Node.isDoStatement(loop) ? loop.getExpression() : Node.isForStatement(loop) ? loop.getCondition() : undefined;
  if (!cond) return null;
  for (const b of [cond, ...descendantsOfKind(cond, SyntaxKind.BinaryExpression)]) {
    if (!Node.isBinaryExpression(b)) continue;
    const sides = [b.getLeft(), b.getRight()];
    if (!sides.some((s) => /^Date\.now\(\)$/.test(s.getText()))) continue;
    const other = sides.find((s) => Node.isIdentifier(s));
    const decl = other?.getSymbol()?.getDeclarations()[0];
    if (!decl || !Node.isVariableDeclaration(decl)) continue;
    const init = decl.getInitializer();
    if (!init || !Node.isBinaryExpression(init) || init.getOperatorToken().getKind() !== SyntaxKind.PlusToken) continue;
    const [l, r] = [init.getLeft(), init.getRight()];
    const span = /^Date\.now\(\)$/.test(l.getText()) ? r : /^Date\.now\(\)$/.test(r.getText()) ? l : undefined;
    const ms = span ? millis(span) : null;
    if (ms !== null) return { ms, line: decl.getStartLineNumber(), text: `${other!.getText()} (${init.getText()})` };
  }
  return null;
}

/**
 * `graceMs` of `async shutdown(graceMs = 20_000)`, in a method of `bare` (one the stop path calls with no
 * argument): its default, a number spelled out. Null otherwise.
 */
function parameterDefault(n: Node, bare: Set<Node>): number | null {
  if (!Node.isIdentifier(n)) return null;
  const d = n.getSymbol()?.getDeclarations()[0];
  if (!d || !Node.isParameterDeclaration(d)) return null;
  const fn = d.getParent();
  const body = fn && (Node.isMethodDeclaration(fn) || Node.isFunctionDeclaration(fn)) ? fn.getBody() : undefined;
  const init = d.getInitializer();
  // A literal or a module constant (`graceMs = GRACE_MS`), as a deadline written in the body is read.
  return body && bare.has(body) && init ? millis(init) : null;
}

/**
 * `this.drainTimeoutMs` of a field set only where it is declared or in the constructor, each value
 * spelled out or an option's default (`this.drainTimeoutMs = opts.drainTimeoutMs ?? 20_000`): the
 * largest such value, what the agent waits when it is built without that option (its entry point's
 * `Worker.create()`). A field written anywhere else, or to anything else, is no bound known here.
 */
function fieldDefault(ctx: TsRewriteContext, n: Node): number | null {
  const name = Node.isPropertyAccessExpression(n) ? thisMember(n) : null;
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || !member || member.kind === 'method') return null;
  const values: Node[] = [];
  for (const d of member.nodes) if (Node.isPropertyDeclaration(d) && d.getInitializer()) values.push(d.getInitializer()!);
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    const op = b.getOperatorToken().getKind();
    if (op < SyntaxKind.FirstAssignment || op > SyntaxKind.LastAssignment || thisMember(b.getLeft()) !== name || !Node.isPropertyAccessExpression(b.getLeft())) continue;
    if (op !== SyntaxKind.EqualsToken || !ctx.ctor || b.getFirstAncestor((a) => a === ctx.ctor) === undefined) return null;
    values.push(b.getRight());
  }
  let best: number | null = null;
  for (let v of values) {
    while (Node.isParenthesizedExpression(v)) v = v.getExpression();
    let ms = millis(v);
    if (ms === null && Node.isBinaryExpression(v) && [SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken].includes(v.getOperatorToken().getKind())) ms = millis(v.getRight());
    if (ms === null) return null;
    best = Math.max(best ?? 0, ms);
  }
  return best;
}

/** A method of the agent whose promise a field (or a set the class fills) holds while it runs. */
interface HeldWork {
  methods: string[];
  line: number;
  text: string;
}

/**
 * The fields and sets holding work in flight: `this.shipping = this.ship().finally(...)`, `job.running =
 * this.execute(job)` (any object's property of that name), `this.inFlight.add(p)` with `const p =
 * this.handle(job)...`. Keyed by property name; each with the agent methods that work runs.
 */
function heldWork(ctx: TsRewriteContext): Map<string, HeldWork> {
  const out = new Map<string, HeldWork>();
  // The method whose promise it is: `this.ship()` under `.finally(...)` / `.then(...)` / `.catch(...)`
  // (not what those callbacks call, nor an async IIFE's loop). A loop of the agent's lifecycle (its
  // condition reads an abort signal or a flag the class sets to true/false) is no unit of work: the stop
  // ends it, and stop-grace-tail.ts weighs its rounds.
  const agentCalls = (n: Node): string[] => {
    let e: Node = n;
    for (;;) {
      while (Node.isParenthesizedExpression(e) || Node.isAwaitExpression(e)) e = e.getExpression();
      const callee = Node.isCallExpression(e) ? e.getExpression() : undefined;
      if (callee && Node.isPropertyAccessExpression(callee) && ['then', 'finally', 'catch'].includes(callee.getName())) e = callee.getExpression();
      else break;
    }
    const m = Node.isCallExpression(e) ? thisMember(e.getExpression()) : null;
    return m && ctx.members.get(m)?.kind === 'method' && !lifecycleLoop(ctx, m) ? [m] : [];
  };
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const left = b.getLeft();
    if (!Node.isPropertyAccessExpression(left)) continue;
    const methods = agentCalls(b.getRight());
    if (methods.length > 0 && !out.has(left.getName())) out.set(left.getName(), { methods, line: b.getStartLineNumber(), text: b.getText().split('\n')[0]! });
  }
  for (const c of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !['add', 'push', 'set'].includes(callee.getName())) continue;
    const holder = thisMember(callee.getExpression());
    const arg = c.getArguments().at(-1);
    const decl = arg && Node.isIdentifier(arg) && mayBeVariable(arg) ? arg.getSymbol()?.getDeclarations()[0] : undefined;
    const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
    const methods = init ? agentCalls(init) : [];
    if (holder && methods.length > 0 && !out.has(holder)) out.set(holder, { methods, line: c.getStartLineNumber(), text: c.getText() });
  }
  return out;
}

/** Method `name` loops while the agent runs: a loop whose condition reads `aborted`/a signal, or a member the class sets to true or false. */
function lifecycleLoop(ctx: TsRewriteContext, name: string): boolean {
  const body = methodBody(ctx, name);
  if (!body) return false;
  const flags = new Set<string>();
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    const m = b.getOperatorToken().getKind() === SyntaxKind.EqualsToken ? thisMember(b.getLeft()) : null;
    if (m && [SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword].includes(b.getRight().getKind())) flags.add(m);
  }
  const loops = [...descendantsOfKind(body, SyntaxKind.WhileStatement), ...descendantsOfKind(body, SyntaxKind.DoStatement), ...descendantsOfKind(body, SyntaxKind.ForStatement), ...descendantsOfKind(body, SyntaxKind.ForOfStatement)];
  return loops.some((loop) => {
    const head = Node.isForOfStatement(loop) ? loop.getExpression() : Node.isForStatement(loop) ? loop.getCondition() : (loop as import('ts-morph').WhileStatement).getExpression();
    if (!head) return Node.isForStatement(loop);
    if (/\baborted\b|\bsignal\b/.test(head.getText())) return true;
    return [head, ...head.getDescendants()].some((n) => {
      const m = thisMember(n);
      return m !== null && flags.has(m);
    });
  });
}

/** The property names an awaited expression reads, and those of the local consts it reads (one level). */
function readsProperties(e: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  const scan = (n: Node, depth: number) => {
    for (const p of [n, ...n.getDescendants()]) {
      if (Node.isPropertyAccessExpression(p)) out.set(p.getName(), p);
      else if (depth === 0 && Node.isIdentifier(p)) {
        const d = p.getSymbol()?.getDeclarations()[0];
        const init = d && Node.isVariableDeclaration(d) && !Node.isSourceFile(d.getParent()?.getParent()?.getParent()) ? d.getInitializer() : undefined;
        if (init && !init.containsRange(e.getPos(), e.getEnd())) scan(init, 1);
      }
    }
  };
  scan(e, 0);
  return out;
}

/**
 * What the work of `methods` may take, as its code spells it: timeouts and delays (`AbortSignal.timeout(MS)`,
 * `setTimeout(_, MS)`, `sleep(MS)`, an option `timeout: MS` / `capMs: MS`), in those methods and the agent
 * methods they call (one level). Each with its value in ms (null when computed) and line; and whether the
 * work sends requests or runs processes (which nothing may bound).
 */
function workBounds(ctx: TsRewriteContext, methods: string[], millis: (n: Node) => number | null): { bounds: WorkBound[]; io: string | null } {
  const bodies: Node[] = [];
  for (const m of methods) {
    const body = methodBody(ctx, m);
    if (!body || bodies.includes(body)) continue;
    bodies.push(body);
    for (const c of descendantsOfKind(body, SyntaxKind.CallExpression)) {
      const inner = thisMember(c.getExpression());
      const b = inner ? methodBody(ctx, inner) : undefined;
      if (b && !bodies.includes(b)) bodies.push(b);
    }
  }
  const bounds: WorkBound[] = [];
  let io: string | null = null;
  for (const body of bodies) {
    for (const n of body.getDescendants()) {
      if (Node.isCallExpression(n)) {
        const callee = n.getExpression().getText().replace(/\s+/g, '');
        const arg = /^AbortSignal\.timeout$|^(sleep|delay|wait)$/i.test(callee.replace(/^this\./, '')) ? n.getArguments()[0] : /^(globalThis\.)?setTimeout$/.test(callee) ? n.getArguments()[1] : undefined;
        if (arg) bounds.push({ ms: millis(arg), line: n.getStartLineNumber(), text: excerpt(n.getText().replace(/\s+/g, ' '), 80), attempts: [...roundsAround(n, body, millis), ...helperAttempts(n, body, millis)] });
        // A request (requestsIn: fetch, http.request, https.get...) or a child process; not `map.get(k)` nor `re.exec(s)`.
        if (!io && (requestsIn(`${callee}(`).length > 0 || /^((child_process|cp)\.)?(spawn|execFile|exec|fork)$/.test(callee))) io = `${callee}() at line ${n.getStartLineNumber()}`;
      } else if (Node.isPropertyAssignment(n) && /^(timeout|timeoutMs|capMs|maxDelayMs|maxMs|delayMs)$/i.test(n.getName())) {
        const v = n.getInitializer();
        if (v) bounds.push({ ms: millis(v), line: n.getStartLineNumber(), text: n.getText().replace(/\s+/g, ' '), attempts: [] });
      }
    }
  }
  return { bounds, io };
}

/** A timeout or delay the work spells out, with the attempts around it (a counted retry loop, a retry helper's option). */
interface WorkBound {
  ms: number | null;
  line: number;
  text: string;
  attempts: Array<{ n: number; text: string }>;
}

/**
 * `await retry(async () => { await fetch(url, { signal: AbortSignal.timeout(1500) }); }, { retries: 4, capMs: 2000 })`:
 * the function around `n` is handed to a call whose options spell out how many times it is tried (p-retry's and
 * async-retry's `retries`, BullMQ's `attempts`, a repository's own helper imported from a utils file). Each try may
 * take the bound again. The count is taken as the number of tries (p-retry tries `retries + 1` times): a floor.
 */
function helperAttempts(n: Node, scope: Node, millis: (n: Node) => number | null): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  for (let p = n.getParent(); p && p !== scope; p = p.getParent()) {
    const call = p.getParent();
    if (!(Node.isArrowFunction(p) || Node.isFunctionExpression(p)) || !call || !Node.isCallExpression(call) || !call.getArguments().includes(p as never)) continue;
    for (const a of call.getArguments()) {
      if (!Node.isObjectLiteralExpression(a)) continue;
      for (const prop of a.getProperties()) {
        if (!Node.isPropertyAssignment(prop) || !/^(retries|attempts|maxAttempts|maxRetries|tries)$/.test(prop.getName())) continue;
        const v = millis(prop.getInitializerOrThrow());
        if (v !== null && v > 1) out.push({ n: v, text: `${excerpt(call.getExpression().getText(), 30)}(..., { ${prop.getText()} }), line ${prop.getStartLineNumber()}` });
      }
    }
  }
  return out;
}

/**
 * The flags a method raises while it runs: `this.polling = true` among its own statements and `this.polling
 * = false` in it too (its `finally`), as a poll() that skips a round while the last one still runs
 * (PartitionConsumer, probe-node71). Keyed by flag; the work is that method.
 */
function busyFlags(ctx: TsRewriteContext): Map<string, HeldWork> {
  const out = new Map<string, HeldWork>();
  for (const [name, member] of ctx.members) {
    if (member.kind !== 'method' || lifecycleLoop(ctx, name)) continue;
    const body = methodBody(ctx, name);
    if (!body) continue;
    const set = new Map<string, { t?: Node; f?: boolean }>();
    for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
      if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || !Node.isPropertyAccessExpression(b.getLeft())) continue;
      // In the method itself, not in a callback it defines.
      if (b.getFirstAncestor((f) => Node.isFunctionLikeDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f)) !== body.getParent()) continue;
      const flag = thisMember(b.getLeft());
      if (!flag) continue;
      const e = set.get(flag) ?? {};
      if (b.getRight().getKind() === SyntaxKind.TrueKeyword) e.t ??= b;
      else if (b.getRight().getKind() === SyntaxKind.FalseKeyword) e.f = true;
      set.set(flag, e);
    }
    for (const [flag, e] of set) {
      if (e.t && e.f && !out.has(flag)) out.set(flag, { methods: [name], line: e.t.getStartLineNumber(), text: e.t.getText() });
    }
  }
  return out;
}

/** The abstract methods of the agent that `methods` are or call (one level): work each subclass supplies. */
function abstractWork(ctx: TsRewriteContext, methods: string[]): string[] {
  const isAbstract = (m: string) => ctx.members.get(m)?.nodes.some((d) => Node.isMethodDeclaration(d) && d.isAbstract()) ?? false;
  const out = methods.filter(isAbstract);
  for (const m of methods) {
    const body = methodBody(ctx, m);
    if (!body) continue;
    for (const c of descendantsOfKind(body, SyntaxKind.CallExpression)) {
      const inner = thisMember(c.getExpression());
      if (inner && isAbstract(inner) && !out.includes(inner)) out.push(inner);
    }
  }
  return out;
}

function flagInFlightWaits(ctx: TsRewriteContext, held: Map<string, HeldWork>, body: Node, grace: number, millis: (n: Node) => number | null): void {
  const flags = busyFlags(ctx);
  if (held.size === 0 && flags.size === 0) return;
  const waits: Array<{ at: Node; hit: string; work: HeldWork }> = [];
  // `while (this.polling) await sleep(50);`: a loop that waits, with no deadline, while a method's busy flag is up.
  for (const loop of [...descendantsOfKind(body, SyntaxKind.WhileStatement), ...descendantsOfKind(body, SyntaxKind.DoStatement)]) {
    if (ctx.edits.removes(loop.getStart(), loop.getEnd()) || deadlineOf(loop, millis)) continue;
    const cond = (loop as import('ts-morph').WhileStatement).getExpression();
    if (descendantsOfKind(loop, SyntaxKind.AwaitExpression).length === 0) continue;
    // The flag read as it is (`this.polling`, `this.polling && ...`), not negated.
    const hit = [cond, ...cond.getDescendants()].map((n) => (Node.isPropertyAccessExpression(n) && !Node.isPrefixUnaryExpression(n.getParent()) ? thisMember(n) : null)).find((m): m is string => !!m && flags.has(m));
    if (hit) waits.push({ at: loop, hit, work: flags.get(hit)! });
  }
  for (const a of descendantsOfKind(body, SyntaxKind.AwaitExpression)) {
    if (ctx.edits.removes(a.getStart(), a.getEnd()) || raceBoundOf(a, millis)) continue;
    let e: Node = a.getExpression();
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    // The work itself, not a new call of the agent's (`await this.ship()` is work the stop starts).
    if (Node.isCallExpression(e) && thisMember(e.getExpression())) continue;
    const reads = readsProperties(e);
    const hit = [...reads.keys()].find((p) => held.has(p));
    if (hit) waits.push({ at: a, hit, work: held.get(hit)! });
  }
  waits.sort((x, y) => x.at.getStart() - y.at.getStart());
  for (const { at: a, hit, work } of waits) {
    const { bounds, io } = workBounds(ctx, work.methods, millis);
    const long = bounds.filter((b) => b.ms !== null && b.ms >= grace);
    // Each try under the grace, but tried again and again: together past it (probe-node72's WebhookRelay:
    // each accepted webhook forwarded through an imported retry() with 4 tries of 1.5 s; the legacy spooled
    // it to disk after 7 s, the base's exit at 3 s lost it).
    const times = (b: WorkBound) => b.attempts.reduce((k, r) => k * r.n, 1);
    const retried = long.length === 0 ? bounds.filter((b) => b.ms !== null && times(b) > 1 && b.ms * times(b) > grace) : [];
    const computed = bounds.filter((b) => b.ms === null);
    // `protected abstract handle(job): Promise<void>` of an abstract parent (QueueWorker), or one the
    // work calls (PartitionConsumer's poll() awaits this.handle() per record): the work in flight is
    // each subclass's, which this class's code cannot bound.
    const abstract = abstractWork(ctx, work.methods);
    if (long.length === 0 && retried.length === 0 && computed.length === 0 && abstract.length === 0 && (bounds.length > 0 || !io)) continue;
    const stmt = Node.isStatement(a) && Node.isBlock(a.getParent()) ? a : a.getFirstAncestor((st) => Node.isStatement(st) && Node.isBlock(st.getParent())) ?? a;
    const tail = waitTail(ctx, stmt, body);
    const names = work.methods.map((m) => `${m}()`).join(', ');
    const takes = long.length > 0
      ? `that work can take longer: ${long.map((b) => `${b.text} (${b.ms} ms, line ${b.line})`).join(', ')}`
      : retried.length > 0
        ? `that work can take longer, tried again each time: ${retried.map((b) => `${b.text} (${b.ms} ms, line ${b.line}) x ${times(b)} attempts (${b.attempts.map((r) => r.text).join('; ')}): at least ${b.ms! * times(b)} ms`).join(', ')}`
        : computed.length > 0
          ? `that work is bounded only by what it computes (${computed.map((b) => `${b.text}, line ${b.line}`).join('; ')}), no number the code spells out under the grace`
          : abstract.length > 0
            ? `that work is the subclasses' own (${abstract.map((m) => `${m}() is abstract here`).join(', ')}), which nothing in this class bounds`
            : `nothing in that work's code bounds it (${io})`;
    ctx.kept.push({
      symbol: 'in-flight wait',
      line: stmt.getStartLineNumber(),
      reason:
        `onStop() waits at line ${stmt.getStartLineNumber()} (${stmt.getText().split('\n')[0]!.trim()}) for the work ${names} has in flight (${flags.get(hit) === work ? 'flagged' : 'held'} by ${hit}, line ${work.line}: ${work.text}), as the legacy's SIGTERM handler did; ` +
        `the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for, and ${takes}. It is cut at the grace${tail}. ` +
        `Bound the wait under the grace (and say what a cut leaves behind), or accept the cut`,
    });
    return;
  }
}

/**
 * `await Promise.all([...this.procs.values()].map((p) => this.stopOne(p)))`: onStop() stops each of the
 * agent's children (processes, workers) through a method of its own and waits for them all, each stop
 * bounded by a timer that method arms (`setTimeout(() => child.kill('SIGKILL'), p.stopTimeoutMs ?? 10_000)`).
 * The legacy's SIGTERM handler waited for the last of them, escalation included; the base ends the
 * process its grace after SIGTERM, so a child slower than that is left running unkilled (ProcSupervisor,
 * probe-node70: legacy 6.2 s with the child SIGKILLed, _v2 3.2 s with the child still running) and what
 * follows the wait never runs. A review item naming the timer; timers spelled out under the grace stay quiet.
 */
function flagEachStopWaits(ctx: TsRewriteContext, body: Node, grace: number, millis: (n: Node) => number | null): void {
  for (const a of descendantsOfKind(body, SyntaxKind.AwaitExpression)) {
    if (ctx.edits.removes(a.getStart(), a.getEnd())) continue;
    const e = a.getExpression();
    if (!Node.isCallExpression(e) || !/^Promise\.(all|allSettled)$/.test(e.getExpression().getText().replace(/\s+/g, ''))) continue;
    const list = e.getArguments()[0];
    const map = list && Node.isCallExpression(list) ? list.getExpression() : undefined;
    if (!map || !Node.isPropertyAccessExpression(map) || map.getName() !== 'map') continue;
    const fn = (list as import('ts-morph').CallExpression).getArguments()[0];
    if (!fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) continue;
    const methods = [...new Set(descendantsOfKind(fn, SyntaxKind.CallExpression).map((c) => thisMember(c.getExpression())).filter((m): m is string => !!m && ctx.members.get(m)?.kind === 'method' && !lifecycleLoop(ctx, m)))];
    if (methods.length === 0) continue;
    const timers = workBounds(ctx, methods, millis).bounds.filter((b) => /^(globalThis\.)?setTimeout\(/.test(b.text) && (b.ms === null || b.ms >= grace));
    if (timers.length === 0) continue;
    const stmt = a.getFirstAncestor((st) => Node.isStatement(st) && Node.isBlock(st.getParent())) ?? a;
    const tail = waitTail(ctx, stmt, body);
    const names = methods.map((m) => `${m}()`).join(', ');
    ctx.kept.push({
      symbol: 'stop wait',
      line: stmt.getStartLineNumber(),
      reason:
        `onStop() waits at line ${stmt.getStartLineNumber()} (${stmt.getText().split('\n')[0]!.trim()}) for ${names} of each, as the legacy's SIGTERM handler did; ` +
        `each arms a timer ${timers.map((t) => `${t.text} (${t.ms === null ? 'computed, no number the code spells out under the grace' : `${t.ms} ms`}, line ${t.line})`).join(', ')}, ` +
        `and the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: a stop slower than that is cut there, before its timer fires${tail}. ` +
        `Bring the timeouts under the grace, or accept the cut`,
    });
    return;
  }
}


/** `for (let attempt = 1; attempt <= ATTEMPTS && ...; attempt++)`: how many rounds it runs at most, both ends spelled out; null otherwise. */
function countedRounds(loop: Node, millis: (n: Node) => number | null): { n: number; text: string } | null {
  if (!Node.isForStatement(loop)) return null;
  const init = loop.getInitializer();
  const decl = init && Node.isVariableDeclarationList(init) ? init.getDeclarations()[0] : undefined;
  const from = decl?.getInitializer();
  const start = from && Node.isNumericLiteral(from) ? Number(from.getLiteralValue()) : null;
  const cond = loop.getCondition();
  if (!decl || start === null || !cond) return null;
  const name = decl.getName();
  for (const b of [cond, ...descendantsOfKind(cond, SyntaxKind.BinaryExpression)]) {
    if (!Node.isBinaryExpression(b) || b.getLeft().getText() !== name) continue;
    const op = b.getOperatorToken().getKind();
    if (op !== SyntaxKind.LessThanToken && op !== SyntaxKind.LessThanEqualsToken) continue;
    // (an `&&` above it only ends the loop sooner)
    if (b !== cond && b.getParent() !== cond && !(Node.isBinaryExpression(b.getParent()) && (b.getParent() as import('ts-morph').BinaryExpression).getOperatorToken().getKind() === SyntaxKind.AmpersandAmpersandToken)) continue;
    const end = millis(b.getRight());
    if (end === null) continue;
    const n = end - start + (op === SyntaxKind.LessThanEqualsToken ? 1 : 0);
    return n > 0 ? { n, text: `line ${loop.getStartLineNumber()}: ${name} ${b.getOperatorToken().getText()} ${b.getRight().getText()}` } : null;
  }
  return null;
}

/** The counted loops around `n` inside `scope`, innermost first. */
function roundsAround(n: Node, scope: Node, millis: (n: Node) => number | null): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  for (let p = n.getParent(); p && p !== scope; p = p.getParent()) {
    if (Node.isForStatement(p) && p.getStatement().containsRange(n.getPos(), n.getEnd())) {
      const r = countedRounds(p, millis);
      if (r) out.push(r);
    }
  }
  return out;
}

/**
 * What a method the stop awaits may take, as its code spells it: each timeout or pause in it and in the
 * agent methods it calls (one level), times the counted loops around it (a retry's attempts); each
 * with its text and line. Null when it spells out none.
 */
function startedWorkBound(ctx: TsRewriteContext, name: string, millis: (n: Node) => number | null): { ms: number; parts: string[]; rounds: string[] } | null {
  const body = methodBody(ctx, name);
  if (!body) return null;
  const parts: string[] = [];
  const rounds = new Set<string>();
  let total = 0;
  // A bound handed in as an argument (`this.call('PUT', url, body, COMMIT_TIMEOUT_MS)` of `call(..., timeoutMs)`): the value at that call.
  const givenAt = (arg: Node, params: Map<Node, Node>): Node | undefined => {
    const d = Node.isIdentifier(arg) ? arg.getSymbol()?.getDeclarations()[0] : undefined;
    return d ? params.get(d) : undefined;
  };
  const weigh = (scope: Node, factor: Array<{ n: number; text: string }>, depth: number, params: Map<Node, Node>) => {
    for (const n of scope.getDescendants()) {
      let arg: Node | undefined;
      if (Node.isCallExpression(n)) {
        const callee = n.getExpression().getText().replace(/\s+/g, '');
        const inner = thisMember(n.getExpression());
        const b = inner && inner !== name ? methodBody(ctx, inner) : undefined;
        if (b && depth === 0 && ctx.members.get(inner!)?.kind === 'method' && !lifecycleLoop(ctx, inner!)) {
          const fn = b.getParent();
          const given = new Map<Node, Node>();
          if (fn && (Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) fn.getParameters().forEach((p, i) => n.getArguments()[i] && given.set(p, n.getArguments()[i]!));
          weigh(b, [...roundsAround(n, scope, millis), ...factor], depth + 1, given);
        }
        arg = /^AbortSignal\.timeout$|^(sleep|delay|wait)$/i.test(callee.replace(/^this\./, '')) ? n.getArguments()[0] : /^(globalThis\.)?setTimeout$/.test(callee) ? n.getArguments()[1] : undefined;
        // A timer that only forces an end (`setTimeout(() => child.kill(), MS)`, `.unref()`) is still what the work may take.
      } else if (Node.isPropertyAssignment(n) && /^(timeout|timeoutMs)$/i.test(n.getName())) {
        arg = n.getInitializer();
      }
      const given = arg ? givenAt(arg, params) : undefined;
      const v = given ? millis(given) : arg ? millis(arg) : null;
      if (!arg || v === null) continue;
      const around = [...roundsAround(n, scope, millis), ...factor];
      const times = around.reduce((k, r) => k * r.n, 1);
      for (const r of around) rounds.add(`${r.n} attempts (${r.text})`);
      total += v * times;
      parts.push(`${excerpt(n.getText().replace(/\s+/g, ' '), 60)}${given ? ` with ${arg.getText()} = ${given.getText()} (line ${given.getStartLineNumber()})` : ''} (${v} ms, line ${n.getStartLineNumber()})${times > 1 ? ` x ${times} attempts` : ''}`);
    }
  };
  weigh(body, [], 0, new Map());
  return parts.length > 0 ? { ms: total, parts, rounds: [...rounds] } : null;
}

/** A step of the stop: an agent method it awaits, where (the statement in the renamed stop, or the method's own line for a written onStop()) and what it may take. */
interface StopStep {
  stmt: Node | null;
  line: number;
  /** The lines an item already said about this step may name: the statement's first line, or the whole written step's method. */
  lines: [number, number];
  text: string;
  call: string;
  bound: { ms: number; parts: string[]; rounds: string[] };
}

/** The steps of a renamed stop: the agent methods its body awaits itself (not inside a callback it defines). */
function ownStopSteps(ctx: TsRewriteContext, body: Node, millis: (n: Node) => number | null): StopStep[] {
  const steps: StopStep[] = [];
  for (const a of descendantsOfKind(body, SyntaxKind.AwaitExpression)) {
    if (ctx.edits.removes(a.getStart(), a.getEnd())) continue;
    if (a.getFirstAncestor((f) => Node.isFunctionLikeDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f)) !== body.getParent()) continue;
    let e: Node = a.getExpression();
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    const m = Node.isCallExpression(e) ? thisMember(e.getExpression()) : null;
    const bound = m ? stepBound(ctx, m, millis) : null;
    if (!bound) continue;
    const stmt = a.getFirstAncestor((st) => Node.isStatement(st) && Node.isBlock(st.getParent())) ?? a;
    steps.push({ stmt, line: stmt.getStartLineNumber(), lines: [stmt.getStartLineNumber(), stmt.getStartLineNumber()], text: stmt.getText().split('\n')[0]!.trim(), call: `this.${m}()`, bound });
  }
  return steps;
}

/** The steps of an onStop() the rewrite writes: the agent methods it awaits, in order, each named at its declaration. */
function generatedStopSteps(ctx: TsRewriteContext, names: string[], millis: (n: Node) => number | null): StopStep[] {
  const steps: StopStep[] = [];
  for (const name of names) {
    const bound = stepBound(ctx, name, millis);
    const decl = methodBody(ctx, name)?.getParent();
    if (!bound || !decl) continue;
    steps.push({ stmt: null, line: decl.getStartLineNumber(), lines: [decl.getStartLineNumber(), decl.getEndLineNumber()], text: 'the method itself, which the onStop() the rewrite wrote awaits', call: `this.${name}()`, bound });
  }
  return steps;
}

/** What an agent method awaited as a stop step may take (startedWorkBound), for a plain method that is not the agent's loop. */
function stepBound(ctx: TsRewriteContext, name: string, millis: (n: Node) => number | null): StopStep['bound'] | null {
  if (ctx.members.get(name)?.kind !== 'method' || lifecycleLoop(ctx, name)) return null;
  return startedWorkBound(ctx, name, millis);
}

/**
 * `await this.flush();` in the stop: work the stop starts itself, whose spelled-out bounds (times its
 * attempts) pass the grace; or several such steps one after the other whose bounds add up past it.
 * `body`: the renamed stop's, whose statements after a step never run once it is cut (null: a written onStop()).
 */
function flagStartedWork(ctx: TsRewriteContext, steps: StopStep[], body: Node | null, grace: number): void {
  const tailOf = (s: StopStep) => (s.stmt && body ? waitTail(ctx, s.stmt, body) : '');
  // (An item already made about a written step's method, a drain deadline inside it, says it.)
  const said = (s: StopStep) => ctx.kept.some((k) => k.line >= s.lines[0] && k.line <= s.lines[1]);
  // Strictly past it: work its own timeout ends at the grace ends there in the legacy too (a tie, not a cut).
  const over = steps.find((s) => s.bound.ms > grace && !said(s));
  if (over) {
    const { line, text, call, bound } = over;
    ctx.kept.push({
      symbol: 'stop work',
      line,
      reason:
        `onStop() awaits ${call} at line ${line} (${text}), work the stop starts itself, as the legacy's SIGTERM handler did for as long as it took; ` +
        `that work may take up to ${bound.ms} ms by what its code spells out (${bound.parts.join('; ')}${bound.rounds.length > 0 ? `; ${bound.rounds.join('; ')}` : ''}), ` +
        `and the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: a slower run of it is cut there${tailOf(over)}. ` +
        `Bound that work under the grace on the stop path (fewer attempts, a shorter timeout, or this.stopSignal), or accept the cut`,
    });
    return;
  }
  const quiet = steps.filter((s) => !said(s));
  const sum = quiet.reduce((n, s) => n + s.bound.ms, 0);
  if (quiet.length < 2 || sum <= grace) return;
  const last = quiet.at(-1)!;
  ctx.kept.push({
    symbol: 'stop steps',
    line: quiet[0]!.line,
    reason:
      `onStop() runs ${quiet.length} bounded steps one after the other (${quiet.map((s) => `line ${s.line}: ${s.call}, up to ${s.bound.ms} ms (${s.bound.parts.join('; ')})`).join('; ')}), as the legacy's SIGTERM handler did; ` +
      `each is under the base's grace but together they may take ${sum} ms, and the base ends the process ${grace} ms after SIGTERM whatever onStop() still waits for: the later steps are cut there${tailOf(last)}. ` +
      `Bring their sum under the grace, or accept the cut`,
  });
}
