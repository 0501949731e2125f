// Concern `registry`, a kept deregistration method of the agent's own (`#deregister()`, called by
// an 'uncaughtException' listener before it exits 1, and by stop()) whose registration went to the
// base: the flag it checks (`if (!this.#registered) return;`) was set only by that registration,
// so it now returns at once and the crash exit leaves the agent listed. When the method does
// nothing but the base's own deregistration (the same POST naming the same agent), each call
// becomes the base's stop(), which deregisters what the base registered; the call in the stop path
// goes (the base's stop() deregisters right after onStop()), and so does the method.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { reachableFromOutside } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, statementCall, thisMember } from '../../src/lang/typescript/syntax.js';

export interface DeregistrationProof {
  /** The statement's request is the base's own deregistration (POST <registry>/deregister naming the agent). */
  sameAsBase(request: CallExpression): boolean;
  /** The statement is that request and nothing more (a swallowing or logging .catch() allowed). */
  isRequestStatement(stmt: Node): CallExpression | null;
  /** The expression reads the registry URL (process.env, or a local const of it). */
  readsRegistry(n: Node): boolean;
  /** The event whose listener makes the call, or null. */
  listenerEvent(call: Node): string | null;
}

/**
 * Hands the method `name` to the base's stop() when it only deregisters as the base does; true
 * when it did (the caller then reports nothing for it).
 */
export function deregistererToBaseStop(ctx: TsRewriteContext, name: string, body: Node, stops: string[], proof: DeregistrationProof): boolean {
  if (!Node.isBlock(body)) return false;
  // Another file may call it, and gets the base's stop() only through a method of that name.
  if (reachableFromOutside(ctx, name) && ctx.usesOutside(name) > 0) return false;
  const decl = ctx.members.get(name)?.nodes.find((n) => Node.isMethodDeclaration(n));
  if (!decl || ctx.members.get(name)!.nodes.length !== 1) return false;
  const locals = new Set<string>();
  const flagGuarded = { value: false };
  let requests = 0;
  for (const st of body.getStatements()) {
    const request = proof.isRequestStatement(st);
    if (request) {
      if (!proof.sameAsBase(request)) return false;
      requests += 1;
    } else if (!registryBookkeeping(ctx, st, locals, proof, flagGuarded)) return false;
  }
  if (requests !== 1) return false;
  // Every use of the method is a call `this.<name>()` of this class (no alias, no `.bind`, no argument).
  const uses = descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression).filter((p) => p.getName() === name && thisMember(p) === name);
  const calls: CallExpression[] = [];
  for (const u of uses) {
    if (ctx.edits.removes(u.getStart(), u.getEnd())) continue;
    const call = u.getParent();
    if (!call || !Node.isCallExpression(call) || call.getExpression() !== u || call.getArguments().length > 0) return false;
    calls.push(call);
  }
  if (calls.length === 0) return false;
  const where: string[] = [];
  for (const call of calls) {
    const host = call.getFirstAncestor((a) => Node.isMethodDeclaration(a) && a.getParent() === ctx.cls);
    const hostName = host && Node.isMethodDeclaration(host) ? host.getName() : null;
    const listener = proof.listenerEvent(call);
    const stmt = call.getParent() && Node.isAwaitExpression(call.getParent()!) ? call.getParent()!.getParent() : call.getParent();
    const label = hostName ? `${ctx.renames.get(hostName) ?? hostName}()` : 'the constructor';
    if (hostName && stops.includes(hostName) && !listener && stmt && Node.isExpressionStatement(stmt) && statementCall(stmt) === call && stmt.getParent() === (host as import('ts-morph').MethodDeclaration).getBody()) {
      // The base's stop() deregisters right after onStop(): here the call only repeats it.
      ctx.edits.removeNode(stmt);
      where.push(`the call in ${label} (line ${call.getStartLineNumber()}) goes`);
    } else {
      ctx.edits.replace(call.getExpression().getStart(), call.getExpression().getEnd(), 'this.stop');
      where.push(`${listener ? `the '${listener}' listener in ${label}` : label} (line ${call.getStartLineNumber()}) calls the base's stop()`);
    }
  }
  ctx.edits.removeNode(decl);
  ctx.removedExtra.push(name);
  ctx.warnings.push(
    `${name}() deregistered from the registry by hand what the removed registration registered` +
      (flagGuarded.value ? `, behind a flag only that registration set (it would now do nothing)` : ', now the base\'s registration') +
      `: ${where.join(', ')}, ` +
      `which deregisters what the base registered (and also ends the loop, runs onStop() and closes the base's server)`,
  );
  return true;
}

/**
 * What a deregistration method does around its request: reads the registry URL into a const,
 * returns early on it or a flag of the agent, and clears that flag.
 */
function registryBookkeeping(ctx: TsRewriteContext, st: Node, locals: Set<string>, proof: DeregistrationProof, flagGuarded: { value: boolean }): boolean {
  if (Node.isVariableStatement(st)) {
    for (const d of st.getDeclarations()) {
      let init = d.getInitializer();
      while (init && Node.isBinaryExpression(init) && ['??', '||'].includes(init.getOperatorToken().getText())) init = init.getLeft();
      if (!init || !proof.readsRegistry(init) || !Node.isIdentifier(d.getNameNode())) return false;
      locals.add(d.getName());
    }
    return true;
  }
  if (Node.isIfStatement(st)) {
    if (st.getElseStatement()) return false;
    const then = st.getThenStatement();
    const only = Node.isBlock(then) ? (then.getStatements().length === 1 ? then.getStatements()[0] : undefined) : then;
    if (!only || !Node.isReturnStatement(only) || only.getExpression()) return false;
    if (descendantsOfKind(st.getExpression(), SyntaxKind.PropertyAccessExpression).some((p) => flagMember(ctx, p))) flagGuarded.value = true;
    return registryTerms(ctx, st.getExpression(), locals);
  }
  if (Node.isExpressionStatement(st)) {
    const e = st.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return false;
    const right = e.getRight().getKind();
    return flagMember(ctx, e.getLeft()) && (right === SyntaxKind.FalseKeyword || right === SyntaxKind.TrueKeyword);
  }
  return false;
}

function registryTerms(ctx: TsRewriteContext, e: Node, locals: Set<string>): boolean {
  if (Node.isParenthesizedExpression(e)) return registryTerms(ctx, e.getExpression(), locals);
  if (Node.isPrefixUnaryExpression(e) && e.getOperatorToken() === SyntaxKind.ExclamationToken) return registryTerms(ctx, e.getOperand(), locals);
  if (Node.isBinaryExpression(e) && ['||', '&&'].includes(e.getOperatorToken().getText())) return registryTerms(ctx, e.getLeft(), locals) && registryTerms(ctx, e.getRight(), locals);
  if (Node.isIdentifier(e)) return locals.has(e.getText());
  return flagMember(ctx, e);
}

/** `this.registered` / `this.#registered`: a field of the agent (not a method, not the base's). */
function flagMember(ctx: TsRewriteContext, e: Node): boolean {
  const name = thisMember(e);
  const m = name ? ctx.members.get(name) : undefined;
  return !!m && m.kind !== 'method' && m.kind !== 'accessor';
}
