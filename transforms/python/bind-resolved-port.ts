// Concern: a listener the agent keeps in its constructor that binds the constructor's port
// PARAMETER (`self.server.bind((host, port))`) after that parameter was handed to the base as
// `port`. The base resolves its port (AGENT_PORT when set, else what it was given) and registers
// that one; a bind of the parameter would listen elsewhere, and the registry would point at a port
// nobody serves. After the base's __init__ has run, self.port is the base's resolved port, and it
// is the parameter's own value when no AGENT_PORT is set (the base keeps what it is given), so
// the bind reads self.port. Only where the parameter is never re-bound in the constructor (then
// both are provably the same name for the same value) and the bind runs after the base's call.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { bindingsOf, callee, statements, walk } from '../../src/lang/python/syntax.js';
import { ASYNC_LISTENER, WSGI_SERVER, bindArgument, serverSubclasses } from '../../src/analysis/ports.js';

const label = 'bind-resolved-port';

export const bindResolvedPort: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const param = ctx.passThrough.get('port');
    const init = ctx.agent.methods.get('__init__');
    if (!param || !/^[A-Za-z_]\w*$/.test(param) || !init || !ctx.base.attributes.has('port')) return;
    // A parameter of the constructor, never re-bound in it (nor by a nested function's nonlocal).
    if (!bindingsOf(init.node, true).has(param) || bindingsOf(init.node, false).has(param)) return;
    if (new RegExp(`\\bnonlocal\\b[^\\n]*\\b${param}\\b`).test(init.body.text)) return;
    const after = baseCallAt(ctx, init.node);
    if (after === null) return;
    const servers = serverSubclasses(ctx.module.root);
    walk(init.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
      if (n.type !== 'call' || n.startIndex < after || isRemoved(ctx, n)) return;
      const port = portNode(n, servers);
      if (port?.type !== 'identifier' || port.text !== param || ctx.edits.touches(port.startIndex, port.endIndex)) return;
      ctx.edits.replace(port.startIndex, port.endIndex, 'self.port', label);
    });
  },
};

/**
 * Where the base's __init__ runs in the constructor: the call super-init wrote (or replaced in
 * place), else a call already there, a statement of the constructor's own body (never a branch).
 */
function baseCallAt(ctx: Parameters<PythonTransform['run']>[0], fn: SyntaxNode): number | null {
  const body = fn.childForFieldName('body')!;
  // (inserted at the start of a line: before the body's first statement's indentation)
  const written = ctx.edits.startsBy('super-init', /\bsuper\([^)]*\)\.__init__\(/).filter((at) => at > fn.childForFieldName('parameters')!.endIndex && at <= fn.endIndex);
  if (written.length) return Math.min(...written);
  for (const st of statements(body)) {
    const call = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (call?.type === 'call' && /^super\([^)]*\)\.__init__$/.test((call.childForFieldName('function')?.text ?? '').replace(/\s+/g, '')) && !isRemoved(ctx, st)) return st.endIndex;
  }
  return null;
}

/** The node a listening call takes its port from, when written apart: `(host, port)`, `f"tcp://*:{port}"`, asyncio's and wsgiref's port argument. */
function portNode(call: SyntaxNode, servers: ReturnType<typeof serverSubclasses>): SyntaxNode | null {
  const addr = bindArgument(call, servers);
  if (addr) {
    if (addr.type === 'tuple' && addr.namedChildren.length === 2) return addr.namedChildren[1]!;
    if (addr.type === 'string') {
      const parts = addr.namedChildren.filter((c) => c.type === 'interpolation');
      const text = addr.text;
      // tcp://*:{port} — the interpolation is the whole port, at the address's end.
      if (parts.length === 1 && /:\{[^{}]+\}["']$/.test(text)) return parts[0]!.namedChildren.find((c) => c.type !== 'comment') ?? null;
    }
    return null;
  }
  const fn = callee(call) ?? '';
  if (!ASYNC_LISTENER.test(fn) && !WSGI_SERVER.test(fn)) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (args[0]?.type === 'tuple' || /(^|\.)socket\.create_server$|^create_server$/.test(fn)) {
    return args[0]?.type === 'tuple' && args[0].namedChildren.length === 2 ? args[0].namedChildren[1]! : null;
  }
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'port');
  return kw ? kw.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[WSGI_SERVER.test(fn) ? 1 : 2] ?? null;
}
