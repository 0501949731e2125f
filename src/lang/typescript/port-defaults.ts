// The port numbers a TypeScript agent binds when started with no environment: what its code
// falls back to, read from the tree (never by running it). `7651`, `'7651'`,
// `Number(process.env.API_PORT ?? 7651)`, `parseInt(process.env.X || '7651', 10)`, a module
// constant, a constructor parameter's default (destructured options too), `this.x` set from one
// of those, and sums (`port + 1`). An environment read counts as unset. Unknown stays null.
import { createWrappedNode, Node, SyntaxKind, ts } from 'ts-morph';
import type { TsRewriteContext } from './context.js';
import { thisMember } from './syntax.js';

const MAX_DEPTH = 8;

export function tsPortDefault(ctx: TsRewriteContext, node: Node | undefined, depth = 0): number | null {
  if (!node || depth > MAX_DEPTH) return null;
  const next = (n: Node | undefined) => tsPortDefault(ctx, n, depth + 1);
  if (Node.isNumericLiteral(node)) return Number(node.getLiteralValue());
  if (Node.isStringLiteral(node) || Node.isNoSubstitutionTemplateLiteral(node)) return /^\s*\d+\s*$/.test(node.getLiteralText()) ? Number(node.getLiteralText()) : null;
  if (Node.isParenthesizedExpression(node) || Node.isAsExpression(node) || Node.isNonNullExpression(node) || Node.isTypeAssertion(node)) return next(node.getExpression());
  if (Node.isBinaryExpression(node)) {
    const op = node.getOperatorToken().getKind();
    if (op === SyntaxKind.QuestionQuestionToken || op === SyntaxKind.BarBarToken) return next(node.getLeft()) ?? next(node.getRight());
    if (op === SyntaxKind.PlusToken || op === SyntaxKind.MinusToken) {
      const a = next(node.getLeft());
      const b = next(node.getRight());
      return a === null || b === null ? null : op === SyntaxKind.PlusToken ? a + b : a - b;
    }
    return null;
  }
  if (Node.isCallExpression(node)) {
    const fn = node.getExpression().getText().replace(/\s+/g, '');
    if (/^(Number|parseInt|Number\.parseInt|parseFloat)$/.test(fn)) return next(node.getArguments()[0]);
    return null;
  }
  if (Node.isIdentifier(node)) return nameDefault(ctx, node.getText(), depth + 1);
  const member = thisMember(node);
  if (member) return memberDefault(ctx, member, depth + 1);
  return null;
}

/** A constructor parameter's default (or a destructured option's), else a module-level `const`. */
function nameDefault(ctx: TsRewriteContext, name: string, depth: number): number | null {
  for (const p of ctx.ctor?.getParameters() ?? []) {
    const n = p.getNameNode();
    if (Node.isIdentifier(n)) {
      if (n.getText() === name) return tsPortDefault(ctx, p.getInitializer(), depth);
      continue;
    }
    for (const b of n.getDescendantsOfKind(SyntaxKind.BindingElement)) if (b.getName() === name) return tsPortDefault(ctx, b.getInitializer(), depth);
  }
  for (const s of ctx.sf.getVariableStatements()) {
    for (const d of s.getDeclarations()) if (d.getName() === name) return tsPortDefault(ctx, d.getInitializer(), depth);
  }
  return null;
}

/** `this.x`: a property's initializer, a parameter property's default, or the constructor's `this.x = ...`. */
function memberDefault(ctx: TsRewriteContext, name: string, depth: number): number | null {
  const m = ctx.members.get(name);
  const decl = m?.nodes[0];
  if (decl && Node.isPropertyDeclaration(decl) && decl.getInitializer()) return tsPortDefault(ctx, decl.getInitializer(), depth);
  if (decl && Node.isParameterDeclaration(decl)) return tsPortDefault(ctx, decl.getInitializer(), depth);
  for (const s of ctx.ctor?.getBody()?.getDescendantsOfKind(SyntaxKind.BinaryExpression) ?? []) {
    if (s.getOperatorToken().getKind() === SyntaxKind.EqualsToken && thisMember(s.getLeft()) === name) {
      const v = tsPortDefault(ctx, s.getRight(), depth);
      if (v !== null) return v;
    }
  }
  return null;
}

/** The default of an expression given as text in a super() argument (`7650`, `port`, `this.port`, `opts.port`). */
export function tsTextDefault(ctx: TsRewriteContext, text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (/^[A-Za-z_$][\w$]*$/.test(t)) return nameDefault(ctx, t, 0);
  const m = /^this\.([A-Za-z_$][\w$]*)$/.exec(t);
  if (m) return memberDefault(ctx, m[1]!, 0);
  // `Number(options.port || process.env.AGENT_PORT || 7420)`: the expression itself, parsed.
  const sf = ts.createSourceFile('arg.ts', `(${t});`, ts.ScriptTarget.ES2022, true);
  const first = sf.statements[0];
  return first && ts.isExpressionStatement(first) ? tsPortDefault(ctx, createWrappedNode(first.expression, { sourceFile: sf })) : null;
}
