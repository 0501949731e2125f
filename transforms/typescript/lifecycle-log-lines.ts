// The log lines of a start or stop method that goes whole (its work is now the base's) move into
// the base's onStart() / onStop() hook: `console.log('stock watcher stopping')` is what operators
// and their log searches see when the service starts and stops; the base's own lines name the
// agent differently, so dropping it changes what the service prints. Only a line that still
// means the same thing moves: it reads literals, module constants and members that stay (or that
// the base now holds, such as port); a line about removed infrastructure (the health port it
// bound, a local of the method) goes with it, as before.
import { Node, SyntaxKind, type Statement } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { isPublicMember, methodBody } from '../../src/lang/typescript/context.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { ensureAsync } from './await-close-callback.js';
import { mixinMethods } from '../../src/lang/typescript/mixins.js';
import { descendantsOfKind, isLogCall, isLogHelperCall, isModuleLogHelperCall, namesDeclaredInFile, signalHandlerCall, statementCall, thisMember } from '../../src/lang/typescript/syntax.js';
import { signalStatements } from '../../src/lang/typescript/patterns.js';
import { localHandler } from './remove-signal-handlers.js';

export function keepLifecycleLogLines(ctx: TsRewriteContext, removed: Set<string>): void {
  for (const [name, p] of ctx.plan.members) {
    if (!p.delegate || !removed.has(name) || ctx.renames.has(name)) continue;
    // The start method is the one the entry point called (or the old base's looping hook, which
    // its start() called: the loop is runOnce()); stop methods are the signal handlers' targets.
    const loopHost = p.delegate === 'start' && ctx.hints.loopHost === name;
    // A module that only declares the agent (main.js builds and starts it, or a process manager
    // outside the repository imports it): its public start method is the one called from outside.
    const startedElsewhere = p.delegate === 'start' && !ctx.entry?.method && isPublicMember(ctx, name);
    if (p.delegate === 'start' && ctx.entry?.method !== name && !loopHost && !startedElsewhere) continue;
    const body = methodBody(ctx, name);
    if (!body || !Node.isBlock(body)) continue;
    const stmts = body.getStatements();
    const firstWork = stmts.findIndex((s) => !isLogCall(statementCall(s)));
    const before: Statement[] = [];
    const after: Statement[] = [];
    const respelled = new Map<Statement, Array<[number, number, string]>>();
    stmts.forEach((s, i) => {
      const edits = isLogCall(statementCall(s)) ? movable(ctx, s, removed) : null;
      if (!edits) return;
      if (edits.length) respelled.set(s, edits);
      (firstWork < 0 || i < firstWork ? before : after).push(s);
    });
    if (before.length + after.length === 0) continue;
    const hook = p.delegate === 'start' ? 'onStart' : 'onStop';
    // The looping hook ran after the old base's init hook (now onStart()): its lines come last.
    const t = text(ctx, respelled);
    if (loopHost) place(ctx, hook, [], [...before, ...after].map(t));
    else place(ctx, hook, before.map(t), after.map(t));
    const lines = [...before, ...after].map((s) => s.getStartLineNumber()).join(', ');
    ctx.warnings.push(`${name}()'s log line${before.length + after.length > 1 ? 's' : ''} (line ${lines}) kept in the base's ${hook}() hook: what the service printed when it ${hook === 'onStart' ? 'started' : 'stopped'}`);
    for (const [s, edits] of respelled) {
      const names = edits.map(([a, b, to]) => `${ctx.text.slice(a, b)} -> ${to}`).join(', ');
      ctx.warnings.push(`the log line at line ${s.getStartLineNumber()} named a port that now goes to the base: it names the base's (${names}), where the base serves it`);
    }
  }
}

/**
 * The log lines of an inline SIGTERM/SIGINT handler that went (the base installs its own, which
 * calls onStop()): `log.info('draining')` before `await agent.stop()` is what operators saw when
 * the service was told to stop. Unless the handler's statements already became onStop() whole,
 * each line that reads only what stays moves into the base's onStop() hook (before the hook's
 * work when it came before the handler's, after it otherwise); a line reading what cannot move
 * (a local of the handler, the signal it got, the entry point's variables) is named as dropped.
 */
export function keepSignalLogLines(ctx: TsRewriteContext, removed: Set<string>): void {
  const roots: Node[] = [ctx.cls, ...(ctx.entry ? [ctx.entry.container] : [])];
  const seen = new Set<Node>();
  for (const root of roots) {
    for (const stmt of signalStatements(root, true)) {
      if (seen.has(stmt) || !ctx.edits.removes(stmt.getStart(), stmt.getEnd())) continue;
      seen.add(stmt);
      const sig = signalHandlerCall(stmt, true)!;
      // An inline handler, or the function of the file it names (`process.once('SIGINT', shutdown)`),
      // once however many signals install it; a named one only when it went with its handlers.
      const handler = localHandler(sig.call.getArguments()[1]);
      if (!handler || seen.has(handler) || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isFunctionDeclaration(handler))) continue;
      if (handler !== sig.call.getArguments()[1] && !ctx.edits.removes(handler.getStart(), handler.getEnd())) continue;
      seen.add(handler);
      const body = handler.getBody();
      if (!body || !Node.isBlock(body)) continue;
      const stmts = body.getStatements();
      // (A module's own log helper, `log('info', 'SIGTERM: stopping renderer')`, prints the same way.)
      const logLine = (s: Statement) => isLogCall(statementCall(s)) || isModuleLogHelperCall(statementCall(s));
      const logs = stmts.filter(logLine);
      // `agent.stop().then(() => console.log('stopped'))`: printed once the stop was done.
      const thenLogs = stmts.flatMap((s) => (logLine(s) ? [] : logsAfterStop(s)));
      if (logs.length === 0 && thenLogs.length === 0) continue;
      // Already onStop()'s (the handler's statements moved whole).
      const hooks = ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text.replace(/\s+/g, ''));
      // (There the entry point's variable for the agent reads `this`.)
      const agent = ctx.entry?.variable;
      const readsAgent = (s: Statement) => !!agent && s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === agent && !(Node.isPropertyAccessExpression(id.getParent()) && (id.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === id));
      const asHook = (s: Statement) => {
        let t = s.getText();
        // (The variable's own identifiers only: the same word inside a string, `[relay] stopping`, stays.)
        if (agent && readsAgent(s)) {
          const ids = s
            .getDescendantsOfKind(SyntaxKind.Identifier)
            .filter((id) => id.getText() === agent && !(Node.isPropertyAccessExpression(id.getParent()) && (id.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === id))
            .sort((a, b) => b.getStart() - a.getStart());
          for (const id of ids) t = t.slice(0, id.getStart() - s.getStart()) + 'this' + t.slice(id.getEnd() - s.getStart());
        }
        return t.replace(/\s+/g, '');
      };
      const unmoved = [...logs, ...thenLogs].filter((s) => !hooks.some((h) => h.includes(asHook(s))));
      if (unmoved.length === 0) continue;
      // A once-guard of the handler (`if (closing) return; closing = true;`) is not work: a log
      // line after it still comes before the stop.
      const firstWork = stmts.findIndex((s) => !logLine(s) && !onceGuard(s));
      const before: Statement[] = [];
      const after: Statement[] = [];
      const dropped: Statement[] = [];
      for (const s of unmoved) {
        const ok = !readsAgent(s) && !readsHandlerScope(s, handler) && !(Node.isFunctionExpression(handler) && s.getFirstDescendantByKind(SyntaxKind.ThisKeyword)) && movable(ctx, s, removed);
        if (!ok) dropped.push(s);
        else (thenLogs.includes(s) || !(firstWork < 0 || stmts.indexOf(s) < firstWork) ? after : before).push(s);
      }
      // A named handler speaks for every signal that installs it.
      const signals = new Set(signalStatements(root, true).flatMap((x) => {
        const other = signalHandlerCall(x, true)!;
        return other.call === sig.call || localHandler(other.call.getArguments()[1]) === handler ? other.signals : [];
      }));
      const what = `the ${[...signals].join('/')} handler's log line`;
      if (before.length + after.length > 0) {
        const line = text(ctx, new Map());
        const t = (s: Statement) => (Node.isExpressionStatement(s) ? line(s) : `${ctx.unit}${s.getText()};`);
        place(ctx, 'onStop', before.map(t), after.map(t));
        const lines = [...before, ...after].map((s) => s.getStartLineNumber()).join(', ');
        // The base stops the same way on SIGTERM and SIGINT and does not tell onStop() which signal
        // it got: where the other signal had a handler of its own, a line that was one signal's
        // own now prints on the other too.
        const handled = new Set(signalStatements(root, true).flatMap((x) => signalHandlerCall(x, true)!.signals));
        const also = ['SIGTERM', 'SIGINT'].filter((x) => !signals.has(x) && handled.has(x));
        const many = before.length + after.length > 1;
        const alike = also.length > 0 ? `; the base runs onStop() on ${[...signals, ...also].join(' and ')} alike and does not tell it which signal it got, so ${many ? 'they' : 'it'} now also print${many ? '' : 's'} on ${also.join('/')}, where the legacy did not: guard ${many ? 'them' : 'it'} by hand if operators tell the signals apart by ${many ? 'them' : 'it'}` : '';
        ctx.warnings.push(`${what}${many ? 's' : ''} (line ${lines}) kept in the base's onStop() hook, which the base's own handler calls: what the service printed when it was told to stop${alike}`);
      }
      for (const s of dropped) {
        ctx.warnings.push(`${what} (line ${s.getStartLineNumber()}: ${s.getText().split('\n')[0]}) went with the handler: it reads what onStop() cannot (a local, the signal, the entry point's variables); add it to onStop() by hand if operators rely on it`);
      }
    }
  }
}

/**
 * The log calls a handler's statement makes once a call it chains on has settled:
 * `agent.stop().then(() => console.log('stopped'))`, the callback's whole work being log lines
 * (typed as statements: they move as statements of onStop(), which runs once the loop stopped).
 */
function logsAfterStop(s: Statement): Statement[] {
  const call = statementCall(s);
  if (!call) return [];
  const callee = call.getExpression();
  const cb = call.getArguments()[0];
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'then' || call.getArguments().length !== 1 || !cb) return [];
  if (!(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) || cb.getParameters().length > 0) return [];
  const body = cb.getBody();
  if (Node.isCallExpression(body)) return isLogCall(body) && !body.getText().includes('\n') ? [body as unknown as Statement] : [];
  if (!Node.isBlock(body)) return [];
  const inner = body.getStatements();
  return inner.length > 0 && inner.every((x) => isLogCall(statementCall(x))) ? inner : [];
}

/** Does the statement read a name declared inside a function around it (a local, a parameter), the handler's own included? */
function readsHandlerScope(s: Statement, handler: Node): boolean {
  return s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const p = id.getParent();
    if ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || (Node.isPropertyAssignment(p) && p.getNameNode() === id)) return false;
    return (id.getSymbol()?.getDeclarations() ?? []).some(
      (d) => d.getSourceFile() === s.getSourceFile() && (d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) !== undefined || (handler.getPos() <= d.getPos() && d.getEnd() <= handler.getEnd())),
    );
  });
}

/**
 * A start or stop method that stays (renamed onto the base's onStart() / onStop() hook because it
 * does business work) keeps its log lines where they are; a line naming a port member whose value
 * now goes to the base (`health on ${this.healthPort}`) would go on printing the legacy value
 * while the base serves where AGENT_PORT / HEALTH_CHECK_PORT say: it names the base's member
 * instead. A member not passed to the base (a server of the agent's own still listens on it)
 * stays as it is: the line is still true.
 */
export function respellKeptLifecycleLogLines(ctx: TsRewriteContext): void {
  const hooks = new Set(['onStart', 'onStop']);
  const heritage = ctx.cls.getExtends()?.getExpression();
  const inherited = (name: string) => (heritage ? mixinMethods(ctx.file, heritage, name) : []);
  for (const [from, to] of ctx.renames) {
    if (!hooks.has(to) || !ctx.base.members.get(to)?.hook) continue;
    const body = methodBody(ctx, from);
    if (!body || !Node.isBlock(body)) continue;
    for (const s of descendantsOfKind(body, SyntaxKind.ExpressionStatement)) {
      const call = statementCall(s);
      if (!(isLogCall(call) || isLogHelperCall(call, inherited)) || ctx.edits.removes(s.getStart(), s.getEnd())) continue;
      const edits = handedPorts(ctx, s);
      if (!edits || edits.length === 0) continue;
      for (const [a, b, name] of edits) ctx.edits.replace(a, b, name);
      const names = edits.map(([a, b, name]) => `${ctx.text.slice(a, b)} -> ${name}`).join(', ');
      ctx.warnings.push(`the log line at line ${s.getStartLineNumber()} (${from}(), now ${to}()) named a port that now goes to the base: it names the base's (${names}), where the base serves it`);
    }
  }
}

/** Members of the super() options the base holds under its own name: legacy name -> base key. */
function handedOverNames(ctx: TsRewriteContext): Map<string, string> {
  const handedOver = new Map<string, string>();
  for (const [key, names] of Object.entries(ctx.ts.super_call.pass_through ?? {})) {
    for (const n of names) if (!ctx.base.members.has(n)) handedOver.set(n, key);
  }
  return handedOver;
}

/** Was the value of `key` given to super() (and is it a property of the base)? */
function passedToBase(ctx: TsRewriteContext, key: string): boolean {
  const superText = ctx.generated.join('\n');
  return new RegExp(`[{,]\\s*${key}\\s*[:,}]`).test(superText) && ctx.base.members.get(key)?.kind === 'property';
}

/** Re-spellings of the handed-over port members a statement reads; null when one of them was not passed. */
function handedPorts(ctx: TsRewriteContext, s: Statement): Array<[number, number, string]> | null {
  const handedOver = handedOverNames(ctx);
  const edits: Array<[number, number, string]> = [];
  let ok = true;
  s.forEachDescendant((n, walk) => {
    const m = thisMember(n);
    if (m === null) return;
    walk.skip();
    const key = handedOver.get(m);
    if (key === undefined) return;
    if (passedToBase(ctx, key) && Node.isPropertyAccessExpression(n)) edits.push([n.getNameNode().getStart(), n.getNameNode().getEnd(), key]);
    else ok = false;
  });
  return ok ? edits : null;
}

/** One unit of indentation deep, as a method body line. */
const text = (ctx: TsRewriteContext, respelled: Map<Statement, Array<[number, number, string]>>) => (s: Statement) => {
  const lineStart = ctx.text.lastIndexOf('\n', s.getStart() - 1) + 1;
  let line = '';
  let pos = lineStart;
  for (const [a, b, to] of [...(respelled.get(s) ?? [])].sort((x, y) => x[0] - y[0])) {
    line += ctx.text.slice(pos, a) + to;
    pos = b;
  }
  line += ctx.text.slice(pos, s.getEnd());
  return reindent(line, indentAt(ctx.text, s.getStart()), ctx.unit);
};

/**
 * Does the line read only what still exists once the method is gone? null when not; else the
 * re-spellings it needs: a legacy member whose value now goes to the base under the base's name
 * (`this.healthPort`, passed as healthCheckPort) names the base's member instead, which is where
 * the base serves (AGENT_PORT / HEALTH_CHECK_PORT win over the legacy value).
 */
function movable(ctx: TsRewriteContext, s: Statement, removed: Set<string>): Array<[number, number, string]> | null {
  const handedOver = handedOverNames(ctx);
  const edits: Array<[number, number, string]> = [];
  let ok = true;
  s.forEachDescendant((n, walk) => {
    if (!ok) return;
    const m = thisMember(n);
    if (m !== null) {
      const key = handedOver.get(m);
      if (key !== undefined) {
        // Passed to the base: the base's member of that name holds it now. Not passed (a server
        // of the agent's own still listens on it, or the value could not reach super()): the
        // line may no longer say where anything is served, and goes as before.
        if (passedToBase(ctx, key) && Node.isPropertyAccessExpression(n)) edits.push([n.getNameNode().getStart(), n.getNameNode().getEnd(), key]);
        else ok = false;
        walk.skip();
        return;
      }
      if ((removed.has(m) && !ctx.base.members.has(m)) || ctx.renames.has(m) || ctx.base.members.get(m)?.kind === 'method') ok = false;
      walk.skip();
      return;
    }
    if (Node.isThisExpression(n)) {
      ok = false; // `this` other than this.member (passed whole, or an alias): not worth proving
      return;
    }
    if (!Node.isIdentifier(n)) return;
    const parent = n.getParent();
    if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === n) return;
    // Only a declaration in this file matters: a name the file never declares needs no checker.
    if (!namesDeclaredInFile(ctx.sf).has(n.getText())) return;
    for (const d of n.getSymbol()?.getDeclarations() ?? []) {
      // A local of the removed method, or a module constant that went with it.
      if (d.getSourceFile() === ctx.sf && ctx.edits.removes(d.getStart(), d.getEnd())) ok = false;
    }
  });
  if (!ok || s.getFirstDescendant((n) => n.getKind() === SyntaxKind.AwaitKeyword || Node.isAwaitExpression(n))) return null;
  return edits;
}

function place(ctx: TsRewriteContext, hook: string, first: string[], last: string[]): void {
  placeInHook(ctx, hook, first, last, false);
}

/**
 * Lines at the start (`first`) and end (`last`) of the hook: a hook written by another transform,
 * a kept method that is (or becomes) the hook, or a new one. `awaits`: the lines await, so the
 * hook is made async.
 */
export function placeInHook(ctx: TsRewriteContext, hook: string, first: string[], last: string[], awaits: boolean): void {
  const added = ctx.newMembers.find((m) => m.name === hook);
  if (added && awaits && !/^[^{(]*\basync\s/.test(added.text)) {
    added.text = added.text.replace(new RegExp(`^((?:(?:protected|public|override)\\s+)*)${hook}\\(\\)(: void)?`), (_, mods: string, ret?: string) => `${mods}async ${hook}()${ret ? ': Promise<void>' : ''}`);
  }
  if (added) {
    // A hook made from what called the method (the SIGTERM handler's statements, then stop()):
    // the method's lines come after them, as the method ran after them.
    // Lines the handler printed before its first work (after a once-guard) open the hook.
    const open = added.text.indexOf('{\n');
    if (first.length > 0 && open >= 0) added.text = `${added.text.slice(0, open + 2)}${first.join('\n')}\n${added.text.slice(open + 2)}`;
    const close = added.text.lastIndexOf('\n}');
    if (last.length > 0 || open < 0) added.text = `${added.text.slice(0, close)}\n${[...(open < 0 ? first : []), ...last].join('\n')}${added.text.slice(close)}`;
    return;
  }
  // A kept method that is (or becomes) the hook: the lines go at the start and end of its body.
  const own = [...ctx.renames].find(([, to]) => to === hook)?.[0] ?? (ctx.members.get(hook)?.kind === 'method' ? hook : undefined);
  const body = own ? methodBody(ctx, own) : undefined;
  if (body && Node.isBlock(body)) {
    const decl = body.getParent();
    if (awaits && decl && Node.isMethodDeclaration(decl)) ensureAsync(ctx, decl);
    const inner = indentAt(ctx.text, body.getStart()) + ctx.unit;
    const shift = (t: string) => reindent(t, ctx.unit, inner);
    const open = body.getStart() + 1;
    const close = body.getEnd() - 1;
    if (first.length) ctx.edits.insert(open, `\n${first.map(shift).join('\n')}`);
    // At the start of the closing brace's line when it holds only the brace: the end of a removed
    // last statement (a server closed, now the base's), which the lines must survive.
    const nl = ctx.text.lastIndexOf('\n', close - 1);
    if (last.length && ctx.text.slice(nl + 1, close).trim() === '') ctx.edits.insert(nl + 1, `${last.map(shift).join('\n')}\n`);
    else if (last.length) ctx.edits.insert(nl, `\n${last.map(shift).join('\n')}`);
    return;
  }
  ctx.newMembers.push({ name: hook, text: methodText(ctx, { name: hook, async: awaits, body: [...first, ...last].join('\n') }) });
}

/** `if (stopping) return;` or `stopping = true;` on a plain variable: a handler's guard against running twice. */
function onceGuard(s: Statement): boolean {
  if (Node.isIfStatement(s)) {
    const then = s.getThenStatement();
    const ret = Node.isBlock(then) && then.getStatements().length === 1 ? then.getStatements()[0]! : then;
    return !s.getElseStatement() && Node.isIdentifier(s.getExpression()) && Node.isReturnStatement(ret) && !ret.getExpression();
  }
  if (!Node.isExpressionStatement(s)) return false;
  const e = s.getExpression();
  return Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isIdentifier(e.getLeft()) && /^(true|false)$/.test(e.getRight().getText());
}
