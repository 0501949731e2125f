// The removal plan: transforms propose members and statements to delete; the plan
// keeps only what is safe. A member survives (and is reported for review) when
// anything left in the file still refers to it and the base does not provide it.
// Resolution is a greatest fixpoint: start from every proposal, drop the unsafe
// ones, and repeat, because dropping one can make another's uses reappear.
import type { FindingKind, KeptForReview } from '../core/types.js';
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass, PyFunction } from '../lang/python/module-model.js';
import { callee, selfAttribute, statements, stringValue, walk, walkTypes } from '../lang/python/syntax.js';
import { lineEnd, lineStart } from '../lang/python/text.js';
import { belongsTo, blocksOf, memberSet, type InfraScope } from './infra.js';
import { RangeSet, type ReferenceIndex } from './references.js';
import { buildAgentModel, type AgentModel } from './agent-model.js';
import { derivesFromAgent, helperInstanceMember } from './helper-instance.js';
import type { PayloadScope } from './health-payload.js';

export type MemberKind = 'method' | 'attribute' | 'module-class' | 'module-function';

export interface MemberProposal {
  name: string;
  kind: MemberKind;
  finding: FindingKind;
  /** Why it is redundant (for the record). */
  reason: string;
  /**
   * False when the agent's member only shares a name with one the base owns (its own socket under
   * the base's name, or one the base's threads drive): then every use must go before it can.
   */
  sharedWithBase?: boolean;
  /** Must still hold, given the current set of removed members (e.g. "the method is pure infrastructure"). */
  condition?: (scope: InfraScope) => string | null;
  /**
   * When the condition keeps it: does keeping it unchanged keep the agent's behaviour, given what goes
   * (a signal handler ending a loop that stays)? Then the condition's reason is a note, not a review item.
   */
  keptSafely?: (scope: InfraScope) => boolean;
  /** Review even when removal is safe? (no) — when unsafe, this explains what to look at. */
  reviewHint?: string;
  /**
   * Keeping it unchanged cannot change the agent's behaviour (a payload function, health that is
   * the business, a teardown the base's teardown follows): when it stays, that is a note, not a
   * review item.
   */
  safeToKeep?: boolean;
  /**
   * A method the base defines under the same name, called from code that stays (a kept run loop's
   * `finally: self.cleanup()`): the definition goes, the calls stay and now reach the base's.
   */
  callsReachBase?: boolean;
  /**
   * Callers in other files (`agent.server.shutdown()` in a script) that the rewrite keeps working without
   * the member (a property onto the base's equivalent): their uses do not keep it.
   */
  callersServed?: (uses: Array<{ file: string; line: number; text: string }>) => boolean;
  /** Why such callers need a person (the member is kept for review, not as a note), or null. */
  callersReview?: (uses: Array<{ file: string; line: number; text: string }>) => string | null;
}

export interface StatementProposal {
  node: SyntaxNode;
  symbol: string;
  finding: FindingKind;
  reason: string;
  /** Remove only if every member in this set is removed too (e.g. the signal handler). */
  requires?: string[];
  /**
   * Replace the statement instead of deleting it (same indentation): a wait on a removed socket
   * keeps its pacing as `time.sleep(timeout)` so the loop around it does not start to spin.
   */
  replacement?: string;
  /**
   * Health code the statement starts that lives elsewhere (an in-repository parent's method): what it
   * answered is read there, in that scope, for the base's health hook.
   */
  payloadRegion?: { node: SyntaxNode; scope: PayloadScope };
  /**
   * Agent methods the removed statement handed to a health server as its payload provider
   * (`StatusServer(self.health_port, self.get_status)`): the base's health hook calls them instead.
   */
  payloadMethods?: string[];
  /**
   * Expressions giving the payload a removed health sidecar answered with (`self.monitor.snapshot()`, a
   * lambda's dict), with the agent attributes they read: the base's health hook reports them instead.
   */
  payloadCalls?: Array<{ call: string; members: string[] }>;
}

export interface ResolvedPlan {
  members: Map<string, MemberProposal>;
  /** Nodes to delete (definitions and statements), outermost only. */
  nodes: SyntaxNode[];
  ranges: RangeSet;
  kept: KeptForReview[];
  /** Proposals that stayed where staying is safe: reported as warnings. */
  notes: KeptForReview[];
  statements: StatementProposal[];
  /** Members kept for review only because a caller in another file reaches them (callersReview). */
  callerRoots: string[];
}

export class RemovalPlan {
  private members = new Map<string, MemberProposal>();
  private stmts: StatementProposal[] = [];

  proposeMember(p: MemberProposal): void {
    if (!this.members.has(p.name)) this.members.set(p.name, p);
  }

  proposeStatement(p: StatementProposal): void {
    this.stmts.push(p);
  }

  hasProposal(name: string): boolean {
    return this.members.has(name);
  }

  /** What the member was proposed for ('loop', 'health', ...), or undefined when it was not. */
  findingOf(name: string): FindingKind | undefined {
    return this.members.get(name)?.finding;
  }

  /**
   * Whether a statement of a kept method goes once the members in `scope.removed` go, by the rule
   * collect() deletes by (a statement proposal whose members all go, or code serving only removed
   * members): what a member's condition reads to judge the code the rewrite leaves, not the input's.
   * Members the base's threads drive are taken as shared (fewer statements go: the cautious side).
   */
  statementGoes(st: SyntaxNode, scope: InfraScope, agent: AgentModel): boolean {
    const removed = scope.removed;
    if (this.stmts.some((s) => s.replacement === undefined && (s.requires ?? []).every((r) => removed.has(r)) && s.node.startIndex <= st.startIndex && st.endIndex <= s.node.endIndex)) return true;
    const shared = new Set([...removed].filter((m) => scope.baseOwned.has(m) && this.members.get(m)?.sharedWithBase !== false));
    const { methodNames, callsGo, setupOnly } = this.deletionSets(agent, removed, shared);
    return belongsTo(st, callsGo, setupOnly, methodNames) || iteratesOnly(st, callsGo);
  }

  /** What collect() deletes statements by, given the removed members and those of them shared with the base. */
  private deletionSets(agent: AgentModel, removed: Set<string>, shared: Set<string>): { methodNames: Set<string>; callsGo: Set<string>; setupOnly: Set<string> } {
    // A property's read (`self.health_port`) is a value, never a method handed to someone (a thread, a callback).
    const methodNames = new Set([...agent.methods].filter(([, m]) => !m.decorators.includes('property')).map(([n]) => n));
    // Calls to a method whose name the base answers stay in the code that is kept.
    const callsGo = new Set([...removed].filter((m) => !(shared.has(m) && this.members.get(m)?.callsReachBase)));
    const setupOnly = new Set([...removed].filter((m) => shared.has(m) && this.members.get(m)?.kind === 'attribute'));
    return { methodNames, callsGo, setupOnly };
  }

  resolve(ctx: {
    agent: AgentModel;
    moduleClasses: PyClass[];
    moduleFunctions: Map<string, PyFunction>;
    /** Names the module imports (`atexit` in `atexit.register(...)`: an attribute of it is never the agent's member). */
    moduleImports?: ReadonlySet<string> | ReadonlyMap<string, unknown>;
    refs: ReferenceIndex;
    baseOwned: Set<string>;
    /** Base attributes its own threads operate (never shared with the agent's code). */
    threadDriven?: Set<string>;
    /** Uses of a name in the repository's other files that reach this agent. */
    external?: (name: string) => Array<{ file: string; line: number; text: string }>;
    /** The profile's base class (`BaseAgent`): what it sets is `baseOwned`, so it is no unknown parent (see attributeSetters). */
    targetBase?: string;
  }): ResolvedPlan {
    const R = new Map(this.members);
    const kept = new Map<string, KeptForReview>();
    const keptAsNote = new Set<string>();
    // Kept for a person even where keeping it would be safe: what keeps it needs a change by hand.
    const reviewed = new Set<string>();
    // attribute set only by removed code → the removed method that set it
    const implied = new Map<string, string>();
    // Read when a member goes: with none removed, no attribute can be set only by removed code
    // (and reading them walks every method body of the agent).
    let setOnlyIn: Map<string, AgentModel['assignments']> | undefined;
    for (let round = 0; round < 50; round++) {
      const removed = new Set(R.keys());
      const shared = new Set(
        [...R.values()]
          .filter((p) => (p.kind === 'method' || p.kind === 'attribute') && ctx.baseOwned.has(p.name) && p.sharedWithBase !== false && !ctx.threadDriven?.has(p.name))
          .map((p) => p.name),
      );
      const { nodes, ranges, stmts } = this.collect(ctx, removed, shared);
      // An attribute only removed code set (`self.context = zmq.Context()` in a removed health set-up
      // method) goes with it, and so does what only serves it elsewhere (`self.context.term()` in a
      // kept teardown); a use that stays keeps the method that set it.
      const orphans = removed.size === 0 ? [] : [...(setOnlyIn ??= attributeSetters(ctx))].filter(([a, sets]) => !R.has(a) && !implied.has(a) && sets.every((x) => removed.has(x.method) && ranges.contains(x.stmt.startIndex, x.stmt.endIndex))).map(([a]) => a)
        // A class already on the target base (the rewrite's second run on its own output): only an attribute
        // code that stays still reads, whose setter the first run kept for it and must keep again.
        .filter((a) => !onTargetBase(ctx) || liveUse(ctx.refs, a, ranges));
      if (orphans.length > 0) {
        for (const a of orphans) {
          const setter = ctx.agent.assignments.find((x) => x.attr === a)!;
          implied.set(a, setter.method);
          R.set(a, { name: a, kind: 'attribute', finding: 'other', reason: `self.${a} is set only by removed code (line ${setter.line}, ${setter.method}())` });
        }
        continue;
      }
      let changed = false;
      for (const [name, p] of R) {
        const scope: InfraScope = { removed, baseOwned: ctx.baseOwned };
        const failed = p.condition?.(scope) ?? null;
        if (failed) {
          if (p.keptSafely?.(scope)) keptAsNote.add(name);
          R.delete(name);
          kept.set(name, { symbol: name, line: this.lineOf(ctx, p), reason: failed });
          changed = true;
          continue;
        }
        if (p.kind === 'attribute') {
          // Its whole set-up goes or none of it: an assignment that stays (it hands a kept method to a
          // thread, say) keeps the member, or the code it starts would be left half wired.
          const stays = ctx.agent.assignments.find(
            (a) => a.attr === name && !ranges.contains(a.stmt.startIndex, a.stmt.endIndex),
          );
          if (stays) {
            R.delete(name);
            kept.set(name, { symbol: name, line: stays.line, reason: `${p.reason}, but its set-up at line ${stays.line} stays (${snippet(stays.stmt)}); kept whole` });
            changed = true;
            continue;
          }
        }
        if (shared.has(name)) continue;
        // Threads serving this removed server, listed beside threads that stay: each Thread(...) goes whole
        // (its `name="health"` string included).
        const threads = p.kind === 'attribute' ? ctx.refs.of(name).map((r) => threadElement(r.node, true)).filter((t): t is SyntaxNode => t !== null) : [];
        const uses = ctx.refs.of(name).filter((r) => {
          if (ranges.contains(r.start, r.end)) return false;
          if (threads.some((t) => t.startIndex <= r.start && r.end <= t.endIndex)) return false;
          // One element of a literal collection iterated for set-up or teardown: the element goes.
          if (collectionElement(r.node) && (p.kind === 'attribute' || p.kind === 'method')) return false;
          // A thread of a removed loop, listed beside threads that stay: that Thread(...) element goes.
          if (p.kind === 'method' && threadElement(r.node)) return false;
          // `self.context.socket(...)`: a member of another object of the agent, not this one.
          if ((p.kind === 'attribute' || p.kind === 'method') && r.kind === 'attribute' && memberOfMember(r.node)) return false;
          // `atexit.register(...)` beside a removed `register()` method: an attribute of an imported module.
          if ((p.kind === 'attribute' || p.kind === 'method') && r.kind === 'attribute' && moduleAttribute(r.node, ctx.moduleImports)) return false;
          // `args.health_port` in main(): an attribute of a local that never holds the agent (an argparse namespace).
          if ((p.kind === 'attribute' || p.kind === 'method') && r.kind === 'attribute' && neverAgentLocal(r.node, ctx.agent.cls, ctx.moduleImports)) return false;
          // `self.status_server` in a method of another class of the file (a second agent role): its own.
          if ((p.kind === 'attribute' || p.kind === 'method') && r.kind === 'attribute' && foreignSelf(r.node, name, ctx.agent.cls, ctx.moduleClasses)) return false;
          // `collector.collect()`: a helper object's own member (every value the receiver holds is of another class of the file).
          if ((p.kind === 'attribute' || p.kind === 'method') && r.kind === 'attribute' && helperInstanceMember(r.node, name, ctx.agent.cls, ctx.moduleClasses)) return false;
          // `{"status": "ok"}`: a payload's key spelled like an attribute is not that attribute, unless the
          // module reaches attributes by computed name (getattr(self, key)).
          if (p.kind === 'attribute' && r.kind === 'string' && dictKey(r.node) && !computedAttributeAccess(ctx.agent.cls.node)) return false;
          // `__slots__ = ("port", "ping_listener", ...)` in the class body: a declaration of the attribute, not a use.
          if (p.kind === 'attribute' && r.kind === 'string' && slotsElement(r.node, ctx.agent.cls.node)) return false;
          if (p.kind === 'attribute' || p.kind === 'method') return r.kind !== 'identifier';
          return true;
        });
        // A caller in another file (a helper, a test) keeps the member: it stays, reported with where.
        const elsewhere = uses.length === 0 ? ctx.external?.(name) ?? [] : [];
        if (elsewhere.length > 0 && !p.callersServed?.(elsewhere)) {
          R.delete(name);
          const e = elsewhere[0]!;
          const review = p.callersReview?.(elsewhere);
          kept.set(name, {
            symbol: name,
            line: this.lineOf(ctx, p),
            reason: review ? `${p.reason}: ${review}` : `${p.reason}, but ${e.file}:${e.line} uses it (${e.text})${elsewhere.length > 1 ? ` and ${elsewhere.length - 1} more place(s)` : ''}; kept so that caller keeps working`,
          });
          if (review) reviewed.add(name);
          else keptAsNote.add(name);
          changed = true;
          continue;
        }
        // The definition's own name is inside its removed range; anything else is a live use.
        if (uses.length > 0 && implied.has(name)) {
          // Still read by code that stays: the method that set it stays too (the attribute with it).
          R.delete(name);
          const setter = implied.get(name)!;
          const u = uses[0]!;
          if (R.has(setter)) {
            R.delete(setter);
            kept.set(setter, {
              symbol: setter,
              line: this.lineOf(ctx, this.members.get(setter) ?? { name: setter, kind: 'method', finding: 'other', reason: '' }),
              reason: `${this.members.get(setter)?.reason ?? 'removed'}, but it sets self.${name}, still used at line ${u.line} (${snippet(u.node)})`,
            });
          }
          changed = true;
          continue;
        }
        if (uses.length > 0) {
          R.delete(name);
          const u = uses[0]!;
          kept.set(name, {
            symbol: name,
            line: u.line,
            reason: `${p.reason}, but still used at line ${u.line} (${snippet(u.node)})${p.reviewHint ? `; ${p.reviewHint}` : ''}`,
          });
          changed = true;
        }
      }
      if (!changed) {
        // An `agent = self` whose every reader went (a nested health handler, `self.httpd.agent = agent`)
        // would be left behind unused: it goes too (its own value reaches nothing else).
        for (const alias of orphanedSelfAliases(ctx.agent, removed, ranges)) {
          nodes.push(alias);
          ranges.add(alias.startIndex, alias.endIndex);
        }
        for (const name of R.keys()) kept.delete(name);
        const safe = (k: KeptForReview) => !reviewed.has(k.symbol) && (this.members.get(k.symbol)?.safeToKeep === true || keptAsNote.has(k.symbol));
        const all = [...kept.values()];
        return { members: R, nodes, ranges, kept: all.filter((k) => !safe(k)), notes: all.filter(safe), statements: stmts, callerRoots: [...reviewed] };
      }
    }
    throw new Error('removal plan did not settle');
  }

  private lineOf(ctx: { agent: AgentModel; moduleClasses: PyClass[] }, p: MemberProposal): number {
    if (p.kind === 'method') return ctx.agent.methods.get(p.name)?.line ?? ctx.agent.cls.line;
    if (p.kind === 'attribute') return ctx.agent.assignments.find((a) => a.attr === p.name)?.line ?? ctx.agent.cls.line;
    return ctx.moduleClasses.find((c) => c.name === p.name)?.line ?? 1;
  }

  /** Every node that goes, given the removed member set. */
  private collect(
    ctx: { agent: AgentModel; moduleClasses: PyClass[]; moduleFunctions: Map<string, PyFunction> },
    removed: Set<string>,
    shared: Set<string>,
  ): { nodes: SyntaxNode[]; ranges: RangeSet; stmts: StatementProposal[] } {
    const { methodNames, callsGo, setupOnly } = this.deletionSets(ctx.agent, removed, shared);
    const nodes: SyntaxNode[] = [];
    for (const name of removed) {
      // (an attribute set only by removed code has no proposal of its own, and no definition to delete)
      const p = this.members.get(name);
      if (!p) continue;
      if (p.kind === 'method') nodes.push(ctx.agent.methods.get(name)!.outer);
      else if (p.kind === 'module-class') {
        const c = ctx.moduleClasses.find((k) => k.name === name);
        if (c) nodes.push(c.outer);
      } else if (p.kind === 'module-function') {
        const f = ctx.moduleFunctions.get(name);
        if (f) nodes.push(f.outer);
      }
    }
    const stmts = this.stmts.filter((s) => (s.requires ?? []).every((r) => removed.has(r)));
    nodes.push(...stmts.filter((s) => s.replacement === undefined).map((s) => s.node));
    // Statements in the surviving methods that only serve removed members go with them (not one
    // replaced in place, nor one holding such: `self._publish(e)` becoming `events.append(e)`).
    const replaced = stmts.filter((s) => s.replacement !== undefined).map((s) => s.node);
    const holdsReplaced = (n: SyntaxNode) => replaced.some((r) => n.startIndex <= r.startIndex && r.endIndex <= n.endIndex);
    const inRemovedDef = (n: SyntaxNode) => nodes.some((d) => d.startIndex <= n.startIndex && n.endIndex <= d.endIndex);
    // A statement mentioning no member whose calls go holds nothing that goes (belongsTo and
    // iteratesOnly need such a mention, and the statements nested in it mention a subset; the
    // foreign scopes whose mentions its member set leaves out are not visited): passed over whole.
    const touches = (s: SyntaxNode) => {
      for (const m of memberSet(s)) if (callsGo.has(m)) return true;
      return false;
    };
    const visitBlock = (block: SyntaxNode) => {
      const stmts = statements(block);
      const touching = stmts.filter(touches);
      // A loop whose whole body would go is not set-up or teardown: emptied, it would spin.
      const loopBody = block.parent?.type === 'while_statement' || block.parent?.type === 'for_statement';
      const going = touching.filter((s) => !inRemovedDef(s) && !holdsReplaced(s) && (belongsTo(s, callsGo, setupOnly, methodNames) || iteratesOnly(s, callsGo)));
      if (loopBody && going.length === stmts.length && stmts.length > 0) return;
      for (const s of touching) {
        if (inRemovedDef(s)) continue;
        if (going.includes(s)) nodes.push(s);
        else if (!isForeignScope(s)) for (const b of blocksOf(s)) visitBlock(b);
      }
    };
    // No member whose calls go: no statement touches one, so none goes and none is visited (the
    // usual case in the idempotency pass over an output, and for a rewrite that removes nothing).
    if (callsGo.size > 0) {
      for (const m of ctx.agent.methods.values()) {
        if (!removed.has(m.name)) visitBlock(m.body);
      }
    }
    const outermost = nodes.filter(
      (n) => !nodes.some((o) => o !== n && o.startIndex <= n.startIndex && n.endIndex <= o.endIndex && !(o.startIndex === n.startIndex && o.endIndex === n.endIndex && nodes.indexOf(o) > nodes.indexOf(n))),
    );
    const ranges = new RangeSet();
    for (const n of outermost) ranges.add(n.startIndex, n.endIndex);
    // A replaced statement's own text is gone too (its references no longer count as uses).
    for (const st of stmts) if (st.replacement !== undefined) ranges.add(st.node.startIndex, st.node.endIndex);
    return { nodes: outermost, ranges, stmts };
  }
}

/**
 * The agent's attributes that only its own methods' `self.<name> = ...` can define, with those
 * assignments: the base does not own the name, and nothing else defines it (no class-level value, no
 * method of that name, no legacy base class, no `setattr(self, ...)`). One whose every assignment
 * goes with removed code is set by nothing any more.
 */
/**
 * The class's only parent is the profile's target base (a _v2 the rewrite runs on again): what that base
 * sets is baseOwned, so the class's own assignments are every setter of its other attributes.
 */
function onTargetBase(ctx: { agent: AgentModel; targetBase?: string }): boolean {
  const bases = ctx.agent.cls.bases.filter((b) => b.text !== 'object');
  return !!ctx.targetBase && bases.length > 0 && bases.every((b) => b.text === ctx.targetBase);
}

/** A read of `self.<name>` outside the removed ranges. */
function liveUse(refs: ReferenceIndex, name: string, ranges: RangeSet): boolean {
  return refs.of(name).some((r) => r.kind === 'attribute' && r.node.parent?.childForFieldName('object')?.text === 'self' && !ranges.contains(r.start, r.end));
}

function attributeSetters(ctx: { agent: AgentModel; baseOwned: Set<string>; targetBase?: string }): Map<string, AgentModel['assignments']> {
  const out = new Map<string, AgentModel['assignments']>();
  const cls = ctx.agent.cls;
  // A parent of the repository may set an attribute too, so the class's own setters are not all of them;
  // the target base is no such parent (what it sets is baseOwned, passed over below). Without it, the second
  // run on a kept setter's output (the class now on the base) removed that setter while code that stays
  // still read its attribute, and verification refused the agent as not idempotent.
  if ((!onTargetBase(ctx) && cls.bases.some((b) => b.text !== 'object')) || /\bsetattr\(\s*self\b|self\.__dict__/.test(cls.node.text)) return out;
  const classLevel = new Set<string>();
  for (const st of statements(cls.node.childForFieldName('body')!)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier') classLevel.add(left.text);
  }
  for (const a of ctx.agent.assignments) {
    if (ctx.baseOwned.has(a.attr) || ctx.agent.methods.has(a.attr) || classLevel.has(a.attr)) continue;
    const list = out.get(a.attr);
    if (list) list.push(a);
    else out.set(a.attr, [a]);
  }
  return out;
}

/**
 * `agent = self` statements (a local bound to the method's self parameter) in the methods that stay,
 * whose name code that stays no longer mentions, though removed code did: once that code goes, each
 * would be an unused local. A name never read at all is the legacy code's own and stays untouched; so
 * does one in a method reading its locals by name (`locals()`, `eval`), and one sharing its line.
 */
/** A self alias is a statement of the method's own scope: the scopes below it are passed over. */
const ALIAS_SCOPES: ReadonlySet<string> = new Set(['expression_statement', 'function_definition', 'class_definition', 'lambda']);
const IDENTIFIERS: ReadonlySet<string> = new Set(['identifier']);

function orphanedSelfAliases(agent: AgentModel, removed: Set<string>, ranges: RangeSet): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  // An alias goes only when every mention of it is in removed code: with nothing removed, none does.
  if (ranges.empty) return out;
  for (const m of agent.methods.values()) {
    const selfName = m.params[0]?.name;
    if (!selfName || removed.has(m.name) || ranges.contains(m.outer.startIndex, m.outer.endIndex)) continue;
    if (m.decorators.includes('staticmethod') || m.decorators.includes('classmethod')) continue;
    if (/\b(locals|vars|eval|exec)\s*\(/.test(m.body.text)) continue;
    // Aliases written in the method's own scope (a nested def's `self` is its own).
    const aliases: SyntaxNode[] = [];
    walkTypes(m.body, ALIAS_SCOPES, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      const e = n.namedChildCount === 1 ? n.namedChild(0) : null;
      if (e?.type === 'assignment' && e.childForFieldName('left')?.type === 'identifier' && e.childForFieldName('right')?.text === selfName) aliases.push(n);
      return undefined;
    });
    for (const st of aliases) {
      if (ranges.contains(st.startIndex, st.endIndex) || !ownLines(st)) continue;
      const target = st.namedChild(0)!.childForFieldName('left')!;
      let mentioned = 0;
      let stays = false;
      walkTypes(m.node, IDENTIFIERS, (n) => {
        if (stays || n.text !== target.text || n.id === target.id) return;
        // `self._control.agent`, `f(agent=...)`: a member or a keyword of that name, not the local.
        const p = n.parent;
        if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
        if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
        mentioned++;
        if (!ranges.contains(n.startIndex, n.endIndex)) stays = true;
      });
      if (mentioned > 0 && !stays) out.push(st);
    }
  }
  return out;
}

/** The statement alone on its lines (a trailing comment aside): it can go as whole lines. */
function ownLines(st: SyntaxNode): boolean {
  const src = st.tree.source;
  const tail = src.slice(st.endIndex, lineEnd(src, st.endIndex)).trim();
  return src.slice(lineStart(src, st.startIndex), st.startIndex).trim() === '' && (tail === '' || tail.startsWith('#'));
}

/** `self.<x>.<name>`: the name is read on one of the agent's members, not on the agent. */
function memberOfMember(ref: SyntaxNode): boolean {
  const attr = ref.parent;
  const obj = attr?.type === 'attribute' ? attr.childForFieldName('object') : null;
  return obj?.type === 'attribute' && /^self\.\w+$/.test(obj.text);
}

/** `mod.name` where `mod` is a name the module imports (and not self). */
export function moduleAttribute(ref: SyntaxNode, imports: ReadonlySet<string> | ReadonlyMap<string, unknown> | undefined): boolean {
  const attr = ref.parent;
  const obj = attr?.type === 'attribute' ? attr.childForFieldName('object') : null;
  return !!imports && obj?.type === 'identifier' && obj.text !== 'self' && imports.has(obj.text);
}

/**
 * `x.<name>` in a module-level function where the local `x` can never be the agent: every binding of it
 * there is `x = <call>` whose callee starts at a whole module imported from outside the repository
 * (`argparse.ArgumentParser(...)`, `json.load(fh)`) or at another such local (`args = parser.parse_args(argv)`), the agent's class named
 * nowhere in it. A parameter, a global, a loop or `with` target, or anything else keeps the use.
 */
export function neverAgentLocal(
  ref: SyntaxNode,
  agent: PyClass,
  imports: ReadonlySet<string> | ReadonlyMap<string, unknown> | undefined,
  /** A local name imported from a file of the repository (a factory there may return the agent). */
  fromRepository: (local: string) => boolean = () => false,
): boolean {
  const attr = ref.parent;
  const obj = attr?.type === 'attribute' ? attr.childForFieldName('object') : null;
  if (!imports || obj?.type !== 'identifier' || obj.text === 'self') return false;
  let fn: SyntaxNode | null = attr!.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'lambda') fn = fn.parent;
  if (fn?.type !== 'function_definition') return false;
  // main() at module level, or a method of the agent itself (`conn = socket.create_connection(...)`;
  // `conn.close()` in forward() is the connection's close(), not a use of the agent's teardown close()).
  for (let p = fn.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return false;
    if (p.type === 'class_definition') {
      if (p.id !== agent.node.id) return false;
      break;
    }
  }
  const fnNode = fn;
  const agentName = new RegExp(`\\b${agent.name}\\b`);
  const seen = new Set<string>();
  const never = (name: string): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    if (fnNode.childForFieldName('parameters')?.namedChildren.some((pm) => (pm.childForFieldName('name') ?? pm).text.replace(/^\*+/, '') === name)) return false;
    let bindings = 0;
    let other = false;
    walk(fnNode.childForFieldName('body')!, (n) => {
      if (other) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'global_statement' || n.type === 'nonlocal_statement') {
        if (n.namedChildren.some((c) => c.text === name)) other = true;
        return;
      }
      if ((n.type === 'for_statement' || n.type === 'with_item' || n.type === 'as_pattern' || n.type === 'named_expression' || n.type === 'augmented_assignment' || n.type === 'except_clause') &&
        new RegExp(`\\b${name}\\b`).test((n.childForFieldName('left') ?? n.childForFieldName('alias') ?? n.childForFieldName('name') ?? n).text)) {
        if (n.type !== 'except_clause' && n.type !== 'with_item' || new RegExp(`\\bas\\s+${name}\\b`).test(n.text)) other = true;
        return;
      }
      if (n.type !== 'assignment') return;
      const left = n.childForFieldName('left');
      if (!left || !new RegExp(`\\b${name}\\b`).test(left.text)) return;
      const right = n.childForFieldName('right');
      if (left.type !== 'identifier' || left.text !== name || right?.type !== 'call' || agentName.test(right.text)) {
        other = true;
        return;
      }
      const root = /^([A-Za-z_]\w*)/.exec(callee(right) ?? '')?.[1];
      // `fh = open(path)`: the builtin returns a file, never the agent (unless the module rebinds the name).
      if (root === 'open' && callee(right) === 'open' && !imports.has('open') && !moduleBinds(fnNode, 'open')) {
        bindings++;
        return;
      }
      // Only a whole module (`import argparse`) outside the repository: a name imported from it may be a factory of the agent.
      const whole = imports instanceof Map ? (imports.get(root ?? '') as { name?: string | null } | undefined)?.name === null : imports.has(root ?? '');
      if (!root || !((whole && !fromRepository(root)) || never(root))) other = true;
      else bindings++;
    });
    return !other && bindings > 0;
  };
  return never(obj.text);
}

/** A module-level `def <name>` or `<name> = ...` in the file of `node` (a name that shadows a builtin). */
function moduleBinds(node: SyntaxNode, name: string): boolean {
  let root = node;
  while (root.parent) root = root.parent;
  return root.namedChildren.some((st) =>
    (st.type === 'function_definition' && st.childForFieldName('name')?.text === name) ||
    (st.type === 'expression_statement' && st.namedChild(0)?.type === 'assignment' && st.namedChild(0)!.childForFieldName('left')?.text === name));
}

/** Each class's attribute model, built once: foreignSelf asks for it at every reference in the class. */
const classModels = new WeakMap<PyClass, AgentModel>();
function modelOf(cls: PyClass): AgentModel {
  let model = classModels.get(cls);
  if (!model) classModels.set(cls, (model = buildAgentModel(cls)));
  return model;
}

/**
 * `self.<name>` in a method of another class of the module whose `self` cannot be the agent: the
 * class is neither the agent nor (by its bases written in this module) derived from it, does not
 * sit inside the agent's class, and defines or assigns <name> itself. Such a class is a second role
 * or a helper of the file; its member of that name is its own (the output check reads it the same way).
 */
/** The string is the key of a `key: value` pair of a dictionary literal. */
function dictKey(str: SyntaxNode): boolean {
  const pair = str.parent;
  return pair?.type === 'pair' && pair.childForFieldName('key')?.id === str.id && pair.parent?.type === 'dictionary';
}

const computedAccess = new WeakMap<SyntaxNode, boolean>();
/**
 * Does the module reach attributes by a computed name: getattr/hasattr/setattr/delattr (or
 * operator.attrgetter) given anything but a string literal for the name, or `__dict__`/vars()?
 */
function computedAttributeAccess(node: SyntaxNode): boolean {
  let root = node;
  while (root.parent) root = root.parent;
  let found = computedAccess.get(root);
  if (found !== undefined) return found;
  found = false;
  walk(root, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && (n.text === '__dict__' || n.text === 'vars')) found = true;
    if (n.type !== 'call') return;
    const fn = callee(n) ?? '';
    const args = (n.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'keyword_argument');
    const name = /^(getattr|hasattr|setattr|delattr)$/.test(fn) ? args[1] : /(^|\.)attrgetter$/.test(fn) ? args[0] : undefined;
    if (/^(getattr|hasattr|setattr|delattr)$|(^|\.)attrgetter$/.test(fn) && name?.type !== 'string') found = true;
  });
  computedAccess.set(root, found);
  return found;
}

export function foreignSelf(ref: SyntaxNode, member: string, agent: PyClass, classes: PyClass[]): boolean {
  const attr = ref.parent;
  const obj = attr?.type === 'attribute' ? attr.childForFieldName('object') : null;
  if (obj?.type !== 'identifier') return false;
  let fn: SyntaxNode | null = attr!.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'lambda') fn = fn.parent;
  if (fn?.type !== 'function_definition') return false;
  if (fn.childForFieldName('parameters')?.namedChild(0)?.text !== obj.text) return false;
  let body: SyntaxNode | null = fn.parent;
  if (body?.type === 'decorated_definition') body = body.parent;
  const cls = body?.type === 'block' ? body.parent : null;
  if (cls?.type !== 'class_definition' || cls.id === agent.node.id) return false;
  // Inside the agent's own class (a nested class): not a second role; other rules decide.
  for (let p = cls.parent; p; p = p.parent) if (p.id === agent.node.id) return false;
  const name = cls.childForFieldName('name')?.text;
  const own = classes.find((c) => c.node.id === cls.id);
  if (!own || !(own.methods.has(member) || modelOf(own).attributes.has(member))) return false;
  return !derivesFromAgent(name, agent, classes);
}

/** A nested class, or a nested def taking its own `self`: its `self` is not the agent. */
function isForeignScope(s: SyntaxNode): boolean {
  const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
  if (def?.type === 'class_definition') return true;
  if (def?.type === 'function_definition') return def.childForFieldName('parameters')?.namedChild(0)?.text === 'self';
  return false;
}

/** The code a use of a kept member is quoted by (`still used at line N (...)`): its statement, or the line it is on. */
export function snippet(node: SyntaxNode): string {
  let n: SyntaxNode = node;
  while (n.parent && n.parent.type !== 'block' && n.parent.type !== 'module' && n.text.length < 30) n = n.parent;
  // Climbed to code opened on an earlier line (`{` of a payload dict): the use's own line is what the line number shows.
  const src = node.tree.source;
  const line = (n.startPosition.row === node.startPosition.row ? n.text.split('\n')[0]! : src.slice(lineStart(src, node.startIndex), lineEnd(src, node.startIndex))).trim();
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/**
 * `self.x` as one element of a literal tuple/list that a for loop or comprehension iterates
 * (`for srv in (self.server, self.health_server): ...`): the element node, else null.
 */
/**
 * A string naming an attribute in the class's own `__slots__ = ("a", "b")` (tuple or list, in the class
 * body): that string element, else null.
 */
export function slotsElement(str: SyntaxNode, cls: SyntaxNode): SyntaxNode | null {
  if (str.type !== 'string') return null;
  const coll = str.parent?.type === 'tuple' || str.parent?.type === 'list' ? str.parent : null;
  const value = coll ? (coll.parent?.type === 'parenthesized_expression' ? coll.parent : coll) : str;
  const assign = value.parent;
  if (assign?.type !== 'assignment' || assign.childForFieldName('right')?.id !== value.id) return null;
  if (assign.childForFieldName('left')?.text !== '__slots__') return null;
  const stmt = assign.parent;
  return stmt?.type === 'expression_statement' && stmt.parent?.parent?.id === cls.id && coll ? str : null;
}

export function collectionElement(ref: SyntaxNode): SyntaxNode | null {
  // `getattr(self, "status_server", None)`: the member read defensively (set later, in run()) is that element.
  const read = selfGetattr(ref);
  if (read) return loopedElement(read);
  const attr = ref.parent?.type === 'attribute' && ref.parent.childForFieldName('attribute')?.id === ref.id ? ref.parent : null;
  if (!attr || attr.childForFieldName('object')?.text !== 'self') return null;
  // `self.httpd.serve_forever` (the member's bound method, not called) listed beside others: the element
  // is that method, and goes with the member.
  const bound = attr.parent?.type === 'attribute' && attr.parent.childForFieldName('object')?.id === attr.id ? attr.parent : null;
  return loopedElement(bound ?? attr);
}

/**
 * `element` when it is one element of a literal tuple or list a for loop (or comprehension) iterates, else
 * null. Also the pair holding it when the loop unpacks each element (`for target, name in ((self._health_loop,
 * "health"), (self._relay_worker, "relay")):`) and the pair's other parts are literals (a thread's name, a
 * label): that pair is the element, and goes with the member.
 */
function loopedElement(element: SyntaxNode): SyntaxNode | null {
  const iterated = (coll: SyntaxNode, unpacks: number) => {
    if (coll.type !== 'tuple' && coll.type !== 'list') return false;
    const holder = coll.parent?.type === 'parenthesized_expression' ? coll.parent.parent : coll.parent;
    if ((holder?.type !== 'for_statement' && holder?.type !== 'for_in_clause') || holder.childForFieldName('right')?.startIndex !== coll.startIndex) return false;
    if (unpacks === 0) return true;
    const left = holder.childForFieldName('left');
    return (left?.type === 'pattern_list' || left?.type === 'tuple_pattern') && left.namedChildren.length === unpacks &&
      left.namedChildren.every((c) => c.type === 'identifier');
  };
  const coll = element.parent;
  if (!coll) return null;
  if (iterated(coll, 0)) return element;
  const pair = coll;
  if (pair.type !== 'tuple' || !pair.parent || !iterated(pair.parent, pair.namedChildCount)) return null;
  const others = pair.namedChildren.filter((c) => c.id !== element.id);
  return others.every((c) => LITERALS.has(c.type)) ? pair : null;
}

const LITERALS: ReadonlySet<string> = new Set(['string', 'integer', 'float', 'true', 'false', 'none', 'concatenated_string']);

/**
 * The call `getattr(self, "name")` / `getattr(self, "name", default)` when `ref` is its literal name
 * argument (the string node), else null: a read of the member `name` of the agent.
 */
export function selfGetattr(ref: SyntaxNode): SyntaxNode | null {
  if (ref.type !== 'string') return null;
  const args = ref.parent;
  const call = args?.type === 'argument_list' ? args.parent : null;
  if (call?.type !== 'call' || call.childForFieldName('function')?.text !== 'getattr') return null;
  const positional = args!.namedChildren.filter((c) => c.type !== 'comment');
  if (positional.length < 2 || positional.length > 3 || positional.some((c) => c.type === 'keyword_argument' || c.type === 'list_splat' || c.type === 'dictionary_splat')) return null;
  return positional[0]!.type === 'identifier' && positional[0]!.text === 'self' && positional[1]!.id === ref.id ? call : null;
}

/**
 * `self.m` handed as `target=` to a Thread built as one element of a literal list or tuple
 * (`self.threads = [Thread(target=self._health_loop), Thread(target=self._work)]`): that Thread
 * call, else null. With `bound`, `self.m` is a member whose bound method is the target
 * (`Thread(target=self.health.serve_forever)`).
 */
export function threadElement(ref: SyntaxNode, bound = false): SyntaxNode | null {
  const attr = ref.parent?.type === 'attribute' && ref.parent.childForFieldName('attribute')?.id === ref.id ? ref.parent : null;
  if (!attr || attr.childForFieldName('object')?.text !== 'self') return null;
  // `bound`: `target=self.httpd.serve_forever`, the member's bound method (not called) is the thread's work.
  const value = bound ? (attr.parent?.type === 'attribute' && attr.parent.childForFieldName('object')?.id === attr.id ? attr.parent : null) : attr;
  if (!value) return null;
  const kw = value.parent;
  if (kw?.type !== 'keyword_argument' || kw.childForFieldName('name')?.text !== 'target' || kw.childForFieldName('value')?.id !== value.id) return null;
  const call = kw.parent?.parent;
  if (call?.type !== 'call' || !/(^|\.)Thread$/.test(callee(call) ?? '')) return null;
  const coll = call.parent;
  return coll && (coll.type === 'list' || coll.type === 'tuple') ? call : null;
}

/** A for loop over a literal collection of members that all go: the loop goes with them. */
function iteratesOnly(stmt: SyntaxNode, removed: Set<string>): boolean {
  if (stmt.type !== 'for_statement') return false;
  const right = stmt.childForFieldName('right');
  const coll = right?.type === 'parenthesized_expression' ? right.namedChild(0) : right;
  if (!coll || (coll.type !== 'tuple' && coll.type !== 'list') || coll.namedChildCount === 0) return false;
  const member = (e: SyntaxNode): string | null => {
    const name = e.type === 'call' ? e.childForFieldName('arguments')?.namedChildren[1] : undefined;
    return selfAttribute(e) ?? (name && selfGetattr(name) ? stringValue(name) : null);
  };
  return coll.namedChildren.every((e) => {
    // A pair unpacked by the loop (`(self._health_loop, "health")`): its one member beside literals.
    const parts = e.type === 'tuple' && loopedElement(e.namedChildren.find((c) => !LITERALS.has(c.type)) ?? e) === e ? e.namedChildren.filter((c) => !LITERALS.has(c.type)) : [e];
    const a = parts.length === 1 ? member(parts[0]!) : null;
    return a !== null && removed.has(a);
  });
}
