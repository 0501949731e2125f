// One Python agent through the profile's transforms: propose removals, resolve them
// safely, make the structural edits, emit line-exact deletions, then check that the
// result parses and refers to nothing that was removed.
import path from 'node:path';
import type { KeptForReview, RewriteOutcome } from '../../core/types.js';
import { pathMentions } from '../../analysis/probe-references.js';
import { externalUses, moduleNameUses, repoFile, repoIndex, type ExternalUse, type Indexed } from '../../analysis/repo-references.js';
import { classBaseNames } from './repo-class-bases.js';
import { repoTree } from './repo-trees.js';
import { importedTarget, indexedModules, inheritedClasses, inheritedSelfUses, type ImportedTarget, type InheritedClass } from '../../analysis/inherited.js';
import { MigrateError, oneLine } from '../../core/errors.js';
import type { Profile } from '../../profile/profile.js';
import { buildAgentModel, type AgentModel } from '../../analysis/agent-model.js';
import type { BaseModel } from '../../analysis/base-model.js';
import { referenceIndexOf } from '../../analysis/references.js';
import { danglingMemberRead } from '../../analysis/lost-member-reads.js';
import { RemovalPlan, moduleAttribute, neverAgentLocal } from '../../analysis/removal-plan.js';
import { EditBuffer, OverlappingEditError } from './edit-buffer.js';
import { baseName, buildModuleModel, readModuleModel, type PyClass } from './module-model.js';
import { firstSyntaxError, parsePython, parseStrictEditable, reparsePython, reparsePythonFromFlat, type EditableParse, type NativeTree, type SyntaxNode, type Tree } from './parser.js';
import { emptiedGuards, removeNodes } from './remove-lines.js';
import { detectLayout } from './text.js';
import { walkTypes } from './syntax.js';
import { step } from '../../core/counters.js';
import type { PythonTransform, PythonTransformContext, UnitRewrite } from './transform-context.js';
import { PYTHON_TRANSFORMS } from '../../../transforms/python/index.js';
import { desugarPartialAlias, type PartialDesugar } from '../../../transforms/python/hardened-partial-alias.js';
import { reachesBus } from '../../../transforms/python/hardened-shapes.js';
import { registryMixin } from '../../../transforms/python/registry-mixin.js';
import { queueMixins } from '../../../transforms/python/hardened-queue-mixin.js';
import { OLD_AGENT_BASE } from '../../../transforms/python/inherit-base.js';
import { excerpt } from '../../core/excerpt.js';

export interface PythonRewriteInput {
  /** Path used in messages (relative to the root). */
  file: string;
  source: string;
  className: string;
  profile: Profile;
  base: BaseModel;
  /** The repository root: members that go or are renamed are looked for in its other files. */
  root?: string;
  /** The batch this rewrite belongs to: the repository is read once per batch (see repoIndex). */
  repoSnapshot?: string;
  /** The agent's own file (relative), when `file` names something else (the _v2 being verified). */
  agentFile?: string;
  /** Other classes of the file that are not the agent (helpers, records, sidecars the scan recognised as agents elsewhere). */
  otherClasses?: Set<string>;
  transforms?: PythonTransform[];
  /** The source already parsed, without syntax errors (the idempotency pass passes the first run's output tree). */
  tree?: Tree;
  /** With `tree`: the parser's native tree of the same text (the scan's, in this thread), used up by the output's reparse. */
  native?: NativeTree;
  /** The rewrite of a base migration unit's base, whose subclasses the unit rewrites with it (see UnitRewrite). */
  unit?: UnitRewrite;
  /**
   * Members whose callers in other files are taken as changed (none found): the second rewrite that
   * tells which review items follow from such a caller alone (see rootCauses).
   */
  served?: ReadonlySet<string>;
  /**
   * Only the output and whether the rewrite fails are read (verification's idempotency pass): what
   * only the review items' wording depends on is not worked out, namely rootCauses' second rewrite per
   * caller root, which can fold items into one another but never changes the output or the status.
   */
  verdictOnly?: boolean;
}


export function rewritePython(input: PythonRewriteInput): RewriteOutcome {
  return rewritePythonTrees(input).outcome;
}

/** The rewrite, with its parsed input and (when it parsed cleanly) output, for the checks of verification. */
export function rewritePythonTrees(input: PythonRewriteInput): { outcome: RewriteOutcome; inputTree?: Tree; outputTree?: Tree } {
  const empty = { removed: [], kept_for_review: [], warnings: [] };
  const py = input.profile.python;
  if (!py) return { outcome: { status: 'skipped', ...empty, error: `${input.file}: profile ${input.profile.name} has no python section` } };
  if (input.tree) return rewriteTree(input, py, input.tree, input.native ? { tree: input.tree, native: input.native } : undefined);
  // Parsed here: its native tree is kept, and the output is parsed incrementally from it.
  let parsed: EditableParse;
  try {
    parsed = parseStrictEditable(input.source, input.file);
  } catch (err) {
    return { outcome: { status: 'failed', ...empty, error: oneLine(err) } };
  }
  return rewriteTree(input, py, parsed.tree, parsed);
}

function rewriteTree(
  input: PythonRewriteInput,
  py: NonNullable<Profile['python']>,
  tree: Tree,
  editable?: EditableParse,
  desugared?: { original: string; originalTree: Tree } & PartialDesugar,
): { outcome: RewriteOutcome; inputTree?: Tree; outputTree?: Tree } {
  const empty = { removed: [], kept_for_review: [], warnings: [] };
  const fail = (error: string) => ({ outcome: { status: 'failed' as const, ...empty, error } });
  const module = step('module model', () => buildModuleModel(input.source, tree));
  const cls = module.classes.find((c) => c.name === input.className);
  if (!cls) return fail(`${input.file}: class ${input.className} not found`);
  const agent = step('agent model', () => buildAgentModel(cls));
  const agentFile = input.agentFile ?? input.file;
  // The repository is listed and read at most once per rewrite, and each name searched once.
  let files: Indexed | undefined;
  const found = new Map<string, ExternalUse[]>();
  const external = (name: string): ExternalUse[] => {
    if (!input.root || input.served?.has(name)) return [];
    let hit = found.get(name);
    if (!hit) {
      files ??= repoIndex(input.root, input.repoSnapshot);
      hit = externalUses(files, [agentFile, agentFile.replace(/\.py$/, '_v2.py')], name, {
        className: input.className,
        module: path.basename(agentFile).replace(/\.py$/, ''),
      });
      found.set(name, hit);
    }
    const outside = input.unit ? hit.filter((u) => !input.unit!.rewritten(u)) : hit;
    return context ? [...outside, ...staysParentUses(context, name)] : outside;
  };
  // A parent in another file that stays a base runs its methods on the agent: what they read of it is used
  // (a queue mixin leaving the bases takes its reads with it). Not cached: which mixins leave is decided
  // by a transform that itself asks external().
  let context: PythonTransformContext | undefined;
  const staysParentUses = (c: PythonTransformContext, name: string): ExternalUse[] => {
    const leaving = new Set(queueMixins(c).map((q) => q.name));
    // A registration mixin whose calls go onto the base, nothing else of it used (registry-mixin).
    const registry = registryMixin(c);
    if (registry && !registry.keepsBase) leaving.add(registry.cls.name);
    // An older home-made agent base the target base replaces (inherit-base) leaves the bases too, and
    // so does an old base of the target's own name, imported from elsewhere (hardened-old-base).
    const replaced = c.agent.cls.bases.map((b) => baseName(b)).find((b) => b && OLD_AGENT_BASE.test(b));
    if (replaced) leaving.add(replaced);
    leaving.add(c.profile.base_class);
    return inheritedSelfUses(inherited().filter((p) => !leaving.has(p.cls.name)), agentFile, new Set(agent.methods.keys()), name);
  };
  const moduleFound = new Map<string, ExternalUse[]>();
  const moduleUses = (name: string): ExternalUse[] => {
    if (!input.root) return [];
    let hit = moduleFound.get(name);
    if (!hit) {
      files ??= repoIndex(input.root, input.repoSnapshot);
      hit = moduleNameUses(files, [agentFile, agentFile.replace(/\.py$/, '_v2.py')], name, path.basename(agentFile).replace(/\.py$/, ''));
      moduleFound.set(name, hit);
    }
    return hit;
  };
  let parents: InheritedClass[] | undefined;
  const inherited = (): InheritedClass[] => {
    const named = cls.bases.map((b) => baseName(b)).filter((n): n is string => !!n && n !== input.profile.base_class);
    // A parent defined in the agent's own file (a mixin above it) is read from the module model.
    const local = named.some((n) => module.classes.some((k) => k.name === n && k.node.id !== cls.node.id));
    // Only imported parents live elsewhere: without one, the repository is not read.
    const imported = !!input.root && named.some((n) => module.imports.get(n)?.name);
    if (!local && !imported) return [];
    if (imported) files ??= repoIndex(input.root!, input.repoSnapshot);
    parents ??= inheritedClasses(files ? indexedModules(files) : () => null, agentFile, module, cls, new Set([input.profile.base_class]));
    return parents;
  };
  const importedCache = new Map<string, ImportedTarget | null>();
  const imported = (local: string): ImportedTarget | null => {
    if (!input.root || !module.imports.get(local)) return null;
    if (!importedCache.has(local)) {
      files ??= repoIndex(input.root, input.repoSnapshot);
      importedCache.set(local, importedTarget(files, agentFile, module, local));
    }
    return importedCache.get(local)!;
  };
  const ctx: PythonTransformContext = {
    file: input.file,
    location: input.root ? { root: input.root, agentFile: input.agentFile ?? input.file } : null,
    source: input.source,
    layout: detectLayout(input.source),
    module,
    agent,
    profile: input.profile,
    py,
    base: input.base,
    baseOwned: new Set([...input.base.attributes.keys(), ...input.base.methods]),
    refs: step('references', () => referenceIndexOf(tree)),
    plan: new RemovalPlan(),
    resolved: null,
    edits: new EditBuffer(input.source),
    deletions: [],
    passThrough: new Map(),
    introduced: new Set(),
    renames: new Map(),
    external,
    moduleUses,
    repoFile: (rel: string) => {
      if (!input.root) return null;
      files ??= repoIndex(input.root, input.repoSnapshot);
      return repoFile(files, rel) ?? null;
    },
    repoClassBases: (rel: string) => {
      if (!input.root) return null;
      files ??= repoIndex(input.root, input.repoSnapshot);
      return classBaseNames(files, rel);
    },
    repoTree: (rel: string) => {
      if (!input.root) return null;
      files ??= repoIndex(input.root, input.repoSnapshot);
      return repoTree(files, rel);
    },
    pathMentions: (route, ports) => (input.root ? pathMentions(input.root, [agentFile, agentFile.replace(/\.py$/, '_v2.py')], route, ports) : []),
    inherited,
    imported,
    removed: [],
    kept: [],
    warnings: [],
    otherClasses: input.otherClasses ?? new Set(),
    unit: input.unit,
  };
  context = ctx;
  // A publish reached through a functools.partial alias whose bound values are fixed when the class is
  // defined: the rewrite runs on the source with the alias resolved (see hardened-partial-alias.ts).
  if (!desugared && py.remove.includes('publish')) {
    const sugar = step('partial alias', () => desugarPartialAlias(input.source, tree, input.className, (_m, _c, fn) => reachesBus(ctx, fn), (name) => external(name).length > 0, ctx.baseOwned));
    if (sugar) {
      const again = step('rewrite without the alias', () => rewriteTree({ ...input, source: sugar.source, tree: undefined, native: undefined }, py, parsePython(sugar.source), undefined, { original: input.source, originalTree: tree, ...sugar }));
      return { ...again, inputTree: tree };
    }
  }
  if (desugared) {
    ctx.warnings.push(...desugared.warnings);
    const rows = new Set(desugared.placeholders.map((l) => l - 1));
    walkTypes(module.root, new Set(['pass_statement']), (n) => {
      if (!rows.has(n.startPosition.row)) return;
      ctx.deletions.push({ node: n, symbol: n.parent?.id === module.root.id ? 'import (only the partial alias used it)' : 'the partial alias', plain: true });
    });
  }
  const transforms = (input.transforms ?? PYTHON_TRANSFORMS).filter((t) => enabled(t, py.remove));
  // The removed nodes inside a definition (outermost first), once the removal is known.
  let removedInside: (outer: SyntaxNode) => SyntaxNode[] = () => [];
  try {
    for (const t of transforms.filter((t) => t.phase === 'propose')) step(t.name, () => t.run(ctx));
    ctx.resolved = step('removal plan', () => ctx.plan.resolve({
      agent,
      moduleClasses: module.classes,
      moduleFunctions: module.functions,
      moduleImports: module.imports,
      refs: ctx.refs,
      baseOwned: ctx.baseOwned,
      threadDriven: input.base.threadDriven,
      external: ctx.external,
      targetBase: input.profile.base_class,
    }));
    for (const t of transforms.filter((t) => t.phase === 'edit')) step(t.name, () => t.run(ctx));
    for (const st of ctx.resolved.statements) {
      if (st.replacement !== undefined && !ctx.resolved.nodes.some((n) => n.startIndex <= st.node.startIndex && st.node.endIndex <= n.endIndex)) {
        ctx.edits.replace(st.node.startIndex, st.node.endIndex, st.replacement, 'replace');
      }
    }
    const nodes = [...ctx.resolved.nodes, ...ctx.deletions.map((d) => d.node)];
    const guards = emptiedGuards(nodes);
    nodes.push(...guards.remove);
    for (const guard of guards.emptied) {
      const test = guard.childForFieldName('condition')!.text;
      const gone = guards.remove.includes(guard) ? 'went whole' : 'is left as `pass`';
      ctx.warnings.push(`if ${test}: (line ${guard.startPosition.row + 1}) ${gone}, everything it guarded having gone; ${test} no longer has any effect there`);
    }
    removedInside = (outer) => {
      const inside = nodes.filter((n) => outer.startIndex < n.startIndex && n.endIndex <= outer.endIndex);
      const within = (n: SyntaxNode, o: SyntaxNode) => o.startIndex <= n.startIndex && n.endIndex <= o.endIndex && (o.startIndex !== n.startIndex || o.endIndex !== n.endIndex);
      return [...new Map(inside.filter((n) => !inside.some((o) => within(n, o))).map((n) => [n.startIndex, n])).values()].sort((a, b) => a.startIndex - b.startIndex);
    };
    const refused = step('remove lines', () => removeNodes(input.source, nodes, ctx.edits, ctx.layout, 'remove'));
    if (refused.length) {
      const n = refused[0]!;
      throw new MigrateError(
        `cannot remove "${excerpt(n.text, 40)}" as whole lines (it shares a line with other code); migrate this agent by hand`,
        input.file,
        n.startPosition.row + 1,
      );
    }
  } catch (err) {
    if (err instanceof OverlappingEditError) return fail(`${input.file}: internal edit conflict (${err.message}); nothing written`);
    return fail(oneLine(err));
  }
  const output = ctx.edits.apply();
  // The same text parses to the same tree: an unchanged file is not parsed again; a changed
  // one is reparsed from the input's native tree, told of the edits. A tree given (the scan's
  // flat arrays) has no native tree: its text is parsed natively again for that, which with the
  // incremental reparse and the copy of unchanged subtrees costs a quarter less CPU than a fresh
  // parse of the output.
  const check = step('output parse', () =>
    output === input.source ? tree
    : editable ? reparsePython(editable, ctx.edits.hunks(), output)
    : tree.source === input.source ? reparsePythonFromFlat(tree, ctx.edits.hunks(), output)
    : parsePython(output));
  const bad = firstSyntaxError(check);
  if (bad) return fail(`${input.file}: the rewrite would not parse (line ${bad.startPosition.row + 1} of the output); nothing written`);
  const removed = [
    ...ctx.resolved.members.keys(),
    ...ctx.resolved.statements.map((s) => s.symbol),
    // Names cut out of a statement that stays (an import's other names).
    ...ctx.removed,
    // Transport state moved into the publisher says so itself (it is not the base's).
    ...ctx.deletions.filter((d) => d.symbol !== 'super().__init__').map((d) => (d.plain || d.symbol.startsWith('import ') || / \(moved into \w+\)$/.test(d.symbol) ? d.symbol : `self.${d.symbol} (set by the base)`)),
  ];
  const dangling = step('dangling check', () => danglingReference(check, ctx));
  if (dangling) return fail(`${input.file}: ${dangling}; nothing written`);
  for (const n of ctx.resolved.notes) ctx.warnings.push(`${n.symbol} (line ${n.line}): ${keptNote(n.reason, agent.methods.get(n.symbol)?.outer, removedInside)}`);
  const kept = [...ctx.resolved.kept, ...ctx.kept].sort((a, b) => a.line - b.line || a.symbol.localeCompare(b.symbol));
  const outcome: RewriteOutcome = {
    status: output === (desugared?.original ?? input.source) ? 'unchanged' : 'changed',
    output,
    removed: [...new Set(removed)],
    kept_for_review: dedupe(kept),
    warnings: ctx.warnings,
    ...(ctx.unstartable ? { unstartable: ctx.unstartable } : {}),
  };
  if (!input.served && !input.verdictOnly) outcome.kept_for_review = step('root causes', () => rootCauses(input, py, ctx.resolved!.callerRoots, outcome.kept_for_review, desugared));
  return { outcome, inputTree: tree, outputTree: check };
}

/**
 * A member kept for review only because a file elsewhere reaches it (a probe script stopping the
 * health server) holds other code back with it: run() still reads it, so run() stays unconverted,
 * so the transport its cycle calls stays too. Each such item follows from that one caller; the
 * reviewer reads one item, the caller's, which names what follows from it. What follows is proven,
 * not guessed: the same rewrite with that member's outside callers taken as changed, and an item
 * gone there is one this caller alone keeps. An item also kept there stays an item of its own.
 */
function rootCauses(
  input: PythonRewriteInput,
  py: NonNullable<Profile['python']>,
  roots: string[],
  kept: KeptForReview[],
  desugared?: { original: string; originalTree: Tree } & PartialDesugar,
): KeptForReview[] {
  let out = kept;
  for (const root of roots) {
    const item = out.find((k) => k.symbol === root);
    if (!item || out.length < 2) continue;
    const alt = rewriteTree({ ...input, served: new Set([root]), tree: undefined, native: undefined }, py, parsePython(input.source), undefined, desugared).outcome;
    if (alt.status === 'failed') continue;
    const follows = out.filter((k) => k !== item && !roots.includes(k.symbol) && !alt.kept_for_review.some((a) => a.symbol === k.symbol));
    if (!follows.length) continue;
    const folded = {
      ...item,
      reason: `${item.reason}. Until that caller is changed, this also holds back (each follows from it alone, and goes once it is changed and the agent is migrated again): ` +
        follows.map((k) => `${k.symbol} (line ${k.line}): ${k.reason}`).join('; '),
    };
    out = out.filter((k) => !follows.includes(k)).map((k) => (k === item ? folded : k));
  }
  return out;
}

/**
 * A note that a method is "kept as it is" while the removal took statements out of it (its health
 * server, a handler class) says what went and what stays: before, the warning claimed the method
 * was untouched though its server code was gone.
 */
function keptNote(reason: string, outer: SyntaxNode | undefined, removedInside: (outer: SyntaxNode) => SyntaxNode[]): string {
  const suffix = '; kept as it is';
  if (!outer || !reason.endsWith(suffix)) return reason;
  const gone = removedInside(outer);
  if (!gone.length) return reason;
  const label = (n: SyntaxNode) => {
    const def = n.type === 'decorated_definition' ? n.childForFieldName('definition') : n;
    if (def?.type === 'class_definition') return `class ${def.childForFieldName('name')?.text}`;
    if (def?.type === 'function_definition') return `def ${def.childForFieldName('name')?.text}()`;
    const first = n.text.split('\n')[0]!.trim();
    return first.length > 60 ? `${first.slice(0, 57)}...` : first;
  };
  const list = gone.map((n) => `${label(n)} (line ${n.startPosition.row + 1})`).join(', ');
  return `${reason.slice(0, -suffix.length)}; kept, but migrate removed ${list} from it; the rest of it is kept as it was`;
}

function enabled(t: PythonTransform, remove: string[]): boolean {
  const c = CONCERN[t.name];
  return !c || remove.includes(c);
}

/** The profile's `remove` concern a transform belongs to (made once, not per transform per rewrite). */
const CONCERN: Record<string, string> = {
  'remove-health': 'health',
  'health-hook': 'health',
  'leftover-health-state': 'health',
  'remove-signal-handlers': 'signal',
  'signal-handler-shutdown': 'signal',
  'remove-main-loop': 'main_loop',
  'request-loop-propose': 'main_loop',
  'request-loop': 'main_loop',
  'remove-teardown': 'sockets',
  'remove-owned-sockets': 'sockets',
  'hardened-publish': 'publish',
  'hardened-queue': 'queue',
  'hardened-retry': 'retry',
  'hardened-collect-propose': 'collect_loop',
  'hardened-collect': 'collect_loop',
  'hardened-main-loop-propose': 'collect_loop',
  'hardened-main-loop': 'collect_loop',
  'hardened-result-log': 'collect_loop',
  'hardened-old-base': 'old_base',
  'hardened-publisher': 'publish',
  'hardened-business-publish': 'publish',
  'hardened-sender-propose': 'publish',
  'hardened-sender': 'publish',
  'hardened-moved-imports': 'collect_loop',
  'hardened-hooks': 'collect_loop',
  'hardened-own-hooks': 'collect_loop',
};

/** Safety net: nothing removed (and not provided by the base) may be referenced in the output. */
function danglingReference(output: Tree, ctx: PythonTransformContext): string | null {
  const refs = referenceIndexOf(output);
  // Another class of the module that defines a member of that name answers `self.<name>` in
  // its own methods (transport code moved into a helper class keeps calling its own helpers).
  const model = readModuleModel(output.rootNode.text, output);
  const others = model.classes.filter((c) => c.name !== ctx.agent.cls.name);
  // `self.eventbus_publisher._close_conn` in the agent: a member of the object the agent built from
  // another class of the module (`self.eventbus_publisher = EventBusPublisher(...)`), which defines it.
  const agentOut = model.classes.find((c) => c.name === ctx.agent.cls.name);
  // Each class's attribute model once: ownedElsewhere asked for it again at every reference of every removed name.
  const models = new Map<PyClass, AgentModel>();
  const modelOf = (c: PyClass) => models.get(c) ?? models.set(c, buildAgentModel(c)).get(c)!;
  // Read only when a removed member's reference is looked at (its assignments walk every method body).
  let builtFrom: Map<string, string> | undefined;
  const builtFromOf = (agentOut: PyClass) => {
    if (builtFrom) return builtFrom;
    builtFrom = new Map<string, string>();
    for (const a of modelOf(agentOut).assignments) {
      const f = a.value?.type === 'call' ? a.value.childForFieldName('function') : null;
      if (f?.type === 'identifier' && others.some((c) => c.name === f.text)) {
        const prev = builtFrom.get(a.attr);
        builtFrom.set(a.attr, prev === undefined || prev === f.text ? f.text : '');
      } else builtFrom.set(a.attr, '');
    }
    return builtFrom;
  };
  const memberOfBuilt = (name: string, node: SyntaxNode) => {
    const obj = node.parent?.type === 'attribute' ? node.parent.childForFieldName('object') : null;
    const holder = obj?.type === 'attribute' && obj.childForFieldName('object')?.text === 'self' ? obj.childForFieldName('attribute')!.text : null;
    const cls = holder && agentOut ? others.find((c) => c.name === builtFromOf(agentOut).get(holder)) : undefined;
    return !!cls && cls.methods.has(name);
  };
  const ownedElsewhere = (name: string, at: number, node?: SyntaxNode) =>
    others.some((c) => c.node.startIndex <= at && at < c.node.endIndex && (c.methods.has(name) || modelOf(c).attributes.has(name))) || (!!node && memberOfBuilt(name, node));
  for (const [name, p] of ctx.resolved!.members) {
    const shared = ctx.baseOwned.has(name) && p.sharedWithBase !== false && !ctx.base.threadDriven.has(name);
    if ((p.kind === 'method' || p.kind === 'attribute') && shared) continue;
    const uses = refs
      .of(name)
      .filter((r) => (p.kind === 'method' || p.kind === 'attribute'
        // `args.health_port` in main(): an attribute of a local that never holds the agent (an argparse namespace).
        ? r.kind === 'attribute' && !ownedElsewhere(name, r.start, r.node) && !moduleAttribute(r.node, model.imports) && !(agentOut && neverAgentLocal(r.node, agentOut, model.imports))
        : r.kind === 'identifier'));
    if (uses.length) return `removed ${name} is still referenced at output line ${uses[0]!.line}`;
  }
  // An attribute no member proposal removed but whose every assignment went (a statement proposal deleted
  // its set-up while its other uses stayed): `self.<name>` in the agent now fails with AttributeError.
  // Only an edit of the agent's body can take an assignment away: with its body's bytes the same, the
  // output's class has every assignment the input's had, and neither model is built.
  if (agentOut && !sameBody(ctx.agent.cls, agentOut)) {
    const out = modelOf(agentOut);
    for (const name of ctx.agent.attributes) {
      if (ctx.resolved!.members.has(name) || out.attributes.has(name) || out.methods.has(name) || ctx.baseOwned.has(name)) continue;
      if (!ctx.agent.assignments.some((a) => a.attr === name)) continue;
      const use = refs.of(name).find((r) =>
        r.kind === 'attribute' && r.node.parent?.childForFieldName('object')?.text === 'self' &&
        agentOut.node.startIndex <= r.start && r.end <= agentOut.node.endIndex && !ownedElsewhere(name, r.start, r.node));
      if (use) return `self.${name} is still used at output line ${use.line} but every assignment of it was removed`;
    }
  }
  // A member the legacy class had, gone from the output class and not the base's, read through
  // any route to the class (`Agent.X`, `type(self).X`, an alias of self, getattr): AttributeError at run time.
  // A class body byte for byte the input's defines the same members: none can be lost (the mechanical
  // subset, adding only the base, then reads no method body).
  const lostRead = agentOut && !sameBody(ctx.agent.cls, agentOut) ? danglingMemberRead(ctx.agent, output, model, agentOut, ctx.baseOwned) : null;
  if (lostRead) return lostRead;
  // An import that went while code moved into a new method (a hook) still uses its name: NameError at run time.
  const kept = model.imports;
  let binders: LocalBindings | undefined;
  for (const name of ctx.module.imports.keys()) {
    if (kept.has(name) || (binders ??= new LocalBindings(bindingNodes(output.rootNode))).binds(name)) continue;
    const use = refs.of(name).find((r) => r.kind === 'identifier');
    if (use) return `${name} is used at output line ${use.line} but its import was removed`;
  }
  // Likewise a module-level `NAME = ...` the rewrite deleted (a constant only removed code read).
  for (const d of ctx.deletions) {
    const a = d.node.parent?.type === 'module' && d.node.type === 'expression_statement' ? d.node.namedChild(0) : null;
    const name = a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier' ? a.childForFieldName('left')!.text : null;
    if (!name || (binders ??= new LocalBindings(bindingNodes(output.rootNode))).binds(name)) continue;
    const use = refs.of(name).find((r) => r.kind === 'identifier');
    if (use) return `${name} is used at output line ${use.line} but its definition was removed`;
  }
  return null;
}

/**
 * Does the output's class body hold the input's bytes, from the start of its first line (its
 * indentation) to its end? Then it parses to the same statements, and the same `self.<name> = ...`.
 */
function sameBody(input: PyClass, output: PyClass): boolean {
  const from = (c: PyClass) => {
    const text = c.node.tree.source;
    return text.slice(text.lastIndexOf('\n', c.body.startIndex - 1) + 1, c.body.endIndex);
  };
  return from(input) === from(output);
}

/**
 * The nodes of the output that can bind a name other than by an import (see boundLocally), in
 * one walk over the flat tree's arrays: only these are made into node objects (a recursive walk
 * through every node's named children made an object and an array of every node of the output).
 */
function bindingNodes(root: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walkTypes(root, BINDING_TYPES, (n) => {
    out.push(n);
  });
  return out;
}

const BINDING_TYPES: ReadonlySet<string> = new Set([
  'function_definition',
  'class_definition',
  'parameters',
  'lambda_parameters',
  'assignment',
  'augmented_assignment',
  'for_statement',
  'for_in_clause',
  'with_item',
  'as_pattern',
  'except_clause',
]);

/**
 * The names the output's binding nodes bind (see boundLocally), read once: each name asked about
 * went through every binder with a regular expression of its own. A name of word characters is
 * looked up in what the binders' texts hold; any other name is asked of boundLocally itself.
 */
class LocalBindings {
  /** Whole names: a def's or class's, a parameter's. */
  private readonly exact = new Set<string>();
  /** The runs of word characters of each target not right after a `.` (`(^|[^.\w])name\b` for a word name). */
  private readonly targetWords = new Set<string>();
  /** The word after each `as` of an except clause's head (`\bas\s+name\b` for a word name). */
  private readonly exceptAs = new Set<string>();

  constructor(private readonly binders: SyntaxNode[]) {
    for (const n of binders) {
      if (n.type === 'function_definition' || n.type === 'class_definition') {
        const id = n.childForFieldName('name')?.text;
        if (id !== undefined) this.exact.add(id);
      }
      if (n.type === 'parameters' || n.type === 'lambda_parameters') {
        for (const p of n.namedChildren) this.exact.add(p.text.replace(/^\*+/, '').split(/[:=]/)[0]!.trim());
      }
      if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' || n.type === 'for_in_clause' || n.type === 'with_item' || n.type === 'as_pattern') {
        const target = bindingTarget(n);
        if (target) for (const m of target.text.matchAll(/\w+/g)) if (m.index === 0 || target.text[m.index - 1] !== '.') this.targetWords.add(m[0]);
      }
      if (n.type === 'except_clause') for (const m of n.text.split(':')[0]!.matchAll(/\bas\s+(?=(\w+))/g)) this.exceptAs.add(m[1]!);
    }
  }

  binds(name: string): boolean {
    if (!/^\w+$/.test(name)) return boundLocally(this.binders, name);
    return this.exact.has(name) || this.targetWords.has(name) || this.exceptAs.has(name);
  }
}

/** The target an assignment, loop, with item or as-pattern binds. */
function bindingTarget(n: SyntaxNode): SyntaxNode | null {
  return n.childForFieldName('left') ?? n.childForFieldName('alias') ?? (n.type === 'as_pattern' ? n.namedChildren[n.namedChildCount - 1] ?? null : null);
}

/**
 * Is the name bound anywhere in the output other than by an import (a parameter, an assignment, a loop or with target, a def)?
 * `binders` are the output's bindingNodes: walked once however many names are asked about.
 */
function boundLocally(binders: SyntaxNode[], name: string): boolean {
  let found = false;
  for (const n of binders) {
    if ((n.type === 'function_definition' || n.type === 'class_definition') && n.childForFieldName('name')?.text === name) found = true;
    if (n.type === 'parameters' || n.type === 'lambda_parameters') {
      for (const p of n.namedChildren) if (p.text.replace(/^\*+/, '').split(/[:=]/)[0]!.trim() === name) found = true;
    }
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' || n.type === 'for_in_clause' || n.type === 'with_item' || n.type === 'as_pattern') {
      const target = n.childForFieldName('left') ?? n.childForFieldName('alias') ?? (n.type === 'as_pattern' ? n.namedChildren[n.namedChildCount - 1] : null);
      if (target && new RegExp(`(^|[^.\\w])${name}\\b`).test(target.text)) found = true;
    }
    if (n.type === 'except_clause' && new RegExp(`\\bas\\s+${name}\\b`).test(n.text.split(':')[0]!)) found = true;
    if (found) return true;
  }
  return found;
}

function dedupe<T extends { symbol: string; line: number; reason: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((k) => {
    const key = `${k.symbol}|${k.line}|${k.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
