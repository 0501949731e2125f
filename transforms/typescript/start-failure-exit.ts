// A start method renamed to the base's onStart() whose failure ended the process: the entry point
// awaited it in `async function main()`, and `main().catch((err) => { log(...); process.exit(1); })`
// logged and exited. The base only logs a failing onStart() and keeps running (health answering,
// no business server behind it), so the supervisor that restarted the service on exit 1 never
// would. onStart()'s body goes into a `try` whose `catch` does what the handler did, after the
// base's stop() (health closed, registration withdrawn).
import { Node, SyntaxKind } from 'ts-morph';
import type { CallExpression } from 'ts-morph';
import type { EntryInfo, TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import { calleeText, descendantsOfKind, mainGuards, statementCall } from '../../src/lang/typescript/syntax.js';
import { ensureAsync } from './await-close-callback.js';
import { isDeadMethodLocal } from '../../src/lang/typescript/rewrite.js';

/** What the entry point's fatal `.catch(h)` did, as code for the agent: a catch clause or a rejection handler. */
export interface StartFailureExit {
  /** `catch (err: any) { ...h's lines; await this.stop(); process.exit(N); }` (from `catch` to its brace). */
  clause(indent: string): string;
  /** `async (err) => { ...the same lines }`, for `.catch(...)` on a promise the method no longer awaits. */
  handler(indent: string): string;
  line: number;
  code: string;
  /** How the rejection ended the process, for the warnings. */
  via: string;
  /** No handler in the code (Node's own exit on a top-level await's rejection). */
  implicit: boolean;
  /** The start call returns no promise: only what it throws synchronously ended the process. */
  sync: boolean;
}

/** The entry point's handler of a failing start method that ends the process (see fatalStartHandler()). */
export function startFailureExit(ctx: TsRewriteContext, e: EntryInfo): StartFailureExit | null {
  const handler = fatalStartHandler(ctx, e);
  return handler ? failureExitOf(ctx, handler) : null;
}

/** A fatal handler as code for the agent (see StartFailureExit). */
export function failureExitOf(ctx: TsRewriteContext, handler: FatalHandler): StartFailureExit {
  const u = ctx.unit;
  const lines = (indent: string) => [...handler.lines, 'await this.stop();', handler.exit].map((l) => `${indent}${u}${l}\n`).join('');
  // In TypeScript a catch variable is `unknown`; the handler's was `any` (a rejection's reason), or
  // typed by hand (`(err: Error) => ... err.message`), which a catch clause cannot say: `any` keeps
  // the handler's lines compiling as they did. (`unknown` stays what it was.)
  const binding = handler.param ? ` (${handler.param}${!ctx.js && handler.paramType !== 'unknown' ? ': any' : ''})` : '';
  return {
    clause: (indent) => `catch${binding} {\n${lines(indent)}${indent}}`,
    handler: (indent) => `async (${handler.param ? `${handler.param}${handler.paramType ? `: ${handler.paramType}` : ''}` : ''}) => {\n${lines(indent)}${indent}}`,
    line: handler.line,
    code: handler.code,
    via: handler.via,
    implicit: handler.via !== ENTRY_CATCH && handler.via !== ENTRY_THEN,
    sync: handler.via === UNCAUGHT,
  };
}

/** Code that can throw or reject: an await, a throw, a construction, a call other than a log line or the clock. */
export function mayFail(node: Node): boolean {
  return [node, ...node.getDescendants()].some(
    (n) => Node.isAwaitExpression(n) || Node.isThrowStatement(n) || Node.isNewExpression(n) || (Node.isCallExpression(n) && !/^(console\.\w+|Date\.now)$/.test(n.getExpression().getText())),
  );
}

/**
 * Code that throws synchronously when its input is wrong: a `throw`, a `*Sync()` call (a file read,
 * a child process), JSON.parse, `new URL()`, or a call of a method of the agent or a function of the
 * file that does (callbacks and nested functions aside: they run later, or not at all).
 */
export function throwsSync(ctx: TsRewriteContext, node: Node, seen = new Set<Node>()): boolean {
  if (seen.has(node)) return false;
  seen.add(node);
  if (Node.isThrowStatement(node)) return true;
  // A statement that is itself a `try` with a `catch`: only its catch and finally may throw on.
  if (Node.isTryStatement(node) && node.getCatchClause()) {
    const fin = node.getFinallyBlock();
    return throwsSync(ctx, node.getCatchClause()!.getBlock(), seen) || (!!fin && throwsSync(ctx, fin, seen));
  }
  let found = false;
  const callee = (c: CallExpression): Node | undefined => {
    const e = c.getExpression();
    const member = Node.isPropertyAccessExpression(e) && e.getExpression().getKind() === SyntaxKind.ThisKeyword ? e.getName() : null;
    const decl = member
      ? ctx.members.get(member)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody())
      : Node.isIdentifier(e)
        ? ctx.sf.getFunction(e.getText())
        : undefined;
    return decl && (Node.isMethodDeclaration(decl) || Node.isFunctionDeclaration(decl)) ? decl.getBody() : undefined;
  };
  node.forEachDescendant((n, walk) => {
    if (found) return walk.stop();
    if (Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isClassDeclaration(n)) return walk.skip();
    // A `try` with a `catch`: what its block throws is caught there; its catch and finally may throw on.
    const caught = Node.isTryStatement(n) ? n.getCatchClause() : undefined;
    if (Node.isTryStatement(n) && caught) {
      const fin = n.getFinallyBlock();
      found = throwsSync(ctx, caught.getBlock(), seen) || (!!fin && throwsSync(ctx, fin, seen));
      return walk.skip();
    }
    if (Node.isThrowStatement(n) || (Node.isNewExpression(n) && n.getExpression().getText() === 'URL')) found = true;
    else if (Node.isCallExpression(n)) {
      const text = calleeText(n);
      const body = callee(n);
      if (/(^|\.)\w+Sync$/.test(text) || text === 'JSON.parse' || (body && throwsSync(ctx, body, seen))) found = true;
    }
  });
  return found;
}

/**
 * True when the failure exit was kept in onStart() (`m` is the start method renamed to onStart).
 * Without a handler in the code (Node's exit on a top-level await), only a body that can fail; for
 * a synchronous start, one that can throw (a listen() or a setInterval() does not: their failures
 * come later, as events the base does not catch either).
 */
export function keepStartFailureExit(ctx: TsRewriteContext, exit: StartFailureExit, m: string): boolean {
  const decl = ctx.members.get(m)?.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
  const body = decl && Node.isMethodDeclaration(decl) ? decl.getBody() : undefined;
  const statements = (body && Node.isBlock(body) ? body.getStatements() : []).filter((st) => !goes(ctx, st));
  if (exit.implicit && !statements.some((st) => (exit.sync ? throwsSync(ctx, st) : mayFail(st)))) return false;
  if (!wrapBodyInTry(ctx, m, exit.clause)) return false;
  ctx.warnings.push(
    `${m}() failing ended the process through ${exit.via} (line ${exit.line}: exit ${exit.code}); the base only logs a failing onStart(), so onStart() now does what that handler did in a catch, after the base's stop()`,
  );
  return true;
}

/**
 * The body of method `name` in a `try` whose `catch` is `clause(indent)` (the text from `catch` to
 * its closing brace). The method becomes async and a promise it returns is awaited (`return
 * await`), so the `try` sees it settle. Only for one body with its braces on lines of their own.
 * True when wrapped.
 */
export function wrapBodyInTry(ctx: TsRewriteContext, name: string, clause: (indent: string) => string): boolean {
  const nodes = ctx.members.get(name)?.nodes ?? [];
  const impl = nodes[0];
  if (nodes.length !== 1 || !impl || !Node.isMethodDeclaration(impl) || impl.isGenerator()) return false;
  const body = impl.getBody();
  // A body every statement of which goes (a server's listener const dropped once the server went)
  // does nothing that can fail: `try {} catch` around nothing.
  if (!body || !Node.isBlock(body) || body.getStatements().every((st) => goes(ctx, st)) || ctx.edits.removes(body.getStart(), body.getEnd())) return false;
  const t = ctx.text;
  const opened = /^\{[ \t]*\r?\n/.exec(t.slice(body.getStart()));
  const close = body.getEnd() - 1;
  const closeLine = t.lastIndexOf('\n', close - 1) + 1;
  if (!opened || !/^[ \t]*$/.test(t.slice(closeLine, close))) return false;
  const own = (n: Node) => n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === impl;
  const returned = descendantsOfKind(body, SyntaxKind.ReturnStatement).filter((r) => own(r) && r.getExpression() && !Node.isAwaitExpression(r.getExpression()!) && promised(r.getExpression()!));
  ensureAsync(ctx, impl);
  for (const r of returned) ctx.edits.insert(r.getFirstChildByKindOrThrow(SyntaxKind.ReturnKeyword).getEnd(), ' await');
  const indent = indentAt(t, close) + ctx.unit;
  const skip = [...body.getDescendantsOfKind(SyntaxKind.TemplateExpression), ...body.getDescendantsOfKind(SyntaxKind.NoSubstitutionTemplateLiteral)].map((n) => [n.getStart(), n.getEnd()] as [number, number]);
  ctx.edits.wrapLines(body.getStart() + opened[0].length, closeLine, `${indent}try {\n`, `${indent}} ${clause(indent)}\n`, ctx.unit, skip);
  return true;
}

/** A statement of a kept body the rewrite removes: now, or at the end as a dead local. */
function goes(ctx: TsRewriteContext, st: Node): boolean {
  return ctx.edits.removes(st.getStart(), st.getEnd()) || isDeadMethodLocal(ctx, st);
}

/** An expression that may be a promise (any, unknown, or a type with `then`). */
export function promised(e: Node): boolean {
  const type = e.getType();
  return (type.isUnion() ? type.getUnionTypes() : [type]).some((x) => x.isAny() || x.isUnknown() || !!x.getProperty('then'));
}

const ENTRY_CATCH = "the entry point's .catch()";
const ENTRY_THEN = "the failure handler of the entry point's .then()";
const UNCAUGHT = "an uncaught exception of the entry point's call (Node prints the error and exits)";

export interface FatalHandler {
  /** The rejection's name in the handler, and its declared type. */
  param: string | null;
  paramType: string | null;
  /** The handler's statements before its exit, one line each, and the exit. */
  lines: string[];
  exit: string;
  code: string;
  line: number;
  via: string;
}

/** `x.catch(h)` around the call: that call. */
export function catchOf(call: Node): CallExpression | null {
  const access = call.getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'catch' || access.getExpression() !== call) return null;
  const outer = access.getParent();
  return outer && Node.isCallExpression(outer) ? outer : null;
}

/** A statement of the module's top level or of its main guard's block (`if (require.main === module) { ... }`). */
function moduleLevel(ctx: TsRewriteContext, st: Node): boolean {
  const parent = st.getParent();
  if (parent === ctx.sf) return true;
  return !!parent && Node.isBlock(parent) && mainGuards(ctx.sf).some((g) => Node.isIfStatement(g) && g.getThenStatement() === parent);
}

/**
 * `process.on(event, ...)` (or `once`, `addListener`) anywhere in the file for 'unhandledRejection'
 * or 'uncaughtException': it decides what a rejection or a throw reaching the top does.
 */
export function handlesProcessEvent(ctx: TsRewriteContext, event: 'unhandledRejection' | 'uncaughtException'): boolean {
  return descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).some(
    (c) => /^process\.(on|once|addListener|prependListener)$/.test(calleeText(c)) && new RegExp(`^['"\`]${event}['"\`]$`).test(c.getArguments()[0]?.getText() ?? ''),
  );
}

/**
 * `await agent.start();` a statement of `async function main()`, or `agent.start();` one of any
 * `function main()`, called exactly once: that call of main() (a throw of a synchronous start
 * leaves a synchronous main() as it would the module's top level).
 */
function mainCall(ctx: TsRewriteContext, call: CallExpression): CallExpression | null {
  const awaited = Node.isAwaitExpression(call.getParent());
  const stmt = awaited ? call.getParent()!.getParent() : call.getParent();
  if (!stmt || !Node.isExpressionStatement(stmt)) return null;
  const fn = stmt.getParent()?.getParent();
  if (!fn || !Node.isFunctionDeclaration(fn) || (awaited && !fn.isAsync()) || !fn.getName()) return null;
  const name = fn.getName()!;
  // (`require.main` of a CommonJS main guard is a property's name, no use of main().)
  const uses = ctx.sf.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id.getText() === name && id !== fn.getNameNode() && !isPropertyName(id));
  if (uses.length !== 1) return null;
  const called = uses[0]!.getParent();
  return called && Node.isCallExpression(called) && called.getExpression() === uses[0] ? called : null;
}

/** `main` of `require.main` / `{ main: ... }`: a property's name, not the identifier it spells. */
function isPropertyName(id: Node): boolean {
  const p = id.getParent();
  return !!p && ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || (Node.isPropertyAssignment(p) && p.getNameNode() === id));
}

/**
 * Where a rejection of the start call ended the process: the start call itself, or `async function
 * main() { ...; await agent.start(); }` called once (the call a statement of main()'s own body, not
 * inside a try of its own), reaching, at the module's top level or in its main guard:
 *  - `X.catch(h)`, where `h` only logs (reading its error and module-level names) and ends with
 *    `process.exit(N)`, N > 0;
 *  - `await X;` in an ES module (top-level await, not inside a try): Node prints the error and
 *    exits 1;
 *  - `X;` or `void X;`, nothing catching: an unhandled rejection, which Node prints and exits 1 on;
 *    for a start call returning no promise, what it throws is an uncaught exception, the same.
 */
function fatalStartHandler(ctx: TsRewriteContext, e: EntryInfo): FatalHandler | null {
  const call = e.methodNameNode?.getParent()?.getParent();
  if (!call || !Node.isCallExpression(call)) return null;
  const stmt = Node.isAwaitExpression(call.getParent()) ? call.getParent()!.getParent()! : call.getParent()!;
  const reached = Node.isExpressionStatement(stmt) && !moduleLevel(ctx, stmt) ? mainCall(ctx, call) : call;
  if (!reached) return null;
  const awaited = reached.getParent();
  const nodeExits = (via: string, at: Node): FatalHandler => ({ param: 'err', paramType: null, lines: ['console.error(err);'], exit: 'process.exit(1);', code: '1', line: at.getStartLineNumber(), via });
  if (awaited && Node.isAwaitExpression(awaited) && Node.isExpressionStatement(awaited.getParent()) && moduleLevel(ctx, awaited.getParent()!)) {
    return nodeExits("the module's top-level await (Node prints the error and exits)", awaited);
  }
  // `agent.start();` / `void main();` at the module's top level, nothing catching: a rejection is
  // unhandled, and Node prints it and exits 1 (unless the file handles unhandled rejections itself).
  const bare = awaited && Node.isVoidExpression(awaited) ? awaited.getParent() : awaited;
  if (bare && Node.isExpressionStatement(bare) && moduleLevel(ctx, bare) && promised(reached) && !handlesProcessEvent(ctx, 'unhandledRejection')) {
    return nodeExits("an unhandled rejection of the entry point's call (Node prints the error and exits)", bare);
  }
  // `agent.start();` a synchronous start at the module's top level, nothing catching: what it
  // throws (a required env var unset, a file it reads missing) is an uncaught exception, and Node
  // prints it and exits 1 (unless the file handles uncaught exceptions itself).
  if (bare && Node.isExpressionStatement(bare) && moduleLevel(ctx, bare) && !promised(call) && !promised(reached) && !handlesProcessEvent(ctx, 'uncaughtException')) {
    return nodeExits(UNCAUGHT, bare);
  }
  // `.catch(fail)`, or `.then(ok, fail)`: the same handler of the same rejection.
  const catchCall = catchOf(reached);
  const thenCall = catchCall ? null : thenOf(reached);
  const handled = catchCall ?? thenCall;
  if (!handled) return null;
  const top = handled.getParent()!;
  if (handled.getArguments().length !== (catchCall ? 1 : 2) || !Node.isExpressionStatement(top) || !moduleLevel(ctx, top)) return null;
  // In onStart() only the error and module-level names are in scope (not those of the main guard's block).
  const local = (id: Node, decls: Node[]) =>
    decls.some((d) => d.getSourceFile() === ctx.sf && d.getFirstAncestor((a) => Node.isBlock(a) || Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isClassDeclaration(a))) ||
    (ctx.members.has(id.getText()) && decls.length === 0);
  return fatalHandler(handled, top, local, catchCall ? ENTRY_CATCH : ENTRY_THEN);
}

/** `call.then(ok, fail)`: that then() call. */
function thenOf(call: Node): CallExpression | null {
  const access = call.getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'then' || access.getExpression() !== call) return null;
  const outer = access.getParent();
  return outer && Node.isCallExpression(outer) && outer.getExpression() === access ? outer : null;
}

/**
 * `.catch(h)` whose handler only logs and ends with `process.exit(N)`, N > 0, as lines for the agent;
 * null when it does anything else or names something `outOfScope` says the agent cannot see.
 */
export function fatalHandler(catchCall: CallExpression, top: Node, outOfScope: (id: Node, decls: Node[]) => boolean, via: string): FatalHandler | null {
  // A rejection's handler: catch()'s one argument, then()'s second.
  const args = catchCall.getArguments();
  const h = args[args.length - 1]!;
  if (!Node.isArrowFunction(h) && !Node.isFunctionExpression(h)) return null;
  const params = h.getParameters();
  if (params.length > 1 || (params[0] && !Node.isIdentifier(params[0].getNameNode()))) return null;
  const hb = h.getBody();
  const statements: Node[] = Node.isBlock(hb) ? hb.getStatements() : [hb];
  const calls = statements.map((s) => (Node.isBlock(hb) ? statementCall(s) : Node.isCallExpression(s) ? (s as CallExpression) : null));
  if (calls.some((c) => !c)) return null;
  const last = calls[calls.length - 1]!;
  if (calleeText(last) !== 'process.exit' || last.getArguments().length !== 1 || !/^[1-9]\d*$/.test(last.getArguments()[0]!.getText())) return null;
  if (calls.slice(0, -1).some((c) => /^process\./.test(calleeText(c!)))) return null;
  for (const id of h.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const p = id.getParent();
    if ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || params.some((q) => q.getNameNode() === id)) continue;
    if (params[0] && id.getText() === params[0].getName()) continue;
    if (outOfScope(id, id.getSymbol()?.getDeclarations() ?? [])) return null;
  }
  const text = (n: Node) => n.getText().replace(/\s*\n\s*/g, ' ').replace(/;?$/, ';');
  return {
    param: params[0]?.getName() ?? null,
    paramType: params[0]?.getTypeNode()?.getText() ?? null,
    lines: statements.slice(0, -1).map(text),
    exit: text(statements[statements.length - 1]!),
    code: last.getArguments()[0]!.getText(),
    line: top.getStartLineNumber(),
    via,
  };
}
