// Concern `health` (its review reason): a hand-made /health that answers a not-ok status with a
// 2xx code (`{ status: 'degraded' }` and 200: "up, but slow"). The base's /health answers 503 for
// any status other than ok/healthy, so moving the payload into healthStatus() would turn those
// answers into failures for the probes and load balancers that read them. That is a decision for
// a person; the review reason says which status and which code conflict.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, CALLS, calleeText, descendantsOfKinds, thisMember } from '../../src/lang/typescript/syntax.js';

const OK = /^(ok|healthy)$/i;

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
        // Each status's code: a literal, or one chosen by that status (`payload.status === 'down' ? 503 : 200`).
        const answered = codes.map((c) => codeFor(c, s, payload!.getText()));
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
  if (Node.isObjectLiteralExpression(payload)) return [payload];
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
