// Concern: a property of the agent WITH a setter, named like an attribute the base assigns while it is
// constructed (`@property def running(self): return not self._stop_event.is_set()` + `@running.setter`,
// the base's `self.running = True`). Once the class inherits the base, that assignment runs the agent's
// setter inside super().__init__(), before __init__ has set what the accessors read: the _v2 dies at start
// with AttributeError. (A read-only property is owned-property's concern.)
//
// Resolved when each attribute the getter or setter reads is set once, by one line of __init__'s own body,
// from parameters and module names alone (`self._stop_event = threading.Event()`): those lines move above
// super().__init__(), so the setter finds them. Otherwise the rewrite is refused, naming the property and
// the attribute, before anything is written.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';
import { functionModel } from '../../src/lang/python/module-model.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { baseCallAt } from './bind-resolved-port.js';
import { initLocals, moveAboveCall, movedSetter } from './old-base-logging-hook.js';

const label = 'setter-property-early';

interface SetterProperty {
  name: string;
  line: number;
  /** The getter's and the setter's function_definition nodes. */
  accessors: SyntaxNode[];
}

/** Properties with a `@<name>.setter` whose name the base's constructor (or a hook it calls) assigns. */
function setterProperties(ctx: PythonTransformContext): SetterProperty[] {
  const assigned = new Set<string>(ctx.base.assignedIn.get('__init__') ?? []);
  for (const m of ctx.base.initCalls) for (const a of ctx.base.assignedIn.get(m) ?? []) assigned.add(a);
  const byName = new Map<string, SetterProperty>();
  const setters = new Set<string>();
  for (const c of ctx.agent.cls.body.namedChildren) {
    if (c.type !== 'decorated_definition') continue;
    const def = c.namedChildren.find((d) => d.type === 'function_definition');
    if (!def) continue;
    const fn = functionModel(def);
    const deco = fn.decorators.map((d) => d.replace(/\s+/g, ''));
    const isGetter = deco.includes('property');
    const isSetter = deco.includes(`${fn.name}.setter`);
    if (!isGetter && !isSetter) continue;
    if (!assigned.has(fn.name)) continue;
    const p = byName.get(fn.name) ?? { name: fn.name, line: fn.line, accessors: [] };
    p.accessors.push(def);
    byName.set(fn.name, p);
    if (isSetter) setters.add(fn.name);
  }
  return [...byName.values()].filter((p) => setters.has(p.name));
}

/** Attributes an accessor reads (not those it only writes, nor the property itself). */
function readsOf(def: SyntaxNode, prop: string): { reads: Set<string>; writes: Set<string> } {
  const me = functionModel(def).params[0]?.name ?? 'self';
  const reads = new Set<string>();
  const writes = new Set<string>();
  walk(def.childForFieldName('body')!, (n) => {
    const attr = selfAttribute(n, me);
    if (!attr || attr === prop) return;
    const assigned = n.parent?.type === 'assignment' && n.parent.childForFieldName('left')?.id === n.id;
    (assigned ? writes : reads).add(attr);
  });
  return { reads, writes };
}

export const setterPropertyEarly: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const props = setterProperties(ctx);
    const init = ctx.agent.methods.get('__init__');
    if (!props.length || !init) return;
    const callAt = baseCallAt(ctx, init.node);
    if (callAt === null) return;
    const base = ctx.profile.base_class;
    const baseSets = new Set<string>(ctx.base.assignedIn.get('__init__') ?? []);
    // Locals of __init__: a moved line reading one would read it before it is set.
    const locals = initLocals(init.body);
    const move = new Map<number, SyntaxNode>();
    for (const p of props) {
      const reads = new Set<string>();
      const writes = new Set<string>();
      for (const def of p.accessors) {
        const rw = readsOf(def, p.name);
        rw.reads.forEach((a) => reads.add(a));
        rw.writes.forEach((a) => writes.add(a));
      }
      const moved: string[] = [];
      for (const attr of [...reads].sort()) {
        // Written by the setter itself (the base's assignment sets it first), or set by the base before it.
        if (writes.has(attr) || (baseSets.has(attr) && !ctx.agent.assignments.some((a) => a.attr === attr))) continue;
        const own = ctx.agent.assignments.filter((a) => a.attr === attr && a.method === '__init__');
        const st = own.length === 1 ? own[0]!.stmt : null;
        const value = own[0]?.value;
        let readsLocal = false;
        if (value) walk(value, (x) => void (x.type === 'identifier' && locals.has(x.text) && (readsLocal = true)));
        const elsewhere = ctx.agent.assignments.find((a) => a.attr === attr && a.method !== '__init__');
        const why = !st ? (own.length ? `__init__ sets it ${own.length} times` : elsewhere ? `${elsewhere.method}() sets it (line ${elsewhere.stmt.startPosition.row + 1}), not __init__ itself` : 'nothing in the class sets it')
          : st.parent?.id !== init.body.id ? `it is set inside a block of __init__ (line ${st.startPosition.row + 1})`
          : !value || /\bself\b/.test(value.text) || readsLocal || st.text.includes('\n') ? `its value at line ${st.startPosition.row + 1} reads the instance or a local of __init__`
          : ctx.baseOwned.has(attr) ? `it is ${base}'s own attribute`
          : null;
        if (why) {
          throw new MigrateError(
            `${ctx.agent.cls.name}.${p.name} (line ${p.line}) is a property with a setter, and ${base}.__init__ assigns self.${p.name}: on the base the setter runs ` +
              `inside super().__init__(), before __init__ sets self.${attr}, which it reads (AttributeError at start); self.${attr} cannot be set before the base's call (${why}): ` +
              `set it above super().__init__() or make the accessors tolerate its absence, by hand; nothing written`,
            ctx.file,
            p.line,
          );
        }
        if (st!.startIndex > callAt) {
          move.set(st!.id, st!);
          moved.push(`self.${attr}`);
        }
      }
      if (moved.length) {
        ctx.warnings.push(
          `${ctx.agent.cls.name}.${p.name} (line ${p.line}) is a property with a setter, and ${base}.__init__ assigns self.${p.name} through it: ` +
            `${moved.join(', ')}, which its accessors read, now set above super().__init__() (from parameters and module names alone), so the setter finds ${moved.length > 1 ? 'them' : 'it'}`,
        );
      }
    }
    moveAboveCall(ctx, [...move.values()].sort((a, b) => a.startIndex - b.startIndex), callAt, label);
  },
};

/**
 * The statements before the base's call are such moved lines (the output met again): each `self.x = <expr>`
 * on one line, reading no self, x not the base's, read by an accessor of a setter property the base assigns.
 * super-init then leaves the call where it is.
 */
export function setterReadsBefore(ctx: PythonTransformContext, range: SyntaxNode[]): boolean {
  const props = setterProperties(ctx);
  if (!props.length || !range.length) return false;
  const read = new Set<string>();
  for (const p of props) for (const def of p.accessors) readsOf(def, p.name).reads.forEach((a) => read.add(a));
  return range.every((st) => {
    const attr = movedSetter(ctx, st);
    return !!attr && read.has(attr);
  });
}
