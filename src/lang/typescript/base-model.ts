// What the target base class owns, learned from its own source (the repository's copy when it
// has one, else the reference template): the public/protected members a subclass can use or
// clash with. ES-private (#x) and `private` members are invisible to subclasses.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Project, Node, Scope, SyntaxKind, type ClassDeclaration } from 'ts-morph';
import { templatesDir, type Profile, type TypeScriptProfile } from '../../profile/profile.js';
import { UsageError } from '../../core/errors.js';
import { forgetOnReset } from '../../core/invocation.js';

export interface BaseMember {
  name: string;
  kind: 'method' | 'property';
  readonly: boolean;
  /** A protected method: a hook subclasses are meant to override (runOnce, onStart, ...). */
  hook: boolean;
  /** The base's own code calls it (`this.stop()` from its signal handler): an override changes the base's behaviour. */
  calledByBase?: boolean;
  /** A method whose body has no statement (a hook that does nothing unless overridden: `onStart() {}`). */
  empty?: boolean;
}

export interface BaseModel {
  /** Absolute path of the base's source. */
  file: string;
  source: string;
  className: string;
  members: Map<string, BaseMember>;
  /** True when the source came from the repository (else from migrate's template). */
  inRepository: boolean;
  /** The base extends Node's EventEmitter (so a class on EventEmitter can move onto it). */
  eventEmitter: boolean;
  /** The signals the base installs its own handler for (`process.on('SIGTERM', ...)` in its source). */
  signals: Set<string>;
  /**
   * Where the base ends the process with a fixed code (`process.exit(0)` in its signal path), the
   * line of the first such exit: a `process.exitCode` the agent set is lost there. Null when
   * every exit of the base keeps it (`process.exit()`, `process.exit(process.exitCode)`).
   */
  fixedExitLine: number | null;
  /**
   * The line of the base's first `process.exit(...)` (its exit on SIGTERM/SIGINT), null when it
   * lets the process end by itself: an exit skips the 'beforeExit' event a draining loop emits.
   */
  exitLine: number | null;
  /**
   * Milliseconds after which the base ends a stopping process whatever its stop still waits for
   * (`setTimeout(() => process.exit(), STOP_GRACE_MS)` in its signal path), null when it has no such timer
   * or its delay is not a number the source spells out.
   */
  stopGraceMs: number | null;
  /**
   * The protected method answering the record the base registers (`registrationRecord()`: returns an
   * object with `name`, called where the base registers), which a subclass overrides to add fields
   * (`{ ...super.registrationRecord(), capabilities }`); null when the base has none (an older copy of
   * the reference base, a repository's own base without it): its registration cannot carry more.
   */
  registrationRecordMethod: string | null;
  /**
   * The protected method that begins the base's registration (`startRegistration()`: called by the base's
   * start, it runs what builds the record), which a subclass overrides to register later, once what its
   * record reads is set; null when the base has none (registration then always comes before onStart()).
   */
  registrationStartMethod: string | null;
  /**
   * The protected method that registers the agent once more, on demand (`registerOnce()`: one request of the
   * record, a promise rejecting when the registry does not take it, no retry), which a subclass calls where
   * it learns the registry forgot it (its heartbeat answered 404); null when the base has none (an older
   * copy of the reference base registers once, at start, and nothing can ask it again).
   */
  registerOnceMethod: string | null;
  /**
   * The protected method choosing the HTTP code of a /health status (`healthHttpCode(status)`: holds
   * the base's `... ? 200 : 503` rule, takes the status as its one parameter, the base calls it), which a
   * subclass overrides to answer a 'degraded' that still serves with a 2xx; null when the base decides
   * the code inline (an older copy of the reference base): an agent cannot change it there.
   */
  healthCodeHook: { name: string; failCode: number } | null;
}

/** The delay of the base's forced exit (`setTimeout(() => process.exit(), X)`): a literal, or a module const holding one. */
function stopGrace(source: string): number | null {
  const timer = /setTimeout\(\s*\(\)\s*=>\s*process\.exit\([^)]*\)\s*,\s*([\w$]+)\s*\)/.exec(source);
  if (!timer) return null;
  const value = /^\d[\d_]*$/.test(timer[1]!) ? timer[1]! : new RegExp(`\\bconst\\s+${timer[1]!.replace(/\$/g, '\\$')}\\s*=\\s*(\\d[\\d_]*)\\s*;`).exec(source)?.[1];
  return value === undefined ? null : Number(value.replace(/_/g, ''));
}

/**
 * The base's overridable registration record: a protected, non-static method of no parameters returning an
 * object literal with a `name` key, that the base calls (`this.m()`) in code sending a registration (a
 * `/register` request or a Redis `HSET`).
 */
function recordHook(cls: ClassDeclaration): string | null {
  const registering = cls.getMembers().filter((m) => /\/register\b|['"]HSET['"]/.test(m.getText()));
  for (const m of cls.getMethods()) {
    if (m.getScope() !== Scope.Protected || m.isStatic() || m.getParameters().length > 0 || Node.isPrivateIdentifier(m.getNameNode())) continue;
    const returns = m.getDescendantsOfKind(SyntaxKind.ReturnStatement).map((r) => r.getExpression());
    const named = returns.some((e) => !!e && Node.isObjectLiteralExpression(e) && !!e.getProperty('name'));
    if (!named) continue;
    const name = m.getName();
    const called = registering.some((r) => r.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getArguments().length === 0 && c.getExpression().getText() === `this.${name}`));
    if (called) return name;
  }
  return null;
}

/** The base's health code hook (see BaseModel.healthCodeHook), read from its source. */
function healthCodeHook(cls: ClassDeclaration): { name: string; failCode: number } | null {
  for (const m of cls.getMethods()) {
    if (m.getScope() !== Scope.Protected || m.isStatic() || m.getParameters().length !== 1 || Node.isPrivateIdentifier(m.getNameNode())) continue;
    // Its rule: a conditional between a 2xx and a 5xx literal.
    const rule = m.getDescendantsOfKind(SyntaxKind.ConditionalExpression).map((c) => [c.getWhenTrue(), c.getWhenFalse()].map((x) => (Node.isNumericLiteral(x) ? Number(x.getLiteralValue()) : NaN)))
      .find(([a, b]) => (a! >= 200 && a! < 300 && b! >= 500 && b! < 600) || (b! >= 200 && b! < 300 && a! >= 500 && a! < 600));
    if (!rule) continue;
    const name = m.getName();
    const called = cls.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === `this.${name}` && c.getArguments().length === 1);
    if (called) return { name, failCode: rule.find((v) => v >= 500)! };
  }
  return null;
}

function registrationStart(cls: ClassDeclaration, record: string | null): string | null {
  if (!record) return null;
  // Members that build the record (`this.registrationRecord()`), and those that call one of them.
  const calls = (m: Node, name: string) => m.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === `this.${name}`);
  const members = cls.getMembers().filter((m) => Node.isMethodDeclaration(m));
  const building = members.filter((m) => calls(m, record)).map((m) => m.getName());
  const reaching = members.filter((m) => building.some((b) => calls(m, b))).map((m) => m.getName());
  for (const m of cls.getMethods()) {
    if (m.getScope() !== Scope.Protected || m.isStatic() || m.getParameters().length > 0 || Node.isPrivateIdentifier(m.getNameNode())) continue;
    const name = m.getName();
    if (name === record || ![...building, ...reaching].some((r) => calls(m, r))) continue;
    // ... and the base itself calls it (its start).
    if (members.some((o) => o !== m && calls(o, name))) return name;
  }
  return null;
}

/**
 * The base's on-demand registration: a protected, non-static method of no parameters returning a promise
 * (async, or declared Promise<...>), with no loop of its own (one request, no retry), that builds the record
 * or calls a member that does, and that the base's own code does not call (not its start's registration).
 */
function registerOnce(cls: ClassDeclaration, record: string | null, start: string | null): string | null {
  if (!record) return null;
  const calls = (m: Node, name: string) => m.getDescendantsOfKind(SyntaxKind.CallExpression).some((c) => c.getExpression().getText() === `this.${name}`);
  const methods = cls.getMethods();
  const building = methods.filter((m) => calls(m, record)).map((m) => m.getName());
  const loops = [SyntaxKind.WhileStatement, SyntaxKind.DoStatement, SyntaxKind.ForStatement, SyntaxKind.ForOfStatement, SyntaxKind.ForInStatement];
  for (const m of methods) {
    if (m.getScope() !== Scope.Protected || m.isStatic() || m.getParameters().length > 0 || Node.isPrivateIdentifier(m.getNameNode())) continue;
    const name = m.getName();
    if (name === record || name === start) continue;
    if (!m.isAsync() && !/^Promise</.test(m.getReturnTypeNode()?.getText() ?? '')) continue;
    if (loops.some((k) => m.getDescendantsOfKind(k).length > 0)) continue;
    if (!calls(m, record) && !building.some((b) => calls(m, b))) continue;
    if (methods.some((o) => o !== m && calls(o, name))) continue;
    return name;
  }
  return null;
}

/** Instance members every EventEmitter has (Node's API): a base that extends it owns them too. */
const EVENT_EMITTER_METHODS = [
  'addListener', 'on', 'once', 'off', 'removeListener', 'removeAllListeners', 'emit', 'listeners', 'rawListeners',
  'listenerCount', 'eventNames', 'setMaxListeners', 'getMaxListeners', 'prependListener', 'prependOnceListener',
];

/** `extends EventEmitter` with EventEmitter from 'events' / 'node:events' (named, default or `events.EventEmitter`). */
export function isEventEmitterHeritage(expr: Node): boolean {
  const text = expr.getText().replace(/\s+/g, '');
  if (/^(events|EventEmitter|EE)\.EventEmitter$/.test(text)) return true;
  if (/^require\((['"])(node:)?events\1\)(\.EventEmitter)?$/.test(text)) return true;
  if (!Node.isIdentifier(expr)) return false;
  const sf = expr.getSourceFile();
  const name = expr.getText();
  for (const d of sf.getImportDeclarations()) {
    if (!/^(node:)?events$/.test(d.getModuleSpecifierValue())) continue;
    if (d.getDefaultImport()?.getText() === name) return true;
    if (d.getNamedImports().some((n) => (n.getAliasNode() ?? n.getNameNode()).getText() === name && n.getName() === 'EventEmitter')) return true;
  }
  for (const d of sf.getVariableDeclarations()) {
    const init = d.getInitializer();
    if (!init) continue;
    const t = init.getText().replace(/\s+/g, '');
    const fromEvents = /^require\((['"])(node:)?events\1\)/.test(t);
    if (!fromEvents) continue;
    const nameNode = d.getNameNode();
    if (Node.isIdentifier(nameNode) && nameNode.getText() === name) return /^require\((['"])(node:)?events\1\)(\.EventEmitter)?$/.test(t);
    if (Node.isObjectBindingPattern(nameNode)) {
      for (const el of nameNode.getElements()) {
        const prop = el.getPropertyNameNode()?.getText() ?? el.getName();
        if (el.getName() === name && prop === 'EventEmitter') return true;
      }
    }
  }
  for (const s of sf.getStatements()) {
    if (Node.isImportEqualsDeclaration(s) && s.getName() === name && /^require\((['"])(node:)?events\1\)$/.test(s.getModuleReference().getText())) return true;
  }
  return false;
}

export function tsProfile(profile: Profile): TypeScriptProfile {
  if (!profile.typescript) throw new UsageError(`profile ${profile.name} has no typescript section`);
  return profile.typescript;
}

/** Where the repository keeps the base (`<root>/<module>.ts`), or null for a bare specifier. */
export function baseFileInRepo(root: string, ts: TypeScriptProfile): string | null {
  if (!isRelativeModule(ts.module)) return null;
  const stem = path.join(root, ts.module.replace(/\.(js|ts|mts|cts)$/, ''));
  for (const ext of ['.ts', '.mts', '.cts']) if (existsSync(stem + ext)) return stem + ext;
  return stem + '.ts';
}

/** A module path relative to the repository root (as opposed to a package name). */
export function isRelativeModule(spec: string): boolean {
  return !spec.startsWith('@') && (spec.includes('/') || spec.startsWith('.')) && !/^[a-z0-9-]+$/i.test(spec);
}

/**
 * Models by the base's text and class name, all they are read from: the same base in another
 * repository (every repository of a fleet vendors the one base) is not read again. Keyed by the
 * path and modification time it was, each new root parsed and walked the base once more (a
 * third of a second per `migrate validate` of a TypeScript agent, in each repository).
 */
const cache = new Map<string, BaseModel>();
forgetOnReset(() => cache.clear());

export function loadBaseModel(root: string, profile: Profile): BaseModel {
  const ts = tsProfile(profile);
  const repoFile = baseFileInRepo(root, ts);
  let file: string;
  let inRepository = false;
  if (repoFile && existsSync(repoFile)) {
    file = repoFile;
    inRepository = true;
  } else if (ts.runtime_template) {
    file = path.join(templatesDir(), ts.runtime_template);
  } else {
    throw new UsageError(`profile ${profile.name}: the base ${ts.module} is not in the repository and the profile names no runtime_template`);
  }
  const source = readFileSync(file, 'utf8');
  const key = `${profile.base_class}\0${source}`;
  const hit = cache.get(key);
  if (hit) return { ...hit, file, inRepository };
  const project = new Project({ useInMemoryFileSystem: true });
  const sf = project.createSourceFile('/base.ts', source);
  const cls = sf.getClass(profile.base_class);
  if (!cls) throw new UsageError(`${file}: no class ${profile.base_class} in the base's source`);
  const members = new Map<string, BaseMember>();
  const heritage = cls.getExtends()?.getExpression();
  const eventEmitter = !!heritage && isEventEmitterHeritage(heritage);
  if (eventEmitter) for (const name of EVENT_EMITTER_METHODS) members.set(name, { name, kind: 'method', readonly: false, hook: false, calledByBase: true });
  for (const m of cls.getMembers()) {
    if (Node.isConstructorDeclaration(m)) {
      for (const p of m.getParameters()) {
        if (p.isParameterProperty() && p.getScope() !== Scope.Private) members.set(p.getName(), { name: p.getName(), kind: 'property', readonly: p.isReadonly(), hook: false });
      }
      continue;
    }
    if (!(Node.isMethodDeclaration(m) || Node.isPropertyDeclaration(m) || Node.isGetAccessorDeclaration(m) || Node.isSetAccessorDeclaration(m))) continue;
    if (Node.isPrivateIdentifier(m.getNameNode())) continue;
    if (m.getScope() === Scope.Private || m.isStatic()) continue;
    const name = m.getName();
    members.set(name, {
      name,
      kind: Node.isMethodDeclaration(m) ? 'method' : 'property',
      readonly: Node.isPropertyDeclaration(m) ? m.isReadonly() : Node.isGetAccessorDeclaration(m) && !cls.getSetAccessor(name),
      hook: Node.isMethodDeclaration(m) && m.getScope() === Scope.Protected,
      calledByBase: Node.isMethodDeclaration(m) && new RegExp(`\\bthis\\.${name}\\b`).test(source),
      empty: Node.isMethodDeclaration(m) && m.getBody() !== undefined && (m.getBody() as import('ts-morph').Block).getStatements().length === 0,
    });
  }
  const signals = new Set([...source.matchAll(/\bprocess\.(?:on|once|addListener|prependListener)\(\s*['"](SIG[A-Z]+)['"]/g)].map((m) => m[1]!));
  const fixed = sf.getDescendantsOfKind(SyntaxKind.CallExpression).find((c) => c.getExpression().getText() === 'process.exit' && c.getArguments().length > 0 && !/\bprocess\.exitCode\b/.test(c.getArguments()[0]!.getText()));
  const fixedExitLine = fixed ? fixed.getStartLineNumber() : null;
  const exit = sf.getDescendantsOfKind(SyntaxKind.CallExpression).find((c) => c.getExpression().getText() === 'process.exit');
  const exitLine = exit ? exit.getStartLineNumber() : null;
  const registrationRecordMethod = recordHook(cls);
  const registrationStartMethod = registrationStart(cls, registrationRecordMethod);
  const model: BaseModel = { file, source, className: profile.base_class, members, inRepository, eventEmitter, signals, fixedExitLine, exitLine, stopGraceMs: stopGrace(source), registrationRecordMethod, registrationStartMethod, registerOnceMethod: registerOnce(cls, registrationRecordMethod, registrationStartMethod), healthCodeHook: healthCodeHook(cls) };
  cache.set(key, model);
  return model;
}

/** The base's record hook (`registrationRecord`), or null when it has none or its source cannot be read (no root, no base). */
export function registrationRecordHook(root: string | undefined, profile: Profile): string | null {
  if (!root) return null;
  try {
    return loadBaseModel(root, profile).registrationRecordMethod;
  } catch {
    return null;
  }
}
