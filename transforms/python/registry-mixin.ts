// Concern: a registration mixin of another file of the repository that the agent inherits and calls
// (`class LabelPrinterAgent(RegistryHeartbeatMixin)`, `self.start_registry()` in __init__,
// `self.stop_registry()` in cleanup()): beside the base, the registry got two registrations and two
// deregistrations. When what those methods run (read across the import, however deep on self, and the
// module functions they call) provably does nothing but post the agent's own record, heartbeats and its
// deregistration to the registry the base registers with, the agent's calls go: the base registers in
// its constructor and deregisters at stop. The mixin's file stays as it is (other agents use it); the
// mixin leaves the agent's bases when nothing else of it is used. Anything else it does (a record field
// the base's lacks, a file, state the agent reads) keeps the calls and own-registration's review items.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import type { ModuleModel, PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { callee, selfAttribute, statements, stringValue, walk } from '../../src/lang/python/syntax.js';
import { dictKeys } from '../../src/analysis/base-model.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { MigrateError } from '../../src/core/errors.js';
import { baseRecordKeys, callStatements, postsTo, registryDefault } from './own-registration.js';
import { holdsName } from './own-metrics-push.js';
import { insertAfterInit } from './health-hook.js';
import { configuredName } from './configured-name.js';
import { localsBefore, moduleNames } from './super-init.js';

const label = 'registry-mixin';

export interface RegistryMixin {
  /** The mixin's node in the agent's bases. */
  base: SyntaxNode;
  cls: PyClass;
  file: string;
  /** The agent's call statements of the mixin's registration methods. */
  calls: Array<{ stmt: SyntaxNode; method: string; deregisters: boolean }>;
  /** The agent's attribute the mixin's records name it by. */
  nameAttr: string;
  /** The mixin's default registry (a literal) with the registry variable unset, carried onto the base. */
  fallback: string | null;
  /** Paths it posted to besides /register and /deregister (heartbeats), which the base does not send. */
  others: string[];
  /** Something else of the mixin is used: it stays among the bases. */
  keepsBase: boolean;
}

/** Paths a registration mixin may post to: its registration, heartbeats and deregistration. */
const REGISTRY_PATH = /^\/(register|deregister|unregister|heartbeat)\/?$/;
/** Calls that only build, send or pace the posts (no file, no process, no other state). */
const SAFE_CALL = /^(threading\.(Thread|Event)|time\.(time|sleep|monotonic)|os\.getpid|os\.environ\.get|os\.getenv|json\.dumps|urllib\.request\.(Request|urlopen)|min|max|range|getattr|float|int|str|len)$/;
/** Methods called on what those calls return (a thread, an event, a response, a string). */
const SAFE_METHOD = /\.(start|set|is_set|wait|clear|encode|close|read|rstrip|strip)$/;
/** Time stamps a heartbeat carries. */
const STAMP_KEYS = new Set(['ts', 'timestamp', 'time']);

const plans = new WeakMap<PythonTransformContext, RegistryMixin | null>();

/** The inherited registration mixin whose calls go (read once per rewrite: inherit-base and the edit below ask). */
export function registryMixin(ctx: PythonTransformContext): RegistryMixin | null {
  if (!plans.has(ctx)) {
    // (asked again while it is read: ctx.external() asks which parents stay, and the mixin does until proven)
    plans.set(ctx, null);
    plans.set(ctx, findMixin(ctx));
  }
  return plans.get(ctx)!;
}

function findMixin(ctx: PythonTransformContext): RegistryMixin | null {
  if (ctx.profile.validation?.registry === 'none' || !ctx.base.registrationRecord || !ctx.base.registryUrl) return null;
  for (const b of ctx.agent.cls.bases) {
    if (b.type !== 'identifier' || b.text === ctx.profile.base_class) continue;
    const t = ctx.imported(b.text);
    const cls = t?.name ? t.module.classes.find((c) => c.name === t.name) : undefined;
    if (!t || !cls) continue;
    const found = mixinOf(ctx, b, cls, t.module, t.file);
    if (found) return found;
  }
  return null;
}

function mixinOf(ctx: PythonTransformContext, base: SyntaxNode, cls: PyClass, module: ModuleModel, file: string): RegistryMixin | null {
  // What the mixin inherits (`class RegistryHeartbeatMixin(ShiftClockMixin)`) would leave the bases with it,
  // and the agent may call any of it: a mixin with parents is not read.
  if (cls.bases.some((b) => b.text !== 'object')) return null;
  // The mixin's methods the agent names on self (its own methods shadow them).
  const used = new Set<string>();
  walk(ctx.agent.cls.node, (n) => {
    const a = n.type === 'attribute' ? selfAttribute(n) : null;
    if (a && cls.methods.has(a) && !ctx.agent.methods.has(a)) used.add(a);
  });
  const regs: string[] = [];
  const deregs: string[] = [];
  let keepsBase = cls.methods.has('__init__') || [...cls.methods.keys()].some((m) => ctx.agent.methods.has(m)) || classNames(cls).some((x) => ctx.refs.of(x).length > 0);
  for (const m of used) {
    const paths = mixinClosure(cls, m).map(postsTo).filter((p): p is string => p !== null);
    if (paths.some((p) => /^\/register\/?$/.test(p))) regs.push(m);
    else if (paths.some((p) => /^\/(de|un)register\/?$/.test(p))) deregs.push(m);
    else keepsBase = true;
  }
  if (regs.length !== 1 || deregs.length !== 1) return null;
  const [reg, dereg] = [regs[0]!, deregs[0]!];
  if (ctx.external(reg).length || ctx.external(dereg).length) return null;
  // Called as statements: the registration in __init__'s own body, the deregistration in the teardown's or the finalizer's.
  const init = ctx.agent.methods.get('__init__');
  const stops = ['stop', ctx.py.teardown ?? 'cleanup', '__del__'].map((m) => ctx.agent.methods.get(m)).filter((f): f is PyFunction => !!f);
  const regCalls = callStatements(ctx, reg);
  const deregCalls = callStatements(ctx, dereg);
  const alone = (st: SyntaxNode) => statements(st.parent).length < 2;
  if (!init || !regCalls || !deregCalls || [...regCalls, ...deregCalls].some(alone)) return null;
  if (!regCalls.every((st) => st.parent?.id === init.body.id && st.text === `self.${reg}()`)) return null;
  if (!deregCalls.every((st) => stops.some((f) => st.parent?.id === f.body.id) && st.text === `self.${dereg}()`)) return null;
  // What runs on the agent is its own method where it defines one (`_registry_record()` adding a field):
  // the mixin's text proves nothing about it.
  const runs = [...mixinClosure(cls, reg), ...mixinClosure(cls, dereg)];
  if (runs.some((fn) => ctx.agent.methods.has(fn.name))) return null;
  const nameAttr = recordNameAttr(ctx, cls, [reg, dereg]);
  if (!nameAttr) return null;
  const proof = onlyRegistry(ctx, cls, module, runs, nameAttr);
  if (!proof) return null;
  return {
    base, cls, file, nameAttr, keepsBase, fallback: proof.fallback, others: proof.others,
    calls: [...regCalls.map((stmt) => ({ stmt, method: reg, deregisters: false })), ...deregCalls.map((stmt) => ({ stmt, method: dereg, deregisters: true }))],
  };
}

/** Names the mixin's class body binds (constants, nested classes): the agent reading one keeps the mixin. */
function classNames(cls: PyClass): string[] {
  return statements(cls.body).flatMap((st) => {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    return left?.type === 'identifier' ? [left.text] : [];
  });
}

/** The mixin's methods a method runs on self, however deep (`threading.Thread(target=self._heartbeat_loop)`), itself first. */
export function mixinClosure(cls: PyClass, entry: string): PyFunction[] {
  const seen = new Map<string, PyFunction>();
  const todo = [entry];
  while (todo.length) {
    const fn = cls.methods.get(todo.shift()!);
    if (!fn || seen.has(fn.name)) continue;
    seen.set(fn.name, fn);
    walk(fn.body, (n) => {
      const a = n.type === 'attribute' ? selfAttribute(n) : null;
      if (a && cls.methods.has(a)) todo.push(a);
    });
  }
  return [...seen.values()];
}

/**
 * The attribute the mixin's records name the agent by (`"name": self.agent_name` in every dict with a "name"
 * key its registration and deregistration build), when it is the name the base is given: `self.name` itself,
 * an attribute assigned once in __init__ from the name parameter the base is given, or the configuration
 * lookup super-init gives the base (configured-name). Null otherwise.
 */
function recordNameAttr(ctx: PythonTransformContext, cls: PyClass, entries: string[]): string | null {
  const reads = new Set<string>();
  for (const fn of entries.flatMap((e) => mixinClosure(cls, e))) {
    walk(fn.body, (n) => {
      if (n.type !== 'pair' || stringValue(n.childForFieldName('key')!) !== 'name') return;
      reads.add(selfAttribute(n.childForFieldName('value')!) ?? '');
    });
  }
  const attr = reads.size === 1 ? [...reads][0]! : '';
  const key = ctx.py.super_call.name_keyword;
  if (!attr) return null;
  if (attr === key) return attr;
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const init = ctx.agent.methods.get('__init__')!;
  if (sets.length === 1 && sets[0]!.method === '__init__' && sets[0]!.value?.text === key && init.params.some((p) => p.name === key && p.kind !== 'kwargs')) return attr;
  // The lookup super-init gives the base where its call goes (before the first statement touching self).
  const body = statements(init.body);
  const firstSelf = body.find((s) => /\bself\b/.test(s.text));
  const configured = configuredName(ctx, init, new Map(init.params.map((p) => [p.name, p])), localsBefore(body, firstSelf), moduleNames(ctx));
  return configured?.attr === attr && !!firstSelf && configured.stmt.startIndex >= firstSelf.startIndex ? attr : null;
}

/**
 * What the functions run is only posting to the registry: every path they name is a registry path, every call
 * builds, sends or paces a post (or is a module function of the mixin's file doing only that, or a log line),
 * what they set on self only they read, what they read of the agent is its name and ports, the records they
 * send carry only the base's record's fields (a heartbeat a time stamp too), and the registry is the base's
 * (the registry variable, else a literal default carried onto the base). Null when not.
 */
function onlyRegistry(ctx: PythonTransformContext, cls: PyClass, module: ModuleModel, fns: PyFunction[], nameAttr: string): { fallback: string | null; others: string[] } | null {
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  const allowed = baseRecordKeys(ctx, ctx.base.registrationRecord ?? []);
  const ports = new Set(['port', ...Object.entries(ctx.py.super_call.pass_through ?? {}).flatMap(([k, names]) => [k, ...names])]);
  const own = new Set<string>();
  for (const fn of fns) {
    walk(fn.body, (n) => {
      const left = n.type === 'assignment' ? n.childForFieldName('left') : null;
      const a = left ? selfAttribute(left) : null;
      if (a) own.add(a);
    });
  }
  // What the mixin keeps on self is its own: the agent's file names none of it, and the base owns none.
  if ([...own].some((a) => ctx.refs.of(a).length > 0 || ctx.baseOwned.has(a) || ctx.agent.methods.has(a))) return null;
  let ok = true;
  let readsEnv = false;
  let fallback: string | null = null;
  const others = new Set<string>();
  const seenFns = new Set<string>();
  const check = (body: SyntaxNode, onSelf: boolean) => {
    walk(body, (n) => {
      if (!ok) return false;
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') {
        ok = false;
        return false;
      }
      if (n.type === 'string') {
        const v = stringValue(n)?.trim() ?? null;
        if (v === null || (/^\/\w/.test(v) && !REGISTRY_PATH.test(v))) ok = false;
        else if (v && REGISTRY_PATH.test(v) && !/register/.test(v)) others.add(v);
        return false;
      }
      if (n.type === 'subscript' && n.parent?.type === 'assignment' && n.parent.childForFieldName('left')?.id === n.id) ok = false;
      if (n.type === 'attribute' && n.childForFieldName('object')?.text === 'self') {
        const a = n.childForFieldName('attribute')!.text;
        if (!onSelf || !(cls.methods.has(a) || own.has(a) || a === nameAttr || ports.has(a))) ok = false;
        return false;
      }
      if (n.type === 'dictionary') {
        const keys = dictKeys(n);
        if (!keys) ok = false;
        else if (keys.includes('name')) {
          const heartbeat = [...(n.parent?.namedChildren ?? [])].some((x) => x.id !== n.id && /["']\/heartbeat\/?["']/.test(x.text));
          for (const k of keys) if (!allowed.has(k) && !(heartbeat && STAMP_KEYS.has(k))) ok = false;
        }
      }
      if (n.type !== 'call') return;
      const c = callee(n) ?? '';
      const env1 = /^os\.(environ\.get|getenv)$/.test(c) ? stringValue(n.childForFieldName('arguments')!.namedChildren[0]!) : null;
      if (env1 !== null) {
        if (env1 !== env) ok = false;
        readsEnv = true;
        const args = n.childForFieldName('arguments')!.namedChildren;
        const or = n.parent?.type === 'boolean_operator' && n.parent.childForFieldName('operator')?.text === 'or' && n.parent.childForFieldName('left')?.id === n.id ? n.parent.childForFieldName('right') : null;
        const dflt = args[1] ?? or;
        if (dflt) {
          const lit = literalOf(module, dflt);
          if (lit === null || (fallback !== null && fallback !== lit)) ok = false;
          else fallback = lit;
        }
        return;
      }
      const self = n.childForFieldName('function')?.type === 'attribute' ? selfAttribute(n.childForFieldName('function')!) : null;
      if (self && onSelf && cls.methods.has(self)) return;
      const f = n.childForFieldName('function');
      if (f?.type === 'identifier' && module.functions.has(c)) {
        if (!seenFns.has(c)) {
          seenFns.add(c);
          check(module.functions.get(c)!.body, false);
        }
        return;
      }
      if (SAFE_CALL.test(c) || isLogCall(n)) return;
      // (on what the function holds, never on a name of the mixin's module: `CONFIG.set(...)` changes shared state)
      const object = f?.type === 'attribute' ? f.childForFieldName('object')! : null;
      if (SAFE_METHOD.test(c) && !(object?.type === 'identifier' && moduleBinds(module, object.text))) return;
      ok = false;
    });
  };
  for (const fn of fns) check(fn.body, true);
  return ok && readsEnv ? { fallback, others: [...others] } : null;
}

/** The mixin's module binds the name at its top level (an import, an assignment). */
function moduleBinds(module: ModuleModel, name: string): boolean {
  return module.imports.has(name) || module.root.namedChildren.some((st) => {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    return a?.type === 'assignment' && a.childForFieldName('left')?.text === name;
  });
}

/** A string literal, or a module constant of the mixin's file bound once to one: its text. */
function literalOf(module: ModuleModel, n: SyntaxNode): string | null {
  if (n.type === 'string') return stringValue(n) !== null ? n.text : null;
  if (n.type !== 'identifier') return null;
  const defs = module.root.namedChildren
    .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .filter((a) => a?.type === 'assignment' && a.childForFieldName('left')?.text === n.text);
  const right = defs.length === 1 ? defs[0]!.childForFieldName('right') : null;
  return right?.type === 'string' && stringValue(right) !== null ? right.text : null;
}

export const registryMixinCalls: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const m = registryMixin(ctx);
    if (!m) return;
    const key = ctx.py.super_call.name_keyword;
    // inherit-base already decided on the bases from this: the name must be the base's as read there.
    if (m.nameAttr !== key && holdsName(ctx, `self.${m.nameAttr}`) !== 'same') {
      throw new MigrateError(`${m.cls.name} names the agent by self.${m.nameAttr}, which the base was not given as its name; migrate this agent by hand`, ctx.file, m.calls[0]!.stmt.startPosition.row + 1);
    }
    const base = ctx.profile.base_class;
    const carry = m.fallback !== null ? registryDefault(ctx, m.fallback, '') : null;
    if (m.fallback !== null && !carry) return;
    if (carry) insertAfterInit(ctx, carry, label);
    for (const c of m.calls) ctx.deletions.push({ node: c.stmt, symbol: `self.${c.method}()`, plain: true });
    const [reg, dereg] = [m.calls.find((c) => !c.deregisters)!, m.calls.find((c) => c.deregisters)!];
    const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
    if (m.others.length) {
      // The registry took those posts from the legacy (a heartbeat keeps a record alive where records
      // expire): the base sends none, and whether the registry needs them is not in this code.
      keep(
        ctx,
        `${m.cls.name}: ${m.others.join(', ')}`,
        reg.stmt.startPosition.row + 1,
        `${m.cls.name} (${m.file}), started by self.${reg.method}(), also posted ${m.others.join(', ')} to the registry while the agent ran; ` +
          `${base} sends none: if the registry expires records that stop getting them, the migrated agent drops out of it after that time. ` +
          `Confirm the registry keeps records without them, or post them from the agent (a run_once() or a thread of its own)`,
      );
    }
    ctx.warnings.push(
      `${ctx.agent.cls.name}: self.${reg.method}() (line ${reg.stmt.startPosition.row + 1}) and self.${dereg.method}() (line ${dereg.stmt.startPosition.row + 1}) went: ` +
        `${m.cls.name} (${m.file}) only registers the agent under self.${m.nameAttr} (the name ${base} is given) with ${base}'s record fields at the registry ${env} names` +
        (m.others.length ? `, posts ${m.others.join(', ')}` : '') +
        ` and deregisters it, which ${base} does itself (registering in its constructor, deregistering at stop)` +
        (m.others.length ? `; ${base} sends no ${m.others.join(', ')}` : '') +
        (carry ? `; with ${env} unset the mixin registered at ${m.fallback}, given to ${base} by a ${ctx.base.registryUrl!.method}() override` : '') +
        (m.keepsBase ? `; ${m.cls.name} stays among the bases for the rest of it the agent uses` : `; ${m.cls.name} left the bases (its file is unchanged for its other users)`),
    );
  },
};
