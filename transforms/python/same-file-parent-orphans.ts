// Concern: a parent class defined in the agent's own file (a copy-pasted HealthServerMixin above the
// agent) whose members the migration left without a caller. Once the agent's calls of
// `self.start_health_server(self.health_port)` / `self.stop_health_server()` went (the base serves
// /health), the mixin's methods, and the module's request handler class only they named, are dead code
// that still reads like live behaviour. When nothing else calls them (not this file, not another file of
// the repository, not the base), they go; a parent left with nothing but such members leaves the
// agent's bases and the file (inherit-base drops it from the class statement). A parent that another
// class or file still uses stays whole, said once with where it is used.
//
// Only callers removed as health code count as gone: code another transform moves (a loop body into
// run_once()) keeps calling what it called. What the removed handler answered reaches the health hook
// as calls of the payload method: a member named there stays unless the agent defines its own.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { baseName, type PyClass } from '../../src/lang/python/module-model.js';
import { isDocstring, statements } from '../../src/lang/python/syntax.js';
import { RangeSet } from '../../src/analysis/references.js';
import type { ExternalUse } from '../../src/analysis/repo-references.js';
import { MigrateError } from '../../src/core/errors.js';

export interface ParentOrphans {
  parent: PyClass;
  /** The parent as written among the agent's bases. */
  base: SyntaxNode;
  /** Members whose every caller went with the migration. */
  orphaned: string[];
  /** The parent goes whole (and leaves the agent's bases). */
  whole: boolean;
  /** Member definitions that go (when the parent stays). */
  members: Array<{ name: string; node: SyntaxNode }>;
  /** Module-level classes and functions that only the removed members used. */
  helpers: Array<{ name: string; node: SyntaxNode }>;
  /** Where something else still uses the parent or calls one of those members (it stays whole), and what. */
  users: Array<ExternalUse & { what: string }>;
}

const cache = new WeakMap<PythonTransformContext, ParentOrphans[]>();

interface Member { name: string; node: SyntaxNode; method: boolean }

/** The parent's members: its methods and simple class attributes; null when its body holds anything else. */
function membersOf(cls: PyClass): Member[] | null {
  const out: Member[] = [];
  for (const s of statements(cls.body)) {
    if (isDocstring(s) || s.type === 'pass_statement') continue;
    const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
    if (def?.type === 'function_definition') {
      out.push({ name: def.childForFieldName('name')!.text, node: s, method: true });
      continue;
    }
    const a = s.type === 'expression_statement' && s.namedChildCount === 1 ? s.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type === 'identifier') {
      out.push({ name: left.text, node: s, method: false });
      continue;
    }
    return null;
  }
  return out;
}

const inside = (n: { startIndex: number; endIndex: number }, outer: SyntaxNode) => outer.startIndex <= n.startIndex && n.endIndex <= outer.endIndex;

/** Ranges of what the migration removed as health code (statements and members of the resolved plan). */
function healthRemovals(ctx: PythonTransformContext): RangeSet {
  const out = new RangeSet();
  const plan = ctx.resolved!;
  for (const s of plan.statements) if (s.finding === 'health' && s.replacement === undefined) out.add(s.node.startIndex, s.node.endIndex);
  for (const [name, p] of plan.members) {
    if (p.finding !== 'health') continue;
    if (p.kind === 'method') {
      const m = ctx.agent.methods.get(name);
      if (m) out.add(m.outer.startIndex, m.outer.endIndex);
    } else if (p.kind === 'attribute') {
      for (const a of ctx.agent.assignments) if (a.attr === name) out.add(a.stmt.startIndex, a.stmt.endIndex);
    } else if (p.kind === 'module-class') {
      const c = ctx.module.classes.find((k) => k.name === name);
      if (c) out.add(c.outer.startIndex, c.outer.endIndex);
    } else {
      const f = ctx.module.functions.get(name);
      if (f) out.add(f.outer.startIndex, f.outer.endIndex);
    }
  }
  return out;
}

/** The same-file parents of the agent and what of them the migration leaves without a caller. */
export function parentOrphans(ctx: PythonTransformContext): ParentOrphans[] {
  const held = cache.get(ctx);
  if (held) return held;
  const out: ParentOrphans[] = [];
  cache.set(ctx, out);
  if (!ctx.resolved) return out;
  const agent = ctx.agent.cls;
  const health = healthRemovals(ctx);
  const gone = (n: SyntaxNode) => health.contains(n.startIndex, n.endIndex) && isRemoved(ctx, n);
  // Calls the base's health hook will make: what the removed handlers answered.
  const payloads = ctx.resolved.statements.flatMap((s) => (s.payloadRegion ? [s.payloadRegion.node] : []));
  const inPayload = (name: string) => payloads.some((p) => ctx.refs.of(name).some((r) => r.kind === 'attribute' && inside(r.node, p)));
  const hook = (name: string) => ctx.baseOwned.has(name) || ctx.base.selfCalls.has(name) || /^__\w+__$/.test(name);
  for (const base of agent.bases) {
    const name = baseName(base);
    const parent = name ? ctx.module.classes.find((k) => k.name === name && k.node.id !== agent.node.id && k.outer.endIndex <= agent.outer.startIndex) : undefined;
    if (!parent || base.type !== 'identifier') continue;
    const members = membersOf(parent);
    if (!members) continue;
    const refsOf = (m: Member) => ctx.refs.of(m.name).filter((r) => !inside(r.node, m.node) && (r.kind !== 'identifier' || inside(r.node, parent.body)));
    const ownOf = (m: Member) => {
      const own = ctx.agent.methods.get(m.name);
      return m.method && !!own && !isRemoved(ctx, own.outer);
    };
    // The members whose calls the migration removed (the agent's start/stop of the health server).
    const lost = members.filter((m) => !hook(m.name) && !ownOf(m) && !inPayload(m.name) && refsOf(m).some((r) => gone(r.node))).map((m) => m.name);
    if (!lost.length) continue;
    // Anything else naming the parent: another class of the file, module code, another file of the repository.
    // And a caller of one of those members elsewhere (a file reaching the agent: a test, a supervisor).
    const users = ctx.refs
      .of(parent.name)
      .filter((r) => r.kind !== 'attribute' && !inside(r.node, parent.outer) && r.start !== base.startIndex && !isRemoved(ctx, r.node))
      .map((r) => ({ file: ctx.file, line: r.line, text: lineText(ctx.source, r.start), what: `uses ${parent.name}` }));
    users.push(...ctx.moduleUses(parent.name).map((u) => ({ ...u, what: `uses ${parent.name}` })));
    for (const m of lost) users.push(...ctx.external(m).map((u) => ({ ...u, what: `calls ${m}()` })));
    if (users.length) {
      out.push({ parent, base, orphaned: lost, whole: false, members: [], helpers: [], users });
      continue;
    }
    const dead: SyntaxNode[] = [];
    const deadRef = (r: { node: SyntaxNode }) => gone(r.node) || dead.some((d) => inside(r.node, d));
    const orphaned = new Set<string>();
    const shadowed = new Set<string>();
    // Greatest fixpoint: a member called only by members that go goes too.
    for (let changed = true; changed; ) {
      changed = false;
      for (const m of members) {
        if (orphaned.has(m.name) || shadowed.has(m.name) || hook(m.name)) continue;
        const refs = refsOf(m);
        if (ownOf(m)) {
          // The agent's own definition answers self.<name>: this one is reached only as super().<name> / Parent.<name>.
          const explicit = refs.filter((r) => {
            const obj = r.node.parent?.type === 'attribute' ? r.node.parent.childForFieldName('object') : null;
            return r.kind === 'string' || (obj !== null && (/^super\(/.test(obj.text) || obj.text === parent.name));
          });
          if (explicit.every(deadRef)) shadowed.add(m.name);
          continue;
        }
        if (!refs.length || !refs.every(deadRef) || inPayload(m.name)) continue;
        orphaned.add(m.name);
        dead.push(m.node);
        changed = true;
      }
    }
    if (!orphaned.size) continue;
    const entry: ParentOrphans = { parent, base, orphaned: [...orphaned], whole: false, members: [], helpers: [], users };
    out.push(entry);
    const plainBases = parent.bases.every((b) => b.text === 'object') && !parent.keywords.length && !parent.decorators.length;
    entry.whole = plainBases && members.every((m) => orphaned.has(m.name) || shadowed.has(m.name));
    if (entry.whole) dead.splice(0, dead.length, parent.outer);
    else if (members.length === orphaned.size && !statements(parent.body).some(isDocstring)) continue; // an empty body would not parse
    else entry.members = members.filter((m) => orphaned.has(m.name)).map((m) => ({ name: `${parent.name}.${m.name}`, node: m.node }));
    // Module classes and functions that only the removed code named go with it.
    const candidates = [
      ...ctx.module.classes.filter((c) => c.node.id !== agent.node.id && c.node.id !== parent.node.id && !ctx.otherClasses.has(c.name)).map((c) => ({ name: c.name, node: c.outer })),
      ...[...ctx.module.functions.values()].map((f) => ({ name: f.name, node: f.outer })),
    ].filter((c) => c.node.parent?.type === 'module');
    for (let changed = true; changed; ) {
      changed = false;
      for (const c of candidates) {
        if (entry.helpers.includes(c)) continue;
        const refs = ctx.refs.of(c.name).filter((r) => r.kind !== 'attribute' && !inside(r.node, c.node));
        const inDead = (r: { node: SyntaxNode }) => dead.some((d) => inside(r.node, d));
        if (!refs.some(inDead) || !refs.every((r) => inDead(r) || gone(r.node)) || ctx.introduced.has(c.name) || ctx.moduleUses(c.name).length) continue;
        entry.helpers.push(c);
        dead.push(c.node);
        changed = true;
      }
    }
  }
  return out;
}

function lineText(source: string, at: number): string {
  const start = source.lastIndexOf('\n', at - 1) + 1;
  const end = source.indexOf('\n', at);
  return source.slice(start, end < 0 ? undefined : end).trim().slice(0, 80);
}

const list = (xs: string[]) => xs.map((x) => `${x}()`).join(', ');

export const sameFileParentOrphans: PythonTransform = {
  name: 'same-file-parent-orphans',
  phase: 'edit',
  run(ctx) {
    const who = ctx.agent.cls.name;
    for (const o of parentOrphans(ctx)) {
      const p = o.parent;
      if (o.users.length) {
        const u = o.users[0]!;
        // What the parent's members name stays with it: their notes ("still used at line N") say nothing more.
        const heldByParent = (symbol: string) => {
          const c = ctx.module.classes.find((k) => k.name === symbol) ?? ctx.module.functions.get(symbol);
          const refs = c ? ctx.refs.of(symbol).filter((r) => r.kind !== 'attribute' && !inside(r.node, c.outer) && !isRemoved(ctx, r.node)) : [];
          return refs.length > 0 && refs.every((r) => inside(r.node, p.outer));
        };
        const held = ctx.resolved!.notes.filter((n) => heldByParent(n.symbol));
        ctx.resolved!.notes = ctx.resolved!.notes.filter((n) => !held.includes(n));
        ctx.warnings.push(
          `${p.name} (line ${p.line}) kept: ${who} no longer calls its ${list(o.orphaned)} (the base serves /health), ` +
            `but ${u.file}:${u.line} still ${u.what} (${u.text})${o.users.length > 1 ? ` and ${o.users.length - 1} more place(s)` : ''}` +
            `${held.length ? `; ${held.map((n) => n.symbol).join(', ')}, which it names, stay${held.length > 1 ? '' : 's'} with it` : ''}`,
        );
        continue;
      }
      if (o.whole) ctx.deletions.push({ node: p.outer, symbol: p.name, plain: true });
      for (const m of o.members) ctx.deletions.push({ node: m.node, symbol: m.name, plain: true });
      for (const h of o.helpers) ctx.deletions.push({ node: h.node, symbol: h.name, plain: true });
      const helpers = new Set(o.helpers.map((h) => h.name));
      ctx.resolved!.notes = ctx.resolved!.notes.filter((n) => !helpers.has(n.symbol));
      ctx.resolved!.kept = ctx.resolved!.kept.filter((k) => !helpers.has(k.symbol));
      const also = o.helpers.length ? `, with ${o.helpers.map((h) => h.name).join(', ')} that only they used` : '';
      ctx.warnings.push(
        o.whole
          ? `${p.name} (line ${p.line}) removed and dropped from ${who}'s bases: its ${list(o.orphaned)} lost their last caller (the base serves /health)${also}; nothing else in the repository uses ${p.name}`
          : `${p.name}.${o.orphaned.join(', ')} (line ${p.line}) removed: no caller is left (the base serves /health)${also}; ${p.name} keeps its other members`,
      );
    }
  },
};

/** After the edits: no code a transform wrote may call a member that went (a safety net; it refuses the agent). */
export const sameFileParentOrphansCheck: PythonTransform = {
  name: 'same-file-parent-orphans-check',
  phase: 'edit',
  run(ctx) {
    const written = ctx.edits.writtenTexts().join('\n');
    for (const o of parentOrphans(ctx)) {
      if (o.users.length) continue;
      const names = [...o.orphaned, ...o.helpers.map((h) => h.name)];
      const used = names.find((n) => new RegExp(`(?<!\\w)${n}(?!\\w)`).test(written));
      if (used) throw new MigrateError(`${o.parent.name}.${used}: removed as left without a caller, but code the migration wrote calls it; migrate this agent by hand`, ctx.file, o.parent.line);
    }
  },
};
