// A legacy method named like one of the base's own lifecycle methods (`start()`, `stop()`) would
// shadow it: the base's stop() (called on SIGTERM) would never close its servers, and its start()
// would never start them. When the base has the matching hook (`onStart`, `onStop`: `on` + the
// name), the legacy method becomes that hook, so callers of start()/stop() — in this file or any
// other — reach the base's method, which calls the legacy code.
import { Node, SyntaxKind, type MethodDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerList, isPublicMember, renameThisAccesses, usesOf } from '../../src/lang/typescript/context.js';
import { indentAt, reindent } from '../../src/lang/typescript/edits.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { descendantsOfKind, thisMember } from '../../src/lang/typescript/syntax.js';

export function renameLifecycleClashes(ctx: TsRewriteContext, removed: Set<string>): void {
  for (const m of ctx.members.values()) {
    // The entry point's start method is the entry transform's (it becomes onStart() there).
    if (m.kind !== 'method' || removed.has(m.name) || ctx.renames.has(m.name) || ctx.entry?.method === m.name) continue;
    const owned = ctx.base.members.get(m.name);
    if (!owned || owned.kind !== 'method' || owned.hook) continue;
    const hook = `on${m.name[0]!.toUpperCase()}${m.name.slice(1)}`;
    if (!ctx.base.members.get(hook)?.hook || ctx.members.has(hook) || ctx.newMembers.some((n) => n.name === hook)) continue;
    const impl = m.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
    if (!impl || !Node.isMethodDeclaration(impl)) continue;
    if (impl.getDescendants().some((n) => Node.isPropertyAccessExpression(n) && n.getExpression().getText() === 'super' && n.getName() === m.name)) continue;
    if (hook === 'onStart' && entryTakesOnStart(ctx, removed)) {
      renameBesideEntry(ctx, m.name);
      continue;
    }
    // The base calls the hook without arguments.
    if (impl.getParameters().some((p) => !p.isOptional() && !p.hasInitializer() && !p.isRestParameter())) {
      completionCallbackHook(ctx, m.name, hook, impl);
      continue;
    }
    if (ctx.isInfraMethod(m.name, removed, [])) {
      // It only started or stopped what the base now runs: the base's own method replaces it
      // (as the hook it would be calling itself, and deadlock, from inside the base's method).
      for (const n of m.nodes) ctx.edits.removeNode(n);
      ctx.removedExtra.push(m.name);
      const callers = isPublicMember(ctx, m.name) ? ctx.outsideCallers(m.name) : [];
      if (callers.length > 0) ctx.warnings.push(`${m.name}() is called from ${callerList(callers)}: the base's ${m.name}() answers those calls`);
      continue;
    }
    ctx.renameMember(m.name, hook, `${m.name}() would hide the base's ${m.name}(): renamed to the ${hook}() hook the base's ${m.name}() calls`);
  }
}

/**
 * The entry point starts the agent through another method of it (`bridge.run()`), which stays for its
 * business work: entrypoint.ts makes that method the onStart() hook. A start() beside it cannot become
 * onStart() too: in JavaScript the second method of one name silently replaces the first (probe-node72's
 * RedisPubSubBridge: run() calling this.start(), whose connect chain restarts itself with
 * setTimeout(() => this.start()), ended as two onStart() methods, and the bridge never connected).
 */
function entryTakesOnStart(ctx: TsRewriteContext, removed: Set<string>): boolean {
  const e = ctx.entry?.method;
  return !!e && e !== 'start' && ctx.members.get(e)?.kind === 'method' && !removed.has(e);
}

/**
 * Keep such a start() as a method of its own under a name the base does not own, and point the class's
 * own calls of it (the entry method's, its restart timer's) there, so the base's start() starts the
 * agent and the business start still runs where it ran. A call from outside the class (this module's
 * code, another file) would reach the base's start() instead: a review item naming it.
 */
function renameBesideEntry(ctx: TsRewriteContext, name: string): void {
  let to = `legacy${name[0]!.toUpperCase()}${name.slice(1)}`;
  while (ctx.members.has(to) || ctx.base.members.has(to)) to = `_${to}`;
  const m = ctx.members.get(name)!;
  for (const n of m.nodes) if (Node.isMethodDeclaration(n)) ctx.edits.replace(n.getNameNode().getStart(), n.getNameNode().getEnd(), to);
  renameThisAccesses(ctx, name, to);
  const entry = ctx.entry!.method!;
  ctx.warnings.push(
    `${name}() would hide the base's ${name}(), and ${entry}() (the entry point's start, which becomes the onStart() hook) is beside it: renamed to ${to}(), with the class's calls of it, so the base's ${name}() starts the agent and onStart() still calls it`,
  );
  const inClass = (n: Node) => ctx.cls.getPos() <= n.getPos() && n.getEnd() <= ctx.cls.getEnd();
  const here = usesOf(ctx, name, 'member').filter((u) => !inClass(u) && !ctx.plan.rewritten.some(([a, b]) => a <= u.getStart() && u.getEnd() <= b));
  const elsewhere = isPublicMember(ctx, name) ? ctx.outsideCallers(name) : [];
  if (here.length + elsewhere.length > 0) {
    const where = [...here.map((u) => `line ${u.getStartLineNumber()}`), ...(elsewhere.length > 0 ? [callerList(elsewhere)] : [])].join(', ');
    ctx.kept.push({
      symbol: name,
      line: m.line,
      reason: `${name}() is renamed ${to}() (${entry}() is the onStart() hook), and ${where} still call${here.length + elsewhere.length === 1 ? 's' : ''} ${name}(), which now reaches the base's ${name}() (it starts the agent once): call ${to}() there if the business start was meant`,
    });
  }
}

/**
 * `stop(done: () => void): void { this.udp?.close(); this.http.close(() => done()); }`: a lifecycle
 * method whose one parameter is the callback it calls once it has finished. Its body becomes the
 * hook, awaiting a promise that the same callback name settles (so the base's stop() waits until
 * the legacy code has called back, as its callers did), and `stop(done?)` stays as an override
 * of the base's method that calls the callback once the base's has resolved: callers elsewhere
 * (`relay.stop(() => process.exit(0))`) keep their API. Only a callback typed `() => void` that
 * the body calls bare or hands on, in a synchronous body with no `return`.
 */
function completionCallbackHook(ctx: TsRewriteContext, name: string, hook: string, impl: MethodDeclaration): void {
  if (impl.isAsync() || impl.isGenerator() || impl.getParameters().length !== 1) return;
  const param = impl.getParameters()[0]!;
  const type = param.getTypeNode()?.getText().replace(/\s+/g, '');
  // (JavaScript: an untyped `stop(cb)`, the same shape by how its body uses it.)
  if (!Node.isIdentifier(param.getNameNode()) || (ctx.js ? !!type : type !== '()=>void') || param.isOptional() || param.hasInitializer()) return;
  const returns = impl.getReturnTypeNode()?.getText();
  if (returns && returns !== 'void') return;
  const body = impl.getBody();
  if (!body || !Node.isBlock(body) || body.getStatements().length === 0) return;
  const own = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === impl;
  const cb = param.getName();
  // An early `return cb && cb();` (nothing to stop) still calls back, as `return cb &&
  // process.nextTick(cb);` does a tick later, and so does `return done();`
  // calling a function of the body that calls back; any other return might not, and the hook
  // would wait for ever. (A re-entrancy guard's bare return never runs: see onceGuard.)
  const finishers = callingBack(body, cb);
  // (`return cb && process.nextTick(cb);`: called back on the next tick, still without arguments.)
  const names = [cb, ...finishers].join('|');
  const callsBack = new RegExp(`^(${cb}\\s*&&\\s*)?((${names})\\(\\)|(process\\.nextTick|setImmediate|queueMicrotask)\\(\\s*${cb}\\s*\\))$`);
  const guard = onceGuard(ctx, body, impl);
  if (descendantsOfKind(body, SyntaxKind.ReturnStatement).some((r) => own(r) && r !== guard && !callsBack.test(r.getExpression()?.getText() ?? ''))) return;
  const uses = body.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getText() === cb && id.getSymbol() === param.getNameNode().getSymbol());
  const called = uses.filter((id) => {
    const p = id.getParent();
    if (Node.isCallExpression(p) && p.getExpression() === id) return p.getArguments().length === 0;
    // `cb && cb()`, `if (cb) cb()`: tests of an optional callback, which the hook's resolve always passes.
    if (Node.isBinaryExpression(p) && p.getLeft() === id && p.getOperatorToken().getKind() === SyntaxKind.AmpersandAmpersandToken) return true;
    if (Node.isIfStatement(p) && p.getExpression() === id) return true;
    return Node.isCallExpression(p) && p.getArguments().includes(id as never);
  });
  if (uses.length === 0 || called.length !== uses.length) return;
  const unit = ctx.unit;
  const inner = reindent(ctx.edits.textOf(body.getStart() + 1, body.getEnd() - 1).replace(/^\s*\n/, '').replace(/\s+$/, ''), indentAt(ctx.text, body.getStatements()[0]!.getStart()), unit + unit);
  // (Its doc comment, or the line comments above it, say what the body does: they stay with the body.)
  const doc = impl.getJsDocs().length > 0 ? impl.getJsDocs().map((d) => `${d.getText()}\n`).join('') : impl.getLeadingCommentRanges().map((r) => `${r.getText()}\n`).join('');
  ctx.newMembers.push({ name: hook, text: doc + methodText(ctx, { name: hook, async: true, body: `${unit}await new Promise${ctx.js ? '' : '<void>'}((${cb}) => {\n${inner}\n${unit}});` }) });
  const local = cb === 'stopped' ? 'finished' : 'stopped';
  ctx.newMembers.push({
    name,
    text: `${ctx.js ? `${name}(${cb})` : `override ${name}(${cb}?: () => void): Promise<void>`} {\n${unit}const ${local} = super.${name}();\n${unit}if (${cb}) void ${local}.then(() => ${cb}());\n${unit}return ${local};\n}`,
  });
  for (const n of ctx.members.get(name)!.nodes) ctx.edits.removeNode(n);
  ctx.warnings.push(`${name}(${cb}) would hide the base's ${name}(): its body is now the ${hook}() hook, which waits for it to call ${cb}; ${name}(${cb}?) calls ${cb} once the base's ${name}() has finished`);
}

/**
 * `const done = () => { this.http.close(() => cb && cb()); };` at the top of a callback-taking
 * lifecycle body: the local functions whose own body uses the callback (so `return done();`
 * calls back as `return cb();` does).
 */
function callingBack(body: Node, cb: string): string[] {
  if (!Node.isBlock(body)) return [];
  const out: string[] = [];
  for (const st of body.getStatements()) {
    const decls = Node.isVariableStatement(st) ? st.getDeclarations() : [];
    for (const d of decls) {
      const fn = d.getInitializer();
      if (!Node.isIdentifier(d.getNameNode()) || !fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.getParameters().length > 0) continue;
      if (fn.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === cb)) out.push(d.getName());
    }
    if (Node.isFunctionDeclaration(st) && st.getName() && st.getParameters().length === 0 && st.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id.getText() === cb)) out.push(st.getName()!);
  }
  return out;
}

/**
 * `if (this.stopping) return; this.stopping = true;` opening the body: a guard against a second
 * call, whose bare return the hook never reaches, since the base's stop() runs its hook once and
 * nothing else sets the flag. The guard's return statement, or undefined.
 */
function onceGuard(ctx: TsRewriteContext, body: Node, impl: MethodDeclaration): Node | undefined {
  if (!Node.isBlock(body)) return undefined;
  const [first, ...rest] = body.getStatements();
  if (!first || !Node.isIfStatement(first) || first.getElseStatement()) return undefined;
  const flag = thisMember(first.getExpression());
  let then: Node = first.getThenStatement();
  if (Node.isBlock(then) && then.getStatements().length === 1) then = then.getStatements()[0]!;
  if (!flag || !Node.isReturnStatement(then) || then.getExpression()) return undefined;
  const sets = (n: Node, value?: string) =>
    Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(n.getLeft()) === flag && (value === undefined || n.getRight().getText() === value);
  if (!rest.some((st) => Node.isExpressionStatement(st) && sets(st.getExpression(), 'true'))) return undefined;
  // Set anywhere else in the class but its initialisation (a reset, another method), it could be
  // true when the hook runs.
  const within = (outer: Node | undefined, n: Node) => !!outer && outer.getPos() <= n.getPos() && n.getEnd() <= outer.getEnd();
  const elsewhere = ctx.cls.getDescendants().filter((n) => sets(n) && !within(impl, n) && !within(ctx.ctor, n));
  return elsewhere.length === 0 ? then : undefined;
}
