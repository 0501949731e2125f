// A field whose every update went with removed code (`this.heartbeats++` in a removed heartbeat loop)
// while code that stays still reads it (a /metrics line, a health field, a log line): the output
// compiles and runs, but the value stays at what the constructor gave it, and whoever reads it (a
// dashboard graphing price_heartbeats_total) sees the agent's work stop without a word. Said as a
// warning naming the update that went and the read that stays; what the field should count now (the
// base's own heartbeats, or nothing) is a person's call.
import { Node, SyntaxKind, ts } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { hostMember } from '../../src/lang/typescript/context.js';
import { descendantsOfKinds, thisMember } from '../../src/lang/typescript/syntax.js';

const ACCESSES: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.PropertyAccessExpression, SyntaxKind.ElementAccessExpression]);

/** The access is written to: the left of an assignment (`=`, `+=`, ...) or the operand of `++`/`--`. */
function isWrite(n: Node): boolean {
  const p = n.getParent();
  if (!p) return false;
  if (Node.isBinaryExpression(p)) {
    const op = p.getOperatorToken().getKind();
    return p.getLeft() === n && op >= SyntaxKind.FirstAssignment && op <= SyntaxKind.LastAssignment;
  }
  if (Node.isPrefixUnaryExpression(p) || Node.isPostfixUnaryExpression(p)) {
    const op = p.getOperatorToken();
    return op === ts.SyntaxKind.PlusPlusToken || op === ts.SyntaxKind.MinusMinusToken;
  }
  return false;
}

/** `this.server?.close()`: a read that expects nothing there (a set-up that went leaves it so, on purpose). */
function optionalRead(n: Node): boolean {
  const p = n.getParent();
  return !!p && (Node.isPropertyAccessExpression(p) || Node.isElementAccessExpression(p) || Node.isCallExpression(p)) && p.getExpression() === n && p.hasQuestionDotToken();
}

/** The name a property access names (`x.name`, `x['name']`), whatever its receiver. */
function accessedName(n: Node): string | null {
  if (Node.isPropertyAccessExpression(n)) return n.getName();
  if (Node.isElementAccessExpression(n)) {
    const arg = n.getArgumentExpression();
    if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) return arg.getLiteralText();
  }
  return null;
}

/** The line holding n, as written (a window around n when the line is long). */
function lineAround(n: Node): string {
  const sf = n.getSourceFile();
  const { line, column } = sf.getLineAndColumnAtPos(n.getStart());
  const text = sf.getFullText().split('\n')[line - 1] ?? '';
  if (text.trim().length <= 80) return text.trim();
  const from = Math.max(0, column - 1 - 40);
  const to = column - 1 + n.getWidth() + 30;
  return `${from > 0 ? '...' : ''}${text.slice(from, to).trim()}${to < text.length ? '...' : ''}`;
}

export function flagFrozenFields(ctx: TsRewriteContext, removed: Set<string>): void {
  const fields = new Set([...ctx.members.values()].filter((m) => m.kind === 'property' || m.kind === 'parameter-property').map((m) => m.name));
  for (const name of [...fields]) if (removed.has(name) || ctx.base.members.has(name)) fields.delete(name);
  if (fields.size === 0) return;
  const updates = new Map<string, { kept: boolean; dropped: Node[] }>();
  const reads = new Map<string, Node[]>();
  // The constructor's own statements set initial values; a callback it hands out (`this.on('quote', () => this.n++)`) updates.
  const ctor = (n: Node) => Node.isConstructorDeclaration(n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)));
  // Every write of the name through any receiver (`agent.heartbeats++` in module code counts as one that
  // stays); a write that went, and reads, only through the agent itself (a removed `beat.heartbeats++` of a
  // local object updated no field of the agent).
  for (const n of descendantsOfKinds(ctx.sf, ACCESSES)) {
    const name = accessedName(n);
    if (!name || !fields.has(name)) continue;
    const gone = ctx.edits.drops(n.getStart(), n.getEnd(), name);
    if (isWrite(n)) {
      if (ctor(n)) continue;
      const u = updates.get(name) ?? { kept: false, dropped: [] };
      if (!gone) u.kept = true;
      else if (thisMember(n) === name) u.dropped.push(n);
      updates.set(name, u);
    } else if (!gone && thisMember(n) === name && !optionalRead(n)) {
      reads.set(name, [...(reads.get(name) ?? []), n]);
    }
  }
  // Code the rewrite writes (a hook built from moved statements) may update it again.
  const written = ctx.edits.writtenText();
  for (const [name, u] of updates) {
    const read = reads.get(name)?.[0];
    if (u.kept || u.dropped.length === 0 || !read) continue;
    const escaped = name.replace(/\$/g, '\\$');
    if (new RegExp(`\\.${escaped}\\s*(\\+\\+|--|(\\*\\*|<<|>>>?|\\?\\?|\\|\\||&&|[-+*/%&|^])?=(?!=))|(\\+\\+|--)\\s*[\\w$.]*\\.${escaped}\\b`).test(written)) continue;
    const w = u.dropped[0]!;
    const host = hostMember(w, ctx.cls);
    ctx.warnings.push(
      `this.${name} is no longer updated: its update (line ${w.getStartLineNumber()}: ${lineAround(w.getParent() ?? w)}) went with removed code${host ? ` (${host}())` : ''}, ` +
        `but line ${read.getStartLineNumber()} still reads it (${lineAround(read)}): it now stays at its initial value; ` +
        `make it count what the base now does, or drop the read`,
    );
  }
}
