// Port expressions as written in bind calls, normalised so the agent's and the base's
// can be compared: `f"tcp://*:{self.port + 1}"`, `("0.0.0.0", self.port+1)` → "port+1".
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee, walk as walkNodes } from '../lang/python/syntax.js';

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
 * Classes of a module (or nested in its functions) that subclass a server class, directly or
 * through another such class: constructing one binds too (`_Server((host, port), Handler)`).
 */
export function serverSubclasses(root: SyntaxNode): Set<string> {
  const bases = new Map<string, string[]>();
  walkNodes(root, (n) => {
    if (n.type !== 'class_definition') return;
    const name = n.childForFieldName('name')?.text;
    const sup = n.childForFieldName('superclasses');
    if (name && sup) bases.set(name, sup.namedChildren.filter((c) => c.type !== 'keyword_argument').map((c) => c.text.replace(/\s+/g, '')));
  });
  const out = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, bs] of bases) {
      if (!out.has(name) && bs.some((b) => SERVER_CLASS.test(b) || out.has(b))) {
        out.add(name);
        changed = true;
      }
    }
  }
  return out;
}

/** A call that binds a listening port, and the argument holding the address. */
export function bindArgument(call: SyntaxNode, servers: Set<string> = new Set()): SyntaxNode | null {
  const fn = callee(call) ?? '';
  if (!/\.bind$/.test(fn) && !SERVER_CLASS.test(fn) && !servers.has(fn)) return null;
  return call.childForFieldName('arguments')?.namedChild(0) ?? null;
}

/**
 * asyncio's listeners take host and port as separate arguments:
 * `asyncio.start_server(cb, host, port)`, `loop.create_server(factory, host, port)`.
 * (`socket.create_server((host, port))` takes an address, like a server class.)
 */
const ASYNC_LISTENER = /(^|\.)(start_server|create_server)$/;

/** `wsgiref.simple_server.make_server(host, port, app)`. */
const WSGI_SERVER = /(^|\.)(simple_server\.)?make_server$/;

/**
 * The port expression a call binds (normalised, see normPort), or null when it binds nothing
 * or its port cannot be read: `.bind(addr)`, a server class or subclass constructed on an
 * address, `socket.create_server(addr)`, and asyncio's `start_server`/`create_server`.
 */
export function boundPort(call: SyntaxNode, servers: Set<string> = new Set()): string | null {
  const arg = bindArgument(call, servers);
  if (arg) return portExpression(arg.text);
  const fn = callee(call) ?? '';
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
  walkNodes(body, (n) => {
    if (n.type !== 'call') return;
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
