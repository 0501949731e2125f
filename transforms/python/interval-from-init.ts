// Concern (seed 001): run()'s pause computed from the agent's own settings, `interval =
// self.cfg.interval_s * (2 if self.low_power else 1)`. HardenedAgentBase takes its period at
// construction, before the agent has set anything; but when the value is provably the same at the
// end of __init__ as when run() read it (every attribute it reads is set by __init__ alone, never
// changed through itself, the expression calls nothing that could differ), __init__ ends by setting
// the base's collection_interval to it. The deployment's own setting of the base (COLLECTION_INTERVAL,
// which the base's __init__ lets win over what it is given) still wins.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { bindingsOf, callee, selfAttribute, superInitCall, walk } from '../../src/lang/python/syntax.js';
import { baseDoneAfterInit } from './owned-port-source.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { SLEEP_CALL, initTail } from './hardened-shapes.js';
import { osName } from './health-host.js';
import { valueType } from '../../src/analysis/value-type.js';
import { excerpt } from '../../src/core/excerpt.js';

/** Calls whose answer depends on their arguments alone. */
const PURE_CALL = /^(float|int|round|abs|max|min|bool)$/;
/** Methods that change the object they are called on. */
const MUTATOR = /^(update|setdefault|pop|popitem|clear|append|extend|insert|remove|add|discard|sort|reverse|__setattr__|__setitem__)$/;

/**
 * `interval = <expression reading self>`, a statement of run()'s own body that binds `interval` once in
 * run(), whose value is provably the same at the end of the agent's __init__: the expression text, or null.
 * With `blocker`: the expression has that shape, but an attribute it reads may change after __init__ (why).
 */
export function initIntervalLocal(ctx: PythonTransformContext, run: PyFunction, s: SyntaxNode, bindsOnce: (name: string) => boolean): { name: string; value: string; blocker?: string } | null {
  const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
  if (a?.type !== 'assignment' || a.childForFieldName('type') || s.parent?.id !== run.body.id) return null;
  const left = a.childForFieldName('left');
  const right = a.childForFieldName('right');
  const init = ctx.agent.methods.get('__init__');
  if (left?.type !== 'identifier' || !right || !init || !bindsOnce(left.text)) return null;
  // A base of other agents: a subclass's __init__ may set the attributes again after this one ended.
  if (ctx.unit || subclassed(ctx)) return null;
  const runNames = bindingsOf(run.node);
  const initNames = bindingsOf(init.node);
  const attrs = new Set<string>();
  let ok = true;
  walk(right, (n) => {
    if (!ok) return false;
    if (n.type === 'lambda' || n.type.endsWith('comprehension') || n.type === 'generator_expression' || n.type === 'await' || n.type === 'named_expression') {
      ok = false;
      return false;
    }
    if (n.type === 'call') {
      const name = callee(n) ?? '';
      // `self.cfg.get("interval", 60)`: a read of the agent's own settings.
      const f = n.childForFieldName('function');
      const read = f?.type === 'attribute' && f.childForFieldName('attribute')!.text === 'get' && rootIsSelf(f.childForFieldName('object')!);
      if (!PURE_CALL.test(name) && !read) ok = false;
      return;
    }
    const attr = n.type === 'attribute' ? selfAttribute(n) : null;
    if (attr) {
      attrs.add(attr);
      return false;
    }
    if (n.type !== 'identifier') return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    // `self` alone (handed on), a name run() or __init__ binds (it means something else at __init__'s end), a global rebound.
    if (n.text === 'self' || runNames.has(n.text) || initNames.has(n.text) || reboundGlobal(ctx, n.text)) ok = false;
  });
  if (!ok || !attrs.size) return null;
  for (const attr of attrs) {
    const why = notSetOnceByInit(ctx, init, attr);
    if (why) return { name: left.text, value: right.text, blocker: why };
  }
  return { name: left.text, value: right.text };
}

/**
 * run() sleeps `self.<attr>` itself, which __init__ computed from the agent's own settings
 * (`self.interval = self.cfg.getfloat("agent", "interval")`): set once by __init__ and only read after,
 * it is the same value at __init__'s end. `{ value }` to give the base, `{ blocker }` when it may change, or
 * null when the agent is a base of others (a subclass's __init__ may set it again).
 */
export function initAttributeInterval(ctx: PythonTransformContext, attr: string): { value: string } | { blocker: string } | null {
  const init = ctx.agent.methods.get('__init__');
  if (!init || ctx.unit || subclassed(ctx)) return null;
  const why = notSetOnceByInit(ctx, init, attr);
  return why ? { blocker: why } : { value: `self.${attr}` };
}

/** `self.a.b[...]`: the chain starts at self. */
function rootIsSelf(n: SyntaxNode): boolean {
  let r = n;
  while (r.type === 'attribute' || r.type === 'subscript') r = (r.type === 'attribute' ? r.childForFieldName('object') : r.childForFieldName('value'))!;
  return r.type === 'identifier' && r.text === 'self';
}

/** Another class of the file derives from the agent. */
function subclassed(ctx: PythonTransformContext): boolean {
  const name = ctx.agent.cls.name;
  let found = false;
  walk(ctx.module.root, (n) => {
    if (found) return false;
    if (n.type !== 'class_definition') return;
    if (n.childForFieldName('superclasses')?.namedChildren.some((b) => b.text === name || b.text.endsWith(`.${name}`))) found = true;
  });
  return found;
}

function reboundGlobal(ctx: PythonTransformContext, name: string): boolean {
  let hit = false;
  walk(ctx.module.root, (n) => {
    if (hit) return false;
    if ((n.type === 'global_statement' || n.type === 'nonlocal_statement') && n.namedChildren.some((c) => c.text === name)) hit = true;
  });
  return hit;
}

/**
 * self.<attr> is the agent's own (not a method or property, not the base's), set only by __init__'s own
 * statements (at its top level, or in a top-level try:), and everywhere else only read: never assigned on
 * any object, deleted, changed through a mutating method, named in a string (getattr/setattr), aliased
 * or handed whole to a call other than a log line.
 */
function notSetOnceByInit(ctx: PythonTransformContext, init: PyFunction, attr: string): string | null {
  const at = (n: SyntaxNode) => `line ${n.startPosition.row + 1}: ${excerpt(n.text, 60)}`;
  if (ctx.agent.methods.has(attr)) return `self.${attr} is a method or property of the agent`;
  const sets = ctx.agent.assignments.filter((x) => x.attr === attr);
  if ((ctx.baseOwned.has(attr) || ctx.base.attributes.has(attr) || ctx.base.methods.has(attr)) && !settledAfterBase(ctx, init, attr, sets)) return `self.${attr} is also ${ctx.profile.base_class}'s own`;
  if (!sets.length) return `nothing in the class sets self.${attr}`;
  for (const x of sets) {
    if (x.method !== '__init__') return `${x.method}() sets self.${attr} too (${at(x.stmt)})`;
    const block = x.stmt.parent;
    const top = x.stmt.type === 'expression_statement' && (block?.id === init.body.id || (block?.parent?.type === 'try_statement' && block.parent.parent?.id === init.body.id && block.parent.childForFieldName('body')?.id === block.id));
    if (!top) return `__init__ sets self.${attr} only on some paths (${at(x.stmt)})`;
  }
  const inInit = (n: SyntaxNode) => init.node.startIndex <= n.startIndex && n.endIndex <= init.node.endIndex;
  // A change of it anywhere (`agent.interval = args.interval` in the entry point) is named before a read that
  // only hands it on (`interval = self.interval`): the change is what a person must look at.
  let handedOn: string | null = null;
  for (const r of ctx.refs.of(attr)) {
    if (r.kind === 'string') {
      // Only a string that can change it (`setattr(self, "interval", v)`, `self.__dict__["interval"] = v`);
      // a configuration key of the same spelling (`{"agent": {"interval": "30"}}`) or a getattr() read is no change.
      if (changesByName(r.node)) return `self.${attr} is named in a string (${at(r.node)})`;
      continue;
    }
    if (r.kind !== 'attribute') continue;
    const ref = r.node.parent!;
    if (sets.some((x) => x.stmt.startIndex <= ref.startIndex && ref.endIndex <= x.stmt.endIndex && x.stmt.namedChild(0)?.childForFieldName('left')?.id === ref.id)) continue;
    // Any object's .<attr> (the entry point's `agent.low_power = True` too).
    let top: SyntaxNode = ref;
    for (;;) {
      const p = top.parent;
      if ((p?.type === 'attribute' && p.childForFieldName('object')?.id === top.id) || (p?.type === 'subscript' && p.childForFieldName('value')?.id === top.id)) {
        // `.append(...)` on it: a change through it (a read of a deeper attribute is not).
        if (p.type === 'attribute' && MUTATOR.test(p.childForFieldName('attribute')!.text) && p.parent?.type === 'call') return `self.${attr} is changed through it (${at(p.parent)})`;
        top = p;
        continue;
      }
      break;
    }
    const p = top.parent;
    if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === top.id) return `.${attr} is assigned outside __init__ (${at(p)})`;
    // (`for x in self.config["endpoints"]:` only reads it: the loop rebinds its target, not what it iterates.)
    const forTarget = p?.type === 'for_statement' && p.childForFieldName('left')?.id === top.id;
    if (p?.type === 'pattern_list' || p?.type === 'tuple_pattern' || p?.type === 'delete_statement' || forTarget || p?.type === 'as_pattern_target') return `.${attr} is rebound outside __init__ (${at(p)})`;
    if (inInit(ref)) continue;
    // The whole object (not a value read from it) aliased or handed on: what the receiver does with it is unknown.
    if (top.id === ref.id && !otherObject(ctx, ref)) {
      // (A log line or a sleep only reads the number.)
      if (p?.type === 'assignment' || p?.type === 'keyword_argument' || (p?.type === 'argument_list' && !isLogCall(p.parent) && !SLEEP_CALL.test(callee(p.parent!) ?? ''))) handedOn ??= `self.${attr} is handed on whole (${at(p!.parent ?? p!)}), which may change it`;
    }
  }
  return handedOn;
}

/**
 * self.<attr> is the base's too (`self.config`, the base's dict of its extra keywords), but the base sets it in
 * its __init__ alone and never reads it after (nor does a thread of its own), and the agent's __init__ sets
 * its own after super().__init__() with a value of no other type (not renamed apart): from the end of __init__
 * on it is the agent's value, which only the agent reads.
 */
function settledAfterBase(ctx: PythonTransformContext, init: PyFunction, attr: string, sets: Array<{ method: string; stmt: SyntaxNode; value: SyntaxNode | null }>): boolean {
  if (!baseDoneAfterInit(ctx, attr)) return false;
  const baseType = ctx.base.attributes.get(attr) ?? null;
  const superAt = superInitCall(init.body)?.endIndex ?? -1;
  return sets.length > 0 && sets.every((x) => {
    const t = valueType(x.value);
    return x.method === '__init__' && x.stmt.startIndex > superAt && (t === null || t === 'None' || baseType === null || baseType === 'None' || t === baseType);
  });
}

/**
 * `args.config` where `args = parser.parse_args()`: the attribute of an object the file binds only to what
 * calls other than the agent's class return, in the scope of the read (not a parameter there): not the agent.
 */
function otherObject(ctx: PythonTransformContext, ref: SyntaxNode): boolean {
  const obj = ref.childForFieldName('object');
  if (obj?.type !== 'identifier' || obj.text === 'self') return false;
  let scope: SyntaxNode | null = ref.parent;
  while (scope && scope.type !== 'function_definition' && scope.type !== 'module') scope = scope.parent;
  if (!scope) return false;
  if (scope.type === 'function_definition' && bindingsOf(scope).has(obj.text) && scope.childForFieldName('parameters')?.namedChildren.some((p) => p.text === obj.text || p.text.startsWith(`${obj.text}=`) || p.text.startsWith(`${obj.text}:`))) return false;
  let binds = 0;
  let ok = true;
  walk(scope, (n) => {
    if (!ok) return false;
    if (n.id !== scope!.id && (n.type === 'function_definition' || n.type === 'class_definition') && scope!.type !== 'module') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment' && n.type !== 'for_statement' && n.type !== 'with_item' && n.type !== 'as_pattern') return;
    const left = n.type === 'with_item' ? null : n.childForFieldName('left');
    if (n.type === 'with_item' || n.type === 'as_pattern') {
      if (n.text.includes(obj.text)) ok = false;
      return;
    }
    if (!left || !left.text.split(/[\s,()]+/).includes(obj.text)) return;
    const right = n.childForFieldName('right');
    if (n.type !== 'assignment' || left.type !== 'identifier' || right?.type !== 'call' || callee(right) === ctx.agent.cls.name) ok = false;
    else binds++;
  });
  return ok && binds > 0;
}

/** `self.<attr>`, whose one __init__ assignment's value is what super().__init__ was given as keyword. */
function givenToBase(ctx: PythonTransformContext, keyword: string, value: string): boolean {
  const attr = /^self\.(\w+)$/.exec(value)?.[1];
  const passed = ctx.passThrough.get(keyword);
  if (!attr || passed === undefined) return false;
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr && a.method === '__init__');
  return sets.length === 1 && sets[0]!.value?.text === passed;
}

/** A string naming an attribute where it can change it: setattr()/delattr()'s name, or a key of `__dict__` / `vars(...)`. */
function changesByName(str: SyntaxNode): boolean {
  let n = str;
  while (n.parent?.type === 'concatenated_string' || n.parent?.type === 'parenthesized_expression') n = n.parent;
  const p = n.parent;
  if (p?.type === 'argument_list') return /^(setattr|delattr|object\.__setattr__|object\.__delattr__)$/.test(callee(p.parent!) ?? '');
  if (p?.type === 'subscript' && p.childForFieldName('subscript')?.id === n.id) {
    const v = p.childForFieldName('value')!;
    return (v.type === 'attribute' && v.childForFieldName('attribute')!.text === '__dict__') || (v.type === 'call' && callee(v) === 'vars');
  }
  return false;
}

/** The env variable the base's __init__ lets win over the period it is given (`_env_float("COLLECTION_INTERVAL", ...)`), or null. */
function baseIntervalEnv(ctx: PythonTransformContext, keyword: string): string | null {
  const text = ctx.base.initValues.get(keyword) ?? '';
  if (!new RegExp(`\\b${keyword}\\b`).test(text)) return null;
  return /\(\s*["']([A-Z][A-Z0-9_]*)["']/.exec(text)?.[1] ?? null;
}

/** __init__ ends by setting the base's period to the value run() computed from the agent's own state. */
export function assignInitInterval(ctx: PythonTransformContext, keyword: string, value: string, label: string): void {
  // run() slept self.<attr>, and super().__init__ is already given what __init__ assigns it (super-init
  // passes a legacy interval attribute, computed where it is set): the base has that period already.
  if (givenToBase(ctx, keyword, value)) return;
  const tail = initTail(ctx);
  if (!tail) return;
  const eol = ctx.layout.eol;
  const ind = tail.indent;
  const env = baseIntervalEnv(ctx, keyword);
  const os = env ? osName(ctx) : null;
  const lines = [`${ind}# The legacy run() slept this, computed from the agent's own settings (migrate).`];
  if (env && os) {
    if (os.insert) ctx.edits.insert(os.insert, `import os${eol}`, label);
    lines.push(`${ind}if not ${os.name}.environ.get("${env}", "").strip():`, `${ind}${ctx.layout.unit}self.${keyword} = ${value}`);
  } else {
    lines.push(`${ind}self.${keyword} = ${value}`);
    if (env) ctx.warnings.push(`${ctx.agent.cls.name}.__init__ sets ${keyword} from run()'s interval (${value}); ${env}, which ${ctx.profile.base_class} lets win, no longer does`);
  }
  ctx.edits.insert(tail.at, lines.join(eol) + eol, label);
  ctx.warnings.push(`${ctx.agent.cls.name}: run() slept ${value}, known once __init__ ran; __init__ now ends by setting ${keyword} to it`);
}
