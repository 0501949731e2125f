// A service built by a closure factory instead of a class (`function createFanout(opts) { let
// server; ... async function start() {...} async function stop() {...} return { start, stop }; }`):
// its state lives in the closure, so nothing can extend the base. Called a helper module, the
// file vanished from scan's agents with its own health server, timer and registration still in
// it; it is named instead, as a prototype-style service is, so a person migrates it.
import { Node, SyntaxKind, type SourceFile } from 'ts-morph';
import { intervalCalls, serverCreations } from './patterns.js';

const START = /^(start|run|listen|begin|init|connect)$/;
const STOP = /^(stop|close|shutdown|destroy|disconnect|dispose)$/;

/** The factory's name, line and reason when the file's only service is a closure factory. */
export function closureFactoryService(sf: SourceFile): { name: string; line: number; reason: string } | null {
  for (const { name, body, line } of moduleFunctions(sf)) {
    const returned = body.getStatements().filter(Node.isReturnStatement).map((r) => r.getExpression()).find(Node.isObjectLiteralExpression);
    if (!returned) continue;
    const members = returned.getProperties().map((p) => (Node.isShorthandPropertyAssignment(p) || Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) ? p.getName() : null)).filter((n): n is string => !!n);
    const start = members.find((m) => START.test(m));
    const stop = members.find((m) => STOP.test(m));
    if (!start || !stop) continue;
    const owns = [
      serverCreations(body).length > 0 ? 'a server' : null,
      intervalCalls(body).length > 0 ? 'a timer' : null,
    ].filter((x): x is string => !!x);
    if (owns.length === 0) continue;
    return {
      name,
      line,
      reason: `closure factory ${name} (line ${line}) returns { ${start}, ${stop} } over ${owns.join(' and ')} of its own, not a class: rewrite it as a class to migrate it`,
    };
  }
  return null;
}

/** Top-level functions: declarations, and `const f = (…) => {…}` / `function (…) {…}` with a block body. */
function moduleFunctions(sf: SourceFile): Array<{ name: string; body: import('ts-morph').Block; line: number }> {
  const out: Array<{ name: string; body: import('ts-morph').Block; line: number }> = [];
  for (const fn of sf.getFunctions()) {
    const body = fn.getBody();
    const name = fn.getName();
    if (name && body && Node.isBlock(body)) out.push({ name, body, line: fn.getStartLineNumber() });
  }
  for (const v of sf.getVariableDeclarations()) {
    const init = v.getInitializer();
    if (!init || !(Node.isArrowFunction(init) || Node.isFunctionExpression(init))) continue;
    const body = init.getBody();
    if (Node.isBlock(body)) out.push({ name: v.getName(), body, line: v.getStartLineNumber() });
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
