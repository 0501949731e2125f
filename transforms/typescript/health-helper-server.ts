// A health server started through a helper of another module of the repository:
// `this.healthServer = startHealthServer(this.healthCheckPort, () => ({ status: 'ok', ... }))`,
// where lib/health.ts creates an http server that answers only GET /health with what the
// status function returns and listens on the port it is given. It is the agent's health
// server all the same: left running it binds the port the base now binds (EADDRINUSE at start).
// The helper may be a function declaration, a const arrow or function expression, the module's
// default export, or a class constructed with the port and the status function
// (`this.health = new HealthEndpoint(port, () => ({ ... }))`, started and closed through the member).
// The call (and the member holding the server) goes, and the status function's object literal
// becomes healthStatus(), served on the base's /health.
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type NewExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { importedText } from '../../src/lang/typescript/rewrite.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { importOf } from '../../src/lang/typescript/old-base.js';
import { addHealthStatus, onlyAgentState } from './remove-health-server.js';

interface HelperShape {
  /** Index of the parameter the server listens on. */
  port: number;
  /** Index of the parameter whose call result /health answers. */
  status: number;
  /** A class the agent constructs (`new HealthEndpoint(port, report)`), not a function it calls. */
  constructed: boolean;
}

type FunctionLike = ts.FunctionDeclaration | ts.ArrowFunction | ts.FunctionExpression;

/**
 * The exported helper `name` of a module (`default` for its default export): a function
 * declaration, a const holding an arrow or function expression, or a class.
 */
export function exportedHelper(sf: ts.SourceFile, name: string): FunctionLike | ts.ClassDeclaration | null {
  const isDefault = (s: ts.Statement) => ts.canHaveModifiers(s) && !!ts.getModifiers(s)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  const byName = (id: string): FunctionLike | ts.ClassDeclaration | null => {
    for (const s of sf.statements) {
      if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && s.name?.text === id) return ts.isFunctionDeclaration(s) && !s.body ? null : s;
      if (ts.isVariableStatement(s) && s.declarationList.flags & ts.NodeFlags.Const) {
        for (const d of s.declarationList.declarations) {
          if (ts.isIdentifier(d.name) && d.name.text === id && d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer))) return d.initializer;
        }
      }
      // CommonJS: `exports.serveHealth = function (port, check) { ... }` (or `module.exports.serveHealth = ...`).
      const assigned = commonJsAssignment(s);
      if (assigned && ts.isPropertyAccessExpression(assigned.left) && assigned.left.name.text === id && /^(module\.)?exports$/.test(assigned.left.expression.getText(sf)) && (ts.isArrowFunction(assigned.right) || ts.isFunctionExpression(assigned.right))) return assigned.right;
    }
    return null;
  };
  if (name !== 'default') return byName(name);
  for (const s of sf.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && isDefault(s)) return ts.isFunctionDeclaration(s) && !s.body ? null : s;
    // `export default serveHealth;`
    if (ts.isExportAssignment(s) && !s.isExportEquals && ts.isIdentifier(s.expression)) return byName(s.expression.text);
    // CommonJS: `module.exports = serveHealth;` or `module.exports = function serveHealth(port, check) { ... }`.
    const assigned = commonJsAssignment(s);
    if (assigned && assigned.left.getText(sf) === 'module.exports') {
      if (ts.isIdentifier(assigned.right)) return byName(assigned.right.text);
      if (ts.isArrowFunction(assigned.right) || ts.isFunctionExpression(assigned.right)) return assigned.right;
    }
  }
  return null;
}

/** `<left> = <right>;`, a statement of its own. */
function commonJsAssignment(s: ts.Statement): { left: ts.Expression; right: ts.Expression } | null {
  if (!ts.isExpressionStatement(s) || !ts.isBinaryExpression(s.expression) || s.expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken) return null;
  return { left: s.expression.left, right: s.expression.right };
}

/**
 * Is class `name` of `text` a health-only server helper (`new HealthEndpoint(port, () => status)`)?
 * Such a class is a part of the agents that construct it, not an agent: the scan skips it.
 */
export function isHealthHelperClass(text: string, name: string): boolean {
  return helperShape(text, name)?.constructed === true;
}

/** What exported helper `name` of `text` is, when it is a health-only server helper. */
function helperShape(text: string, name: string): HelperShape | null {
  const sf = ts.createSourceFile('h.ts', text, ts.ScriptTarget.ES2022, true);
  const helper = exportedHelper(sf, name);
  if (!helper) return null;
  if (ts.isClassDeclaration(helper)) return classShape(sf, helper);
  if (!helper.body) return null;
  const params = helper.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  const shape = serverShape(sf, helper.body, (e) => (ts.isIdentifier(e) ? params.indexOf(e.text) : -1));
  return shape && { ...shape, constructed: false };
}

const PARAMETER_PROPERTY = new Set([ts.SyntaxKind.PublicKeyword, ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.ReadonlyKeyword]);

/**
 * `class HealthEndpoint { constructor(private readonly port: number, private readonly report: ...)
 * start() { createServer(...).listen(this.port) } }`: the constructor's parameters stored on the
 * instance are what the server listens on and answers with.
 */
function classShape(sf: ts.SourceFile, cls: ts.ClassDeclaration): HelperShape | null {
  const ctor = cls.members.find((m): m is ts.ConstructorDeclaration => ts.isConstructorDeclaration(m));
  if (!ctor) return null;
  const params = ctor.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  // this.x → the parameter stored in it (a parameter property, or `this.x = param` in the constructor).
  const stored = new Map<string, number>();
  ctor.parameters.forEach((p, i) => {
    if (ts.isIdentifier(p.name) && ts.getModifiers(p)?.some((m) => PARAMETER_PROPERTY.has(m.kind))) stored.set(p.name.text, i);
  });
  for (const st of ctor.body?.statements ?? []) {
    if (!ts.isExpressionStatement(st) || !ts.isBinaryExpression(st.expression) || st.expression.operatorToken.kind !== ts.SyntaxKind.EqualsToken) continue;
    const { left, right } = st.expression;
    if (ts.isPropertyAccessExpression(left) && left.expression.kind === ts.SyntaxKind.ThisKeyword && ts.isIdentifier(right) && params.includes(right.text)) stored.set(left.name.text, params.indexOf(right.text));
  }
  const shape = serverShape(sf, cls, (e) => (ts.isPropertyAccessExpression(e) && e.expression.kind === ts.SyntaxKind.ThisKeyword ? (stored.get(e.name.text) ?? -1) : -1));
  return shape && { ...shape, constructed: true };
}

/** A server created under `root` that listens on param(port) and answers only /health with JSON.stringify(param(status)()). */
function serverShape(sf: ts.SourceFile, root: ts.Node, param: (e: ts.Expression) => number): { port: number; status: number } | null {
  let creates = false;
  let port = -1;
  let status = -1;
  const routes = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if ((ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '') === 'createServer') creates = true;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'listen' && n.arguments[0]) port = param(n.arguments[0]);
      // `JSON.stringify(statusFn())`: the answer is what the status parameter returns.
      if (callee.getText(sf) === 'JSON.stringify' && n.arguments[0] && ts.isCallExpression(n.arguments[0])) status = param(n.arguments[0].expression);
    }
    if (ts.isStringLiteral(n) && n.text.startsWith('/')) routes.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(root);
  if (!creates || port < 0 || status < 0 || routes.size !== 1 || !routes.has('/health')) return null;
  return { port, status };
}

export function removeHealthHelperServers(ctx: TsRewriteContext): void {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return;
  const calls = [...ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression), ...ctx.cls.getDescendantsOfKind(SyntaxKind.NewExpression)];
  for (const call of calls) {
    const callee = call.getExpression();
    if (!Node.isIdentifier(callee)) continue;
    const local = callee.getText();
    // Imported (`import { serveHealth } from '../lib/health'`) or required (`const { serveHealth } =
    // require('../lib/health-server.cjs')`, `const serveHealth = require(...)`) from a module of the repository.
    const origin = importOf(ctx.sf, local);
    const spec = origin?.specifier;
    if (!spec || !spec.startsWith('.')) continue;
    const named = origin!.imported;
    const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec));
    const shape = text === null ? null : helperShape(text, named);
    if (shape && shape.constructed === Node.isNewExpression(call)) {
      removeHelperCall(ctx, call, shape, spec);
      return;
    }
    const served = text === null || Node.isNewExpression(call) ? null : servedHealth(text, named);
    if (served && mirrorHelperHealth(ctx, call, served, spec)) return;
  }
}

/** A helper function that creates a server answering /health (and maybe aliases) from a parameter it calls. */
interface ServedHealth {
  /** Index of the parameter the server listens on. */
  port: number;
  /** Index of the parameter whose call result /health answers. */
  status: number;
  /** The paths it answers (`/health`, `/healthz`). */
  routes: string[];
  /** The status word its 2xx follows (`body.status === 'ok' ? 200 : 503`), or null when its code does not follow the status. */
  okWord: string | null;
  /** The code it answers any other status with (503). */
  failCode: number;
  /** A 5xx code it answers with somewhere. */
  unavailable: boolean;
  /** What it answers when the status function throws (throwAnswer()). */
  throws: number | null;
}

const HEALTH_PATHS = new Set(['/health', '/healthz', '/livez', '/readyz', '/-/healthy', '/-/ready']);

/**
 * `startHealthServer(port, status)` of lib/health.ts: `http.createServer((req, res) => { if (req.url
 * !== '/health' && req.url !== '/healthz') ...404; const body = status(); res.writeHead(body.status
 * === 'ok' ? 200 : 503); res.end(JSON.stringify(body)); }).listen(port)`. It answers health paths
 * only, from what the status parameter returns; what its code follows is read from the
 * conditional that picks it. Null for anything else (a class, a server with business routes).
 */
function servedHealth(text: string, name: string): ServedHealth | null {
  const sf = ts.createSourceFile('h.ts', text, ts.ScriptTarget.ES2022, true);
  const helper = exportedHelper(sf, name);
  if (!helper || ts.isClassDeclaration(helper) || !helper.body) return null;
  const params = helper.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  const param = (e: ts.Expression) => (ts.isIdentifier(e) ? params.indexOf(e.text) : -1);
  let creates = false;
  let port = -1;
  let status = -1;
  let okWord: string | null = null;
  let failCode = 0;
  let unavailable = false;
  const routes = new Set<string>();
  // `const body = status();`: locals holding the status parameter's answer; or `let body;` assigned
  // only `body = status();` (in a try whose catch answers a failing status function: `throws`).
  const answers = new Map<string, number>();
  const assigned = new Map<string, ts.Expression[]>();
  const lets = new Set<string>();
  const statusCalls: ts.CallExpression[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer) && param(n.initializer.expression) >= 0) {
      const list = n.parent;
      if (ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const) answers.set(n.name.text, param(n.initializer.expression));
    }
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && !n.initializer && ts.isVariableDeclarationList(n.parent) && n.parent.flags & ts.NodeFlags.Let) lets.add(n.name.text);
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left)) assigned.set(n.left.text, [...(assigned.get(n.left.text) ?? []), n.right]);
    if (ts.isCallExpression(n) && param(n.expression) >= 0) statusCalls.push(n);
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if ((ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '') === 'createServer') creates = true;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'listen' && n.arguments[0]) port = param(n.arguments[0]);
      const arg = n.arguments[0];
      if (callee.getText(sf) === 'JSON.stringify' && arg) {
        if (ts.isCallExpression(arg) && param(arg.expression) >= 0) status = param(arg.expression);
        else if (ts.isIdentifier(arg) && answers.has(arg.text)) status = answers.get(arg.text)!;
      }
    }
    // `body.status === 'ok' ? 200 : 503`
    if (ts.isConditionalExpression(n) && ts.isNumericLiteral(n.whenTrue) && ts.isNumericLiteral(n.whenFalse)) {
      const [yes, no] = [Number(n.whenTrue.text), Number(n.whenFalse.text)];
      let cond: ts.Expression = n.condition;
      while (ts.isParenthesizedExpression(cond)) cond = cond.expression;
      if (
        yes >= 200 && yes < 300 && no >= 400 &&
        ts.isBinaryExpression(cond) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken].includes(cond.operatorToken.kind) &&
        ts.isStringLiteral(cond.right) && ts.isPropertyAccessExpression(cond.left) && cond.left.name.text === 'status' &&
        ts.isIdentifier(cond.left.expression) && answers.has(cond.left.expression.text)
      ) [okWord, failCode] = [cond.right.text, no];
    }
    if (ts.isNumericLiteral(n) && Number(n.text) >= 500 && Number(n.text) < 600) unavailable = true;
    // (`(req.url || '/')`, `req.url ?? '/'`: the default of a missing URL, not a path it answers.)
    const up = n.parent;
    const urlDefault = !!up && ts.isBinaryExpression(up) && up.right === n && [ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken].includes(up.operatorToken.kind);
    if (ts.isStringLiteral(n) && n.text.startsWith('/') && !urlDefault) routes.add(n.text);
    ts.forEachChild(n, visit);
  };
  // The `let` locals every assignment of which is a call of one parameter (`body = check()`) hold its answer.
  const assignedAnswers = () => {
    for (const [name, values] of assigned) {
      if (!lets.has(name) || answers.has(name)) continue;
      const ps = values.map((v) => (ts.isCallExpression(v) && v.arguments.length === 0 ? param(v.expression) : -1));
      if (ps.every((p) => p >= 0 && p === ps[0])) answers.set(name, ps[0]!);
    }
  };
  visit(helper.body);
  assignedAnswers();
  if (answers.size > 0 && (status < 0 || okWord === null)) {
    // Read again, now that the assigned locals are known (`JSON.stringify(body)`, `body.status === 'ok' ? 200 : 503`).
    visit(helper.body);
  }
  if (!creates || port < 0 || status < 0 || !routes.has('/health') || [...routes].some((r) => !HEALTH_PATHS.has(r))) return null;
  return { port, status, routes: [...routes], okWord, failCode, unavailable, throws: throwAnswer(statusCalls) };
}

/**
 * What the helper answers when the status function throws: the code its `catch` writes around the
 * call (`try { body = check(); } catch (err) { res.writeHead(500); ... }`), null when nothing catches
 * it in the helper (the throw leaves the request listener: Node's uncaught exception ends the process),
 * 0 when a catch answers with no literal code of its own.
 */
function throwAnswer(calls: ts.CallExpression[]): number | null {
  for (const call of calls) {
    for (let n: ts.Node = call; n.parent; n = n.parent) {
      if (ts.isFunctionLike(n)) break;
      const up = n.parent;
      if (ts.isTryStatement(up) && up.tryBlock === n && up.catchClause) {
        let code = 0;
        const visit = (m: ts.Node): void => {
          if (code) return;
          if (ts.isCallExpression(m) && ts.isPropertyAccessExpression(m.expression) && /^(writeHead|status|sendStatus)$/.test(m.expression.name.text) && m.arguments[0] && ts.isNumericLiteral(m.arguments[0])) code = Number(m.arguments[0].text);
          if (ts.isBinaryExpression(m) && m.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(m.left) && m.left.name.text === 'statusCode' && ts.isNumericLiteral(m.right)) code = Number(m.right.text);
          ts.forEachChild(m, visit);
        };
        visit(up.catchClause.block);
        return code;
      }
    }
  }
  return null;
}

/**
 * The agent hands a helper of another module (servedHealth) the status its /health answers
 * with, `startHealthServer(this.config.healthPort, () => this.status())`; that server stays (it
 * answers its aliases on its own port too), but the deployment now probes the base's /health on
 * HEALTH_CHECK_PORT, which would say ok whatever status() said. When the helper's code follows
 * the status (2xx exactly for its ok word) and every status the agent's answer can carry gets the
 * same code from the base's rule (2xx for ok/healthy), that answer becomes healthStatus() too.
 * Otherwise the call is kept for review, saying what the base's /health no longer answers.
 * True when it handled the call.
 */
function mirrorHelperHealth(ctx: TsRewriteContext, call: CallExpression | NewExpression, served: ServedHealth, spec: string): boolean {
  const statusArg = call.getArguments()[served.status];
  const portArg = call.getArguments()[served.port];
  if (!statusArg || !portArg) return false;
  const name = `${call.getExpression().getText()}()`;
  const routes = served.routes.join(' and ');
  const answer = helperAnswer(ctx, statusArg);
  const words = answer ? statusWords(answer.returns) : null;
  const baseOk = (w: string) => ['ok', 'healthy'].includes(w.toLowerCase());
  const same = !!served.okWord && !!words && words.every((w) => (w === served.okWord) === baseOk(w));
  // A status function that throws: the base's /health answers 500 (it catches a throwing healthStatus()).
  // The helper's catch must have said unavailable too (a 4xx/5xx), or nothing caught it (the legacy's
  // process died of the uncaught exception); a catch answering 2xx, or no code of its own, is not that.
  const throwsAlike = served.throws === null || served.throws >= 400;
  if (answer && same && throwsAlike) {
    addHealthStatus(ctx, answer.props, answer.payload);
    const thrown =
      served.throws === null
        ? `; when ${statusArg.getText()} throws, the legacy's request listener threw (Node ends the process on an uncaught exception), where the base's /health answers 500 and the agent lives on`
        : served.throws === 500
          ? `; when ${statusArg.getText()} throws, both answer 500`
          : `; when ${statusArg.getText()} throws, the helper answers ${served.throws} and the base's /health 500`;
    ctx.warnings.push(
      `${name} (${spec}) serves ${routes} on ${portArg.getText()} with ${statusArg.getText()}, ${served.failCode} unless its status is ${served.okWord}: it stays, and healthStatus() now returns the same payload, so the base's /health answers alike (its statuses ${words!.map((w) => `'${w}'`).join(', ')} get the same code from both${thrown})`,
    );
    return true;
  }
  if (!served.unavailable && !served.okWord) return false;
  const why = !answer
    ? `${statusArg.getText()} is not a synchronous method of the agent nor an object of its state that healthStatus() could return`
    : same && !throwsAlike
      ? `when ${statusArg.getText()} throws, the helper answers ${served.throws ? served.throws : 'with no code of its own (200)'}, where the base's /health answers 500`
    : !served.okWord
      ? `its HTTP code does not follow the status as the base's does`
      : !words
        ? `the status ${statusArg.getText()} answers is not one of string literals it returns, so nothing proves the base's rule (2xx for ok/healthy) gives it the helper's code (2xx for '${served.okWord}' only)`
        : `the statuses ${statusArg.getText()} answers (${words.map((w) => `'${w}'`).join(', ')}) do not get the same code from the base's rule (2xx for ok/healthy) as from the helper's (2xx for '${served.okWord}' only)`;
  ctx.kept.push({
    symbol: name,
    line: call.getStartLineNumber(),
    reason: `${name} (${spec}) serves ${routes} on ${portArg.getText()} from ${statusArg.getText()} and answers ${served.failCode || 'an error code'} on its status; it stays, but the base's /health on ${ctx.healthPortEnv}, where the deployment now probes, answers ok whatever that status is, because ${why}: make healthStatus() return it by hand`,
  });
  return true;
}

/** `() => this.status()`, `this.status.bind(this)` (a synchronous method of the agent), or `() => ({ status: ..., ... })`. */
function helperAnswer(ctx: TsRewriteContext, arg: Node): { payload: Node; props: string[]; returns: Node[] } | null {
  let body: Node | undefined;
  if (Node.isArrowFunction(arg) && arg.getParameters().length === 0) body = arg.getBody();
  else if (Node.isCallExpression(arg) && arg.getArguments().map((a) => a.getText()).join() === 'this') {
    // `this.status.bind(this)`
    const bound = arg.getExpression();
    if (!Node.isPropertyAccessExpression(bound) || bound.getName() !== 'bind') return null;
    const m = thisMember(bound.getExpression());
    return m ? methodAnswer(ctx, m, bound.getExpression()) : null;
  }
  while (body && Node.isParenthesizedExpression(body)) body = body.getExpression();
  if (!body) return null;
  if (Node.isObjectLiteralExpression(body)) {
    const props = body.getProperties();
    if (!props.every((p) => Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)) || !props.some((p) => Node.isPropertyAssignment(p) && p.getName() === 'status')) return null;
    if (!onlyAgentState(body)) return null;
    return { payload: body, props: props.map((p) => p.getText()), returns: [body] };
  }
  if (Node.isCallExpression(body) && body.getArguments().length === 0) {
    const m = thisMember(body.getExpression());
    return m ? methodAnswer(ctx, m, body) : null;
  }
  return null;
}

function methodAnswer(ctx: TsRewriteContext, m: string, call: Node): { payload: Node; props: string[]; returns: Node[] } | null {
  if (ctx.base.members.has(m) || ctx.members.get(m)?.kind !== 'method') return null;
  const impl = ctx.members.get(m)!.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
  if (!impl || !Node.isMethodDeclaration(impl) || impl.isAsync() || impl.isGenerator() || impl.getParameters().some((p) => !p.isOptional() && !p.hasInitializer())) return null;
  const own = (r: Node) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === impl;
  const returns = impl.getDescendantsOfKind(SyntaxKind.ReturnStatement).filter(own).map((r) => r.getExpression());
  if (returns.length === 0 || returns.some((r) => !r)) return null;
  const text = Node.isPropertyAccessExpression(call) ? `${call.getText()}()` : call.getText();
  return { payload: call, props: [`...${text}`], returns: returns as Node[] };
}

/** The status words the returned objects carry (`status: this.ok ? 'ok' : 'degraded'`), or null when one is not a string literal. */
function statusWords(returns: Node[]): string[] | null {
  const words = new Set<string>();
  const literal = (e: Node): boolean => {
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) return words.add(e.getLiteralText()), true;
    if (Node.isConditionalExpression(e)) return literal(e.getWhenTrue()) && literal(e.getWhenFalse());
    return false;
  };
  for (let r of returns) {
    while (Node.isParenthesizedExpression(r)) r = r.getExpression();
    if (!Node.isObjectLiteralExpression(r)) return null;
    const st = r.getProperty('status');
    if (!st || !Node.isPropertyAssignment(st) || r.getProperties().some((p) => Node.isSpreadAssignment(p)) || !literal(st.getInitializer()!)) return null;
  }
  return [...words];
}

function removeHelperCall(ctx: TsRewriteContext, call: CallExpression | NewExpression, shape: HelperShape, spec: string): void {
  const args = call.getArguments();
  const portArg = args[shape.port];
  const statusFn = args[shape.status];
  if (!portArg || !statusFn || !Node.isArrowFunction(statusFn)) return;
  let payload: Node = statusFn.getBody();
  while (Node.isParenthesizedExpression(payload)) payload = payload.getExpression();
  if (!Node.isObjectLiteralExpression(payload)) return;
  const props = payload.getProperties();
  if (!props.every((p) => Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p))) return;
  if (!props.some((p) => Node.isPropertyAssignment(p) && p.getName() === 'status')) return;
  // Only the agent's own state (no locals of the method that started it).
  const locals = payload.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = id.getSymbol()?.getDeclarations()[0];
    return !!d && d.getFirstAncestor((a) => a === call.getFirstAncestor((f) => Node.isMethodDeclaration(f) || Node.isConstructorDeclaration(f))) !== undefined && !payload.containsRange(d.getPos(), d.getEnd());
  });
  if (locals) return;
  const stmt = call.getFirstAncestor((a) => Node.isExpressionStatement(a));
  if (!stmt) return;
  const expr = stmt.getExpression();
  const holder = Node.isBinaryExpression(expr) && expr.getOperatorToken().getKind() === SyntaxKind.EqualsToken && expr.getRight() === call ? thisMember(expr.getLeft()) : null;
  if (Node.isBinaryExpression(expr) ? !holder : expr !== call) return;
  const name = `${Node.isNewExpression(call) ? 'new ' : ''}${call.getExpression().getText()}`;
  const reason = `${name}() (${spec}) starts a hand-made health server; the base serves /health`;
  ctx.hints.healthPortExpr = portArg;
  // The call statement goes in any case (it is what binds the port); the member holding the
  // server goes with the rest of its uses (closing it on stop).
  ctx.plan.proposeStatement({ node: stmt, symbol: `${name}()`, finding: 'health', reason });
  if (holder) {
    ctx.hints.healthHolder = holder;
    ctx.plan.proposeMember({ name: holder, finding: 'health', reason });
  }
  addHealthStatus(ctx, props.filter((p) => !(Node.isPropertyAssignment(p) && p.getName() === 'status' && /^['"]ok['"]$/.test(p.getInitializer()?.getText() ?? ''))).map((p) => p.getText()), payload);
  ctx.warnings.push(`${name}() from ${spec} started a health server on ${portArg.getText()} answering /health with ${payload.getText()}: the call goes, the payload is now healthStatus(), served on the base's /health`);
}
