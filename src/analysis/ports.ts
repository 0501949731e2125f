// Port expressions as written in bind calls, normalised so the agent's and the base's
// can be compared: `f"tcp://*:{self.port + 1}"`, `("0.0.0.0", self.port+1)` → "port+1".
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee, walkTypes } from '../lang/python/syntax.js';

const CALLS: ReadonlySet<string> = new Set(['call']);

export function normPort(s: string): string {
  return s.replace(/\s+/g, '').replace(/self\./g, '').replace(/[()]/g, '');
}

/** The port expression a bind argument names, or null when it cannot be read. */
export function portExpression(arg: string): string | null {
  const raw = rawPortExpression(arg);
  return raw === null ? null : normPort(raw);
}

/** The port expression of a bind argument as written (`f"tcp://*:{port or 5642}"` → `port or 5642`). */
export function rawPortExpression(arg: string): string | null {
  const f = /\{([^{}:]+)\}\s*["']\s*$/.exec(arg);
  if (f) return f[1]!;
  const pct = /["']\s*%\s*\(?\s*([^)]+?)\)?\s*$/.exec(arg);
  if (pct && /["']tcp:\/\//.test(arg)) return pct[1]!;
  const t = /^\(\s*[^,]+,\s*(.+)\)$/s.exec(arg.trim());
  if (t) return t[1]!;
  const c = /["']tcp:\/\/[^"']*:["']\s*\+\s*str\((.+)\)$/.exec(arg);
  if (c) return c[1]!;
  // "tcp://*:5624": a literal port in the address
  const lit = /^[rbuf]*["']tcp:\/\/[^"':]*:(\d+)["']$/i.exec(arg.trim());
  if (lit) return lit[1]!;
  return null;
}

/** Server classes of the standard library whose constructor binds the address it is given. */
const SERVER_CLASS = /(^|\.)(HTTPServer|ThreadingHTTPServer|TCPServer|ThreadingTCPServer|UDPServer|ThreadingUDPServer|ForkingTCPServer|UnixStreamServer)$/;

/**
 * How a server subclass with its own `__init__` takes its address: the parameter that reaches the
 * address it hands to the server base (`super().__init__((host, port), Handler)` or
 * `ThreadingHTTPServer.__init__(self, address, Handler)`), its position among the positional
 * parameters after `self`, and whether it is the whole address or only the port.
 */
export interface ServerAddressParam {
  param: string;
  index: number;
  address: boolean;
}

/** Server classes of a module, with the address parameter of those that define their own `__init__`. */
export class ServerClasses extends Set<string> {
  readonly addressParams = new Map<string, ServerAddressParam | null>();
}

/**
 * Classes of a module (or nested in its functions) that subclass a server class, directly or
 * through another such class: constructing one binds too (`_Server((host, port), Handler)`).
 * A subclass with its own `__init__` binds what that `__init__` hands to its server base
 * (`StatusServer(port, provider)` whose `__init__` calls `super().__init__(("127.0.0.1", port), H)`).
 */
export function serverSubclasses(root: SyntaxNode): ServerClasses {
  // Asked of the same module by half a dozen transforms in each rewrite (and again in the
  // idempotency pass), each a walk of the whole file: read once per node, since a tree never
  // changes. Callers only read the result.
  let known = serverClassesOf.get(root);
  if (!known) serverClassesOf.set(root, (known = readServerSubclasses(root)));
  return known;
}
const serverClassesOf = new WeakMap<SyntaxNode, ServerClasses>();

const CLASS: ReadonlySet<string> = new Set(['class_definition']);
function readServerSubclasses(root: SyntaxNode): ServerClasses {
  const bases = new Map<string, string[]>();
  const inits = new Map<string, SyntaxNode>();
  walkTypes(root, CLASS, (n) => {
    if (n.type !== 'class_definition') return;
    const name = n.childForFieldName('name')?.text;
    const sup = n.childForFieldName('superclasses');
    if (name && sup) bases.set(name, sup.namedChildren.filter((c) => c.type !== 'keyword_argument').map((c) => c.text.replace(/\s+/g, '')));
    for (const c of n.childForFieldName('body')?.namedChildren ?? []) {
      const def = c.type === 'decorated_definition' ? c.childForFieldName('definition') : c;
      if (name && def?.type === 'function_definition' && def.childForFieldName('name')?.text === '__init__') inits.set(name, def);
    }
  });
  const out = new ServerClasses();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, bs] of bases) {
      if (!out.has(name) && bs.some((b) => SERVER_CLASS.test(b) || out.has(b))) {
        out.add(name);
        changed = true;
      }
    }
  }
  for (const name of out) {
    const init = inits.get(name);
    if (init) out.addressParams.set(name, addressParam(init, bases.get(name) ?? []));
  }
  return out;
}

/** The `__init__` parameter that reaches the address handed to the server base, or null when none does. */
function addressParam(init: SyntaxNode, bases: string[]): ServerAddressParam | null {
  const params: string[] = [];
  for (const p of init.childForFieldName('parameters')?.namedChildren ?? []) {
    if (p.type === 'identifier') params.push(p.text);
    else if (p.type === 'default_parameter' || p.type === 'typed_parameter' || p.type === 'typed_default_parameter') {
      const id = p.childForFieldName('name') ?? p.namedChildren.find((c) => c.type === 'identifier');
      if (id) params.push(id.text);
    } else break; // *args, **kwargs, keyword-only marker: positions after it are not positional
  }
  const positional = params.slice(1); // after self
  let found: ServerAddressParam | null = null;
  walkTypes(init.childForFieldName('body')!, CALLS, (n) => {
    if (found) return;
    const fn = callee(n) ?? '';
    const explicit = bases.some((b) => fn === `${b}.__init__`);
    const superInit = /^super\([^)]*\)\.__init__$/.test((n.childForFieldName('function')?.text ?? '').replace(/\s+/g, ''));
    if (!explicit && !superInit) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const keyword = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'server_address');
    const addr = keyword ? keyword.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[explicit ? 1 : 0];
    if (!addr) return;
    if (addr.type === 'identifier' && positional.includes(addr.text)) {
      found = { param: addr.text, index: positional.indexOf(addr.text), address: true };
      return;
    }
    const port = portExpression(addr.text);
    if (port !== null && positional.includes(port)) found = { param: port, index: positional.indexOf(port), address: false };
  });
  return found;
}

/** No server classes (the default of boundPort and bindArgument: read only, one set for every call). */
const NO_SERVERS: ReadonlySet<string> = new Set();

/** The argument of a call to a server class that carries its address (or, for some subclasses, its port). */
function serverArgument(call: SyntaxNode, servers: ReadonlySet<string>): { arg: SyntaxNode; address: boolean } | null {
  const fn = callee(call) ?? '';
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const mapped = servers instanceof ServerClasses ? servers.addressParams.get(fn) : undefined;
  if (mapped === undefined) return args[0] ? { arg: args[0], address: true } : null;
  if (mapped === null) return null;
  const keyword = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === mapped.param);
  if (keyword) return { arg: keyword.childForFieldName('value')!, address: mapped.address };
  if (args.some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat')) return null;
  const positional = args.filter((a) => a.type !== 'keyword_argument');
  const arg = positional[mapped.index];
  return arg ? { arg, address: mapped.address } : null;
}

/** A call that binds a listening port, and the argument holding the address. */
export function bindArgument(call: SyntaxNode, servers: ReadonlySet<string> = NO_SERVERS): SyntaxNode | null {
  const fn = callee(call) ?? '';
  if (/\.bind$/.test(fn) || SERVER_CLASS.test(fn)) return call.childForFieldName('arguments')?.namedChild(0) ?? null;
  if (!servers.has(fn)) return null;
  const found = serverArgument(call, servers);
  return found?.address ? found.arg : null;
}

/**
 * Whether the port a call binds is an attribute of `self` (`("127.0.0.1", self.port)`, `self.port + 1`: true)
 * or a bare name (`port`: false), read from the bound port's node, however the call is laid out over lines;
 * null when the port is no such node (a literal, an f-string, asyncio's separate host and port).
 */
export function bindsSelfAttribute(call: SyntaxNode, servers: ReadonlySet<string> = NO_SERVERS): boolean | null {
  let port: SyntaxNode | null = null;
  const arg = bindArgument(call, servers);
  if (arg?.type === 'tuple') port = arg.namedChildren.filter((c) => c.type !== 'comment')[1] ?? null;
  else if (!arg && servers.has(callee(call) ?? '')) {
    const found = serverArgument(call, servers);
    if (found && !found.address) port = found.arg;
  }
  // `self.port + 1`, `(port)`, `port or 8080`: the name the offset or fallback is applied to
  while (port && /^(binary_operator|boolean_operator|parenthesized_expression)$/.test(port.type)) port = port.type === 'parenthesized_expression' ? port.namedChildren[0] ?? null : port.childForFieldName('left');
  if (port?.type === 'identifier') return false;
  if (port?.type === 'attribute' && port.childForFieldName('object')?.text === 'self') return true;
  return null;
}

/**
 * asyncio's listeners take host and port as separate arguments:
 * `asyncio.start_server(cb, host, port)`, `loop.create_server(factory, host, port)`.
 * (`socket.create_server((host, port))` takes an address, like a server class.)
 */
export const ASYNC_LISTENER = /(^|\.)(start_server|create_server)$/;

/** `wsgiref.simple_server.make_server(host, port, app)`. */
export const WSGI_SERVER = /(^|\.)(simple_server\.)?make_server$/;

/**
 * The port expression a call binds (normalised, see normPort), or null when it binds nothing
 * or its port cannot be read: `.bind(addr)`, a server class or subclass constructed on an
 * address, `socket.create_server(addr)`, and asyncio's `start_server`/`create_server`.
 */
export function boundPort(call: SyntaxNode, servers: ReadonlySet<string> = NO_SERVERS): string | null {
  // Asked of each call two or three times per rewrite (the port plan, remove-health, each helper's binds);
  // the answer depends on the node and the module's server classes only, neither of which changes.
  // Kept per tree and server set by node position: a weak entry per call cost the collector more than it saved.
  const { tree } = call;
  let bySet = boundPorts.get(tree);
  if (!bySet) boundPorts.set(tree, (bySet = new Map()));
  let known = bySet.get(servers);
  if (!known) bySet.set(servers, (known = new Array(tree.count)));
  let port = known[call.index];
  if (port === undefined) known[call.index] = port = readBoundPort(call, servers);
  return port;
}
const boundPorts = new WeakMap<SyntaxNode['tree'], Map<ReadonlySet<string>, Array<string | null | undefined>>>();

function readBoundPort(call: SyntaxNode, servers: ReadonlySet<string>): string | null {
  const arg = bindArgument(call, servers);
  if (arg) return portExpression(arg.text);
  const fn = callee(call) ?? '';
  // A server subclass whose own __init__ takes the port alone (`StatusServer(self.health_port, provider)`).
  if (servers.has(fn) && !SERVER_CLASS.test(fn)) {
    const found = serverArgument(call, servers);
    if (found && !found.address && /^(identifier|attribute|integer|binary_operator|parenthesized_expression)$/.test(found.arg.type)) return normPort(found.arg.text);
  }
  // wsgiref's `make_server(host, port, app)` binds host and port given apart.
  if (WSGI_SERVER.test(fn)) {
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    const keyword = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'port');
    const port = keyword ? keyword.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[1];
    return port && /^(identifier|attribute|integer|binary_operator|parenthesized_expression)$/.test(port.type) ? normPort(port.text) : null;
  }
  if (!ASYNC_LISTENER.test(fn)) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (/(^|\.)socket\.create_server$|^create_server$/.test(fn) || args[0]?.type === 'tuple') return args[0] ? portExpression(args[0].text) : null;
  const keyword = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'port');
  const port = keyword ? keyword.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[2];
  if (!port || !/^(identifier|attribute|integer|binary_operator|parenthesized_expression)$/.test(port.type)) return null;
  return normPort(port.text);
}

/** Port expressions an agent attribute is bound to: `self.<attr>.bind(...)` anywhere in the class. */
export function bindsOfAttribute(methods: Iterable<{ body: SyntaxNode }>, attr: string): Array<{ expr: string | null; line: number }> {
  const out: Array<{ expr: string | null; line: number }> = [];
  for (const m of methods) for (const b of selfBinds(m.body)) if (b.attr === attr) out.push({ expr: b.expr, line: b.line });
  return out;
}

/**
 * Every `self.<attr>.bind(...)` in a body, in order, found once per body: transforms ask
 * bindsOfAttribute for one attribute after another, and each asking walked every method.
 */
const bindsByBody = new WeakMap<SyntaxNode, Array<{ attr: string; expr: string | null; line: number }>>();
function selfBinds(body: SyntaxNode): Array<{ attr: string; expr: string | null; line: number }> {
  let found = bindsByBody.get(body);
  if (found) return found;
  const out: Array<{ attr: string; expr: string | null; line: number }> = [];
  walkTypes(body, CALLS, (n) => {
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'bind') return;
    const obj = fn.childForFieldName('object');
    if (obj?.type !== 'attribute' || obj.childForFieldName('object')?.text !== 'self') return;
    const attr = obj.childForFieldName('attribute')?.text;
    if (attr === undefined) return;
    const arg = n.childForFieldName('arguments')?.namedChild(0);
    out.push({ attr, expr: arg ? portExpression(arg.text) : null, line: n.startPosition.row + 1 });
  });
  bindsByBody.set(body, (found = out));
  return found;
}

/** The port roles of the base, in the agent's own names (from the profile's pass-through lists). */
export function portRoles(passThrough: Record<string, string[]>): { request: Set<string>; health: Set<string> } {
  const request = new Set(['port', ...(passThrough.port ?? [])].map(normPort));
  const health = new Set([...(passThrough.health_check_port ?? []), 'health_check_port'].map(normPort));
  for (const p of request) health.add(`${p}+1`);
  return { request, health };
}
