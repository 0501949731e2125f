// One TypeScript agent through the profile's transforms: parse, analyse, let each concern
// propose removals, resolve the plan (no dangling references), then make the structural edits
// (extends, super(), entry point, import) and apply every edit to the original text at once.
import path from 'node:path';
import { Node, Project, Scope, SyntaxKind, ts, type MethodDeclaration, type ReturnStatement, type SourceFile } from 'ts-morph';
import type { KeptForReview, RewriteOutcome } from '../../core/types.js';
import type { Profile } from '../../profile/profile.js';
import { isEventEmitterHeritage, loadBaseModel, registrationRecordHook, tsProfile, type BaseModel } from './base-model.js';
import { mixinChainOnEventEmitter } from './mixins.js';
import {
  RemovalPlan,
  assignedThisMember,
  collectMembers,
  isInfraStatement,
  isModuleExported,
  methodBody,
  usesOf,
  scopeFor,
  type ParentPlan,
  type ResolvedPlan,
  type TsRewriteContext,
} from './context.js';
import { findOldBase, importOf } from './old-base.js';
import { chainedParent, findFamilyParent, forwardsOptions, hasAgentInfrastructure } from './family.js';
import { mentionsElsewhere, outsideCallers, prototypeUsedAsFunction, type OutsideCaller } from './references.js';
import { prototypeToClass } from './prototype-class.js';
import { closureFactoryService, factoryOnBase, factoryRefusal } from './closure-factory.js';
import { closureFactoryToAgent } from '../../../transforms/typescript/closure-factory-agent.js';
import { keepLoopStoppers, keepPublicApi } from '../../../transforms/typescript/public-api.js';
import { settleEmptiedMethods } from '../../../transforms/typescript/emptied-methods.js';
import { ensureAsync } from '../../../transforms/typescript/await-close-callback.js';
import { disposeAsStop, disposeDelegate } from '../../../transforms/typescript/dispose-as-stop.js';
import { methodText } from './generate.js';
import { importedText } from './imported-file.js';
import { isAsyncMethod } from '../../../transforms/typescript/remove-interval-loop.js';
import { EditBuffer, indentAt, indentUnit, reindent } from './edits.js';
import { descendantsOfKind, blockStatements as blockStatementsOf, classBodyStart, descendantsOfKinds, kindTest, namesDeclaredInFunctions, fileClasses, fileNameNodes, isJsFile, isLogCall, isThisAliasStatement, markAloneInProgram, moduleKind, pureValue, statementCall, thisMember, thisRoot, thisMembers, throwsBecomeRejections, type FileClass, type ClassLike } from './syntax.js';
import { removeHealthServer } from '../../../transforms/typescript/remove-health-server.js';
import { removeSignalHandlers } from '../../../transforms/typescript/remove-signal-handlers.js';
import { removeRetryHelpers } from '../../../transforms/typescript/remove-retry-helpers.js';
import { removeRegistryPush } from '../../../transforms/typescript/remove-registry-push.js';
import { removeUnsentQueue } from '../../../transforms/typescript/remove-unsent-queue.js';
import { removeIntervalLoop } from '../../../transforms/typescript/remove-interval-loop.js';
import { extendBase } from '../../../transforms/typescript/extend-base.js';
import { carriedKey, carriedValue, mapOldBase } from '../../../transforms/typescript/old-base.js';
import { keepLifecycleLogLines, keepSignalLogLines, respellKeptLifecycleLogLines } from '../../../transforms/typescript/lifecycle-log-lines.js';
import { renameLifecycleClashes } from '../../../transforms/typescript/lifecycle-names.js';
import { dropBaseDeregistration, dropEmptiedStopHook } from '../../../transforms/typescript/stop-deregistration.js';
import { dropEmptiedStartHook } from '../../../transforms/typescript/empty-start-hook.js';
import { keepOutsideStartFailure } from '../../../transforms/typescript/outside-start-failure.js';
import { promised as mayBePromise } from '../../../transforms/typescript/start-failure-exit.js';
import { stripModifiers, superCall } from '../../../transforms/typescript/super-call.js';
import { keepExitCodes } from '../../../transforms/typescript/exit-code.js';
import { routeIpcExitsThroughStop } from '../../../transforms/typescript/ipc-exit-stop.js';
import { keepBeforeExit } from '../../../transforms/typescript/before-exit.js';
import { awaitCloseCallbacks } from '../../../transforms/typescript/await-close-callback.js';
import { dropStopEventExits } from '../../../transforms/typescript/stop-event-exit.js';
import { flagImportedRegistration, flagInjectedInfraClients } from '../../../transforms/typescript/injected-infra-clients.js';
import { flagCallerSignalExits, flagStarterRegistrations } from '../../../transforms/typescript/caller-signal-exits.js';
import { flagAwaitedSignalTails } from '../../../transforms/typescript/awaited-signal-tail.js';
import { flagStopGraceTail } from '../../../transforms/typescript/stop-grace-tail.js';
import { flagStopGraceDrain } from '../../../transforms/typescript/stop-grace-drain.js';
import { handStatsdToBase } from '../../../transforms/typescript/statsd-report-metric.js';
import { flagSharedProcessRunners } from '../../../transforms/typescript/shared-process-agents.js';
import { dropFieldsHandedToBase } from '../../../transforms/typescript/drop-handed-fields.js';
import { findEntry, rewriteEntry } from '../../../transforms/typescript/entrypoint.js';
import { addImport, applyImports, moduleSpecifier } from '../../../transforms/typescript/add-import.js';
import { resultDiscarded, unchainFluent } from '../../../transforms/typescript/fluent-lifecycle.js';
import { flagFrozenFields } from '../../../transforms/typescript/frozen-fields.js';
import { shareLibraryDeclarations } from './project.js';
import { count, counting } from '../../core/counters.js';

export interface TsRewriteInput {
  root: string;
  file: string;
  source: string;
  className: string;
  profile: Profile;
  /** Run the transforms even when the class already reaches the base (idempotency check). */
  force?: boolean;
  /** The `[Symbol.asyncDispose]()` disposeAsStop() renamed stop(): written back calling the base's stop(). */
  disposer?: { name: string; async: boolean };
}

const REMOVERS: Record<string, (ctx: TsRewriteContext) => void> = {
  health: removeHealthServer,
  signal: removeSignalHandlers,
  retry: removeRetryHelpers,
  registry: removeRegistryPush,
  queue: removeUnsentQueue,
  // The loop goes last: it leaves alone timers that only drive what the others proposed.
  main_loop: removeIntervalLoop,
};
const ORDER = ['health', 'signal', 'retry', 'registry', 'queue', 'main_loop'];

/** Parse a TypeScript text in memory; the one-line error of its first syntax error, if any. */
export function parseTs(file: string, source: string): { sf: SourceFile; error: string | null } {
  const vpath = `/src/${path.basename(file)}`;
  // One file per project, so that memory stays flat over a fleet and the program the checker
  // builds for getSymbol() holds this file alone. Each parse gets a new project: the lib files
  // its checker needs are parsed and bound once and shared between projects (through the
  // document registry). A project kept for its lib files had to forget each previous parse's
  // wrappers one by one (removeSourceFile walks every node a rewrite wrapped): 12 % of the
  // TypeScript rewrite and idempotency pass (cpu-profile, 100 TypeScript agents).
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { target: ts.ScriptTarget.ES2022, strict: true, allowJs: true } });
  shareLibraryDeclarations(project);
  if (counting) count('ts rewrite parses');
  const sf = project.createSourceFile(vpath, source, { overwrite: true });
  // (Nothing else is ever added to this project, and its in-memory file system has no other file to import.)
  markAloneInProgram(sf);
  const diags = (sf.compilerNode as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? [];
  if (diags.length > 0) {
    const d = diags[0]!;
    const line = d.start !== undefined ? sf.compilerNode.getLineAndCharacterOfPosition(d.start).line + 1 : 1;
    return { sf, error: `${file}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}` };
  }
  return { sf, error: null };
}

/** The statement that brings the base into the file, in its module system (as add-import writes it). */
function baseImportLine(input: TsRewriteInput, sf: SourceFile): string {
  const ts_ = tsProfile(input.profile);
  const spec = moduleSpecifier(input.root, input.file, ts_.module);
  const q = /^\s*(import .* from |const .*require\()"/m.test(sf.getFullText()) ? '"' : "'";
  const cjs = /\.c[jt]s$/.test(input.file) || (!/\.m[jt]s$/.test(input.file) && moduleKind(sf) === 'cjs');
  // TypeScript importing with `import ... from` and run as CommonJS (`require.main === module`): the
  // compiler turns an import into a require; a require() of the base would type it `any` (its hooks'
  // `override` then fails to compile).
  const imports = /\.[cm]?tsx?$/.test(input.file) && sf.getStatements().some((s) => Node.isImportDeclaration(s) && !s.isTypeOnly());
  if (cjs && imports) return `import { ${ts_.import_name} } from ${q}${spec.replace(/\.js$/, '')}${q};`;
  return cjs ? `const { ${ts_.import_name} } = require(${q}${spec.replace(/\.js$/, '')}${q});` : `import { ${ts_.import_name} } from ${q}${spec}${q};`;
}

export function findClass(sf: SourceFile, name: string): FileClass | undefined {
  const all = fileClasses(sf);
  return all.find((c) => c.name === name) ?? all.find((c) => Node.isClassDeclaration(c.cls) && c.cls.isDefaultExport() && (c.name ?? 'default') === name);
}

export function rewriteTypeScript(input: TsRewriteInput): RewriteOutcome {
  const rel = path.relative(input.root, input.file).split(path.sep).join('/') || input.file;
  const empty = { removed: [], kept_for_review: [], warnings: [] };
  const { sf, error } = parseTs(rel, input.source);
  if (error) return { status: 'failed', ...empty, error };
  const found = findClass(sf, input.className);
  const cls = found?.cls;
  if (!found || !cls) {
    const proto = prototypeToClass(sf);
    if (proto?.name === input.className) {
      if ('refuse' in proto) return { status: 'skipped', ...empty, error: `${rel}:${proto.line}: ${proto.refuse}` };
      // Other files may call it as a function or build on its prototype: a class would break them.
      const usedAsFunction = prototypeUsedAsFunction(input.root, input.file, input.className);
      if (usedAsFunction) return { status: 'skipped', ...empty, error: `${rel}:${proto.line}: ${usedAsFunction}` };
      const out = rewriteTypeScript({ ...input, source: proto.text });
      if (out.status === 'changed' || out.status === 'unchanged') {
        return { ...out, status: 'changed', output: out.output ?? proto.text, warnings: [`${input.className} was a prototype-style constructor function: written as a class (its prototype methods as methods, in place), then moved onto ${input.profile.base_class}`, ...out.warnings] };
      }
      return out;
    }
    // Asked for by the factory's name (`migrate run createFanout`): declined, saying why, as scan does.
    // Already on the base (a class extending it declared in the factory): a second run is a no-op.
    if (factoryOnBase(sf, input.className, input.profile.base_class)) return { status: 'unchanged', output: input.source, ...empty };
    const factory = closureFactoryService(sf, input.root, input.file);
    if (factory?.name === input.className) {
      const conversion = closureFactoryToAgent(sf, factory.name, input.profile.base_class, baseImportLine(input, sf), registrationRecordHook(input.root, input.profile));
      if ('refuse' in conversion) return { status: 'skipped', ...empty, error: `${rel}:${factory.line}: ${factoryRefusal(sf, factory.name, conversion.refuse, input.root, input.file)}` };
      return { status: 'changed', output: conversion.text, removed: conversion.removed, kept_for_review: [], warnings: conversion.warnings };
    }
    return { status: 'failed', ...empty, error: `${rel}:1: no class ${input.className} in the file` };
  }
  const ts_ = tsProfile(input.profile);
  const baseClass = input.profile.base_class;
  const ext = cls.getExtends();
  if (ext && !input.force) {
    const parent = ext.getExpression().getText();
    if (parent === baseClass || parent === ts_.import_name) return { status: 'unchanged', output: input.source, ...empty };
  }
  const local = sameFileParent(sf, cls);
  if (local && !local.cls.getExtends() && hasAgentInfrastructure(local.cls) && !input.force) return followLocalParent(input, rel, local.name!);
  let base: BaseModel;
  try {
    base = loadBaseModel(input.root, input.profile);
  } catch (err) {
    return { status: 'failed', ...empty, error: `${rel}:1: ${(err as Error).message}` };
  }
  const parent = parentPlan(input, found, base);
  if ('refuse' in parent) return { status: 'skipped', ...empty, error: `${rel}:${cls.getStartLineNumber()}: ${parent.refuse}` };
  const disposal = input.disposer ? null : disposeAsStop(cls);
  if (disposal) {
    const out = rewriteTypeScript({ ...input, source: disposal.text, disposer: disposal.disposer });
    if (out.status !== 'changed' && out.status !== 'unchanged') return out;
    return { ...out, status: 'changed', output: out.output ?? disposal.text, warnings: [disposal.warning, ...out.warnings.filter((w) => !w.startsWith('stop() would hide')).map((w) => (w.startsWith('stop() ') ? `${disposal.disposer.name}()${w.slice('stop()'.length)}` : w))] };
  }
  const ctx = makeContext(input, sf, found, base, parent);
  if (input.disposer) disposeDelegate(ctx, input.disposer);
  const cluster = clusterForkUnguarded(ctx);
  if (cluster) return { status: 'skipped', ...empty, error: `${rel}:${cluster.line}: ${cluster.reason}` };
  const fluent = fluentLifecycle(ctx);
  if (fluent) {
    // Callers that only keep the instance it returned (`const gw = new Gateway().start()`) keep
    // the one they built instead; the method returns nothing and the rewrite goes on from there.
    // A caller in another file that only calls it (`relay.start();`, its result unused) is
    // answered by the base's method all the same; one that uses what it returns keeps the refusal.
    const fluentName = fluent.method.getName().replace(/\$/g, '\\$');
    const discards = new RegExp(`^(await\\s+)?[\\w$]+(\\.[\\w$]+)*\\.${fluentName}\\([^()]*\\);$`);
    const usingResult = ctx.outsideCallers(fluent.method.getName()).filter((c) => !discards.test(c.text) && !resultDiscarded(ctx.root, c, fluent.method.getName()));
    const unchained = unchainFluent(sf, ctx.className, fluent.method, usingResult.length);
    if (unchained && unchained.text !== input.source) {
      // (The parse below replaces this one: what is needed from it is read first.)
      const name = fluent.method.getName();
      const baseClass = ctx.baseClass;
      const again = rewriteTypeScript({ ...input, source: unchained.text });
      // Its lines name the unchained text: a person reads the agent's file as it is.
      const at = unchained.originalLine;
      const relined = (t: string) => t.replace(/\bline (\d+)\b(?! of (?!this file))/g, (_m, n: string) => `line ${at(Number(n))}`);
      const out = {
        ...again,
        error: again.error?.replace(/^([^:\n]+):(\d+):/, (_m, f: string, n: string) => `${f}:${at(Number(n))}:`),
        kept_for_review: again.kept_for_review.map((k) => ({ ...k, line: at(k.line), reason: relined(k.reason) })),
        warnings: again.warnings.map(relined),
      };
      if (out.status !== 'changed' && out.status !== 'unchanged') return out;
      return {
        ...out,
        status: 'changed',
        output: out.output ?? unchained.text,
        warnings: [
          fluent.baseNamed
            ? `${name}() returned the agent itself (line ${fluent.line}), which ${baseClass}.${name}() does not: it now returns nothing, and its callers keep the instance they built`
            : `${name}() returned the agent itself (line ${fluent.line}), and the entry point's call to it becomes ${baseClass}'s run(), which does not: it now returns nothing, and its callers keep the instance they built`,
          ...unchained.notes,
          ...out.warnings,
        ],
      };
    }
    if (fluent.baseNamed) return { status: 'skipped', ...empty, error: `${rel}:${fluent.line}: ${fluent.reason}` };
  }
  try {
    return runTransforms(ctx, input);
  } catch (err) {
    return { status: 'failed', ...empty, error: `${rel}:${cls.getStartLineNumber()}: rewrite failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

function runTransforms(ctx: TsRewriteContext, input: TsRewriteInput): RewriteOutcome {
  // The legacy start method called by the entry point goes when it is pure infrastructure.
  ctx.entry = findEntry(ctx);
  const entry = ctx.entry;
  if (entry?.methodNameNode) ctx.plan.rewritten.push([entry.methodNameNode.getStart(), entry.methodNameNode.getEnd()]);
  if (entry?.method && ctx.members.get(entry.method)?.kind === 'method') {
    const m = entry.method;
    ctx.plan.proposeMember({
      name: m,
      finding: 'loop',
      reason: `${m}() only started infrastructure the base provides`,
      condition: (removed) => (ctx.isInfraMethod(m, removed, []) ? null : `${m}() does business work`),
      quiet: true,
      delegate: 'start',
    });
  }
  // Parameter properties whose value goes to the base (`private healthPort`) become plain parameters
  // when nothing else reads them through `this`.
  for (const [key, names] of Object.entries(ctx.ts.super_call.pass_through ?? {})) {
    for (const n of names) {
      if (ctx.members.get(n)?.kind === 'parameter-property' && !ctx.base.members.has(n)) {
        ctx.plan.proposeMember({ name: n, finding: 'other', reason: `${n} is passed to the base as ${key}`, quiet: true });
      }
    }
  }
  mapOldBase(ctx);
  const wanted = ctx.ts.remove ?? ORDER;
  for (const concern of ORDER) if (wanted.includes(concern)) REMOVERS[concern]!(ctx);

  let resolved = ctx.plan.resolve(ctx);
  for (const d of ctx.deferred) {
    if (d(resolved.removed)) {
      resolved = ctx.plan.resolve(ctx);
      break;
    }
  }
  for (const n of resolved.nodes) ctx.edits.removeNode(n);
  ctx.closeUnwraps = resolved.unwraps;
  ctx.kept.push(...resolved.kept);
  ctx.warnings.push(...resolved.notes);
  for (const hook of ctx.after) hook(resolved.removed);
  // After the hooks: a close callback's statements move as they are then (an exit a hook dropped
  // from one, as from the method around it, stays dropped).
  unwrapCloseCallbacks(ctx, resolved.unwraps);

  extendBase(ctx);
  renameLifecycleClashes(ctx, resolved.removed);
  // Once stop() is the onStop() hook: a deregistration of its own the base's stop() repeats goes.
  dropBaseDeregistration(ctx, resolved.removed);
  // A family's subclass calls its parent's constructor, which passes the base its options.
  superCall(ctx, resolved.removed);
  // Before the entry point's rewrite: a wait and its statements moved into onStop() are gone, so
  // the start call, which nothing then follows, becomes the base's run(), as a second run sees it.
  flagAwaitedSignalTails(ctx);
  rewriteEntry(ctx, resolved.removed);
  keepOutsideStartFailure(ctx);
  keepPublicApi(ctx, resolved.removed);
  keepLoopStoppers(ctx, resolved.removed);
  settleEmptiedMethods(ctx, resolved.removed);
  keepSignalLogLines(ctx, resolved.removed);
  keepLifecycleLogLines(ctx, resolved.removed);
  respellKeptLifecycleLogLines(ctx);
  routeIpcExitsThroughStop(ctx);
  keepExitCodes(ctx);
  flagStopGraceTail(ctx);
  flagStopGraceDrain(ctx);
  handStatsdToBase(ctx);
  keepBeforeExit(ctx);
  awaitCloseCallbacks(ctx);
  dropStopEventExits(ctx);
  flagInjectedInfraClients(ctx, resolved.removed);
  flagImportedRegistration(ctx);
  flagCallerSignalExits(ctx);
  flagStarterRegistrations(ctx);
  flagSharedProcessRunners(ctx);
  if (ctx.parent.kind !== 'base' && ctx.parent.kind !== 'family') addImport(ctx, ctx.ts.import_name, moduleSpecifier(ctx.root, ctx.file, ctx.ts.module));
  // First the dead locals: what only they used (a helper, an import: `http` of a removed server's
  // `const listener = (req: http.IncomingMessage, ...) => ...`) is dead once they go.
  removeDeadMethodLocals(ctx);
  const deadHelpers = removeDeadModuleHelpers(ctx);
  removeUnusedImports(ctx);
  removeDeadAliases(ctx);
  // After the dead locals: a hook left with only `const url = process.env.REGISTRY_URL` is empty.
  dropEmptiedStopHook(ctx);
  dropEmptiedStartHook(ctx);
  removeDeadPrivateFields(ctx);
  asyncWhereReturnRemoved(ctx);
  dropFieldsHandedToBase(ctx);
  insertMembers(ctx);
  applyImports(ctx);
  // Last: what every edit above dropped or wrote decides whether a field's updates all went.
  flagFrozenFields(ctx, resolved.removed);
  const output = ctx.edits.apply();
  const removed = [...resolved.removed].filter((n) => !ctx.renames.has(n));
  for (const st of ctx.plan.statements) {
    if ((st.requires ?? []).every((r) => resolved.removed.has(r)) && !removed.includes(st.symbol)) removed.push(st.symbol);
  }
  removed.push(...deadHelpers.filter((h) => !removed.includes(h)));
  for (const r of ctx.removedExtra) if (!removed.includes(r)) removed.push(r);
  const status = output === input.source ? 'unchanged' : 'changed';
  return {
    status,
    output,
    removed,
    kept_for_review: dedupeKept(ctx.kept),
    // (a hook the plan's deferred second resolution runs again says the same thing twice)
    warnings: [...new Set(ctx.warnings)],
    ...(ctx.unstartable ? { unstartable: ctx.unstartable } : {}),
  };
}

function dedupeKept(kept: KeptForReview[]): KeptForReview[] {
  const seen = new Set<string>();
  return kept.filter((k) => {
    const key = `${k.symbol}:${k.line}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).sort((a, b) => a.line - b.line);
}

function relOf(ctx: TsRewriteContext): string {
  return path.relative(ctx.root, ctx.file).split(path.sep).join('/');
}

/**
 * How the class reaches the base: it has no parent, already has the base, extends EventEmitter
 * (the base is one), or an older base a base-to-base profile maps. Any other parent is refused
 * with its name: a class is never given two parents, nor silently moved off the one it has.
 */
/**
 * A class that forks cluster workers while its file's entry point constructs and starts it in
 * every process (workers run the main module too): on the base, each worker would also serve
 * health on the same port and register as the agent. Refused with that reason: the entry point
 * has to start the agent only where cluster.isPrimary, which takes a person to decide.
 */
/**
 * A legacy lifecycle method named like one of the base's (`start()`, `stop()`, `run()`) that
 * resolves to the agent itself (`return this`, a declared `Promise<this>`): a fluent API whose
 * callers use what it returns (`const gw = await Gateway.fromEnv().start()`). The base's method
 * of that name resolves to nothing, and the legacy one cannot stay beside it (it would hide it)
 * nor become the hook (its callers would get undefined): a person chooses how callers get the
 * instance. Refused with the line and why, rather than left to fail the type-check.
 */
function fluentLifecycle(ctx: TsRewriteContext): { line: number; reason: string; method: MethodDeclaration; baseNamed: boolean } | null {
  // The method the entry point starts the agent with, whatever its name (`new Mirror().listen()`):
  // the entry point's call becomes the base's run(), which resolves to nothing either.
  const started = findEntry(ctx)?.method ?? null;
  for (const m of ctx.members.values()) {
    const owned = ctx.base.members.get(m.name);
    const baseNamed = !!owned && owned.kind === 'method' && !owned.hook;
    if (m.kind !== 'method' || !(baseNamed || (m.name === started && !owned))) continue;
    for (const n of m.nodes) {
      if (!Node.isMethodDeclaration(n) || !n.getBody()) continue;
      const declared = n.getReturnTypeNode()?.getText().replace(/\s+/g, '') ?? '';
      const own = (r: Node) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === n;
      const returnsThis = descendantsOfKind(n, SyntaxKind.ReturnStatement).some((r) => own(r) && r.getExpression()?.getKind() === SyntaxKind.ThisKeyword);
      if (!returnsThis && !new RegExp(`^(Promise<)?(this|${ctx.className})>?$`).test(declared)) continue;
      return {
        method: n,
        baseNamed,
        line: n.getStartLineNumber(),
        reason:
          `${m.name}() resolves to the agent itself (${returnsThis ? 'return this' : declared}), and callers may use what it returns; ` +
          `${ctx.baseClass}.${m.name}() resolves to nothing, so ${m.name}() can neither stay (it would hide the base's) nor become on${m.name[0]!.toUpperCase()}${m.name.slice(1)}() ` +
          `(its callers would get undefined): make ${m.name}() return nothing and its callers keep the instance they built, then run migrate again`,
      };
    }
  }
  return null;
}

function clusterForkUnguarded(ctx: TsRewriteContext): { line: number; reason: string } | null {
  // Without the word, nothing imports the cluster module: the class is not walked (a TypeScript rewrite's hot path).
  if (!/\bcluster\b/.test(ctx.sf.getFullText())) return null;
  const fromCluster = (local: string) => {
    for (const d of ctx.sf.getImportDeclarations()) {
      if (!/^(node:)?cluster$/.test(d.getModuleSpecifierValue())) continue;
      if (d.getDefaultImport()?.getText() === local || d.getNamespaceImport()?.getText() === local) return 'module';
      if (d.getNamedImports().some((n) => (n.getAliasNode() ?? n.getNameNode()).getText() === local && n.getName() === 'fork')) return 'fork';
    }
    const o = importOf(ctx.sf, local);
    if (!o || !/^(node:)?cluster$/.test(o.specifier)) return null;
    return o.imported === 'default' ? 'module' : o.imported === 'fork' ? 'fork' : null;
  };
  const fork = descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).find((c) => {
    const e = c.getExpression();
    if (Node.isPropertyAccessExpression(e) && e.getName() === 'fork' && Node.isIdentifier(e.getExpression())) return fromCluster(e.getExpression().getText()) === 'module';
    return Node.isIdentifier(e) && fromCluster(e.getText()) === 'fork';
  });
  const entry = findEntry(ctx);
  if (!fork || !entry) return null;
  const primaryOnly = entry.statement.getAncestors().some((a) => Node.isIfStatement(a) && /\b(isPrimary|isMaster|isWorker)\b/.test(a.getExpression().getText()));
  if (primaryOnly) return null;
  return {
    line: fork.getStartLineNumber(),
    reason: `${ctx.className} forks cluster workers (cluster.fork), and every worker runs this file's entry point too (line ${entry.statement.getStartLineNumber()}): on ${ctx.baseClass} each worker would also serve health on the same port and register as the agent. Migrate by hand: start the agent (run()) only where cluster.isPrimary, the workers as before`,
  };
}

/** The class `cls` extends when it is declared in the same file (`class Sync extends PollingPipeline<Row, Levels>`). */
function sameFileParent(sf: SourceFile, cls: ClassLike): FileClass | undefined {
  const expr = cls.getExtends()?.getExpression();
  if (!expr || !Node.isIdentifier(expr)) return undefined;
  const name = expr.getText().replace(/\$/g, '\\$');
  // A class of this file is declared (class X) or assigned (X = class): anything else is imported, and the file is not walked.
  if (!new RegExp(`\\bclass\\s+${name}\\b|(^|[^.\\w$])${name}\\s*=[^=>]`).test(sf.getFullText())) return undefined;
  const parent = findClass(sf, expr.getText());
  return parent && parent.cls !== cls ? parent : undefined;
}

/**
 * A family in one file: the parent holding the loop, health server or signal handling is
 * migrated onto the base in place (as its own agent would be), then the subclass follows it
 * (its entry point, its own infrastructure), in one output.
 */
function followLocalParent(input: TsRewriteInput, rel: string, parentName: string): RewriteOutcome {
  const first = rewriteTypeScript({ ...input, className: parentName });
  if (first.status !== 'changed' || first.output === undefined) {
    return { status: 'skipped', removed: [], kept_for_review: [], warnings: [], error: first.error ?? `${rel}:1: ${input.className} extends ${parentName}, which could not be moved onto ${input.profile.base_class}` };
  }
  const second = rewriteTypeScript({ ...input, source: first.output });
  if (second.status === 'failed' || second.status === 'skipped') return second;
  const uniq = <T,>(xs: T[]) => [...new Set(xs)];
  return {
    status: 'changed',
    output: second.output ?? first.output,
    removed: uniq([...first.removed, ...second.removed]),
    kept_for_review: [...first.kept_for_review, ...second.kept_for_review],
    warnings: uniq([`${input.className} follows its parent ${parentName} (same file) onto ${input.profile.base_class}: the parent is migrated in place`, ...first.warnings.filter((w) => !/^no entry point added/.test(w)), ...second.warnings]),
  };
}

function parentPlan(input: TsRewriteInput, found: FileClass, base: BaseModel): ParentPlan | { refuse: string } {
  const ext = found.cls.getExtends();
  if (!ext) return { kind: 'none' };
  const expr = ext.getExpression();
  const name = expr.getText();
  if (name === input.profile.base_class || name === tsProfile(input.profile).import_name) return { kind: 'base' };
  if (isEventEmitterHeritage(expr)) {
    if (base.eventEmitter) return { kind: 'event-emitter', expr };
    return { refuse: `${input.className} extends EventEmitter and ${input.profile.base_class} is not one: make the base extend EventEmitter (the reference base does) or write a base-to-base profile` };
  }
  // `extends Counted(Loggable(EventEmitter))`: the base takes EventEmitter's place in the mixin chain.
  const mixins = mixinChainOnEventEmitter(input.file, expr, base, input.profile.base_class, [input.profile.base_class, tsProfile(input.profile).import_name]);
  if (mixins) return 'refuse' in mixins ? { refuse: `${input.className} ${mixins.refuse}` } : 'onBase' in mixins ? { kind: 'base' } : { kind: 'event-emitter', expr: mixins.inner };
  // A parent in the same file already on the base (migrated in place with this class).
  const local = sameFileParent(expr.getSourceFile(), found.cls);
  const localExt = local?.cls.getExtends()?.getExpression().getText();
  if (local && (localExt === input.profile.base_class || localExt === tsProfile(input.profile).import_name)) {
    return { kind: 'family', expr, parent: { className: name, specifier: expr, v2Specifier: '', followed: true, forwardsOptions: forwardsOptions(local.cls) } };
  }
  const old = findOldBase(input.root, input.file, expr, input.profile);
  if (old) return { kind: 'old-base', expr, old };
  const family = findFamilyParent(input.file, expr, input.profile.base_class);
  if (family) return { kind: 'family', expr, parent: family };
  // A parent of this file that is no agent (scan does not list it) cannot be migrated first: say what to do instead.
  // A middle class of a chain in another file (no agent itself, a subclass of the agent's real parent):
  // `migrate it first` cannot be done (the scan does not list it), so say what can.
  const chained = local ? null : chainedParent(input.file, expr);
  const next = local
    ? `or move ${name} (line ${local.cls.getStartLineNumber()} of this file, not an agent: no server, signal handler, interval or re-arming timer the rewrite recognizes in it) onto ${input.profile.base_class} by hand`
    : chained
      ? `or move ${name} (${path.relative(input.root, chained.file).split(path.sep).join('/')}, not an agent itself: it extends ${chained.extends}) onto ${chained.extends}'s migrated _v2 by hand: the rewrite follows one parent onto ${input.profile.base_class}, not a chain of them`
      : `or migrate ${name} first`;
  return {
    refuse: `${input.className} extends ${name}, not ${input.profile.base_class}: write a base-to-base profile for ${name} (see templates/profiles/base-service.yaml) ${next}`,
  };
}

function makeContext(input: TsRewriteInput, sf: SourceFile, found: FileClass, base: BaseModel, parent: ParentPlan): TsRewriteContext {
  const cls = found.cls;
  const { members, ctor } = collectMembers(cls);
  const callers = new Map<string, OutsideCaller[]>();
  const text = input.source;
  const edits = new EditBuffer(text);
  const plan = new RemovalPlan();
  const ctx: TsRewriteContext = {
    root: input.root,
    file: input.file,
    sf,
    text,
    cls,
    className: input.className,
    classRef: found.ref,
    js: isJsFile(input.file),
    ts: tsProfile(input.profile),
    healthPortEnv: input.profile.validation?.health_port_env ?? 'HEALTH_CHECK_PORT',
    registryEnv: input.profile.validation?.registry === 'none' ? null : input.profile.validation?.registry_env ?? 'REGISTRY_URL',
    baseClass: input.profile.base_class,
    base,
    kind: moduleKind(sf),
    parent,
    members,
    ctor,
    edits,
    plan,
    superArgs: new Map(),
    newMembers: [],
    warnings: [],
    kept: [],
    removedExtra: [],
    entry: null,
    renames: new Map(),
    onStopAppended: [],
    after: [],
    deferred: [],
    unit: indentUnit(text),
    quote: quoteStyle(sf),
    hints: {},
    carried: [],
    newFields: [],
    memberRewrites: [],
    pendingImports: [],
    newConstructor: null,
    generated: [],
    constantValue: (n) => constantValue(ctx, n, 0),
    isInfraMethod: (name, removed, extra, pushCode) => isInfraMethod(ctx, name, removed, extra, pushCode ?? false),
    renameMember: (from, to, why) => renameMember(ctx, from, to, why),
    usesOutside: (name) => {
      const rw = ctx.plan.rewritten;
      return usesOf(ctx, name, 'member').filter((u) => !rw.some(([a, b]) => a <= u.getStart() && u.getEnd() <= b)).length;
    },
    addImport: (name, specifier) => addImport(ctx, name, specifier),
    moduleImporters: (name) => mentionsElsewhere(input.root, input.file, input.className, new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`)),
    outsideCallers: (name) => {
      let hit = callers.get(name);
      if (!hit) callers.set(name, (hit = outsideCallers(input.root, input.file, input.source, input.className, name)));
      return hit;
    },
  };
  return ctx;
}

/** Double quotes when the file's first import/require uses them, else single. */
function quoteStyle(sf: SourceFile): string {
  for (const s of sf.getStatements()) {
    const lit = Node.isImportDeclaration(s)
      ? s.getModuleSpecifier()
      : Node.isImportEqualsDeclaration(s) || Node.isVariableStatement(s)
        ? s.getFirstDescendantByKind(SyntaxKind.StringLiteral)
        : undefined;
    if (lit && (Node.isImportDeclaration(s) || /require\(/.test(s.getText()))) return lit.getText().startsWith('"') ? '"' : "'";
  }
  return "'";
}

function isInfraMethod(ctx: TsRewriteContext, name: string, removed: Set<string>, extra: Node[], pushCode: boolean): boolean {
  const body = methodBody(ctx, name);
  if (!body) return false;
  const scope = scopeFor(ctx, removed);
  const infra = (m: string) => removed.has(m) || scope.baseOwned.has(m) || m === name;
  const locals = new Set<string>();
  const contains = (s: Node, x: Node) => s.getPos() <= x.getPos() && x.getEnd() <= s.getEnd();
  // Statements already going with removed members (or proposed on their own) count as infrastructure.
  // Only this body's statements are asked about: the other bodies are not swept.
  const others = new Set([...removed].filter((n) => n !== name));
  const { ranges } = ctx.plan.collect(ctx, others, body);
  for (const s of blockStatementsOf(body)) {
    const start = s.getStart();
    if (ranges.some(([a, b]) => a <= start && s.getEnd() <= b)) continue;
    if (extra.some((x) => contains(s, x))) {
      for (const d of descendantsOfKind(s, SyntaxKind.VariableDeclaration)) locals.add(d.getName());
      continue;
    }
    const members = thisMembers(s);
    if (pushCode) {
      let ok = true;
      s.forEachDescendant((n) => {
        if (Node.isCallExpression(n)) {
          // Reading state (this.counter.get()) is fine; calling a kept method of the agent is business.
          const r = thisRoot(n.getExpression());
          if (r && (!infra(r) || scope.business?.has(r)) && ctx.members.get(r)?.kind === 'method') ok = false;
        }
      });
      if (ok) continue;
      return false;
    }
    const usesLocal = s.getDescendantsOfKind(SyntaxKind.Identifier).some((id) => locals.has(id.getText()));
    if (usesLocal && [...members].every(infra)) continue;
    // A log line reporting the agent's own state (`tailing ${this.journal} from offset
    // ${this.offset}`) is the operator's record of the run, not a banner: the method keeps it.
    // Configuration it names (ports, paths set once in the constructor) makes a banner still.
    if (isLogCall(statementCall(s)) && [...members].some((m) => !infra(m) && changedState(ctx).has(m))) return false;
    if (isInfraStatement(s, scope)) continue;
    return false;
  }
  return true;
}

/**
 * `var self = this;` left in a kept method whose every use of self went with removed code (the
 * timer callback now in runOnce(), the health server): it goes too, rather than stay unused.
 */
function removeDeadAliases(ctx: TsRewriteContext): void {
  for (const stmt of descendantsOfKinds(ctx.cls, new Set([SyntaxKind.VariableStatement]))) {
    if (!isThisAliasStatement(stmt) || ctx.edits.removes(stmt.getStart(), stmt.getEnd())) continue;
    const method = stmt.getFirstAncestor((a) => Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a));
    if (!method) continue;
    const names = (stmt as import('ts-morph').VariableStatement).getDeclarations().map((d) => d.getNameNode());
    const live = names.some((n) =>
      fileNameNodes(ctx.sf, n.getText()).some((u) => u !== n && method.getPos() <= u.getPos() && u.getEnd() <= method.getEnd() && !ctx.edits.removes(u.getStart(), u.getEnd())),
    );
    if (!live) ctx.edits.removeNode(stmt);
  }
}

/**
 * `const port = Number(process.env.HEALTH_PORT ?? 7750);` at the top of a kept method whose every
 * use went with the removed code (the health server's listen()): the declaration goes too, as
 * module helpers and imports do. Only a const whose value costs nothing to drop: literals, names,
 * property reads, operators and number/string conversions (no other call, no `new`, no write);
 * a local unused before the rewrite stays, and so does one that moved code still names.
 */
function removeDeadMethodLocals(ctx: TsRewriteContext): void {
  for (const stmt of descendantsOfKinds(ctx.cls, new Set([SyntaxKind.VariableStatement])) as import('ts-morph').VariableStatement[]) {
    if (!ctx.edits.removes(stmt.getStart(), stmt.getEnd()) && isDeadMethodLocal(ctx, stmt)) ctx.edits.removeNode(stmt);
  }
}

/** A statement of a method's own body that removeDeadMethodLocals() drops, as the edits stand now (see there). */
export function isDeadMethodLocal(ctx: TsRewriteContext, stmt: Node): boolean {
  if (!Node.isVariableStatement(stmt)) return false;
  const block = stmt.getParent();
  const method = block?.getParent();
  if (!block || !Node.isBlock(block) || !method || !(Node.isMethodDeclaration(method) || Node.isConstructorDeclaration(method)) || method.getParent() !== ctx.cls) return false;
  if (stmt.getDeclarationKind() !== 'const' || stmt.getDeclarations().length !== 1) return false;
  const d = stmt.getDeclarations()[0]!;
  const nameNode = d.getNameNode();
  const init = d.getInitializer();
  // (A function held in a local, `const listener = (req, res) => ...` of a removed server, costs nothing to drop either.)
  if (!Node.isIdentifier(nameNode) || !init || !(pureValue(init) || Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return false;
  const uses = fileNameNodes(ctx.sf, nameNode.getText()).filter((u) => u !== nameNode && method.getPos() <= u.getPos() && u.getEnd() <= method.getEnd() && !(Node.isPropertyAccessExpression(u.getParent()!) && (u.getParent() as import('ts-morph').PropertyAccessExpression).getNameNode() === u));
  return uses.length > 0 && uses.every((u) => ctx.edits.removes(u.getStart(), u.getEnd())) && !inGenerated(ctx, nameNode.getText());
}

/**
 * `private nextRegisterAt = 0;` whose every use (`this.nextRegisterAt` reads and writes) went with
 * the removed code (the registration retry guard of a loop tick): the declaration goes too, as
 * dead method locals do. Only a private field (TypeScript `private` or `#name`, so nothing outside
 * the class reaches it) with no initializer or one that costs nothing to drop; a field unused
 * before the rewrite stays, and so does one that generated code or a review item names.
 */
function removeDeadPrivateFields(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    if (m.kind === 'parameter-property' && !ctx.renames.has(m.name)) demoteDeadParameterProperty(ctx, m.name, m.nodes[0]);
    if (m.kind === 'method' || m.kind === 'parameter-property' || ctx.renames.has(m.name)) continue;
    const decl = m.nodes.find((n) => Node.isPropertyDeclaration(n));
    if (!decl || !Node.isPropertyDeclaration(decl) || m.nodes.length !== 1 || ctx.edits.removes(decl.getStart(), decl.getEnd())) continue;
    const nameNode = decl.getNameNode();
    if (!(Node.isPrivateIdentifier(nameNode) || decl.hasModifier(SyntaxKind.PrivateKeyword)) || decl.isStatic()) continue;
    const init = decl.getInitializer();
    if (init && !pureValue(init)) continue;
    const uses = fileNameNodes(ctx.sf, nameNode.getText()).filter((u) => u !== nameNode && ctx.cls.getPos() <= u.getPos() && u.getEnd() <= ctx.cls.getEnd());
    if (uses.length === 0 || uses.some((u) => !ctx.edits.removes(u.getStart(), u.getEnd()))) continue;
    const named = new RegExp(`(?<![\\w$])${nameNode.getText().replace(/\$/g, '\\$')}(?![\\w$])`);
    // Generated code that names it keeps it, and so does a review item quoting removed code that
    // used it (`this.interrupts += 1` of a signal handler to fold back in by hand).
    if ([...ctx.generated, ...ctx.newMembers.map((g) => g.text), ctx.newConstructor ?? '', ...ctx.kept.map((k) => k.reason)].some((t) => named.test(t))) continue;
    ctx.edits.removeNode(decl);
    ctx.removedExtra.push(m.name);
  }
}

/**
 * `private readonly registryUrl = process.env.REGISTRY_URL ?? ''`, which the plan proposed to remove,
 * whose every `this.registryUrl` went with removed code, some of it only after the plan (a hand
 * deregistration the base's stop() repeats): it becomes a plain parameter, as the plan makes one whose
 * uses it removed itself. Left a property, the second run found no use of it and demoted it then (not
 * idempotent, so no _v2 was written).
 */
function demoteDeadParameterProperty(ctx: TsRewriteContext, name: string, decl: Node | undefined): void {
  // Only one the plan proposed to remove (infrastructure's own setting) and kept for a use since gone.
  if (!ctx.plan.has(name) || ctx.kept.some((k) => k.symbol === name)) return;
  if (!decl || !Node.isParameterDeclaration(decl) || decl.getScope() !== Scope.Private || ctx.removedExtra.includes(name)) return;
  if (ctx.edits.removes(decl.getStart(), decl.getEnd()) || ctx.edits.rewrites(decl.getStart(), decl.getNameNode().getStart())) return;
  // Every read of the member, of any shape (`this.x`, `other.x` of another instance, `this['x']`, `const { x } =
  // this`): each must be a `this.x` that went with removed code. Bare `x` in the constructor reads the parameter,
  // which stays; `Config.x` of something else (its symbol declared elsewhere) is no read of it.
  const own = decl.compilerNode;
  const reads = fileNameNodes(ctx.sf, name).filter((u) => {
    const parent = u.getParent();
    if (!parent || u === decl.getNameNode()) return false;
    if (Node.isPropertyAccessExpression(parent)) {
      if (parent.getNameNode() !== u) return false;
      const decls = parent.getExpression().getKind() === SyntaxKind.ThisKeyword ? undefined : u.getSymbol()?.getDeclarations();
      return !decls || decls.length === 0 || decls.some((d) => d.compilerNode === own);
    }
    if (Node.isElementAccessExpression(parent)) return true;
    return Node.isBindingElement(parent) && (parent.getPropertyNameNode() ?? parent.getNameNode()) === u && parent.getFirstAncestorByKind(SyntaxKind.VariableDeclaration)?.getInitializer()?.getKind() === SyntaxKind.ThisKeyword;
  });
  const isThisRead = (u: Node) => {
    const parent = u.getParent();
    return !!parent && Node.isPropertyAccessExpression(parent) && parent.getExpression().getKind() === SyntaxKind.ThisKeyword;
  };
  if (reads.length === 0 || reads.some((u) => !isThisRead(u) || !ctx.edits.removes(u.getStart(), u.getEnd()))) return;
  const named = new RegExp(`this\\.${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  if ([...ctx.generated, ...ctx.newMembers.map((g) => g.text), ctx.newConstructor ?? ''].some((t) => named.test(t))) return;
  stripModifiers(ctx, decl, name);
}

/**
 * `stop(): Promise<void> { ...; return new Promise((r) => this.server.close(() => r())); }`: the
 * promise it returned went with the server the base now closes, and a method declared to return
 * a Promise no longer returns anything (a type error). Not async, every `return <value>` of its
 * own removed and none left: it becomes async, so it still resolves once its kept work is done.
 */
function asyncWhereReturnRemoved(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    for (const n of m.nodes) {
      if (!Node.isMethodDeclaration(n) || n.isAsync() || n.isGenerator() || !n.getBody()) continue;
      if (ctx.edits.removes(n.getStart(), n.getEnd())) continue;
      if (!/^Promise\s*</.test(n.getReturnTypeNode()?.getText() ?? '')) continue;
      const own = descendantsOfKind(n, SyntaxKind.ReturnStatement).filter((r) => r.getExpression() && r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === n);
      if (own.length === 0 || own.some((r) => !ctx.edits.removes(r.getStart(), r.getEnd()))) continue;
      // (Once: another rewrite may make it async too, a start() whose failure handler moved into it.)
      ensureAsync(ctx, n);
      ctx.warnings.push(`${m.name}() returned a promise of removed infrastructure (line ${own[0]!.getStartLineNumber()}); it is now async and resolves once its kept work is done${throwsBecomeRejections(n, ctx.renames.get(m.name) ?? m.name)}`);
    }
  }
}

const changed = new WeakMap<TsRewriteContext, Set<string>>();

/** Fields of the agent its methods (not the constructor) assign: its running state. */
function changedState(ctx: TsRewriteContext): Set<string> {
  let out = changed.get(ctx);
  if (out) return out;
  out = new Set();
  for (const n of descendantsOfKinds(ctx.cls, ASSIGNMENTS)) {
    if (n.getFirstAncestor((a) => Node.isConstructorDeclaration(a))) continue;
    const target = Node.isBinaryExpression(n) ? (n.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && n.getOperatorToken().getKind() <= SyntaxKind.LastAssignment ? n.getLeft() : null) : Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n) ? n.getOperand() : null;
    const m = target ? thisMember(target) : null;
    if (m && ctx.members.get(m)?.kind !== 'method') out.add(m);
  }
  changed.set(ctx, out);
  return out;
}

const ASSIGNMENTS: ReadonlySet<SyntaxKind> = new Set([SyntaxKind.BinaryExpression, SyntaxKind.PrefixUnaryExpression, SyntaxKind.PostfixUnaryExpression]);

function renameMember(ctx: TsRewriteContext, from: string, to: string, why: string): void {
  const m = ctx.members.get(from);
  if (!m || ctx.renames.has(from)) return;
  const arrow = m.nodes.find((n) => Node.isPropertyDeclaration(n));
  // `class X implements OnModuleInit`: the interface requires the method under its own name
  // (a framework or a test double calls it so); it stays and the hook calls it.
  const required = implementedMember(ctx, from);
  if (arrow || required) {
    // A property cannot override a method: the hook is a method that calls the arrow property.
    const async = isAsyncMethod(ctx, from);
    ctx.newMembers.push({ name: to, text: methodText(ctx, { name: to, async, body: `${ctx.unit}${async ? 'await ' : ''}this.${from}();` }) });
    ctx.renames.set(from, to);
    ctx.warnings.push(`${why} (as a ${to}() method calling ${arrow ? `the ${from} property` : `${from}(), which ${required} requires`})`);
    return;
  }
  for (const n of m.nodes) {
    if (!Node.isMethodDeclaration(n)) continue;
    const nameNode = n.getNameNode();
    const mods = n.getModifiers();
    const hasOverride = mods.some((x) => x.getKind() === SyntaxKind.OverrideKeyword);
    const asyncMod = mods.find((x) => x.getKind() === SyntaxKind.AsyncKeyword);
    if (!hasOverride && !ctx.js) ctx.edits.insert((asyncMod ?? nameNode).getStart(), 'override ');
    ctx.edits.replace(nameNode.getStart(), nameNode.getEnd(), to);
  }
  ctx.renames.set(from, to);
  ctx.warnings.push(why);
  for (const n of m.nodes) if (Node.isMethodDeclaration(n) && !ctx.js) hookResolvesToNothing(ctx, n, from, to);
}

/**
 * `stop(): Promise<void[]> { ...; return Promise.all(closers); }` renamed to the base's onStop():
 * the hook is typed to resolve to nothing (the base's stop() never hands a hook's result on), so
 * a promise of a value does not type-check there. The method keeps every statement and still
 * settles exactly when the promise it returned did (a synchronous throw still throws): only the
 * value is dropped (`.then(() => undefined)`; `void (await x)` in an async method).
 */
function hookResolvesToNothing(ctx: TsRewriteContext, n: MethodDeclaration, from: string, to: string): void {
  if (ctx.base.members.get(to)?.kind !== 'method' || n.isGenerator() || !n.getBody()) return;
  const declared = n.getReturnTypeNode();
  const declaredText = declared?.getText().replace(/\s+/g, '') ?? '';
  if (/^(void|undefined|Promise<(void|undefined)>)$/.test(declaredText)) return;
  const own = descendantsOfKind(n, SyntaxKind.ReturnStatement)
    .filter((r) => r.getExpression() && r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === n && !ctx.edits.removes(r.getStart(), r.getEnd()));
  if (own.length === 0) return;
  const promised = declared ? /^Promise</.test(declaredText) : own.every((r) => /^Promise</.test(r.getExpression()!.getType().getText(r)));
  if (!promised) return hookValueDropped(ctx, n, own, from, to);
  if (declared) ctx.edits.replace(declared.getStart(), declared.getEnd(), 'Promise<void>');
  const bare = (e: Node) => Node.isCallExpression(e) || Node.isIdentifier(e) || Node.isPropertyAccessExpression(e) || Node.isParenthesizedExpression(e) || Node.isNewExpression(e);
  const code = exitCodeKept(ctx, own, from, to);
  for (const r of own) {
    const e = r.getExpression()!;
    if (n.isAsync()) {
      // `return this.uploaded;` closing the body, a plain number: nothing to wait for and nothing
      // to evaluate again, so the statement goes (the method still resolves once its work is done).
      const last = n.getBody() && Node.isBlock(n.getBody()!) ? (n.getBody() as import('ts-morph').Block).getStatements().at(-1) : undefined;
      if (!code && r === last && !mayBePromise(e) && pureValue(e)) {
        ctx.edits.removeNode(r);
        continue;
      }
      // (A number returned as it is needs no await to be the code.)
      ctx.edits.insert(e.getStart(), code ? `void (process.exitCode = ${mayBePromise(e) ? 'await ' : ''}` : mayBePromise(e) ? 'void (await ' : 'void (');
      ctx.edits.insert(e.getEnd(), ')');
    } else {
      if (!bare(e)) ctx.edits.insert(e.getStart(), '(');
      ctx.edits.insert(e.getEnd(), `${bare(e) ? '' : ')'}.then(${code ? '(code) => void (process.exitCode = code)' : '() => undefined'})`);
    }
  }
  if (code) return;
  ctx.warnings.push(
    `${from}() returned ${declared ? declared.getText() : 'a promise of a value'} (line ${own[0]!.getStartLineNumber()}); as the base's ${to}() hook it resolves to nothing (the base's ${from}() does not hand a hook's value on): it still settles when that promise does, its value is dropped`,
  );
}

/**
 * `stop(): boolean { ...; return stats.rejected === 0; }` renamed to the base's onStop(): the
 * hook returns nothing (a value does not type-check there), and the caller that read the value
 * (a SIGTERM handler turning it into an exit code) is gone with the base's stop(). Every
 * statement stays and each returned expression is still evaluated (`return void (...)`), but
 * the value reaches no one: a review item names it, for whoever needs it back.
 */
function hookValueDropped(ctx: TsRewriteContext, n: MethodDeclaration, own: ReturnStatement[], from: string, to: string): void {
  const declared = n.getReturnTypeNode();
  if (declared) ctx.edits.replace(declared.getStart(), declared.getEnd(), n.isAsync() ? 'Promise<void>' : 'void');
  const code = exitCodeKept(ctx, own, from, to);
  for (const r of own) {
    const e = r.getExpression()!;
    ctx.edits.insert(e.getStart(), code ? 'void (process.exitCode = ' : 'void (');
    ctx.edits.insert(e.getEnd(), ')');
  }
  if (code) return;
  const first = own[0]!;
  ctx.kept.push({
    symbol: to,
    line: first.getStartLineNumber(),
    reason: `${from}() returned ${declared ? `a ${declared.getText()}` : 'a value'} (${first.getExpression()!.getText()}, line ${first.getStartLineNumber()}) that its callers could act on; the base's ${to}() hook returns nothing and the base's ${from}() hands no value on, so it is still computed but dropped (return void (...)): keep it in a field, or act on it inside ${to}(), where a caller needs it`,
  });
}

/**
 * `process.exit(await svc.stop())` in a removed signal handler: the exit code was the value `from`
 * returned (or resolved to), and the base's stop() hands a hook's value to no one. When every
 * returned value is a number, the renamed hook sets process.exitCode to it (`return void
 * (process.exitCode = ...)`), which the base's exit keeps once it has closed its servers and
 * deregistered: the supervisor sees the same code. True when kept (and said).
 */
function exitCodeKept(ctx: TsRewriteContext, own: ReturnStatement[], from: string, to: string): boolean {
  const line = ctx.hints.exitCodeOf?.get(from);
  if (line === undefined || to !== 'onStop' || ctx.base.fixedExitLine !== null) return false;
  const numeric = (t: import('ts-morph').Type) => t.isNumber() || t.isNumberLiteral() || (t.isUnion() && t.getUnionTypes().every((u) => u.isNumber() || u.isNumberLiteral()));
  const valueOf = (t: import('ts-morph').Type) => (t.getSymbol()?.getName() === 'Promise' ? t.getTypeArguments()[0] : t);
  if (!own.every((r) => { const t = valueOf(r.getExpression()!.getType()); return !!t && numeric(t); })) return false;
  (ctx.hints.exitCodeKept ??= new Set()).add(from);
  ctx.warnings.push(
    `the signal handler exited with the value ${from}() returned (line ${line}); as the base's ${to}() hook it returns nothing, so each of its returns now sets process.exitCode to that value, which the base's exit keeps once it has closed its servers and deregistered`,
  );
  return true;
}

/**
 * The interface of the class's `implements` clause that declares `name`, if any: one the file
 * declares, one of a relative import (its file read from the repository), or, for an interface
 * of a package that cannot be read here, the lifecycle-interface convention (`OnModuleInit`
 * declares `onModuleInit()`).
 */
function implementedMember(ctx: TsRewriteContext, name: string): string | null {
  for (const h of ctx.cls.getImplements()) {
    const iface = h.getExpression().getText();
    try {
      const t = h.getType();
      if (!t.isAny() && t.getProperties().length > 0) {
        if (t.getProperty(name)) return iface;
        continue;
      }
    } catch {
      // unresolved: look at where it is imported from
    }
    const local = iface.split('.').pop()!;
    const imp = ctx.sf.getImportDeclarations().find((d) => d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === local));
    const spec = imp?.getModuleSpecifierValue();
    if (spec && spec.startsWith('.')) {
      const named = imp!.getNamedImports().find((n) => (n.getAliasNode()?.getText() ?? n.getName()) === local)!.getName();
      const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), spec));
      if (text === null) continue;
      const isf = ts.createSourceFile('i.ts', text, ts.ScriptTarget.ES2022, true);
      const decl = isf.statements.find((st): st is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(st) && st.name.text === named);
      if (decl?.members.some((mm) => mm.name !== undefined && mm.name.getText(isf) === name)) return iface;
    } else if (spec && local === name[0]!.toUpperCase() + name.slice(1)) return iface;
  }
  return null;
}


/** Text for an expression that can be evaluated before super(): no `this`, no method locals. */
/**
 * The expression a field holds its one value from: its initializer when nothing writes it again
 * (a back-off doubled on failure holds no constant value: its first value would freeze what changes
 * at run time), a JavaScript field's one assignment in the constructor, or a TypeScript field
 * declared without a value (`private intervalMs: number;`) that the constructor assigns once at
 * its top level and nothing else in the class assigns. Null otherwise (a parameter property too).
 */
function memberValueNode(ctx: TsRewriteContext, member: string): Node | null {
  const m = ctx.members.get(member);
  const d = m?.nodes[0];
  if (!d) return null;
  if (Node.isPropertyDeclaration(d) && d.getInitializer()) return thisWrites(ctx, member).length > 0 ? null : d.getInitializer()!;
  const assigned = m!.nodes.length === 1 ? assignedThisMember(d) : null;
  if (assigned && d.getParent()?.getParent() === ctx.ctor) {
    const others = thisWrites(ctx, member).filter((w) => w.getParent() !== d);
    return others.length > 0 ? null : assigned.value;
  }
  if (Node.isPropertyDeclaration(d) && !d.getInitializer() && m!.nodes.length === 1) {
    const body = ctx.ctor?.getBody();
    const writes = descendantsOfKind(ctx.cls, SyntaxKind.BinaryExpression).filter((b) => b.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && b.getOperatorToken().getKind() <= SyntaxKind.LastAssignment && thisMember(b.getLeft()) === member);
    const one = writes.length === 1 && body && Node.isBlock(body) ? body.getStatements().map(assignedThisMember).find((a) => a?.name === member && a.value === writes[0]!.getRight()) : undefined;
    if (one) return one.value;
  }
  return null;
}

/**
 * `this.settings.healthPort` where the constructor set `this.settings = { ..., healthPort:
 * given.healthPort ?? 7431 }`: the expression the literal gives that key (the last property of
 * that name, with no spread after it that could replace it), else null.
 */
function literalKeyValue(ctx: TsRewriteContext, member: string, key: string): Node | null {
  let source = memberValueNode(ctx, member);
  while (source && (Node.isParenthesizedExpression(source) || Node.isAsExpression(source) || Node.isSatisfiesExpression(source))) source = source.getExpression();
  if (!source || !Node.isObjectLiteralExpression(source)) return null;
  const props = source.getProperties();
  for (let i = props.length - 1; i >= 0; i--) {
    const p = props[i]!;
    if (Node.isSpreadAssignment(p)) return null;
    if (Node.isPropertyAssignment(p) && !Node.isComputedPropertyName(p.getNameNode()) && p.getName() === key) return p.getInitializer() ?? null;
    if (Node.isShorthandPropertyAssignment(p) && p.getName() === key) return p.getNameNode();
    if ((Node.isMethodDeclaration(p) || Node.isGetAccessorDeclaration(p) || Node.isSetAccessorDeclaration(p)) && p.getName() === key) return null;
  }
  return null;
}

function constantValue(ctx: TsRewriteContext, n: Node, depth: number): string | null {
  if (depth > 3) return null;
  const member = thisMember(n);
  if (member) {
    const carried = carriedValue(ctx, member);
    if (carried) return carried;
    const d = ctx.members.get(member)?.nodes[0];
    if (d && Node.isParameterDeclaration(d)) return d.getName();
    const source = memberValueNode(ctx, member);
    return source ? constantValue(ctx, source, depth + 1) : null;
  }
  let ok = true;
  const replacements: Array<[number, number, string]> = [];
  const check = (x: Node) => {
    if (!ok) return;
    if (x.getKind() === SyntaxKind.ThisKeyword) {
      const parent = x.getParent()!;
      const outer = parent.getParent();
      // `this.settings.healthPort` where settings was an object literal: that key's own value,
      // not the whole literal read again for one key.
      const literal = thisMember(parent) && outer && Node.isPropertyAccessExpression(outer) && outer.getExpression() === parent ? literalKeyValue(ctx, thisMember(parent)!, outer.getName()) : null;
      const own = literal ? constantValue(ctx, literal, depth + 1) : null;
      if (own !== null) {
        // (The whole expression valued needs no parentheses around it.)
        replacements.push([outer!.getStart(), outer!.getEnd(), simpleOperand(own) || outer === n ? own : `(${own})`]);
        return;
      }
      const inner = thisMember(parent) ? constantValue(ctx, parent, depth + 1) : null;
      // `this.options.healthPort` where options was `{ interval: computeInterval(), ...options }`:
      // the key the merge takes from one spread alone, read there (the call is not run again).
      const keyed =
        inner === null && thisMember(parent) && outer && Node.isPropertyAccessExpression(outer) && outer.getExpression() === parent
          ? carriedKey(ctx, thisMember(parent)!, outer.getName(), (e) => constantValue(ctx, e, depth + 1))
          : null;
      if (keyed !== null) {
        replacements.push([outer!.getStart(), outer!.getEnd(), keyed]);
        return;
      }
      if (inner === null) ok = false;
      // `this.port + 1` where port was `opts.port || 7310`: the value goes in whole, not `opts.port || 7310 + 1`.
      else replacements.push([parent.getStart(), parent.getEnd(), simpleOperand(inner) ? inner : `(${inner})`]);
      return;
    }
    if (Node.isIdentifier(x)) {
      const p = x.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === x) return;
      if (p && Node.isPropertyAssignment(p) && p.getNameNode() === x) return;
      // Only a declaration inside a function or class (a constructor parameter among them) has
      // any effect below; a name nothing in one declares needs no symbol, and so no checker.
      if (!namesDeclaredInFunctions(x.getSourceFile()).has(x.getText())) return;
      const decls = x.getSymbol()?.getDeclarations() ?? [];
      for (const d of decls) {
        // A constructor parameter, or a name it destructures (`{ port = 7350, intervalMs } = {}`):
        // both are bound before the body runs, so before super() too.
        if (ctorParameterName(ctx, d)) {
          // super() runs before the body: a parameter the body reassigns first (`opts = opts || {}`)
          // has its reassigned value only when that one unconditional statement can go in its place.
          const normalised = reassignedParameter(ctx, x.getText(), x.getStart());
          if (normalised === undefined) continue;
          const value = normalised === null ? null : constantValue(ctx, normalised, depth + 1);
          if (value === null) ok = false;
          else replacements.push([x.getStart(), x.getEnd(), simpleOperand(value) ? value : `(${value})`]);
          continue;
        }
        // A const of the constructor's own top level, before any use of this: super() can go
        // after its statement, and the name stays as written.
        const local = ctorLocalBeforeThis(ctx, d);
        if (local) {
          if (!ctx.superAfter || ctx.superAfter.getStart() < local.getStart()) ctx.superAfter = local;
          continue;
        }
        // `const opts = options || {};` after super(): a constructor const only read through its
        // properties, whose value is computed from the parameters alone, reads the same in super().
        const aliased = ctorReadOnlyAlias(ctx, d, (e) => constantValue(ctx, e, depth + 1));
        if (aliased !== null) {
          replacements.push([x.getStart(), x.getEnd(), simpleOperand(aliased) ? aliased : `(${aliased})`]);
          continue;
        }
        // `const port = this.options.healthPort ?? 7904;` in one of the class's methods: bound once
        // from what it reads; when that is constant before super(), so is the const.
        const methodConst = methodConstValue(ctx, d, x, (e) => constantValue(ctx, e, depth + 1));
        if (methodConst !== null) {
          replacements.push([x.getStart(), x.getEnd(), simpleOperand(methodConst) ? methodConst : `(${methodConst})`]);
          continue;
        }
        const inFunction = d.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isClassDeclaration(a));
        if (inFunction) ok = false;
      }
    }
    x.forEachChild(check);
  };
  check(n);
  if (!ok) return null;
  let text = n.getText();
  const base = n.getStart();
  for (const [a, b, r] of replacements.sort((x, y) => y[0] - x[0])) text = text.slice(0, a - base) + r + text.slice(b - base);
  return text;
}

/**
 * The value of a `const` declared (by a plain name, with a value) at the top level of one of the
 * class's methods, used in that same method, when its value is constant before super(); else null.
 */
function methodConstValue(ctx: TsRewriteContext, d: Node, use: Node, valueOf: (e: Node) => string | null): string | null {
  if (!Node.isVariableDeclaration(d) || !Node.isIdentifier(d.getNameNode())) return null;
  const init = d.getInitializer();
  const list = d.getParent();
  const stmt = list?.getParent();
  if (!init || !list || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const' || !stmt || !Node.isVariableStatement(stmt)) return null;
  const body = stmt.getParent();
  const method = body?.getParent();
  if (!body || !Node.isBlock(body) || !method || !Node.isMethodDeclaration(method) || method.getParent() !== ctx.cls) return null;
  if (!method.containsRange(use.getPos(), use.getEnd())) return null;
  return valueOf(init);
}

/**
 * The value of a `const` at the top level of the constructor (`const opts = options || {};`) when
 * evaluating its initializer again inside super() gives the same reads: the initializer calls
 * nothing, creates nothing but literals and assigns nothing, its value is constant before super()
 * (the parameters it reads are not reassigned), and every use of the const in the constructor
 * reads a property of it (`opts.healthPort`): never written through, called on, or passed on. Else null.
 */
function ctorReadOnlyAlias(ctx: TsRewriteContext, d: Node, valueOf: (e: Node) => string | null): string | null {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body) || !Node.isVariableDeclaration(d) || !Node.isIdentifier(d.getNameNode())) return null;
  const list = d.getParent();
  const stmt = list?.getParent();
  if (!list || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const' || !stmt || stmt.getParent() !== body) return null;
  const init = d.getInitializer();
  if (!init) return null;
  const effects = init.getFirstDescendant((n) => Node.isCallExpression(n) || Node.isNewExpression(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isAwaitExpression(n) || Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n) || (Node.isBinaryExpression(n) && n.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && n.getOperatorToken().getKind() <= SyntaxKind.LastAssignment));
  if (effects || Node.isCallExpression(init) || Node.isNewExpression(init)) return null;
  const sym = d.getNameNode().getSymbol();
  if (!sym) return null;
  const uses = ctx.ctor!.getDescendantsOfKind(SyntaxKind.Identifier).filter((id) => id !== d.getNameNode() && id.getSymbol() === sym);
  for (const id of uses) {
    const p = id.getParent();
    if (!p || !Node.isPropertyAccessExpression(p) || p.getExpression() !== id) return null;
    const up = p.getParent();
    if (!up) return null;
    if (Node.isCallExpression(up) && up.getExpression() === p) return null;
    if (Node.isBinaryExpression(up) && up.getLeft() === p && up.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && up.getOperatorToken().getKind() <= SyntaxKind.LastAssignment) return null;
    if (Node.isPrefixUnaryExpression(up) || Node.isPostfixUnaryExpression(up) || Node.isDeleteExpression(up)) return null;
    // `opts.limits.max = 3` writes through a nested object: only plain reads of a first-level property.
    if (Node.isPropertyAccessExpression(up) || Node.isElementAccessExpression(up)) return null;
  }
  return valueOf(init);
}

/**
 * The top-level constructor statement declaring `d` when it is a `const` that super() may follow:
 * the constructor calls no super() yet, and neither that statement nor any before it mentions
 * this or super (so moving super() after them changes no object state they could see).
 */
function ctorLocalBeforeThis(ctx: TsRewriteContext, d: Node): Node | null {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body) || !Node.isVariableDeclaration(d)) return null;
  const list = d.getParent();
  const stmt = list?.getParent();
  if (!list || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return null;
  if (!stmt || !Node.isVariableStatement(stmt) || stmt.getParent() !== body) return null;
  if (body.getDescendantsOfKind(SyntaxKind.SuperKeyword).length > 0) return null;
  if (!unchangingLocal(ctx, d)) return null;
  for (const s of body.getStatements()) {
    if (s.getKind() === SyntaxKind.ThisKeyword || s.getFirstDescendant((x) => x.getKind() === SyntaxKind.ThisKeyword || x.getKind() === SyntaxKind.SuperKeyword)) return null;
    if (s === stmt) return stmt;
  }
  return null;
}

/**
 * A constructor local whose value is the same wherever super() goes: a function that reads
 * nothing else of the constructor (its own parameters and locals, the module, the constructor's
 * parameters the body never reassigns), or a number / string computed from such names. An
 * object or array the constructor fills in afterwards (`const settings = { ...DEFAULTS }`, then
 * a loop writing into it) does not qualify.
 */
function unchangingLocal(ctx: TsRewriteContext, d: import('ts-morph').VariableDeclaration): boolean {
  const init = d.getInitializer();
  if (!init) return false;
  const fn = Node.isArrowFunction(init) || Node.isFunctionExpression(init);
  const primitive = /^(Number|parseInt|parseFloat|String)\(/.test(init.getText()) || Node.isNumericLiteral(init) || Node.isStringLiteral(init) || Node.isNoSubstitutionTemplateLiteral(init);
  if (!fn && !primitive) return false;
  const ctor = ctx.ctor!;
  for (const id of init.getDescendantsOfKind(SyntaxKind.Identifier)) {
    for (const decl of id.getSymbol()?.getDeclarations() ?? []) {
      const inCtor = decl.getFirstAncestor((a) => a === ctor);
      if (!inCtor) continue;
      if (decl.getFirstAncestor((a) => a === init)) continue; // the function's own parameters and locals
      if (ctorParameterName(ctx, decl) && reassignedParameter(ctx, id.getText(), ctor.getEnd()) === undefined) continue;
      return false;
    }
  }
  return true;
}

/** Every write to this.<member> in the class: assignments (plain or compound) and ++ / --. */
/** What can write a member: an assignment (`=`, `+=`, ...) or `++`/`--`, told apart on the compiler's nodes (see thisWrites). */
const WRITES = kindTest([SyntaxKind.BinaryExpression, SyntaxKind.PrefixUnaryExpression, SyntaxKind.PostfixUnaryExpression], (c) =>
  ts.isBinaryExpression(c)
    ? c.operatorToken.kind >= SyntaxKind.FirstAssignment && c.operatorToken.kind <= SyntaxKind.LastAssignment
    : (c as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operator === SyntaxKind.PlusPlusToken || (c as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operator === SyntaxKind.MinusMinusToken,
);

export function thisWrites(ctx: TsRewriteContext, member: string): Node[] {
  const out: Node[] = [];
  // Only the class's writes are made into ts-morph nodes (a forEachDescendant wrapped every node of the class, per question).
  for (const n of descendantsOfKinds(ctx.cls, WRITES)) {
    if (Node.isBinaryExpression(n)) {
      const k = n.getOperatorToken().getKind();
      if (k >= SyntaxKind.FirstAssignment && k <= SyntaxKind.LastAssignment && thisMember(n.getLeft()) === member) out.push(n);
    } else if ((Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n)) && [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(n.getOperatorToken()) && thisMember(n.getOperand()) === member) {
      out.push(n);
    }
  }
  return out;
}

/** Is this declaration a constructor parameter or a binding element of one? */
function ctorParameterName(ctx: TsRewriteContext, d: Node): boolean {
  if (!ctx.ctor) return false;
  if (Node.isParameterDeclaration(d)) return d.getParent() === ctx.ctor;
  if (!Node.isBindingElement(d)) return false;
  const param = d.getFirstAncestor((a) => Node.isParameterDeclaration(a) || Node.isFunctionLikeDeclaration(a));
  return !!param && Node.isParameterDeclaration(param) && param.getParent() === ctx.ctor;
}

/** A value that may stand as an operand without parentheses: a name, a literal, a member or call chain. */
function simpleOperand(text: string): boolean {
  return /^[\w$.]+$/.test(text) || /^(['"])[^'"\\]*\1$/.test(text);
}

/**
 * How the constructor body reassigns its parameter `name` before position `at`: undefined when it
 * does not; the right-hand side when one unconditional top-level `name = value;` does it; null
 * when any other assignment (conditional, compound, in a nested function) might.
 */
function reassignedParameter(ctx: TsRewriteContext, name: string, at: number): Node | null | undefined {
  const body = ctx.ctor?.getBody();
  if (!body || !Node.isBlock(body)) return undefined;
  const top = new Set(body.getStatements());
  let found: Node | null | undefined;
  body.forEachDescendant((n) => {
    if (found === null) return;
    const assigned =
      (Node.isBinaryExpression(n) && n.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && n.getOperatorToken().getKind() <= SyntaxKind.LastAssignment && n.getLeft().getText() === name) ||
      ((Node.isPrefixUnaryExpression(n) || Node.isPostfixUnaryExpression(n)) && n.getOperand().getText() === name && [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(n.getOperatorToken()));
    if (!assigned || n.getEnd() > at) return;
    const simple =
      found === undefined && Node.isBinaryExpression(n) && n.getOperatorToken().getKind() === SyntaxKind.EqualsToken &&
      Node.isExpressionStatement(n.getParent()!) && top.has(n.getParent() as import('ts-morph').Statement);
    found = simple ? (n as import('ts-morph').BinaryExpression).getRight() : null;
  });
  return found;
}

/** Does code the transforms write (super() arguments, new members) mention name? */
function inGenerated(ctx: TsRewriteContext, name: string): boolean {
  const re = new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  return ctx.generated.some((t) => re.test(t)) || ctx.newMembers.some((m) => re.test(m.text)) || (!!ctx.newConstructor && re.test(ctx.newConstructor));
}

/** Top-level helpers (functions, constants) used only by removed code go too; unused-before ones stay. */
function removeDeadModuleHelpers(ctx: TsRewriteContext): string[] {
  const out: string[] = [];
  for (let round = 0; round < 5; round++) {
    let changed = false;
    for (const s of ctx.sf.getStatements()) {
      if (ctx.edits.removes(s.getStart(), s.getEnd())) continue;
      let nameNode: Node | undefined;
      // Whether it is exported is asked last: the answer takes a type checker over the file.
      if (Node.isFunctionDeclaration(s)) nameNode = s.getNameNode();
      else if (Node.isVariableStatement(s) && s.getDeclarations().length === 1) {
        const d = s.getDeclarations()[0]!;
        const init = d.getInitializer();
        if (isRequireInit(init)) continue; // imports: below
        nameNode = d.getNameNode();
      }
      if (!nameNode || !Node.isIdentifier(nameNode)) continue;
      const name = nameNode.getText();
      let before = 0;
      let after = 0;
      for (const n of fileNameNodes(ctx.sf, name)) {
        if (!Node.isIdentifier(n) || n === nameNode) continue;
        const p = n.getParent();
        if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === n) continue;
        if (p && (Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) || Node.isPropertyDeclaration(p)) && p.getNameNode() === n) continue;
        before++;
        if (s.getPos() <= n.getPos() && n.getEnd() <= s.getEnd()) continue; // recursion is not a use
        if (!ctx.edits.drops(n.getStart(), n.getEnd(), name)) after++;
      }
      const exported = () => isModuleExported(ctx.sf, s);
      if (before > 0 && after === 0 && !inGenerated(ctx, name) && !exported()) {
        ctx.edits.removeNode(s);
        out.push(name);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return out;
}

/** `require('x')` or `require('x').Y`: a CommonJS import. */
function isRequireInit(init: Node | undefined): boolean {
  let e = init;
  while (e && Node.isPropertyAccessExpression(e)) e = e.getExpression();
  return !!e && Node.isCallExpression(e) && e.getExpression().getText() === 'require';
}

/** Imports whose every use went with the removed code go too (imports unused before stay). */
/**
 * Remove some elements of a comma list (`{ retry, sleep }`), never all: each run of dead elements
 * goes with the comma after it, or, when the run ends the list, with the comma before it (so
 * `{ retry, sleep }` becomes `{ retry }`, not `{ retry,  }`).
 */
function removeListElements(ctx: TsRewriteContext, elements: Node[], dead: Set<Node>): void {
  for (let i = 0; i < elements.length; ) {
    if (!dead.has(elements[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < elements.length && dead.has(elements[j + 1]!)) j++;
    const first = elements[i]!;
    const last = elements[j]!;
    const next = last.getNextSiblingIfKind(SyntaxKind.CommaToken);
    const prev = first.getPreviousSiblingIfKind(SyntaxKind.CommaToken);
    if (j === elements.length - 1 && prev) ctx.edits.removeRange(prev.getStart(), last.getEnd());
    else ctx.edits.removeRange(first.getStart(), next ? next.getEnd() + (ctx.text[next.getEnd()] === ' ' ? 1 : 0) : last.getEnd());
    i = j + 1;
  }
}

function removeUnusedImports(ctx: TsRewriteContext): void {
  const count = (name: string, declNode: Node) => {
    let before = 0;
    let after = 0;
    for (const n of fileNameNodes(ctx.sf, name)) {
      if (!Node.isIdentifier(n) || n === declNode) continue;
      const p = n.getParent();
      if (p && Node.isPropertyAccessExpression(p) && p.getNameNode() === n) continue;
      if (p && (Node.isImportSpecifier(p) || Node.isImportClause(p) || Node.isNamespaceImport(p))) continue;
      before++;
      if (!ctx.edits.drops(n.getStart(), n.getEnd(), name)) after++;
    }
    return { before, after };
  };
  for (const s of ctx.sf.getStatements()) {
    if (Node.isImportDeclaration(s)) {
      const bindings: Array<{ node: Node; remove: Node }> = [];
      const d = s.getDefaultImport();
      if (d) bindings.push({ node: d, remove: d });
      const ns = s.getNamespaceImport();
      if (ns) bindings.push({ node: ns, remove: ns });
      for (const spec of s.getNamedImports()) bindings.push({ node: spec.getAliasNode() ?? spec.getNameNode(), remove: spec });
      if (bindings.length === 0) continue;
      const dead = bindings.filter((b) => {
        const c = count(b.node.getText(), b.node);
        return c.before > 0 && c.after === 0 && !inGenerated(ctx, b.node.getText());
      });
      if (dead.length === 0) continue;
      if (dead.length === bindings.length) ctx.edits.removeNode(s);
      else if (dead.every((b) => Node.isImportSpecifier(b.remove)) && s.getNamedImports().length > dead.length) {
        removeListElements(ctx, s.getNamedImports(), new Set(dead.map((b) => b.remove)));
      }
    } else if (Node.isImportEqualsDeclaration(s)) {
      const c = count(s.getName(), s.getNameNode());
      if (c.before > 0 && c.after === 0 && !inGenerated(ctx, s.getName())) ctx.edits.removeNode(s);
    } else if (Node.isVariableStatement(s) && s.getDeclarations().length === 1) {
      const decl = s.getDeclarations()[0]!;
      if (!isRequireInit(decl.getInitializer())) continue;
      const nameNode = decl.getNameNode();
      if (Node.isObjectBindingPattern(nameNode)) {
        // `const { EventEmitter, once } = require('events')`: the bindings nothing uses any more.
        const elements = nameNode.getElements();
        const dead = elements.filter((el) => {
          const c = count(el.getName(), el.getNameNode());
          return c.before > 0 && c.after === 0 && !inGenerated(ctx, el.getName());
        });
        if (dead.length === 0) continue;
        if (dead.length === elements.length) ctx.edits.removeNode(s);
        else {
          removeListElements(ctx, elements, new Set<Node>(dead));
        }
        continue;
      }
      if (!Node.isIdentifier(nameNode)) continue;
      const c = count(nameNode.getText(), nameNode);
      if (c.before > 0 && c.after === 0 && !inGenerated(ctx, nameNode.getText())) ctx.edits.removeNode(s);
    }
  }
}

/** Moved code says `this.x` the way the rest of the class now does (`this.legacyLogger`). */
function withMemberRewrites(ctx: TsRewriteContext, text: string): string {
  let out = text;
  for (const { from, to } of ctx.memberRewrites) {
    const name = from.replace(/\$/g, '\\$');
    if (to.startsWith('!')) out = out.replace(new RegExp(`!this\\.${name}(?![\\w$])`, 'g'), to.slice(1));
    out = out.replace(new RegExp(`\\bthis\\.${name}(?![\\w$])`, 'g'), to.startsWith('this.') && !/[^\w$.]/.test(to) ? to : `(${to})`);
  }
  return out;
}

/** New members (runOnce, onStop, ...) at the end of the class; a new constructor before the first method. */
function insertMembers(ctx: TsRewriteContext): void {
  const members = ctx.cls.getMembers();
  const memberIndent = members.length > 0 ? indentAt(ctx.text, members[0]!.getStart()) : indentAt(ctx.text, ctx.cls.getStart()) + ctx.unit;
  const indent = (t: string) => reindent(t, '', memberIndent);
  const openBrace = classBodyStart(ctx.cls);
  if (ctx.newFields.length > 0) {
    const first = members[0];
    const text = ctx.newFields.map((f) => indent(f)).join('\n');
    if (first) ctx.edits.insert(ctx.text.lastIndexOf('\n', first.getStart(true) - 1) + 1, `${text}\n`);
    else ctx.edits.insert(openBrace + 1, `\n${text}\n`);
  }
  if (ctx.newConstructor) {
    const firstMethod = members.find((m) => !Node.isPropertyDeclaration(m) && !ctx.edits.removes(m.getStart(), m.getEnd()));
    const lastProp = [...members].reverse().find((m) => Node.isPropertyDeclaration(m) && !ctx.edits.removes(m.getStart(), m.getEnd()));
    if (lastProp) ctx.edits.insert(lastProp.getEnd(), `\n\n${indent(ctx.newConstructor)}`);
    else if (firstMethod) {
      const lineStart = ctx.text.lastIndexOf('\n', firstMethod.getStart(true) - 1) + 1;
      ctx.edits.insert(lineStart, `${indent(ctx.newConstructor)}\n\n`);
    } else ctx.edits.insert(openBrace + 1, `\n${indent(ctx.newConstructor)}\n`);
  }
  if (ctx.newMembers.length === 0) return;
  const text = ctx.newMembers.map((m) => indent(withMemberRewrites(ctx, m.text))).join('\n\n');
  const alive = members.filter((m) => !ctx.edits.removes(m.getStart(), m.getEnd()));
  const last = alive[alive.length - 1];
  if (last) ctx.edits.insert(last.getEnd(), `\n\n${text}`);
  else if (ctx.newConstructor) ctx.edits.insert(openBrace + 1, `\n${text}\n`);
  else {
    ctx.edits.insert(openBrace + 1, `\n${text}\n`);
  }
}

/** Each removed server's `close(() => { ... })`, or `listen(port, () => { ... })` nested in a kept server's callback, becomes the callback's statements (see closeCallbackOfRemoved). */
function unwrapCloseCallbacks(ctx: TsRewriteContext, unwraps: ResolvedPlan['unwraps']): void {
  for (const { stmt, body } of unwraps) {
    const statements = body.getStatements();
    const first = statements[0]!;
    const last = statements[statements.length - 1]!;
    // From the first statement's line (its comments come along) to the last one's end.
    const from = ctx.text.lastIndexOf('\n', first.getStart()) + 1;
    // Through the last statement's line end: removing that statement takes its newline too, and
    // an edit reaching past the range would not count.
    const eol = ctx.text.indexOf('\n', last.getEnd());
    const to = eol >= 0 && eol < body.getEnd() - 1 ? eol + 1 : last.getEnd();
    const text = reindent(ctx.edits.textOf(from, to).trimEnd(), indentAt(ctx.text, first.getStart()), indentAt(ctx.text, stmt.getStart())).replace(/^[ \t]*/, '');
    // (Every statement of it gone, an exit dropped after a log line that moved: nothing to put back.)
    if (text.trim() === '') ctx.edits.removeNode(stmt);
    else {
      ctx.edits.removeRange(stmt.getStart(), stmt.getEnd());
      ctx.edits.insert(stmt.getStart(), text);
    }
    const callee = body.getParentOrThrow().getParentOrThrow().getChildAtIndex(0);
    const server = callee.getText().replace(/\.(close|listen)$/, '').replace(/[?!]$/, '');
    const what = callee.getText().endsWith('.listen') ? 'listen' : 'close';
    ctx.warnings.push(
      `${server}.${what}(...) at line ${stmt.getStartLineNumber()}: that server went (${what === 'close' ? 'the base closes its own after onStop()' : 'the base serves /health on its own'}); the callback's statements now run in its place`,
    );
  }
}
