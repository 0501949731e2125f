// A server closed with a callback in the method that became the base's onStop() hook
// (`this.api?.close(() => { writeFileSync(journal, ...); console.log('stopped ...'); })`): the
// legacy process lived until the server had closed and the callback had run. The base's stop()
// awaits onStop() and nothing else of it: it closes its own server, deregisters and exits, so an
// in-flight request still holding the server open lets the exit cut off the callback's final flush
// or log line. The statement goes into a promise that settles on the server's 'close' event, which
// fires after the callback (close() registered it first), and onStop() awaits it.
import { Node, SyntaxKind, type MethodDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt } from '../../src/lang/typescript/edits.js';

export function awaitCloseCallbacks(ctx: TsRewriteContext): void {
  const from = [...ctx.renames.entries()].find(([, to]) => to === 'onStop')?.[0];
  const nodes = from ? (ctx.members.get(from)?.nodes ?? []) : [];
  const impl = nodes[0];
  if (nodes.length !== 1 || !impl || !Node.isMethodDeclaration(impl) || impl.isGenerator()) return;
  const body = impl.getBody();
  if (!body || !Node.isBlock(body) || ctx.edits.removes(body.getStart(), body.getEnd())) return;
  const t = ctx.text;
  // `close(done)` made a hook settling when it calls back (a starter's own stop, see entrypoint):
  // a close whose callback calls `done` is already waited for.
  const settles = ctx.newMembers.some((m) => m.name === from) ? impl.getParameters()[0]?.getName() : undefined;
  let waits = 0;
  for (const st of body.getStatements()) {
    if (!Node.isExpressionStatement(st) || ctx.edits.removes(st.getStart(), st.getEnd()) || ctx.edits.rewrites(st.getStart(), st.getEnd())) continue;
    const call = st.getExpression();
    if (!Node.isCallExpression(call) || call.getArguments().length !== 1) continue;
    const callee = call.getExpression();
    const cb = call.getArguments()[0]!;
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'close' || !(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb)) || cb.isAsync()) continue;
    if (settles && cb.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === settles)) continue;
    // `this.api`, read again to wait on: a plain member read of a server (net / http / https).
    const server = callee.getExpression();
    if (!Node.isPropertyAccessExpression(server) || server.getExpression().getKind() !== SyntaxKind.ThisKeyword) continue;
    const member = ctx.members.get(server.getName());
    if (!member || !isServerMember(ctx, member.nodes, server.getName())) continue;
    const maybeAbsent = member.nodes.some((n) => Node.isPropertyDeclaration(n) && (n.hasQuestionToken() || /\b(undefined|null)\b/.test(n.getTypeNode()?.getText() ?? '')));
    // The statement on lines of its own.
    const start = t.lastIndexOf('\n', st.getStart() - 1) + 1;
    const rest = /^[ \t]*(\/\/[^\n]*)?\r?\n/.exec(t.slice(st.getEnd()));
    if (!/^[ \t]*$/.test(t.slice(start, st.getStart())) || !rest) continue;
    const indent = indentAt(t, st.getStart());
    const u = ctx.unit;
    const wait = maybeAbsent || callee.hasQuestionDotToken() ? `${server.getText()}?.once('close', () => resolve()) ?? resolve();` : `${server.getText()}.once('close', () => resolve());`;
    const skip = [...st.getDescendantsOfKind(SyntaxKind.TemplateExpression), ...st.getDescendantsOfKind(SyntaxKind.NoSubstitutionTemplateLiteral)].map((n) => [n.getStart(), n.getEnd()] as [number, number]);
    ctx.edits.wrapLines(start, st.getEnd() + rest[0].length, `${indent}await new Promise${ctx.js ? '' : '<void>'}((resolve) => {\n`, `${indent}${u}${wait}\n${indent}});\n`, u, skip);
    waits++;
    ctx.warnings.push(
      `${from}() closed ${server.getText()} with a callback (line ${st.getStartLineNumber()}) that the base's stop() would not wait for before it exits: ` +
        `onStop() now awaits the server's 'close', after the callback has run`,
    );
  }
  if (waits > 0) ensureAsync(ctx, impl);
}

/**
 * A member holding a net / http / https server: declared so (`api?: http.Server`), or assigned
 * only what createServer() or `new ...Server()` builds (the rewrite's project may not resolve the
 * Node types, so this is read from the syntax).
 */
function isServerMember(ctx: TsRewriteContext, nodes: Node[], name: string): boolean {
  const declared = nodes.map((n) => (Node.isPropertyDeclaration(n) ? n.getTypeNode()?.getText() : undefined)).filter((x): x is string => !!x);
  if (declared.length > 0) return declared.every((d) => /^([\w$]+\.)?(Server|Http2Server|Http2SecureServer)(<[^>]*>)?(\s*\|\s*(undefined|null))*$/.test(d.replace(/\s+/g, ' ').trim()));
  const assigned = ctx.cls.getDescendantsOfKind(SyntaxKind.BinaryExpression).filter((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && b.getLeft().getText() === `this.${name}`);
  return assigned.length > 0 && assigned.every((b) => {
    const r = b.getRight();
    return (Node.isCallExpression(r) && /(^|\.)create(Secure)?Server$/.test(r.getExpression().getText())) || (Node.isNewExpression(r) && /(^|\.)Server$/.test(r.getExpression().getText()));
  });
}

const madeAsync = new WeakMap<TsRewriteContext, Set<MethodDeclaration>>();

/** Make a method async once however many rewrites need it (a declared `void` becomes `Promise<void>`). */
export function ensureAsync(ctx: TsRewriteContext, m: MethodDeclaration): void {
  const done = madeAsync.get(ctx) ?? new Set<MethodDeclaration>();
  madeAsync.set(ctx, done);
  if (m.isAsync() || done.has(m)) return;
  done.add(m);
  ctx.edits.insert(m.getNameNode().getStart(), 'async ');
  const declared = m.getReturnTypeNode();
  if (declared && declared.getText() === 'void') ctx.edits.replace(declared.getStart(), declared.getEnd(), 'Promise<void>');
}
