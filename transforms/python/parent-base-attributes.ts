// Concern: a parent class of the agent's own file (a cooperative mixin) that assigns, after its own
// super().__init__(...), an attribute the base owns and goes on reading. With the base appended last
// among the agent's bases, the mixin's __init__ runs its super() call first, which reaches the
// base's __init__; the mixin's assignment then overwrites the base's value. A RegistryHeartbeatMixin's
// `self.registry_url = registry_url` (None when no --registry is given) left the base registered with
// the REGISTRY_URL it read but, at stop, deregistering nothing: its registry_url was gone. The two are
// the same name for two things (the mixin's heartbeat target, the base's registry), so the mixin's is
// renamed throughout the mixins and the agent, each keeping its own; a read of the name anywhere else
// (another class or module code of the file, another file) may mean either, and is kept for review.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { baseName, type PyClass, type PyFunction } from '../../src/lang/python/module-model.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { freshName, renameMember } from '../../src/lang/python/rename.js';

export const parentBaseAttributes: PythonTransform = {
  name: 'parent-base-attributes',
  phase: 'edit',
  run(ctx) {
    afterExplicitBase(ctx);
    const parents = ctx.agent.cls.bases
      .map(baseName)
      .filter((b) => b !== ctx.profile.base_class)
      .map((b) => ctx.module.classes.find((c) => c.name === b && c.name !== ctx.agent.cls.name))
      .filter((c): c is PyClass => !!c);
    if (!parents.length) return;
    const found = new Map<string, { parent: PyClass; line: number }>();
    for (const parent of parents) {
      for (const { attr, line } of assignedAfterSuperInit(parent)) {
        if (found.has(attr) || ctx.renames.has(attr)) continue;
        // Only what the base uses after its __init__ (its threads, its stop()): a value it read once is its own already.
        if (!ctx.base.attributes.has(attr) || !(ctx.base.readsAfterInit.has(attr) || ctx.base.threadDriven.has(attr))) continue;
        found.set(attr, { parent, line });
      }
    }
    for (const [attr, { parent, line }] of found) {
      const mine = (n: SyntaxNode) => [ctx.agent.cls, ...parents].some((c) => c.node.startIndex <= n.startIndex && n.endIndex <= c.node.endIndex);
      const elsewhere = ctx.refs.of(attr).filter((r) => r.kind === 'attribute' && !mine(r.node) && !isRemoved(ctx, r.node));
      const outside = ctx.external(attr);
      if (elsewhere.length || outside.length) {
        const where = [...elsewhere.map((r) => `line ${r.line}`), ...outside.map((u) => `${u.file}:${u.line}`)].join(', ');
        keep(ctx, attr, line,
          `${parent.name}.__init__ sets self.${attr} after its super().__init__(), so it overwrites the self.${attr} ${ctx.profile.base_class} goes on using; ` +
          `${where} also ${elsewhere.length + outside.length > 1 ? 'read' : 'reads'} .${attr}, which may mean either: give the mixin's a name of its own by hand`);
        continue;
      }
      const renamed = freshName(ctx, attr, 'mixin_');
      for (const p of parents) renameInClass(ctx, p, attr, renamed);
      renameMember(ctx, attr, renamed, 'parent-base-attributes');
      ctx.warnings.push(
        `self.${attr} renamed to self.${renamed} in ${parents.map((p) => p.name).join(', ')} and ${ctx.agent.cls.name}: ${parent.name}.__init__ (line ${line}) sets it after its ` +
          `super().__init__(), which now reaches ${ctx.profile.base_class}.__init__ first, and would overwrite the self.${attr} the base goes on using`,
      );
    }
  },
};

/**
 * A kept parent that does not chain to the base (PeriodicWorker.__init__ setting up its own state): super-init
 * calls `BaseAgent.__init__(self, ...)` just before the agent's call of the parent's __init__, so every
 * base attribute that __init__ assigns overwrites what the base set. `self.name = name` given
 * "lease-renewal" left the base registered under its own name (AGENT_NAME first) and deregistering,
 * at stop, under the parent's: the registry kept a dead agent. An assignment of what the base set anyway
 * (its own initial value, or the argument the base was given for it) goes; another value is the parent's
 * own and is renamed in the parent and the agent; a parent of another file, which this rewrite does not
 * edit, is kept for review.
 */
function afterExplicitBase(ctx: PythonTransformContext): void {
  const first = ctx.parentInitAfterBase;
  if (!first?.parent.methods.get('__init__')) return;
  const baseGiven = new Map(first.baseArgs.map((a) => a.match(/^(\w+)=([\s\S]*)$/)).filter((m): m is RegExpMatchArray => !!m).map((m) => [m[1]!, m[2]!.trim()]));
  for (const at of parentInitChain(ctx, first)) {
    const init = at.parent.methods.get('__init__')!;
    const selfName = init.params[0]?.name ?? 'self';
    // What the agent's call hands the parent's parameters; a class further up the chain gets it second-hand.
    const given = at.parent === first.parent ? argumentsByParameter(init, first.parentCall) : new Map<string, string>();
    // Another class of the file built on the parent keeps its assignments: they are its only values.
    const shared = !at.inFile ? 'that file is not rewritten'
      : at.parent !== first.parent ? `it is reached through ${first.parent.name}.__init__()'s super().__init__()`
      : ctx.module.classes.some((c) => c.name !== ctx.agent.cls.name && c.bases.map(baseName).includes(at.parent.name)) ? 'another class of this file derives from it'
      : null;
    afterExplicitBaseIn(ctx, at, init, selfName, given, baseGiven, shared);
  }
}

/**
 * The kept parent and, while its __init__ hands on to super().__init__(), the in-repository classes its
 * chain reaches (one base each): all of their constructors run after the base's.
 */
function parentInitChain(ctx: PythonTransformContext, first: NonNullable<PythonTransformContext['parentInitAfterBase']>): Array<{ parent: PyClass; file: string; inFile: boolean }> {
  const out = [{ parent: first.parent, file: first.file, inFile: first.inFile }];
  for (let cur = out[0]!; out.length < 8; ) {
    const init = cur.parent.methods.get('__init__');
    const chains = init && statements(init.body).some((st) => {
      const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
      return e?.type === 'call' && /^super\(\s*\)\.__init__$/.test(e.childForFieldName('function')?.text ?? '');
    });
    const bases = cur.parent.bases.map(baseName).filter((b) => b && b !== 'object');
    if (!chains || bases.length !== 1) break;
    const local = ctx.module.classes.find((c) => c.name === bases[0]);
    const next = local ? { parent: local, file: ctx.file, inFile: true } : ctx.inherited().map((p) => ({ parent: p.cls, file: p.file, inFile: false })).find((p) => p.parent.name === bases[0]);
    if (!next?.parent.methods.get('__init__') || out.some((o) => o.parent === next.parent)) break;
    out.push((cur = next));
  }
  return out;
}

function afterExplicitBaseIn(ctx: PythonTransformContext, at: { parent: PyClass; file: string; inFile: boolean }, init: PyFunction, selfName: string,
  given: Map<string, string>, baseGiven: Map<string, string>, shared: string | null): void {
  for (const s of statements(init.body)) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    if (e?.type !== 'assignment' || isRemoved(ctx, s)) continue;
    const attr = selfAttribute(e.childForFieldName('left')!, selfName);
    const value = e.childForFieldName('right');
    if (!attr || !value || ctx.renames.has(attr)) continue;
    if (!ctx.base.attributes.has(attr) || !(ctx.base.readsAfterInit.has(attr) || ctx.base.threadDriven.has(attr))) continue;
    const line = s.startPosition.row + 1;
    const same = norm(value.text) === norm(ctx.base.initValues.get(attr) ?? '') ||
      (value.type === 'identifier' && given.has(value.text) && baseGiven.has(attr) && norm(given.get(value.text)!) === norm(baseGiven.get(attr)!));
    const where = `${at.parent.name}.__init__ (${at.file}:${line})`;
    if (shared) {
      // Unedited, an equal value still differs once the environment chooses (AGENT_NAME wins in the base).
      if (same && attr !== ctx.py.super_call.name_keyword) continue;
      keep(ctx, attr, line,
        `${where} sets self.${attr} after ${ctx.profile.base_class}.__init__ set it, and ${ctx.profile.base_class} goes on using it (${ctx.base.readsAfterInit.has(attr) ? 'read after its __init__' : 'its threads'}): ` +
          `the base would act on ${at.parent.name}'s value${attr === ctx.py.super_call.name_keyword ? ' (registered under one name, deregistered under the other)' : ''}; ` +
          `${shared}: make ${at.parent.name} leave self.${attr} to the base, or give its own a name of its own, by hand`);
      continue;
    }
    if (same) {
      ctx.deletions.push({ node: s, symbol: `${attr} (${at.parent.name})`, plain: true });
      ctx.warnings.push(`${where}: self.${attr} = ${oneLineText(value.text)} went: it runs after ${ctx.profile.base_class}.__init__, which already set self.${attr} to that (or what the environment chooses), and would overwrite the value the base goes on using`);
      continue;
    }
    const elsewhere = ctx.refs.of(attr).filter((r) => r.kind === 'attribute' && !inClass(r.node, ctx.agent.cls) && !inClass(r.node, at.parent) && !isRemoved(ctx, r.node));
    const outside = ctx.external(attr);
    if (elsewhere.length || outside.length) {
      keep(ctx, attr, line,
        `${where} sets self.${attr} after ${ctx.profile.base_class}.__init__ set it, so it overwrites the self.${attr} the base goes on using; ` +
          `${[...elsewhere.map((r) => `line ${r.line}`), ...outside.map((u) => `${u.file}:${u.line}`)].join(', ')} also read .${attr}, which may mean either: give ${at.parent.name}'s a name of its own by hand`);
      continue;
    }
    const renamed = freshName(ctx, attr, 'mixin_');
    renameInClass(ctx, at.parent, attr, renamed);
    renameMember(ctx, attr, renamed, 'parent-base-attributes');
    ctx.warnings.push(
      `self.${attr} renamed to self.${renamed} in ${at.parent.name} and ${ctx.agent.cls.name}: ${where} sets it to ${oneLineText(value.text)} after ` +
        `${ctx.profile.base_class}.__init__ set its own, and would overwrite the self.${attr} the base goes on using`,
    );
  }
}

/** Parameter of the callee's __init__ → the argument text the call gives it (`name` → `"lease-renewal"`). */
function argumentsByParameter(init: PyFunction, call: SyntaxNode): Map<string, string> {
  const out = new Map<string, string>();
  const rest = init.params.slice(1);
  // Positional arguments fill the parameters before `*args` / a bare `*`.
  const stop = rest.findIndex((p) => p.kind === 'args' || p.kind === 'kwargs' || p.kind === 'separator');
  const positional = stop < 0 ? rest : rest.slice(0, stop);
  const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
  // `Parent.__init__(self, ...)` hands self first; `super().__init__(...)` does not.
  let skip = /^super\(/.test(call.childForFieldName('function')?.text ?? '') ? 0 : 1;
  let i = 0;
  for (const a of args) {
    if (a.type === 'keyword_argument') out.set(a.childForFieldName('name')!.text, a.childForFieldName('value')!.text);
    else if (a.type === 'list_splat' || a.type === 'dictionary_splat') break;
    else if (skip > 0) skip--;
    else if (positional[i]) out.set(positional[i++]!.name, a.text);
  }
  return out;
}

const norm = (t: string) => t.replace(/\s+/g, '').replace(/'/g, '"');
const oneLineText = (t: string) => t.replace(/\s+/g, ' ').slice(0, 60);
const inClass = (n: SyntaxNode, c: PyClass) => c.node.startIndex <= n.startIndex && n.endIndex <= c.node.endIndex;

/** `self.x = ...` statements of the class's __init__ after its `super().__init__(...)` statement. */
function assignedAfterSuperInit(cls: PyClass): Array<{ attr: string; line: number }> {
  const init = cls.methods.get('__init__');
  if (!init) return [];
  const selfName = init.params[0]?.name ?? 'self';
  const body = statements(init.body);
  const at = body.findIndex((s) => {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    return e?.type === 'call' && /^super\(\s*\)\.__init__$/.test(e.childForFieldName('function')?.text ?? '');
  });
  if (at < 0) return [];
  const out: Array<{ attr: string; line: number }> = [];
  for (const s of body.slice(at + 1)) {
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    if (e?.type !== 'assignment') continue;
    const attr = selfAttribute(e.childForFieldName('left')!, selfName);
    if (attr) out.push({ attr, line: s.startPosition.row + 1 });
  }
  return out;
}

/** Every `self.attr` in the class's methods and their closures (`owner.attr` where `owner = self`) becomes `.renamed`. */
function renameInClass(ctx: PythonTransformContext, cls: PyClass, attr: string, renamed: string): void {
  for (const m of cls.methods.values()) {
    const selfName = m.params[0]?.name ?? 'self';
    const names = new Set([selfName]);
    walk(m.body, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier' && n.childForFieldName('right')?.text === selfName) names.add(n.childForFieldName('left')!.text);
    });
    walk(m.body, (n) => {
      if (n.type !== 'attribute' || isRemoved(ctx, n)) return;
      const obj = n.childForFieldName('object')!;
      const name = n.childForFieldName('attribute')!;
      if (obj.type === 'identifier' && names.has(obj.text) && name.text === attr) ctx.edits.replace(name.startIndex, name.endIndex, renamed, 'parent-base-attributes');
    });
  }
}
