// Concern `health` (its review reason): a hand-made /health that answers a not-ok status with a
// 2xx code (`{ status: 'degraded' }` and 200: "up, but slow"). The base's /health answers 503 for
// any status other than ok/healthy, so moving the payload into healthStatus() would turn those
// answers into failures for the probes and load balancers that read them. That is a decision for
// a person; the review reason says which status and which code conflict. Unless the legacy
// answered one 2xx code for every status (no other code anywhere in its handler but another
// path's 404) and the base has a code hook (healthHttpCode(status)): overriding it to answer that
// code keeps what the probes saw, and the payload moves like any other (healthCodeOverride()).
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { descendantsOfKind, CALLS, calleeText, descendantsOfKinds, thisMember } from '../../src/lang/typescript/syntax.js';

const OK = /^(ok|healthy)$/i;

/** A status the base's /health answers 2xx (ok/healthy, any case); any other gets its fail code. */
export const baseCallsOk = (status: string): boolean => OK.test(status);

/** A legacy status and the 2xx code the legacy /health answered it with (the base answers it 503). */
export interface CodeConflict {
  status: string;
  code: number;
}

/**
 * The not-ok statuses a health handler answers with a 2xx code only (no `writeHead()` or
 * `statusCode =` other than 2xx anywhere in it), read from the `status` of the object it sends,
 * directly, through a local holding the object, or as what a method or getter of the agent
 * returns; each with the code it answered. Empty when it cannot tell.
 */
export function notOkStatusesAnswered2xx(ctx: TsRewriteContext, handlers: Node[]): CodeConflict[] {
  const found = new Map<string, number>();
  for (const handler of handlers) {
    const sends = (descendantsOfKinds(handler, CALLS) as CallExpression[]).filter((c) => /\.(json|send|end|write)$/.test(calleeText(c)) && c.getArguments().length > 0);
    for (const send of sends) {
      // `res.json(200, body)` (Express 3, and the routers written after it): the code, then the body.
      const args = send.getArguments();
      const coded = args.length >= 2 && /\.(json|send)$/.test(calleeText(send));
      let payload: Node | undefined = coded ? args[1] : args[0];
      if (payload && Node.isCallExpression(payload) && calleeText(payload) === 'JSON.stringify') payload = payload.getArguments()[0];
      const statuses = payloadObjects(ctx, payload).flatMap(statusLiterals);
      if (statuses.length === 0) continue;
      const codes = codesSet(handler, send, coded ? args[0] : undefined);
      for (const s of statuses) {
        // Each status's code: a literal, or one chosen by that status (`payload.status === 'down' ? 503 : 200`);
        // no code set on the way to the send (`res.setHeader(...)` then `res.end(body)`): Node's 200.
        const answered = codes.length === 0 ? [200] : codes.map((c) => codeFor(c, s, payload!.getText()));
        if (answered.some((c) => c === null)) return [];
        if (!OK.test(s) && answered.every((c) => c! >= 200 && c! < 300) && !found.has(s)) found.set(s, answered[0]!);
      }
    }
  }
  return [...found].map(([status, code]) => ({ status, code }));
}

/**
 * The review reason, naming each status with the code the legacy answered and the base's 503.
 * (The base's /health takes no code from the agent: healthStatus() returns the payload only, so
 * the code cannot be kept by the rewrite; only the status word decides it.)
 */
export function codeConflictReason(conflicts: CodeConflict[]): string {
  const byCode = new Map<number, string[]>();
  for (const c of conflicts) byCode.set(c.code, [...(byCode.get(c.code) ?? []), `'${c.status}'`]);
  const list = [...byCode].map(([code, statuses]) => `${statuses.join(', ')} with HTTP ${code}`).join(', ');
  return `it answers status ${list}, where the base's /health answers 503 for any status but ok/healthy: moving it into healthStatus() would fail the probes that read it; decide which code ${conflicts.length > 1 ? 'those states' : 'that state'} should get, then move it by hand`;
}

/**
 * The one 2xx code the legacy /health answered every status with, when the base lets a subclass
 * choose the code (its code hook, which the agent does not define itself) and the handlers can
 * answer nothing else: every code they set (`writeHead`, `status()`, `code()`, `sendStatus()`,
 * `statusCode =`, `res.json(code, body)`) is a literal, that one 2xx or a 404 (another path's), and
 * each conflicting status was answered it. Null otherwise: a 503 for 'down' beside a 200 for
 * 'degraded', a 500 on a throw or a computed code is a rule of its own, not one code to keep.
 */
export function healthCodeOverride(ctx: TsRewriteContext, handlers: Node[], conflicts: CodeConflict[]): number | null {
  const hook = ctx.base.healthCodeHook;
  if (!hook || conflicts.length === 0 || ctx.members.has(hook.name) || ctx.newMembers.some((m) => m.name === hook.name)) return null;
  const success = new Set(conflicts.map((c) => c.code));
  for (const handler of handlers) {
    const codes: Node[] = [];
    for (const c of descendantsOfKinds(handler, CALLS) as CallExpression[]) {
      const [first, second] = c.getArguments();
      if (!first) continue;
      if (/\.(writeHead|status|code|sendStatus)$/.test(calleeText(c))) codes.push(first);
      else if (second && /\.(json|send)$/.test(calleeText(c)) && Node.isNumericLiteral(first)) codes.push(first);
    }
    for (const b of descendantsOfKind(handler, SyntaxKind.BinaryExpression)) {
      const left = b.getLeft();
      if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isPropertyAccessExpression(left) && left.getName() === 'statusCode') codes.push(b.getRight());
    }
    for (const code of codes) {
      // (`req.url === '/health' ? 200 : 404`: each arm is a code it answers.)
      const arms = Node.isConditionalExpression(code) ? [code.getWhenTrue(), code.getWhenFalse()] : [code];
      for (const arm of arms) {
        if (!Node.isNumericLiteral(arm)) return null;
        const v = Number(arm.getLiteralValue());
        if (v >= 200 && v < 300) success.add(v);
        else if (v !== 404) return null;
      }
    }
  }
  return success.size === 1 ? [...success][0]! : null;
}

/**
 * Overrides the base's code hook to answer `code` whatever the status (see healthCodeOverride), and
 * says so: while the agent reports 'degraded' a probe of the code still sees it up, as before. The
 * statuses named are `conflicts`', or, when the status is not a literal (none listed), its expression `status`.
 */
export function addHealthCodeOverride(ctx: TsRewriteContext, code: number, conflicts: CodeConflict[], status?: string): void {
  const hook = ctx.base.healthCodeHook!;
  const body = `${ctx.unit}// The legacy /health answered ${code} whatever status it reported.\n${ctx.unit}return ${code};`;
  ctx.newMembers.push({ name: hook.name, text: methodText(ctx, { name: hook.name, params: ctx.js ? 'status' : 'status: Record<string, unknown>', async: false, body, returns: 'number' }) });
  const statuses = conflicts.length ? `${conflicts.map((c) => `'${c.status}'`).join(', ')} included` : `status ${status ?? 'read from the agent'}, any value`;
  ctx.warnings.push(
    `health status: the legacy endpoint answered HTTP ${code} whatever status it reported (${statuses}), where ${ctx.baseClass} answers ${hook.failCode} when the status is not ok/healthy: ` +
      `${hook.name}() is overridden to answer ${code}, so while the agent reports itself otherwise a probe that reads the HTTP code still sees it up, as before`,
  );
}

/**
 * The HTTP codes the handler sets on the way to that send (none set: Node's 200). Codes set in a block that does not enclose the send (the 404 for any other path) are
 * another answer's, and so are codes set after it (`if (req.url === '/health') { ...; return; }
 * res.writeHead(404).end();`): a handler runs once per request, top to bottom.
 */
function codesSet(handler: Node, send: Node, sentCode?: Node): Node[] {
  const codes: Node[] = sentCode ? [sentCode] : [];
  const applies = (n: Node) => {
    if (n.getStart() >= send.getEnd()) return false;
    const block = n.getFirstAncestor((a) => Node.isBlock(a) || a === handler);
    return !!block && block.getPos() <= send.getPos() && send.getEnd() <= block.getEnd();
  };
  for (const c of descendantsOfKinds(handler, CALLS) as CallExpression[]) {
    if (/\.(writeHead|status|code|sendStatus)$/.test(calleeText(c)) && c.getArguments()[0] && applies(c)) codes.push(c.getArguments()[0]!);
  }
  for (const b of descendantsOfKind(handler, SyntaxKind.BinaryExpression)) {
    const left = b.getLeft();
    if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isPropertyAccessExpression(left) && left.getName() === 'statusCode' && applies(b)) codes.push(b.getRight());
  }
  return codes;
}

/**
 * The HTTP code a code expression gives when the sent payload's status is `status`: a numeric
 * literal, or a conditional on that payload's status (`payload.status === 'down' ? 503 : 200`).
 * Null when it cannot tell.
 */
function codeFor(code: Node, status: string, payload: string): number | null {
  if (Node.isParenthesizedExpression(code)) return codeFor(code.getExpression(), status, payload);
  if (Node.isNumericLiteral(code)) return Number(code.getLiteralValue());
  if (!Node.isConditionalExpression(code)) return null;
  const test = code.getCondition();
  if (!Node.isBinaryExpression(test)) return null;
  const op = test.getOperatorToken().getKind();
  const equal = op === SyntaxKind.EqualsEqualsEqualsToken || op === SyntaxKind.EqualsEqualsToken;
  if (!equal && op !== SyntaxKind.ExclamationEqualsEqualsToken && op !== SyntaxKind.ExclamationEqualsToken) return null;
  const [left, right] = [test.getLeft(), test.getRight()];
  const isStatus = (n: Node) => Node.isPropertyAccessExpression(n) && n.getName() === 'status' && n.getExpression().getText() === payload;
  const literal = isStatus(left) ? right : isStatus(right) ? left : null;
  if (!literal || !(Node.isStringLiteral(literal) || Node.isNoSubstitutionTemplateLiteral(literal))) return null;
  const holds = (literal.getLiteralText() === status) === equal;
  return codeFor(holds ? code.getWhenTrue() : code.getWhenFalse(), status, payload);
}

/** The object literals a sent payload is: itself, or what the agent's method/getter it names returns. */
function payloadObjects(ctx: TsRewriteContext, payload: Node | undefined): Node[] {
  if (!payload) return [];
  // (A payload with no status of its own, `{ ...this.summary(), uptimeS }`: its spreads' objects carry it.)
  if (Node.isObjectLiteralExpression(payload)) {
    if (payload.getProperty('status')) return [payload];
    return [payload, ...payload.getProperties().flatMap((p) => (Node.isSpreadAssignment(p) ? payloadObjects(ctx, p.getExpression()) : []))];
  }
  // `const payload = this.healthPayload();` in the handler, then sent: what that method returns;
  // `const body = { status: this.child ? 'ok' : 'starting', ... }`: that object (whose status the
  // bridge would otherwise move into healthStatus() under the base's code rule).
  if (Node.isIdentifier(payload)) {
    const decl = payload.getSymbol()?.getDeclarations()?.[0];
    let init: Node | undefined = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
    if (init && Node.isCallExpression(init) && calleeText(init) === 'JSON.stringify') init = init.getArguments()[0];
    return init && (Node.isCallExpression(init) || Node.isObjectLiteralExpression(init)) ? payloadObjects(ctx, init) : [];
  }
  const member = Node.isCallExpression(payload) && payload.getArguments().length === 0 ? thisMember(payload.getExpression()) : Node.isPropertyAccessExpression(payload) ? thisMember(payload) : null;
  if (!member) return [];
  const body = getterBody(ctx, member) ?? methodBody(ctx, member);
  if (!body) return [];
  return descendantsOfKind(body, SyntaxKind.ReturnStatement)
    // (Its own returns, not those of a callback inside it.)
    .filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === body.getParent())
    .map((r) => r.getExpression())
    .filter((e): e is NonNullable<typeof e> => !!e && Node.isObjectLiteralExpression(e));
}

/** The body of the agent's getter of that name (`get health() { ... }`). */
export function getterBody(ctx: TsRewriteContext, name: string): Node | undefined {
  return ctx.members.get(name)?.nodes.find((n) => Node.isGetAccessorDeclaration(n))?.asKind(SyntaxKind.GetAccessor)?.getBody();
}

/** The string literals the object's `status` can take (through a local it is read from). */
function statusLiterals(obj: Node): string[] {
  if (!Node.isObjectLiteralExpression(obj)) return [];
  const prop = obj.getProperty('status');
  let values: Node[] = [];
  if (prop && Node.isPropertyAssignment(prop)) {
    const value = prop.getInitializer();
    const decl = value && Node.isIdentifier(value) ? value.getSymbol()?.getDeclarations()?.[0] : undefined;
    if (value && Node.isIdentifier(value) && !(decl && Node.isVariableDeclaration(decl))) return [];
    values = decl && Node.isVariableDeclaration(decl) ? localValues(decl) : value ? [value] : [];
  } else if (prop && Node.isShorthandPropertyAssignment(prop)) {
    const decl = prop.getValueSymbol()?.getDeclarations()?.[0];
    values = decl && Node.isVariableDeclaration(decl) ? localValues(decl) : [];
  }
  const literals = values.flatMap((v) => [v, ...v.getDescendants()]).filter((n) => Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n));
  return literals.map((n) => (n as import('ts-morph').StringLiteral).getLiteralText());
}

/**
 * The values a local can hold: its initializer and, for a `let` (`let status = 'ok'; if
 * (!this.child) status = 'starting';`), every value assigned to it in the function declaring it.
 */
function localValues(decl: import('ts-morph').VariableDeclaration): Node[] {
  const values: Node[] = [decl.getInitializer()].filter((v): v is NonNullable<typeof v> => !!v);
  const scope = decl.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  if (!scope || decl.getVariableStatement()?.getDeclarationKind() === 'const') return values;
  for (const b of descendantsOfKind(scope, SyntaxKind.BinaryExpression)) {
    const left = b.getLeft();
    if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isIdentifier(left) && left.getSymbol() === decl.getSymbol()) values.push(b.getRight());
  }
  return values;
}
