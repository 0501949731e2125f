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
import { baseName, type PyClass } from '../../src/lang/python/module-model.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { freshName, renameMember } from '../../src/lang/python/rename.js';

export const parentBaseAttributes: PythonTransform = {
  name: 'parent-base-attributes',
  phase: 'edit',
  run(ctx) {
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
