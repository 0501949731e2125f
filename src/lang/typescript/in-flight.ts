// Work a method of the agent tracks while it is in flight (a Set, a Map, a counter, an array of
// promises): read from its structure, for the transforms that weigh what the base's exit cuts.
import { Node, SyntaxKind, type CallExpression, type MethodDeclaration, type PropertyAccessExpression, type TryStatement } from 'ts-morph';
import { descendantsOfKind } from './syntax.js';

const TRACK = /^(add|set|push)$/;
const UNTRACK = /^(delete|splice)$/;

/**
 * Work a method tracks while it is in flight, whatever holds it: it enters a field of the agent before
 * an await (`this.running.add(job)`, `this.pending.set(id, job)`, `this.inFlight.push(p)`, `this.active++`
 * or `+= 1`) and leaves it where the work ends whatever happens, a `finally` block of the method or a
 * `.finally()` callback on the work's promise (`.delete(...)`, `.splice(...)`, `this.active--` or `-= 1`,
 * or the field assigned anew: `this.inFlight = this.inFlight.filter(...)`). The same field both ways.
 */
export function inFlightTracker(m: MethodDeclaration): { start: Node; holder: string; awaitAt: Node; work: string; ends: string } | null {
  const body = m.getBody()!;
  const fnOf = (n: Node) => n.getFirstAncestor((f) => Node.isFunctionLikeDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f));
  const inBody = (n: Node) => body.getPos() <= n.getPos() && n.getEnd() <= body.getEnd();
  // (A start inside a callback of the method counts: `setInterval(() => { ...; this.inFlight.push(job); ... })`.)
  const field = (e: Node) => (/^this\.[\w$]+$/.test(e.getText()) ? e.getText() : null);
  // Where the work ends whatever happens: a finally block in this method, or a `.finally(cb)` callback written in it.
  const atEnd = (n: Node) =>
    n.getAncestors().some((a) => Node.isBlock(a) && Node.isTryStatement(a.getParent()) && (a.getParent() as TryStatement).getFinallyBlock() === a && inBody(a)) ||
    (() => {
      const cb = fnOf(n);
      const call = cb?.getParent();
      return !!cb && cb !== m && !!call && Node.isCallExpression(call) && call.getArguments().includes(cb as never) && /\.finally$/.test(call.getExpression().getText()) && inBody(call);
    })();
  const starts: Array<{ node: Node; holder: string }> = [];
  const ends: Array<{ node: Node; holder: string }> = [];
  const step = (n: Node): { holder: string; up: boolean } | null => {
    if (Node.isPostfixUnaryExpression(n) || Node.isPrefixUnaryExpression(n)) {
      const h = field(n.getOperand());
      const op = n.getOperatorToken();
      if (h && (op === SyntaxKind.PlusPlusToken || op === SyntaxKind.MinusMinusToken)) return { holder: h, up: op === SyntaxKind.PlusPlusToken };
    }
    if (Node.isBinaryExpression(n)) {
      const h = field(n.getLeft());
      const op = n.getOperatorToken().getKind();
      if (h && (op === SyntaxKind.PlusEqualsToken || op === SyntaxKind.MinusEqualsToken) && n.getRight().getText() === '1') return { holder: h, up: op === SyntaxKind.PlusEqualsToken };
    }
    return null;
  };
  for (const n of body.getDescendants()) {
    if (Node.isCallExpression(n)) {
      const e = n.getExpression();
      if (!Node.isPropertyAccessExpression(e)) continue;
      const h = field(e.getExpression());
      if (!h) continue;
      if (TRACK.test(e.getName()) && !atEnd(n)) starts.push({ node: n, holder: h });
      else if (UNTRACK.test(e.getName()) && atEnd(n)) ends.push({ node: n, holder: h });
    } else if (Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken && field(n.getLeft()) && atEnd(n)) {
      ends.push({ node: n, holder: field(n.getLeft())! });
    } else {
      const s = step(n);
      if (!s) continue;
      if (s.up && !atEnd(n)) starts.push({ node: n, holder: s.holder });
      else if (!s.up && atEnd(n)) ends.push({ node: n, holder: s.holder });
    }
  }
  const waits = descendantsOfKind(body, SyntaxKind.AwaitExpression);
  for (const st of starts) {
    if (!ends.some((e) => e.holder === st.holder && e.node.getStart() > st.node.getStart())) continue;
    // The work awaited after it enters the tracker, in the same function (a timer's callback, the
    // method itself), or the promise a `.finally()` callback ends it on.
    const awaitAt =
      waits.find((w) => w.getStart() > st.node.getStart() && fnOf(w) === fnOf(st.node)) ??
      ends.find((e) => e.holder === st.holder && fnOf(e.node) !== fnOf(st.node))?.node.getFirstAncestor((a) => Node.isCallExpression(a) && /\.finally$/.test(a.getExpression().getText()));
    if (!awaitAt) continue;
    if (Node.isAwaitExpression(awaitAt)) return { start: st.node, holder: st.holder, awaitAt, work: m.getName(), ends: 'awaits' };
    // `job.finally(...)`, job bound to `this.exportReport(r)`: that method is the work.
    const recv = ((awaitAt as CallExpression).getExpression() as PropertyAccessExpression).getExpression();
    const decl = Node.isIdentifier(recv) ? recv.getSymbol()?.getDeclarations()[0] : undefined;
    const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : Node.isCallExpression(recv) ? recv : undefined;
    const callee = init && Node.isCallExpression(init) ? init.getExpression() : undefined;
    const work = callee && Node.isPropertyAccessExpression(callee) && Node.isThisExpression(callee.getExpression()) ? callee.getName() : m.getName();
    return { start: st.node, holder: st.holder, awaitAt, work, ends: 'leaves it when its promise settles' };
  }
  return null;
}
