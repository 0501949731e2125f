// A /health (or /healthz) answered in two ways, the unhealthy one first and returned early:
//
//   if (this.draining) {
//     res.writeHead(503, { 'Content-Type': 'application/json' });
//     res.end(JSON.stringify({ status: 'draining', inFlight: this.inFlight }));
//     return;
//   }
//   res.writeHead(200, ...); res.end(JSON.stringify({ status: 'ok', inFlight: this.inFlight }));
//
// (also a text `res.writeHead(503).end('draining')`, its word the status; `if (!this.connected)
// return reply.code(503).send({ status: 'starting' })` before a
// fastify `return { status: 'ok', ... }`, an express `return res.status(503).json(...)`, an else
// arm, several guards in a row). The single-payload bridge (soleHealthPayload) sees two answers
// and gives up, so the base's /health, where the deployment probes after the migration, said ok
// while the legacy said 503. When every guard tests only the agent's state and answers a 5xx with
// a status other than ok, and the last answer is a 2xx with an ok status (or none), healthStatus()
// returns the same answers on the same conditions: the base answers 503 for a status other than ok.
import { Node, SyntaxKind, type Block, type NoSubstitutionTemplateLiteral, type ObjectLiteralExpression, type Statement, type StringLiteral } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText } from '../../src/lang/typescript/syntax.js';
import { handlerConsts, healthBranches, onlyAgentState, payloadProperties, withInlined } from './remove-health-server.js';

interface Answer {
  /** The JSON object answered, or a short text (`res.writeHead(503).end('draining')`): its word is the status. */
  payload: ObjectLiteralExpression | StringLiteral | NoSubstitutionTemplateLiteral;
  code: number | null;
}

const OK_STATUS = /^['"`](ok|healthy)['"`]$/i;
// A text answer that reads as a status word (`'draining'`, `'store unmounted'`), not a document.
const STATUS_WORD = /^[\w .:-]{1,40}$/;
const FN = (n: Node) => Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isFunctionDeclaration(n) || Node.isMethodDeclaration(n);

/**
 * healthStatus()'s text for a guarded two-way health answer in `handler` (a handler function, or
 * the block of its /health branch): `prelude` holds one `if (C) return { ...super.healthStatus(), ... };`
 * per guard, `props` the healthy answer's properties. Null for any other shape.
 */
export function guardedHealthPayload(ctx: TsRewriteContext, handler: Node): { payload: Node; props: string[]; prelude: string[]; guards: string[] } | null {
  const block = answerBlock(handler);
  if (!block) return null;
  const stmts = block.getStatements();
  const guards: Array<{ cond: Node; answer: Answer }> = [];
  let i = 0;
  // Consts of the handler (inlined where the conditions or payloads read them) and headers.
  for (; i < stmts.length; i++) {
    const st = stmts[i]!;
    if (Node.isVariableStatement(st) && st.getDeclarationKind() === 'const' && st.getDeclarations().every((d) => !!d.getInitializer() && onlyAgentState(d.getInitializer()!) && !d.getInitializer()!.getDescendants().some((n) => Node.isAwaitExpression(n)))) continue;
    if (Node.isExpressionStatement(st) && Node.isCallExpression(st.getExpression()) && /\.setHeader$/.test(calleeText(st.getExpression() as import('ts-morph').CallExpression))) continue;
    break;
  }
  let rest: Statement[] = [];
  for (; i < stmts.length; i++) {
    const st = stmts[i]!;
    if (!Node.isIfStatement(st)) {
      rest = stmts.slice(i);
      break;
    }
    const thenArm = armStatements(st.getThenStatement());
    const elseNode = st.getElseStatement();
    // An arm that does not end the answer falls through to the next statements: not a guard.
    if (!elseNode && !returns(thenArm)) return null;
    const answer = armAnswer(thenArm);
    if (!answer) return null;
    guards.push({ cond: st.getExpression(), answer });
    if (elseNode) {
      // `if (C) {...} else {...}`: the else arm is the last answer; nothing may follow but a bare return.
      if (Node.isIfStatement(elseNode) || stmts.slice(i + 1).some((s) => !(Node.isReturnStatement(s) && !s.getExpression()))) return null;
      rest = armStatements(elseNode);
      break;
    }
  }
  if (guards.length === 0 || rest.length === 0) return null;
  const last = armAnswer(rest);
  if (!last) return null;
  // Each guard: a 5xx with a status word other than ok; the last answer: a 2xx (or Node's default
  // 200) whose status, when it has one, is ok. That is the base's rule, so the codes carry over.
  for (const g of guards) {
    if (g.answer.code === null || g.answer.code < 500 || g.answer.code > 599) return null;
    const status = statusOf(g.answer.payload);
    if (!status || !(Node.isStringLiteral(status) || Node.isNoSubstitutionTemplateLiteral(status)) || OK_STATUS.test(status.getText())) return null;
  }
  if (last.code !== null && (last.code < 200 || last.code > 299)) return null;
  const lastStatus = statusOf(last.payload);
  if (lastStatus && !OK_STATUS.test(lastStatus.getText())) return null;
  // Only the agent's state (and consts of the handler computed from it), nothing awaited.
  const fn = FN(handler) ? handler : (handler.getFirstAncestor(FN) ?? handler);
  const inlined = new Map<Node, string>();
  for (const n of [...guards.flatMap((g) => [g.cond, g.answer.payload]), last.payload]) {
    if (n.getDescendants().some((d) => Node.isAwaitExpression(d) || Node.isArrowFunction(d) || Node.isFunctionExpression(d))) return null;
    const consts = handlerConsts(fn, n);
    if (!consts) return null;
    for (const [id, text] of consts) inlined.set(id, text);
    if (!onlyAgentState(n, new Set(consts.keys()))) return null;
  }
  const prelude = guards.map((g) => `if (${withInlined(g.cond, inlined)}) return { ...super.healthStatus(), ${propsOf(g.answer.payload, inlined).join(', ')} };`);
  return { payload: block, props: propsOf(last.payload, inlined), prelude, guards: guards.map((g) => `${statusOf(g.answer.payload)!.getText()} (${g.answer.code}) while ${g.cond.getText()}`) };
}

/**
 * The block the answers are in: the block given, or the handler function's body, or its one
 * /health branch when everything else it answers is a constant (a 404 for any other path).
 */
function answerBlock(handler: Node): Block | null {
  if (Node.isBlock(handler)) return handler;
  const body = FN(handler) ? (handler as import('ts-morph').ArrowFunction).getBody() : undefined;
  if (!body || !Node.isBlock(body)) return null;
  // (A branch answering liveness aliases beside /health too, `/health || /healthz`, is not taken here:
  // the server would go with it, and those names with it, which the base does not serve.)
  const branches = healthBranches(body).filter((b) => b.paths.length === 1);
  if (branches.length === 0) return body;
  const then = branches[0]!.then;
  if (branches.length > 1 || !Node.isBlock(then)) return null;
  const outside = body.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => !(then.getPos() <= c.getPos() && c.getEnd() <= then.getEnd()));
  const constant = (a: Node) => Node.isStringLiteral(a) || Node.isNoSubstitutionTemplateLiteral(a) || Node.isNumericLiteral(a);
  return outside.every((c) => !/\.(json|send|end|write)$/.test(calleeText(c)) || c.getArguments().every(constant)) ? then : null;
}

function armStatements(arm: Node): Statement[] {
  return Node.isBlock(arm) ? arm.getStatements() : [arm as Statement];
}

function returns(arm: Statement[]): boolean {
  const last = arm[arm.length - 1];
  return !!last && Node.isReturnStatement(last);
}

/**
 * The one answer statements give: their code (a numeric literal set by writeHead / status / code /
 * statusCode =, or null for Node's default) and their one JSON object body (`res.end(JSON.stringify({...}))`,
 * `res.json({...})`, `reply.send({...})`, or a returned literal as fastify answers it). Null when
 * they do anything else: other statements, a computed code, two bodies, a body that is not an object literal.
 */
function armAnswer(arm: Statement[]): Answer | null {
  let payload: Answer['payload'] | null = null;
  const codes: number[] = [];
  const take = (body: Node | undefined): boolean => {
    let b = body;
    if (b && Node.isCallExpression(b) && calleeText(b) === 'JSON.stringify' && b.getArguments().length === 1) b = b.getArguments()[0];
    while (b && (Node.isParenthesizedExpression(b) || Node.isAsExpression(b))) b = b.getExpression();
    if (!b || payload) return false;
    if (Node.isObjectLiteralExpression(b) || ((Node.isStringLiteral(b) || Node.isNoSubstitutionTemplateLiteral(b)) && STATUS_WORD.test(b.getLiteralText()))) payload = b;
    return !!payload;
  };
  // A chain of reply calls: `res.status(503).json({...})`, `res.writeHead(503).end(...)`, `res.setHeader(...)`.
  const chain = (e: Node): boolean => {
    if (!Node.isCallExpression(e)) return false;
    const callee = e.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) return false;
    const target = callee.getExpression();
    if (!Node.isIdentifier(target) && !chain(target)) return false;
    const name = callee.getName();
    const args = e.getArguments();
    if (/^(writeHead|status|code)$/.test(name)) {
      const c = args[0];
      if (!c || !Node.isNumericLiteral(c)) return false;
      codes.push(Number(c.getLiteralValue()));
      return true;
    }
    if (/^(setHeader|header|type)$/.test(name)) return true;
    if (/^(json|send|end)$/.test(name)) {
      // `res.json(503, {...})` (restify, Express 3): the code, then the body.
      if (args.length === 2 && Node.isNumericLiteral(args[0]!)) {
        codes.push(Number(args[0].getLiteralValue()));
        return take(args[1]);
      }
      return args.length === 1 && take(args[0]);
    }
    return false;
  };
  for (const st of arm) {
    if (Node.isReturnStatement(st)) {
      let e = st.getExpression();
      if (!e) continue;
      // `return void res.writeHead(503).end('draining')`: the reply, its value dropped.
      if (Node.isVoidExpression(e)) e = e.getExpression();
      // `return res.status(503).json(...)`, `return reply.code(503).send(...)`, fastify's `return {...}`.
      if (!chain(e) && !take(e)) return null;
      continue;
    }
    if (!Node.isExpressionStatement(st)) return null;
    const e = st.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isPropertyAccessExpression(e.getLeft()) && (e.getLeft() as import('ts-morph').PropertyAccessExpression).getName() === 'statusCode') {
      const c = e.getRight();
      if (!Node.isNumericLiteral(c)) return null;
      codes.push(Number(c.getLiteralValue()));
      continue;
    }
    if (!chain(e)) return null;
  }
  if (!payload || new Set(codes).size > 1) return null;
  return { payload, code: codes[0] ?? null };
}

/** healthStatus()'s properties for an answer: the object's (an ok status left to the base), or the text as the status. */
function propsOf(payload: Answer['payload'], inlined: Map<Node, string>): string[] {
  if (Node.isObjectLiteralExpression(payload)) return payloadProperties(payload, inlined);
  return OK_STATUS.test(payload.getText()) ? [] : [`status: ${payload.getText()}`];
}

function statusOf(payload: Answer['payload']): Node | undefined {
  if (!Node.isObjectLiteralExpression(payload)) return payload;
  const p = payload.getProperties().find((q) => (Node.isPropertyAssignment(q) || Node.isShorthandPropertyAssignment(q)) && q.getName() === 'status');
  return p && Node.isPropertyAssignment(p) ? p.getInitializer() : p ? (p as import('ts-morph').ShorthandPropertyAssignment).getNameNode() : undefined;
}


/** What the reviewer reads: each guard's status and code moved into healthStatus(). */
export function guardedWarning(where: string, guards: string[]): string {
  return `${where} answered ${guards.join(', ')}, else ok: healthStatus() now answers the same on the same conditions, served on the base's /health (503 unless the status is ok)`;
}
