// The port numbers an agent binds when started with no arguments: what its code
// falls back to. Read from the tree, never by running it: a parameter's default, a
// module constant, `port or 5570`, `x if x is not None else 5570`,
// `int(os.environ.get("AGENT_PORT", 7301))`, a helper called with one default
// (`env_port(port, "AGENT_PORT", DEFAULT_PORT)`), and sums of those (`self.port + 1`).
// Unknown stays unknown (null): callers compare only what the code proves.
import type { SyntaxNode } from '../lang/python/parser.js';
import { functionModel, type ModuleModel, type PyClass, type PyFunction } from '../lang/python/module-model.js';
import { callee, lineOf, selfAttribute, statements, stringValue } from '../lang/python/syntax.js';
import { CALL_NODES, walkAgentCode, type AgentModel } from './agent-model.js';
import { boundPort } from './ports.js';

export interface PortScope {
  agent: AgentModel;
  module: ModuleModel;
}

const MAX_DEPTH = 8;
const ENV_GET = /(^|\.)(environ\.get|getenv)$/;

/** The default value of an expression node, or null when the code does not fix it. */
export function defaultValue(scope: PortScope, node: SyntaxNode | null | undefined, depth = 0): number | null {
  if (!node || depth > MAX_DEPTH) return null;
  const next = (n: SyntaxNode | null | undefined) => defaultValue(scope, n, depth + 1);
  switch (node.type) {
    case 'integer': {
      const n = Number(node.text.replace(/_/g, ''));
      return Number.isSafeInteger(n) ? n : null;
    }
    case 'string': {
      const s = stringValue(node);
      return s !== null && /^\s*\d+\s*$/.test(s) ? Number(s) : null;
    }
    case 'parenthesized_expression':
      return next(node.namedChild(0));
    case 'binary_operator': {
      const op = node.childForFieldName('operator')?.text;
      const a = next(node.childForFieldName('left'));
      const b = next(node.childForFieldName('right'));
      if (a === null || b === null) return null;
      return op === '+' ? a + b : op === '-' ? a - b : null;
    }
    case 'boolean_operator': {
      // `port or 5570`: the left side when it has a value by default, else the right.
      if (node.childForFieldName('operator')?.text !== 'or') return null;
      return next(node.childForFieldName('left')) ?? next(node.childForFieldName('right'));
    }
    case 'conditional_expression': {
      // `port if port is not None else 5570` / `5570 if port is None else port`.
      const [a, , b] = node.namedChildren;
      return next(a) ?? next(b);
    }
    case 'subscript': {
      // `self.config["health_port"]` of `self.config = config or {"health_port": 7711}`: the literal's value.
      const key = node.childForFieldName('subscript');
      const k = key ? stringValue(key) : null;
      const dict = k === null ? null : dictOf(scope, node.childForFieldName('value'), depth + 1);
      return dict ? next(pairValue(dict, k!)) : null;
    }
    case 'call': {
      // `self.config.get("health_port", 7711)`: the literal's value for the key, else the fallback.
      const fn = node.childForFieldName('function');
      const args = (node.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
      const k = fn?.type === 'attribute' && fn.childForFieldName('attribute')!.text === 'get' && args.length <= 2 && args[0] ? stringValue(args[0]) : null;
      if (k !== null && args.every((a) => a.type !== 'keyword_argument' && !a.type.endsWith('splat'))) {
        const dict = dictOf(scope, fn!.childForFieldName('object'), depth + 1);
        if (dict) return dictHas(dict, k) ? next(pairValue(dict, k)) : next(args[1]);
      }
      return callDefault(scope, node, depth);
    }
    case 'identifier':
      return nameDefault(scope, node.text, depth);
    case 'attribute': {
      const attr = selfAttribute(node);
      if (attr) return attributeDefault(scope, attr, depth);
      // `self.config.api_port` / `config.api_port`: a field of a settings object the agent builds.
      const inst = instanceOf(scope, node.childForFieldName('object'), depth + 1);
      const name = node.childForFieldName('attribute')?.text;
      return inst && name ? next(memberValue(inst, name)) : null;
    }
    default:
      return null;
  }
}

function callDefault(scope: PortScope, call: SyntaxNode, depth: number): number | null {
  const fn = callee(call) ?? '';
  const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
  const value = (a: SyntaxNode) => defaultValue(scope, a.type === 'keyword_argument' ? a.childForFieldName('value') : a, depth + 1);
  if (/^(int|str|float)$/.test(fn)) return args[0] ? value(args[0]) : null;
  if (ENV_GET.test(fn)) return args[1] ? value(args[1]) : null;
  // A helper given the parameter and one fallback: the fallback is the default.
  const known = args.map(value).filter((v): v is number => v !== null);
  return known.length === 1 ? known[0]! : null;
}

function nameDefault(scope: PortScope, name: string, depth: number): number | null {
  const init = scope.agent.methods.get('__init__');
  const param = init?.params.find((p) => p.name === name);
  if (param?.default) {
    const v = defaultValue(scope, param.default, depth + 1);
    if (v !== null) return v;
  }
  const constant = moduleConstants(scope.module).get(name);
  if (constant && !param) return defaultValue(scope, constant, depth + 1);
  return null;
}

/**
 * What a value falling back through `(x)`, `x or y`, `x if cond else y` reads as: the first of those
 * expressions `read` gives a value for (null if none); undefined for any other node. `and` is no fallback.
 */
function fallback<T>(node: SyntaxNode, read: (n: SyntaxNode | null) => T | null): T | null | undefined {
  const alts = fallbackAlternatives(node);
  if (!alts) return undefined;
  for (const n of alts) {
    const v = read(n);
    if (v !== null) return v;
  }
  return null;
}

/** The values `(x)`, `x or y`, `x if cond else y` fall back between (none for `and`); null for any other node. */
export function fallbackAlternatives(node: SyntaxNode): Array<SyntaxNode | null> | null {
  return node.type === 'parenthesized_expression' ? [node.namedChild(0)]
    : node.type === 'boolean_operator' ? (node.childForFieldName('operator')?.text === 'or' ? [node.childForFieldName('left'), node.childForFieldName('right')] : [])
      : node.type === 'conditional_expression' ? [node.namedChildren[0] ?? null, node.namedChildren[2] ?? null]
        : null;
}

/** An object of a class of the module, and the call that built it (its keyword arguments win over the class's defaults). */
interface Instance {
  cls: PyClass;
  call: SyntaxNode | null;
}

/**
 * The instance of a module class an expression stands for by default: `CacheConfig()`,
 * `config or CacheConfig()`, `self.config` (so built in __init__), a local or module constant so built.
 */
function instanceOf(scope: PortScope, node: SyntaxNode | null | undefined, depth: number): Instance | null {
  if (!node || depth > MAX_DEPTH) return null;
  const next = (n: SyntaxNode | null | undefined) => instanceOf(scope, n, depth + 1);
  const fell = fallback(node, next);
  if (fell !== undefined) return fell;
  switch (node.type) {
    case 'call': {
      const fn = node.childForFieldName('function');
      const cls = fn?.type === 'identifier' ? scope.module.classes.find((c) => c.name === fn.text) : undefined;
      if (cls) return { cls, call: node };
      // `load_config()`: a module function without parameters whose body is a plain return of one.
      const factory = fn?.type === 'identifier' ? scope.module.functions.get(fn.text) : undefined;
      const given = (node.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
      return factory && !given.length ? next(plainReturn(factory)) : null;
    }
    case 'identifier':
      return instanceNamed(scope, node.text, depth);
    case 'attribute': {
      const attr = selfAttribute(node);
      if (attr) {
        for (const a of scope.agent.assignments) {
          if (a.method !== '__init__' || a.attr !== attr) continue;
          const inst = next(a.value);
          if (inst) return inst;
        }
        return null;
      }
      const outer = next(node.childForFieldName('object'));
      const name = node.childForFieldName('attribute')?.text;
      return outer && name ? next(memberValue(outer, name)) : null;
    }
    default:
      return null;
  }
}

/**
 * The dict literal a mapping expression stands for by default: `{"port": 7710, ...}`, `config or {...}`,
 * `dict(DEFAULTS)`, a parameter's default, a local of __init__ or a module constant so built, `self.config` so
 * assigned in __init__. Null when any key of it is not a plain string (a splat, a computed key): not read.
 */
function dictOf(scope: PortScope, node: SyntaxNode | null | undefined, depth: number): SyntaxNode | null {
  if (!node || depth > MAX_DEPTH) return null;
  const fell = fallback(node, (n) => dictOf(scope, n, depth + 1));
  if (fell !== undefined) return fell;
  switch (node.type) {
    case 'dictionary':
      return node.namedChildren.every((p) => p.type === 'comment' || (p.type === 'pair' && stringValue(p.childForFieldName('key')!) !== null)) ? node : null;
    case 'call': {
      // `dict(DEFAULTS)` (a copy): the same keys; with keywords or more it is another mapping.
      const args = (node.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
      return callee(node) === 'dict' && args.length === 1 && args[0]!.type !== 'keyword_argument' ? dictOf(scope, args[0], depth + 1) : null;
    }
    case 'identifier':
      return dictNamed(scope, node.text, depth);
    case 'attribute': {
      const attr = selfAttribute(node);
      return attr ? dictAttribute(scope, attr, depth) : null;
    }
    default:
      return null;
  }
}

/** `self.<attr>` as first assigned in __init__, as a dict literal (dictOf). */
function dictAttribute(scope: PortScope, attr: string, depth: number): SyntaxNode | null {
  const a = scope.agent.assignments.find((x) => x.method === '__init__' && x.attr === attr && x.value);
  return a ? dictOf(scope, a.value, depth + 1) : null;
}

/** A name of __init__ (a parameter's default, a local) or a module constant, as a dict literal (dictOf). */
function dictNamed(scope: PortScope, name: string, depth: number): SyntaxNode | null {
  const init = scope.agent.methods.get('__init__');
  const param = init?.params.find((p) => p.name === name);
  if (param) return dictOf(scope, param.default, depth + 1);
  for (const st of init ? statements(init.body) : []) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type === 'identifier' && left.text === name) return dictOf(scope, a!.childForFieldName('right'), depth + 1);
  }
  return dictOf(scope, moduleConstants(scope.module).get(name), depth + 1);
}

function dictHas(dict: SyntaxNode, key: string): boolean {
  return dict.namedChildren.some((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === key);
}

/** The value of `key` in a dict literal (the last pair wins, as in Python). */
function pairValue(dict: SyntaxNode, key: string): SyntaxNode | null {
  const pairs = dict.namedChildren.filter((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === key);
  return pairs.length ? pairs[pairs.length - 1]!.childForFieldName('value') : null;
}

/**
 * What a function without parameters, decorators or async returns when its body (a docstring aside) is a
 * single return statement; null otherwise (its locals, its branches are not read).
 */
function plainReturn(fn: PyFunction): SyntaxNode | null {
  return fn.params.length || fn.decorators.length || fn.isAsync ? null : singleReturn(fn);
}

/** The expression a function's body returns when it is (a docstring aside) one return statement. */
function singleReturn(fn: PyFunction): SyntaxNode | null {
  const body = statements(fn.body).filter((s) => !(s.type === 'expression_statement' && s.namedChild(0)?.type === 'string'));
  return body.length === 1 && body[0]!.type === 'return_statement' ? body[0]!.namedChild(0) : null;
}

/** A name in __init__ (a parameter's default, a local assigned there) or a module constant, standing for an instance. */
function instanceNamed(scope: PortScope, name: string, depth: number): Instance | null {
  const init = scope.agent.methods.get('__init__');
  const param = init?.params.find((p) => p.name === name);
  if (param) return param.default ? instanceOf(scope, param.default, depth + 1) : null;
  if (init) {
    for (const s of statements(init.body)) {
      const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
      const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
      if (left?.type === 'identifier' && left.text === name) return instanceOf(scope, a!.childForFieldName('right'), depth + 1);
    }
  }
  const constant = moduleConstants(scope.module).get(name);
  return constant ? instanceOf(scope, constant, depth + 1) : null;
}

/**
 * The expression a member of an instance holds by default: the keyword the constructing call gives it,
 * else the class's own default (`api_port: int = 7641` in a dataclass or a plain class body, `field(default=...)`),
 * else what its __init__ assigns `self.<name>` from (a parameter: the call's argument or the parameter's default).
 */
function memberValue(inst: Instance, name: string): SyntaxNode | null {
  const args = (inst.call?.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'comment');
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === name);
  if (kw) return kw.childForFieldName('value');
  const body = inst.cls.node.childForFieldName('body');
  let init: SyntaxNode | null = null;
  for (const s of body ? statements(body) : []) {
    const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
    if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === '__init__') init = def;
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type === 'identifier' && left.text === name) {
      const right = a!.childForFieldName('right');
      if (right) return right;
    }
  }
  if (!init) return null;
  const params = functionModel(init).params.filter((p) => p.kind === 'plain' || p.kind === 'default').slice(1);
  for (const s of statements(init.childForFieldName('body')!)) {
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (!left || selfAttribute(left) !== name) continue;
    const right = a!.childForFieldName('right');
    if (right?.type !== 'identifier') return right;
    const i = params.findIndex((p) => p.name === right.text);
    if (i < 0) return null;
    const given = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === right.text) ??
      (args.some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat') ? undefined : args.filter((a) => a.type !== 'keyword_argument')[i]);
    if (given) return given.type === 'keyword_argument' ? given.childForFieldName('value') : given;
    return params[i]!.default ?? null;
  }
  return null;
}

/** The first value `self.<attr>` gets in __init__ that the code fixes. */
function attributeDefault(scope: PortScope, attr: string, depth: number): number | null {
  for (const a of scope.agent.assignments) {
    if (a.method !== '__init__' || a.attr !== attr || !a.value) continue;
    const v = defaultValue(scope, a.value, depth + 1);
    if (v !== null) return v;
  }
  // `@property def health_port(self): return int(self._cfg.get("health_port", self.port + 1))`: what it returns.
  const getter = propertyReturn(scope.agent, attr);
  return getter ? defaultValue(scope, getter, depth + 1) : null;
}

/** The expression a read-only property of the agent returns (its whole getter), else null. */
export function propertyReturn(agent: AgentModel, name: string): SyntaxNode | null {
  const fn = agent.methods.get(name);
  if (!fn?.decorators.includes('property') || agent.assignments.some((a) => a.attr === name)) return null;
  return singleReturn(fn);
}

const constantsCache = new WeakMap<ModuleModel, Map<string, SyntaxNode>>();

/** `NAME = value` at module level (also inside top-level if/try blocks); the first one wins. */
function moduleConstants(module: ModuleModel): Map<string, SyntaxNode> {
  let out = constantsCache.get(module);
  if (out) return out;
  out = new Map();
  const visit = (block: SyntaxNode) => {
    for (const s of statements(block)) {
      if (s.type === 'expression_statement') {
        const a = s.namedChild(0);
        const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
        const right = a?.childForFieldName('right');
        if (left?.type === 'identifier' && right && !out!.has(left.text)) out!.set(left.text, right);
      } else if (s.type === 'if_statement' || s.type === 'try_statement') {
        for (const c of s.namedChildren) {
          if (c.type === 'block') visit(c);
          else for (const b of c.namedChildren) if (b.type === 'block') visit(b);
        }
      }
    }
  };
  visit(module.root);
  constantsCache.set(module, out);
  return out;
}

/**
 * The default of a normalised port expression as the port analysis writes it
 * (`port`, `port+1`, `zmq_port`: `self.` and parentheses already dropped).
 */
export function expressionDefault(scope: PortScope, expr: string): number | null {
  const e = expr.replace(/\s+/g, '');
  if (/^\d+$/.test(e)) return Number(e);
  const plus = /^(.+)\+(\d+)$/.exec(e);
  if (plus) {
    const b = expressionDefault(scope, plus[1]!);
    return b === null ? null : b + Number(plus[2]);
  }
  const orDefault = /(?:or|else)(\d+)$/.exec(e);
  if (orDefault) return Number(orDefault[1]);
  // `config["health_port"]` / `config.get"health_port",7711` (normPort drops `self.` and parentheses): read
  // from the tree again, as the subscript or call it was written as.
  const keyed = /^([A-Za-z_]\w*)(?:\[(["'])(\w+)\2\]|\.get(["'])(\w+)\4(?:,(.+))?)$/.exec(e);
  if (keyed) {
    const head = keyed[1]!;
    const dict = scope.agent.assignments.some((a) => a.method === '__init__' && a.attr === head) ? dictAttribute(scope, head, 0) : dictNamed(scope, head, 0);
    const key = keyed[3] ?? keyed[5]!;
    if (!dict) return null;
    if (dictHas(dict, key)) return defaultValue(scope, pairValue(dict, key), 1);
    return keyed[6] !== undefined ? expressionDefault(scope, keyed[6]) : null;
  }
  const dotted = /^([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)$/.exec(e);
  if (dotted) {
    // `config.api_port` (self. already dropped): the agent's attribute, else a name of __init__ or the module.
    const head = dotted[1]!;
    let inst: Instance | null = null;
    for (const a of scope.agent.assignments) if (!inst && a.method === '__init__' && a.attr === head) inst = instanceOf(scope, a.value, 1);
    inst ??= instanceNamed(scope, head, 0);
    const chain = dotted[2]!.slice(1).split('.');
    for (const [i, member] of chain.entries()) {
      if (!inst) return null;
      const value = memberValue(inst, member);
      if (i === chain.length - 1) return defaultValue(scope, value, 1);
      inst = instanceOf(scope, value, 1);
    }
    return null;
  }
  if (!/^[A-Za-z_]\w*$/.test(e)) return null;
  return nameDefault(scope, e, 0) ?? attributeDefault(scope, e, 0);
}

export interface PortDefault {
  value: number;
  /** The agent's name for it (`port`, `zmq_port`, `health_port`). */
  name: string;
  /** Line of the assignment or parameter that fixes it. */
  line: number;
}

export interface AgentPortDefaults {
  /** The request port the code uses when given none. */
  port: PortDefault | null;
  /** Its health port. */
  health: PortDefault | null;
  /** Every port a bind call in the agent's code reaches by default. */
  binds: Array<{ value: number; line: number }>;
}

/**
 * The ports an agent class listens on by default. `names` are the agent's possible names
 * for each role (the profile's pass-through lists: port, zmq_port, ...; health_check_port, health_port).
 */
export function agentPortDefaults(scope: PortScope, names: { port: string[]; health: string[] }): AgentPortDefaults {
  const role = (list: string[]) => roleDefault(scope, list);
  const binds: Array<{ value: number; line: number }> = [];
  for (const m of scope.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'call') return;
      const expr = boundPort(n);
      const value = expr ? expressionDefault(scope, expr) : null;
      if (value !== null) binds.push({ value, line: lineOf(n) });
    }, CALL_NODES);
  }
  return { port: role(names.port), health: role(names.health), binds };
}

/** The default of the first of `names` (an agent's names for one port role) that its `__init__` fixes: an attribute, else a parameter. */
export function roleDefault(scope: PortScope, names: string[]): PortDefault | null {
  for (const name of names) {
    const assigned = scope.agent.assignments.find((a) => a.method === '__init__' && a.attr === name && a.value);
    const v = attributeDefault(scope, name, 0);
    if (v !== null) return { value: v, name, line: assigned?.line ?? scope.agent.cls.line };
    const param = scope.agent.methods.get('__init__')?.params.find((p) => p.name === name);
    const pv = param?.default ? defaultValue(scope, param.default) : null;
    if (param && pv !== null) return { value: pv, name, line: lineOf(param.node) };
  }
  return null;
}
