// Ports an agent hands to other code of its own file, which binds them there: a module-level
// helper (`start_status_server(self, status_port)`), a helper class it builds and keeps
// (`self.board = StatusBoard(health_port, ...)` whose `start()` binds `self.port`), or an
// in-file parent whose `__init__` stores the port its methods bind
// (`super().__init__(name, interval, health_port)`). The agent's own methods show no bind for
// these, yet the port is bound all the same once the call runs.
import type { SyntaxNode } from '../lang/python/parser.js';
import { baseName, type ModuleModel, type PyClass, type PyFunction } from '../lang/python/module-model.js';
import { callee, selfAttribute, walkTypes } from '../lang/python/syntax.js';
import { boundPort, bindsSelfAttribute, type ServerClasses } from './ports.js';

/** A parameter (by name and position after `self`) whose value some code of the callee binds, plus an offset. */
export interface BoundParam {
  name: string;
  /** Position among the positional parameters (after `self` for methods), or -1 when keyword-only. */
  index: number;
  off: number;
  /** Where the bind is, for the message. */
  line: number;
  via: string;
}

/** The port (`name` or `name+N`) of a bind, as a name and an offset. */
// The node types the searches below read: the port plan asks for each call of the agent, so a helper's
// body is searched once per call of it; an untyped walk made a node object per node each time.
const CALLS: ReadonlySet<string> = new Set(['call']);
const ASSIGNMENTS: ReadonlySet<string> = new Set(['assignment']);

function split(expr: string): { name: string; off: number } | null {
  const m = /^([A-Za-z_]\w*)(?:\+(\d+))?$/.exec(expr);
  return m ? { name: m[1]!, off: Number(m[2] ?? 0) } : null;
}

function positional(fn: PyFunction, method: boolean): string[] {
  const out: string[] = [];
  for (const p of fn.params) {
    if (p.kind === 'args' || p.kind === 'kwargs' || p.kind === 'separator') break;
    out.push(p.name);
  }
  return method ? out.slice(1) : out;
}

/** Binds in a body (nested handler classes and closures included), but those the migration removes (`gone`). */
function bindsIn(body: SyntaxNode, servers: ServerClasses, gone?: (n: SyntaxNode) => boolean): Array<{ name: string; off: number; line: number; self: boolean }> {
  const out: Array<{ name: string; off: number; line: number; self: boolean }> = [];
  walkTypes(body, CALLS, (n) => {
    if (n.type !== 'call' || gone?.(n)) return;
    const expr = boundPort(n, servers);
    const s = expr ? split(expr) : null;
    // normPort reads `self.port` as `port`: which one was bound is read from the port's node (a call laid out
    // over lines, `HTTPServer(\n    ("127.0.0.1", self.port), Handler)`, has no port on its first line).
    if (s) out.push({ ...s, line: n.startPosition.row + 1, self: bindsSelfAttribute(n, servers) ?? new RegExp(`\\bself\\.${s.name}\\b`).test(n.text) });
  });
  return out;
}

/** Parameters of a module-level function that reach a bind in its body. */
export function functionBoundParams(fn: PyFunction, servers: ServerClasses): BoundParam[] {
  const params = positional(fn, false);
  const all = fn.params.map((p) => p.name);
  const out: BoundParam[] = [];
  for (const b of bindsIn(fn.body, servers)) {
    if (!all.includes(b.name) || b.name === 'self') continue;
    out.push({ name: b.name, index: params.indexOf(b.name), off: b.off, line: b.line, via: `${fn.name}()` });
  }
  return out;
}

/**
 * Parameters of a class's own helper method that reach a bind in its body (`def _listen(port): s.bind(("",
 * port))`, a staticmethod, or a method taking `self` first): `self.health_listener = self._listen(self.health_port)`
 * binds the health port as surely as a bind written in `__init__`. Only a bind of the bare parameter counts (a
 * method binding `self.port` binds its own attribute, which is no parameter even when one shares its name).
 */
export function methodBoundParams(fn: PyFunction, servers: ServerClasses, owner: string): BoundParam[] {
  const method = !fn.decorators.includes('staticmethod');
  const params = positional(fn, method);
  const out: BoundParam[] = [];
  for (const b of bindsIn(fn.body, servers)) {
    if (!params.includes(b.name) || b.self) continue;
    out.push({ name: b.name, index: params.indexOf(b.name), off: b.off, line: b.line, via: `${owner}.${fn.name}()` });
  }
  return out;
}

/**
 * Parameters of a class's `__init__` whose value one of its methods binds: directly in `__init__`,
 * or stored (`self.port = port`) and bound as `self.port` by a method that something calls.
 */
export function classBoundParams(cls: PyClass, servers: ServerClasses, module: ModuleModel, gone?: (n: SyntaxNode) => boolean, depth = 0): BoundParam[] {
  const init = cls.methods.get('__init__');
  // A parent of the same module binds what this class hands it (`super().__init__(port, ...)`, or no __init__ of its own).
  const parent = depth < 5 ? cls.bases.map((b) => baseName(b)).map((n) => module.classes.find((c) => c.name === n && c.node.id !== cls.node.id)).find((c) => c) : undefined;
  const inherited = parent ? classBoundParams(parent, servers, module, gone, depth + 1) : [];
  if (!init) return inherited;
  const params = positional(init, true);
  const all = init.params.map((p) => p.name).filter((n) => n !== 'self');
  // self.<attr> = <param> in __init__
  const stored = new Map<string, string>();
  walkTypes(init.body, ASSIGNMENTS, (n) => {
    if (n.type !== 'assignment') return;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const attr = left ? selfAttribute(left) : null;
    if (attr && right?.type === 'identifier' && all.includes(right.text)) stored.set(attr, right.text);
  });
  const out: BoundParam[] = [];
  for (const m of cls.methods.values()) {
    if (m.name !== '__init__' && !isCalled(m.name, module)) continue;
    for (const b of bindsIn(m.body, servers, gone)) {
      // normPort reads `self.port` as `port`: a stored attribute first, else (in __init__) the parameter itself.
      // Outside __init__ a bare name is that method's own (`def start(self, port)`), never what __init__ stored.
      const bare = !b.self;
      if (m.name !== '__init__' && bare) continue;
      const param = (m.name === '__init__' && bare ? undefined : stored.get(b.name)) ?? (m.name === '__init__' && all.includes(b.name) ? b.name : undefined);
      if (!param) continue;
      out.push({ name: param, index: params.indexOf(param), off: b.off, line: b.line, via: `${cls.name}.${m.name}()` });
    }
  }
  if (inherited.length) {
    walkTypes(init.body, CALLS, (n) => {
      if (n.type !== 'call') return;
      const fn = (n.childForFieldName('function')?.text ?? '').replace(/\s+/g, '');
      const skip = fn === `${parent!.name}.__init__` ? 1 : /^super\([^)]*\)\.__init__$/.test(fn) ? 0 : -1;
      if (skip < 0) return;
      for (const p of inherited) {
        const arg = argumentFor(n, p, skip);
        if (arg?.type === 'identifier' && all.includes(arg.text)) out.push({ ...p, name: arg.text, index: params.indexOf(arg.text) });
      }
    });
  }
  return out;
}

/** A method some code of the file calls (`x.start()`, `self.start_health()`, `target=self.serve`). */
function isCalled(name: string, module: ModuleModel): boolean {
  const re = new RegExp(`\\.${name}\\s*\\(|=\\s*self\\.${name}\\b`);
  return re.test(module.source);
}

/**
 * The argument a call gives a bound parameter (by keyword or position), or null when the call
 * passes it otherwise (`*args`, `**kwargs`) or not at all.
 */
export function argumentFor(call: SyntaxNode, p: BoundParam, skip = 0): SyntaxNode | null {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === p.name);
  if (kw) return kw.childForFieldName('value');
  if (p.index < 0) return null;
  const pos = args.filter((a) => a.type !== 'keyword_argument');
  const splat = pos.findIndex((a) => a.type === 'list_splat' || a.type === 'dictionary_splat');
  const i = p.index + skip;
  if (splat >= 0 && splat <= i) return null;
  return pos[i] ?? null;
}

export interface Handoff {
  call: SyntaxNode;
  arg: SyntaxNode;
  param: BoundParam;
}

/**
 * The bound parameters of each callee met by one search over many calls (each module with its own
 * server classes, one `gone`): the port plan asks for every call of the agent, and the body of a
 * helper called ten times was searched ten times. Callers only read the lists.
 */
export class HandoffMemo {
  /** By function or class; a class read with `gone` (the migration's removals left out) apart. */
  private readonly plain = new Map<PyFunction | PyClass, BoundParam[]>();
  private readonly withoutGone = new Map<PyClass, BoundParam[]>();

  of<K extends PyFunction | PyClass>(key: K, gone: boolean, read: () => BoundParam[]): BoundParam[] {
    const map = gone ? (this.withoutGone as Map<PyFunction | PyClass, BoundParam[]>) : this.plain;
    let hit = map.get(key);
    if (!hit) map.set(key, (hit = read()));
    return hit;
  }
}

/**
 * In-file code a call of the agent runs that binds a port the call hands it: the call, the argument
 * and the bound parameter. `parents` are the agent's in-file superclasses (for `super().__init__`).
 * `memo` keeps each callee's bound parameters across the calls of one search (same `gone`).
 */
export function portHandoffs(
  call: SyntaxNode,
  module: ModuleModel,
  servers: ServerClasses,
  parents: PyClass[],
  gone?: (n: SyntaxNode) => boolean,
  nameInModule?: string,
  memo: HandoffMemo = new HandoffMemo(),
): Handoff[] {
  // nameInModule: the callee's name inside `module` when the call reaches it through an import (`kit.Sidecar(...)`).
  const name = callee(call);
  const fn = nameInModule ?? name ?? '';
  // The callee's text is the function's, spaces dropped, whenever it is a name or an attribute.
  const text = name ?? (call.childForFieldName('function')?.text ?? '').replace(/\s+/g, '');
  let bound: BoundParam[] = [];
  let skip = 0;
  let own: { fn: PyFunction; cls: string } | null;
  const fnModel = module.functions.get(fn);
  const cls = module.classes.find((c) => c.name === fn);
  if (fnModel) bound = memo.of(fnModel, false, () => functionBoundParams(fnModel, servers));
  else if (cls && !servers.has(cls.name)) bound = memo.of(cls, !!gone, () => classBoundParams(cls, servers, module, gone));
  else if (cls && nameInModule !== undefined) {
    // A server subclass of another module whose own __init__ takes the port alone and hands `(host, port)` to the
    // server base (`StatusServer(self.health_port, provider)`, imported): it binds that port, as boundPort reads
    // a call of one defined in the agent's own file.
    const mapped = servers.addressParams.get(cls.name);
    const init = cls.methods.get('__init__');
    if (mapped && !mapped.address && init) bound = [{ name: mapped.param, index: mapped.index, off: 0, line: init.line, via: `${cls.name}.__init__` }];
  }
  else if (/^super\([^)]*\)\.__init__$/.test(text) && parents.length) bound = memo.of(parents[0]!, false, () => classBoundParams(parents[0]!, servers, module));
  else if ((own = ownMethod(call, module, text))) {
    const { fn: method, cls: owner } = own;
    bound = memo.of(method, false, () => methodBoundParams(method, servers, owner));
  } else {
    const explicit = parents.find((p) => text === `${p.name}.__init__`);
    if (explicit) {
      bound = memo.of(explicit, false, () => classBoundParams(explicit, servers, module));
      skip = 1; // Parent.__init__(self, ...)
    }
  }
  const out: Handoff[] = [];
  for (const p of bound) {
    const arg = argumentFor(call, p, skip);
    if (arg) out.push({ call, arg, param: p });
  }
  return out;
}

/**
 * The method of the calling class a call runs: `self.m(...)`, `type(self).m(...)` or `Cls.m(...)` made in a
 * method of class `Cls` of this module.
 */
function ownMethod(call: SyntaxNode, module: ModuleModel, text: string): { fn: PyFunction; cls: string } | null {
  const m = /^(self|type\(self\)|self\.__class__|\w+)\.(\w+)$/.exec(text);
  // Asked of nearly every call of every tree: no class of the module defining the method, no climb to the enclosing class.
  if (!m || !module.classes.some((c) => c.methods.has(m[2]!))) return null;
  let cls: SyntaxNode | null = call.parent;
  while (cls && cls.type !== 'class_definition') cls = cls.parent;
  const model = cls ? module.classes.find((c) => c.node.id === cls!.id) : undefined;
  if (!model || (m[1] !== 'self' && m[1] !== 'type(self)' && m[1] !== 'self.__class__' && m[1] !== model.name)) return null;
  const fn = model.methods.get(m[2]!);
  return fn ? { fn, cls: model.name } : null;
}
