// Concern `health`: the hand-made HTTP health endpoint (http.createServer or an express app
// that serves only paths the base serves). Health that carries business state, and servers
// that also serve business routes, stay; a health *check of other agents* is never touched
// (it does not serve anything).
import { Node, SyntaxKind, type CallExpression, type Identifier, type ObjectLiteralExpression, type SpreadAssignment } from 'ts-morph';
import { methodText } from '../../src/lang/typescript/generate.js';
import { removeHealthHelperServers } from './health-helper-server.js';
import { isAsyncMethod } from './remove-interval-loop.js';
import { addHealthCodeOverride, codeConflictReason, getterBody, healthCodeOverride, notOkStatusesAnswered2xx } from './health-code-conflict.js';
import { mirrorHealthRow } from './route-row-health.js';
import { guardedHealthPayload, guardedWarning } from './health-guarded-answer.js';
import { carryHealthHost } from './health-host.js';
import { healthOnlyApp, removeHealthOnlyApps } from './health-only-app.js';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { BASE_PATHS, expressRoutes, healthPayload, healthRoutes, routesIn, serverCreations } from '../../src/lang/typescript/patterns.js';
import { descendantsOfKind, CALLS, THIS_ACCESS_KINDS, aliasPrelude, calleeText, descendantsOfKinds, isLogCall, thisAlias, thisMember, thisMembers, walkAgentCode } from '../../src/lang/typescript/syntax.js';

export function removeHealthServer(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    for (const decl of m.nodes) {
      const body = Node.isMethodDeclaration(decl) ? decl.getBody() : Node.isPropertyDeclaration(decl) ? decl.getInitializer() : undefined;
      if (body) inspect(ctx, m.name, m.kind === 'method' ? 'method' : 'property', body);
    }
  }
  if (ctx.ctor?.getBody()) inspect(ctx, null, 'method', ctx.ctor.getBody()!);
  inspectRoutes(ctx);
  if (!ctx.hints.healthPortExpr && !ctx.hints.businessHealth) removeHealthHelperServers(ctx);
  removeHealthOnlyApps(ctx);
}

/**
 * `/health` routes on a router or app that also serves the business (express, koa, fastify):
 * the route goes, the base serves /health. When it answers with business state in an object
 * literal, that object moves into the base's healthStatus() hook, so /health still reports it.
 */
function inspectRoutes(ctx: TsRewriteContext): void {
  let bridged = ctx.members.has('healthStatus');
  for (const r of healthRoutes(ctx.cls)) {
    if (ctx.plan.statements.some((s) => s.node === r.stmt)) continue;
    const app = thisMember(r.stmt.getFirstDescendantByKindOrThrow(SyntaxKind.PropertyAccessExpression).getExpression());
    if (app && ctx.plan.has(app)) continue; // the whole app goes
    const symbol = `${r.receiver}.get('${r.path}')`;
    // Business state it reads, or one of the agent's own methods it asks (`this.healthcheck()`).
    const business = r.handler ? businessState(ctx, r.handler, app ? [app] : []) ?? ownCall(ctx, r.handler) : null;
    if (!business) {
      ctx.plan.proposeStatement({ node: r.stmt, symbol, finding: 'health', reason: `health route; the base serves ${r.path}` });
      if (!SERVED_BY_BASE.has(r.path)) ctx.warnings.push(probeWarning(`${symbol} is gone`));
      continue;
    }
    // A not-ok status answered 200 (`res.json(200, { status: 'degraded' })`) conflicts with the base's 503,
    // unless that 200 was its one code whatever the status and its one object payload moves into
    // healthStatus(): the base's code hook then answers that 200 (healthCodeOverride).
    const conflicting = r.handler ? notOkStatusesAnswered2xx(ctx, [r.handler]) : [];
    const payload = healthPayload(r.handler);
    const movable = conflicting.length > 0 && !bridged && !!r.handler && !!payload && Node.isObjectLiteralExpression(payload) && !handlerMutation(ctx, [r.handler]) && onlyAgentState(payload, new Set(handlerConsts(r.handler, payload)?.keys() ?? []));
    const overrideCode = movable ? healthCodeOverride(ctx, [r.handler!], conflicting) : null;
    if (conflicting.length > 0 && overrideCode === null) {
      ctx.kept.push({ symbol, line: r.stmt.getStartLineNumber(), reason: `health route reports business state (this.${business}); ${codeConflictReason(conflicting)}` });
      ctx.hints.businessHealth = true;
      continue;
    }
    // `if (!this.connected) return reply.code(503).send({ status: 'starting' }); return { status: 'ok', ... }`:
    // two answers on a condition of the agent's state, which healthStatus() can give alike.
    // (Not on an app kept for review as a whole: its route stays with it, for the person to move.)
    const guarded = !payload && !bridged && r.handler && !(app && ctx.kept.some((k) => k.symbol === app)) ? guardedHealthPayload(ctx, r.handler) : null;
    if (guarded) {
      addHealthStatus(ctx, guarded.props, guarded.payload, guarded.prelude);
      ctx.plan.proposeStatement({ node: r.stmt, symbol, finding: 'health', reason: `health route; its answers now come from healthStatus() on the base's /health` });
      ctx.warnings.push(guardedWarning(symbol, guarded.guards));
      if (!SERVED_BY_BASE.has(r.path)) ctx.warnings.push(probeWarning(`${symbol} is gone`));
      bridged = true;
      continue;
    }
    if (!payload && !bridged) ctx.warnings.push(`${symbol} answers with business state (this.${business}) that cannot move into healthStatus() as one object: it stays on its server as it is, beside the base's /health`);
    // A const of the handler the payload reads (`const storeUp = this.store.ping()`) is inlined.
    const consts = payload && Node.isObjectLiteralExpression(payload) && r.handler ? handlerConsts(r.handler, payload) : null;
    // (`errors: this.errors.splice(0)`, or a method it asks that does so: in healthStatus() the base's probes would drain it too.)
    const mutation = !bridged && payload && r.handler ? handlerMutation(ctx, [r.handler]) : undefined;
    if (mutation) {
      ctx.warnings.push(`${symbol} changes the agent's state as it answers (${mutation.getText()}, line ${mutation.getStartLineNumber()}): it stays on its server as it is, beside the base's /health (healthStatus() is called at every probe, where that change would repeat)`);
      continue;
    }
    if (bridged || !payload || !onlyAgentState(payload, new Set(consts?.keys() ?? []))) continue; // stays as it is
    let props: string[];
    if (Node.isObjectLiteralExpression(payload)) {
      props = payloadProperties(payload, consts ?? new Map());
    } else {
      // `res.json(this.healthcheck())`: a synchronous method of the agent that builds the payload.
      const m = Node.isCallExpression(payload) ? thisMember(payload.getExpression()) : null;
      if (!m || ctx.members.get(m)?.kind !== 'method' || isAsyncMethod(ctx, m) || payload.getText().length > 80) continue;
      props = [`...${payload.getText()}`];
    }
    addHealthStatus(ctx, props, payload);
    if (overrideCode !== null) addHealthCodeOverride(ctx, overrideCode, conflicting);
    ctx.plan.proposeStatement({ node: r.stmt, symbol, finding: 'health', reason: `health route; its payload now comes from healthStatus() on the base's /health` });
    ctx.warnings.push(`${symbol} answered with business state (this.${business}): it is now part of healthStatus(), served on the base's /health`);
    if (!SERVED_BY_BASE.has(r.path)) ctx.warnings.push(probeWarning(`${symbol} is gone`));
    bridged = true;
  }
}

/** The payload's properties for healthStatus(), without a constant healthy `status` (the base's). */
/** `status: 'ok'`: the base's own status says that already. */
function okStatus(p: Node): boolean {
  return Node.isPropertyAssignment(p) && p.getName() === 'status' && /^['"`](ok|healthy|up|pass)['"`]$/i.test(p.getInitializer()?.getText() ?? '');
}

/** The payload's properties as healthStatus() adds them; `inlined` replaces identifiers by text. */
export function payloadProperties(payload: ObjectLiteralExpression, inlined: Map<Node, string> = new Map()): string[] {
  return payload
    .getProperties()
    .filter((p) => !okStatus(p))
    .map((p) => withInlined(p, inlined));
}

/** `n`'s text with the identifiers of `inlined` in it replaced by their texts. */
export function withInlined(n: Node, inlined: Map<Node, string>): string {
  let out = n.getText();
  const cuts = [...inlined].filter(([id]) => n.getStart() <= id.getStart() && id.getEnd() <= n.getEnd()).sort((a, b) => b[0].getStart() - a[0].getStart());
  for (const [id, repl] of cuts) out = out.slice(0, id.getStart() - n.getStart()) + repl + out.slice(id.getEnd() - n.getStart());
  return out;
}

/**
 * A /health answered by an async handler of the agent's (`const deps = await this.checkDependencies();
 * res.writeHead(requiredDown.length === 0 ? 200 : 503)`): its HTTP code comes from what it awaited
 * for this very request. The base's healthStatus() is synchronous, so nothing of that can move
 * as it is: said precisely (what is awaited, the code, what the base's /health answers now, and
 * the way onto the base's API with its cost), since a load balancer stops seeing a dependency down.
 */
function awaitedHealthCode(ctx: TsRewriteContext, handlers: string[]): string | null {
  for (const h of handlers) {
    const body = methodBody(ctx, h);
    if (!body) continue;
    const own = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === body.getParent();
    const waits = descendantsOfKind(body, SyntaxKind.AwaitExpression).filter(own);
    const code = descendantsOfKind(body, SyntaxKind.CallExpression).find(
      (c) => own(c) && /\.(writeHead|status|sendStatus)$/.test(calleeText(c)) && c.getArguments().length > 0 && !Node.isNumericLiteral(c.getArguments()[0]!),
    );
    if (waits.length === 0 || !code) continue;
    const wait = waits[0]!;
    const codes = [...new Set(descendantsOfKind(code.getArguments()[0]!, SyntaxKind.NumericLiteral).map((n) => n.getText()).filter((t) => /^[1-5]\d\d$/.test(t)))];
    return (
      `${h}() answers /health only after it awaits ${wait.getExpression().getText().replace(/\s*\n\s*/g, ' ')} (line ${wait.getStartLineNumber()}), its HTTP code decided from that (line ${code.getStartLineNumber()}: ${codes.join(' or ')}); ` +
      `the base's /health on ${ctx.healthPortEnv}, where the deployment now probes, calls the synchronous healthStatus(), which cannot await: it answers 200 (status ok) whatever that check finds, so what made it answer ${codes.filter((c) => c !== '200').join(' or ') || 'otherwise'} is lost there (the kept server still answers as before, on its own port). ` +
      `To keep it on the base: run the check in runOnce() (every intervalMs) into a field that healthStatus() reads and sets status from; its answer is then up to intervalMs old`
    );
  }
  return null;
}

/**
 * A business server kept whole whose `/health` branch answers with the agent's own state and a
 * code that follows its status (`res.writeHead(stalled ? 503 : 200)` with `status: stalled ?
 * 'stalled' : 'ok'`): the base's /health, where the deployment now probes, would say ok whatever
 * the agent's state. That branch's payload becomes healthStatus() as well, so both answer alike
 * (the base answers 503 for a status other than ok). `notOkOnly`: only a branch that may answer
 * other than 2xx (answersNotOk) is mirrored; one answering a constant 200 loses nothing on the base's.
 */
function mirrorHealthBranch(ctx: TsRewriteContext, where: string, code: Node[], { notOkOnly = false } = {}): void {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return;
  for (const root of code) {
    for (const { branch, paths, then } of healthBranches(root)) {
      if (notOkOnly && !answersNotOk(then)) continue;
      const bridge = soleHealthPayload(ctx, then);
      if (!bridge) {
        // Its HTTP code is decided at run time (`pong ? 200 : 503`), and nothing of that can move:
        // the base's /health, where the deployment probes, would answer 200 regardless.
        const computed = descendantsOfKind(then, SyntaxKind.CallExpression).some((c) => /\.(writeHead|status|sendStatus)$/.test(calleeText(c)) && c.getArguments().length > 0 && !Node.isNumericLiteral(c.getArguments()[0]!));
        // A 5xx it answers on some condition that could not move (it reads the request, say): the same.
        const unavailable = answersUnavailable(then);
        if (unavailable && !computed) {
          const code = Node.isCallExpression(unavailable) ? unavailable.getArguments()[0]! : (unavailable as import('ts-morph').BinaryExpression).getRight();
          ctx.kept.push({
            symbol: where,
            line: branch.getStartLineNumber(),
            reason: `health endpoint answers ${code.getText()} on a condition (line ${unavailable.getStartLineNumber()}) that does not move into healthStatus() as the agent's state alone, which the base's /health does not know (it would answer 200); move it into healthStatus() by hand`,
          });
          ctx.hints.businessHealth = true;
          return;
        }
        if (computed) {
          ctx.kept.push({
            symbol: where,
            line: branch.getStartLineNumber(),
            reason: `health endpoint reports business state with an HTTP code decided at run time (line ${branch.getStartLineNumber()}), which the base's /health does not know; move it into healthStatus() by hand`,
          });
          ctx.hints.businessHealth = true;
          return;
        }
        continue;
      }
      addHealthStatus(ctx, bridge.props, bridge.payload, bridge.prelude);
      if ('guards' in bridge) ctx.warnings.push(guardedWarning(`${where}'s ${paths.join(', ')} (line ${branch.getStartLineNumber()})`, bridge.guards as string[]));
      else ctx.warnings.push(`${where}'s ${paths.join(', ')} (line ${branch.getStartLineNumber()}) answer${paths.length > 1 ? '' : 's'} with the agent's state, its HTTP code following its status: healthStatus() now returns the same payload, so the base's /health answers alike (503 unless the status is ok)`);
      return;
    }
  }
  // `if (url.pathname === '/health' || url.pathname === '/ready') { ... 503 'warming' ... }`: /health answered
  // with a readiness path, in one branch that can say other than 2xx. Not a health branch (readiness is
  // not the base's liveness /health), so nothing moved; but the deployment now probes the base's /health,
  // which answers 200 ok whatever that state: kept for review, saying so, rather than said nowhere.
  for (const root of code) {
    for (const branch of descendantsOfKind(root, SyntaxKind.IfStatement)) {
      const paths = [...routesIn(branch.getExpression())];
      const readiness = paths.filter((p) => READINESS_PATHS.has(p));
      if (!paths.includes('/health') || readiness.length === 0 || !answersNotOk(branch.getThenStatement())) continue;
      ctx.kept.push({
        symbol: where,
        line: branch.getStartLineNumber(),
        reason: `${where} answers /health together with ${readiness.join(', ')} in one branch (line ${branch.getStartLineNumber()}), with a code that can say other than 2xx (a readiness state: warming up, draining); the server stays on its own port and still answers both, but the base's /health on ${ctx.healthPortEnv}, where the deployment now probes, answers 200 ok whatever that state is. That branch is not moved into healthStatus(): a readiness answer on the base's liveness /health would make a liveness probe restart the agent while it warms up or drains. Point whatever read /health for readiness at the kept ${readiness.join(', ')}, or move the state into healthStatus() by hand`,
      });
      ctx.hints.businessHealth = true;
      return;
    }
  }
}

/**
 * Liveness names a health branch may answer beside /health in one test (`req.url === '/health' ||
 * req.url === '/-/healthy'`): one answer, the agent's health, under each name. The one place that
 * tells liveness from readiness (health-helper-server reads both sets).
 */
export const LIVENESS_PATHS: ReadonlySet<string> = new Set(['/health', '/healthz', '/live', '/livez', '/-/healthy']);

/**
 * Readiness names: a branch answering one of those says whether to send traffic (503 until warmed
 * up, say), which is not the base's /health, so it is no health branch (healthBranches).
 */
export const READINESS_PATHS: ReadonlySet<string> = new Set(['/ready', '/readyz', '/-/ready', '/readiness']);

/**
 * The branches of request-handling code that answer /health (alone, or with liveness aliases of it
 * in the same test): `if (req.url === '/health') { ... }`, `if (url === '/health' || url === '/-/healthy') { ... }`
 * and `case '/health': { ... }` of a switch on the path (its block, or the clause's own statements).
 * `paths` are every path the branch answers: a caller removing one must keep the others answered.
 * (A `case` clause answers its own label and those of the empty clauses falling through into it.)
 */
export function healthBranches(root: Node): Array<{ branch: Node; paths: string[]; then: Node }> {
  const out: Array<{ branch: Node; paths: string[]; then: Node }> = [];
  const isHealth = (paths: string[]) => paths.some((p) => p === '/health' || p === '/healthz') && paths.every((p) => LIVENESS_PATHS.has(p));
  for (const branch of descendantsOfKind(root, SyntaxKind.IfStatement)) {
    const paths = [...routesIn(branch.getExpression())];
    const then = branch.getThenStatement();
    if (isHealth(paths) && Node.isBlock(then)) out.push({ branch, paths, then });
  }
  for (const clause of descendantsOfKind(root, SyntaxKind.CaseClause)) {
    // (routesIn reads the strings below a node: the case's own literal is the node.)
    const labelPath = (c: Node) => {
      const label = Node.isCaseClause(c) ? c.getExpression() : undefined;
      return label && (Node.isStringLiteral(label) || Node.isNoSubstitutionTemplateLiteral(label)) ? label.getLiteralText().replace(/\/+$/, '') : null;
    };
    const stmts = clause.getStatements();
    if (stmts.length === 0) continue;
    // `case '/health': case '/-/healthy': { ... }`: the empty clauses just above fall through into
    // this one, so it answers their labels too (a default among them, or a label not a string, answers more: not read).
    const labels: Array<string | null> = [labelPath(clause)];
    for (let prev = clause.getPreviousSibling(); prev && (Node.isCaseClause(prev) || Node.isDefaultClause(prev)) && prev.getStatements().length === 0; prev = prev.getPreviousSibling()) labels.unshift(labelPath(prev));
    if (labels.some((l) => l === null)) continue;
    const paths = labels as string[];
    if (!isHealth(paths)) continue;
    out.push({ branch: clause, paths, then: stmts.length === 1 && Node.isBlock(stmts[0]!) ? stmts[0]! : clause });
  }
  return out;
}

/** Regular expressions anchored at a URL path (`/^\/stock\/(\w+)$/`) in request-handling code: the routes they match. */
function pathPatterns(code: Node[]): string[] {
  const out: string[] = [];
  for (const root of code) {
    for (const re of root.getDescendantsOfKind(SyntaxKind.RegularExpressionLiteral)) {
      const text = re.getText();
      if (!/^\/\^\\\/[\w-]/.test(text)) continue;
      // (A pattern for a path the base serves, `/^\/health\/?$/`, is that path.)
      let matchesBase = false;
      try {
        const m = /^\/(.*)\/([a-z]*)$/s.exec(text)!;
        const rx = new RegExp(m[1]!, m[2]);
        matchesBase = [...BASE_PATHS].some((p) => rx.test(p));
      } catch {
        continue;
      }
      if (!matchesBase) out.push(text);
    }
  }
  return out;
}

/** healthStatus() built on the base's: `return { ...super.healthStatus(), <props> };`. */
export function addHealthStatus(ctx: TsRewriteContext, props: string[], payload: Node, prelude: string[] = []): void {
  // (Nothing to add, the healthy answer being the base's own: its payload as it is.)
  const text = props.length === 0 ? 'return super.healthStatus();' : `return { ...super.healthStatus()${props.map((p) => `, ${p}`).join('')} };`;
  const body = `${aliasPrelude([payload], ctx.unit)}${prelude.map((l) => `${ctx.unit}${l}\n`).join('')}${ctx.unit}${text}`;
  ctx.newMembers.push({ name: 'healthStatus', text: methodText(ctx, { name: 'healthStatus', async: false, body, returns: 'Record<string, unknown>' }) });
}

/** What healthStatus() returns for a health handler: its one answer, or its guarded two-way answer. */
export function soleHealthPayload(ctx: TsRewriteContext, handler: Node): { payload: Node; props: string[]; prelude: string[] } | null {
  // (Or two answers, the unhealthy one returned early on a condition of the agent's state: healthStatus() answers alike on it.)
  return singleHealthPayload(ctx, handler) ?? guardedHealthPayload(ctx, handler);
}

/**
 * The one answer a health-only server's inline handler gives, when it is an object literal with
 * a `status` that reads only the agent's state: `res.end(JSON.stringify({ status: 'ok', received:
 * this.received }))`. Null when the handler answers anything else with a body (that is not all
 * health) or reads the request or handler locals.
 */
function singleHealthPayload(ctx: TsRewriteContext, handler: Node): { payload: Node; props: string[]; prelude: string[] } | null {
  // A 5xx answered with a literal code (`res.writeHead(503); res.end(JSON.stringify({ status: 'replica-down' }))`)
  // is the health saying unavailable on some condition, not another path's constant answer: one payload would always say ok.
  if (answersUnavailable(handler)) return null;
  // A constant answer (`res.end('{"error":"not found"}')` for any other path) carries no state.
  // (A module helper writing the JSON reply, `send(res, 200, {...})`, answers with its argument.)
  const calls = descendantsOfKinds(handler, CALLS) as CallExpression[];
  // A helper's code decided at run time (`send(res, stuck ? 503 : 200, {...})`), by body: it must follow the payload's status.
  const notOk = new Map<Node, Node | undefined>();
  const helped = new Map(calls.map((c) => [c, jsonReplyHelperBody(c, ctx)] as const).filter((x): x is readonly [CallExpression, { body: Node; ok: boolean; code?: Node }] => !!x[1]));
  const bodies = [
    ...calls.filter((c) => !helped.has(c) && /\.(json|send|end|write)$/.test(calleeText(c)) && c.getArguments().length > 0).map((c) => healthArm(c.getArguments()[0]!)),
    ...[...helped.values()].map((b) => (b.ok ? b.body : (notOk.set(b.body, b.code), b.body))),
  ].filter((b) => !(Node.isStringLiteral(b) || Node.isNoSubstitutionTemplateLiteral(b) || constantObject(b)));
  // (Its HTTP code must say healthy too, as the base's /health does for an ok status.)
  if (bodies.length !== 1) return null;
  const helperCode = notOk.get(bodies[0]!);
  if (notOk.has(bodies[0]!) && !(helperCode && Node.isConditionalExpression(helperCode))) return null;
  let payload: Node | undefined = bodies[0]!;
  if (Node.isCallExpression(payload) && calleeText(payload) === 'JSON.stringify' && payload.getArguments().length === 1) payload = payload.getArguments()[0];
  // `const body = { status: ..., pending: this.pending.size }; res.end(JSON.stringify(body))`:
  // a const of the handler holding the literal, read only there.
  if (payload && Node.isIdentifier(payload)) payload = constLiteral(handler, payload);
  if (!payload || !Node.isObjectLiteralExpression(payload)) return null;
  if (!codesFollowStatus(handler, payload, helperCode ? [helperCode] : [])) return null;
  // Through a reply helper with a 2xx literal code: a status that can say other than ok would
  // get a 503 from the base where the agent answered 200.
  if (!helperCode && [...helped.values()].some((b) => b.body === bodies[0]) && !payload.getProperties().some(okStatus)) return null;
  const hasStatus = payload.getProperties().some((p) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)) && p.getName() === 'status');
  // (Or its status comes from the spread of the agent's own status method: `{ ...this.summary(), uptimeS }`.)
  const statusSpread = hasStatus ? null : statusMethodSpread(ctx, payload);
  const spreads = payload.getProperties().some((p) => !Node.isPropertyAssignment(p) && !Node.isShorthandPropertyAssignment(p) && p !== statusSpread && !statusFreeSpread(ctx, p));
  if (!(hasStatus || statusSpread) || spreads) return null;
  const inlined = handlerConsts(handler, payload);
  if (!inlined) return null;
  const olit = payload;
  const destructured = destructuredConsts(handler, olit);
  if (!destructured) return null;
  // `const lag = this.summary()` read as lag.p50_ms, lag.p99_ms: computed once, as it was, at the top of healthStatus().
  for (const id of [...inlined.keys()]) {
    const d = id.getSymbol()?.getDeclarations()[0];
    const init = d && Node.isVariableDeclaration(d) ? d.getInitializer() : undefined;
    const st = d && Node.isVariableDeclaration(d) ? d.getVariableStatement() : undefined;
    if (!init || !st || !Node.isCallExpression(init) || !payloadLocal(init) || st.getDeclarations().length !== 1) continue;
    inlined.delete(id);
    destructured.names.push(id);
    if (!destructured.prelude.includes(st.getText())) destructured.prelude.push(st.getText());
  }
  if (!onlyAgentState(olit, new Set([...inlined.keys(), ...destructured.names]))) return null;
  const props = payloadProperties(olit, inlined);
  return { payload: olit, props, prelude: destructured.prelude };
}

/**
 * Why a business /health payload was not moved into healthStatus(), for the review item: the first
 * thing of its answer that healthStatus() cannot take as it is. Null when none is found.
 */
function unmovedPayloadWhy(ctx: TsRewriteContext, fns: Node[], isExpress: boolean): string | null {
  if (isExpress) return 'it is a route of an express app, whose handler the tool does not move';
  if (ctx.members.has('healthStatus')) return 'the agent has a healthStatus() of its own, which the base would call as its hook';
  const bodies: Node[] = [];
  for (const fn of fns) {
    for (const send of (descendantsOfKinds(fn, CALLS) as CallExpression[]).filter((c) => /\.(json|send|end|write)$/.test(calleeText(c)) && c.getArguments().length > 0)) {
      let payload: Node | undefined = send.getArguments()[0];
      if (payload && Node.isCallExpression(payload) && calleeText(payload) === 'JSON.stringify') payload = payload.getArguments()[0];
      if (payload && Node.isIdentifier(payload)) payload = constLiteral(fn, payload) ?? payload;
      if (!payload || Node.isStringLiteral(payload) || Node.isNoSubstitutionTemplateLiteral(payload) || constantObject(payload)) continue;
      bodies.push(payload);
    }
  }
  if (bodies.length > 1) return `it answers ${bodies.length} different bodies (lines ${bodies.map((b) => b.getStartLineNumber()).join(', ')}), not one payload healthStatus() could return`;
  const payload = bodies[0];
  if (!payload) return null;
  if (!Node.isObjectLiteralExpression(payload)) return `its answer (line ${payload.getStartLineNumber()}: ${payload.getText().slice(0, 80)}) is not an object literal of the agent's state`;
  for (const p of payload.getProperties()) {
    if (!Node.isSpreadAssignment(p) || statusFreeSpread(ctx, p)) continue;
    return `its payload (line ${p.getStartLineNumber()}) spreads ${p.getExpression().getText().slice(0, 80)}, whose fields the tool cannot name (it may carry a status of its own, which would decide the base's code): not a synchronous method of the agent returning object literals, nor entries keyed so that none is 'status'`;
  }
  const request = payload.getDescendantsOfKind(SyntaxKind.Identifier).find((id) => /^(req|request|ctx)$/.test(id.getText()));
  if (request) return `its payload (line ${request.getStartLineNumber()}) reads the request (${request.getParent()?.getText().slice(0, 60)}), which healthStatus() is not given`;
  if (!payload.getProperty('status')) return `its payload (line ${payload.getStartLineNumber()}) has no status, which the base's /health reads for its code`;
  return null;
}

/** A literal 5xx code the handler answers with (`res.writeHead(503)`, `res.status(503)`, `reply.code(503)`, `res.statusCode = 503`), if any. */
function answersUnavailable(handler: Node): Node | undefined {
  const is5xx = (n: Node | undefined) => !!n && Node.isNumericLiteral(n) && /^5\d\d$/.test(n.getText());
  return (
    descendantsOfKind(handler, SyntaxKind.CallExpression).find((c) => /\.(writeHead|status|code|sendStatus)$/.test(calleeText(c)) && is5xx(c.getArguments()[0])) ??
    descendantsOfKind(handler, SyntaxKind.BinaryExpression).find((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /\.statusCode$/.test(b.getLeft().getText()) && is5xx(b.getRight()))
  );
}

/**
 * `req.url === '/health' ? JSON.stringify({ status: 'ok', polls: this.polls }) : '{}'` (and the code
 * `req.url === '/health' ? 200 : 404`): the arm a /health request gets, when the condition tests
 * that one path and the other arm is a constant (any other path's answer). Otherwise the node.
 */
function healthArm(n: Node): Node {
  if (!Node.isConditionalExpression(n)) return n;
  let cond: Node = n.getCondition();
  // `const ok = req.url === '/health'; ... ok ? body : '{}'`: the test, through a const of the handler.
  if (Node.isIdentifier(cond)) {
    const d = cond.getSymbol()?.getDeclarations()?.[0];
    const init = d && Node.isVariableDeclaration(d) && d.getVariableStatement()?.getDeclarationKind() === 'const' ? d.getInitializer() : undefined;
    if (init) cond = init;
  }
  if (!Node.isBinaryExpression(cond) || !/^[!=]==?$/.test(cond.getOperatorToken().getText())) return n;
  const path = [cond.getLeft(), cond.getRight()].find((x) => Node.isStringLiteral(x) || Node.isNoSubstitutionTemplateLiteral(x));
  if (!path || !['/health', '/healthz'].includes((path as import('ts-morph').StringLiteral).getLiteralText())) return n;
  const negated = cond.getOperatorToken().getText().startsWith('!');
  const [health, other] = negated ? [n.getWhenFalse(), n.getWhenTrue()] : [n.getWhenTrue(), n.getWhenFalse()];
  const constant = Node.isStringLiteral(other) || Node.isNoSubstitutionTemplateLiteral(other) || Node.isNumericLiteral(other) || constantObject(other);
  return constant ? health : n;
}

/** `{}`, `{ error: 'not found' }`: an object literal of literal values only (an answer carrying no state). */
function constantObject(n: Node): boolean {
  if (Node.isCallExpression(n) && calleeText(n) === 'JSON.stringify' && n.getArguments().length === 1) n = n.getArguments()[0]!;
  if (!Node.isObjectLiteralExpression(n)) return false;
  return n.getProperties().every((p) => {
    if (!Node.isPropertyAssignment(p) || Node.isComputedPropertyName(p.getNameNode())) return false;
    const v = p.getInitializer();
    return !!v && (Node.isStringLiteral(v) || Node.isNumericLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v) || [SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword, SyntaxKind.NullKeyword].includes(v.getKind()));
  });
}

/**
 * `send(res, 200, { status: 'ok', quotes: this.quotes })`, where `send` is a function of the
 * module (a declaration, or a top-level `const` arrow / function) whose every statement only
 * writes the reply on one parameter: `r.writeHead(...)`, `r.setHeader(...)`, `r.statusCode =
 * ...`, and one `r.end(JSON.stringify(b))` of another parameter b. The argument the call gives b
 * (the JSON body it answers), with whether the HTTP code it answers with is a 2xx literal (a
 * code the helper writes as a literal, or takes as a parameter the call gives one), or null for
 * any other call.
 */
function jsonReplyHelperBody(call: CallExpression, ctx?: TsRewriteContext): { body: Node; ok: boolean; code?: Node } | null {
  const callee = call.getExpression();
  // `this.json(res, 200, {...})`: a method of the agent (or an arrow-function field) of that shape.
  const member = ctx ? thisMember(callee) : null;
  if (member && ctx) {
    const d = ctx.members.get(member)?.nodes;
    const decl = d?.length === 1 ? d[0]! : undefined;
    const fn = decl && Node.isMethodDeclaration(decl) ? decl : decl && Node.isPropertyDeclaration(decl) ? decl.getInitializer() : undefined;
    return fn && (Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) && !fn.isAsync() ? replyShape(call, fn) : null;
  }
  if (!Node.isIdentifier(callee)) return null;
  const name = callee.getText();
  let fn: Node | undefined;
  for (const st of call.getSourceFile().getStatements()) {
    if (Node.isFunctionDeclaration(st) && st.getName() === name) fn = st;
    else if (Node.isVariableStatement(st) && st.getDeclarationKind() === 'const') {
      const d = st.getDeclarations().find((x) => x.getName() === name);
      if (d) fn = d.getInitializer();
    }
  }
  if (!fn || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.isAsync()) return null;
  // Not shadowed by a nearer declaration of that name around the call.
  for (let scope = call.getParent(); scope && !Node.isSourceFile(scope); scope = scope.getParent()) {
    if ((Node.isFunctionLikeDeclaration(scope) || Node.isArrowFunction(scope) || Node.isFunctionExpression(scope)) && scope.getParameters().some((p) => p.getName() === name)) return null;
    if (Node.isBlock(scope) && scope.getStatements().some((st) => (Node.isFunctionDeclaration(st) && st.getName() === name) || (Node.isVariableStatement(st) && st.getDeclarations().some((d) => d.getName() === name)))) return null;
  }
  return replyShape(call, fn);
}

/** What a call of reply helper `fn` answers (see jsonReplyHelperBody), or null when `fn` is not one. */
function replyShape(call: CallExpression, fn: import('ts-morph').FunctionDeclaration | import('ts-morph').MethodDeclaration | import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression): { body: Node; ok: boolean; code?: Node } | null {
  const body = fn.getBody();
  if (!body || !Node.isBlock(body)) return null;
  const params = fn.getParameters().map((p) => (Node.isIdentifier(p.getNameNode()) && !p.isRestParameter() ? p.getName() : null));
  let reply: string | null = null;
  let bodyParam: string | null = null;
  let code: Node | undefined;
  for (const st of body.getStatements()) {
    const e = Node.isExpressionStatement(st) ? st.getExpression() : null;
    if (!e) return null;
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      const left = e.getLeft();
      if (!Node.isPropertyAccessExpression(left) || left.getName() !== 'statusCode' || !Node.isIdentifier(left.getExpression())) return null;
      if (reply && reply !== left.getExpression().getText()) return null;
      reply = left.getExpression().getText();
      code = e.getRight();
      continue;
    }
    if (!Node.isCallExpression(e)) return null;
    const target = e.getExpression();
    if (!Node.isPropertyAccessExpression(target) || !Node.isIdentifier(target.getExpression()) || !/^(writeHead|setHeader|end)$/.test(target.getName())) return null;
    if (reply && reply !== target.getExpression().getText()) return null;
    reply = target.getExpression().getText();
    if (target.getName() === 'writeHead') code = e.getArguments()[0];
    if (target.getName() !== 'end') continue;
    const arg = e.getArguments()[0];
    if (bodyParam || e.getArguments().length !== 1 || !arg || !Node.isCallExpression(arg) || calleeText(arg) !== 'JSON.stringify' || arg.getArguments().length !== 1) return null;
    const b = arg.getArguments()[0]!;
    if (!Node.isIdentifier(b)) return null;
    bodyParam = b.getText();
  }
  if (!reply || !bodyParam || !params.includes(reply) || !params.includes(bodyParam) || reply === bodyParam) return null;
  // Only parameters of the helper, no module state, in what it writes.
  if (params.some((p) => p === null)) return null;
  const given = call.getArguments()[params.indexOf(bodyParam)];
  if (!given || Node.isSpreadElement(given)) return null;
  const codeValue = code && Node.isIdentifier(code) && params.includes(code.getText()) ? call.getArguments()[params.indexOf(code.getText())] : code;
  const ok = !!codeValue && Node.isNumericLiteral(codeValue) && Number(codeValue.getLiteralValue()) >= 200 && Number(codeValue.getLiteralValue()) < 300;
  return { body: given, ok, code: codeValue };
}

/**
 * `...this.stats` in a health payload, where the agent's stats is only ever the object literal it
 * starts as (`this.stats = { files: 0, errors: 0 }`, its fields counted up in place) and that
 * literal has no status: it adds counters and cannot change the status the base's /health code
 * is decided from, so healthStatus() may spread it the same way.
 */
function statusFreeSpread(ctx: TsRewriteContext, p: Node): boolean {
  if (!Node.isSpreadAssignment(p)) return false;
  if (statusFreeReader(ctx, p.getExpression())) return true;
  if (statusFreeEntries(p.getExpression())) return true;
  const name = thisMember(p.getExpression());
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || !member || member.kind === 'method') return false;
  const values: Node[] = [];
  for (const d of member.nodes) if (Node.isPropertyDeclaration(d) && d.getInitializer()) values.push(d.getInitializer()!);
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(b.getLeft()) === name && Node.isPropertyAccessExpression(b.getLeft())) values.push(b.getRight());
  }
  return (
    values.length === 1 &&
    Node.isObjectLiteralExpression(values[0]!) &&
    values[0].getProperties().every((q) => (Node.isPropertyAssignment(q) || Node.isShorthandPropertyAssignment(q)) && q.getName() !== 'status')
  );
}

/**
 * `...Object.fromEntries([...this.partitions].map(([p, s]) => [`p${p}_committed`, s.committed]))` in a
 * health payload: fields named by a key that cannot be `status` (a string literal other than it, or a
 * template whose fixed head or tail rules it out), one per entry, so it only adds state and the status
 * stays the payload's own. (A key read from data, `[j.name, ...]`, could be 'status': not this.)
 */
function statusFreeEntries(e: Node): boolean {
  if (!Node.isCallExpression(e) || calleeText(e) !== 'Object.fromEntries' || e.getArguments().length !== 1) return false;
  const list = e.getArguments()[0]!;
  // `<entries>.map(cb)`, the callback returning `[key, value]`.
  if (!Node.isCallExpression(list) || !Node.isPropertyAccessExpression(list.getExpression()) || (list.getExpression() as import('ts-morph').PropertyAccessExpression).getName() !== 'map') return false;
  const cb = list.getArguments()[0];
  if (!cb || !Node.isArrowFunction(cb)) return false;
  let body: Node = cb.getBody();
  if (Node.isBlock(body)) {
    const stmts = body.getStatements();
    const last = stmts[stmts.length - 1];
    if (stmts.length !== 1 || !last || !Node.isReturnStatement(last) || !last.getExpression()) return false;
    body = last.getExpression()!;
  }
  while (Node.isParenthesizedExpression(body)) body = body.getExpression();
  if (!Node.isArrayLiteralExpression(body) || body.getElements().length !== 2) return false;
  const key = body.getElements()[0]!;
  if (Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key)) return key.getLiteralText() !== 'status';
  if (!Node.isTemplateExpression(key)) return false;
  const head = key.getHead().getLiteralText();
  const spans = key.getTemplateSpans();
  const tail = spans[spans.length - 1]!.getLiteral().getLiteralText();
  return (head !== '' && !'status'.startsWith(head)) || (tail !== '' && !'status'.endsWith(tail));
}

/**
 * `{ ...this.summary(), uptimeS: ... }`, a payload with no `status` of its own: the one spread of a
 * synchronous method of the agent, called without arguments, whose every return is an object literal
 * with a `status` of string literals (`failing.length > 0 ? 'degraded' : 'ok'`) and no spread. That
 * spread is the payload's status; healthStatus() spreads it as the handler did (the codes its
 * statuses got are checked by the caller, as for a status of the payload's own). Null otherwise.
 */
function statusMethodSpread(ctx: TsRewriteContext, payload: ObjectLiteralExpression): Node | null {
  const spreads = payload.getProperties().filter((p) => Node.isSpreadAssignment(p));
  const carrying = spreads.filter((p) => !statusFreeSpread(ctx, p));
  if (carrying.length !== 1) return null;
  const spread = carrying[0]!;
  const e = (spread as import('ts-morph').SpreadAssignment).getExpression();
  if (!Node.isCallExpression(e) || e.getArguments().length > 0) return null;
  const name = thisMember(e.getExpression());
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || member?.kind !== 'method' || member.nodes.length !== 1 || isAsyncMethod(ctx, name) || ctx.base.members.has(name)) return null;
  const decl = member.nodes[0]!;
  if (!Node.isMethodDeclaration(decl) || decl.getParameters().length > 0 || decl.isStatic() || !decl.getBody()) return null;
  const returns = descendantsOfKind(decl.getBody()!, SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === decl);
  const literal = (v: Node | undefined): boolean => {
    while (v && Node.isParenthesizedExpression(v)) v = v.getExpression();
    if (!v) return false;
    if (Node.isStringLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v)) return true;
    return Node.isConditionalExpression(v) && literal(v.getWhenTrue()) && literal(v.getWhenFalse());
  };
  const carries = (v: Node | undefined): boolean => {
    if (!v || !Node.isObjectLiteralExpression(v) || v.getProperties().some((q) => Node.isSpreadAssignment(q))) return false;
    const st = v.getProperty('status');
    return !!st && Node.isPropertyAssignment(st) && literal(st.getInitializer());
  };
  return returns.length > 0 && returns.every((r) => carries(r.getExpression())) ? spread : null;
}

/**
 * The spread a payload's status comes from (statusMethodSpread): `...this.summary()` in `{ ...this.summary(), uptimeS }`.
 * Asked only of a spread whose method call nothing else accounts for, so the payload is read once per such reference.
 */
function isStatusSpread(ctx: TsRewriteContext, spread: SpreadAssignment): boolean {
  const payload = spread.getParent();
  return Node.isObjectLiteralExpression(payload) && statusMethodSpread(ctx, payload) === spread;
}

/**
 * `...this.extraHealth()` in a health payload: a synchronous method of the agent, called without
 * arguments, whose every return is an object literal of named fields, none of them `status`. It
 * only adds state to the payload (the status stays the payload's own), so healthStatus() can
 * spread it as the handler did. (A method that may return a status, or anything else, stays out.)
 */
function statusFreeReader(ctx: TsRewriteContext, e: Node): boolean {
  if (!Node.isCallExpression(e) || e.getArguments().length > 0) return false;
  const name = thisMember(e.getExpression());
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || member?.kind !== 'method' || member.nodes.length !== 1 || isAsyncMethod(ctx, name) || ctx.base.members.has(name)) return false;
  const decl = member.nodes[0]!;
  if (!Node.isMethodDeclaration(decl) || decl.getParameters().length > 0 || decl.isStatic()) return false;
  const body = decl.getBody();
  if (!body) return false;
  // Its own returns (not those of functions nested in it).
  const returns = descendantsOfKind(body, SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === decl);
  return (
    returns.length > 0 &&
    returns.every((r) => {
      const v = r.getExpression();
      return !!v && Node.isObjectLiteralExpression(v) && v.getProperties().every((q) => (Node.isPropertyAssignment(q) || Node.isShorthandPropertyAssignment(q)) && !Node.isComputedPropertyName(q.getNameNode()) && q.getName() !== 'status');
    })
  );
}

/**
 * `averages: Object.fromEntries(SENSORS.map((s) => [s, this.average(s)]))`: a call of a synchronous
 * method of the agent inside a property value of an object literal (the payload), given nothing of
 * the request or the reply, whose body writes no reply and assigns none of the agent's fields. A
 * value the payload reads, not a handler.
 */
function payloadValueReader(ctx: TsRewriteContext, call: CallExpression, roots: Node[]): boolean {
  const name = thisMember(call.getExpression());
  const member = name ? ctx.members.get(name) : undefined;
  if (!name || member?.kind !== 'method' || member.nodes.length !== 1 || isAsyncMethod(ctx, name) || ctx.base.members.has(name)) return false;
  const decl = member.nodes[0]!;
  if (!Node.isMethodDeclaration(decl) || decl.isStatic() || !decl.getBody()) return false;
  const value = call.getFirstAncestor((a) => Node.isPropertyAssignment(a) || Node.isStatement(a));
  if (!value || !((Node.isPropertyAssignment(value) && Node.isObjectLiteralExpression(value.getParent())) || payloadLocal(call))) return false;
  const listenerParams = new Set(
    roots.flatMap((r) => [r, ...(Node.isCallExpression(r) ? r.getArguments() : [])]).flatMap((f) => (Node.isArrowFunction(f) || Node.isFunctionExpression(f) || Node.isMethodDeclaration(f) ? f.getParameters().map((p) => p.getName()) : [])),
  );
  if (call.getArguments().some((a) => [a, ...a.getDescendantsOfKind(SyntaxKind.Identifier)].some((id) => Node.isIdentifier(id) && listenerParams.has(id.getText())))) return false;
  return readsStateOnly(ctx, decl.getBody()!, new Set([name]));
}

/**
 * A method body that only reads the agent's state: no reply written, no field assigned or
 * counted (`this.resets = 0`, `this.n++`), and each of the agent's methods it calls reads only too.
 */
function readsStateOnly(ctx: TsRewriteContext, body: Node, seen: Set<string>): boolean {
  const calls = descendantsOfKinds(body, CALLS) as CallExpression[];
  if (calls.some((c) => /\.(json|send|end|write|writeHead|setHeader)$/.test(calleeText(c)))) return false;
  if (mutatesAgentState(body)) return false;
  if (descendantsOfKind(body, SyntaxKind.BinaryExpression).some((b) => /^[-+*/%&|^]?=$|^\*\*=$|^(<<|>>>?|&&|\|\||\?\?)=$/.test(b.getOperatorToken().getText()) && thisMember(b.getLeft()) !== null)) return false;
  const counted = [...descendantsOfKind(body, SyntaxKind.PrefixUnaryExpression), ...descendantsOfKind(body, SyntaxKind.PostfixUnaryExpression)];
  if (counted.some((u) => (u.getOperatorToken() === SyntaxKind.PlusPlusToken || u.getOperatorToken() === SyntaxKind.MinusMinusToken) && thisMember(u.getOperand()) !== null)) return false;
  for (const c of calls) {
    const m = thisMember(c.getExpression());
    if (!m || seen.has(m)) continue;
    const callee = ctx.members.get(m);
    const d = callee?.kind === 'method' && callee.nodes.length === 1 ? callee.nodes[0]! : undefined;
    if (!d || !Node.isMethodDeclaration(d) || !d.getBody() || isAsyncMethod(ctx, m) || !readsStateOnly(ctx, d.getBody()!, new Set([...seen, m]))) return false;
  }
  return true;
}

/**
 * `const lag = this.summary(); res.end(JSON.stringify({ status: 'ok', p99_ms: lag.p99_ms }))`: the
 * call is a const's whole value, and the const is read only inside one object literal (the payload).
 */
function payloadLocal(call: CallExpression): boolean {
  const d = call.getParent();
  if (!d || !Node.isVariableDeclaration(d) || d.getInitializer() !== call || !Node.isIdentifier(d.getNameNode()) || d.getVariableStatement()?.getDeclarationKind() !== 'const') return false;
  const refs = (d.getNameNode() as Identifier).findReferencesAsNodes().filter((r) => r !== d.getNameNode());
  const literals = new Set(refs.map((r) => r.getFirstAncestor((a) => Node.isObjectLiteralExpression(a))));
  return refs.length > 0 && literals.size === 1 && !literals.has(undefined);
}

/**
 * A method the server's code only reads state from: every reference to it there is a bare call
 * spread into an object (`{ status: 'ok', ...this.extraHealth() }`) that statusFreeReader()
 * accepts. It answers no request, so it is not one of the server's handlers.
 */
function spreadStateReaderOnly(ctx: TsRewriteContext, name: string, roots: Node[]): boolean {
  let refs = 0;
  let readers = 0;
  for (const root of roots) {
    walkAgentCode(
      root,
      (n) => {
        if (thisMember(n) !== name) return;
        refs++;
        const call = n.getParent();
        const spread = call?.getParent();
        // (Or the spread the payload's status comes from: `{ ...this.summary(), uptimeS }`.)
        if (call && Node.isCallExpression(call) && call.getExpression() === n && Node.isSpreadAssignment(spread) && (statusFreeReader(ctx, call) || isStatusSpread(ctx, spread))) readers++;
        else if (call && Node.isCallExpression(call) && call.getExpression() === n && payloadValueReader(ctx, call, roots)) readers++;
      },
      THIS_ACCESS_KINDS,
    );
  }
  return refs > 0 && refs === readers;
}

/**
 * `const body = this.health(); res.writeHead(body.status === 'ok' ? 200 : 503); res.end(JSON.stringify(body))`:
 * an inline health-only handler whose one answer is what a synchronous method (or a getter) of the agent returns
 * (called without arguments), and whose HTTP code follows the base's rule: 2xx exactly when that
 * status is ok (or healthy), else an error code; or always 2xx when every object the method returns
 * has an ok status. Then `{ ...super.healthStatus(), ...this.health() }` answers the same on the
 * base's /health. The call, or null.
 */
function methodHealthPayload(ctx: TsRewriteContext, handler: Node, ownHook = false): Node | null {
  const sends = (descendantsOfKinds(handler, CALLS) as CallExpression[]).filter((c) => /\.(json|send|end|write)$/.test(calleeText(c)) && c.getArguments().length > 0);
  if (sends.length !== 1) return null;
  let payload: Node | undefined = sends[0]!.getArguments()[0]!;
  if (Node.isCallExpression(payload) && calleeText(payload) === 'JSON.stringify' && payload.getArguments().length === 1) payload = payload.getArguments()[0];
  let local: string | null = null;
  if (payload && Node.isIdentifier(payload)) {
    const d = payload.getSymbol()?.getDeclarations()?.[0];
    if (!d || !Node.isVariableDeclaration(d) || d.getVariableStatement()?.getDeclarationKind() !== 'const' || !(handler.getPos() <= d.getPos() && d.getEnd() <= handler.getEnd())) return null;
    local = d.getName();
    payload = d.getInitializer();
  }
  // `this.health()`, or `this.health` read through a getter of the agent (`get health() {...}`).
  const getter = payload && Node.isPropertyAccessExpression(payload) ? thisMember(payload) : null;
  const m = getter ?? (payload && Node.isCallExpression(payload) && payload.getArguments().length === 0 ? thisMember(payload.getExpression()) : null);
  // (With ownHook, the agent's own healthStatus(): named like the base's hook, it overrides it.)
  if (!payload || !m || (ctx.base.members.has(m) && !(ownHook && m === 'healthStatus' && ctx.base.members.get(m)!.hook))) return null;
  if (getter ? !getterBody(ctx, m) : ctx.members.get(m)?.kind !== 'method' || isAsyncMethod(ctx, m)) return null;
  // The code it answers with: the writeHead() among the statements next to the send.
  const block = sends[0]!.getFirstAncestor((a) => Node.isBlock(a));
  const codes = (block && Node.isBlock(block) ? block.getStatements() : [])
    .map((st) => (Node.isExpressionStatement(st) ? st.getExpression() : null))
    .filter((c): c is CallExpression => !!c && Node.isCallExpression(c) && /\.writeHead$/.test(calleeText(c)))
    .map((c) => c.getArguments()[0]);
  // `res.setHeader(...); res.end(JSON.stringify(this.health()))`: no writeHead() and no
  // statusCode set on the way to the send answers Node's default, 200.
  const implicit200 = codes.length === 0 && !statusSetOnTheWay(sends[0]!, handler);
  if (!implicit200 && (codes.length !== 1 || !codes[0])) return null;
  const ok2xx = (n: Node) => Node.isNumericLiteral(n) && Number(n.getLiteralValue()) >= 200 && Number(n.getLiteralValue()) < 300;
  const error = (n: Node) => Node.isNumericLiteral(n) && Number(n.getLiteralValue()) >= 400;
  const code = implicit200 ? null : codes[0]!;
  if (code && Node.isConditionalExpression(code)) {
    const cond = code.getCondition().getText().replace(/\s+/g, '');
    const subject = local ?? payload.getText().replace(/\s+/g, '');
    const okTest = new RegExp(`^${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.status===?(['"])(ok|healthy)\\1$`);
    return okTest.test(cond) && ok2xx(code.getWhenTrue()) && error(code.getWhenFalse()) ? payload : null;
  }
  if (code && !ok2xx(code)) return null;
  const impl = getter ? getterBody(ctx, m) : methodBody(ctx, m);
  const returned = impl ? descendantsOfKind(impl, SyntaxKind.ReturnStatement).map((r) => r.getExpression()) : [];
  const allOk = returned.length > 0 && returned.every((e) => e && Node.isObjectLiteralExpression(e) && e.getProperties().some((p) => Node.isPropertyAssignment(p) && p.getName() === 'status' && /^['"`](ok|healthy)['"`]$/.test(p.getInitializer()?.getText() ?? '')));
  if (allOk) answeredOkAlways.add(payload);
  return allOk ? payload : null;
}

/** Payloads methodHealthPayload() took with a fixed 2xx (its status always ok), not a code their status decided. */
const answeredOkAlways = new WeakSet<Node>();

/** How the legacy /health chose its code, for the warning about the payload moved into healthStatus(). */
function codeRule(payload: Node): string {
  return answeredOkAlways.has(payload) ? 'always answered 200, its status always ok' : 'its status decided the HTTP code';
}

/**
 * Is the response's status set (`res.writeHead(...)`, `res.statusCode = ...`) by a statement
 * that runs before `send` in the handler: one of the blocks around the send, before it?
 */
function statusSetOnTheWay(send: Node, handler: Node): boolean {
  const sets = (st: Node) =>
    st.getDescendants().some((n) => (Node.isCallExpression(n) && /\.writeHead$/.test(calleeText(n))) || (Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /\.statusCode$/.test(n.getLeft().getText()))) ||
    (Node.isExpressionStatement(st) && Node.isBinaryExpression(st.getExpression()) && /\.statusCode$/.test((st.getExpression() as import('ts-morph').BinaryExpression).getLeft().getText()));
  let child: Node = send;
  for (let a = send.getParent(); a && a !== handler.getParent(); child = a, a = a.getParent()) {
    if (!Node.isBlock(a)) continue;
    for (const st of a.getStatements()) {
      if (st.getPos() >= child.getPos()) break;
      if (sets(st)) return true;
    }
  }
  return false;
}

/**
 * `const stale = Date.now() - this.lastRunAt > LIMIT;` read by the payload (`status: stale ?
 * 'stale' : 'ok'`): each const of the handler the payload reads, computed from the agent's state
 * alone, as the text to inline. Null when the payload reads a const that cannot be inlined.
 */
export function handlerConsts(handler: Node, olit: Node): Map<Node, string> | null {
  const inlined = new Map<Node, string>();
  const isRead = (n: Node) => {
    const p = n.getParent();
    return !(p && ((Node.isPropertyAccessExpression(p) && p.getNameNode() === n) || (Node.isPropertyAssignment(p) && p.getNameNode() === n)));
  };
  for (const id of olit.getDescendantsOfKind(SyntaxKind.Identifier)) {
    if (!isRead(id) || Node.isShorthandPropertyAssignment(id.getParent())) continue;
    const decls = id.getSymbol()?.getDeclarations() ?? [];
    const d = decls.length === 1 ? decls[0]! : undefined;
    if (!d || !Node.isVariableDeclaration(d) || d.getVariableStatement()?.getDeclarationKind() !== 'const') continue;
    if (!(handler.getPos() <= d.getPos() && d.getEnd() <= handler.getEnd())) continue;
    const init = d.getInitializer();
    // (An arrow callback over the agent's state, `[...this.vendors.values()].some((v) => v.errors > 0)`, reads
    // nothing else: onlyAgentState() allows only the names it declares itself.)
    if (!init || !Node.isExpression(init) || !onlyAgentState(init) || [init, ...init.getDescendants()].some((n) => Node.isFunctionExpression(n) || Node.isAwaitExpression(n))) return null;
    inlined.set(id, `(${init.getText()})`);
  }
  return inlined;
}

/**
 * `const { healthy, targets } = this.summary();` in the handler, read by the payload (`status:
 * healthy ? 'ok' : 'degraded', targets`): a const destructuring the agent's own state (no request,
 * no other local, nothing awaited) is computed once, as it was, at the top of healthStatus().
 * Returns the statements to copy and the payload's identifiers they declare; null when the payload
 * reads a destructured local that cannot move so.
 */
function destructuredConsts(handler: Node, olit: ObjectLiteralExpression): { prelude: string[]; names: Node[] } | null {
  const prelude: string[] = [];
  const names: Node[] = [];
  for (const id of olit.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const p = id.getParent();
    if (p && ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || (Node.isPropertyAssignment(p) && p.getNameNode() === id))) continue;
    // (A name bound inside the payload itself, a parameter of its own callback, `Object.fromEntries([...this.state].map(([f, s]) => [f, s.errors]))`,
    // moves with it: no local of the handler.)
    // (A shorthand property's own symbol is the property's, declared in the payload: its local is looked up below.)
    if (!(p && Node.isShorthandPropertyAssignment(p)) && (id.getSymbol()?.getDeclarations() ?? []).some((d) => olit.getPos() <= d.getPos() && d.getEnd() <= olit.getEnd())) continue;
    const bindings = descendantsOfKind(handler, SyntaxKind.BindingElement).filter((b) => b.getName() === id.getText());
    // `const stale = Date.now() - this.lastRefresh > limit; ... { status: 'ok', stale }`: a const of
    // the handler read as a shorthand property (which cannot be inlined as a value) moves too.
    if (bindings.length === 0 && p && Node.isShorthandPropertyAssignment(p)) {
      // (The shorthand's own symbol is the property's: the local is found by its name in the handler.)
      const decls = descendantsOfKind(handler, SyntaxKind.VariableDeclaration).filter((v) => v.getName() === id.getText());
      const d = decls.length === 1 ? decls[0]! : undefined;
      const st = d?.getVariableStatement();
      if (!d || !st) continue;
      const value = d.getInitializer();
      if (st.getDeclarationKind() !== 'const' || st.getDeclarations().length !== 1 || !value || !onlyAgentState(value) || value.getDescendants().some((n) => Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isAwaitExpression(n))) return null;
      names.push(id);
      if (!prelude.includes(st.getText())) prelude.push(st.getText());
      continue;
    }
    if (bindings.length === 0) continue;
    const b = bindings[0]!;
    const decl = b.getFirstAncestorByKind(SyntaxKind.VariableDeclaration);
    const stmt = decl?.getVariableStatement();
    const init = decl?.getInitializer();
    if (bindings.length !== 1 || !decl || !stmt || stmt.getDeclarationKind() !== 'const' || stmt.getDeclarations().length !== 1 || !Node.isObjectBindingPattern(decl.getNameNode())) return null;
    if (b.getDotDotDotToken() || b.getInitializer() || !Node.isIdentifier(b.getNameNode())) return null;
    if (!init || !onlyAgentState(init) || init.getDescendants().some((n) => Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isAwaitExpression(n))) return null;
    names.push(id);
    if (!prelude.includes(stmt.getText())) prelude.push(stmt.getText());
  }
  return { prelude, names };
}

/** The object literal a const declared in `fn` holds, when `id` is its only reader. */
function constLiteral(fn: Node, id: Node): Node | undefined {
  const decls = id.getSymbol()?.getDeclarations() ?? [];
  const d = decls.length === 1 ? decls[0]! : undefined;
  if (!d || !Node.isVariableDeclaration(d) || d.getVariableStatement()?.getDeclarationKind() !== 'const') return undefined;
  if (!(fn.getPos() <= d.getPos() && d.getEnd() <= fn.getEnd())) return undefined;
  let init: Node | undefined = d.getInitializer();
  // `const body = JSON.stringify({ status: ..., open: this.open.size })`: the literal it serialises.
  if (init && Node.isCallExpression(init) && calleeText(init) === 'JSON.stringify' && init.getArguments().length === 1) init = init.getArguments()[0];
  const reads = fn.getDescendantsOfKind(SyntaxKind.Identifier).filter((n) => n !== d.getNameNode() && n.getText() === id.getText());
  return init && Node.isObjectLiteralExpression(init) && reads.length === 1 ? init : undefined;
}

/**
 * The HTTP code the handler computes (`res.writeHead(this.failures < 10 ? 200 : 503)`) must be
 * the one the base derives from the status it answers (200 for ok, 503 otherwise): a code chosen
 * as `C ? 2xx : 5xx` goes with a status `C ? 'ok' : 'degraded'` on the same condition C. Literal
 * codes are the handler's other answers (404) or its constant one; any other computed code is
 * not known to agree.
 */
function codesFollowStatus(handler: Node, payload: ObjectLiteralExpression, given: Node[] = []): boolean {
  const codes: Node[] = [...given];
  for (const c of descendantsOfKind(handler, SyntaxKind.CallExpression)) {
    if (/\.(writeHead|status|sendStatus)$/.test(calleeText(c)) && c.getArguments().length > 0) codes.push(healthArm(c.getArguments()[0]!));
  }
  for (const b of descendantsOfKind(handler, SyntaxKind.BinaryExpression)) {
    const l = b.getLeft();
    if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && Node.isPropertyAccessExpression(l) && l.getName() === 'statusCode') codes.push(b.getRight());
  }
  const computed = codes.filter((c) => !Node.isNumericLiteral(c));
  if (computed.length === 0) return true;
  const status = payload.getProperties().find((p) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)) && p.getName() === 'status');
  const sv = status && Node.isPropertyAssignment(status) ? status.getInitializer() : status && Node.isShorthandPropertyAssignment(status) ? status.getNameNode() : undefined;
  // `const status = this.status; res.writeHead(status === 'ok' ? 200 : 503); res.end(JSON.stringify({ status, ... }))`:
  // the code tests the very const the payload's status is, against an ok status, as the base does.
  if (sv && Node.isIdentifier(sv)) return computed.every((c) => codeTestsOkStatus(c, sv.getText()));
  if (!sv || !Node.isConditionalExpression(sv)) return false;
  // Each branch: an ok status with a 2xx code, any other status with a 5xx (as the base answers).
  const okText = (n: Node) => /^['"`](ok|healthy)['"`]$/i.test(n.getText());
  const literal = (n: Node) => Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n);
  if (!literal(sv.getWhenTrue()) || !literal(sv.getWhenFalse())) return false;
  const agrees = (status: Node, code: Node) => Node.isNumericLiteral(code) && (okText(status) ? /^2\d\d$/ : /^5\d\d$/).test(code.getText());
  const cond = sv.getCondition().getText();
  return computed.every((c) => Node.isConditionalExpression(c) && c.getCondition().getText() === cond && agrees(sv.getWhenTrue(), c.getWhenTrue()) && agrees(sv.getWhenFalse(), c.getWhenFalse()));
}

/** `status === 'ok' ? 200 : 503` (or `status !== 'ok' ? 503 : 200`): a code 2xx exactly when local `name` is an ok status. */
function codeTestsOkStatus(code: Node, name: string): boolean {
  if (!Node.isConditionalExpression(code)) return false;
  const cond = code.getCondition();
  if (!Node.isBinaryExpression(cond) || !/^[!=]==?$/.test(cond.getOperatorToken().getText())) return false;
  const [l, r] = [cond.getLeft(), cond.getRight()];
  const lit = [l, r].find((x) => Node.isStringLiteral(x) || Node.isNoSubstitutionTemplateLiteral(x));
  const id = [l, r].find((x) => x !== lit);
  if (!lit || !id || !Node.isIdentifier(id) || id.getText() !== name || !/^['"`](ok|healthy)['"`]$/.test(lit.getText())) return false;
  const negated = cond.getOperatorToken().getText().startsWith('!');
  const [okCode, otherCode] = negated ? [code.getWhenFalse(), code.getWhenTrue()] : [code.getWhenTrue(), code.getWhenFalse()];
  return Node.isNumericLiteral(okCode) && /^2\d\d$/.test(okCode.getText()) && Node.isNumericLiteral(otherCode) && /^5\d\d$/.test(otherCode.getText());
}

/** A handler that answers with a metrics registry's text: `await this.registry.metrics()`, `client.register.metrics()`. */
function servesRegistry(code: Node): boolean {
  return descendantsOfKind(code, SyntaxKind.CallExpression).some((c) => /(^|\.)(register|registry|[A-Za-z]*Registry)\.metrics$/i.test(c.getExpression().getText().replace(/\?\./g, '.')));
}

/** `this.x()` a handler calls, x one of the agent's own kept methods (its answer is business). */
function ownCall(ctx: TsRewriteContext, handler: Node): string | null {
  for (const n of descendantsOfKinds(handler, CALLS) as CallExpression[]) {
    const m = thisMember(n.getExpression());
    if (m && ctx.members.get(m)?.kind === 'method' && !ctx.plan.has(m) && !ctx.base.members.has(m)) return `${m}()`;
  }
  return null;
}

// Methods that change the collection (or Date) they are called on in place.
const IN_PLACE_MUTATORS = /^(push|pop|shift|unshift|splice|sort|reverse|fill|copyWithin|set|add|delete|clear|set[A-Z]\w*)$/;

/**
 * `this.window.splice(0)`, `this.seen.add(id)`, `self.queue.shift()`: a call that changes one of the
 * agent's collections in place. Code doing that reads no state only: moved into a health hook the
 * base calls at every probe (and every heartbeat), the change would happen that often.
 */
export function mutatesAgentState(code: Node): boolean {
  return !!inPlaceMutation(code);
}

function inPlaceMutation(code: Node): CallExpression | undefined {
  return (descendantsOfKinds(code, CALLS) as CallExpression[]).find((c) => {
    const callee = c.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !IN_PLACE_MUTATORS.test(callee.getName())) return false;
    // The receiver is the agent's field itself, or reached from it by plain property reads
    // (`this.byStation[id].push(ms)`): a copy (`[...this.xs].sort()`, `this.xs.slice().sort()`) is not.
    let recv: Node = callee.getExpression();
    while (thisMember(recv) === null && (Node.isPropertyAccessExpression(recv) || Node.isElementAccessExpression(recv) || Node.isNonNullExpression(recv) || Node.isParenthesizedExpression(recv))) recv = recv.getExpression();
    return thisMember(recv) !== null;
  });
}

/** The first in-place change of the agent's state in handler code or in the agent's methods it calls (transitively). */
function handlerMutation(ctx: TsRewriteContext, roots: Node[], seen = new Set<string>()): CallExpression | undefined {
  for (const root of roots) {
    const direct = inPlaceMutation(root);
    if (direct) return direct;
    for (const c of descendantsOfKinds(root, CALLS) as CallExpression[]) {
      const m = thisMember(c.getExpression());
      if (!m || seen.has(m)) continue;
      seen.add(m);
      const body = methodBody(ctx, m);
      const found = body ? handlerMutation(ctx, [body], seen) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

/** Does an expression read only the agent's members, module-level names and globals (no handler locals)? */
export function onlyAgentState(expr: Node, allowed: Set<Node> = new Set()): boolean {
  if (mutatesAgentState(expr)) return false;
  let ok = true;
  expr.forEachDescendant((n) => {
    if (!ok || !Node.isIdentifier(n) || allowed.has(n)) return;
    const p = n.getParent();
    if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === n) return;
    if (p && (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)) && p.getNameNode() === n && !Node.isShorthandPropertyAssignment(p)) return;
    if (thisAlias(n.compilerNode)) return; // `self.count` of `var self = this`: the agent's state
    for (const d of n.getSymbol()?.getDeclarations() ?? []) {
      // (`SENSORS.map((s) => [s, this.average(s)])`: a parameter of a function in the expression moves with it.)
      if (expr.getPos() <= d.getPos() && d.getEnd() <= expr.getEnd()) continue;
      if (d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) ok = false;
    }
  });
  return ok;
}

function inspect(ctx: TsRewriteContext, owner: string | null, ownerKind: 'method' | 'property', body: Node): void {
  for (const creation of serverCreations(body)) {
    const isExpress = creation.getExpression().getText() === 'express';
    // The member the server/app is stored in: `this.x = createServer(...)` or `x = express()`.
    let holder: string | null = null;
    let parent = creation.getParent();
    // `this.health = http.createServer(h).listen(port)`: listen() returns the server it is called on.
    if (parent && Node.isPropertyAccessExpression(parent) && parent.getName() === 'listen' && Node.isCallExpression(parent.getParent())) parent = parent.getParent()!.getParent();
    if (Node.isBinaryExpression(parent)) holder = thisMember(parent.getLeft());
    if (Node.isPropertyDeclaration(parent)) holder = parent.getName();
    // The request handler attached after the creation (`server.on('request', fn)`) answers too.
    const listeners = requestListeners(ctx, creation, holder);
    // Handler methods reached from the server callback (`(req, res) => this.onRequest(req, res)`).
    const called = [...new Set([creation, ...listeners].flatMap((n) => [...thisMembers(n)]))].filter((n) => ctx.members.get(n)?.kind === 'method');
    // (`...this.counters()` in the payload: a method that stays, read for its state, not a handler.)
    const readers = called.filter((n) => spreadStateReaderOnly(ctx, n, [creation, ...listeners]));
    const handlers = called.filter((n) => !readers.includes(n));
    // The code that answers its requests: the creation's callback, the listeners attached after it, the handler methods.
    const serverCode: Node[] = [creation, ...listeners, ...handlers.map((h) => methodBody(ctx, h)!)];
    const routes = new Set<string>();
    for (const r of routesIn(creation)) routes.add(r);
    for (const l of listeners) for (const r of routesIn(l)) routes.add(r);
    for (const h of handlers) for (const r of routesIn(methodBody(ctx, h)!)) routes.add(r);
    let routeStmts: Array<{ stmt: Node; path: string }> = [];
    // An app answering /health alone goes whole, after its route: removeHealthOnlyApps() (health-only-app.ts).
    if (isExpress && holder && healthOnlyApp(ctx, holder)) continue;
    if (isExpress && holder) {
      routeStmts = expressRoutes(ctx.cls, holder);
      for (const r of routeStmts) routes.add(r.path);
    }
    // `this.routes[req.url]`: a table of handlers by path; its paths are routes, its handlers answer.
    const tables = routeTables(ctx, serverCode);
    for (const t of tables) for (const e of t.entries) routes.add(e.path);
    const tableFns = tables.flatMap((t) => t.entries.map((e) => e.handler));
    const tableMembers = tables.map((t) => t.member).filter((m): m is string => !!m);
    // `/^\/stock\/([\w-]+)$/.exec(req.url)`: a path matched by a pattern is a route too.
    for (const r of pathPatterns([...serverCode, ...tableFns])) routes.add(r);
    const foreign = [...routes].filter((r) => !BASE_PATHS.has(r));
    const where = holder ?? owner ?? 'server';
    // A server that routes nothing and reads what the client sends (an intake taking POSTed
    // events) is the agent's business endpoint, not a health probe: it stays as it is.
    // So is one handing each request to a dispatcher of its own (`app(req, res)`,
    // `this.router.handle(req, res)`): what it answers is not known here.
    if (routes.size === 0 && serverCode.some(readsRequestBody)) continue;
    if (tables.length > 0 && tableFns.some(readsRequestBody)) {
      ctx.warnings.push(`${where} dispatches through a route table (${tables.map((t) => t.name).join(', ')}) whose handlers read the request body: kept whole as the agent's business endpoint, on its own port (the base serves /health on HEALTH_CHECK_PORT)`);
      ctx.hints.businessHealth = true;
      continue;
    }
    if (routes.size === 0 && [...creation.getArguments(), ...listeners].some((fn) => handsRequestOn(fn, handlers))) continue;
    // A catch-all that answers every path, /health among them, with what the request asks for
    // (`lookup(req.url)`, a record per path): the agent's business endpoint, not a health probe,
    // whatever it answers on /health. It stays whole; the base serves /health on its own port.
    const requested = routes.size === 0 ? requestReads([...creation.getArguments(), ...listeners, ...handlers.map((h) => ctx.members.get(h)?.nodes[0]).filter((n): n is Node => !!n)]) : null;
    if (requested) {
      ctx.warnings.push(`${where} answers every path with what the request asks for (${requested.getText()}, line ${requested.getStartLineNumber()}): kept whole as the agent's business endpoint (the base serves /health on HEALTH_CHECK_PORT)`);
      const own = healthRouteLiteral(ctx, serverCode);
      if (own && !mirrorHealthRow(ctx, where, own)) {
        ctx.warnings.push(
          `${where} answers /health itself (${own.getText()}, line ${own.getStartLineNumber()}), kept with it on its own port; what that route answers (its code and status) is not mirrored into healthStatus(): the base's /health answers by its own rule, check that by hand`,
        );
      }
      ctx.hints.businessHealth = true;
      continue;
    }
    // `http.createServer(this.router.handle)`: the request listener is a function held by one of
    // the agent's objects (a router, an app), not code of the agent: what it answers, its /health
    // among it, is not known here, and the server is the agent's business endpoint. It stays.
    const dispatcher = routes.size === 0 ? [...creation.getArguments(), ...listeners].find((a) => memberDispatcher(ctx, a)) : undefined;
    // (`http.createServer(this.app)`, an app of the agent's answering /health alone: removeHealthOnlyApps() decides.)
    const appMember = dispatcher ? thisMember(dispatcher) : null;
    if (appMember && healthOnlyApp(ctx, appMember)) continue;
    if (dispatcher) {
      ctx.warnings.push(`${where} hands each request to ${dispatcher.getText()}: kept as it is, with whatever that answers (the base serves /health on HEALTH_CHECK_PORT)`);
      ctx.hints.businessHealth = true;
      continue;
    }
    // `if (req.url === '/health') {...}` and every other path read as the business's request
    // (a POSTed body signed, stored): the business endpoint with a /health branch, not a health
    // server. It stays whole on its own port, its /health mirrored where it can be.
    if (foreign.length === 0 && !isExpress && routes.size > 0 && tables.length === 0 && serverCode.some(readsRequestBody)) {
      ctx.hints.businessHealth = true;
      ctx.warnings.push(`${where} answers every path but ${[...routes].join(', ')} with business work on the request's body: kept whole with its ${[...routes].join(', ')} on its own port (the base serves /health on HEALTH_CHECK_PORT)`);
      // (Only a /health whose code the agent's state decides: a constant 200 loses nothing there.)
      mirrorHealthBranch(ctx, where, serverCode, { notOkOnly: true });
      continue;
    }
    if (foreign.length > 0) {
      if (!isExpress && [...routes].some((r) => BASE_PATHS.has(r))) {
        // A plain server answering business paths beside /health stays whole, on its own port:
        // giving the base that port too would make the two bind one port.
        ctx.hints.businessHealth = true;
        // Named as it serves them (`/metrics` beside `/rates` is no /health of its own).
        ctx.warnings.push(`${where} also serves ${foreign.join(', ')}: kept whole with its ${[...routes].filter((r) => BASE_PATHS.has(r)).join(', ')} on its own port (the base serves /health on HEALTH_CHECK_PORT)`);
        mirrorHealthBranch(ctx, where, serverCode);
        const mirrored = tables.length > 0 ? mirrorTableHealth(ctx, tables) : null;
        if (mirrored) ctx.warnings.push(mirroredWarning(where, mirrored));
      }
      if (isExpress && holder) {
        // A business API that also answers /health: only the health routes go.
        for (const r of routeStmts) {
          if (BASE_PATHS.has(r.path) && r.path !== '/metrics' && !businessState(ctx, r.stmt, [holder])) {
            ctx.plan.proposeStatement({ node: r.stmt, symbol: `${holder}.get('${r.path}')`, finding: 'health', reason: `health route on the business app; the base serves ${r.path}` });
          }
        }
      }
      continue;
    }
    const scope = [creation as Node, ...listeners, ...handlers.map((h) => methodBody(ctx, h)!), ...routeStmts.map((r) => r.stmt), ...tableFns];
    if (scope.some((s) => servesRegistry(s))) {
      // Its /metrics is a prom-client registry of the agent's own metrics, which the base's
      // /metrics does not have: the server stays, on its own port (the base takes HEALTH_CHECK_PORT).
      ctx.hints.businessHealth = true;
      ctx.warnings.push(`${where} serves the agent's prom-client metrics on /metrics: kept on its own port`);
      continue;
    }
    const business = scope.map((s) => businessState(ctx, s, [holder, owner, ...handlers, ...tableMembers].filter(Boolean) as string[])).find(Boolean);
    if (routes.has('/metrics') && (business || scope.some((s) => ownCall(ctx, s)))) {
      // A /metrics written by the agent itself (its own method, its own state): the base's
      // /metrics has none of those samples, so removing the server would empty the scrape
      // target. As with a registry, the server stays whole on its own port.
      ctx.hints.businessHealth = true;
      ctx.warnings.push(`${where} serves the agent's own metrics on /metrics: kept on its own port (the base serves /health and its own /metrics on HEALTH_CHECK_PORT)`);
      // Its /health stays with it, but the deployment now probes the base's (the registry's
      // health_check_port): a /health that answers the agent's state (503 while a consumer lags) is
      // mirrored into healthStatus(), as a business server's is, or said when it cannot be.
      // (Only a /health whose code the agent's state decides: a constant 200 loses nothing there.)
      mirrorHealthBranch(ctx, where, serverCode, { notOkOnly: true });
      continue;
    }
    // A server that routes only /health, inline, with the agent's own counters: they move into
    // healthStatus() and the base's /health reports them; the server goes like any other.
    const bridgeable = !!business && !isExpress && routes.size > 0 && !routes.has('/metrics') && !ctx.members.has('healthStatus') && !ctx.newMembers.some((m) => m.name === 'healthStatus');
    const handlerFns = [...creation.getArguments(), ...listeners].filter((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    // `http.createServer(this.handle)`: the request listener is the agent's own handler member
    // (a method, or an arrow-function field), given as it is; its function answers.
    // (`http.createServer((req, res) => this.handle(req, res))` forwards to it all the same.)
    const forwarded = handlers.length === 1 && handlerFns.length === 1 ? forwardingCall(handlerFns[0]!, handlers[0]!) : null;
    const memberFn =
      bridgeable && handlers.length === 1 && (handlerFns.length === 0 || forwarded)
        ? handlerMemberFunction(ctx, handlers[0]!, forwarded ? [forwarded] : [...creation.getArguments(), ...listeners])
        : null;
    const sole = !bridgeable ? null : handlers.length === 0 && handlerFns.length === 1 ? soleHealthPayload(ctx, handlerFns[0]!) : memberFn ? soleHealthPayload(ctx, memberFn) : null;
    // (A status other than ok answered 2xx, 'degraded' but in rotation, is not the base's rule: it stays for review,
    // unless that 2xx was its one code whatever the status, which the base's code hook can answer.)
    const soleFns = [...handlerFns, ...(memberFn ? [memberFn] : [])];
    const soleConflicts = sole ? notOkStatusesAnswered2xx(ctx, soleFns) : [];
    const overrideCode = sole ? healthCodeOverride(ctx, soleFns, soleConflicts) : null;
    const bridge = sole && (soleConflicts.length === 0 || overrideCode !== null) ? sole : null;
    // The method it asks is the only one of the agent's its handler calls.
    const asked = bridgeable && !bridge && handlerFns.length === 1 ? methodHealthPayload(ctx, handlerFns[0]!) : null;
    const askedMember = asked ? thisMember(Node.isCallExpression(asked) ? asked.getExpression() : asked) : null;
    const askedOnly = !!asked && handlers.every((h) => h === askedMember);
    // The agent's own healthStatus() (`const h = this.healthStatus(); res.writeHead(h.status === 'ok'
    // ? 200 : 503)`): named like the base's hook, it now overrides it, so the base's /health answers
    // with the same payload under the same rule, and the server goes with nothing to move.
    const ownHook =
      !!business && !bridge && !asked && !isExpress && routes.size > 0 && !routes.has('/metrics') && handlerFns.length === 1 && ctx.members.get('healthStatus')?.kind === 'method' && !ctx.renames.has('healthStatus')
        ? methodHealthPayload(ctx, handlerFns[0]!, true)
        : null;
    const ownHookOnly = !!ownHook && handlers.every((h) => h === 'healthStatus');
    if (ownHook && ownHookOnly) {
      ctx.warnings.push(`${where} answered /health with ${ownHook.getText()} (${codeRule(ownHook)}): that method overrides the base's healthStatus() hook, so the base's /health answers with it (503 unless its status is ok)`);
    } else if (bridge) {
      addHealthStatus(ctx, bridge.props, bridge.payload, bridge.prelude);
      if (overrideCode !== null) addHealthCodeOverride(ctx, overrideCode, soleConflicts);
      ctx.warnings.push(`${where} answered /health with business state (this.${business}): it is now part of healthStatus(), served on the base's /health`);
    } else if (asked && askedOnly) {
      addHealthStatus(ctx, [`...${asked.getText()}`], asked);
      ctx.warnings.push(`${where} answered /health with ${asked.getText()} (${codeRule(asked)}): healthStatus() now returns it, served on the base's /health (503 unless its status is ok)`);
    } else if (business) {
      // It also answers a path the base does not serve (/ready: 503 until the first poll): as a
      // server with business routes, it stays whole on its own port, its /health mirrored into
      // healthStatus() where that is one payload of the agent's state.
      const unserved = [...routes].filter((r) => !SERVED_BY_BASE.has(r));
      if (unserved.length > 0 && !isExpress) {
        ctx.hints.businessHealth = true;
        ctx.warnings.push(`${where} also serves ${unserved.join(', ')}, which the base does not: kept whole with its /health on its own port (the base serves /health on HEALTH_CHECK_PORT)`);
        const mirrored = tables.length > 0 ? mirrorTableHealth(ctx, tables) : null;
        if (mirrored) ctx.warnings.push(mirroredWarning(where, mirrored));
        else mirrorHealthBranch(ctx, where, serverCode);
        continue;
      }
      // A not-ok status answered 200 ("degraded" but up) conflicts with the base's 503: say so.
      const conflicting = notOkStatusesAnswered2xx(ctx, [...handlerFns, ...handlers.map((h) => methodBody(ctx, h)).filter((b): b is Node => !!b)]);
      const awaited = awaitedHealthCode(ctx, handlers);
      const mutation = handlerMutation(ctx, [...handlerFns, ...handlers.map((h) => methodBody(ctx, h)).filter((b): b is Node => !!b)]);
      const changes = mutation
        ? ` and changes it as it answers (${mutation.getText()}, line ${mutation.getStartLineNumber()}): in healthStatus(), which the base calls at every probe, that change would happen at each probe too`
        : '';
      ctx.kept.push({
        symbol: where,
        line: creation.getStartLineNumber(),
        reason: `health endpoint reports business state (this.${business})${changes}; ${awaited ?? (conflicting.length > 0 ? codeConflictReason(conflicting) : `${unmovedPayloadWhy(ctx, [...handlerFns, ...handlers.map((h) => methodBody(ctx, h)).filter((b): b is Node => !!b)], isExpress) ?? 'the tool could not read it as one payload of the agent\'s state'}: move it into healthStatus() by hand`)}`,
      });
      ctx.hints.businessHealth = true;
      continue;
    }
    const keepAsked = (asked && askedOnly) || (ownHook && ownHookOnly);
    // The port it listened on: pass it to the base as the health port.
    const listen = listenArgument(ctx, holder, body);
    const own = ownListenArgument(ctx, holder, creation);
    const socketPath = own ? unixSocketPath(ctx, own) : null;
    if (socketPath) {
      // Health over a Unix domain socket (curl --unix-socket): the base serves TCP only, so the
      // socket's clients would lose their endpoint. It stays whole; the base's /health is added.
      ctx.warnings.push(`${where} serves /health on the Unix socket ${socketPath}: kept, since the base serves /health over TCP only (HEALTH_CHECK_PORT); point its clients there to retire it`);
      ctx.hints.businessHealth = true;
      continue;
    }
    if (listen && !ctx.hints.healthPortExpr) {
      ctx.hints.healthPortExpr = listen;
      if (holder) ctx.hints.healthHolder = holder;
      carryHealthHost(ctx, listen, (removed) => (holder ? removed.has(holder) : owner ? removed.has(owner) : true));
    }
    const reason = 'hand-made health endpoint; the base serves /health';
    const probes = [...routes].filter((r) => !SERVED_BY_BASE.has(r));
    if (probes.length > 0) {
      ctx.after.push((removed) => {
        if (holder ? removed.has(holder) : owner ? removed.has(owner) : true) ctx.warnings.push(probeWarning(`${where} also answered ${probes.join(', ')}`));
      });
    }
    if (holder) {
      ctx.plan.proposeMember({ name: holder, finding: 'health', reason });
      // `this.server = http.createServer((req, res) => { const h = this.healthStatus(); ... })` in a
      // method that stays: its handler calls the method healthStatus() now answers with (or spreads
      // one's state into the payload), which stays too, and the statement goes with the server all the same.
      // (So does the constructor's `this.health = http.createServer(...)`, the server made up front.)
      const made = creation.getParentWhile((p) => !Node.isStatement(p))?.getParent();
      // (Or its payload, moved into healthStatus(), reads the agent's state through calls, `[...this.vendors.values()].some(...)`:
      // calls made per request inside the handler that went, not when the statement runs.)
      if ((keepAsked || (bridge && (readers.length > 0 || callsAgentState(creation)))) && made && Node.isExpressionStatement(made)) {
        const e = made.getExpression();
        if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(e.getLeft()) === holder) {
          ctx.plan.proposeStatement({ node: made, symbol: holder, finding: 'health', reason, requires: [holder] });
        }
      }
      // `this.closeHealth = promisify(this.healthServer.close.bind(this.healthServer))`: a field
      // holding nothing but the server's own method goes with it (and `await this.closeHealth()`).
      for (const d of wrappersOf(ctx, holder)) {
        ctx.plan.proposeMember({
          name: d,
          finding: 'health',
          reason: `${d} only wrapped ${holder}'s own method`,
          quiet: true,
          condition: (removed) => (removed.has(holder) ? null : `${holder} stays`),
        });
      }
    }
    if (owner && ownerKind === 'method' && owner !== holder) {
      ctx.plan.proposeMember({
        name: owner,
        finding: 'health',
        reason: `${owner}() starts a hand-made health server; the base serves /health`,
        delegate: 'start',
        condition: (removed) => (ctx.isInfraMethod(owner, removed, [creation]) ? null : `${owner}() also does work besides the health server`),
        // Kept with its other work, only the server gone: nothing for a person to decide.
        quiet: true,
      });
      ctx.after.push((removed) => {
        if (!removed.has(owner) && (!holder || removed.has(holder))) ctx.warnings.push(`${owner}() kept: it does work besides the health server, which went (the base serves /health)`);
      });
    }
    // (The method whose answer healthStatus() now returns stays.)
    const keep = asked && askedOnly ? askedMember : ownHook && ownHookOnly ? 'healthStatus' : null;
    for (const h of handlers) if (h !== keep) ctx.plan.proposeMember({ name: h, finding: 'health', reason: `${h}() answers the hand-made health endpoint` });
    if (!holder && !owner) {
      const stmt = creation.getParentWhile((p) => !Node.isStatement(p));
      if (stmt) ctx.plan.proposeStatement({ node: stmt.getParentOrThrow(), symbol: 'createServer', finding: 'health', reason });
    }
  }
}

/**
 * The function of handler member `name` when the server's one request listener is that member
 * itself (`this.handle`, `this.handle.bind(this)`): the method, or the arrow function / function
 * expression a field holds (`handle = (req, res) => {...}`). Null otherwise.
 */
/**
 * `(req, res) => this.handle(req, res)`: a listener whose whole job is to call handler member
 * `name` with its own parameters, in order. Returns `this.handle` (what it forwards to), else null.
 */
function forwardingCall(fn: Node, name: string): Node | null {
  if (!Node.isArrowFunction(fn) && !Node.isFunctionExpression(fn)) return null;
  let body: Node = fn.getBody();
  if (Node.isBlock(body)) {
    const stmts = body.getStatements();
    if (stmts.length !== 1 || !Node.isExpressionStatement(stmts[0]!)) return null;
    body = stmts[0].getExpression();
  }
  if (!Node.isCallExpression(body) || thisMember(body.getExpression()) !== name || !Node.isPropertyAccessExpression(body.getExpression())) return null;
  const params = fn.getParameters().map((q) => q.getName());
  const args = body.getArguments().map((a) => a.getText());
  return params.length === args.length && params.every((q, i) => q === args[i]) ? body.getExpression() : null;
}

function handlerMemberFunction(ctx: TsRewriteContext, name: string, listeners: Node[]): Node | null {
  if (listeners.length !== 1) return null;
  let e: Node = listeners[0]!;
  if (Node.isCallExpression(e) && e.getArguments().length === 1 && e.getArguments()[0]!.getKind() === SyntaxKind.ThisKeyword) {
    const callee = e.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'bind') e = callee.getExpression();
  }
  if (thisMember(e) !== name || !Node.isPropertyAccessExpression(e)) return null;
  const member = ctx.members.get(name);
  if (!member || member.nodes.length !== 1) return null;
  const d = member.nodes[0]!;
  if (Node.isMethodDeclaration(d)) return d.getBody() ? d : null;
  const init = Node.isPropertyDeclaration(d) ? d.getInitializer() : undefined;
  return init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) ? init : null;
}

/**
 * Fields whose every value is one of the holder's own methods, bound or promisified
 * (`promisify(this.server.close.bind(this.server))`): no other member read, nothing called but
 * bind/promisify, no initializer of their own.
 */
function wrappersOf(ctx: TsRewriteContext, holder: string): string[] {
  const out: string[] = [];
  const writes = new Map<string, Node[]>();
  for (const b of descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const m = thisMember(b.getLeft());
    if (m && m !== holder) writes.set(m, [...(writes.get(m) ?? []), b.getRight()]);
  }
  for (const [name, values] of writes) {
    const m = ctx.members.get(name);
    if (!m || m.kind !== 'property' || ctx.base.members.has(name)) continue;
    if (m.nodes.some((n) => Node.isPropertyDeclaration(n) && n.getInitializer())) continue;
    const wraps = values.every((v) => {
      const read = thisMembers(v);
      if (read.size !== 1 || !read.has(holder) || descendantsOfKind(v, SyntaxKind.NewExpression).length > 0) return false;
      const calls = descendantsOfKind(v, SyntaxKind.CallExpression).concat(Node.isCallExpression(v) ? [v] : []);
      if (!calls.every((c) => /^(util\.)?promisify$|\.bind$/.test(calleeText(c)))) return false;
      // The wrapped function is a method of the holder (this.server.close), not the holder itself.
      return descendantsOfKind(v, SyntaxKind.PropertyAccessExpression).some((a) => thisMember(a.getExpression()) === holder && Node.isPropertyAccessExpression(a.getParent()) && (a.getParent() as import('ts-morph').PropertyAccessExpression).getName() === 'bind');
    });
    if (wraps) out.push(name);
  }
  return out;
}

// The paths the reference base answers on its health port.
const SERVED_BY_BASE = new Set(['/health', '/metrics']);

/** Probes (Kubernetes, a load balancer) pointed at a path the base does not answer would fail. */
function probeWarning(what: string): string {
  return `${what}; the base serves only /health and /metrics: point liveness/readiness probes at /health`;
}

/** A member of the agent the code reads that is business state (not the server, ports or base-owned). */
function businessState(ctx: TsRewriteContext, code: Node, infra: string[]): string | null {
  let found: string | null = null;
  walkAgentCode(code, (n) => {
    if (found) return false;
    const m = thisMember(n);
    if (!m || infra.includes(m) || ctx.base.members.has(m) || ctx.plan.has(m)) return;
    const member = ctx.members.get(m);
    // `get health() { return { status: ..., published: this.published } }`: a getter is code, not
    // the server's holder, whatever its name; it is business state when what it reads is.
    const getter = member?.kind === 'accessor' ? getterBody(ctx, m) : undefined;
    if (getter) {
      if (businessState(ctx, getter, [...infra, m])) found = m;
      return;
    }
    // `...this.counters()` in the payload: the method's returned fields are read, as a getter's are.
    const call = n.getParent();
    // (So are those of `const lag = this.summary()`, read only by the payload.)
    const spread = call?.getParent();
    if (member?.kind === 'method' && call && Node.isCallExpression(call) && call.getExpression() === n && ((Node.isSpreadAssignment(spread) && (statusFreeReader(ctx, call) || isStatusSpread(ctx, spread))) || payloadLocal(call))) {
      if (businessState(ctx, methodBody(ctx, m)!, [...infra, m])) found = m;
      return;
    }
    if (/^(health|healthPort|healthCheckPort|port|startTime|startedAt|started)$/i.test(m)) return;
    if (member && member.kind !== 'method') found = m;
  }, THIS_ACCESS_KINDS);
  return found;
}

/**
 * The listen argument when it is a filesystem path, not a port: followed through `this.x = x`
 * in the constructor, parameter defaults and module constants to a path expression
 * (`path.join(os.tmpdir(), 'x.sock')`, a string literal starting with '/' or ending in .sock).
 */
function unixSocketPath(ctx: TsRewriteContext, arg: Node): string | null {
  const seen = new Set<Node>();
  const isPath = (t: string) => /\bpath\.(join|resolve)\(|\btmpdir\(\)|['"`]\/[^'"`]*['"`]|\.sock['"`]|\\\\\.\\pipe/.test(t);
  const resolve = (n: Node | undefined, depth: number): boolean => {
    if (!n || depth > 5 || seen.has(n)) return false;
    seen.add(n);
    if (Node.isNumericLiteral(n) || /^(Number|parseInt)\(/.test(n.getText())) return false;
    if (isPath(n.getText())) return true;
    const m = thisMember(n);
    if (m) {
      const member = ctx.members.get(m);
      const decl = member?.nodes[0];
      if (decl && Node.isParameterDeclaration(decl)) return resolve(decl.getInitializer(), depth + 1);
      if (decl && Node.isPropertyDeclaration(decl) && decl.getInitializer()) return resolve(decl.getInitializer(), depth + 1);
      for (const a of (ctx.ctor ? descendantsOfKind(ctx.ctor, SyntaxKind.BinaryExpression) : [])) {
        if (a.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(a.getLeft()) === m) return resolve(a.getRight(), depth + 1);
      }
      return false;
    }
    if (Node.isIdentifier(n)) {
      const param = ctx.ctor?.getParameters().find((p) => p.getName() === n.getText());
      if (param) return resolve(param.getInitializer(), depth + 1);
      const v = ctx.sf.getVariableDeclaration(n.getText());
      if (v && v.getVariableStatement()?.getParent() === ctx.sf) return resolve(v.getInitializer(), depth + 1);
      return false;
    }
    if (Node.isBinaryExpression(n) && [SyntaxKind.BarBarToken, SyntaxKind.QuestionQuestionToken].includes(n.getOperatorToken().getKind())) {
      return resolve(n.getRight(), depth + 1);
    }
    return false;
  };
  return resolve(arg, 0) ? arg.getText() : null;
}

/** The first argument of this server's own listen(): `this.<holder>.listen(x)` or `createServer(...).listen(x)`. */
function ownListenArgument(ctx: TsRewriteContext, holder: string | null, creation: CallExpression): Node | null {
  const chained = creation.getParent();
  if (Node.isPropertyAccessExpression(chained) && chained.getName() === 'listen' && Node.isCallExpression(chained.getParent())) {
    return (chained.getParent() as CallExpression).getArguments()[0] ?? null;
  }
  if (!holder) return null;
  for (const n of descendantsOfKinds(ctx.cls, CALLS) as CallExpression[]) {
    const e = n.getExpression();
    if (Node.isPropertyAccessExpression(e) && e.getName() === 'listen' && thisMember(e.getExpression()) === holder) return n.getArguments()[0] ?? null;
  }
  return null;
}

/**
 * The request handlers attached to a server after its creation: `this.server.on('request', fn)`
 * (anywhere in the class, for a member), `server.on('request', fn)` (in the function that
 * created the local), or chained on the creation (`http.createServer().on('request', fn)`).
 * `once`, `addListener` and `prependListener` attach the same way. So does the function a local
 * of the agent's code names when the creation is given that name (`const listener = (req, res) =>
 * this.handle(req, res); https.createServer(tls, listener)`): its routes are the server's.
 */
function requestListeners(ctx: TsRewriteContext, creation: CallExpression, holder: string | null): Node[] {
  const named = creation.getArguments().filter(Node.isIdentifier).flatMap((a) => localFunctionOf(ctx, a));
  return [...named, ...attachedListeners(ctx, creation, holder)];
}

/** The function an identifier names when it is a local of the agent's class (a const's arrow or function expression, a function declaration). */
function localFunctionOf(ctx: TsRewriteContext, id: Node): Node[] {
  return (id.getSymbol()?.getDeclarations() ?? []).flatMap((d): Node[] => {
    if (!ctx.cls.containsRange(d.getPos(), d.getEnd())) return [];
    if (Node.isFunctionDeclaration(d)) return [d];
    const init = Node.isVariableDeclaration(d) ? d.getInitializer() : undefined;
    return init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) ? [init] : [];
  });
}

function attachedListeners(ctx: TsRewriteContext, creation: CallExpression, holder: string | null): Node[] {
  const attach = (c: CallExpression): Node | undefined => {
    const e = c.getExpression();
    const [event, fn] = c.getArguments();
    if (!Node.isPropertyAccessExpression(e) || !/^(on|once|addListener|prependListener)$/.test(e.getName()) || !event || !fn) return undefined;
    return (Node.isStringLiteral(event) || Node.isNoSubstitutionTemplateLiteral(event)) && event.getLiteralText() === 'request' ? fn : undefined;
  };
  const out: Node[] = [];
  const chained = creation.getParent();
  if (Node.isPropertyAccessExpression(chained) && Node.isCallExpression(chained.getParent())) {
    const fn = attach(chained.getParent() as CallExpression);
    if (fn) out.push(fn);
  }
  const decl = creation.getParentIfKind(SyntaxKind.VariableDeclaration);
  const local = decl && Node.isIdentifier(decl.getNameNode()) ? decl.getName() : null;
  const within = holder ? ctx.cls : local ? creation.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isSourceFile(a)) : undefined;
  if (!within) return out;
  for (const c of descendantsOfKinds(within, CALLS) as CallExpression[]) {
    const fn = attach(c);
    if (!fn) continue;
    const target = (c.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression();
    if ((holder && thisMember(target) === holder) || (local && Node.isIdentifier(target) && target.getText() === local)) out.push(fn);
  }
  return out;
}

/**
 * `{ method: 'GET', pattern: /^\/health$/, handler: ... }` in a route table of rows the handler
 * code walks (`for (const route of this.routes)`): a /health route of a server kept whole, in that
 * code or in a field it reads (its initializer, or the constructor's assignment). The literal, or null.
 */
function healthRouteLiteral(ctx: TsRewriteContext, code: Node[]): Node | null {
  const fields = [...new Set(code.flatMap((c) => [...thisMembers(c)]))].filter((n) => ctx.members.get(n)?.kind !== 'method');
  const values = fields.flatMap((f) => [
    ...(ctx.members.get(f)?.nodes ?? []).flatMap((d) => (Node.isPropertyDeclaration(d) && d.getInitializer() ? [d.getInitializer()!] : [])),
    ...(ctx.ctor ? descendantsOfKind(ctx.ctor, SyntaxKind.BinaryExpression) : []).filter((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(b.getLeft()) === f).map((b) => b.getRight()),
  ]);
  for (const root of [...code, ...values]) {
    const hit = [root, ...root.getDescendants()].find(
      (n) => (Node.isRegularExpressionLiteral(n) && /^\/\^?\\\/healthz?\$?\/\w*$/.test(n.getText())) || ((Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n)) && /^\/healthz?$/.test(n.getLiteralText())),
    );
    if (hit) return hit;
  }
  return null;
}

/** A handler reading the request's body: `req.on('data')`, `req.pipe(...)`, `for await (const c of req)`. */
function readsRequestBody(code: Node): boolean {
  if (descendantsOfKind(code, SyntaxKind.ForOfStatement).some((f) => f.isAwaited())) return true;
  return (descendantsOfKinds(code, CALLS) as CallExpression[]).some((c) => {
    const e = c.getExpression();
    if (!Node.isPropertyAccessExpression(e)) return false;
    if (e.getName() === 'pipe' || e.getName() === 'setEncoding') return true;
    const a = c.getArguments()[0];
    return (e.getName() === 'on' || e.getName() === 'once') && !!a && Node.isStringLiteral(a) && a.getLiteralText() === 'data';
  });
}

/** A request handler passing its request to a function that is not one of the agent's handler methods. */
/**
 * A request listener reached through an agent member that is not one of its methods:
 * `this.router.handle`, `this.app.handle.bind(this.app)`, `this.dispatch` holding a handler the
 * constructor built. Null for inline functions and the agent's own methods.
 */
function memberDispatcher(ctx: TsRewriteContext, arg: Node): boolean {
  let e: Node = arg;
  // `fn.bind(obj)`: the function bound.
  if (Node.isCallExpression(e) && Node.isPropertyAccessExpression(e.getExpression()) && (e.getExpression() as import('ts-morph').PropertyAccessExpression).getName() === 'bind') {
    e = (e.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression();
  }
  while (Node.isNonNullExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (!Node.isPropertyAccessExpression(e)) return false;
  let root: Node = e;
  while (Node.isPropertyAccessExpression(root) || Node.isNonNullExpression(root)) {
    const m = thisMember(root);
    if (m) {
      const kind = ctx.members.get(m)?.kind;
      return !!kind && kind !== 'method' && !ctx.base.members.has(m);
    }
    root = root.getExpression();
  }
  return false;
}

function handsRequestOn(fn: Node, handlers: string[]): boolean {
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return false;
  const req = fn.getParameters()[0];
  if (!req || !Node.isIdentifier(req.getNameNode())) return false;
  const name = req.getName();
  return (descendantsOfKinds(fn, CALLS) as CallExpression[]).some((c) => {
    if (!c.getArguments().some((a) => Node.isIdentifier(a) && a.getText() === name)) return false;
    const m = thisMember(c.getExpression());
    return !(m && handlers.includes(m));
  });
}

/**
 * The first read of what a request listener was asked (`req.url`, `req.headers[...]`, `req.method`)
 * that decides what it answers: not inside a log line, and not a comparison (a route test, a
 * method check). A health probe answers alike whatever it was asked; null when none of `fns`
 * (listener functions or handler methods, their first parameter the request) reads one.
 */
function requestReads(fns: Node[]): Node | null {
  for (const fn of fns) {
    if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) continue;
    const req = fn.getParameters()[0];
    if (!req || !Node.isIdentifier(req.getNameNode())) continue;
    for (const id of fn.getDescendantsOfKind(SyntaxKind.Identifier)) {
      if (id.getText() !== req.getName() || id === req.getNameNode()) continue;
      const access = id.getParent();
      if (!access || !(Node.isPropertyAccessExpression(access) || Node.isElementAccessExpression(access)) || access.getExpression() !== id) continue;
      const prop = Node.isPropertyAccessExpression(access) ? access.getName() : '';
      if (!/^(url|headers|method|query|params|path)$/.test(prop)) continue;
      let top: Node = access;
      while (top.getParent() && (Node.isPropertyAccessExpression(top.getParent()) || Node.isElementAccessExpression(top.getParent()) || Node.isNonNullExpression(top.getParent()) || Node.isParenthesizedExpression(top.getParent()))) top = top.getParent()!;
      const parent = top.getParent();
      if (parent && Node.isBinaryExpression(parent) && /^[!=]==?$/.test(parent.getOperatorToken().getText())) continue;
      if (top.getFirstAncestor((a) => Node.isCallExpression(a) && isLogCall(a))) continue;
      return top;
    }
  }
  return null;
}

/** `holder.listen(ARG, ...)` (or `server.listen` inside the body): the port expression. */
function listenArgument(ctx: TsRewriteContext, holder: string | null, body: Node): Node | null {
  let out: Node | null = null;
  const visit = (root: Node) => {
    for (const n of descendantsOfKinds(root, CALLS) as CallExpression[]) {
      const e = n.getExpression();
      if (!Node.isPropertyAccessExpression(e) || e.getName() !== 'listen') continue;
      // `this.intake!.listen(...)`, `(this.server as http.Server).listen(...)`: the member under the wrapping.
      let target: Node = e.getExpression();
      while (Node.isNonNullExpression(target) || Node.isParenthesizedExpression(target) || Node.isAsExpression(target)) target = target.getExpression();
      const viaHolder = holder && thisMember(target) === holder;
      // Another member's server listening in the same method (an intake API beside the health
      // server) is not this one: its port is the agent's business port, not the health port.
      const other = thisMember(target);
      const inBody = body.getPos() <= n.getPos() && n.getEnd() <= body.getEnd() && !(other && other !== holder);
      if (viaHolder || inBody) {
        out = n.getArguments()[0] ?? null;
        if (out) return;
      }
    }
  };
  visit(body);
  if (!out) visit(ctx.cls);
  return out;
}

interface RouteTable {
  /** As written: `this.routes`, `ROUTES`. */
  name: string;
  /** The agent's member holding it, or null for a const of the file. */
  member: string | null;
  entries: Array<{ path: string; handler: Node; line: number }>;
}

/**
 * `this.routes[(req.url ?? '/').split('?')[0]]`, `ROUTES[path]` in request-handling code: a table
 * of handlers keyed by path, held by a field of the agent (its initializer, or one assignment in
 * the constructor) or by a const of the file, as an object literal whose keys are all paths.
 */
function routeTables(ctx: TsRewriteContext, code: Node[]): RouteTable[] {
  const out = new Map<Node, RouteTable>();
  for (const root of code) {
    for (const access of descendantsOfKind(root, SyntaxKind.ElementAccessExpression)) {
      let target: Node = access.getExpression();
      while (Node.isNonNullExpression(target) || Node.isParenthesizedExpression(target)) target = target.getExpression();
      const member = thisMember(target);
      let literal: Node | undefined;
      if (member) {
        const decls = ctx.members.get(member)?.nodes ?? [];
        const values = decls.flatMap((d) => (Node.isPropertyDeclaration(d) && d.getInitializer() ? [d.getInitializer()!] : []));
        for (const b of (ctx.ctor ? descendantsOfKind(ctx.ctor, SyntaxKind.BinaryExpression) : [])) {
          if (b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(b.getLeft()) === member) values.push(b.getRight());
        }
        if (values.length === 1) literal = values[0];
      } else if (Node.isIdentifier(target)) {
        const d = target.getSymbol()?.getDeclarations()?.[0];
        if (d && Node.isVariableDeclaration(d) && d.getVariableStatement()?.getDeclarationKind() === 'const') literal = d.getInitializer();
      }
      while (literal && (Node.isAsExpression(literal) || Node.isSatisfiesExpression(literal) || Node.isParenthesizedExpression(literal))) literal = literal.getExpression();
      if (!literal || !Node.isObjectLiteralExpression(literal) || out.has(literal)) continue;
      const entries: RouteTable['entries'] = [];
      for (const p of literal.getProperties()) {
        const key = Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) ? p.getNameNode() : undefined;
        const path = key && (Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key)) ? key.getLiteralText() : null;
        if (!path || !path.startsWith('/')) {
          entries.length = 0;
          break;
        }
        entries.push({ path: path.replace(/\/+$/, '') || '/', handler: Node.isPropertyAssignment(p) ? p.getInitializerOrThrow() : p, line: p.getStartLineNumber() });
      }
      if (entries.length > 0) out.set(literal, { name: target.getText(), member, entries });
    }
  }
  return [...out.values()];
}

/** The /health (or /healthz) entry of a route table, mirrored into healthStatus() when it answers one payload of the agent's state. */
function mirrorTableHealth(ctx: TsRewriteContext, tables: RouteTable[]): { path: string; line: number } | null {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return null;
  const entry = tables.flatMap((t) => t.entries).find((e) => e.path === '/health' || e.path === '/healthz');
  const fn = entry?.handler;
  if (!entry || !fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) return null;
  const bridge = soleHealthPayload(ctx, fn);
  if (!bridge) return null;
  addHealthStatus(ctx, bridge.props, bridge.payload, bridge.prelude);
  return { path: entry.path, line: entry.line };
}

function mirroredWarning(where: string, mirrored: { path: string; line: number }): string {
  return `${where}'s ${mirrored.path} (line ${mirrored.line}) answers with the agent's state: healthStatus() now returns the same payload, so the base's /health answers alike`;
}

/** A call on the agent's own state (`this.vendors.values()`, `this.summary()`) anywhere in `n`. */
function callsAgentState(n: Node): boolean {
  return descendantsOfKind(n, SyntaxKind.CallExpression).some((c) => thisMembers(c.getExpression()).size > 0);
}

/** A health branch that may answer other than 2xx: a code it computes (`behind ? 503 : 200`) or a literal one outside 2xx. */
function answersNotOk(then: Node): boolean {
  const notOk = (c: Node | undefined) => !!c && (!Node.isNumericLiteral(c) || !/^2\d\d$/.test(c.getText()));
  return (
    descendantsOfKind(then, SyntaxKind.CallExpression).some((c) => /\.(writeHead|status|code|sendStatus)$/.test(calleeText(c)) && notOk(c.getArguments()[0])) ||
    descendantsOfKind(then, SyntaxKind.BinaryExpression).some((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /\.statusCode$/.test(b.getLeft().getText()) && notOk(b.getRight()))
  );
}
