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
import { importedText } from '../../src/lang/typescript/imported-file.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { importOf } from '../../src/lang/typescript/old-base.js';
import { addHealthCodeOverride, baseCallsOk, type CodeConflict } from './health-code-conflict.js';
import { LIVENESS_PATHS, READINESS_PATHS, addHealthStatus, onlyAgentState } from './remove-health-server.js';

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
  const server = helperServer(text, name);
  return !!server && server.constructed && answersHealthAlone(server);
}

/** A server created by a helper, read from the helper's code (readServer), its parameters by index. */
interface HelperServer {
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
  /** The 2xx codes it sets as literals (`res.writeHead(200)`, `res.statusCode = 200`); none: Node's 200. */
  successCodes: number[];
  /** A class the agent constructs (`new HealthEndpoint(port, report)`), not a function it calls. */
  constructed: boolean;
}

/**
 * The exported helper `name` of a module's text (`default` for its default export), parsed once: the
 * server it creates, listening on one of its parameters and answering what another returns, or null.
 * removeHelperCall takes one that answers /health alone, mirrorHelperHealth one that answers probe
 * paths only.
 */
function helperServer(text: string, name: string): HelperServer | null {
  const sf = ts.createSourceFile('h.ts', text, ts.ScriptTarget.ES2022, true);
  const helper = exportedHelper(sf, name);
  if (!helper) return null;
  if (ts.isClassDeclaration(helper)) return classServer(sf, helper);
  if (!helper.body) return null;
  const params = helper.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : ''));
  const server = readServer(sf, helper.body, (e) => (ts.isIdentifier(e) ? params.indexOf(e.text) : -1));
  return server && { ...server, constructed: false };
}

/** It answers /health and nothing else: the agent's health server, which the base's /health replaces. */
function answersHealthAlone(server: HelperServer): boolean {
  return server.routes.length === 1 && server.routes[0] === '/health';
}

/**
 * It answers /health and otherwise probe paths only (liveness or readiness, as remove-health-server
 * names them), so it is a health endpoint and not a business server (mirrorHelperHealth). Readiness
 * paths are admitted here, unlike in healthBranches: that helper's call stays (it keeps answering
 * every path on its own port), and what is mirrored is what it answers on /health itself.
 */
function servesProbesOnly(server: HelperServer): boolean {
  return server.routes.includes('/health') && server.routes.every((r) => LIVENESS_PATHS.has(r) || READINESS_PATHS.has(r));
}

const PARAMETER_PROPERTY = new Set([ts.SyntaxKind.PublicKeyword, ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.ReadonlyKeyword]);

/**
 * `class HealthEndpoint { constructor(private readonly port: number, private readonly report: ...)
 * start() { createServer(...).listen(this.port) } }`: the constructor's parameters stored on the
 * instance are what the server listens on and answers with.
 */
function classServer(sf: ts.SourceFile, cls: ts.ClassDeclaration): HelperServer | null {
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
  const server = readServer(sf, cls, (e) => (ts.isPropertyAccessExpression(e) && e.expression.kind === ts.SyntaxKind.ThisKeyword ? (stored.get(e.name.text) ?? -1) : -1));
  return server && { ...server, constructed: true };
}

/**
 * The one reader of a helper's server: created under `root` (`http.createServer(...)`), listening on
 * param(port) and answering JSON.stringify(param(status)()) (or a const holding that call's answer,
 * `const body = status();`); the paths it compares the URL with; what its code follows, read from
 * the conditional that picks it (`body.status === 'ok' ? 200 : 503`). Null unless it creates a server
 * listening on a parameter and answering another's result.
 */
function readServer(sf: ts.SourceFile, root: ts.Node, param: (e: ts.Expression) => number): Omit<HelperServer, 'constructed'> | null {
  let creates = false;
  let port = -1;
  let status = -1;
  let okWord: string | null = null;
  let failCode = 0;
  let unavailable = false;
  const successCodes = new Set<number>();
  const routes = new Set<string>();
  // `const body = status();`: locals holding the status parameter's answer; or `let body;` assigned
  // only `body = status();` (in a try whose catch answers a failing status function: `throws`).
  const answers = new Map<string, number>();
  const assigned = new Map<string, ts.Expression[]>();
  const lets = new Set<string>();
  const statusCalls: ts.CallExpression[] = [];
  // The names asked for before anything made them answers: only those can read differently in a second walk.
  const missed = new Set<string>();
  const isAnswer = (name: string): boolean => {
    if (answers.has(name)) return true;
    missed.add(name);
    return false;
  };
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
        else if (ts.isIdentifier(arg) && isAnswer(arg.text)) status = answers.get(arg.text)!;
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
        ts.isIdentifier(cond.left.expression) && isAnswer(cond.left.expression.text)
      ) [okWord, failCode] = [cond.right.text, no];
    }
    if (ts.isNumericLiteral(n) && Number(n.text) >= 500 && Number(n.text) < 600) unavailable = true;
    const set = ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'writeHead' ? n.arguments[0]
      : ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(n.left) && n.left.name.text === 'statusCode' ? n.right : undefined;
    if (set && ts.isNumericLiteral(set) && Number(set.text) >= 200 && Number(set.text) < 300) successCodes.add(Number(set.text));
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
  visit(root);
  assignedAnswers();
  if ((status < 0 || okWord === null) && [...missed].some((name) => answers.has(name))) {
    // Read again, now that the assigned locals (or a const declared below its use) are known
    // (`JSON.stringify(body)`, `body.status === 'ok' ? 200 : 503`).
    visit(root);
  }
  if (!creates || port < 0 || status < 0) return null;
  return { port, status, routes: [...routes], okWord, failCode, unavailable, throws: throwAnswer(statusCalls.filter((c) => param(c.expression) === status)), successCodes: [...successCodes] };
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
    const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec), { code: true });
    const server = text === null ? null : helperServer(text, named);
    if (!server || server.constructed !== Node.isNewExpression(call)) continue;
    if (answersHealthAlone(server) && removeHelperCall(ctx, call, server, spec)) return;
    if (!server.constructed && servesProbesOnly(server) && mirrorHelperHealth(ctx, call, server, spec)) return;
    // Neither removed nor mirrored: its codes and the base's differ on a status, said as a review item.
    if (answersHealthAlone(server) && removeHelperCall(ctx, call, server, spec, true)) return;
  }
}

/**
 * The agent hands a helper function of another module (servesProbesOnly) the status its /health answers
 * with, `startHealthServer(this.config.healthPort, () => this.status())`; that server stays (it
 * answers its aliases on its own port too), but the deployment now probes the base's /health on
 * HEALTH_CHECK_PORT, which would say ok whatever status() said. When the helper's code follows
 * the status (2xx exactly for its ok word) and every status the agent's answer can carry gets the
 * same code from the base's rule (2xx for ok/healthy), that answer becomes healthStatus() too.
 * Otherwise the call is kept for review, saying what the base's /health no longer answers.
 * True when it handled the call.
 */
function mirrorHelperHealth(ctx: TsRewriteContext, call: CallExpression | NewExpression, served: HelperServer, spec: string): boolean {
  const statusArg = call.getArguments()[served.status];
  const portArg = call.getArguments()[served.port];
  if (!statusArg || !portArg) return false;
  const name = `${call.getExpression().getText()}()`;
  const routes = served.routes.join(' and ');
  const answer = helperAnswer(ctx, statusArg);
  const words = answer ? statusWords(answer.returns) : null;
  const same = !!served.okWord && codesAgree(served, words);
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

/**
 * The helper's HTTP code and the base's (2xx for ok/healthy, else 503) agree on every status the
 * payload can carry: `words` (string literals, null when not known) against the helper's rule (2xx
 * exactly for its ok word; with no such conditional, 2xx always unless it answers a 5xx somewhere).
 */
function codesAgree(served: HelperServer, words: string[] | null): boolean {
  if (!words || (!served.okWord && served.unavailable)) return false;
  return words.every((w) => (served.okWord ? w === served.okWord : true) === baseCallsOk(w));
}

/**
 * The helper answers /health alone with the agent's payload: the call goes and the payload becomes
 * healthStatus(), when the base answers every status of it with the helper's code (codesAgree); a
 * helper answering 503 for a status the base calls ok, or 200 for one it does not, is left to
 * mirrorHelperHealth (a function) or kept for review (a class). True when it handled the call.
 */
function removeHelperCall(ctx: TsRewriteContext, call: CallExpression | NewExpression, shape: HelperServer, spec: string, refuse = false): boolean {
  const args = call.getArguments();
  const portArg = args[shape.port];
  const statusFn = args[shape.status];
  if (!portArg || !statusFn || !Node.isArrowFunction(statusFn)) return false;
  let payload: Node = statusFn.getBody();
  while (Node.isParenthesizedExpression(payload)) payload = payload.getExpression();
  if (!Node.isObjectLiteralExpression(payload)) return false;
  const props = payload.getProperties();
  if (!props.every((p) => Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p))) return false;
  if (!props.some((p) => Node.isPropertyAssignment(p) && p.getName() === 'status')) return false;
  const words = statusWords([payload]);
  const agree = codesAgree(shape, words);
  let conflicts: CodeConflict[] = [];
  // It answered one 2xx code whatever the status: the base's code hook, overridden to answer that code, keeps it.
  let override: number | null = null;
  if (!agree) {
    const hook = ctx.base.healthCodeHook;
    const code = shape.successCodes.length === 0 ? 200 : shape.successCodes.length === 1 ? shape.successCodes[0]! : null;
    if (!shape.okWord && !shape.unavailable && code !== null && hook && !ctx.members.has(hook.name) && !ctx.newMembers.some((m) => m.name === hook.name)) {
      // Statuses it returns as literals ('degraded' included): those the base answers otherwise. One read from
      // the agent's state (`status: this.health`) cannot be listed, but the override answers the same code for any.
      conflicts = words ? words.filter((w) => !baseCallsOk(w)).map((status) => ({ status, code })) : [];
      if (!words || conflicts.length) override = code;
    }
  }
  if (!agree && override === null) {
    // A function's server may still be mirrored, it staying (mirrorHelperHealth); a class's is not.
    if (!shape.constructed && !refuse) return false;
    const name = `${shape.constructed ? 'new ' : ''}${call.getExpression().getText()}()`;
    ctx.kept.push({
      symbol: name,
      line: call.getStartLineNumber(),
      reason: `${name} (${spec}) serves /health on ${portArg.getText()} with ${payload.getText()}, ${shape.okWord ? `${shape.failCode} unless its status is '${shape.okWord}'` : 'its own HTTP codes'}; the base's /health answers 2xx for ok/healthy and 503 otherwise, and nothing proves every status of that payload gets the same code from both: make healthStatus() (and healthHttpCode()) answer it by hand`,
    });
    return true;
  }
  // Only the agent's own state (no locals of the method that started it).
  const locals = payload.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => {
    const d = id.getSymbol()?.getDeclarations()[0];
    return !!d && d.getFirstAncestor((a) => a === call.getFirstAncestor((f) => Node.isMethodDeclaration(f) || Node.isConstructorDeclaration(f))) !== undefined && !payload.containsRange(d.getPos(), d.getEnd());
  });
  if (locals) return false;
  const stmt = call.getFirstAncestor((a) => Node.isExpressionStatement(a));
  if (!stmt) return false;
  const expr = stmt.getExpression();
  const holder = Node.isBinaryExpression(expr) && expr.getOperatorToken().getKind() === SyntaxKind.EqualsToken && expr.getRight() === call ? thisMember(expr.getLeft()) : null;
  if (Node.isBinaryExpression(expr) ? !holder : expr !== call) return false;
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
  const status = props.find((p) => Node.isPropertyAssignment(p) && p.getName() === 'status');
  if (override !== null) addHealthCodeOverride(ctx, override, conflicts, status && Node.isPropertyAssignment(status) ? status.getInitializer()?.getText() : undefined);
  return true;
}
