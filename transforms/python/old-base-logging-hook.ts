// Concern: the agent's logging set-up written as the hook an old base's constructor called (`_setup_logging()`),
// named like the new base's own logging hook. Renamed away and called after super().__init__(), it ran after
// the base had given the logger it names a handler of its own (it found none), so every line was printed
// twice. Kept under its name, the base's constructor calls it in place of its own, where the old base did: at
// the start of construction, and the base adds no handler. Only when what it reads is there at that moment:
// what the base sets before its hooks (self.name), or attributes __init__ set before its old super call from
// parameters and module names alone, which then move above super().__init__().
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { withRenames } from '../../src/lang/python/transform-context.js';
import { selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { baseCallAt } from './bind-resolved-port.js';

/**
 * The agent's `name()` kept as the base's logging hook (BaseModel.initLogHandler's method): the old base's
 * constructor called it, nothing of the agent's does, it takes no arguments and does not extend the base's
 * (no super().name()), it sets what the base's hook sets (`self.logger`), and each attribute it reads is one
 * the base's __init__ sets or one set by `setters` (returned: statements of __init__'s own body before the
 * legacy super call, `self.x = <expr>` reading no self, the attribute set nowhere else). Null when not.
 */
export function keptLoggingHook(ctx: PythonTransformContext, name: string): { setters: SyntaxNode[] } | null {
  const h = ctx.base.initLogHandler;
  const fn = ctx.agent.methods.get(name);
  const init = ctx.agent.methods.get('__init__');
  if (!h || h.method !== name || !fn || !init || fn.params.length !== 1 || !ctx.base.initCalls.has(name)) return null;
  const me = fn.params[0]!.name;
  // Only the old base's constructor called it (the agent's own calls would run it twice).
  if (ctx.refs.of(name).some((r) => r.kind !== 'identifier' && !(fn.outer.startIndex <= r.start && r.end <= fn.outer.endIndex))) return null;
  const oldInit = ctx.inherited().map((p) => p.cls.methods.get('__init__')).find((m) => m && new RegExp(`\\b${m.params[0]?.name ?? 'self'}\\.${name}\\(\\)`).test(m.body.text));
  if (!oldInit) return null;
  const legacySuper = statements(init.body).find((st) => /^super\(\)\.__init__\(/.test(st.text));
  if (!legacySuper) return null;
  const reads = new Set<string>();
  const writes = new Set<string>();
  let extends_ = false;
  walk(fn.body, (n) => {
    if (n.type === 'call' && new RegExp(`^super\\(.*\\)\\.${name}$`).test(n.childForFieldName('function')?.text ?? '')) extends_ = true;
    const attr = selfAttribute(n, me);
    if (!attr) return;
    const assigned = n.parent?.type === 'assignment' && n.parent.childForFieldName('left')?.id === n.id;
    (assigned ? writes : reads).add(attr);
  });
  if (extends_) return null;
  const baseSets = [...(ctx.base.assignedIn.get(name) ?? [])];
  if (!baseSets.length || !baseSets.every((a) => writes.has(a))) return null;
  const baseInit = ctx.base.assignedIn.get('__init__') ?? new Set<string>();
  // Locals __init__ assigns: a setter reading one would read it before it is set, once above the call.
  const locals = initLocals(init.body);
  const setters: SyntaxNode[] = [];
  for (const attr of reads) {
    if (writes.has(attr) || (baseInit.has(attr) && !ctx.agent.assignments.some((a) => a.attr === attr))) continue;
    const own = ctx.agent.assignments.filter((a) => a.attr === attr);
    const st = own.length === 1 && own[0]!.method === '__init__' ? own[0]!.stmt : null;
    if (!st || st.parent?.id !== init.body.id || st.endIndex > legacySuper.startIndex || ctx.baseOwned.has(attr)) return null;
    const value = own[0]!.value;
    if (!value || /\bself\b/.test(value.text) || st.text.split('\n').length !== 1) return null;
    let readsLocal = false;
    walk(value, (x) => void (x.type === 'identifier' && locals.has(x.text) && (readsLocal = true)));
    if (readsLocal) return null;
    setters.push(st);
  }
  return { setters: setters.sort((a, b) => a.startIndex - b.startIndex) };
}

/** Moves the setters keptLoggingHook needs above the base's call, so the hook reads them when the base calls it. */
export const oldBaseLoggingHook: PythonTransform = {
  name: 'old-base-logging-hook',
  phase: 'edit',
  run(ctx) {
    const h = ctx.base.initLogHandler;
    const init = ctx.agent.methods.get('__init__');
    const kept = h && init ? keptLoggingHook(ctx, h.method) : null;
    if (!kept || !init) return;
    const callAt = baseCallAt(ctx, init.node);
    if (callAt === null) return;
    const move = kept.setters.filter((st) => st.startIndex > callAt);
    moveAboveCall(ctx, move, callAt, 'old-base-logging-hook');
    const base = ctx.profile.base_class;
    ctx.warnings.push(
      `${ctx.agent.cls.name}.${h!.method}() kept as ${base}'s logging hook: the old base's constructor called it, and ${base}.__init__() calls it in place of its own, ` +
        `so the logger ${base} names gets only the agent's handlers (each line printed once, as before)` +
        (move.length ? `; ${move.map((st) => st.text.split('=')[0]!.trim()).join(', ')}, which it reads, now set above super().__init__()` : '') +
        `; ${base}'s own logging set-up (its level and log file variables) does not run for this agent, as the legacy's did not`,
    );
  },
};

/**
 * The statements before the base's call are such moved setters (the output met again): each `self.x = <expr>`
 * on one line, reading no self, x not the base's, read by the agent's override of the base's logging hook.
 * super-init then leaves the call where it is.
 */
export function loggingHookSettersBefore(ctx: PythonTransformContext, range: SyntaxNode[]): boolean {
  const hook = ctx.base.initLogHandler ? ctx.agent.methods.get(ctx.base.initLogHandler.method) : undefined;
  if (!hook || !range.length) return false;
  return range.every((st) => {
    const attr = movedSetter(ctx, st);
    return !!attr && new RegExp(`\\b${hook.params[0]?.name ?? 'self'}\\.${attr}\\b`).test(hook.body.text);
  });
}

/** The attribute of a line moved above the base's call: `self.x = <expr>` on one line, reading no self, x not the base's; else null. */
export function movedSetter(ctx: PythonTransformContext, st: SyntaxNode): string | null {
  const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
  const attr = a?.type === 'assignment' ? selfAttribute(a.childForFieldName('left')!) : null;
  const value = a?.childForFieldName('right');
  if (!attr || !value || /\bself\b/.test(value.text) || st.text.includes('\n') || ctx.baseOwned.has(attr)) return null;
  return attr;
}

/** Moves whole one-line statements (in source order) above the base's call at `callAt`, ahead of anything else inserted there. */
export function moveAboveCall(ctx: PythonTransformContext, stmts: SyntaxNode[], callAt: number, label: string): void {
  if (!stmts.length) return;
  const src = ctx.source;
  const text = stmts.map((st) => withRenames(ctx, src.slice(lineStart(src, st.startIndex), st.endIndex)) + ctx.layout.eol).join('');
  for (const st of stmts) ctx.edits.deleteOver(lineStart(src, st.startIndex), lineEnd(src, st.endIndex), label);
  ctx.edits.insertEarly(lineStart(src, callAt), text, label);
}

/** The local names a method body binds (assignments, for targets), nested functions and classes aside. */
export function initLocals(body: SyntaxNode): Set<string> {
  const locals = new Set<string>();
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    const left = n.type === 'assignment' || n.type === 'augmented_assignment' ? n.childForFieldName('left') : n.type === 'for_statement' ? n.childForFieldName('left') : null;
    if (left) walk(left, (x) => void (x.type === 'identifier' && x.parent?.type !== 'attribute' && locals.add(x.text)));
  });
  return locals;
}
