// A service built by a closure factory instead of a class (`function createFanout(opts) { let
// server; ... async function start() {...} async function stop() {...} return { start, stop }; }`,
// or `const makeX = (opts) => ({ start() {...}, stop() {...} })`): its state lives in the closure
// (or the returned object), so nothing can extend the base. Called a helper module, the file
// vanished from scan's agents with its own health server, timer and registration still in it; it
// is named instead, as a prototype-style service is, so a person migrates it. The reason says what
// a person has to carry over: each piece of infrastructure with its line, and the other files that
// build it through the factory (they keep its return shape, the members they use included).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Node, SyntaxKind, VariableDeclarationKind, type SourceFile } from 'ts-morph';
import { intervalCalls, pushKind, serverCreations, signalStatements } from './patterns.js';
import { referenceSearchFiles } from './references.js';

/** Names of a service's start and stop methods (also read by transforms on a family's subclasses). */
export const START = /^(start|run|listen|begin|init|connect)$/;
export const STOP = /^(stop|close|shutdown|destroy|disconnect|dispose)$/;

/** The factory's name, line and reason when the file's only service is a closure factory. */
export function closureFactoryService(sf: SourceFile, root?: string, file?: string, why?: string): { name: string; line: number; reason: string } | null {
  for (const { name, body, line } of moduleFunctions(sf)) {
    const returned = Node.isObjectLiteralExpression(body) ? body : returnedObject(body);
    if (!returned) continue;
    const members = returned.getProperties().map((p) => (Node.isShorthandPropertyAssignment(p) || Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) ? p.getName() : null)).filter((n): n is string => !!n);
    const start = members.find((m) => START.test(m));
    const stop = members.find((m) => STOP.test(m));
    if (!start || !stop) continue;
    const servers = serverCreations(body);
    const timers = intervalCalls(body);
    if (servers.length === 0 && timers.length === 0) continue;
    const at = (n: Node) => `line ${n.getStartLineNumber()}`;
    const pushes = [...innerFunctions(body), ...objectFunctions(returned)].flatMap(({ fnName, fnBody }) => {
      const kind = pushKind(fnBody);
      const what = kind === 'metrics' ? 'a metrics push' : /deregister/.test(fnBody.getText()) && !/['"`/]register\b/.test(fnBody.getText()) ? 'a deregistration' : 'registration';
      return kind ? [`${what} (${fnName}(), line ${fnBody.getStartLineNumber()})`] : [];
    });
    const signals = signalStatements(sf).map((st) => `a signal handler (${at(st)})`);
    const owns = [...servers.map((c) => `a server (${at(c)})`), ...pushes, ...timers.map((t) => `a timer (${at(t.stmt)})`), ...signals];
    const users = root && file ? factoryUsers(root, file, name) : [];
    return {
      name,
      line,
      reason:
        `closure factory ${name} (line ${line}) returns { ${members.join(', ')} } over ${owns.join(', ')} of its own, not a class: ${why ?? `its state is ${Node.isObjectLiteralExpression(body) ? 'the returned object\'s' : 'the closure\'s'}, which a class extending the base cannot reach`}` +
        (users.length > 0 ? `, and ${users.join(', ')} build${users.length === 1 ? 's' : ''} it through ${name}() (the object it returns must keep its members)` : '') +
        `: rewrite it as a class to migrate it`,
    };
  }
  return null;
}

/** `file:line` of each other file of the repository calling the factory (an import of it, then a call). */
function factoryUsers(root: string, file: string, name: string): string[] {
  const call = new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\s*\\(`);
  const declares = new RegExp(`\\bfunction\\s+${name.replace(/\$/g, '\\$')}\\b|\\b(const|let|var)\\s+${name.replace(/\$/g, '\\$')}\\s*=`);
  const out: string[] = [];
  for (const f of referenceSearchFiles(root)) {
    if (path.resolve(f) === path.resolve(file) || !/\.[cm]?[jt]sx?$/.test(f)) continue;
    let text: string;
    try {
      text = readFileSync(path.resolve(root, f), 'utf8');
    } catch {
      continue;
    }
    // A file declaring a factory of that name is another copy of the service, not a user.
    if (!text.includes(name) || declares.test(text)) continue;
    const line = text.split('\n').findIndex((l) => call.test(l));
    if (line >= 0) out.push(`${path.relative(root, path.resolve(root, f)).split(path.sep).join('/')}:${line + 1}`);
  }
  return out;
}

/**
 * The object the factory's body returns: `return { start, stop };`, or a const of the body holding one
 * (`const agent = { start: async () => {...}, stop: () => {...} }; return agent;`).
 */
function returnedObject(body: import('ts-morph').Block): import('ts-morph').ObjectLiteralExpression | undefined {
  for (const r of body.getStatements().filter(Node.isReturnStatement)) {
    const e = r.getExpression();
    if (e && Node.isObjectLiteralExpression(e)) return e;
    if (!e || !Node.isIdentifier(e)) continue;
    for (const st of body.getStatements().filter(Node.isVariableStatement)) {
      if (st.getDeclarationKind() !== VariableDeclarationKind.Const) continue;
      const init = st.getDeclarations().find((d) => d.getName() === e.getText())?.getInitializer();
      if (init && Node.isObjectLiteralExpression(init)) return init;
    }
  }
  return undefined;
}

/** The object's function members (`start: async () => {...}`, `stop() {...}`), for what they register or push. */
function objectFunctions(object: import('ts-morph').ObjectLiteralExpression): Array<{ fnName: string; fnBody: Node }> {
  const out: Array<{ fnName: string; fnBody: Node }> = [];
  for (const p of object.getProperties()) {
    if (Node.isMethodDeclaration(p) && p.getBody()) out.push({ fnName: p.getName(), fnBody: p.getBody()! });
    const init = Node.isPropertyAssignment(p) ? p.getInitializer() : undefined;
    if (Node.isPropertyAssignment(p) && init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) out.push({ fnName: p.getName(), fnBody: init.getBody() });
  }
  return out;
}

/** Functions declared directly in the factory's body (`async function register() {}`, `const sweep = async () => {}`). */
function innerFunctions(body: Node): Array<{ fnName: string; fnBody: Node }> {
  if (!Node.isBlock(body)) return [];
  const out: Array<{ fnName: string; fnBody: Node }> = [];
  for (const st of body.getStatements()) {
    if (Node.isFunctionDeclaration(st) && st.getName() && st.getBody()) out.push({ fnName: st.getName()!, fnBody: st.getBody()! });
    if (Node.isVariableStatement(st)) {
      for (const d of st.getDeclarations()) {
        const init = d.getInitializer();
        if (init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) out.push({ fnName: d.getName(), fnBody: init.getBody() });
      }
    }
  }
  return out;
}

/** Top-level functions: declarations, `const f = (…) => {…}` / `function (…) {…}` with a block body, and `const f = (…) => ({…})`. */
function moduleFunctions(sf: SourceFile): Array<{ name: string; body: import('ts-morph').Block | import('ts-morph').ObjectLiteralExpression; line: number }> {
  const out: Array<{ name: string; body: import('ts-morph').Block | import('ts-morph').ObjectLiteralExpression; line: number }> = [];
  for (const fn of sf.getFunctions()) {
    const body = fn.getBody();
    const name = fn.getName();
    if (name && body && Node.isBlock(body)) out.push({ name, body, line: fn.getStartLineNumber() });
  }
  for (const v of sf.getVariableDeclarations()) {
    const init = v.getInitializer();
    if (!init || !(Node.isArrowFunction(init) || Node.isFunctionExpression(init))) continue;
    const body = init.getBody();
    const object = Node.isParenthesizedExpression(body) ? body.getExpression() : undefined;
    if (Node.isBlock(body)) out.push({ name: v.getName(), body, line: v.getStartLineNumber() });
    else if (object && Node.isObjectLiteralExpression(object)) out.push({ name: v.getName(), body: object, line: v.getStartLineNumber() });
  }
  // `module.exports = function createX(...) {...}`: CommonJS's default export of a factory.
  for (const st of sf.getStatements()) {
    if (!Node.isExpressionStatement(st)) continue;
    const e = st.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const right = e.getRight();
    if (!(Node.isFunctionExpression(right) || Node.isArrowFunction(right))) continue;
    const body = right.getBody();
    if (!Node.isBlock(body)) continue;
    const name = (Node.isFunctionExpression(right) ? right.getName() : undefined) ?? e.getLeft().getText();
    out.push({ name, body, line: st.getStartLineNumber() });
  }
  return out;
}

/** Factory `name` declares a class extending the base in its closure: it was moved onto the base already. */
export function factoryOnBase(sf: SourceFile, name: string, baseClass: string): boolean {
  const fn = moduleFunctions(sf).find((f) => f.name === name);
  if (!fn || !Node.isBlock(fn.body)) return false;
  return fn.body.getStatements().some((s) => Node.isClassDeclaration(s) && s.getExtends()?.getExpression().getText() === baseClass);
}

/** The first module function of the file (declared or `const f = (…) => {…}`) already moved onto the base. */
export function factoryOnBaseIn(sf: SourceFile, baseClass: string): { name: string; line: number } | undefined {
  return moduleFunctions(sf).find((f) => factoryOnBase(sf, f.name, baseClass));
}

/**
 * The factory the rewrite converts, by name: `function createX(…) {…}` or a block-bodied
 * `const createX = (…) => {…}` / `function (…) {…}`. `module.exports = function …` is not one
 * (no conversion of it is proven).
 */
export function factoryFunction(sf: SourceFile, name: string): import('ts-morph').FunctionDeclaration | import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression | undefined {
  const declared = sf.getFunction(name);
  if (declared) return declared;
  const init = sf.getVariableDeclaration(name)?.getInitializer();
  return init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init)) && Node.isBlock(init.getBody()) ? init : undefined;
}

/**
 * The skip reason of a factory the rewrite could not move onto the base: what it owns, then why.
 * A block-bodied function was looked at statement by statement (`refuse` names the one); the
 * object-literal form keeps the general reason.
 */
export function factoryRefusal(sf: SourceFile, name: string, refuse: string, root?: string, file?: string): string {
  const why = factoryFunction(sf, name) ? `not moved onto the base automatically, as ${refuse}` : undefined;
  return closureFactoryService(sf, root, file, why)!.reason;
}
