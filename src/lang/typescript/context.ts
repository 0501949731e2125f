// The agent as the TypeScript transforms see it, the removal plan they propose into, and the
// infrastructure/business test the plan's conditions use. Transforms (transforms/typescript/)
// only propose; the plan keeps what is safe (no dangling reference) and reports the rest.
import {
  Node,
  SyntaxKind,
  ts,
  type ConstructorDeclaration,
  type PropertyAccessExpression,
  type SourceFile,
  type Statement,
} from 'ts-morph';
import type { FindingKind, KeptForReview } from '../../core/types.js';
import type { TypeScriptProfile } from '../../profile/profile.js';
import type { BaseModel } from './base-model.js';
import type { OutsideCaller } from './references.js';
import { EditBuffer, lineAt } from './edits.js';
import {
  descendantsOfKind,
  blockStatements,
  CALLS,
  calleeText,
  descendantsOfKinds,
  fileNameNodes,
  childBlocks,
  isLogCall,
  isThisAliasStatement,
  namesDeclaredInFunctions,
  thisAlias,
  memberName,
  signalHandlerCall,
  statementCall,
  thisMember,
  thisMembers,
  thisRoot,
  walkAgentCode,
  isFunctionValue,
  isJsFile,
  type ClassLike,
  type ModuleKind,
} from './syntax.js';

export interface AgentMember {
  name: string;
  kind: 'method' | 'property' | 'parameter-property' | 'accessor';
  /** Declarations (several for overloads and accessor pairs; in JavaScript, `this.x = ...` statements of the constructor). */
  nodes: Node[];
  /** The name node of each declaration (an occurrence there is not a use). */
  nameNodes: Node[];
  line: number;
}

export interface MemberProposal {
  name: string;
  /** Module-level function/class/variable instead of a class member. */
  scope?: 'member' | 'module';
  finding: FindingKind;
  reason: string;
  /** Must still hold given the members being removed; returns why not, or null. */
  condition?: (removed: Set<string>) => string | null;
  /** Uses in kept code are never swept away with it (a business queue stays a business queue). */
  sticky?: boolean;
  hint?: string;
  /** When kept, do not report it (helpers such as sleep() that business code may share). */
  quiet?: boolean;
  /**
   * Kept because code that stays still calls it: that makes it the business's own (a retry
   * helper the business's sends use), left as it was with a warning, not an item for review.
   */
  businessWhenUsed?: boolean;
  /**
   * Callers in other files keep working through a method of this name that calls the base's
   * start() (it started the agent's work) or stop() (it stopped it).
   */
  delegate?: 'start' | 'stop';
}

/** A member other classes can call: not private, protected or an ES-private #name. */
export function isPublicMember(ctx: Pick<TsRewriteContext, 'members'>, name: string): boolean {
  if (name.startsWith('#')) return false;
  const m = ctx.members.get(name);
  if (!m) return false;
  return m.nodes.every((n) => !(Node.isModifierable(n) && (n.hasModifier(SyntaxKind.PrivateKeyword) || n.hasModifier(SyntaxKind.ProtectedKeyword))));
}

/**
 * A member code in another file can reach: public, or protected (a subclass in another file calls
 * it through super, or overrides it and expects the class to keep calling it). Private and `#`
 * members only this file can reach.
 */
export function reachableFromOutside(ctx: Pick<TsRewriteContext, 'members'>, name: string): boolean {
  if (name.startsWith('#')) return false;
  const m = ctx.members.get(name);
  if (!m) return false;
  return m.nodes.every((n) => !(Node.isModifierable(n) && n.hasModifier(SyntaxKind.PrivateKeyword)));
}

/** `protected override startHealth(): void {`: a subclass's own declaration of the member (an override), not a call. */
export function overrideLine(text: string, name: string): boolean {
  const n = name.replace(/\$/g, '\\$');
  return new RegExp(`^(?:(?:public|protected|private|override|async|static|readonly)\\s+)*${n}\\s*(?:<[^>]*>)?\\(`).test(text.trim());
}

/** `src/controller.ts:12, test/agent.test.js:30` (at most four, then a count). */
export function callerList(callers: OutsideCaller[]): string {
  const shown = callers.slice(0, 4).map((c) => `${c.file}:${c.line}`);
  return callers.length > 4 ? `${shown.join(', ')} and ${callers.length - 4} more` : shown.join(', ');
}

export interface StatementProposal {
  node: Node;
  symbol: string;
  finding: FindingKind;
  reason: string;
  /** Remove only if all of these members go too. */
  requires?: string[];
}

/** What the class extends before the rewrite, and so how it moves onto the base. */
export type ParentPlan =
  | { kind: 'none' }
  /** Already the base (an output rewritten again). */
  | { kind: 'base' }
  /** Node's EventEmitter, and the base extends EventEmitter too: the base takes its place. */
  | { kind: 'event-emitter'; expr: Node }
  /** An older base a base-to-base profile maps onto the new one. */
  | { kind: 'old-base'; expr: Node; old: import('./old-base.js').OldBase }
  /** An agent family's parent in the repository: the class follows the parent's `_v2`. */
  | { kind: 'family'; expr: Node; parent: import('./family.js').FamilyParent };

export interface EntryInfo {
  /** The statement block that constructs the agent (guard body, main(), or the file). */
  container: Node;
  guarded: boolean;
  newExpr: Node;
  /** The method called on the new instance (`start` in `agent.start()`), and the name node to rename. */
  method: string | null;
  methodNameNode: Node | null;
  /** `const agent = new X()` → "agent". */
  variable: string | null;
  statement: Node;
  /** `new X().on('a', f)` with no start call: the last call of that chain. */
  chainEnd?: Node | null;
}

export interface TsRewriteContext {
  root: string;
  file: string;
  sf: SourceFile;
  text: string;
  cls: ClassLike;
  className: string;
  /** How module-level code names the class (`X`, `module.exports`, `exports.X`). */
  classRef: string | null;
  /** A JavaScript file: generated code has no types or modifiers, and nothing is type-checked. */
  js: boolean;
  ts: TypeScriptProfile;
  baseClass: string;
  base: BaseModel;
  kind: ModuleKind;
  parent: ParentPlan;
  members: Map<string, AgentMember>;
  ctor: ConstructorDeclaration | undefined;
  edits: EditBuffer;
  plan: RemovalPlan;
  /** Properties of the object passed to super(), in order: key → expression text. */
  superArgs: Map<string, string>;
  /**
   * The last top-level statement of the constructor that a super() argument reads a local of
   * (`const num = (v, d) => ...;` before `this.port = num(...)`): super() goes after it. Only
   * set when that statement and every one before it never mention this or super.
   */
  superAfter?: Node;
  /** Class members to add at the end of the class body (text without indentation). */
  newMembers: Array<{ name: string; text: string }>;
  warnings: string[];
  kept: KeptForReview[];
  /**
   * The kept item that makes the output fail whatever it does (see RewriteOutcome.unstartable):
   * the agent ends needs-review with no _v2 written.
   */
  unstartable?: KeptForReview & { because?: string };
  /** No entry point in the output: the module only declares the agent, another file starts it. */
  startedElsewhere?: boolean;
  /** Symbols removed outside the plan (e.g. parameter-property modifiers). */
  removedExtra: string[];
  entry: EntryInfo | null;
  /** Members renamed after resolution (old → new). */
  renames: Map<string, string>;
  /**
   * Agent methods the rewrite calls at the end of the stop renamed onStop() (the signal handler's
   * `svc.stop().then(() => svc.flush())`), in order, and whether each call is awaited: steps of the stop.
   */
  onStopAppended: Array<{ name: string; awaited: boolean }>;
  /** Proposals that depend on the first resolution; the first that applies triggers a second one. */
  deferred: Array<(removed: Set<string>) => boolean>;
  /** Runs after the plan is resolved, in order of registration. */
  after: Array<(removed: Set<string>) => void>;
  /**
   * The removed servers' close calls whose callback statements take their place (set once the plan
   * is resolved; unwrapped after the `after` hooks, so that their edits inside a callback count).
   */
  closeUnwraps?: CloseUnwrap[];
  /** The file's indentation unit. */
  unit: string;
  /** The file's string quote (from its first import or require). */
  quote: string;
  /** The environment variable the base reads its health port from (HEALTH_CHECK_PORT). */
  healthPortEnv: string;
  /** The environment variable the base reads its registry URL from (REGISTRY_URL); null when the profile's base registers nowhere. */
  registryEnv: string | null;
  /** Facts one transform learns for another (the health server's port, ...). */
  hints: { healthPortExpr?: Node; /** The member holding the health server whose port healthPortExpr is. */ healthHolder?: string; businessHealth?: boolean; loopHost?: string; heartbeats?: Set<string>; /** Methods whose registry request is only a deregistration (see stop-deregistration.ts). */ deregisterers?: Set<string>; /** Why a registration through an imported helper stayed (imported-registration.ts). */ importedRegistrationLeft?: string; /** Start methods that stay but whose inline registration went (inline-registration.ts): their registration is the base's. */ inlineRegistrationsDropped?: Set<string>; /** The registry URLs (X of `${X}/register`, as written) those inline registrations posted to. */ droppedRegistrationUrls?: Set<string>; /** Members named like the base's that stay the agent's own (its flag guards kept code of its own registry): renamed, not merged. */ ownFlags?: Set<string>; /** The name the hand-made registration registered under: its text, and where it was. */ registryName?: { value: string; line: number; method: string; /** Not known before super(): reported, not passed. */ runtime?: boolean; /** The second entry's name (`${this.name}-http`) the value was read from: value is what it is built from. */ derived?: string }; /** Methods whose value a removed signal handler exited with (`process.exit(await svc.stop())`): their line there. */ exitCodeOf?: Map<string, number>; /** Those whose hook now sets process.exitCode to that value. */ exitCodeKept?: Set<string>; /** Lines the constructor runs just before super() (it reads only the constructor's parameters), the warning said once it is placed, and the one said when no super() of the constructor can take it. */ beforeSuper?: { statement: string; placed: string; unplaced: string; /** The variable it sets, for the shared-process review (shared-env-default.ts). */ env: string } };
  /** Members an old base stored from its constructor parameters, now kept by the agent itself. */
  carried: string[];
  /** Field declarations to add at the top of the class body (text without indentation). */
  newFields: string[];
  /**
   * `this.x` spellings changed in the class (a renamed property, an old base's member mapped to
   * the new base): code moved into new members (a loop body into runOnce()) gets them too.
   */
  memberRewrites: Array<{ from: string; to: string }>;
  /** Imports requested by transforms, written once at the end. */
  pendingImports: Array<{ name: string; specifier: string }>;
  /** Other text the transforms write (the super() call), so the helpers it names stay. */
  generated: string[];
  /** A constructor to add (the class had none). */
  newConstructor: string | null;
  /** Text for an expression usable before super() (literal, constant, parameter, inlined this.x), or null. */
  constantValue(n: Node): string | null;
  /** The method is pure infrastructure given the removed members (extra: nodes that count as infrastructure). */
  isInfraMethod(name: string, removed: Set<string>, extra: Node[], pushCode?: boolean): boolean;
  /** Rename a kept method (declarations only) and note why. */
  renameMember(from: string, to: string, why: string): void;
  /** Uses of a member outside the entry call and its own declarations. */
  usesOutside(name: string): number;
  addImport(name: string, specifier: string): void;
  /** Uses of a member of the agent in other files of the repository (cached per member). */
  outsideCallers(name: string): OutsideCaller[];
  /** Lines of other files that import the agent's module and name this top-level symbol. */
  moduleImporters(name: string): OutsideCaller[];
}

export function collectMembers(cls: ClassLike): { members: Map<string, AgentMember>; ctor: ConstructorDeclaration | undefined } {
  const members = new Map<string, AgentMember>();
  const add = (name: string, kind: AgentMember['kind'], node: Node, nameNode: Node) => {
    const m = members.get(name);
    if (m) {
      m.nodes.push(node);
      m.nameNodes.push(nameNode);
    } else members.set(name, { name, kind, nodes: [node], nameNodes: [nameNode], line: node.getStartLineNumber() });
  };
  let ctor: ConstructorDeclaration | undefined;
  for (const m of cls.getMembers()) {
    if (Node.isConstructorDeclaration(m)) {
      if (m.hasBody()) ctor = m;
      for (const p of m.getParameters()) if (p.isParameterProperty()) add(p.getName(), 'parameter-property', p, p.getNameNode());
      continue;
    }
    const name = memberName(m);
    if (!name) continue;
    const nameNode = (m as unknown as { getNameNode(): Node }).getNameNode();
    if (Node.isMethodDeclaration(m)) add(name, 'method', m, nameNode);
    // `poll = async () => { ... }`: a method written as an arrow-function property.
    else if (Node.isPropertyDeclaration(m)) add(name, isFunctionValue(m.getInitializer()) ? 'method' : 'property', m, nameNode);
    else add(name, 'accessor', m, nameNode);
  }
  // JavaScript declares fields by assigning them in the constructor: `this.timer = null;`.
  const declared = new Set(members.keys());
  for (const st of ctor?.getBody() && Node.isBlock(ctor.getBody()!) ? (ctor.getBody() as import('ts-morph').Block).getStatements() : []) {
    const target = assignedThisMember(st);
    if (!target || declared.has(target.name)) continue;
    add(target.name, 'property', st, target.nameNode);
  }
  // Overload signatures come before the implementation: report the first line.
  return { members, ctor };
}

/** `this.x = value;` as a statement: the member and the node naming it. */
export function assignedThisMember(st: Node): { name: string; nameNode: Node; value: Node } | null {
  if (!Node.isExpressionStatement(st)) return null;
  const e = st.getExpression();
  if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  const left = e.getLeft();
  const name = thisMember(left);
  if (!name) return null;
  const nameNode = Node.isPropertyAccessExpression(left) ? left.getNameNode() : Node.isElementAccessExpression(left) ? left.getArgumentExpressionOrThrow() : left;
  return { name, nameNode, value: e.getRight() };
}

/** The member of the class whose body holds a node: a method, or an arrow-function property. */
export function hostMember(n: Node, cls: ClassLike): string | null {
  const host = n.getFirstAncestor((a) => (Node.isMethodDeclaration(a) || Node.isPropertyDeclaration(a)) && a.getParent() === cls);
  if (!host || !(Node.isMethodDeclaration(host) || Node.isPropertyDeclaration(host))) return null;
  if (Node.isPropertyDeclaration(host) && !isFunctionValue(host.getInitializer())) return null;
  return host.getName();
}

/** The body of a method (the declaration with a body, or an arrow-function property's). */
export function methodBody(ctx: TsRewriteContext, name: string): Node | undefined {
  const m = ctx.members.get(name);
  if (!m || m.kind !== 'method') return undefined;
  for (const n of m.nodes) {
    if (Node.isMethodDeclaration(n) && n.getBody()) return n.getBody();
    const fn = Node.isPropertyDeclaration(n) ? n.getInitializer() : undefined;
    if (fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return fn.getBody();
  }
  return undefined;
}

// ------------------------------------------------------------------ infrastructure test

export interface InfraScope {
  removed: Set<string>;
  /** Members whose statements are swept with them (not sticky). */
  sweep: Set<string>;
  baseOwned: Set<string>;
  /** The signals the base handles itself (a handler of another signal is the agent's own). */
  baseSignals?: Set<string>;
  /**
   * Removed members that are the business's own helpers (businessWhenUsed: a reconnect loop with
   * back-off that reads the feed): they go only when nothing calls them, so a call to one is
   * business work, never infrastructure that makes its caller removable with it.
   */
  business?: Set<string>;
}

/** What counts as infrastructure once `removed` goes: those members (swept unless sticky) and the base's. */
export function scopeFor(ctx: TsRewriteContext, removed: Set<string>): InfraScope {
  const sweep = new Set([...removed].filter((n) => !ctx.plan.members.get(n)?.sticky && ctx.plan.members.get(n)?.scope !== 'module'));
  const business = new Set([...removed].filter((n) => ctx.plan.members.get(n)?.businessWhenUsed));
  return { removed, sweep, baseOwned: new Set(ctx.base.members.keys()), baseSignals: ctx.base.signals, business };
}

/** The statement only sets up, uses or tears down members being removed. */
/**
 * A condition made of removed members only: `this.server`, `!this.timer`, `this.server && this.server.listening`,
 * `this.timer !== null`, combined with !, &&, || and comparisons to literals.
 */
function testsOnly(e: Node, sweep: Set<string>): boolean {
  if (Node.isParenthesizedExpression(e) || Node.isNonNullExpression(e)) return testsOnly(e.getExpression(), sweep);
  if (Node.isPrefixUnaryExpression(e)) return e.getOperatorToken() === SyntaxKind.ExclamationToken && testsOnly(e.getOperand(), sweep);
  if (Node.isBinaryExpression(e)) {
    const op = e.getOperatorToken().getKind();
    if (op === SyntaxKind.AmpersandAmpersandToken || op === SyntaxKind.BarBarToken) return testsOnly(e.getLeft(), sweep) && testsOnly(e.getRight(), sweep);
    const cmp = [SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken];
    if (!cmp.includes(op)) return false;
    const literal = (x: Node) => Node.isNullLiteral(x) || Node.isLiteralExpression(x) || Node.isTrueLiteral(x) || Node.isFalseLiteral(x) || (Node.isIdentifier(x) && x.getText() === 'undefined');
    return (testsOnly(e.getLeft(), sweep) && literal(e.getRight())) || (literal(e.getLeft()) && testsOnly(e.getRight(), sweep));
  }
  // this.server, this.server?.listening: a read rooted at a removed member (no call in it)
  if (Node.isPropertyAccessExpression(e)) {
    const root = thisRoot(e);
    return !!root && sweep.has(root) && descendantsOfKind(e, SyntaxKind.CallExpression).length === 0;
  }
  return false;
}

export function belongsTo(stmt: Node, sweep: Set<string>): boolean {
  if (sweep.size === 0) return false;
  // `return new Promise((resolve) => this.server.listen(this.port, () => resolve()))`: a method
  // that hands its caller the promise of a removed member's own call.
  if (Node.isReturnStatement(stmt)) {
    let e: Node | undefined = stmt.getExpression();
    while (e && (Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
    return !!e && Node.isNewExpression(e) && e.getExpression().getText() === 'Promise' && promiseAround(e, sweep);
  }
  if (Node.isExpressionStatement(stmt)) {
    let e: Node = stmt.getExpression();
    while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      const target = thisMember(e.getLeft());
      if (!target || !sweep.has(target)) return false;
      return !callsKeptMember(e.getRight(), sweep);
    }
    // `await new Promise((resolve) => this.server.listen(port, resolve))`: a promise around a
    // removed member's own call.
    if (Node.isNewExpression(e) && e.getExpression().getText() === 'Promise') return promiseAround(e, sweep);
    if (Node.isCallExpression(e)) {
      const root = thisRoot(e);
      if (root && sweep.has(root)) return !closeCallbackDoesMore(e, sweep);
      // `await once(this.health, 'listening')` (node:events): waiting for a removed server to bind.
      if (eventsOnceOn(e, sweep)) return true;
      // `await promisify(this.server.close.bind(this.server))()`: a removed member's own method,
      // promisified and called at once.
      const callee = e.getExpression();
      if (Node.isCallExpression(callee) && /^(util\.)?promisify$/.test(calleeText(callee)) && callee.getArguments().length === 1 && e.getArguments().length === 0) {
        const r = thisRoot(callee.getArguments()[0]);
        if (r && sweep.has(r) && !callsKeptMember(callee.getArguments()[0]!, sweep)) return true;
      }
      const fn = calleeText(e);
      if (/^(clearInterval|clearTimeout|clearImmediate)$/.test(fn)) {
        const m = thisMembers(e);
        return m.size > 0 && [...m].every((x) => sweep.has(x));
      }
      // `this.stop.signal.addEventListener('abort', () => this.server?.close())`: a listener whose
      // whole job is a removed member (the rest of the call names the event and its options).
      if (/\.(addEventListener|on|once)$/.test(fn)) {
        const fns = e.getArguments().filter((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a));
        const others = e.getArguments().filter((a) => !fns.some((f) => f === a));
        if (fns.length !== 1 || others.some((a) => thisMembers(a).size > 0 || descendantsOfKind(a, SyntaxKind.CallExpression).length > 0)) return false;
        const body = (fns[0] as unknown as import('ts-morph').ArrowFunction).getBody();
        if (Node.isBlock(body)) return body.getStatements().length > 0 && body.getStatements().every((x) => belongsTo(x, sweep));
        const root = thisRoot(body);
        return !!root && sweep.has(root) && !callsKeptMember(body, sweep);
      }
      if (/^(setInterval|setTimeout|setImmediate)$/.test(fn) || signalHandlerCall(stmt)) {
        // A timer or signal handler whose whole job is a removed member.
        const m = thisMembers(e);
        return m.size > 0 && [...m].every((x) => sweep.has(x));
      }
    }
    return false;
  }
  if (Node.isIfStatement(stmt)) {
    const m = thisMembers(stmt.getExpression());
    if (m.size === 0 || ![...m].some((x) => sweep.has(x))) return false;
    // `if (!url || this.registered) return;`: a guard testing more than removed members (a local,
    // a kept member, a call) goes only when everything it guards goes too; a return or a log line
    // it guards stays, with the test that decides it.
    const only = testsOnly(stmt.getExpression(), sweep);
    return childBlocks(stmt).every((b) => blockStatements(b).every((s) => (only && isTrivial(s)) || belongsTo(s, sweep)));
  }
  if (Node.isTryStatement(stmt)) {
    const tried = blockStatements(stmt.getTryBlock());
    if (!tried.some((s) => belongsTo(s, sweep))) return false;
    // `try { await this.register(); } catch (err) { this.attempts += 1; this.retryAt = ...; }`:
    // when everything it tries goes, its catch handled only failures of removed work and would
    // be dead code behind an empty try; the whole statement goes (a finally still decides).
    const finallyBlock = stmt.getFinallyBlock();
    if (tried.every((s) => isTrivial(s) || belongsTo(s, sweep)) && !tried.some(returnsOrThrows)) {
      return !finallyBlock || blockStatements(finallyBlock).every((s) => isTrivial(s) || belongsTo(s, sweep));
    }
    return childBlocks(stmt).every((b) => blockStatements(b).every((s) => isTrivial(s) || belongsTo(s, sweep)));
  }
  return false;
}

/** A trivial statement that still leaves the function (`return;`): it decides what follows. */
function returnsOrThrows(stmt: Node): boolean {
  return Node.isReturnStatement(stmt) || Node.isThrowStatement(stmt);
}

/**
 * `once(this.server, 'listening')` with `once` from node:events (imported by name, or called as
 * `events.once` / `EventEmitter.once` on that module's import): a promise about the removed
 * member alone, whose other arguments are literals.
 */
function eventsOnceOn(call: import('ts-morph').CallExpression, sweep: Set<string>): boolean {
  const [target, ...rest] = call.getArguments();
  if (!target || rest.length === 0 || !rest.every((a) => Node.isStringLiteral(a) || Node.isNoSubstitutionTemplateLiteral(a))) return false;
  let t: Node = target;
  while (Node.isNonNullExpression(t) || Node.isParenthesizedExpression(t) || Node.isAsExpression(t)) t = t.getExpression();
  const member = thisMember(t);
  if (!member || !sweep.has(member)) return false;
  const callee = call.getExpression();
  const fromEvents = (id: Node) =>
    (id.getSymbol()?.getDeclarations() ?? []).some((d) => {
      const decl = d.getFirstAncestorByKind(SyntaxKind.ImportDeclaration);
      return !!decl && /^(node:)?events$/.test(decl.getModuleSpecifierValue());
    });
  if (Node.isIdentifier(callee)) return fromEvents(callee) && importedName(callee) === 'once';
  if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'once') {
    const obj = callee.getExpression();
    return Node.isIdentifier(obj) && fromEvents(obj);
  }
  return false;
}

/** The exported name an imported identifier stands for (`once` of `import { once as onceEvent }`). */
function importedName(id: Node): string | null {
  for (const d of id.getSymbol()?.getDeclarations() ?? []) {
    if (Node.isImportSpecifier(d)) return d.getName();
  }
  return null;
}

/**
 * `new Promise(executor)` around a removed member's call. Every member it names is removed, or
 * kept members are only read (`this.healthPort` as the listen port) while every call in it is
 * on a removed member or settles the promise, and it assigns nothing.
 */
function promiseAround(e: import('ts-morph').NewExpression, sweep: Set<string>): boolean {
  const m = thisMembers(e);
  if (m.size === 0 || callsKeptMember(e, sweep)) return false;
  if ([...m].every((x) => sweep.has(x))) return true;
  if (![...m].some((x) => sweep.has(x))) return false;
  const executor = e.getArguments()[0];
  if (!executor || !(Node.isArrowFunction(executor) || Node.isFunctionExpression(executor))) return false;
  const settle = new Set(executor.getParameters().map((p) => p.getName()));
  for (const c of descendantsOfKind(e, SyntaxKind.CallExpression)) {
    const root = thisRoot(c);
    if (!(root && sweep.has(root)) && !settle.has(calleeText(c))) return false;
  }
  return !e.getDescendants().some((n) => (Node.isBinaryExpression(n) && /^(=|\+=|-=|\|\|=|\?\?=|&&=)$/.test(n.getOperatorToken().getText())) || Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n));
}

function callsKeptMember(expr: Node, sweep: Set<string>): boolean {
  let found = false;
  walkAgentCode(
    expr,
    (n) => {
      if (found) return false;
      const r = thisRoot(n);
      if (r && !sweep.has(r)) found = true;
    },
    CALLS,
  );
  return found;
}

/** A log line, a bare return, an empty statement. */
export function isTrivial(stmt: Node): boolean {
  if (Node.isEmptyStatement(stmt)) return true;
  if (Node.isReturnStatement(stmt)) {
    const e = stmt.getExpression();
    return !e || Node.isLiteralExpression(e) || e.getKind() === SyntaxKind.TrueKeyword || e.getKind() === SyntaxKind.FalseKeyword || e.getKind() === SyntaxKind.NullKeyword;
  }
  // `var self = this;`: only names the agent for the code around it.
  if (isThisAliasStatement(stmt)) return true;
  const call = statementCall(stmt);
  return isLogCall(call);
}

/** Infrastructure the base provides: logging, exiting, timers/servers/flags of removed or base-owned members. */
export function isInfraStatement(stmt: Node, scope: InfraScope): boolean {
  if (isTrivial(stmt) || belongsTo(stmt, scope.sweep)) return true;
  const infra = (m: string) => scope.removed.has(m) || scope.baseOwned.has(m);
  if (Node.isExpressionStatement(stmt)) {
    let e: Node = stmt.getExpression();
    while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      const target = thisMember(e.getLeft());
      const r = e.getRight();
      const literal = Node.isLiteralExpression(r) || [SyntaxKind.TrueKeyword, SyntaxKind.FalseKeyword, SyntaxKind.NullKeyword, SyntaxKind.UndefinedKeyword].includes(r.getKind()) || r.getText() === 'undefined';
      return !!target && infra(target) && literal;
    }
    if (Node.isCallExpression(e)) {
      const fn = calleeText(e);
      if (/^process\.exit$/.test(fn)) return true;
      const signal = signalHandlerCall(stmt);
      if (signal && (!scope.baseSignals || signal.signals.every((x) => scope.baseSignals!.has(x)))) return true;
      const members = thisMembers(e);
      if (/^(clearInterval|clearTimeout)$/.test(fn)) return [...members].every(infra);
      const root = thisRoot(e);
      // `this.emit('ready')` tells the agent's listeners (other modules, the entry point)
      // something: the base owning emit() (it is an EventEmitter) does not make it the base's work.
      if (root === 'emit' && calleeText(e) === 'this.emit') return false;
      // `await this.consume()`: a business helper (it reconnects with back-off, but reads the
      // feed) is no infrastructure however the plan stands.
      if (root && scope.business?.has(root)) return false;
      if (root && infra(root) && [...members].every(infra)) return true;
    }
    return false;
  }
  if (Node.isIfStatement(stmt)) {
    const cond = stmt.getExpression();
    if (![...thisMembers(cond)].every(infra)) return false;
    if (descendantsOfKinds(cond, CALLS).length > 0) return false;
    return childBlocks(stmt).every((b) => blockStatements(b).every((s) => isInfraStatement(s, scope)));
  }
  if (Node.isTryStatement(stmt) || Node.isBlock(stmt)) {
    return childBlocks(stmt).every((b) => blockStatements(b).every((s) => isInfraStatement(s, scope)));
  }
  return false;
}

export function isInfraBody(body: Node | undefined, scope: InfraScope): boolean {
  return blockStatements(body).every((s) => isInfraStatement(s, scope));
}

// ------------------------------------------------------------------ the removal plan

export interface ResolvedPlan {
  removed: Set<string>;
  /** Nodes deleted (outermost only). */
  nodes: Node[];
  /** `this.health.close(() => { ... })` of a removed server: the callback's statements take its place. */
  unwraps: CloseUnwrap[];
  kept: KeptForReview[];
  /** Members kept as the business's own (businessWhenUsed), as warnings. */
  notes: string[];
}

export class RemovalPlan {
  readonly members = new Map<string, MemberProposal>();
  readonly statements: StatementProposal[] = [];
  /** Ranges that other edits rewrite: occurrences there are not uses (e.g. the entry call). */
  readonly rewritten: Array<[number, number]> = [];
  /** Code copied into new members (a loop body into runOnce): uses there stay live. */
  readonly moved: Node[] = [];

  proposeMember(p: MemberProposal): void {
    if (!this.members.has(p.name)) this.members.set(p.name, p);
  }

  proposeStatement(p: StatementProposal): void {
    if (!this.statements.some((s) => s.node === p.node)) this.statements.push(p);
  }

  has(name: string): boolean {
    return this.members.has(name);
  }

  resolve(ctx: TsRewriteContext): ResolvedPlan {
    const R = new Map(this.members);
    const kept = new Map<string, KeptForReview>();
    const businessUse = new Map<string, string>();
    const exportedNotes = new Map<string, string>();
    // Members kept because other files call or override them: a quiet one (kept with its call
    // sites, nothing for a person to decide) still says who needs it, as a warning.
    const calledElsewhere = new Set<string>();
    const baseOwned = new Set(ctx.base.members.keys());
    for (let round = 0; round < 50; round++) {
      const removed = new Set(R.keys());
      const { nodes, ranges, unwraps } = this.collect(ctx, removed);
      const inRanges = (n: Node) => {
        const s = n.getStart();
        const e = n.getEnd();
        if (this.moved.some((m) => m.getStart() <= s && e <= m.getEnd())) return false;
        // Code another concern already cut (a signal handler's body, but for the log line naming
        // the signal it keeps) is no use either: counting it would keep a member whose other
        // statements (the timer's arming) went, with its leftover uses (`this.timer.unref()`).
        return ranges.some(([a, b]) => a <= s && e <= b) || this.rewritten.some(([a, b]) => a <= s && e <= b) || ctx.edits.removes(s, e);
      };
      let changed = false;
      for (const [name, p] of R) {
        const failed = p.condition?.(removed) ?? null;
        if (failed) {
          R.delete(name);
          kept.set(name, { symbol: name, line: this.lineOf(ctx, p), reason: failed });
          changed = true;
          continue;
        }
        // A module-level helper the file exports is the module's API: another file may import it
        // (a retry helper a sibling service shares). It stays, said in a warning.
        if (p.scope === 'module') {
          const d = moduleDeclaration(ctx.sf, name);
          if (d && isModuleExported(ctx.sf, d)) {
            R.delete(name);
            const users = ctx.moduleImporters(name);
            const who = users.length > 0 ? `used by ${callerList(users)}` : 'other modules may import it';
            exportedNotes.set(name, `${name}() is exported (${who}): ${p.reason}, but it stays as the module's own API`);
            changed = true;
            continue;
          }
        }
        // Public (or protected) API: a member other files call, or a subclass elsewhere overrides, stays, unless a delegate under its name will
        // take the calls to the base (start()/stop()); the base answers names it owns itself.
        // (A delegate answers outside calls of a public member only: a subclass elsewhere that
        // overrides a protected one, or calls it through super, needs the member itself.)
        const delegated = !!p.delegate && isPublicMember(ctx, name);
        if (p.scope !== 'module' && !delegated && !baseOwned.has(name) && reachableFromOutside(ctx, name)) {
          const callers = ctx.outsideCallers(name);
          if (callers.length > 0) {
            R.delete(name);
            const overrides = callers.some((c) => overrideLine(c.text, name));
            const verb = ctx.members.get(name)?.kind === 'method' ? (overrides ? 'calls or overrides' : 'calls') : 'reads';
            kept.set(name, { symbol: name, line: this.lineOf(ctx, p), reason: `${p.reason}, but ${callerList(callers)} ${verb} it; it stays` });
            calledElsewhere.add(name);
            changed = true;
            continue;
          }
        }
        const uses = usesOf(ctx, name, p.scope ?? 'member').filter((u) => !inRanges(u));
        // Uses the base answers as well: this.x for anything it owns, obj.x() for its methods.
        const live = uses.filter((u) => !(p.scope !== 'module' && baseOwned.has(name) && (isThisAccess(u) || (ctx.base.members.get(name)!.kind === 'method' && isMemberName(u)))));
        if (live.length > 0) {
          R.delete(name);
          const u = live[0]!;
          const line = u.getStartLineNumber();
          if (p.businessWhenUsed) businessUse.set(name, `${name}() stays: ${snippet(u)} (line ${line}) still calls it, so it is the agent's own business code, not infrastructure the base replaces`);
          kept.set(name, {
            symbol: name,
            line,
            reason: `${p.reason}, but still used at line ${line} (${snippet(u)})${p.hint ? `; ${p.hint}` : ''}`,
          });
          changed = true;
        }
      }
      if (!changed) {
        for (const name of R.keys()) kept.delete(name);
        const notes: string[] = [...exportedNotes.values()];
        for (const [name, k] of kept) {
          if (!this.members.get(name)?.quiet) continue;
          kept.delete(name);
          if (calledElsewhere.has(name)) notes.push(k.reason);
        }
        for (const [name, note] of businessUse) {
          if (!kept.has(name) || !kept.get(name)!.reason.includes('still used at line')) continue;
          kept.delete(name);
          notes.push(note);
        }
        return { removed: new Set(R.keys()), nodes, unwraps, kept: [...kept.values()], notes };
      }
    }
    throw new Error('removal plan did not settle');
  }

  private lineOf(ctx: TsRewriteContext, p: MemberProposal): number {
    if (p.scope === 'module') {
      const d = moduleDeclaration(ctx.sf, p.name);
      return d ? d.getStartLineNumber() : 1;
    }
    return ctx.members.get(p.name)?.line ?? ctx.cls.getStartLineNumber();
  }

  /**
   * Every node that goes, given the removed member set. With `within` (a method body), only the
   * bodies that overlap it are swept for statements that go: what goes inside `within` is the
   * same as in a whole sweep (a node swept from another body lies in that body, and its range
   * adds only blanks, comments and semicolons around it), and nodes elsewhere are missing.
   */
  /**
   * A statement calling a member through a callee another edit re-spells whole (`await this.register();`,
   * `this.register().catch(log);` onto the base's `this.registerOnce()`): the call stays, only its callee changes.
   */
  private respelled(s: Node): boolean {
    if (!Node.isExpressionStatement(s)) return false;
    let e: Node = s.getExpression();
    for (;;) {
      if (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
      // (`this.register().catch(log)`: the chain's own call)
      else if (Node.isCallExpression(e) && Node.isPropertyAccessExpression(e.getExpression()) && /^(then|catch|finally)$/.test((e.getExpression() as PropertyAccessExpression).getName())) e = (e.getExpression() as PropertyAccessExpression).getExpression();
      else break;
    }
    if (!Node.isCallExpression(e)) return false;
    const callee = e.getExpression();
    return this.rewritten.some(([a, b]) => a <= callee.getStart() && callee.getEnd() <= b);
  }

  collect(ctx: TsRewriteContext, removed: Set<string>, within?: Node): { nodes: Node[]; ranges: Array<[number, number]>; unwraps: CloseUnwrap[] } {
    const nodes: Node[] = [];
    const unwraps: CloseUnwrap[] = [];
    for (const name of removed) {
      const p = this.members.get(name)!;
      if (p.scope === 'module') {
        const d = moduleDeclaration(ctx.sf, name);
        if (d) nodes.push(d);
        continue;
      }
      const m = ctx.members.get(name);
      if (!m) continue;
      // Parameter properties are not deleted: their modifiers are (the parameter stays).
      if (m.kind === 'parameter-property') continue;
      nodes.push(...m.nodes);
    }
    const stmts = this.statements.filter((s) => (s.requires ?? []).every((r) => removed.has(r)));
    nodes.push(...stmts.map((s) => s.node));
    const sweep = new Set([...removed].filter((n) => !this.members.get(n)?.sticky && this.members.get(n)?.scope !== 'module'));
    const inside = (n: Node) => nodes.some((d) => d.getPos() <= n.getPos() && n.getEnd() <= d.getEnd());
    const visit = (container: Node | undefined, inEntry = false) => {
      // Only statements of a block go: the bare body of `if (x) stmt;` cannot be deleted alone.
      const inBlock = !!container && (Node.isBlock(container) || Node.isSourceFile(container));
      const aliased = inBlock ? aliasStatements(container!, sweep) : [];
      for (const s of blockStatements(container)) {
        if (inside(s)) continue;
        const unwrap = inBlock ? closeCallbackOfRemoved(s, sweep) : null;
        if (unwrap) {
          unwraps.push(unwrap);
          visit(unwrap.body, inEntry);
        } else if (inBlock && ((belongsTo(s, sweep) && !this.respelled(s)) || aliased.includes(s) || (inEntry && entryCallGoes(ctx, s, sweep)))) nodes.push(s);
        else {
          nodes.push(...sameFateElements(s, sweep), ...promiseChainLinks(s, sweep), ...awaitedTogetherElements(s, sweep));
          for (const b of [...childBlocks(s), ...closeCallbackBlocks(s)]) visit(b, inEntry);
        }
      }
    };
    const visitTop = (container: Node | undefined, inEntry = false) => {
      if (!within || (container && container.getPos() < within.getEnd() && within.getPos() < container.getEnd())) visit(container, inEntry);
    };
    for (const m of ctx.members.values()) {
      if (removed.has(m.name)) continue;
      for (const n of m.nodes) {
        if ((Node.isMethodDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n)) && n.getBody()) visitTop(n.getBody());
        else if (m.kind === 'method' && Node.isPropertyDeclaration(n)) visitTop(methodBody(ctx, m.name));
      }
    }
    if (ctx.ctor) visitTop(ctx.ctor.getBody());
    if (ctx.entry) visitTop(ctx.entry.container, true);
    const outer = nodes.filter((n, i) => !nodes.some((o, j) => o !== n && o.getPos() <= n.getPos() && n.getEnd() <= o.getEnd() && (o.getPos() < n.getPos() || n.getEnd() < o.getEnd() || j < i)));
    const ranges = outer.map((n) => ctx.edits.lineRange(n));
    // (The unwrapped call's own text, up to its callback's first statement, is the removed server's use.)
    for (const u of unwraps) if (!inside(u.stmt)) ranges.push([u.stmt.getStart(), u.body.getStart() + 1]);
    return { nodes: outer, ranges, unwraps: unwraps.filter((u) => !inside(u.stmt)) };
  }
}

/**
 * `this.healthServer.close((err) => { ...; cb && cb(); })`: a removed server's close whose callback
 * does more than log (calls back a caller, saves, exits). Deleted with the server, that work would
 * be lost without a word; it stays a use of the server (closeCallbackOfRemoved unwraps the
 * callbacks it can).
 */
function closeCallbackDoesMore(call: import('ts-morph').CallExpression, sweep: Set<string>): boolean {
  const callee = call.getExpression();
  // (`listen(port, () => { log(...); ready(); })`: the same, once the server has bound.)
  if (!Node.isPropertyAccessExpression(callee) || !/^(close|listen)$/.test(callee.getName())) return false;
  return call.getArguments().some((a) => {
    if (!(Node.isArrowFunction(a) || Node.isFunctionExpression(a))) return false;
    const body = a.getBody();
    const stmts: Node[] = Node.isBlock(body) ? body.getStatements() : [body];
    return stmts.some((st) => !isLogCall(statementCall(st) ?? (Node.isCallExpression(st) ? st : null)) && !(Node.isStatement(st) && belongsTo(st, sweep)));
  });
}

export interface CloseUnwrap {
  stmt: Node;
  body: import('ts-morph').Block;
}

/**
 * `this.healthServer.close(() => { log(...); done(); })`, the server removed: the legacy code went
 * on in the callback once that server had closed; the base closes its own server later, so the
 * callback's statements run in its place (deleting the call would drop them, a shutdown's final
 * log line or the completion callback a caller waits for). A callback of no parameters (an error
 * argument would be read) with a block body. So for `this.healthServer.listen(port, () => {
 * log(...); ready(); })`, nested in the callback of the server that stays (the base serves
 * /health itself): the startup went on once health had bound; a listen callback that only logs
 * goes with the server, as before.
 */
function closeCallbackOfRemoved(stmt: Node, sweep: Set<string>): CloseUnwrap | null {
  if (!Node.isExpressionStatement(stmt)) return null;
  const call = stmt.getExpression();
  if (!Node.isCallExpression(call)) return null;
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee)) return null;
  const listen = callee.getName() === 'listen';
  if (listen ? call.getArguments().length === 0 || !closeCallbackDoesMore(call, sweep) : callee.getName() !== 'close' || call.getArguments().length !== 1) return null;
  const member = thisMember(callee.getExpression().getKind() === SyntaxKind.NonNullExpression ? (callee.getExpression() as import('ts-morph').NonNullExpression).getExpression() : callee.getExpression());
  if (!member || !sweep.has(member)) return null;
  const fn = call.getArguments()[call.getArguments().length - 1]!;
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.isAsync() || fn.getParameters().length > 0) return null;
  const body = fn.getBody();
  if (!Node.isBlock(body) || body.getStatements().length === 0) return null;
  // A `return` in it would return from the enclosing function instead.
  if (body.getDescendantsOfKind(SyntaxKind.ReturnStatement).some((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === fn)) return null;
  return { stmt, body };
}

/**
 * `this.intake.close(() => { this.healthServer.close(() => { ... }); })` (or `listen(port, () => ...)`), or
 * `this.lifetime.signal.addEventListener('abort', () => { clearTimeout(this.next); this.server?.close(); })`:
 * the block of a close callback, of a listener or of a local function, of a statement that stays,
 * where a shutdown's next steps sit (a removed server's close among them).
 */
function closeCallbackBlocks(stmt: Node): Node[] {
  // `const done = () => { this.intake.close(() => ...); };`: a local function of the shutdown.
  if (Node.isVariableStatement(stmt)) {
    return stmt.getDeclarations().flatMap((d) => {
      const fn = d.getInitializer();
      return fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) && Node.isBlock(fn.getBody()) ? [fn.getBody()] : [];
    });
  }
  if (!Node.isExpressionStatement(stmt)) return [];
  const call = stmt.getExpression();
  if (!Node.isCallExpression(call)) return [];
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !/^(close|listen|addEventListener)$/.test(callee.getName())) return [];
  return call.getArguments().flatMap((a) => ((Node.isArrowFunction(a) || Node.isFunctionExpression(a)) && Node.isBlock(a.getBody()) ? [a.getBody()] : []));
}

/**
 * `drain.serveHealth();` in the entry point, where `drain` is the agent the entry point built and
 * serveHealth() goes (the base serves health now): the call goes with the method. Not the entry's
 * own start call (rewritten to the base's), nor a call whose value is used.
 */
function entryCallGoes(ctx: TsRewriteContext, stmt: Node, sweep: Set<string>): boolean {
  const agent = ctx.entry?.variable;
  if (!agent || !Node.isExpressionStatement(stmt)) return false;
  const start = ctx.entry!.methodNameNode;
  if (start && stmt.getPos() <= start.getPos() && start.getEnd() <= stmt.getEnd()) return false;
  let e: Node = stmt.getExpression();
  while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (!Node.isCallExpression(e)) return false;
  const callee = e.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getExpression().getText() !== agent) return false;
  const name = callee.getName();
  if (!sweep.has(name) || ctx.members.get(name)?.kind !== 'method') return false;
  // Arguments that do something of their own (a call, an assignment) would be lost with it.
  return e.getArguments().every((a) => !descendantsOfKind(a, SyntaxKind.CallExpression).length && !Node.isCallExpression(a) && !/(^|[^=!<>])=([^=]|$)|\+\+|--/.test(a.getText()));
}

/**
 * `const server = this.healthServer; this.healthServer = null; await new Promise((resolve) =>
 * (server ? server.close(() => resolve()) : resolve()));`: a block-scoped local holding a removed
 * member, used only by statements whose whole job is that object (every call in them is on the
 * local, on a removed member, or settles a promise they create; they assign nothing and read no
 * kept member). The declaration and those statements go with the member.
 */
function aliasStatements(block: Node, sweep: Set<string>): Node[] {
  const out: Node[] = [];
  const stmts = blockStatements(block);
  for (const s of stmts) {
    if (!Node.isVariableStatement(s) || s.getDeclarations().length !== 1) continue;
    const d = s.getDeclarations()[0]!;
    let init: Node | undefined = d.getInitializer();
    while (init && (Node.isNonNullExpression(init) || Node.isParenthesizedExpression(init))) init = init.getExpression();
    const member = init ? thisMember(init) : null;
    if (!member || !sweep.has(member) || !Node.isIdentifier(d.getNameNode())) continue;
    const sym = d.getNameNode().getSymbol();
    if (!sym) continue;
    const refs = (t: Node) => t.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => id !== d.getNameNode() && id.getSymbol() === sym);
    const users = stmts.filter((t) => t !== s && refs(t));
    if (users.length === 0 || !users.every((t) => aliasUseGoes(t, d.getName(), sweep))) continue;
    out.push(s, ...users);
  }
  return out;
}

function aliasUseGoes(stmt: Node, alias: string, sweep: Set<string>): boolean {
  if (!Node.isExpressionStatement(stmt)) return false;
  let e: Node = stmt.getExpression();
  while (Node.isAwaitExpression(e) || Node.isVoidExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  const promise = Node.isNewExpression(e) && e.getExpression().getText() === 'Promise';
  if (!promise && !Node.isCallExpression(e)) return false;
  if ([...thisMembers(e)].some((m) => !sweep.has(m))) return false;
  const settle = new Set<string>();
  if (promise) {
    const executor = (e as import('ts-morph').NewExpression).getArguments()[0];
    if (!executor || !(Node.isArrowFunction(executor) || Node.isFunctionExpression(executor))) return false;
    for (const p of executor.getParameters()) settle.add(p.getName());
  }
  for (const c of descendantsOfKind(e, SyntaxKind.CallExpression).concat(Node.isCallExpression(e) ? [e] : [])) {
    const root = thisRoot(c);
    if (root && sweep.has(root)) continue;
    if (settle.has(calleeText(c))) continue;
    let callee: Node = c.getExpression();
    while (Node.isPropertyAccessExpression(callee) || Node.isNonNullExpression(callee) || Node.isParenthesizedExpression(callee) || Node.isCallExpression(callee)) callee = callee.getExpression();
    if (Node.isIdentifier(callee) && callee.getText() === alias && c.getExpression() !== callee) continue;
    return false;
  }
  if (descendantsOfKind(e, SyntaxKind.NewExpression).length > 0) return false;
  return !e.getDescendants().some((n) => (Node.isBinaryExpression(n) && /^(=|\+=|-=|\|\|=|\?\?=|&&=)$/.test(n.getOperatorToken().getText())) || Node.isPrefixUnaryExpression(n) && /^(\+\+|--)/.test(n.getText()) || Node.isPostfixUnaryExpression(n));
}

const ARRAY_LITERALS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.ArrayLiteralExpression]);

/**
 * `.then(() => new Promise((resolve) => this.health.close(() => resolve())))` in a promise chain of
 * a statement that stays (`return this.flush().then(...).then(() => log(...))`): a link whose whole
 * job is a removed member's own call. The callback goes, with its `.then(` (see lineRange()), and
 * the chain goes straight on. Not when the next link reads what that one resolved with.
 */
function promiseChainLinks(stmt: Node, sweep: Set<string>): Node[] {
  const out: Node[] = [];
  for (const c of descendantsOfKind(stmt, SyntaxKind.CallExpression)) {
    const callee = c.getExpression();
    const fn = c.getArguments()[0];
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'then' || c.getArguments().length !== 1 || !fn || !Node.isArrowFunction(fn) || fn.getParameters().length > 0) continue;
    let body: Node | undefined = fn.getBody();
    if (Node.isBlock(body)) {
      const only = body.getStatements();
      body = only.length === 1 && Node.isReturnStatement(only[0]!) ? only[0].getExpression() : undefined;
    }
    while (body && Node.isParenthesizedExpression(body)) body = body.getExpression();
    if (!body || !Node.isNewExpression(body) || body.getExpression().getText() !== 'Promise' || !promiseAround(body, sweep)) continue;
    const next = c.getParent();
    const consumer = next && Node.isPropertyAccessExpression(next) && next.getExpression() === c ? next.getParent() : undefined;
    if (consumer && Node.isCallExpression(consumer) && consumer.getArguments().some((a) => (Node.isArrowFunction(a) || Node.isFunctionExpression(a)) ? a.getParameters().length > 0 : true)) continue;
    out.push(fn);
  }
  return out;
}

/**
 * `await Promise.all([new Promise((r) => this.api?.close(r)), new Promise((r) => this.healthServer?.close(r))]);`:
 * promises awaited together, the statement reading none of their values (nothing can shift with an
 * element gone). An element whose whole job is a removed member's own call goes from the array; the
 * others are still awaited. (All of them removed: none go here.)
 */
function awaitedTogetherElements(stmt: Node, sweep: Set<string>): Node[] {
  const out: Node[] = [];
  for (const found of descendantsOfKinds(stmt, ARRAY_LITERALS)) {
    const arr = found as import('ts-morph').ArrayLiteralExpression;
    const call = arr.getParent();
    if (!call || !Node.isCallExpression(call) || call.getArguments().length !== 1 || !/^Promise\.(all|allSettled)$/.test(calleeText(call))) continue;
    let user: Node | undefined = call.getParent();
    if (user && Node.isAwaitExpression(user)) user = user.getParent();
    if (!user || !Node.isExpressionStatement(user)) continue;
    const els = arr.getElements();
    const going = els.filter((x) => {
      let n: Node = x;
      while (Node.isParenthesizedExpression(n)) n = n.getExpression();
      return Node.isNewExpression(n) && n.getExpression().getText() === 'Promise' && promiseAround(n, sweep);
    });
    if (going.length > 0 && going.length < els.length) out.push(...going);
  }
  return out;
}

/**
 * `[this.intake, this.healthServer].map((s) => s.close(...))` / `.forEach(...)` / `for (const s of
 * [this.intake, this.healthServer]) { ... }`: an array of the
 * agent's members made only to treat each alike (the callback reads no member of the agent and
 * uses its element only as a condition or to call methods on it). A removed member's element
 * goes from the array; the others keep their treatment. (All of them removed: none go here.)
 */
function sameFateElements(stmt: Node, sweep: Set<string>): Node[] {
  const out: Node[] = [];
  // Through the file's pre-order index (the same nodes in the same order): ts-morph's own
  // descendant walk is a generator per level, and this runs on every kept statement at every
  // nesting level in every round of the plan.
  for (const found of descendantsOfKinds(stmt, ARRAY_LITERALS)) {
    const arr = found as import('ts-morph').ArrayLiteralExpression;
    const els = arr.getElements();
    const members = els.map((x) => {
      let n: Node = x;
      while (Node.isNonNullExpression(n) || Node.isParenthesizedExpression(n)) n = n.getExpression();
      return thisMember(n);
    });
    if (els.length < 2 || members.some((m) => !m)) continue;
    const going = els.filter((_, i) => sweep.has(members[i]!));
    if (going.length === 0 || going.length === els.length) continue;
    const each = eachElement(arr);
    if (!each) continue;
    const { param, fn } = each;
    if (thisMembers(fn).size > 0 || fn.getDescendantsOfKind(SyntaxKind.ThisKeyword).length > 0) continue;
    const sym = param.getSymbol();
    const uses = fn.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id !== param && id.getSymbol() === sym);
    const alike = uses.every((id) => {
      const p = id.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getExpression() === id && p.getParentIfKind(SyntaxKind.CallExpression)?.getExpression() === p) return true;
      if (p && Node.isConditionalExpression(p) && p.getCondition() === id) return true;
      if (p && Node.isIfStatement(p) && p.getExpression() === id) return true;
      if (p && Node.isBinaryExpression(p) && p.getLeft() === id && /^(&&|\|\|)$/.test(p.getOperatorToken().getText())) return true;
      return false;
    });
    if (alike) out.push(...going);
  }
  return out;
}

/**
 * What treats each element of an array literal: the callback of `[...].map(fn)` / `.forEach(fn)`
 * (its one parameter and the function), or the body of `for (const x of [...])` (its one variable
 * and the loop statement). null for any other use of the array.
 */
function eachElement(arr: Node): { param: Node; fn: Node } | null {
  const parent = arr.getParent();
  if (parent && Node.isForOfStatement(parent) && parent.getExpression() === arr && !parent.isAwaited()) {
    const init = parent.getInitializer();
    if (!Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1) return null;
    const name = init.getDeclarations()[0]!.getNameNode();
    // The loop variable is bound only inside the loop: nothing after it sees an element.
    const body = parent.getStatement();
    // A jump out of the loop or the method could depend on which element is in hand.
    const jumps = [SyntaxKind.ReturnStatement, SyntaxKind.BreakStatement, SyntaxKind.ContinueStatement, SyntaxKind.ThrowStatement];
    if (jumps.some((k) => body.getDescendantsOfKind(k).length > 0) || jumps.includes(body.getKind())) return null;
    return Node.isIdentifier(name) ? { param: name, fn: body } : null;
  }
  if (!parent || !Node.isPropertyAccessExpression(parent) || parent.getExpression() !== arr || !/^(map|forEach)$/.test(parent.getName())) return null;
  const call = parent.getParent();
  if (!call || !Node.isCallExpression(call) || call.getExpression() !== parent || call.getArguments().length !== 1) return null;
  const fn = call.getArguments()[0]!;
  if (!(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) || fn.getParameters().length !== 1) return null;
  const name = fn.getParameters()[0]!.getNameNode();
  return Node.isIdentifier(name) ? { param: name, fn } : null;
}

function isMemberName(n: Node): boolean {
  const p = n.getParent();
  return !!p && Node.isPropertyAccessExpression(p) && p.getNameNode() === n;
}

function isThisAccess(n: Node): boolean {
  const p = n.getParent();
  return !!p && thisMember(p) !== null;
}

/** A top-level function, class or variable statement declaring name. */
/**
 * Is a top-level function or variable statement exported: by its own keyword, or by an export
 * statement (`export { f }`, `export default f`), or, in JavaScript, possibly by CommonJS.
 * The checker is asked only when the file has such a statement.
 */
export function isModuleExported(sf: SourceFile, s: Statement): boolean {
  const keyword = Node.isFunctionDeclaration(s) ? s.hasExportKeyword() || s.hasDefaultKeyword() : Node.isVariableStatement(s) && s.hasExportKeyword();
  if (!keyword && !exportsByStatement(sf)) return false;
  return Node.isFunctionDeclaration(s) ? s.isExported() || s.isDefaultExport() : Node.isVariableStatement(s) && s.isExported();
}

/** Can a top-level declaration of this file be exported other than by its own keyword (JavaScript: always assumed)? */
function exportsByStatement(sf: SourceFile): boolean {
  if (isJsFile(sf.getFilePath())) return true;
  return sf.compilerNode.statements.some((st) => ts.isExportDeclaration(st) || ts.isExportAssignment(st) || ts.isNamespaceExportDeclaration(st));
}

export function moduleDeclaration(sf: SourceFile, name: string): Statement | undefined {
  const f = sf.getFunction(name);
  if (f) return f;
  const c = sf.getClass(name);
  if (c) return c;
  const v = sf.getVariableDeclaration(name);
  if (v) {
    const stmt = v.getVariableStatement();
    if (stmt && stmt.getDeclarations().length === 1) return stmt;
  }
  return undefined;
}

/**
 * Occurrences of a name that count as uses: identifiers, private identifiers and string
 * literals equal to it (so `this['x']` and `'x' in this` count), except the names of
 * declarations themselves. Deliberately generous: a false use only keeps a member.
 */
export function usesOf(ctx: TsRewriteContext, name: string, scope: 'member' | 'module'): Node[] {
  const out: Node[] = [];
  const own = new Set<Node>();
  if (scope === 'member') for (const n of ctx.members.get(name)?.nameNodes ?? []) own.add(n);
  else {
    const d = moduleDeclaration(ctx.sf, name);
    if (d) {
      const nn = Node.isVariableStatement(d) ? d.getDeclarations()[0]!.getNameNode() : (d as unknown as { getNameNode(): Node | undefined }).getNameNode?.();
      if (nn) own.add(nn);
    }
  }
  for (const n of fileNameNodes(ctx.sf, name)) {
    if (own.has(n)) continue;
    const p = n.getParent();
    // Another class's member of the same name is a declaration, not a use.
    if (p && (Node.isMethodDeclaration(p) || Node.isPropertyDeclaration(p) || Node.isMethodSignature(p) || Node.isPropertySignature(p) || Node.isGetAccessorDeclaration(p) || Node.isSetAccessorDeclaration(p)) && p.getNameNode() === n) {
      if (p.getParent() !== ctx.cls) continue;
    }
    if (p && Node.isParameterDeclaration(p) && p.getNameNode() === n && !p.isParameterProperty()) continue;
    if (scope === 'member' && Node.isIdentifier(n) && localNotAgent(n, ctx.className)) continue;
    out.push(n);
  }
  return out;
}

/**
 * A name that cannot be the agent's member: a local declared under the same name (`const timer =
 * setTimeout(...)`, `for (const { timer } of this.pending.values())`, `{ resolve, timer }`), a
 * reference to such a local, or a property of an object a local holds that is not the agent
 * (`entry.timer` where `const entry = this.pending.get(id)`), or of the object a member holds
 * (`this.pingServer.close()` is not the agent's close()).
 */
/**
 * `new Svc(...)`, `await Svc.create(...)`: a local so initialised (the `drain` of `const drain =
 * new QueueDrain(); drain.serveHealth();` in main()) is an instance of the agent, so what it
 * calls are the agent's members.
 */
function buildsAgent(init: Node, agentClass: string): boolean {
  let e: Node = init;
  while (Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e) || Node.isAsExpression(e) || Node.isNonNullExpression(e)) e = e.getExpression();
  if (Node.isNewExpression(e)) return e.getExpression().getText() === agentClass;
  if (!Node.isCallExpression(e)) return false;
  const callee = e.getExpression();
  return Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === agentClass;
}

function localNotAgent(n: Node, agentClass?: string): boolean {
  const p = n.getParent();
  if (!p) return false;
  const isLocalDecl = (d: Node) => !!d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  const fromAgent = (init: Node | undefined) => !!init && (init.getKind() === SyntaxKind.ThisKeyword || (Node.isIdentifier(init) && !!thisAlias(init.compilerNode)));
  if (Node.isVariableDeclaration(p) && p.getNameNode() === n) return isLocalDecl(p);
  if (Node.isBindingElement(p) && p.getNameNode() === n && !p.getPropertyNameNode()) {
    const decl = p.getFirstAncestorByKind(SyntaxKind.VariableDeclaration);
    if (!decl || !isLocalDecl(decl)) return false;
    const forOf = decl.getParent()?.getParent();
    const source = Node.isForOfStatement(forOf) ? forOf.getExpression() : decl.getInitializer();
    return !!source && !fromAgent(source);
  }
  if (Node.isShorthandPropertyAssignment(p) && p.getNameNode() === n) return localDeclared(n);
  // A bare reference (`clearTimeout(timer)`): a member is never reached without `this.`.
  const named = (Node.isPropertyAccessExpression(p) && p.getNameNode() === n) || ((Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) || Node.isPropertyDeclaration(p) || Node.isBindingElement(p)) && p.getNameNode() === n);
  if (!named && !Node.isVariableDeclaration(p) && !Node.isParameterDeclaration(p)) return localDeclared(n);
  // `{ start: now, used: 0 }`: a key of a plain object literal names a property of that object,
  // not the agent's member (unless the literal is copied onto the agent: `Object.assign(this, {...})`).
  if (Node.isPropertyAssignment(p) && p.getNameNode() === n && Node.isObjectLiteralExpression(p.getParent())) return !assignedOntoAgent(p.getParent()!);
  if (Node.isPropertyAccessExpression(p) && p.getNameNode() === n) {
    let obj: Node = p.getExpression();
    while (Node.isNonNullExpression(obj) || Node.isParenthesizedExpression(obj)) obj = obj.getExpression();
    // `this.pingServer?.close()`: a method of the object a member holds, not of the agent.
    if (Node.isPropertyAccessExpression(obj) && obj.getExpression().getKind() === SyntaxKind.ThisKeyword) return true;
    if (!Node.isIdentifier(obj) || thisAlias(obj.compilerNode)) return false;
    // `require.main === module`: the module loader's property (the file declares no `require`), never the agent's.
    if (obj.getText() === 'require' && !(obj.getSymbol()?.getDeclarations() ?? []).some((d) => d.getSourceFile() === obj.getSourceFile())) return true;
    // A local is declared in a function: a name no declaration there has is none (no checker needed).
    if (!namesDeclaredInFunctions(obj.getSourceFile()).has(obj.getText())) return false;
    const decls = obj.getSymbol()?.getDeclarations() ?? [];
    return decls.length > 0 && decls.every((d) => Node.isVariableDeclaration(d) && isLocalDecl(d) && !!d.getInitializer() && !fromAgent(d.getInitializer()) && !(agentClass && buildsAgent(d.getInitializer()!, agentClass)));
  }
  return false;
}

/** `Object.assign(this, { ... })` (or onto a `self` alias): the literal's keys become the agent's members. */
function assignedOntoAgent(literal: Node): boolean {
  let cur: Node = literal;
  while (Node.isParenthesizedExpression(cur.getParent()!) || Node.isAsExpression(cur.getParent()!) || Node.isSatisfiesExpression(cur.getParent()!)) cur = cur.getParent()!;
  const call = cur.getParent();
  if (!call || !Node.isCallExpression(call) || !/^Object\.(assign|defineProperties)$/.test(calleeText(call))) return false;
  const target = call.getArguments()[0];
  return !!target && (target.getKind() === SyntaxKind.ThisKeyword || (Node.isIdentifier(target) && !!thisAlias(target.compilerNode)));
}

/** A local of that name (variable or parameter) is declared in a function around `n`. */
function localDeclared(n: Node): boolean {
  const name = n.getText();
  for (const fn of n.getAncestors().filter((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) {
    if ((fn as import('ts-morph').FunctionExpression).getParameters().some((q) => q.getName() === name && !q.isParameterProperty())) return true;
    const declared = (d: Node) => d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === fn;
    const local =
      descendantsOfKind(fn, SyntaxKind.VariableDeclaration).some((d) => Node.isIdentifier(d.getNameNode()) && d.getName() === name && declared(d)) ||
      descendantsOfKind(fn, SyntaxKind.BindingElement).some((b) => b.getName() === name && declared(b) && localNotAgent(b.getNameNode()));
    if (local) return true;
  }
  return false;
}

function snippet(n: Node): string {
  let cur: Node = n;
  while (cur.getParent() && !Node.isStatement(cur) && !(Node.isMethodDeclaration(cur) || Node.isPropertyDeclaration(cur)) && cur.getText().length < 40) cur = cur.getParent()!;
  const line = cur.getText().split('\n')[0]!.trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

export { lineAt };

/** Point the class's own `this.<name>` and `this['<name>']` at `to`, and record the rename for the code the rewrite writes. */
export function renameThisAccesses(ctx: TsRewriteContext, name: string, to: string): void {
  ctx.cls.forEachDescendant((n) => {
    if (thisMember(n) !== name) return;
    if (Node.isPropertyAccessExpression(n)) ctx.edits.replace(n.getNameNode().getStart(), n.getNameNode().getEnd(), to);
    else if (Node.isElementAccessExpression(n)) {
      const arg = n.getArgumentExpressionOrThrow();
      ctx.edits.replace(arg.getStart() + 1, arg.getEnd() - 1, to);
    }
  });
  ctx.renames.set(name, to);
  ctx.memberRewrites.push({ from: name, to: `this.${to}` });
}
