// Concern: a listener the agent keeps that binds the constructor's port PARAMETER after that
// parameter was handed to the base as `port`. The base resolves its port (AGENT_PORT when set, else
// what it was given) and registers that one; a bind of the parameter would listen elsewhere, and the
// registry would point at a port nobody serves. After the base's __init__ has run, self.port is the
// base's resolved port, and it is the parameter's own value when no AGENT_PORT is set (the base
// keeps what it is given), so:
// - a bind in the constructor of `port` or a neighbour `port + k` reads self.port (`self.port + k`:
//   the legacy offset kept from the port the registry names, as the validator's port check and the
//   peers deriving neighbours from the registered port expect), and a log line there printing the
//   parameter prints self.port;
// - an attribute the constructor stores from the parameter after the base's call (`self._port =
//   port`, or a neighbour `self.admin_port = port + 2`), read by a bind anywhere in the class (start(),
//   a thread) and written nowhere else, is stored from self.port: its binds, its neighbours and its
//   log lines follow at once.
// Only where the parameter is never re-bound after the base's call (then both are provably the same
// name for the same value); one re-bound there while a bind reads it is a review item naming both lines.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { bindingsOf, callee, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { CALL_NODES, walkAgentCode } from '../../src/analysis/agent-model.js';
import { ASYNC_LISTENER, WSGI_SERVER, bindArgument, serverSubclasses } from '../../src/analysis/ports.js';

const label = 'bind-resolved-port';

export const bindResolvedPort: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const param = ctx.passThrough.get('port');
    const init = ctx.agent.methods.get('__init__');
    if (!param || !/^[A-Za-z_]\w*$/.test(param) || !init || !ctx.base.attributes.has('port')) return;
    if (!bindingsOf(init.node, true).has(param)) return;
    const after = baseCallAt(ctx, init.node);
    if (after === null) return;
    const servers = serverSubclasses(ctx.module.root);
    const own = (n: SyntaxNode) => n.startIndex >= after && !isRemoved(ctx, n);
    // The constructor's binds of the parameter (or a neighbour of it), and the attributes it stores the parameter in.
    const binds: SyntaxNode[] = [];
    walkInit(init.body, (n) => {
      if (n.type !== 'call' || !own(n)) return;
      const port = paramRead(portNode(n, servers), param);
      if (port) binds.push(port);
    });
    const stores = storedCopies(ctx, init.body, param, own);
    const bound = [...stores].filter(([attr]) => boundAttribute(ctx, attr, servers));
    if (!binds.length && !bound.length) return;
    const rebound = rebindings(init.body, param).find((n) => n.startIndex >= after) ??
      (new RegExp(`\\bnonlocal\\b[^\\n]*\\b${param}\\b`).test(init.body.text) ? init.node : null);
    if (rebound) {
      const use = binds[0] ?? bound[0]![1];
      keep(ctx, param, rebound.startPosition.row + 1,
        `the port parameter ${param} is re-bound at ${ctx.file}:${rebound.startPosition.row + 1} after super().__init__() took it as port, and ${ctx.file}:${use.startPosition.row + 1} listens on it: ` +
          `the base registers its resolved port (AGENT_PORT when set, else the value it was given), which this listener may not be on; bind self.port, or pass the final value to the base`);
      return;
    }
    for (const port of binds) edit(ctx, port);
    for (const [, value] of bound) edit(ctx, value);
    // The constructor's log lines naming the parameter name the port the agent now listens on.
    if (binds.length) {
      walkInit(init.body, (n) => {
        if (n.type !== 'call' || !own(n) || !LOG_CALL.test(callee(n) ?? '')) return;
        walkInit(n.childForFieldName('arguments')!, (x) => {
          if (x.type === 'identifier' && x.text === param && !isKeywordName(x)) edit(ctx, x);
        });
      });
    }
  },
};

const LOG_CALL = /^(print|(\w+\.)*(debug|info|warning|warn|error|critical|exception|log))$/;

function edit(ctx: Parameters<PythonTransform['run']>[0], port: SyntaxNode): void {
  if (!ctx.edits.touches(port.startIndex, port.endIndex)) ctx.edits.replace(port.startIndex, port.endIndex, 'self.port', label);
}

/** Walk constructor code that runs in it: not a nested def, lambda or class (their code runs elsewhere, or never). */
function walkInit(node: SyntaxNode, visit: (n: SyntaxNode) => void): void {
  walk(node, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    visit(n);
  });
}

function isKeywordName(x: SyntaxNode): boolean {
  return x.parent?.type === 'keyword_argument' && x.parent.childForFieldName('name')?.startIndex === x.startIndex;
}

/** The parameter as a port read: `port` itself, or the left of `port + k` / `port - k` (k not naming it). */
function paramRead(node: SyntaxNode | null, param: string): SyntaxNode | null {
  if (node?.type === 'identifier') return node.text === param ? node : null;
  if (node?.type === 'parenthesized_expression') return paramRead(node.namedChildren[0] ?? null, param);
  if (node?.type !== 'binary_operator' || !/^[+-]$/.test(node.childForFieldName('operator')?.text ?? '')) return null;
  const left = node.childForFieldName('left');
  const right = node.childForFieldName('right')!;
  return left?.type === 'identifier' && left.text === param && !new RegExp(`\\b${param}\\b`).test(right.text) ? left : null;
}

/** Where the parameter is assigned in the constructor's own code (an assignment, a loop or `with` target, a walrus). */
function rebindings(body: SyntaxNode, param: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const target = (t: SyntaxNode | null, at: SyntaxNode) => {
    if (t) walk(t, (x) => {
      if (x.type === 'attribute' || x.type === 'subscript') return false;
      if (x.type === 'identifier' && x.text === param) out.push(at);
    });
  };
  walkInit(body, (n) => {
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') target(n.childForFieldName('left'), n);
    else if (n.type === 'as_pattern') target(n.childForFieldName('alias'), n);
    else if (n.type === 'named_expression') target(n.childForFieldName('name'), n);
  });
  return out;
}

/**
 * Attributes the constructor stores the parameter (or a neighbour of it) in after the base's call
 * (`self._port = port`, `self.admin_port = port + 2`, a statement of its own body, never a branch),
 * written nowhere else in the file: attribute -> the parameter's read (the identifier).
 */
function storedCopies(ctx: Parameters<PythonTransform['run']>[0], body: SyntaxNode, param: string, own: (n: SyntaxNode) => boolean): Map<string, SyntaxNode> {
  const out = new Map<string, SyntaxNode>();
  for (const st of statements(body)) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (a?.type !== 'assignment' || !own(st)) continue;
    const left = a.childForFieldName('left');
    const attr = left ? selfAttribute(left) : null;
    const value = a.childForFieldName('right');
    // (a neighbour, `self.admin_port = port + 2`, is the legacy's offset from the agent's port: kept on self.port)
    const read = value ? paramRead(value, param) : null;
    if (!attr || attr === 'port' || ctx.base.attributes.has(attr) || !read) continue;
    if (ctx.agent.assignments.filter((x) => x.attr === attr).length !== 1) continue;
    // No other write of it in the file (another class's, the entry point's `agent._port = ...`).
    if ((ctx.source.match(new RegExp(`\\.${attr}\\s*(?:[-+*/|&]|//)?=(?!=)`, 'g')) ?? []).length !== 1) continue;
    out.set(attr, read);
  }
  return out;
}

/** True when a listening call of the agent's own code binds `self.<attr>` or a neighbour of it. */
function boundAttribute(ctx: Parameters<PythonTransform['run']>[0], attr: string, servers: ReturnType<typeof serverSubclasses>): boolean {
  let found = false;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (found || isRemoved(ctx, n)) return;
      let port = portNode(n, servers);
      if (port?.type === 'parenthesized_expression') port = port.namedChildren[0] ?? null;
      if (port?.type === 'binary_operator' && /^[+-]$/.test(port.childForFieldName('operator')?.text ?? '')) port = port.childForFieldName('left');
      if (port && selfAttribute(port) === attr) found = true;
    }, CALL_NODES);
  }
  return found;
}

/**
 * Where the base's __init__ runs in the constructor: the call super-init wrote (or replaced in
 * place), else a call already there, a statement of the constructor's own body (never a branch).
 */
export function baseCallAt(ctx: Parameters<PythonTransform['run']>[0], fn: SyntaxNode): number | null {
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
