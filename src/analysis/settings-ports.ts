// Ports that live only on a settings object handed to the constructor: `__init__(self, settings)`,
// `self.settings = settings`, then `sock.bind(("127.0.0.1", settings.port))` and
// `HTTPServer(("127.0.0.1", self.settings.health_check_port), Handler)`. The agent has no port
// attribute or parameter of its own; its ports are attributes (under the profile's names for them) of
// that parameter. Read from the parameter they can be given to the base before anything else runs
// (`super().__init__(..., port=settings.port, health_check_port=settings.health_check_port)`), and the
// agent's reads of them (through the parameter or through the attribute that holds it) are the ports
// the base is given: its health server on `self.settings.health_check_port` is the agent's health
// endpoint. Only a parameter without a default that the agent never rebinds, held as it is by an
// attribute set once, whose port attributes nothing assigns, counts.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass } from '../lang/python/module-model.js';
import type { AgentModel } from './agent-model.js';
import { oneLine, selfAttribute, stringValue, walk, walkTypes } from '../lang/python/syntax.js';
import { boundPort, normPort, serverSubclasses } from './ports.js';
import { fallbackAlternatives } from './port-defaults.js';

export interface SettingsPort {
  /** What the base is given (`settings.port`): evaluable before anything in __init__ runs. */
  value: string;
  /** The agent's spellings of it, normalised (normPort): `settings.port`, `cfg.port` for `self.cfg = settings`. */
  forms: Set<string>;
}

const cache = new WeakMap<PyClass, Map<string, SettingsPort>>();

// The node types the searches below look at (keyRead's reads; a self; an in-place change): typed walks only.
const KEY_READS: ReadonlySet<string> = new Set(['attribute', 'subscript', 'call']);
const IDENTIFIERS: ReadonlySet<string> = new Set(['identifier']);
const CHANGES: ReadonlySet<string> = new Set(['call', 'delete_statement']);
const CALLS: ReadonlySet<string> = new Set(['call']);

/** Per keyword of the profile's pass-through (`port`, `health_check_port`), the settings parameter's attribute that holds it. */
export function settingsParameterPorts(agent: AgentModel, passThrough: Record<string, string[]>): Map<string, SettingsPort> {
  const hit = cache.get(agent.cls);
  if (hit) return hit;
  const out = new Map<string, SettingsPort>();
  cache.set(agent.cls, out);
  const init = agent.methods.get('__init__');
  if (!init) return out;
  // Parameters without a default (a `None` default would make `settings.port` fail before the agent's
  // own fallback ran), or defaulting to a named object (`config=IngestConfig`, a class whose attributes
  // are the settings: `config.PORT` reads the same before anything runs), never rebound in __init__.
  const candidates = init.params
    .filter((p) => (p.kind === 'plain' || (p.kind === 'default' && namedObject(p.default))) && p.name !== 'self' && p !== init.params[0])
    .map((p) => p.name);
  if (!candidates.length) return out;
  const rebound = new Set<string>();
  walk(init.body, (n) => {
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment' && n.type !== 'for_statement' && n.type !== 'with_item') return;
    const left = n.childForFieldName('left') ?? n.childForFieldName('value');
    walk(left ?? n, (x) => {
      if (x.type === 'identifier' && candidates.includes(x.text) && x.parent?.type !== 'attribute') rebound.add(x.text);
    });
  });
  for (const param of candidates) {
    if (rebound.has(param)) continue;
    // `self.settings = settings`, the only assignment of that attribute in the class.
    const holders = new Set<string>();
    for (const a of agent.assignments) {
      if (a.method !== '__init__' || a.value?.type !== 'identifier' || a.value.text !== param) continue;
      if (agent.assignments.filter((b) => b.attr === a.attr).length === 1 && !agent.methods.has(a.attr)) holders.add(a.attr);
    }
    for (const [keyword, legacy] of Object.entries(passThrough)) {
      if (out.has(keyword)) continue;
      // `settings.health_port`, or `config.HEALTH_PORT` on a class used as the configuration.
      for (const name of legacy.flatMap((n) => [n, n.toUpperCase()])) {
        const found = portReads(agent, init.body, param, holders, name);
        if (found === 'assigned' || !found) continue;
        const forms = new Set([param, ...holders].map((h) => normPort(`${h}.${name}`)));
        out.set(keyword, { value: `${param}.${name}`, forms });
        break;
      }
    }
  }
  return out;
}

/**
 * Whether the agent reads `<param>.<name>` in __init__ or `self.<holder>.<name>` anywhere in its
 * methods; 'assigned' when it also assigns it (the value the base would be given might not be the
 * one the agent binds).
 */
function portReads(agent: AgentModel, initBody: SyntaxNode, param: string, holders: Set<string>, name: string): boolean | 'assigned' {
  let read = false;
  let assigned = false;
  const visit = (n: SyntaxNode, viaParam: boolean) => {
    const read1 = keyRead(n, name);
    if (!read1) return;
    const obj = read1.object;
    const ok = viaParam ? obj.type === 'identifier' && obj.text === param : holders.has(selfAttribute(obj) ?? '');
    if (!ok) return;
    const p = n.parent;
    if ((p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id) assigned = true;
    else if (read1.kind === 'set') assigned = true;
    else read = true;
  };
  walkTypes(initBody, KEY_READS, (n) => visit(n, true));
  if (holders.size) for (const m of agent.methods.values()) walkTypes(m.body, KEY_READS, (n) => visit(n, false));
  return assigned ? 'assigned' : read;
}

/** A default that names an object (`IngestConfig`, `settings.DEFAULTS`), not a literal or None. */
function namedObject(node: SyntaxNode | undefined): boolean {
  if (!node) return false;
  if (node.type === 'identifier') return !/^(None|True|False)$/.test(node.text);
  return node.type === 'attribute' && /^[A-Za-z_][\w.]*$/.test(node.text);
}

export interface HeldSettingsPort {
  /** The attribute holding the settings object (`config` of `self.config = config or WatchConfig()`). */
  holder: string;
  /** What the base is given, read through the holder (`self.config.health_port`): the call goes after the holder is set. */
  value: string;
  /** The agent's spelling of it, normalised (normPort): `config.health_port`. */
  forms: Set<string>;
  /** The read `value` is the text of (in whichever method it is). */
  read: SyntaxNode;
  /** Settings __init__ builds first that no port attribute is copied from (the base's call must go right after them). */
  built: boolean;
}

const heldCache = new WeakMap<PyClass, Map<string, HeldSettingsPort>>();

/**
 * A port the agent never copies onto itself but reads, wherever it binds it, from the settings object that
 * also gives it its request port: `self.config = config or WatchConfig()`, `self.port = self.config.port`
 * in __init__, and `ThreadingHTTPServer(("127.0.0.1", self.config.health_port), ...)` in another method.
 * The base's constructor goes after the holder's set-up whenever the agent's port is read from it (the
 * holder is set once, at __init__'s top level, before that read), so it can be given the other port from
 * there too. Only a holder assigned once in the class whose port attributes (under the profile's names
 * for them) nothing assigns, and only for a keyword the agent keeps no attribute of its own for. Also the
 * settings __init__ builds first when the agent's health server binds a key of them (see below).
 */
export function heldSettingsPorts(agent: AgentModel, passThrough: Record<string, string[]>): Map<string, HeldSettingsPort> {
  const hit = heldCache.get(agent.cls);
  if (hit) return hit;
  const out = new Map<string, HeldSettingsPort>();
  heldCache.set(agent.cls, out);
  const init = agent.methods.get('__init__');
  if (!init) return out;
  const topLevel = (stmt: SyntaxNode) => stmt.parent?.id === init.body.id;
  const ownNames = new Set(Object.values(passThrough).flat());
  // `self.port = self.<holder>.<name>` at __init__'s top level: the holders the request port is read from.
  const holders = new Set<string>();
  for (const a of agent.assignments) {
    const read = a.value && a.method === '__init__' && ownNames.has(a.attr) && topLevel(a.stmt) ? keyRead(a.value) : null;
    if (!read || read.kind === 'set') continue;
    const holder = selfAttribute(read.object);
    if (!holder || agent.methods.has(holder)) continue;
    const sets = agent.assignments.filter((b) => b.attr === holder);
    if (sets.length !== 1 || sets[0]!.method !== '__init__' || !topLevel(sets[0]!.stmt) || sets[0]!.stmt.startIndex > a.stmt.startIndex) continue;
    // A mapping changed in place after the port is read from it (`self.config.update(...)` later): the base
    // would be given what it held before.
    if (changedAfter(agent, holder, a.stmt)) continue;
    holders.add(holder);
  }
  // Then settings the agent builds itself and copies no port from (`self.config = config or {"health_port": 7953,
  // ...}`): __init__'s first statement touching self or super() (the base's call can go right after it; in a
  // written _v2 the call is above it, so it is read as its legacy was), from a parameter, a literal mapping or a
  // call, set once and never changed after; a port of theirs counts only where a server or socket of the agent
  // binds it as its address port (not a peer's they also hold, `self.db["health_port"]` polled).
  // Not where __init__ calls a parent's __init__ itself (`super().__init__()` after them): the base's call takes
  // that call's place, not one right after the settings.
  const built = new Set<string>();
  // Statements setting a literal (`self.running = False`) before them read nothing and run nothing: the
  // settings are built first all the same (super-init moves their set-up above such statements).
  const firstSelf = callsParentInit(init.body) ? undefined : init.body.namedChildren.find((st) => mentionsSelf(st) && !settingsGoAbove(agent, st));
  for (const a of agent.assignments) {
    if (a.method !== '__init__' || !a.value || a.stmt.id !== firstSelf?.id || holders.has(a.attr) || agent.methods.has(a.attr)) continue;
    // (`self.config = self._load_config(path)` is the agent's own method: not run before the base's __init__)
    if (agent.assignments.filter((b) => b.attr === a.attr).length !== 1 || mentionsSelf(a.value) || !builtSettings(a.value, init.params.map((p) => p.name))) continue;
    if (!changedAfter(agent, a.attr, a.stmt)) built.add(a.attr);
  }
  for (const [keyword, legacy] of Object.entries(passThrough)) {
    // The agent keeps an attribute of its own for it (`self.health_port = ...`): that is what it is given.
    if (legacy.some((name) => agent.assignments.some((a) => a.attr === name))) continue;
    for (const holder of [...holders, ...built]) {
      // (read through the holder only: no parameter of that name is looked at)
      const name = legacy.flatMap((n) => [n, n.toUpperCase()]).find((n) => portReads(agent, init.body, '', new Set([holder]), n) === true);
      // (a port the settings parameter gives before anything runs is read from there: settingsParameterPorts)
      if (!name || (built.has(holder) && (!listensOn(agent, holder, name) || settingsParameterPorts(agent, passThrough).has(keyword)))) continue;
      const spelled = spellings(agent, holder, name);
      if (!spelled || (built.has(holder) && !plainRead(spelled.read))) continue;
      out.set(keyword, { holder, ...spelled, built: built.has(holder) });
      break;
    }
  }
  // Such settings are read for the health server bound on them: without it (its port not plainly read) the
  // agent's other ports stay as they were too (the base given its request port would derive its health port
  // from it, maybe the one a kept server binds).
  const health = out.get('health_check_port');
  if (!health?.built) for (const [k, v] of out) if (v.built) out.delete(k);
  return out;
}


/**
 * A read of `name` from a settings object: `obj.name`, a mapping's `obj["name"]` or `obj.get("name"[, default])`
 * (the key as a plain string), a configparser option `obj.getint("section", "name")` (`option`); `set` for `obj.setdefault("name", ...)`, `obj.pop("name")` (it may change it).
 * Without a name, any such read (its key is the caller's to compare).
 */
export function keyRead(n: SyntaxNode, name?: string): { object: SyntaxNode; kind: 'attribute' | 'key' | 'get' | 'set' | 'option'; key: string } | null {
  if (n.type === 'attribute') {
    const key = n.childForFieldName('attribute')!.text;
    return name === undefined || key === name ? { object: n.childForFieldName('object')!, kind: 'attribute', key } : null;
  }
  if (n.type === 'subscript') {
    const sub = n.childForFieldName('subscript');
    const key = sub ? stringValue(sub) : null;
    return key !== null && (name === undefined || key === name) ? { object: n.childForFieldName('value')!, kind: 'key', key } : null;
  }
  if (n.type !== 'call') return null;
  const fn = n.childForFieldName('function');
  const method = fn?.type === 'attribute' ? fn.childForFieldName('attribute')!.text : '';
  const args = (n.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
  if (method === 'getint') {
    // configparser: `parser.getint("ledger", "health_port")`, the option of a section (a plain mapping has no getint).
    const [section, option] = args.map((a) => stringValue(a));
    if (args.length !== 2 || section == null || option == null || (name !== undefined && option !== name)) return null;
    return { object: fn!.childForFieldName('object')!, kind: 'option', key: option };
  }
  if (!/^(get|setdefault|pop)$/.test(method)) return null;
  const key = args[0] ? stringValue(args[0]) : null;
  if (key === null || args.length > 2 || args.some((a) => a.type === 'keyword_argument' || a.type.endsWith('splat')) || (name !== undefined && key !== name)) return null;
  return { object: fn!.childForFieldName('object')!, kind: method === 'get' ? 'get' : 'set', key };
}

/**
 * How the agent reads `self.<holder>.<name>` (or the key `name` of it): what the base is given and the normalised
 * spellings of its binds. Every read spelled alike, or subscripts beside `.get()` with one default (the same value
 * whenever the key is there): the `.get()` is what the base is given then, so it never fails where the agent did not.
 * Null when two reads fall back to different defaults (not one port).
 */
function spellings(agent: AgentModel, holder: string, name: string): { value: string; forms: Set<string>; read: SyntaxNode } | null {
  const texts = new Map<string, SyntaxNode>();
  const gets = new Map<string, SyntaxNode>();
  for (const m of agent.methods.values()) {
    walkTypes(m.body, KEY_READS, (n) => {
      const r = keyRead(n, name);
      const text = r && r.kind !== 'set' && selfAttribute(r.object) === holder ? oneLine(n) : null;
      if (text === null) return;
      const form = normPort(text);
      if (!texts.has(form)) texts.set(form, n);
      if (r!.kind === 'get' && !gets.has(form)) gets.set(form, n);
    });
  }
  if (!texts.size || gets.size > 1) return null;
  // One option read from two sections (`getint("ledger", "port")`, `getint("upstream", "port")`): not one port.
  if (texts.size > 1 && [...texts.values()].some((n) => keyRead(n)?.kind === 'option')) return null;
  const read = gets.size ? [...gets.values()][0]! : [...texts.values()][0]!;
  return { value: oneLine(read)!, forms: new Set(texts.keys()), read };
}

/** Does the agent bind `self.<holder>.<name>` (or its key) as a port (boundPort: a server's address, a socket's bind)? */
function listensOn(agent: AgentModel, holder: string, name: string): boolean {
  const reads = new Set<string>();
  const binds = new Set<string>();
  const servers = serverSubclasses(agent.cls.node.tree.rootNode);
  for (const m of agent.methods.values()) {
    walkTypes(m.body, KEY_READS, (n) => {
      const r = keyRead(n, name);
      const text = r && r.kind !== 'set' && selfAttribute(r.object) === holder ? oneLine(n) : null;
      if (text !== null) reads.add(normPort(text));
      const bound = n.type === 'call' ? boundPort(n, servers) : null;
      if (bound) binds.add(bound);
    });
  }
  return [...reads].some((r) => binds.has(r));
}

/** `super().__init__(...)` or `Parent.__init__(self, ...)` anywhere in the body. */
function callsParentInit(body: SyntaxNode): boolean {
  let found = false;
  walkTypes(body, CALLS, (n) => {
    if (found) return false;
    const fn = n.childForFieldName('function');
    if (fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === '__init__') found = true;
  });
  return found;
}

const LITERALS: ReadonlySet<string> = new Set(['true', 'false', 'none', 'integer', 'float', 'string']);

/**
 * `self.running = False`, `self.count = 0`, `self.items = {}`: a statement of __init__'s own block that sets one
 * attribute to a literal (no interpolation, nothing evaluated). It reads nothing and does nothing else, so
 * statements that never touch self may be run before it without changing what __init__ does.
 */
function literalSetter(st: SyntaxNode): boolean {
  const a = st.type === 'expression_statement' && st.namedChildCount === 1 ? st.namedChild(0) : null;
  if (a?.type !== 'assignment' || !selfAttribute(a.childForFieldName('left')!)) return false;
  let v = a.childForFieldName('right');
  if (v?.type === 'unary_operator' && v.namedChildCount === 1) v = v.namedChild(0);
  if (!v) return false;
  if (v.type === 'string') return !v.namedChildren.some((c) => c.type === 'interpolation');
  if (/^(list|dictionary|tuple|set)$/.test(v.type)) return v.namedChildren.every((c) => c.type === 'comment');
  return LITERALS.has(v.type);
}

/**
 * A literal setter the settings' set-up may be moved above: one whose attribute __init__ does not set again
 * after it. A placeholder (`self.port = None`, then `self.port = self.config["port"]`) is not: below a set-up
 * that carries the later line, it would overwrite the value.
 */
export function settingsGoAbove(agent: AgentModel, st: SyntaxNode): boolean {
  if (!literalSetter(st)) return false;
  const attr = agent.assignments.find((a) => a.stmt.id === st.id)?.attr;
  return !agent.assignments.some((a) => a.method === '__init__' && a.attr === attr && a.stmt.startIndex > st.startIndex);
}

function mentionsSelf(n: SyntaxNode): boolean {
  let found = false;
  walkTypes(n, IDENTIFIERS, (x) => {
    if (found) return false;
    if (x.text === 'self' || x.text === 'super') found = true;
  });
  return found;
}

/** `self.config["health_port"]`, `self.config.health_port`, `self.config.get("health_port"[, 7002 or DEFAULT])`, `self.config.getint("ledger", "health_port")`: nothing but the holder to evaluate. */
function plainRead(read: SyntaxNode): boolean {
  if (read.type !== 'call' || keyRead(read)?.kind === 'option') return true;
  const fallback = read.childForFieldName('arguments')?.namedChildren.filter((a) => a.type !== 'comment')[1];
  return !fallback || fallback.type === 'integer' || (fallback.type === 'identifier' && /^[A-Z_][A-Z0-9_]*$/.test(fallback.text));
}

/** A parameter, a literal mapping, a call (`load_config()`, `Settings()`), or a fallback between them. */
function builtSettings(value: SyntaxNode, params: string[]): boolean {
  if (value.type === 'identifier') return params.includes(value.text);
  if (value.type === 'dictionary' || value.type === 'call') return true;
  const alts = fallbackAlternatives(value);
  return !!alts?.length && alts.every((n) => !!n && builtSettings(n, params));
}

/** `self.<holder>.update(...)` (any in-place change of a mapping: clear, pop, setdefault, del) after `stmt`, or in another method. */
function changedAfter(agent: AgentModel, holder: string, stmt: SyntaxNode): boolean {
  let changed = false;
  for (const m of agent.methods.values()) {
    walkTypes(m.body, CHANGES, (n) => {
      if (changed || (m.name === '__init__' && n.startIndex < stmt.endIndex)) return;
      const fn = n.type === 'call' ? n.childForFieldName('function') : null;
      const obj = fn?.type === 'attribute' && /^(update|clear|pop|popitem|setdefault)$/.test(fn.childForFieldName('attribute')!.text) ? fn.childForFieldName('object') : null;
      const del = n.type === 'delete_statement' && n.namedChildren.some((x) => x.type === 'subscript' && selfAttribute(x.childForFieldName('value')!) === holder);
      if (del || (obj && selfAttribute(obj) === holder)) changed = true;
    });
  }
  return changed;
}
