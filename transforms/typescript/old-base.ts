// Concern `old_base` (base-to-base profiles): a class on an older in-repo base moves onto the new
// one. The old hooks become the new base's (init → onStart, stop → onStop; a start/tick hook →
// runOnce, or, when it holds the `while (this.running)` loop, that loop's body becomes runOnce()
// by the main_loop transform); members only the old base had are mapped as the profile says, or
// carried into the agent when the old constructor stored them from its parameters, or reported at
// each use; the options object given to the old constructor reaches the new base under its keys.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { foreverLoops } from '../../src/lang/typescript/patterns.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import type { OldBase, OldBaseParam } from '../../src/lang/typescript/old-base.js';
import { importOf } from '../../src/lang/typescript/old-base.js';

/** The old base when the class is on one. */
function oldBase(ctx: TsRewriteContext): OldBase | null {
  return ctx.parent.kind === 'old-base' ? ctx.parent.old : null;
}

export function mapOldBase(ctx: TsRewriteContext): void {
  const old = oldBase(ctx);
  if (!old) return;
  mapHooks(ctx, old);
  mapMembers(ctx, old);
}

function mapHooks(ctx: TsRewriteContext, old: OldBase): void {
  const given = new Set<string>();
  for (const [from, mapped] of Object.entries(old.hooks)) {
    let to = mapped;
    const m = ctx.members.get(from);
    if (!m || m.kind !== 'method') continue;
    const body = methodBody(ctx, from);
    if (to === 'runOnce' && body && foreverLoops(body).length > 0) {
      // The old base called this once and it looped itself: the main_loop transform moves the
      // loop body into runOnce(); what else it did (set-up) must still run, as onStart().
      ctx.hints.loopHost = from;
      ctx.after.push((removed) => {
        if (removed.has(from) || ctx.renames.has(from)) return;
        if (!ctx.members.has('onStart') && ![...ctx.renames.values()].includes('onStart')) {
          renameHook(ctx, from, 'onStart', `${from}() ran the old ${old.className} loop and more: the loop is runOnce(), the rest is the onStart() hook`);
        } else {
          ctx.kept.push({ symbol: from, line: m.line, reason: `${from}() held the old ${old.className} loop and more set-up, and onStart() is taken: call it from onStart() by hand` });
        }
      });
      continue;
    }
    // A start-like hook the old base called once (not in a loop of its own) starts the agent: onStart().
    if (to === 'runOnce' && (old.file ? !old.loopedHooks.has(from) : /start/i.test(from))) to = 'onStart';
    if (ctx.members.has(to) || given.has(to)) {
      ctx.kept.push({ symbol: from, line: m.line, reason: `${from}() was an old ${old.className} hook mapped to ${to}(), which the class already has: merge them by hand` });
      continue;
    }
    given.add(to);
    renameHook(ctx, from, to, `${from}() was the old ${old.className} hook: renamed to ${to}(), which ${ctx.baseClass} calls`);
  }
}

/** Rename a hook's declaration and the class's own calls to it (`this.x()`, `super.x()`). */
function renameHook(ctx: TsRewriteContext, from: string, to: string, why: string): void {
  ctx.renameMember(from, to, why);
  ctx.memberRewrites.push({ from, to: `this.${to}` });
  ctx.cls.forEachDescendant((n) => {
    if (!Node.isPropertyAccessExpression(n) || n.getName() !== from) return;
    const k = n.getExpression().getKind();
    if (k === SyntaxKind.ThisKeyword || k === SyntaxKind.SuperKeyword) ctx.edits.replace(n.getNameNode().getStart(), n.getNameNode().getEnd(), to);
  });
}

/** `this.x` where x is the old base's only: mapped, carried or reported (each use). */
function mapMembers(ctx: TsRewriteContext, old: OldBase): void {
  const uses = new Map<string, Node[]>();
  ctx.cls.forEachDescendant((n) => {
    const x = Node.isPropertyAccessExpression(n) ? thisMember(n) : null;
    if (!x || ctx.members.has(x) || ctx.base.members.has(x)) return;
    if (!(x in old.memberMap) && !old.members.has(x) && !old.params.some((p) => p.stored === x)) return;
    uses.set(x, [...(uses.get(x) ?? []), n]);
  });
  for (const [x, nodes] of uses) {
    const carried = old.params.find((p) => p.stored === x);
    if (carried) {
      ctx.carried.push(x);
      continue;
    }
    const to = old.memberMap[x];
    if (typeof to !== 'string' && carryMethod(ctx, old, x)) continue;
    // The agent sets it itself (`this.started = true` in its start()): its own state now, declared
    // here with the old initial value, nothing to review.
    const assigned = nodes.some((n) => {
      const p = n.getParent();
      return !!p && Node.isBinaryExpression(p) && p.getLeft() === n && p.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
    });
    if (typeof to !== 'string' && assigned) {
      const field = old.members.get(x)?.field;
      if (!ctx.js) ctx.newFields.push(`protected ${field && !old.typeParams.some((tp) => new RegExp(`\\b${tp}\\b`).test(field)) ? field : `${x}?: unknown`};`);
      else if (field) ctx.newFields.push(field.replace(/^([\w$]+)\s*:[^=]+=/, '$1 =') + ';');
      continue;
    }
    if (typeof to === 'string') ctx.memberRewrites.push({ from: x, to });
    for (const n of nodes) {
      const line = n.getStartLineNumber();
      if (typeof to === 'string') {
        const parent = n.getParent()!;
        const stmt = parent.getParent();
        if (Node.isBinaryExpression(parent) && parent.getLeft() === n && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && stmt && Node.isExpressionStatement(stmt)) {
          // `this.running = false;`: the new base owns the state the flag described.
          ctx.edits.removeNode(stmt);
          ctx.warnings.push(`this.${x} = ... at line ${line} dropped: ${ctx.baseClass} owns the running state (the old ${old.className} flag)`);
        } else if (Node.isPrefixUnaryExpression(parent) && parent.getOperatorToken() === SyntaxKind.ExclamationToken && to.startsWith('!')) {
          ctx.edits.replace(parent.getStart(), parent.getEnd(), to.slice(1));
        } else {
          ctx.edits.replace(n.getStart(), n.getEnd(), needsParens(parent, n) ? `(${to})` : to);
        }
      } else {
        ctx.kept.push({ symbol: `this.${x}`, line, reason: `only the old ${old.className} had ${x}; ${ctx.baseClass} has no counterpart: rewrite this use by hand` });
      }
    }
    // A field of the old base with its initial value is declared here, so the agent still
    // compiles; each use is reported above, because nothing but the agent sets it any more.
    const field = typeof to === 'string' ? undefined : old.members.get(x)?.field;
    if (field && !old.typeParams.some((tp) => new RegExp(`\\b${tp}\\b`).test(field))) {
      ctx.newFields.push(ctx.js ? field.replace(/^([\w$]+)\s*:[^=]+=/, '$1 =') + ';' : `protected ${field};`);
    }
  }
}

/**
 * A helper method only the old base had (`this.log('info', ...)`), whose body reads nothing of
 * the old base but itself and the members its constructor stored (carried into the agent): it
 * is copied into the agent as the old base wrote it, so every call keeps its behaviour.
 */
function carryMethod(ctx: TsRewriteContext, old: OldBase, x: string): boolean {
  const m = old.members.get(x)?.method;
  if (!m || !old.file) return false;
  // A TypeScript helper does not go into a JavaScript agent (nor the other way).
  if (ctx.js !== /\.[cm]?js$/.test(old.file)) return false;
  const stored = new Map(old.params.filter((p) => p.stored).map((p) => [p.stored!, p]));
  if (!m.uses.every((u) => u === x || u === 'constructor' || stored.has(u))) return false;
  if (ctx.newMembers.some((n) => n.name === x)) return true;
  for (const u of m.uses) if (stored.has(u) && !ctx.carried.includes(u)) ctx.carried.push(u);
  let text = m.text
    .split('\n')
    .map((l, i) => (i > 0 && l.startsWith(m.indent) ? l.slice(m.indent.length) : l))
    .join('\n');
  // The old base's type parameters, as this class instantiated them (`O` → `ReconcilerOptions`).
  const heritage = ctx.parent.kind === 'old-base' ? ctx.parent.expr.getParent() : undefined;
  const args = heritage && Node.isExpressionWithTypeArguments(heritage) ? heritage.getTypeArguments().map((a) => a.getText()) : [];
  old.typeParams.forEach((tp, i) => {
    text = text.replace(new RegExp(`\\b${tp}\\b`, 'g'), args[i] ?? 'unknown');
  });
  ctx.newMembers.push({ name: x, text });
  ctx.warnings.push(`${x}() was the old ${old.className}'s helper: copied into the agent as it was (${ctx.baseClass} has none)`);
  return true;
}

function needsParens(parent: Node, n: Node): boolean {
  if (Node.isIfStatement(parent) || Node.isWhileStatement(parent) || Node.isParenthesizedExpression(parent) || Node.isReturnStatement(parent)) return false;
  if (Node.isBinaryExpression(parent) && ['&&', '||'].includes(parent.getOperatorToken().getText())) return false;
  if (Node.isConditionalExpression(parent) && parent.getCondition() === n) return false;
  if (Node.isVariableDeclaration(parent)) return false;
  return true;
}

/** The old constructor's parameter types with the class's type arguments put in (`TOptions` → `RelayerOptions`). */
function paramType(ctx: TsRewriteContext, old: OldBase, p: OldBaseParam): string | null {
  if (ctx.js || !p.type) return null;
  const heritage = ctx.parent.kind === 'old-base' ? ctx.parent.expr.getParent() : undefined;
  const args = heritage && Node.isExpressionWithTypeArguments(heritage) ? heritage.getTypeArguments().map((a) => a.getText()) : [];
  let t = p.type;
  old.typeParams.forEach((tp, i) => {
    t = t.replace(new RegExp(`\\b${tp}\\b`, 'g'), args[i] ?? 'unknown');
  });
  return t;
}

/** A carried member's value before super(): the constructor parameter it is stored from. */
export function carriedValue(ctx: TsRewriteContext, member: string): string | null {
  const old = oldBase(ctx);
  if (!old || !ctx.carried.includes(member)) return null;
  const i = old.params.findIndex((p) => p.stored === member);
  if (i < 0) return null;
  if (!ctx.ctor) return old.params[i]!.name;
  const call = ctx.ctor.getBody()?.getDescendantsOfKind(SyntaxKind.SuperKeyword).map((k) => k.getParent()).find((c) => Node.isCallExpression(c));
  const arg = call && Node.isCallExpression(call) ? call.getArguments()[i] : undefined;
  if (arg && Node.isIdentifier(arg)) return arg.getText();
  // `super({ interval: 2000, ...options })`: the old base stored the merged object, built from
  // the constructor's parameters and constants alone; it is the same object before super().
  // (No call in it: the carried member is assigned from the same text again after super().)
  if (arg && Node.isObjectLiteralExpression(arg) && !mergeHasCalls(arg)) return ctx.constantValue(arg);
  return null;
}

/**
 * `this.options.K` before super(), where the old base stored the merged object of a super() call
 * that runs something (`super({ interval: computeInterval(), ...options })`): K is not written
 * in the literal and exactly one spread gives the merge its other keys, so K is that spread's
 * (`options.K`). Otherwise null. `valueOf` gives the spread's value before super().
 */
export function carriedKey(ctx: TsRewriteContext, member: string, key: string, valueOf: (n: Node) => string | null): string | null {
  const old = oldBase(ctx);
  if (!old || !ctx.carried.includes(member) || !ctx.ctor) return null;
  const i = old.params.findIndex((p) => p.stored === member);
  if (i < 0) return null;
  const call = ctx.ctor.getBody()?.getDescendantsOfKind(SyntaxKind.SuperKeyword).map((k) => k.getParent()).find((c) => Node.isCallExpression(c));
  const arg = call && Node.isCallExpression(call) ? call.getArguments()[i] : undefined;
  if (!arg || !Node.isObjectLiteralExpression(arg)) return null;
  const props = arg.getProperties();
  const spreads = props.filter((p) => Node.isSpreadAssignment(p));
  const named = props.some((p) => !Node.isSpreadAssignment(p) && (!('getName' in p) || (p as unknown as { getName(): string }).getName() === key || Node.isComputedPropertyName((p as unknown as { getNameNode(): Node }).getNameNode?.())));
  if (named || spreads.length !== 1) return null;
  const spread = spreads[0]!.getExpression();
  if (!Node.isIdentifier(spread)) return null;
  // A parameter that may be undefined would throw where the spread did not.
  const decl = spread.getSymbol()?.getDeclarations()[0];
  if (!decl || !Node.isParameterDeclaration(decl) || (decl.hasQuestionToken() && !decl.hasInitializer())) return null;
  const value = valueOf(spread);
  return value !== null && /^[\w$]+$/.test(value) ? `${value}.${key}` : null;
}

/**
 * `super({ interval: computeInterval(), ...options })` to the old base: a merge that runs code,
 * which the old base stored whole. Written twice (once mapped into the new base's options, once
 * assigned to the carried member) it would run twice, and its keys could not be read from it
 * without running it again. When the super() call is a statement of the constructor's body and
 * the literal reads no `this`, the merge is bound once to a local declared just before super()
 * (`const mergedOptions = { interval: computeInterval(), ...options };`): the new base's options
 * read its keys, the carried member is that object. The local's name, or null.
 */
export function mergeLocal(ctx: TsRewriteContext, call: CallExpression, arg: Node): string | null {
  const old = oldBase(ctx);
  if (!old || !ctx.ctor || !Node.isObjectLiteralExpression(arg) || !mergeHasCalls(arg)) return null;
  if (!arg.getProperties().some((p) => Node.isSpreadAssignment(p))) return null;
  if (arg.getFirstDescendant((d) => d.getKind() === SyntaxKind.ThisKeyword || d.getKind() === SyntaxKind.SuperKeyword)) return null;
  const stmt = call.getParent();
  if (!stmt || !Node.isExpressionStatement(stmt) || stmt.getParent() !== ctx.ctor.getBody()) return null;
  const i = call.getArguments().indexOf(arg as never);
  const stored = old.params[i]?.stored ?? old.params[i]?.name ?? 'options';
  const stem = `merged${stored.charAt(0).toUpperCase()}${stored.slice(1)}`;
  const used = new Set(ctx.sf.getDescendantsOfKind(SyntaxKind.Identifier).map((id) => id.getText()));
  let name = stem;
  for (let n = 2; used.has(name); n++) name = `${stem}${n}`;
  return name;
}

/** The merges bound to a local before super() (by the super() rewrite), and the local's name. */
const bound = new WeakMap<Node, string>();

/** The super() rewrite declared `const <name> = <arg>;` before the call. */
export function boundMerge(arg: Node, name: string): void {
  bound.set(arg, name);
}

/** Does the object literal call or construct anything (its text would run it again each time it is read)? */
function mergeHasCalls(obj: Node): boolean {
  return !!obj.getFirstDescendant((d) => Node.isCallExpression(d) || Node.isNewExpression(d) || Node.isTaggedTemplateExpression(d) || Node.isFunctionLikeDeclaration(d) || Node.isArrowFunction(d) || Node.isFunctionExpression(d));
}

/** `intervalMs: options.pollingInterval`: keys of an options parameter's type that the profile maps. */
export function mappedOptions(ctx: TsRewriteContext, old: OldBase, param: string, typeText: string | null, taken: Set<string>): string[] {
  if (!typeText) return [];
  const decl = ctx.sf.getInterface(typeText) ?? ctx.sf.getTypeAlias(typeText);
  if (!decl) return [];
  const props = new Set(decl.getType().getProperties().map((s) => s.getName()));
  const out: string[] = [];
  for (const [from, to] of Object.entries(old.options)) {
    if (!props.has(from) || taken.has(to)) continue;
    taken.add(to);
    out.push(`${to}: ${param}.${from}`);
  }
  return out;
}

/**
 * The constructor a class without one gets when the old base took parameters: the same
 * parameters, super() with the new base's options, and the carried members assigned.
 */
export function oldBaseConstructor(ctx: TsRewriteContext, args: Map<string, string>, nameKey: string): string | null {
  const old = oldBase(ctx);
  if (!old || old.params.length === 0) return null;
  const params = old.params.map((p) => {
    const t = paramType(ctx, old, p);
    return `${p.name}${p.optional && !p.initializer ? '?' : ''}${t ? `: ${t}` : ''}${p.initializer ? ` = ${p.initializer}` : ''}`;
  });
  const taken = new Set(args.keys());
  const extra = old.params.flatMap((p) => mappedOptions(ctx, old, p.name, paramType(ctx, old, p), taken));
  const ours = [...args.entries()].map(([k, v]) => (k === nameKey ? `${nameKey}: ${v}` : v));
  const superText = `{ ${[...ours, ...extra].join(', ')} }`;
  ctx.generated.push(superText);
  const stores = old.params.filter((p) => p.stored && ctx.carried.includes(p.stored)).map((p) => `${ctx.unit}this.${p.stored} = ${p.name};`);
  declareCarried(ctx, old);
  return `constructor(${params.join(', ')}) {\n${ctx.unit}super(${superText});${stores.length ? `\n${stores.join('\n')}` : ''}\n}`;
}

/** The class had a constructor calling the old one: carried members are assigned after super(). */
export function carryAfterSuper(ctx: TsRewriteContext, call: CallExpression): void {
  const old = oldBase(ctx);
  if (!old) return;
  const stmt = call.getParentWhile((p) => !Node.isExpressionStatement(p))?.getParent();
  const superStmt = stmt && Node.isExpressionStatement(stmt) ? stmt : call.getFirstAncestor((a) => Node.isExpressionStatement(a));
  if (!superStmt) return;
  const lines: string[] = [];
  old.params.forEach((p, i) => {
    if (!p.stored || !ctx.carried.includes(p.stored)) return;
    const arg = call.getArguments()[i];
    lines.push(`this.${p.stored} = ${arg ? (bound.get(arg) ?? arg.getText()) : p.initializer ?? 'undefined'};`);
  });
  if (lines.length === 0) return;
  const indent = indentAt(ctx.text, superStmt.getStart());
  ctx.edits.insert(superStmt.getEnd(), lines.map((l) => `\n${indent}${l}`).join(''));
  declareCarried(ctx, old);
}

/** Option keys the profile renames, for the super() call the class already makes. */
export function oldOptionKeys(ctx: TsRewriteContext): Record<string, string> {
  return oldBase(ctx)?.options ?? {};
}

/** TypeScript needs the carried members declared: `protected readonly options: RelayerOptions;`. */
function declareCarried(ctx: TsRewriteContext, old: OldBase): void {
  if (ctx.js) return;
  for (const p of old.params) {
    if (!p.stored || !ctx.carried.includes(p.stored) || ctx.newFields.some((f) => new RegExp(`^protected (readonly )?${p.stored}\\b`).test(f))) continue;
    const t = paramType(ctx, old, p) ?? 'unknown';
    ctx.newFields.push(`protected ${p.readonly ? 'readonly ' : ''}${p.stored}${p.optional && !p.initializer ? '?' : ''}: ${t};`);
    importTypes(ctx, old, t);
  }
}

/** Types the carried declaration names that the agent file does not have: imported from the old base's module. */
function importTypes(ctx: TsRewriteContext, old: OldBase, typeText: string): void {
  const spec = ctx.parent.kind === 'old-base' && Node.isIdentifier(ctx.parent.expr) ? importOf(ctx.sf, ctx.parent.expr.getText())?.specifier : undefined;
  if (!spec) return;
  for (const id of typeText.match(/\b[A-Z][A-Za-z0-9_]*\b/g) ?? []) {
    if (ctx.sf.getInterface(id) || ctx.sf.getTypeAlias(id) || ctx.sf.getClass(id) || ctx.sf.getEnum(id) || importOf(ctx.sf, id)) continue;
    if (['Record', 'Partial', 'Readonly', 'Array', 'Promise', 'Map', 'Set'].includes(id)) continue;
    ctx.addImport(id, spec);
  }
}
