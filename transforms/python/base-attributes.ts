// Concern: attributes the base owns that the agent assigns too. Decided from the base's code:
// - the same meaning and value (`self.running = True`, `self.start_time = time.time()`,
//   `self.port = <what the base was given>`): the re-assignment goes;
// - another meaning (a value of another type: a datetime `start_time`, a ROUTER `socket`):
//   the agent's attribute is renamed throughout the class and file, so each keeps its own;
// - a value the base never reads after its __init__ (its `config` kept for reference only):
//   the agent's stays, harmless;
// - otherwise the agent overrides a value the base goes on using: reported.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { selfAttribute } from '../../src/lang/python/syntax.js';
import { valueType } from '../../src/analysis/value-type.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { constructorOf, inlinableReturn, inlinedMethods, spelledOwnName, unpackedPortStatement, withPassedAttributes } from './super-init.js';
import { callsSuper, keptForOlderBase } from './early-overrides.js';
import { keptLoggingHook } from './old-base-logging-hook.js';
import { baseRuns } from './base-method-clash.js';
import type { AttributeAssignment } from '../../src/analysis/agent-model.js';
import { neverAgentLocal } from '../../src/analysis/removal-plan.js';

export const baseAttributes: PythonTransform = {
  name: 'base-attributes',
  phase: 'edit',
  run(ctx) {
    methodShadows(ctx);
    classConstantShadows(ctx);
    const seen = new Set<string>();
    const renamed = new Set<string>();
    // __post_init__ of a dataclass agent is its constructor; its statements before the base's call set the ports it is given.
    const ctor = constructorOf(ctx);
    for (const a of ctx.agent.assignments) {
      if (!ctx.base.attributes.has(a.attr) || isRemoved(ctx, a.stmt) || renamed.has(a.attr)) continue;
      if (ctx.resolved?.members.has(a.attr)) continue;
      if (a.method === ctor.method && ctor.callAt >= 0 && a.stmt.endIndex <= ctor.callAt) continue;
      if (a.method === ctor.method && injected(ctx, a.attr)) continue;
      // Unpacked into locals the base is given (`port, health_check_port = agent_ports(...)`): no longer an assignment of it.
      if (a.stmt.id === unpackedPortStatement(ctx)?.id) continue;
      const baseType = ctx.base.attributes.get(a.attr) ?? null;
      const mine = valueType(a.value);
      // The base's None is "set later", not a type.
      const typeDiffers = baseType !== null && baseType !== 'None' && mine !== null && mine !== 'None' && mine !== baseType && !(baseType === 'int' && mine === 'int()');
      if (typeDiffers && renameAttribute(ctx, a, baseType!, mine!)) {
        renamed.add(a.attr);
        continue;
      }
      // An empty container the base also starts and goes on reading (its `_metrics = {}` keyed by (name, labels)):
      // the same `{}` is not the same state, each fills its own with entries of its own shape, and one dict
      // shared would hand the base entries it cannot read. The agent's gets a name of its own.
      if (a.method === ctor.method && a.value && EMPTY_CONTAINER.test(a.value.text) && (ctx.base.readsAfterInit.has(a.attr) || ctx.base.threadDriven.has(a.attr)) &&
          renameAttribute(ctx, a, '', '', `${ctx.profile.base_class} keeps entries of its own in the self.${a.attr} it starts (${oneLine(ctx.base.initValues.get(a.attr) ?? '')}) and reads them back; this agent's own ${oneLine(a.value.text)} is self.%NEW%`)) {
        renamed.add(a.attr);
        continue;
      }
      if (a.method === ctor.method && redundant(ctx, a)) {
        ctx.deletions.push({ node: a.stmt, symbol: a.attr });
        dropInlinedMethods(ctx, a.attr);
        continue;
      }
      // A flag the base starts as True that the agent starts as False (set when it starts serving):
      // the same name for another state, which the base's own loops would obey.
      const baseStart = ctx.base.initValues.get(a.attr);
      if (a.method === ctor.method && a.value && baseStart !== undefined && isConstantLike(baseStart) && isConstantLike(a.value.text) &&
          norm(baseStart) !== norm(a.value.text) && (ctx.base.readsAfterInit.has(a.attr) || ctx.base.threadDriven.has(a.attr)) &&
          renameAttribute(ctx, a, `${baseStart} at start`, `${a.value.text} at start`)) {
        renamed.add(a.attr);
        continue;
      }
      if (seen.has(a.attr)) continue;
      // The base never reads it again after its own __init__: the agent's value changes nothing for it.
      if (!ctx.base.readsAfterInit.has(a.attr) && !ctx.base.threadDriven.has(a.attr)) continue;
      // The same value the base gives it (`logging.getLogger("X")` where the base has getLogger(self.name) and name="X").
      if (a.value && sameAsBase(ctx, a.attr, a.value.text)) continue;
      seen.add(a.attr);
      // Set up by the agent for itself (in __init__, or in its set-up method now renamed because the
      // base calls that name early): another value of the same kind (a logger of another name, a config of
      // another shape). The agent's gets a name of its own; the base goes on with the one it made.
      const ownSetUp = a.method === ctor.method || (ctx.base.initCalls.has(a.method) && willBeRenamed(ctx, a.method));
      if (ownSetUp && !identityOrPort(ctx, a.attr) && baseMakesObject(ctx, a.attr) && renameAttribute(ctx, a, '', '', `${ctx.profile.base_class} goes on using the self.${a.attr} it made; this agent's own (${oneLine(a.value?.text ?? '')}) is self.%NEW%`)) {
        renamed.add(a.attr);
        continue;
      }
      // Set by the agent's logging hook the base now calls in place of its own: the value the base goes on using.
      if (a.method !== ctor.method && keptLoggingHook(ctx, a.method)) continue;
      if (a.method === ctor.method && storedAsGiven(ctx, a.attr)) {
        // Set before anything of the base reads it: the base goes on with this value, as if given it.
        ctx.warnings.push(`self.${a.attr} is set by __init__ after super().__init__() (line ${a.line}): ${ctx.profile.base_class}.__init__ stores the ${a.attr} it is given ` +
          `and derives nothing from it, so from then on it uses this one, as if given ${a.attr}=${oneLine(a.value?.text ?? '')}`);
        continue;
      }
      if (a.method === ctor.method) {
        keep(ctx, a.attr, a.line, `self.${a.attr} is owned by the base and re-assigned after super().__init__(), overriding the value the base goes on using`);
      } else if (ctx.base.assignedIn.get(a.method)?.has(a.attr) && ctx.base.initCalls.has(a.method)) {
        // e.g. the agent's _perform_initialization sets initialized=True when its work is done, but the
        // base's own _perform_initialization (run inside super().__init__) sets it first.
        keep(ctx, a.attr, a.line,
          `self.${a.attr} is also set by ${ctx.profile.base_class}.${a.method}(), which runs inside super().__init__(); the base reports its own value before ${a.method}() here has run`);
      } else seen.delete(a.attr);
    }
    // After the base's own attributes: a copy's reads inside a statement that goes (`self.health_check_port =
    // ... self.zmq_port + 1`, redundant once the base is given it) are not renamed inside that statement.
    portAliases(ctx);
  },
};

/**
 * A legacy name of a port the base is now given (`self.health_port = health_port` where the base got
 * health_check_port=health_port), set once in __init__ to exactly that value and still read by code that
 * stays (a log line, a registry record): the base's attribute is where that port is now (the deployment
 * may choose another by environment), so the reads follow it and the copy goes.
 */
function portAliases(ctx: PythonTransformContext): void {
  for (const [keyword, legacy] of Object.entries(ctx.py.super_call.pass_through ?? {})) {
    const passed = ctx.passThrough.get(keyword);
    // Ports only: the base binds what it is given (another keyword, an interval, may be normalised by it).
    if (passed === undefined || !/port$/.test(keyword) || !ctx.base.attributes.has(keyword)) continue;
    for (const attr of legacy) {
      if (attr === keyword || ctx.base.attributes.has(attr) || ctx.renames.has(attr) || ctx.agent.methods.has(attr)) continue;
      const assigns = ctx.agent.assignments.filter((a) => a.attr === attr);
      if (assigns.length !== 1) continue;
      const a = assigns[0]!;
      if (a.method !== '__init__' || !a.value || a.stmt.type !== 'expression_statement' || a.stmt.namedChild(0)?.type !== 'assignment' || isRemoved(ctx, a.stmt)) continue;
      // Other attributes it reads (`self.config.get("health_port", self.port + 1)`) are compared as written.
      const spelled = withPassedAttributes(ctx, a.value, otherThanPorts(ctx, a.value));
      if (norm(a.value.text) !== norm(passed) && (spelled === null || norm(spelled) !== norm(passed))) continue;
      // Read by name outside the class (module code, another file): maybe this agent, maybe not; left as it is.
      // An attribute of a local that never holds the agent (`args.health_port` in main()) is no such read.
      if (ctx.external(attr).length || ctx.refs.of(attr).some((r) => r.kind === 'attribute' && !insideAnyClass(r.node) && !neverAgentLocal(r.node, ctx.agent.cls, ctx.module.imports, (l) => ctx.imported(l) !== null))) continue;
      ctx.deletions.push({ node: a.stmt, symbol: attr });
      renameMember(ctx, attr, keyword, 'base-attributes');
      if (ctx.resolved) ctx.resolved.notes = ctx.resolved.notes.filter((n) => n.symbol !== attr);
      ctx.warnings.push(`self.${attr} was the ${keyword} given to ${ctx.profile.base_class} (${oneLine(a.value.text)}): its reads now read self.${keyword}, the port the base serves (the environment may choose another), and the copy goes`);
    }
  }
}

/** A string or number literal: what the class body binds as a constant. */
const CONSTANT_VALUE = /^(string|integer|float)$/;

/**
 * A string or number constant of the agent's class named like an attribute the base's __init__ assigns
 * (`agent_name = "conntrack_flow"`, while the base sets self.agent_name from AGENT_NAME or what it is
 * given; `collection_interval = 60`, while the base sets the period it is given, 30 s by default): on the
 * instance the base's value hides it, so each `self.agent_name` the agent reads (a queue file's name, a
 * log line) would read another string, each `self.collection_interval` (a rate's divisor) another number. The
 * constant and the agent's reads get a name of their own; a subclass or reader in another file reaching
 * the old name is reported.
 */
function classConstantShadows(ctx: PythonTransformContext): void {
  const body = ctx.agent.cls.node.childForFieldName('body');
  for (const st of body ? body.namedChildren : []) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    const value = e?.childForFieldName('right');
    if (left?.type !== 'identifier' || !value || !CONSTANT_VALUE.test(value.type) || e!.childForFieldName('type')) continue;
    const name = left.text;
    if (!ctx.base.initValues.has(name) || ctx.agent.methods.has(name) || ctx.renames.has(name) || ctx.resolved?.members.has(name)) continue;
    // Assigned on the instance too: the instance assignment's own concern (above), not a hidden constant.
    if (ctx.agent.assignments.some((a) => a.attr === name)) continue;
    const reads = ctx.refs.of(name).filter((r) => r.kind === 'attribute' && selfAttribute(r.node.parent!) === name && !isRemoved(ctx, r.node) &&
      ctx.agent.cls.node.startIndex <= r.start && r.end <= ctx.agent.cls.node.endIndex);
    if (!reads.length) continue;
    const fresh = freshName(ctx, name, 'agent_');
    renameMember(ctx, name, fresh, 'base-attributes');
    ctx.edits.replace(left.startIndex, left.endIndex, fresh, 'base-attributes');
    reportExternalCallers(ctx, name, fresh, `${ctx.profile.base_class}.__init__ sets self.${name} on the instance, which hides the class constant`);
    ctx.warnings.push(`${ctx.agent.cls.name}.${name} (line ${st.startPosition.row + 1}: ${oneLine(st.text)}) renamed ${fresh} with its reads (line ${[...new Set(reads.map((r) => r.line))].join(', line ')}): ${ctx.profile.base_class}.__init__ sets self.${name} on the instance (from the environment or what it is given), which would hide the class's value from them`);
  }
}

/**
 * An instance attribute named like a method of the base (`self.stop = threading.Event()`, `self.cleanup = []`):
 * before, the name was the agent's alone; once the class inherits the base, the attribute hides the base's
 * method on the instance, so where the base calls it (`self.stop()` from its signal handler or cleanup())
 * it calls the agent's value and fails. The agent's attribute gets a name of its own everywhere the file
 * reaches it as the agent, so both stay what they were.
 */
function methodShadows(ctx: PythonTransformContext): void {
  const done = new Set<string>();
  for (const a of ctx.agent.assignments) {
    const attr = a.attr;
    if (done.has(attr) || attr.startsWith('__') || !ctx.base.methods.has(attr) || ctx.base.attributes.has(attr)) continue;
    if (ctx.agent.methods.has(attr) || ctx.renames.has(attr) || ctx.resolved?.members.has(attr) || isRemoved(ctx, a.stmt)) continue;
    done.add(attr);
    const kind = a.value ? valueType(a.value) : null;
    const where = baseRuns(ctx, attr);
    renameAttribute(ctx, a, '', '', `${ctx.profile.base_class}.${attr}() is a method${where ? `, which ${where}` : ''}; this agent's self.${attr}` +
      ` (${kind && kind !== 'None' ? `a ${kind}` : oneLine(a.value?.text ?? 'a value')}) would hide it on the instance, so it is self.%NEW%`);
  }
}

/** The self attributes an expression reads that are not ports the base is given. */
function otherThanPorts(ctx: PythonTransformContext, expr: SyntaxNode): Set<string> {
  const ports = new Set(Object.entries(ctx.py.super_call.pass_through ?? {}).flatMap(([k, names]) => [k, ...names]));
  const out = new Set<string>();
  const visit = (n: SyntaxNode) => {
    const m = /^self\.(\w+)$/.exec(n.type === 'attribute' ? n.text : '');
    if (m && !ports.has(m[1]!)) out.add(m[1]!);
    for (const c of n.namedChildren) visit(c);
  };
  visit(expr);
  return out;
}

function insideAnyClass(node: SyntaxNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'class_definition') return true;
  return false;
}

/**
 * A method whose return expression the base is now given in place of its call (`self.port = port if port is not None
 * else self._launcher_port()`, spelled with what the method returns): once every call of it goes with the statement
 * that repeated the base's value, nothing calls it, and it goes too.
 */
function dropInlinedMethods(ctx: PythonTransformContext, attr: string): void {
  for (const name of inlinedMethods(ctx)) {
    const fn = ctx.agent.methods.get(name);
    const defName = fn?.node.childForFieldName('name');
    const calls = ctx.refs.of(name).filter((r) => r.node.id !== defName?.id);
    if (!fn || !calls.length || isRemoved(ctx, fn.outer) || !calls.every((r) => isRemoved(ctx, r.node))) continue;
    ctx.deletions.push({ node: fn.outer, symbol: name });
    ctx.warnings.push(`${name}() only returned the ${attr} it computed: ${ctx.profile.base_class}.__init__() is given that expression in its place (${oneLine(inlinableReturn(ctx, name)!.text)}), and the method goes with its one call`);
  }
}

/** Does the assignment in __init__ (now after super().__init__) only repeat what the base set? */
/** A fresh, empty container: `{}`, `[]`, `set()`, `dict()`, `list()`, `collections.deque()`, `defaultdict(int)`. */
const EMPTY_CONTAINER = /^(\{\s*\}|\[\s*\]|(?:collections\.)?(?:set|dict|list|deque|OrderedDict|Counter|defaultdict)\(\s*\w*\s*\))$/;

function redundant(ctx: PythonTransformContext, a: AttributeAssignment): boolean {
  if (a.value === null || a.stmt.type !== 'expression_statement' || a.stmt.namedChild(0)?.type !== 'assignment') return false;
  const value = norm(a.value.text);
  const passed = ctx.passThrough.get(a.attr) ?? passedUnderLegacyName(ctx, a.attr);
  if (passed !== undefined) {
    if (norm(passed) === value) return true;
    // `self.name = "ShardLedger-%s" % self.shard`, given as `"ShardLedger-%s" % (shard or args.shard)`.
    const own = spelledOwnName(ctx, a.stmt);
    if (own !== null && norm(own) === norm(passed)) return true;
    // self.health_check_port = f(self.port + 1) where the base was given f(<port> + 1)
    const spelled = withPassedAttributes(ctx, a.value);
    if (spelled !== null && norm(spelled) === norm(passed)) return true;
  }
  // The base's __init__ value only stands if nothing it runs during __init__ changes it again.
  const changedLater = [...ctx.base.initCalls].some((m) => ctx.base.assignedIn.get(m)?.has(a.attr));
  const baseValue = changedLater ? undefined : ctx.base.initValues.get(a.attr);
  return baseValue !== undefined && norm(baseValue) === value && isConstantLike(a.value.text);
}

/** Does the base assign this attribute the same value, reading its own attributes as what it was given? */
function sameAsBase(ctx: PythonTransformContext, attr: string, value: string): boolean {
  const mine = norm(value);
  return (ctx.base.values.get(attr) ?? []).some((v) => {
    const given = v.replace(/\bself\.(\w+)\b/g, (m, a: string) => ctx.passThrough.get(a) ?? m);
    return norm(given) === mine || norm(withParameters(ctx, given)) === mine;
  });
}

/**
 * A base value read with the base's own __init__ parameters as this agent's super() call gives them:
 * the expression passed, else the parameter's default; a leading `None or` then falls away
 * (`device_id or socket.gethostname()` with device_id not passed is `socket.gethostname()`).
 */
function withParameters(ctx: PythonTransformContext, value: string): string {
  let out = value.replace(/(?<![.\w])([A-Za-z_]\w*)(?![\w(])(?!\s*=[^=])/g, (m, p: string) => {
    if (!ctx.base.initParams.includes(p)) return m;
    const passed = ctx.passThrough.get(p);
    if (passed !== undefined) return `(${passed})`;
    return ctx.base.initDefaults.get(p) ?? m;
  });
  for (;;) {
    const next = out.replace(/^\s*(None|False|0|""|'')\s+or\s+/, '');
    if (next === out) return out;
    out = next;
  }
}

function passedUnderLegacyName(ctx: PythonTransformContext, attr: string): string | undefined {
  for (const [kw, names] of Object.entries(ctx.py.super_call.pass_through ?? {})) if (kw === attr && names.includes(attr)) return ctx.passThrough.get(kw);
  return undefined;
}

/**
 * The agent's attribute means something else (another type): it gets a name of its own,
 * everywhere the file reaches it as the agent. False when something from outside the class
 * also reaches it (that caller would keep the old name): then it is reported instead.
 */
function renameAttribute(ctx: PythonTransformContext, a: AttributeAssignment, baseType: string, mine: string, why?: string): boolean {
  const name = freshName(ctx, a.attr, 'agent_');
  const outside = renameMember(ctx, a.attr, name, 'base-attributes');
  reportExternalCallers(ctx, a.attr, name, `the base owns self.${a.attr}${baseType ? ` as a ${baseType}` : ''}`);
  for (const r of outside) {
    keep(ctx, a.attr, r.line, `self.${a.attr} (${mine}) was renamed to ${name} because the base owns self.${a.attr}${baseType ? ` (${baseType})` : ''}, but line ${r.line} reaches it from outside the class; check which object it is`);
  }
  ctx.warnings.push(why
    ? `self.${a.attr} renamed to self.${name}: ${why.replace('%NEW%', name)}`
    : `self.${a.attr} renamed to self.${name}: the base's self.${a.attr} is ${/ at start$/.test(baseType) ? baseType : `a ${baseType}`}, this agent's ${/ at start$/.test(mine) ? mine : `a ${mine}`}`);
  return true;
}

/** early-overrides renames a method the base's __init__ calls unless it extends the base's own. */
function willBeRenamed(ctx: PythonTransformContext, method: string): boolean {
  const fn = ctx.agent.methods.get(method);
  return !!fn && !ctx.resolved?.members.has(method) && !callsSuper(fn.body, method) && !keptForOlderBase(ctx, method) && !keptLoggingHook(ctx, method);
}

/**
 * Does the base make an object of its own under this name (a logger, a context, a config), rather
 * than keep a state the agent is meant to update (initialized, initialization_error: constants)?
 */
function baseMakesObject(ctx: PythonTransformContext, attr: string): boolean {
  const values = [...(ctx.base.values.get(attr) ?? []), ...(ctx.base.initValues.has(attr) ? [ctx.base.initValues.get(attr)!] : [])];
  return values.length > 0 && values.every((v) => !isConstantLike(v));
}

/** The agent's name and ports: what the base is given (super-init's concern), never renamed away. */
/**
 * A dependency the base takes as a keyword and only stores (`self.local_queue = local_queue if
 * local_queue is not None else MemoryQueue()`), used by nothing its __init__ starts: the agent
 * assigning it in __init__ supplies it, as passing it would (hardened-agent-base's
 * `eventbus_publisher` and `local_queue`, which the hardened transforms write).
 */
function injected(ctx: PythonTransformContext, attr: string): boolean {
  if (!ctx.base.initParams.includes(attr) || ctx.base.threadDriven.has(attr) || identityOrPort(ctx, attr)) return false;
  const v = (ctx.base.initValues.get(attr) ?? '').replace(/\s+/g, ' ').trim();
  return v === attr || new RegExp(`^${attr} if ${attr} is not None else .+$`).test(v) || new RegExp(`^${attr} or .+$`).test(v);
}

/**
 * The base's __init__ stores the parameter as given (`device_id or socket.gethostname()`, no environment
 * choosing it) and neither it, a method it calls nor a thread it starts reads the attribute: nothing of the
 * base has used the base's value before the agent's __init__ assigns its own, so that one is the value.
 */
function storedAsGiven(ctx: PythonTransformContext, attr: string): boolean {
  if (ctx.base.learnedFrom !== 'source' || !ctx.base.initParams.includes(attr) || ctx.base.readsDuringInit.has(attr) || ctx.base.threadDriven.has(attr)) return false;
  const v = (ctx.base.initValues.get(attr) ?? '').replace(/\s+/g, ' ').trim();
  const m = new RegExp(`^${attr}(?: or (.+)| if ${attr} is not None else (.+))?$`).exec(v);
  return !!m && !/environ|getenv|_env/.test(m[1] ?? m[2] ?? '');
}

function identityOrPort(ctx: PythonTransformContext, attr: string): boolean {
  const sc = ctx.py.super_call;
  if (attr === sc.name_keyword || attr === 'name') return true;
  return Object.entries(sc.pass_through ?? {}).some(([kw, names]) => kw === attr || names.includes(attr)) || /port$/.test(attr);
}

function oneLine(s: string): string {
  const t = s.replace(/\s*\n\s*/g, ' ');
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

function norm(s: string): string {
  return s.replace(/\s+/g, '').replace(/'/g, '"');
}

/** Values whose repetition is truly redundant: literals and time.time(), not calls with effects. */
function isConstantLike(text: string): boolean {
  return /^(True|False|None|-?\d+(\.\d+)?|['"][^'"]*['"]|time\.time\(\)|\{\}|\[\])$/.test(text.trim());
}
