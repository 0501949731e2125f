// Concern `registry`, second entries: a registration whose name is built from the agent's own name
// (`name: `${this.name}-http``, `SERVICE + '-grpc'`) registers another endpoint of the agent (the
// gateway routes by it), not the agent. The base registers the agent alone, under this.name. Such a
// registration is not the base's to take: it stays with its calls, and the name the base is given
// is the one it was built from, so this.name keeps its value and the entry keeps its name (before,
// the suffixed name went to super() and the kept entry became `quote-api-http-http`, or the
// entry went and its fields landed in the agent's own record).
import { Node, SyntaxKind, type ObjectLiteralExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, thisMember } from '../../src/lang/typescript/syntax.js';

export interface NamedPayload {
  payload: ObjectLiteralExpression;
  /** The value of the naming key, as written. */
  init: Node;
  line: number;
}

/** The object literals of a registry request body naming a service, with their naming value. */
export function namedPayloads(body: Node, keys: string[]): NamedPayload[] {
  const out: NamedPayload[] = [];
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const prop = keys.map((k) => lit.getProperty(k)).find((p) => p && (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)));
    if (!prop) continue;
    const init = Node.isPropertyAssignment(prop) ? prop.getInitializer() : Node.isShorthandPropertyAssignment(prop) ? prop.getNameNode() : undefined;
    if (init) out.push({ payload: lit, init, line: prop.getStartLineNumber() });
  }
  return out;
}

/**
 * The name a derived entry's name is built from: `this.name` in `${this.name}-http`, or `SERVICE`
 * in `SERVICE + '-grpc'` when another registration of the class sends SERVICE alone. Null for a
 * name that is no such composite (a literal, this.name itself, a constant).
 */
export function derivedFrom(init: Node, nameKey: string, plainNames: Set<string>): Node | null {
  let e: Node = init;
  while (Node.isParenthesizedExpression(e)) e = e.getExpression();
  const parts: Node[] = [];
  if (Node.isTemplateExpression(e)) {
    parts.push(...e.getTemplateSpans().map((s) => s.getExpression()));
  } else if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.PlusToken) {
    const walk = (x: Node): void => {
      if (Node.isBinaryExpression(x) && x.getOperatorToken().getKind() === SyntaxKind.PlusToken) {
        walk(x.getLeft());
        walk(x.getRight());
      } else parts.push(x);
    };
    walk(e);
  } else return null;
  return parts.find((p) => thisMember(p) === nameKey || plainNames.has(p.getText())) ?? null;
}

/** The registrations of one method: those naming the agent, and those naming an entry derived from its name. */
export function entriesOf(ctx: TsRewriteContext, body: Node, keys: string[]): { own: NamedPayload[]; derived: Array<NamedPayload & { from: Node }> } {
  const nameKey = ctx.ts.super_call.name_property;
  const all = namedPayloads(body, keys);
  const plain = new Set<string>(all.filter((p) => !derivedFrom(p.init, nameKey, new Set())).map((p) => p.init.getText()));
  // Plain names sent by the class's other registrations count too (`SERVICE` there, `SERVICE + '-grpc'` here).
  for (const other of classRegistrationNames(ctx, keys)) plain.add(other);
  const own: NamedPayload[] = [];
  const derived: Array<NamedPayload & { from: Node }> = [];
  for (const p of all) {
    const from = derivedFrom(p.init, nameKey, plain);
    if (from) derived.push({ ...p, from });
    else own.push(p);
  }
  return { own, derived };
}

/** The plain (not composite) naming values of every registry request body of the class. */
function classRegistrationNames(ctx: TsRewriteContext, keys: string[]): Set<string> {
  const out = new Set<string>();
  const nameKey = ctx.ts.super_call.name_property;
  for (const lit of descendantsOfKind(ctx.cls, SyntaxKind.ObjectLiteralExpression)) {
    if (!/register/i.test(lit.getFirstAncestor((a) => Node.isCallExpression(a) && /fetch|request|post|put/i.test(a.getExpression().getText()))?.getText() ?? '')) continue;
    for (const p of namedPayloads(lit, keys)) if (p.payload === lit && !derivedFrom(p.init, nameKey, new Set())) out.add(p.init.getText());
  }
  return out;
}

/**
 * A registry method that registers only entries derived from the agent's name stays, with its
 * calls: the base registers the agent, not those. Said once, naming the entry and what this.name
 * holds now. Returns whether the method was such a one.
 */
export function keepDerivedRegistration(ctx: TsRewriteContext, method: string, body: Node, keys: string[]): boolean {
  const { own, derived } = entriesOf(ctx, body, keys);
  if (derived.length === 0) return false;
  const names = derived.map((d) => `${d.init.getText()} (line ${d.line})`).join(', ');
  if (own.length > 0) {
    // The agent's own registration and another entry's in one method: the method cannot go
    // (the other entry would be lost) and cannot stay whole without racing the base's record.
    ctx.kept.push({
      symbol: method,
      line: own[0]!.line,
      reason:
        `${method}() registers the agent (${own[0]!.init.getText()}, line ${own[0]!.line}) and a second entry ${names}, which the base does not register: kept whole, so that entry stays registered; ` +
        `its registration of the agent races the base's (whichever lands last is the registry's record). Move the second entry's request into a method of its own (it then stays by itself) and drop the agent's`,
    });
    return true;
  }
  const from = derived[0]!.from.getText();
  const value = ctx.constantValue(derived[0]!.from);
  // No registration of the class names the agent itself: the base's entry is one more than the legacy made.
  const added = classRegistrationNames(ctx, keys).size === 0 ? `; the registry now also lists the agent itself under ${value ?? from}, which the legacy did not register` : '';
  ctx.warnings.push(
    `${method}() registers ${names}, a second entry named from ${from}${value ? ` (${value})` : ''}: the base registers the agent alone, so ${method}() stays with its calls and that entry keeps its name (${from} is the name given to the base)${added}`,
  );
  return true;
}

/** A deregistration of derived entries only (`{ name: `${this.name}-http` }` to /deregister): the base never undoes those. */
export function deregistersDerivedOnly(ctx: TsRewriteContext, body: Node, keys: string[]): boolean {
  const { own, derived } = entriesOf(ctx, body, keys);
  return derived.length > 0 && own.length === 0;
}
