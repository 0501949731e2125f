// A hand-made registration whose payload carries fields the base's record lacks (capabilities, a
// version, tags, a region) moves onto the base when the base has a record hook (the reference base's
// `registrationRecord()`) and each field reads only what is set by the time the base registers (at
// start(), after the constructor, before onStart()): literals, module constants, the environment, the
// base's own properties and the agent's properties written nowhere but in their declaration or the
// constructor. The registration goes like one sending only the base's fields, and an override built on
// super() adds the fields, so the registry's record keeps them, from one registration instead of two
// racing. Anything else (a field set later, a local of the method, a spread, an event-driven or Consul
// registration, a static factory's, one to a registry or advertising a host the base's is not) keeps
// the review item of remove-registry-push.ts. closure-factory-agent.ts uses recordFields() for a
// factory's registration (its fields read from the closure's constants and the factory's parameters).
import { Node, SyntaxKind, VariableDeclarationKind, type ObjectLiteralExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import { methodText } from '../../src/lang/typescript/generate.js';
import { descendantsOfKind, pureValue, thisMember } from '../../src/lang/typescript/syntax.js';
import { registryUrlOf } from './registry-env.js';

/**
 * For the registration method `method` (its body `body`, `extra` what its payload sends beyond the base's
 * record), a function that writes the record hook's override and says so, to be run once the method went;
 * null when its extra fields cannot move.
 */
export function recordOverride(ctx: TsRewriteContext, method: string, body: Node, extra: { fields: string[]; line: number; payload: ObjectLiteralExpression }, inline?: Node): (() => void) | null {
  const hook = ctx.base.registrationRecordMethod;
  if (!hook || ctx.members.has(hook)) return null;
  // A static factory (`static async open()`) registers before any instance exists: no hook of one reads it.
  const fn = body.getParent();
  if (!fn || !Node.isMethodDeclaration(fn) || fn.isStatic()) return null;
  // Its registry must be the base's (REGISTRY_URL, or a variable or fallback carried onto it), and the
  // host it advertised the base's: else the one record would not be the one the legacy made.
  if (!registryUrlOf(ctx, body) || !baseHost(extra.payload)) return null;
  // Registered while the agent's events said so (`this.on('connected', () => this.register())`): the
  // base registers once at start, a rule for a person (the review item of remove-registry-push.ts).
  if (listenerCalls(ctx, method)) return null;
  const props = recordFields(body, extra, ctx.ts.super_call.name_property, moduleConstant, (m) => constructedMember(ctx, m));
  if (!props) return deferredOverride(ctx, method, body, extra, inline);
  return () => {
    const body = `${ctx.unit}return { ...super.${hook}(), ${props.join(', ')} };`;
    ctx.newMembers.push({ name: hook, text: methodText(ctx, { name: hook, async: false, body, returns: 'Record<string, unknown>' }) });
    ctx.warnings.push(
      `${method}() registered ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}) beside what the base sends: it went, and ${hook}() now adds ${extra.fields.length > 1 ? 'them' : 'it'} to the base's record (read when the base registers, at start, before onStart())`,
    );
  };
}

/**
 * A field read from agent state set after the constructor (`this.region = await detectRegion()` in start(),
 * or in an init() start awaits): the base would build its record before onStart() sets it. When the base
 * lets its registration begin later (its registrationStartMethod) and the legacy registered from one
 * statement of a method of the agent (`await this.register();`), the record override is written as for a
 * constructed field, the base's start no longer registers, and that statement becomes the base's
 * registration: the record is built where the legacy built it, once those fields are set. So for a request
 * written inline in a method (`inline`, start()'s `await fetch(`${REGISTRY_URL}/register`, ...)` after an
 * if/else set `this.scheme`): the base's registration begins where that statement was. Null when not.
 */
function deferredOverride(ctx: TsRewriteContext, method: string, body: Node, extra: { fields: string[]; line: number; payload: ObjectLiteralExpression }, inline?: Node): (() => void) | null {
  const hook = ctx.base.registrationRecordMethod!;
  const begin = ctx.base.registrationStartMethod;
  if (!begin || ctx.members.has(begin)) return null;
  const props = recordFields(body, extra, ctx.ts.super_call.name_property, moduleConstant, (m) => agentField(ctx, m));
  if (!props) return null;
  const calls = inline ? [] : descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).filter((c) => thisMember(c.getExpression()) === method);
  if (!inline && calls.length !== 1) return null;
  const stmt = inline ?? registrationStatement(calls[0]!);
  const fn = stmt?.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  // (super.x() needs a method of the class; a constructor would register before the base serves health)
  if (!stmt || !fn || !Node.isMethodDeclaration(fn) || fn.isStatic() || fn.getParent() !== ctx.cls) return null;
  const late = extra.fields.filter((f) => !recordFields(body, { fields: [f], payload: extra.payload }, ctx.ts.super_call.name_property, moduleConstant, (m) => constructedMember(ctx, m)));
  return () => {
    // Where the call was: the outermost statement the rewrite removed around it (a try that only logged a
    // failed registration), in a body that stays.
    let at: Node = stmt;
    for (let p = stmt.getParent(); p && p !== fn && ctx.edits.removes(p.getStart(), p.getEnd()); p = p.getParent()) if (Node.isStatement(p)) at = p;
    const block = at.getParent();
    if (!ctx.edits.removes(at.getStart(), at.getEnd()) || !block || !Node.isBlock(block) || ctx.edits.removes(block.getStart(), block.getEnd())) {
      ctx.kept.push({ symbol: method, line: extra.line, reason: `${method}() registered ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}), read from what is set after the constructor; it went, and where it was called (line ${stmt.getStartLineNumber()}) cannot call the base's registration: the base registers at start without them` });
      return;
    }
    const [start] = ctx.edits.lineRange(at);
    ctx.edits.insert(start, `${indentAt(ctx.sf.getFullText(), at.getStart())}super.${begin}();\n`);
    ctx.newMembers.push({ name: hook, text: methodText(ctx, { name: hook, async: false, body: `${ctx.unit}return { ...super.${hook}(), ${props.join(', ')} };`, returns: 'Record<string, unknown>' }) });
    ctx.newMembers.push({
      name: begin,
      text: methodText(ctx, { name: begin, async: false, body: `${ctx.unit}// Not at start: the record's ${late.map((f) => `'${f}'`).join(', ')} ${late.length > 1 ? 'are' : 'is'} set after it; super.${begin}() is called where ${method}() ${inline ? 'registered' : 'was'}, once ${late.length > 1 ? 'they are' : 'it is'}.` }),
    });
    ctx.warnings.push(
      `${method}() registered ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}) beside what the base sends, ${late.map((f) => `'${f}'`).join(', ')} set after the constructor: it went, ${hook}() now adds them to the base's record, ` +
        `and the base registers where ${inline ? `${method}() registered` : `${method}() was called`} (line ${stmt.getStartLineNumber()}, super.${begin}() now; not at start), once they are set, retrying with back-off`,
    );
  };
}

/** `await this.register();`, `this.register();`, `void this.register();`: the call is a statement of its own. */
function registrationStatement(call: Node): Node | null {
  let n: Node = call;
  const parent = n.getParent();
  if (parent && (Node.isAwaitExpression(parent) || Node.isVoidExpression(parent))) n = parent;
  const stmt = n.getParent();
  return stmt && Node.isExpressionStatement(stmt) ? stmt : null;
}

/** A property of the agent's (whenever it is set) or of the base's. */
function agentField(ctx: TsRewriteContext, name: string): boolean {
  const own = ctx.members.get(name);
  if (!own) return ctx.base.members.get(name)?.kind === 'property';
  return own.kind === 'property' || own.kind === 'parameter-property';
}

/**
 * The payload's extra properties as written (`capabilities: CAPABILITIES`), when each can be read where the
 * base registers: named, lower-case (Consul's agent API, `Tags`, `Check`, is not the base's record), a
 * value computed without effects whose identifiers `readable` accepts and whose `this.x` `member` accepts.
 * Null when one cannot, or the body sends another record besides (a register and a heartbeat body).
 */
export function recordFields(
  body: Node,
  extra: { fields: string[]; payload: ObjectLiteralExpression },
  nameProperty: string,
  readable: (id: Node) => boolean,
  member: (name: string) => boolean,
): string[] | null {
  const named = descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression).filter((l) => l !== extra.payload && !extra.payload.containsRange(l.getPos(), l.getEnd()) && l.getProperty(nameProperty));
  if (named.length > 0) return null;
  const props: string[] = [];
  for (const p of extra.payload.getProperties()) {
    if (!Node.isPropertyAssignment(p) && !Node.isShorthandPropertyAssignment(p)) return null; // a spread, a method
    const name = p.getName();
    if (!extra.fields.includes(name)) continue;
    if (/^[A-Z]/.test(name)) return null;
    const value = Node.isPropertyAssignment(p) ? p.getInitializer() : p.getNameNode();
    if (!value || !readableValue(value, readable, member)) return null;
    props.push(p.getText());
  }
  return props.length > 0 ? props : null;
}

/** The payload advertises no host, or the one the base does by default (loopback, `this.host`). */
function baseHost(payload: ObjectLiteralExpression): boolean {
  return otherHosts(payload).length === 0;
}

/** The payload's host properties (`host: os.hostname()`) that advertise another host than the base's default (loopback, `this.host`). */
export function otherHosts(payload: ObjectLiteralExpression): Node[] {
  return payload.getProperties().filter((p) => {
    const name = Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : null;
    if (name === null || !/^(host|address|Address|hostname)$/.test(name)) return false;
    const value = Node.isPropertyAssignment(p) ? p.getInitializer()?.getText() : null;
    return !value || !/^(['"`])(127\.0\.0\.1|localhost)\1$|^this\.host$/.test(value);
  });
}

/** A statement of the class hands the method to a listener (`this.on('ready', () => this.register())`). */
function listenerCalls(ctx: TsRewriteContext, method: string): boolean {
  return descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).some((c) => {
    if (!/\.(on|once|addListener|prependListener)$/.test(c.getExpression().getText())) return false;
    return c.getArguments().some((a) => [a, ...a.getDescendants()].some((n) => thisMember(n) === method));
  });
}

/** A value computed without effects whose identifiers (but `process`, `undefined` and property names) `readable` accepts, and whose `this.x` `member` does. */
function readableValue(value: Node, readable: (id: Node) => boolean, member: (name: string) => boolean): boolean {
  if (!pureValue(value)) return false;
  for (const n of [value, ...value.getDescendants()]) {
    const m = Node.isPropertyAccessExpression(n) ? thisMember(n) : null;
    if (m !== null) {
      if (!member(m)) return false;
      continue;
    }
    if (n.getKind() === SyntaxKind.ThisKeyword) {
      const parent = n.getParent();
      if (!parent || !Node.isPropertyAccessExpression(parent) || thisMember(parent) === null) return false;
      continue;
    }
    if (!Node.isIdentifier(n)) continue;
    const parent = n.getParent();
    // A property's name (`x.length`, `{ zone: ... }`), not a read of a variable.
    if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === n) continue;
    if (parent && Node.isPropertyAssignment(parent) && parent.getNameNode() === n) continue;
    if (n.getText() === 'process' || n.getText() === 'undefined') continue;
    if (!readable(n)) return false;
  }
  return true;
}

/** A top-level `const` of the module, or an import binding. */
export function moduleConstant(id: Node): boolean {
  const decl = id.getSymbol()?.getDeclarations()[0];
  if (!decl) return false;
  if (Node.isImportSpecifier(decl) || Node.isImportClause(decl) || Node.isNamespaceImport(decl)) return true;
  if (!Node.isVariableDeclaration(decl)) return false;
  const stmt = decl.getVariableStatement();
  return !!stmt && stmt.getDeclarationKind() === VariableDeclarationKind.Const && Node.isSourceFile(stmt.getParent());
}

/** An agent property written only by its declaration or in the constructor, or a property of the base. */
function constructedMember(ctx: TsRewriteContext, name: string): boolean {
  const own = ctx.members.get(name);
  if (!own) return ctx.base.members.get(name)?.kind === 'property';
  if (own.kind !== 'property' && own.kind !== 'parameter-property') return false;
  for (const n of descendantsOfKind(ctx.cls, SyntaxKind.PropertyAccessExpression)) {
    if (thisMember(n) !== name || !written(n)) continue;
    const fn = n.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
    if (!fn || !Node.isConstructorDeclaration(fn)) return false;
  }
  return true;
}

/** `this.x = ...`, `this.x += ...`, `this.x++`: the member itself is written. */
function written(n: Node): boolean {
  const parent = n.getParent();
  if (!parent) return false;
  if (Node.isBinaryExpression(parent)) {
    const k = parent.getOperatorToken().getKind();
    return parent.getLeft() === n && k >= SyntaxKind.FirstAssignment && k <= SyntaxKind.LastAssignment;
  }
  if (Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) return [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(parent.getOperatorToken());
  return false;
}
