// Concern (a helper of super-init): an agent whose name is a configuration lookup with a fallback, kept
// under an attribute of its own (`self.agent_name = cfg.get("agent", "name", fallback="LabelPrinterAgent")`,
// `os.environ.get("AGENT_NAME", "label-printer")`, `config.get("name", "X")`), then registered or pushed
// under that attribute. Given its class name, the base registered and pushed under one name while the
// agent's own code used another whenever the configuration named it. When the lookup can be evaluated
// where the base's constructor is called (parameters, locals computed before it, module names; nothing
// in __init__ changes the object it reads), the base is given that expression as its name and the
// attribute reads the base's name (the same value, or the deployment's AGENT_NAME, which the base
// prefers), so both name the agent alike.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { bindingsOf, callee, stringValue, walk } from '../../src/lang/python/syntax.js';
import { evaluableEarly, helperFunctions } from './super-init.js';
import { postsTo } from './own-registration.js';

export interface ConfiguredName {
  attr: string;
  /** The statement `self.<attr> = <lookup>` (a statement of __init__'s own body). */
  stmt: SyntaxNode;
  /** The lookup, given to the base as its name. */
  value: SyntaxNode;
}

/** A lookup's callee: a mapping's or configparser's get, or the environment's. */
const LOOKUP = /^(?:\w+\.get|os\.environ\.get|os\.getenv)$/;
/** The key a lookup of the agent's name reads (`"name"`, `"agent_name"`, `"AGENT_NAME"`, `"service_name"`), not another thing's (`"model_name"`). */
const NAME_KEY = /^((agent|service)_?)?name$/i;

/**
 * The attribute holding the agent's configured name, when the base can be given its lookup: assigned once in
 * the class, by a statement of __init__'s own body, from a lookup (LOOKUP) of a name-like key with a string
 * fallback, readable with `locals` bound, and used as the agent's name (see usedAsName). Null otherwise.
 */
export function configuredName(ctx: PythonTransformContext, init: PyFunction, params: Map<string, unknown>, locals: Set<string>, known: Set<string>): ConfiguredName | null {
  const key = ctx.py.super_call.name_keyword;
  if (ctx.agent.assignments.some((a) => a.attr === key) || params.has(key)) return null;
  for (const a of ctx.agent.assignments) {
    if (a.attr === key || a.method !== '__init__' || a.stmt.parent?.id !== init.body.id || !a.value || a.value.type !== 'call') continue;
    if (ctx.baseOwned.has(a.attr) || ctx.agent.assignments.filter((x) => x.attr === a.attr).length !== 1) continue;
    const value = a.value;
    if (!LOOKUP.test(callee(value) ?? '') || value.text.includes('\n') || !nameLookup(value)) continue;
    if (!evaluableEarly(value, params, locals, known, helperFunctions(ctx), bindingsOf(init.node, false))) continue;
    const object = value.childForFieldName('function')!.childForFieldName('object')!.text;
    if (changedIn(init, object, locals.has(object.split('.')[0]!)) || !usedAsName(ctx, a.attr)) continue;
    return { attr: a.attr, stmt: a.stmt, value };
  }
  return null;
}

/** A lookup of a name-like key with a string fallback (`fallback=`/`default=`, or the last of two or more positionals). */
function nameLookup(call: SyntaxNode): boolean {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const positional = args.filter((a) => a.type !== 'keyword_argument');
  const kw = args.find((a) => a.type === 'keyword_argument' && /^(fallback|default)$/.test(a.childForFieldName('name')!.text));
  const dflt = kw?.childForFieldName('value') ?? (positional.length >= 2 ? positional.at(-1) : undefined);
  if (!dflt || dflt.type !== 'string' || stringValue(dflt) === null) return false;
  const keys = (kw ? positional : positional.slice(0, -1)).map((a) => (a.type === 'string' ? stringValue(a) : null));
  return keys.length > 0 && keys.every((k) => k !== null) && NAME_KEY.test(keys.at(-1)!);
}

/**
 * __init__ binds the looked-up object's name again (a local: more than its one binding before the call) or
 * writes into the object (`config["name"] = ...`, `os.environ["AGENT_NAME"] = ...`) or calls a method of it
 * other than a lookup (`os.environ.update(...)`, not `os.makedirs(...)`): the value at the base's call may
 * differ from the one the legacy read.
 */
function changedIn(init: PyFunction, object: string, local: boolean): boolean {
  const root = object.split('.')[0]!;
  const within = (text: string) => text === object || text.startsWith(`${object}.`) || text.startsWith(`${object}[`);
  let binds = 0;
  let touched = false;
  walk(init.body, (n) => {
    if (touched || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left')!;
      if (left.text === root) binds += n.type === 'assignment' ? 1 : 2;
      else if (within(left.text)) touched = true;
    }
    if (n.type === 'call') {
      const fn = n.childForFieldName('function');
      const of = fn?.type === 'attribute' ? fn.childForFieldName('object')!.text : '';
      if (of && within(of) && !/^(get(int|float|boolean)?|getenv|has_option|has_section)$/.test(fn!.childForFieldName('attribute')!.text)) touched = true;
    }
  });
  return touched || binds > (local ? 1 : 0);
}

/**
 * The attribute names the agent where the registry, the metrics sink or a health probe sees it: a registry
 * record's "name" (`{"name": self.agent_name, ...}` in the agent's class or a parent of another file whose
 * methods post to the registry: a registration mixin), an "agent" field (its health payload, a sample's
 * label), or an argument of a call about registration or metrics (`push_gauges(self.agent_name, {...})`).
 */
function usedAsName(ctx: PythonTransformContext, attr: string): boolean {
  const read = `self.${attr}`;
  const classes = [ctx.agent.cls, ...ctx.inherited().map((p) => p.cls)];
  let used = false;
  for (const cls of classes) {
    // A "name" field names the agent in a registry record: built by a class whose methods post to the registry.
    const registers = [...cls.methods.values()].some((m) => postsTo(m) !== null);
    walk(cls.node, (n) => {
      if (used) return false;
      const key = n.type === 'pair' && n.childForFieldName('value')?.text === read ? stringValue(n.childForFieldName('key')!) : null;
      if (key === 'agent' || key === 'agent_name' || (key === 'name' && registers)) used = true;
      if (n.type === 'call' && /regist|heartbeat|announce|push|metric|gauge/i.test(callee(n) ?? '') &&
        (n.childForFieldName('arguments')?.namedChildren ?? []).some((x) => (x.type === 'keyword_argument' ? x.childForFieldName('value')! : x).text === read)) used = true;
    });
  }
  return used;
}

const chosen = new WeakMap<PythonTransformContext, ConfiguredName>();
const reading = new WeakSet<PythonTransformContext>();

/** super-init gave the base this lookup as its name. */
export function rememberConfiguredName(ctx: PythonTransformContext, c: ConfiguredName): void {
  chosen.set(ctx, c);
}

/** The lookup super-init gave the base as its name, if any. */
export function configuredNameChosen(ctx: PythonTransformContext): ConfiguredName | null {
  return chosen.get(ctx) ?? null;
}

/** super-init made the attribute read the base's name (`self.agent_name = self.name`). */
export function readsBaseName(ctx: PythonTransformContext): void {
  if (chosen.has(ctx)) reading.add(ctx);
}

/** The attribute whose lookup the base was given as its name and which now reads the base's name; null when none. */
export function configuredNameAttr(ctx: PythonTransformContext): string | null {
  return reading.has(ctx) ? chosen.get(ctx)!.attr : null;
}
