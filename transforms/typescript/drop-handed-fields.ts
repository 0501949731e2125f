// A field whose value now goes to the base: `this.pollMs = opts.pollMs ?? 5000` in the
// constructor, read only by the timer (or the health server) the rewrite removed, with the same
// value passed to super({ intervalMs: opts.pollMs ?? 5000 }). Left behind, it is a field nothing
// reads, which a reviewer has to work out is dead (and which drifts from the base's value once
// AGENT_PORT or an override changes it). It goes, with its declaration, only when nothing reads
// it any more: not the class's kept code, not the code the rewrite moves or writes, not a
// subclass or other code of the same file, not another file of the repository.
import { Node, SyntaxKind, type ExpressionStatement, type ParameterDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, fileNameNodes, pureValue, thisMember } from '../../src/lang/typescript/syntax.js';
import { mentionsElsewhere } from '../../src/lang/typescript/references.js';

export function dropFieldsHandedToBase(ctx: TsRewriteContext): void {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body) || ctx.generated.length === 0) return;
  const superText = ctx.generated.join('\n');
  const ctorNames = ctorLocalNames(ctx);
  // (super()'s own options read the constructor's parameters, never the agent: `this` cannot be read before it)
  let edited = ctx.edits.writtenText();
  for (const g of ctx.generated) edited = edited.split(g).join('');
  const written = edited + '\n' + ctx.newMembers.map((m) => m.text).join('\n') + '\n' + ctx.newFields.join('\n') + '\n' + (ctx.newConstructor ?? '');
  const writes = new Map<string, ExpressionStatement[]>();
  for (const s of body.getStatements()) {
    if (!Node.isExpressionStatement(s)) continue;
    const e = s.getExpression();
    if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const f = thisMember(e.getLeft());
    if (f) writes.set(f, [...(writes.get(f) ?? []), s]);
  }
  for (const [f, stmts] of writes) {
    if (stmts.length !== 1) continue;
    const stmt = stmts[0]!;
    if (ctx.edits.removes(stmt.getStart(), stmt.getEnd())) continue;
    if (ctx.base.members.has(f) || ctx.renames.has(f) || ctx.carried.includes(f)) continue;
    const member = ctx.members.get(f);
    if (member && member.kind !== 'property') continue;
    const rhs = (stmt.getExpression() as import('ts-morph').BinaryExpression).getRight();
    if (!pureValue(rhs)) continue; // computed for super() anyway
    // The same value went to the base: a whole property value of the super() options.
    // (or the value as the rewrite computed it before super(): `opts` read as `(options || {})`)
    const values = [rhs.getText(), ctx.constantValue(rhs)].filter((v): v is string => !!v);
    const handed = values
      .map((v) => new RegExp(`[{,]\\s*(?:[\\w$]+\\s*:\\s*)?${v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*[,}]`).exec(superText))
      .find((h) => !!h);
    if (!handed) continue;
    const decl = member?.nodes.find((n) => Node.isPropertyDeclaration(n));
    if (decl && Node.isPropertyDeclaration(decl) && (decl.getInitializer() || decl.getDecorators().length > 0)) continue;
    const own = new Set<Node>([(stmt.getExpression() as import('ts-morph').BinaryExpression).getLeft()]);
    const uses = fieldUses(ctx, f, ctorNames).filter((u) => ![...own].some((o) => o.containsRange(u.getPos(), u.getEnd())));
    // Read before the rewrite (by what it removed, or by a line that now names the base's member
    // instead), and by nothing it keeps.
    const gone = (u: Node) =>
      ctx.edits.removes(u.getStart(), u.getEnd()) || (Node.isPropertyAccessExpression(u) && ctx.edits.rewrites(u.getNameNode().getStart(), u.getNameNode().getEnd()));
    if (uses.length === 0 || uses.some((u) => !gone(u))) continue;
    if (readsIn(written, f, ctorNames)) continue;
    if (ctx.outsideCallers(f).length > 0) continue;
    const member$ = f.replace(/\$/g, '\\$');
    if (mentionsElsewhere(ctx.root, ctx.file, ctx.className, new RegExp(`\\.\\s*${member$}(?![\\w$])|\\[\\s*['"\`]${member$}['"\`]\\s*\\]`)).length > 0) continue;
    ctx.edits.removeNode(stmt);
    if (decl) ctx.edits.removeNode(decl);
    if (!ctx.removedExtra.includes(f)) ctx.removedExtra.push(f);
    ctx.warnings.push(`this.${f} (line ${stmt.getStartLineNumber()}) is now given to the base (${handed[0].replace(/^[{,]\s*|\s*[,}]$/g, '')}) and nothing reads it any more: removed`);
  }
}

/** Names the constructor declares (its parameters, destructured options, locals): `opts.pollMs` reads an option, not the field. */
function ctorLocalNames(ctx: TsRewriteContext): Set<string> {
  const out = new Set<string>();
  const ctor = ctx.ctor;
  if (!ctor) return out;
  for (const p of ctor.getParameters() as ParameterDeclaration[]) {
    const n = p.getNameNode();
    if (Node.isIdentifier(n)) out.add(n.getText());
  }
  for (const d of descendantsOfKind(ctor, SyntaxKind.VariableDeclaration)) {
    const n = d.getNameNode();
    if (Node.isIdentifier(n)) out.add(n.getText());
  }
  return out;
}

/**
 * Every place of the file that may read or write the field: `x.f` (unless x is one of the
 * constructor's own names), `x['f']`, `{ f } = x` and `{ f: y } = x`. Plain identifiers named
 * f (a parameter, a local) and keys of object literals (`new X({ f: 1 })`) are other things.
 */
function fieldUses(ctx: TsRewriteContext, f: string, ctorNames: Set<string>): Node[] {
  const out: Node[] = [];
  for (const n of fileNameNodes(ctx.sf, f)) {
    const p = n.getParent();
    if (!p) continue;
    if (Node.isPropertyAccessExpression(p) && p.getNameNode() === n) {
      const obj = p.getExpression();
      const inCtor = !!ctx.ctor && ctx.ctor.containsRange(p.getPos(), p.getEnd());
      if (Node.isIdentifier(obj) && inCtor && ctorNames.has(obj.getText())) continue;
      out.push(p);
    } else if (Node.isElementAccessExpression(p) || Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n)) {
      out.push(n);
    } else if (Node.isBindingElement(p) && p.getFirstAncestorByKind(SyntaxKind.ObjectBindingPattern)) {
      // `constructor({ pollMs = 5000 } = {})` destructures the options, not the agent.
      if (ctx.ctor && p.getFirstAncestor((a) => Node.isParameterDeclaration(a))?.getParent() === ctx.ctor) continue;
      out.push(p);
    } else if (Node.isShorthandPropertyAssignment(p) && p.getParent()?.getParent() && Node.isBinaryExpression(p.getParent()!.getParent()!)) {
      out.push(p); // ({ f } = this)
    }
  }
  return out;
}

/** Does text the rewrite writes read the field (`this.f`, `self.f`, `['f']`, `{ f }` destructuring)? */
function readsIn(text: string, f: string, ctorNames: Set<string>): boolean {
  const m = f.replace(/\$/g, '\\$');
  for (const hit of text.matchAll(new RegExp(`([\\w$]+)?\\s*\\??\\.\\s*${m}(?![\\w$])`, 'g'))) {
    if (hit[1] && ctorNames.has(hit[1])) continue;
    return true;
  }
  return new RegExp(`['"\`]${m}['"\`]|\\{[^{}=]*(?<![\\w$.])${m}(?![\\w$])[^{}]*\\}\\s*=\\s*[\\w$]`).test(text);
}

