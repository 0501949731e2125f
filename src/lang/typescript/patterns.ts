// Shapes of ad-hoc infrastructure in TypeScript agents, shared by the scan (findings) and the
// transforms (proposals): HTTP/express health servers, signal handlers, retry/backoff helpers,
// registry and metrics pushes, unsent-message queues, interval and while loops.
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import { descendantsOfKind, CALLS, calleeText, descendantsOfKinds, kindTest, lastName, signalHandlerCall, thisMember, thisMembers, walkAgentCode, type ClassLike } from './syntax.js';

const WHILE_LOOPS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.WhileStatement]);
const STRINGS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.StringLiteral, SyntaxKind.NoSubstitutionTemplateLiteral]);
const PAYLOAD_KINDS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.ReturnStatement, SyntaxKind.CallExpression, SyntaxKind.BinaryExpression]);

// Pre-filters on compiler nodes: each accepts every node its search could keep (and cheaply
// turns away the rest, which are then never wrapped).

const LOOPS = new Set([SyntaxKind.ForStatement, SyntaxKind.WhileStatement, SyntaxKind.DoStatement]);
const GROWTH_OPERATORS = new Set([SyntaxKind.AsteriskAsteriskToken, SyntaxKind.AsteriskEqualsToken, SyntaxKind.AsteriskToken]);

/** looksLikeRetry's nodes: loops, pauses (and Math.pow), multiplications. */
const mayShapeRetry = kindTest([...LOOPS, SyntaxKind.CallExpression, SyntaxKind.BinaryExpression], (n) => {
  if (LOOPS.has(n.kind)) return true;
  if (ts.isCallExpression(n)) return /^(setTimeout|sleep|delay|wait|pow)$/.test(lastName(n.expression) ?? '');
  return ts.isBinaryExpression(n) && GROWTH_OPERATORS.has(n.operatorToken.kind);
});

/** `this.m(...)` / `this['m'](...)`. */
const callsThisMember = kindTest([SyntaxKind.CallExpression], (n) => {
  if (!ts.isCallExpression(n)) return false;
  const e = n.expression;
  return (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) && e.expression.kind === SyntaxKind.ThisKeyword;
});

/** promClientUses's nodes: `new X.Registry()`-like constructions and collectDefaultMetrics/push calls. */
const mayUsePromClient = kindTest([SyntaxKind.NewExpression, SyntaxKind.CallExpression], (n) => {
  if (ts.isNewExpression(n)) return /^(Registry|Pushgateway|Gauge|Counter|Histogram|Summary)$/.test(lastName(n.expression) ?? '');
  return ts.isCallExpression(n) && /^(collectDefaultMetrics|pushAdd|push)$/.test(lastName(n.expression) ?? '');
});

/** `x.on(...)` as a statement (through await/void/parentheses), or a for-of over a literal list: what signalHandlerCall reads. */
const mayHandleSignal = kindTest([SyntaxKind.ForOfStatement, SyntaxKind.ExpressionStatement], (n) => {
  if (ts.isForOfStatement(n)) {
    let list = n.expression;
    while (ts.isAsExpression(list) || ts.isSatisfiesExpression(list) || ts.isParenthesizedExpression(list)) list = list.expression;
    return ts.isArrayLiteralExpression(list);
  }
  if (!ts.isExpressionStatement(n)) return false;
  let e: ts.Expression = n.expression;
  while (ts.isAwaitExpression(e) || ts.isVoidExpression(e) || ts.isParenthesizedExpression(e)) e = e.expression;
  return ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression);
});

/**
 * healthRoutes's router holders: a declaration or an `=` assignment whose value is a call or a
 * `new` (how a router is created). Every other variable, property and binary expression of the
 * class (most of them: `a + b`, comparisons) is turned away before it is wrapped.
 */
const mayHoldRouter = kindTest([SyntaxKind.VariableDeclaration, SyntaxKind.PropertyDeclaration, SyntaxKind.BinaryExpression], (n) => {
  const init = ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n) ? n.initializer : ts.isBinaryExpression(n) && n.operatorToken.kind === SyntaxKind.EqualsToken ? n.right : undefined;
  return !!init && (ts.isCallExpression(init) || ts.isNewExpression(init));
});

/** intervalCalls's statements: a call, or a call assigned with `=` (`this.timer = setInterval(...)`). */
const mayCallInterval = kindTest([SyntaxKind.ExpressionStatement], (n) => {
  if (!ts.isExpressionStatement(n)) return false;
  const e = n.expression;
  return ts.isCallExpression(e) || (ts.isBinaryExpression(e) && e.operatorToken.kind === SyntaxKind.EqualsToken && ts.isCallExpression(e.right));
});

/** Paths the base serves itself. */
export const BASE_PATHS = new Set(['/health', '/healthz', '/ready', '/readyz', '/live', '/livez', '/ping', '/metrics']);

export function isServerCreation(call: CallExpression): boolean {
  const fn = calleeText(call);
  return /^(http|https|node:http)?\.?createServer$/.test(fn) || /^(http|https)\.createServer$/.test(fn) || fn === 'express';
}

/** Pre-filter for isServerCreation: a call of something named createServer or express. */
const mayCreateServer = kindTest([SyntaxKind.CallExpression], (n) => {
  if (!ts.isCallExpression(n)) return false;
  const name = lastName(n.expression);
  return name === 'createServer' || name === 'express';
});

/** Calls creating an HTTP server or an express app under a node (not inside nested classes). */
export function serverCreations(root: Node): CallExpression[] {
  const out: CallExpression[] = [];
  walkAgentCode(
    root,
    (n) => {
      if (Node.isCallExpression(n) && isServerCreation(n)) out.push(n);
    },
    mayCreateServer,
  );
  return out;
}

/** URL paths a piece of code serves or compares against: '/health', '/orders', ... */
export function routesIn(root: Node): Set<string> {
  const out = new Set<string>();
  for (const n of descendantsOfKinds(root, STRINGS)) {
    // `req.url ?? '/'`, `req.url || '/'`: the default of a missing URL, not a path it serves.
    const up = n.compilerNode.parent;
    if (ts.isBinaryExpression(up) && up.right === n.compilerNode && (up.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || up.operatorToken.kind === ts.SyntaxKind.BarBarToken)) continue;
    const t = (n.compilerNode as ts.StringLiteralLike).text;
    if (/^\/[A-Za-z0-9_\-/.:]*$/.test(t) && !t.startsWith('/metrics/job')) out.add(t.replace(/\/+$/, '') || '/');
  }
  return out;
}

/** `this.app.get('/x', ...)` / `app.post(...)` route registrations on an express app member. */
export function expressRoutes(cls: ClassLike, app: string): Array<{ stmt: Node; path: string }> {
  const out: Array<{ stmt: Node; path: string }> = [];
  for (const n of descendantsOfKinds(cls, CALLS) as CallExpression[]) {
    const e = n.getExpression();
    if (!Node.isPropertyAccessExpression(e) || thisMember(e.getExpression()) !== app) continue;
    if (!/^(get|post|put|delete|patch|all|use)$/.test(e.getName())) continue;
    const first = n.getArguments()[0];
    const path = first && (Node.isStringLiteral(first) || Node.isNoSubstitutionTemplateLiteral(first)) ? first.getLiteralText() : '*';
    const stmt = n.getParentWhile((p) => !Node.isStatement(p)) ?? n;
    out.push({ stmt: Node.isStatement(stmt) ? stmt : n.getParentOrThrow(), path });
  }
  return out;
}

export interface HealthRoute {
  stmt: Node;
  path: string;
  /** The route's last handler (the one that answers). */
  handler: Node | undefined;
  /** The router it is registered on, as written (`this.app`, `router`, `this.server`). */
  receiver: string;
}

const ROUTER_CREATION = /^(express(\.Router)?|(express\.)?Router|fastify|Fastify|Koa|KoaRouter|(koa)?[Rr]outer|polka|restify\.createServer)$/;
const ROUTER_NAME = /^(this\.)?_?(app|router|routes|api|server|fastify|http|web|httpServer|express|koa)$/i;

/** Pre-filter for a route registration healthRoutes keeps: `x.get(...)`, `x.all(...)`, `x.head(...)`. */
const mayRegisterHealthRoute = kindTest([SyntaxKind.CallExpression], (n) => ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && /^(get|all|head)$/.test(n.expression.name.text));

/**
 * `/health`-style routes registered on an express/koa/fastify router or app the agent uses:
 * `router.get('/health', ...)`, `this.app.get('/healthz', ...)`, `this.fastify.get('/health', ...)`.
 */
export function healthRoutes(cls: ClassLike): HealthRoute[] {
  const routers = new Set<string>();
  for (const n of descendantsOfKinds(cls, mayHoldRouter)) {
    const init = Node.isVariableDeclaration(n) || Node.isPropertyDeclaration(n) ? n.getInitializer() : Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken ? n.getRight() : undefined;
    if (!init) continue;
    const created = Node.isCallExpression(init) || Node.isNewExpression(init) ? init.getExpression().getText() : '';
    if (!ROUTER_CREATION.test(created)) continue;
    const name = Node.isVariableDeclaration(n) ? n.getName() : Node.isPropertyDeclaration(n) ? `this.${n.getName()}` : (n as import('ts-morph').BinaryExpression).getLeft().getText();
    routers.add(name);
  }
  const out: HealthRoute[] = [];
  for (const n of descendantsOfKinds(cls, mayRegisterHealthRoute) as CallExpression[]) {
    const e = n.getExpression();
    if (!Node.isPropertyAccessExpression(e) || !/^(get|all|head)$/.test(e.getName())) continue;
    const receiver = e.getExpression().getText().replace(/\s+/g, '');
    if (!routers.has(receiver) && !ROUTER_NAME.test(receiver)) continue;
    const first = n.getArguments()[0];
    if (!first || !(Node.isStringLiteral(first) || Node.isNoSubstitutionTemplateLiteral(first))) continue;
    const path = first.getLiteralText().replace(/\/+$/, '') || '/';
    if (!BASE_PATHS.has(path) || path === '/metrics') continue;
    const stmt = n.getParent();
    if (!stmt || !Node.isExpressionStatement(stmt)) continue;
    const args = n.getArguments();
    out.push({ stmt, path, handler: args[args.length - 1], receiver });
  }
  return out;
}

/**
 * The JSON a health handler answers with, when it is an object literal: `res.json({...})`,
 * `res.send({...})`, `reply.send({...})`, `res.end(JSON.stringify({...}))`, `ctx.body = {...}`,
 * or returned (fastify). Null for anything else, and when the handler has two answers
 * (`if (!this.connected) return reply.code(503).send({ status: 'starting' }); return {...}`):
 * one object would stand for both, whichever the condition.
 */
export function healthPayload(handler: Node | undefined): Node | null {
  if (!handler || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) return null;
  const body = handler.getBody();
  const answers = new Set<Node>();
  const take = (x: Node | undefined) => {
    while (x && (Node.isParenthesizedExpression(x) || Node.isAsExpression(x))) x = x.getExpression();
    if (x && (Node.isObjectLiteralExpression(x) || (Node.isCallExpression(x) && thisMember(x.getExpression())))) answers.add(x);
  };
  if (!Node.isBlock(body)) take(body);
  const visit = (n: Node) => {
    if (Node.isReturnStatement(n)) take(n.getExpression());
    else if (Node.isCallExpression(n) && /\.(json|send|end)$/.test(calleeText(n))) {
      // `res.json(200, {...})` (restify, hand-made routers) puts the status code first.
      const args = n.getArguments();
      const a = args.length === 2 && Node.isNumericLiteral(args[0]!) ? args[1] : args[0];
      if (a && Node.isCallExpression(a) && calleeText(a) === 'JSON.stringify') take(a.getArguments()[0]);
      else take(a);
    } else if (Node.isBinaryExpression(n) && /\.body$/.test(n.getLeft().getText())) take(n.getRight());
  };
  visit(body);
  for (const n of descendantsOfKinds(body, PAYLOAD_KINDS)) visit(n);
  return answers.size === 1 ? [...answers][0]! : null;
}

/**
 * A loop that pauses and tries again: a growing delay (backoff), or a pause taken on failure —
 * in a catch, or on a 429/503 answer. The shape of a retry helper (promise-sleep included).
 */
export function looksLikeRetry(body: Node, backoffOnly = false): boolean {
  let loop = false;
  let delay = false;
  let grows = false;
  let onFailure = false;
  for (const n of descendantsOfKinds(body, mayShapeRetry)) {
    const k = n.getKind();
    if (k === SyntaxKind.ForStatement || k === SyntaxKind.WhileStatement || k === SyntaxKind.DoStatement) loop = true;
    if (Node.isCallExpression(n) && /(^|\.)(setTimeout|sleep|delay|wait)$/.test(calleeText(n))) {
      delay = true;
      if (n.getFirstAncestor((a) => Node.isCatchClause(a)) || /\b(429|503)\b/.test(n.getFirstAncestorByKind(SyntaxKind.IfStatement)?.getExpression().getText() ?? '')) onFailure = true;
    }
    if (Node.isBinaryExpression(n)) {
      const op = n.getOperatorToken().getText();
      const t = n.getText();
      if (op === '**' || op === '*=' || (op === '*' && /\b2\b/.test(t))) grows = true;
    }
    if (Node.isCallExpression(n) && calleeText(n) === 'Math.pow') grows = true;
  }
  return loop && delay && (grows || (!backoffOnly && onFailure));
}

/**
 * Retry by recursion: a method that calls itself again on failure — from a catch, an 'error'
 * listener, a setTimeout there, or after a pause on a 429/503 answer. Returns the re-call.
 */
export function recursiveRetry(body: Node, method: string): Node | null {
  let found: Node | null = null;
  for (const n of descendantsOfKinds(body, callsThisMember) as CallExpression[]) {
    if (thisMember(n.getExpression()) !== method) continue;
    const inCatch = !!n.getFirstAncestor((a) => Node.isCatchClause(a));
    const onError = !!n.getFirstAncestor((a) => Node.isCallExpression(a) && /\.(on|once)$/.test(calleeText(a)) && /^['"`](error|close|end|disconnect)['"`]$/.test(a.getArguments()[0]?.getText() ?? ''));
    const statusBranch = /\b(429|503)\b/.test(n.getFirstAncestorByKind(SyntaxKind.IfStatement)?.getExpression().getText() ?? '');
    if (inCatch || onError || statusBranch) {
      found = n;
      break;
    }
  }
  return found;
}

/** prom-client at work: registries, metric objects, default metrics, Pushgateway pushes. */
export function promClientUses(root: Node): Array<{ node: Node; what: string }> {
  const out: Array<{ node: Node; what: string }> = [];
  for (const n of descendantsOfKinds(root, mayUsePromClient)) {
    if (Node.isNewExpression(n)) {
      const t = n.getExpression().getText();
      if (/(^|\.)(Registry|Pushgateway)$/.test(t) || /^(client|prom|promClient|Prometheus|prometheus)\.(Gauge|Counter|Histogram|Summary)$/.test(t)) out.push({ node: n, what: t });
    } else if (Node.isCallExpression(n)) {
      const t = calleeText(n);
      if (/(^|\.)collectDefaultMetrics$/.test(t) || /\.(pushAdd|push)$/.test(t) && /gateway|pushgateway/i.test(t)) out.push({ node: n, what: t });
    }
  }
  return out;
}

/** A health-check method: healthcheck(), healthCheck(), getHealth(), checkHealth(), isHealthy(). */
export const HEALTH_METHOD = /^(healthcheck|healthCheck|health|getHealth|checkHealth|isHealthy|getHealthStatus)$/;

export const RETRY_NAME = /(retry|retries|backoff|withRetry|reconnectWithBackoff)/i;
export const QUEUE_NAME = /(unsent|pending|outbox|queue|backlog|buffered|retryQueue)/i;
export const DRAIN_NAME = /^(flush|drain|resend|replay)/i;

/** What kind of outbound push a method makes: registry registration, metrics push, or none. */
export function pushKind(body: Node): 'registry' | 'metrics' | null {
  const text = body.getText();
  if (/REGISTRY_URL|['"`/]register\b|registry\b.*register/i.test(text) && REQUEST_CALL.test(text)) return 'registry';
  if (registryActionMethod(body)) return 'registry';
  if (/METRICS_URL|PUSHGATEWAY|\/metrics\/job/i.test(text) && METRICS_REQUEST_CALL.test(text)) return 'metrics';
  return null;
}

/**
 * A request is made: a call of fetch, http.request, a client's post(), a helper named for it
 * (`this.httpPost(...)`, `postJson(...)`), an injected registry client's register() or
 * deregister(), or an HTTP method given to a helper (`consul('PUT', '/v1/agent/service/register')`,
 * `call('POST', ...)`). A name merely containing the words is none: a `requestTimeoutMs` in a log
 * line, a URL's `http://` in a config factory's defaults.
 */
function requestCall(words: string[]): RegExp {
  return new RegExp(`\\b\\w*(${words.join('|')})\\w*\\s*(<[^<>()]*>\\s*)?\\(|\\.(register|deregister)\\s*\\(|\\(\\s*['"\`](GET|POST|PUT|PATCH|DELETE)['"\`]\\s*,`, 'i');
}
/** The words of a request's callee (`fetch(`, `httpPost(`, `client.request(`). */
const REQUEST_WORDS = ['fetch', 'request', 'post', 'http'];
const REQUEST_CALL = requestCall(REQUEST_WORDS);
/** The same for a metrics push, which may also PUT (`gateway.put(...)`). */
const METRICS_REQUEST_CALL = requestCall([...REQUEST_WORDS, 'put']);

/**
 * One helper for both registry calls, the path its parameter (`fetch(`${REGISTRY}/${action}`, ...)`),
 * every call of it in the class naming the action (`this.registry('register')`, `this.registry('deregister')`):
 * it registers, as a method requesting /register does, though no /register is written in it.
 */
export function registryActionMethod(body: Node): boolean {
  const method = body.getParent();
  if (!method || !Node.isMethodDeclaration(method) || !REQUEST_CALL.test(body.getText())) return false;
  const params = method.getParameters().map((p) => p.getName());
  const pathParam = body.getDescendantsOfKind(SyntaxKind.TemplateExpression).some((t) => {
    const spans = t.getTemplateSpans();
    const last = spans[spans.length - 1];
    const head = spans.length >= 2 ? spans[spans.length - 2]! : null;
    return (
      !!last && last.getLiteral().getText() === '}`' && params.includes(last.getExpression().getText()) &&
      (head ? /registry/i.test(head.getExpression().getText()) && head.getLiteral().getText() === '}/${' : /registry/i.test(t.getHead().getText()))
    );
  });
  if (!pathParam) return false;
  const cls = method.getParent();
  const calls = cls.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => thisMember(c.getExpression()) === method.getName());
  const actions = calls.map((c) => c.getArguments()[0]).map((a) => (a && Node.isStringLiteral(a) ? a.getLiteralValue() : null));
  return actions.includes('register') && actions.every((a) => a !== null && /^(register|deregister|unregister)$/.test(a));
}

/** `process.on('SIGTERM', ...)` statements anywhere under root. */
export function signalStatements(root: Node, readsLoopVariable = false): Node[] {
  const out: Node[] = [];
  for (const n of descendantsOfKinds(root, mayHandleSignal)) if (signalHandlerCall(n, readsLoopVariable)) out.push(n);
  return out;
}

/** `setInterval(cb, ms)` calls (statement-level, optionally assigned to this.x). */
export function intervalCalls(root: Node): Array<{ stmt: Node; call: CallExpression; timer: string | null }> {
  const out: Array<{ stmt: Node; call: CallExpression; timer: string | null }> = [];
  walkAgentCode(root, (n) => {
    if (!Node.isExpressionStatement(n)) return;
    let e: Node = n.getExpression();
    let timer: string | null = null;
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      timer = thisMember(e.getLeft());
      e = e.getRight();
    }
    // `setInterval(cb, ms).unref()`: unref() returns the same timer, which then no longer keeps
    // the process alive; the timer is armed just the same.
    if (Node.isCallExpression(e)) e = unrefTarget(e) ?? e;
    if (Node.isCallExpression(e) && isSetInterval(e)) out.push({ stmt: n, call: e, timer });
  }, mayCallInterval);
  return out;
}

/** The timer call of `<call>.unref()` / `<call>.ref()` (no arguments), else null. */
function unrefTarget(call: CallExpression): CallExpression | null {
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !/^(unref|ref)$/.test(callee.getName()) || call.getArguments().length > 0) return null;
  const inner = callee.getExpression();
  return Node.isCallExpression(inner) ? inner : null;
}

/** setInterval, also when imported under another name from node:timers. */
export function isSetInterval(call: CallExpression): boolean {
  const fn = calleeText(call);
  if (fn === 'setInterval' || fn === 'timers.setInterval') return true;
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee) || !importsSetInterval(call.getSourceFile().compilerNode)) return false;
  const decl = callee.getSymbol()?.getDeclarations()[0];
  return !!decl && Node.isImportSpecifier(decl) && decl.getName() === 'setInterval' && /^(node:)?timers$/.test(decl.getImportDeclaration().getModuleSpecifierValue());
}

const setIntervalImports = new WeakMap<ts.SourceFile, boolean>();

/**
 * Does the file import something under the name setInterval (`import { setInterval as every }`)?
 * Only then can a callee resolve to that import: the checker is not built to learn otherwise.
 */
function importsSetInterval(sf: ts.SourceFile): boolean {
  let hit = setIntervalImports.get(sf);
  if (hit === undefined) {
    hit = sf.statements.some((s) => {
      const bindings = ts.isImportDeclaration(s) ? s.importClause?.namedBindings : undefined;
      return !!bindings && ts.isNamedImports(bindings) && bindings.elements.some((e) => {
        const imported = e.propertyName ?? e.name;
        return (ts.isStringLiteral(imported) ? imported.text : imported.getText(sf)) === 'setInterval';
      });
    });
    setIntervalImports.set(sf, hit);
  }
  return hit;
}

/**
 * `while (this.running)` / `while (true)` / `while (!this.stopped)` loops, and compound ones
 * over the agent's flags or an AbortSignal: `while (!this.signal.aborted && !this.stopPolling)`.
 */
export function foreverLoops(root: Node): Node[] {
  const out: Node[] = [];
  walkAgentCode(root, (n) => {
    if (Node.isWhileStatement(n) && isRunCondition(n.getExpression())) out.push(n);
  }, WHILE_LOOPS);
  return out;
}

/** A condition that stays true until the agent is told to stop. */
export function isRunCondition(c: Node): boolean {
  if (Node.isParenthesizedExpression(c)) return isRunCondition(c.getExpression());
  if (Node.isBinaryExpression(c) && c.getOperatorToken().getKind() === SyntaxKind.AmpersandAmpersandToken) return isRunCondition(c.getLeft()) && isRunCondition(c.getRight());
  const t = c.getText().replace(/\s+/g, '');
  if (t === 'true' || t === '1') return true;
  if (/^!?this\.[\w$]+$/.test(t)) return true;
  // An AbortSignal: this.signal, this.controller.signal, or a `signal` parameter.
  return /^!(this\.[\w$]+(\.signal)?|[\w$]*[sS]ignal)(\?)?\.aborted$/.test(t);
}

export interface Rearm {
  /** The method that re-arms itself. */
  method: string;
  /** The statement that goes with the chain: the setTimeout call, or the `if (this.running)` around it. */
  stmt: Node;
  call: CallExpression;
  /** `this.timer = setTimeout(...)` → "timer". */
  timer: string | null;
  /** Flags of an `if (this.running)` guard around the re-arm. */
  flags: string[];
  /** The pause before a self-call (`await sleep(ms); this.poll();`), which goes with it. */
  pause?: Node;
  /** The period: setTimeout's delay or the pause's argument. */
  ms: Node | undefined;
}

/**
 * Methods that schedule themselves again with setTimeout on their normal path — at the end of
 * the body, in a `finally`, or under an `if (this.running)` — the shape of a main loop written
 * as a timer chain: `async poll() { ...; this.timer = setTimeout(() => this.poll(), ms); }`.
 * A re-arm inside `catch` is a retry, not a loop.
 */
export function rearmingTimeouts(cls: ClassLike): Rearm[] {
  const out: Rearm[] = [];
  for (const m of cls.getMembers()) {
    const fn = Node.isMethodDeclaration(m) ? m : Node.isPropertyDeclaration(m) ? m.getInitializer() : undefined;
    if (!fn || !(Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) continue;
    const body = fn.getBody();
    const name = (m as unknown as { getName(): string }).getName();
    if (!body || !Node.isBlock(body)) continue;
    const consider = (stmt: Node, holder: Node, flags: string[]) => {
      const r = rearmCall(stmt, name);
      if (r) out.push({ method: name, stmt: holder, call: r.call, timer: r.timer, flags, ms: r.call.getArguments()[1] });
      return !!r;
    };
    // `await sleep(ms); this.poll();` closing the body (or its finally): a loop by recursion.
    const pausedSelfCall = (list: Node[]) => {
      const last = list[list.length - 1];
      const before = list[list.length - 2];
      const call = last ? selfCall(last, name) : null;
      const ms = before ? pauseArgument(before) : null;
      if (!call || !ms) return false;
      out.push({ method: name, stmt: last!, call, timer: null, flags: [], pause: before, ms });
      return true;
    };
    const stmts = body.getStatements();
    if (pausedSelfCall(stmts)) continue;
    for (const s of stmts) {
      if (consider(s, s, [])) break;
      if (Node.isTryStatement(s)) {
        const fin = s.getFinallyBlock();
        if (fin && (fin.getStatements().some((x) => consider(x, x, []) || guarded(x, name, consider)) || pausedSelfCall(fin.getStatements()))) break;
      }
      if (guarded(s, name, consider)) break;
    }
  }
  return out;
}

/** `this.m()` / `await this.m()` / `void this.m()` / `return this.m()` as a statement, with no arguments. */
function selfCall(stmt: Node, method: string): CallExpression | null {
  let e: Node | undefined = Node.isExpressionStatement(stmt) ? stmt.getExpression() : Node.isReturnStatement(stmt) ? stmt.getExpression() : undefined;
  while (e && (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
  return e && Node.isCallExpression(e) && thisMember(e.getExpression()) === method && e.getArguments().length === 0 ? e : null;
}

/** `await sleep(ms)` / `await delay(ms)` / `await x.sleep(ms)` / `await new Promise((r) => setTimeout(r, ms))` → ms. */
export function pauseArgument(stmt: Node): Node | null {
  if (!Node.isExpressionStatement(stmt)) return null;
  let e: Node = stmt.getExpression();
  if (!Node.isAwaitExpression(e)) return null;
  e = e.getExpression();
  if (Node.isNewExpression(e) && e.getExpression().getText() === 'Promise') {
    const timeout = descendantsOfKind(e, SyntaxKind.CallExpression).find((c) => calleeText(c) === 'setTimeout');
    return timeout?.getArguments()[1] ?? null;
  }
  if (!Node.isCallExpression(e)) return null;
  return /(^|\.)(sleep|delay|wait|pause|setTimeout)$/.test(calleeText(e)) ? e.getArguments()[0] ?? null : null;
}

/** `if (this.running) this.timer = setTimeout(...)`: the if goes as a whole when it holds only the re-arm. */
function guarded(s: Node, name: string, consider: (stmt: Node, holder: Node, flags: string[]) => boolean): boolean {
  if (!Node.isIfStatement(s) || s.getElseStatement() || !isRunCondition(s.getExpression())) return false;
  const then = s.getThenStatement();
  const inner = Node.isBlock(then) ? then.getStatements() : [then];
  if (inner.length !== 1) return false;
  const flags = [...thisMembers(s.getExpression())];
  return consider(inner[0]!, s, flags);
}

function rearmCall(stmt: Node, method: string): { call: CallExpression; timer: string | null } | null {
  if (!Node.isExpressionStatement(stmt)) return null;
  let e: Node = stmt.getExpression();
  let timer: string | null = null;
  if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
    timer = thisMember(e.getLeft());
    e = e.getRight();
  }
  if (!Node.isCallExpression(e) || !/^(setTimeout|timers\.setTimeout)$/.test(calleeText(e))) return null;
  const cb = e.getArguments()[0];
  return cb && callsOnly(cb, method) ? { call: e, timer } : null;
}

/** `() => this.m()`, `() => void this.m()`, `() => { this.m(); }`, `this.m.bind(this)`, `this.m`. */
function callsOnly(cb: Node, method: string): boolean {
  if (thisMember(cb) === method) return true;
  if (Node.isCallExpression(cb) && calleeText(cb) === `this.${method}.bind`) return true;
  if (!Node.isArrowFunction(cb) || cb.getParameters().length > 0) return false;
  let b: Node = cb.getBody();
  if (Node.isBlock(b)) {
    const st = b.getStatements();
    if (st.length !== 1 || !Node.isExpressionStatement(st[0]!)) return false;
    b = st[0].getExpression();
  }
  while (Node.isVoidExpression(b) || Node.isAwaitExpression(b) || Node.isParenthesizedExpression(b)) b = b.getExpression();
  // this.m().catch(...) counts too.
  if (Node.isCallExpression(b) && Node.isPropertyAccessExpression(b.getExpression()) && ['catch', 'then', 'finally'].includes((b.getExpression() as import('ts-morph').PropertyAccessExpression).getName())) {
    b = (b.getExpression() as import('ts-morph').PropertyAccessExpression).getExpression();
  }
  return Node.isCallExpression(b) && thisMember(b.getExpression()) === method && b.getArguments().length === 0;
}

/** Members the code of a node mentions through `this` (re-export for transforms). */
export { thisMembers };
