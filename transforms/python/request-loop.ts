// Concern: a legacy run() that receives on its request socket, dispatches and replies, when
// the base's own run() does exactly that on the socket it binds on the agent's port and hands
// each request to a hook (`handle_request` for BaseAgent). The agent's request socket merges
// into the base's (any attribute name; it bound the port the base is now given) and the loop's
// dispatch becomes the hook: the statements between receiving and replying, returning what was
// sent. Error replies and logging around it are what the base's loop does itself.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { withRenames } from '../../src/lang/python/transform-context.js';
import { callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { isLogCall, isTrivial } from '../../src/analysis/infra.js';
import { bindsOfAttribute, portRoles } from '../../src/analysis/ports.js';
import { valueType } from '../../src/analysis/value-type.js';
import { lineStart, renderBlock } from '../../src/lang/python/text.js';

interface RequestLoop {
  /** The agent's request socket attribute. */
  socket: string;
  /** The received request's name, the statements that answer it, and what is sent back. */
  request: string;
  dispatch: SyntaxNode[];
  reply: string;
  /** True when the dispatch is already the hook (`response = self.handle_request(request)`). */
  viaHook: boolean;
}

const found = new WeakMap<PythonTransformContext, RequestLoop>();

export const requestLoopPropose: PythonTransform = {
  name: 'request-loop-propose',
  phase: 'propose',
  run(ctx) {
    const base = ctx.base.requestLoop;
    const run = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
    if (!base || !run) return;
    const loop = analyse(ctx, run.body, base.hook);
    if (!loop) return;
    found.set(ctx, loop);
    if (loop.socket !== base.socket) {
      ctx.plan.proposeMember({
        name: loop.socket,
        kind: 'attribute',
        finding: 'socket',
        reason: `the agent's request socket: ${ctx.profile.base_class} binds its own on the same port and serves it from run()`,
        sharedWithBase: false,
      });
    }
    if (!loop.viaHook) {
      ctx.plan.proposeMember({
        name: run.name,
        kind: 'method',
        finding: 'loop',
        reason: `request loop: ${ctx.profile.base_class}.run() serves the socket and hands each request to ${base.hook}(), which now holds the dispatch`,
        condition: (scope) => (scope.removed.has(loop.socket) ? null : `its request socket self.${loop.socket} stays; kept`),
      });
    }
  },
};

export const requestLoop: PythonTransform = {
  name: 'request-loop',
  phase: 'edit',
  run(ctx) {
    const loop = found.get(ctx);
    const base = ctx.base.requestLoop;
    const run = ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run');
    if (!loop || !base || !run || loop.viaHook || !ctx.resolved?.members.has(run.name)) return;
    const src = ctx.source;
    const first = loop.dispatch[0];
    const body: string[] = [];
    if (first) {
      const from = lineStart(src, first.startIndex);
      const indent = src.slice(from, first.startIndex);
      const text = src.slice(from, loop.dispatch[loop.dispatch.length - 1]!.endIndex);
      for (const line of text.split(/\r?\n/)) body.push(line.startsWith(indent) ? `    ${toLogical(line.slice(indent.length), ctx.layout.unit)}` : line.trim() ? `    ${line.trim()}` : '');
    }
    body.push(`    return ${loop.reply}`);
    const block = withRenames(ctx, `def ${base.hook}(self, ${loop.request}):\n${body.join('\n')}\n`);
    const defIndent = src.slice(lineStart(src, run.outer.startIndex), run.outer.startIndex);
    // In place of run(): its comments stay above the hook.
    ctx.edits.insert(lineStart(src, run.outer.startIndex), renderBlock(block, defIndent, ctx.layout), 'request-loop');
    ctx.warnings.push(
      `${run.name}() served self.${loop.socket}; ${ctx.profile.base_class}.run() serves its own request socket on the same port and hands each request to ${base.hook}(), which now holds run()'s dispatch`,
    );
  },
};

/** Re-express leading indentation in 4-space logical units (renderBlock maps them back to the file's unit). */
function toLogical(line: string, unit: string): string {
  let depth = 0;
  let rest = line;
  while (unit && rest.startsWith(unit)) {
    depth++;
    rest = rest.slice(unit.length);
  }
  return '    '.repeat(depth) + rest;
}

/** The request loop of run(), when it is one the base's loop can take over; else null. */
function analyse(ctx: PythonTransformContext, body: SyntaxNode, hook: string): RequestLoop | null {
  let loop: SyntaxNode | null = null;
  for (const s of statements(body)) {
    if (isDocstring(s) || isTrivial(s)) continue;
    if (s.type === 'while_statement' && !loop) loop = s;
    else if (s.type === 'try_statement' && !loop) {
      const inner = statements(s.childForFieldName('body')).filter((x) => !isTrivial(x));
      if (inner.length !== 1 || inner[0]!.type !== 'while_statement') return null;
      loop = inner[0]!;
      // except KeyboardInterrupt: log / finally: teardown the base's run does itself
      for (const c of s.namedChildren) {
        if (c.type !== 'except_clause' && c.type !== 'finally_clause') continue;
        const block = c.namedChildren.find((x) => x.type === 'block');
        if (block && !statements(block).every((x) => isTrivial(x) || teardownCall(ctx, x))) return null;
      }
    } else return null;
  }
  if (!loop) return null;
  const cond = loop.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  if (!/^(True|1|self\.running|self\._running)$/.test(cond)) return null;
  let stmts = statements(loop.childForFieldName('body'));
  let handlers: SyntaxNode[] = [];
  const tries = stmts.filter((s) => s.type === 'try_statement');
  if (tries.length === 1) {
    if (stmts.some((s) => s.type !== 'try_statement' && !isTrivial(s))) return null;
    const t = tries[0]!;
    if (t.namedChildren.some((c) => c.type === 'else_clause' || c.type === 'finally_clause')) return null;
    handlers = t.namedChildren.filter((c) => c.type === 'except_clause');
    stmts = statements(t.childForFieldName('body'));
  } else if (tries.length > 1) return null;
  // receive ... dispatch ... reply
  const recvAt = stmts.findIndex((s) => receive(s) !== null);
  if (recvAt < 0) return null;
  const recv = receive(stmts[recvAt]!)!;
  let request = recv.name;
  let i = recvAt + 1;
  if (recv.raw) {
    // raw = self.socket.recv_string(); request = json.loads(raw)
    const decodeAt = stmts.findIndex((s, k) => k > recvAt && decoded(s, recv.name) !== null);
    if (decodeAt < 0 || stmts.slice(recvAt + 1, decodeAt).some((s) => !isTrivial(s))) return null;
    request = decoded(stmts[decodeAt]!, recv.name)!;
    i = decodeAt + 1;
  }
  const sendAt = stmts.findIndex((s, k) => k >= i && sent(s, recv.socket) !== null);
  if (sendAt < 0) return null;
  if (stmts.slice(0, recvAt).some((s) => !isTrivial(s)) || stmts.slice(sendAt + 1).some((s) => !isTrivial(s))) return null;
  const reply = sent(stmts[sendAt]!, recv.socket)!;
  const dispatch = stmts.slice(i, sendAt);
  // The dispatch must stand alone in a method: no loop control, nothing of the socket, no multi-line literal to re-indent.
  for (const d of dispatch) {
    let bad = false;
    walk(d, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (/^(break_statement|continue_statement|return_statement|yield)$/.test(n.type)) bad = true;
      if (selfAttribute(n) === recv.socket) bad = true;
      if (n.type === 'string' && n.text.includes('\n')) bad = true;
      if (n.type === 'identifier' && recv.raw && n.text === recv.name) bad = true;
    });
    if (bad) return null;
  }
  // Handlers: logging, sleeping, an error reply on the socket — the base's loop replies to errors itself.
  for (const h of handlers) {
    const block = h.namedChildren.find((x) => x.type === 'block');
    const ok = statements(block ?? null).every((s) => isTrivial(s) || s.type === 'continue_statement' || s.type === 'pass_statement' ||
      sent(s, recv.socket) !== null || (s.type === 'try_statement' && statements(s.childForFieldName('body')).every((x) => sent(x, recv.socket) !== null || isTrivial(x))));
    if (!ok) return null;
  }
  if (!isRequestSocket(ctx, recv.socket)) return null;
  const viaHook = dispatch.length === 1 && viaHookCall(dispatch[0]!, hook, request, reply);
  // Two dispatchers cannot share the hook's name.
  if (!viaHook && ctx.agent.methods.has(hook)) return null;
  return { socket: recv.socket, request, dispatch, reply, viaHook };
}

/** `request = self.<sock>.recv_json()` (decoded) or `raw = self.<sock>.recv_string()` (to decode). */
function receive(s: SyntaxNode): { socket: string; name: string; raw: boolean } | null {
  const e = expressionOf(s);
  if (e?.type !== 'assignment') return null;
  const left = e.childForFieldName('left');
  const right = e.childForFieldName('right');
  if (left?.type !== 'identifier' || !right) return null;
  const call = (n: SyntaxNode | null | undefined) => {
    if (n?.type !== 'call') return null;
    const fn = n.childForFieldName('function');
    const m = /^self\.(\w+)\.(recv_json|recv_string|recv)$/.exec(fn?.text ?? '');
    return m ? { socket: m[1]!, method: m[2]! } : null;
  };
  const direct = call(right);
  if (direct) return { socket: direct.socket, name: left.text, raw: direct.method !== 'recv_json' };
  // json.loads(self.socket.recv_string()) / json.loads(self.socket.recv().decode())
  if (right.type === 'call' && callee(right) === 'json.loads') {
    const arg = right.childForFieldName('arguments')?.namedChild(0);
    const inner = arg?.type === 'call' && /\.decode$/.test(callee(arg) ?? '') ? arg.childForFieldName('function')!.childForFieldName('object') : arg;
    const c = call(inner);
    if (c) return { socket: c.socket, name: left.text, raw: false };
  }
  return null;
}

/** `request = json.loads(raw)` (or `raw.decode()`): the decoded request's name. */
function decoded(s: SyntaxNode, raw: string): string | null {
  const e = expressionOf(s);
  if (e?.type !== 'assignment' || e.childForFieldName('left')?.type !== 'identifier') return null;
  const right = e.childForFieldName('right')!;
  const arg = right.type === 'call' && callee(right) === 'json.loads' ? right.childForFieldName('arguments')?.namedChild(0) : null;
  const text = arg?.text.replace(/\s+/g, '') ?? '';
  return text === raw || new RegExp(`^${raw}\\.decode\\(.*\\)$`).test(text) ? e.childForFieldName('left')!.text : null;
}

/** `self.<sock>.send_json(R)`, `send_string(json.dumps(R))`, `send(json.dumps(R).encode())`: R's text. */
function sent(s: SyntaxNode, socket: string): string | null {
  const e = expressionOf(s);
  if (e?.type !== 'call') return null;
  const fn = callee(e) ?? '';
  const arg = e.childForFieldName('arguments')?.namedChild(0);
  if (!arg) return null;
  if (fn === `self.${socket}.send_json`) return arg.text;
  const dumps = (n: SyntaxNode | null | undefined): string | null => {
    if (n?.type === 'call' && callee(n) === 'json.dumps') return n.childForFieldName('arguments')?.namedChild(0)?.text ?? null;
    if (n?.type === 'call' && /\.encode$/.test(callee(n) ?? '')) return dumps(n.childForFieldName('function')!.childForFieldName('object'));
    return null;
  };
  if (fn === `self.${socket}.send_string` || fn === `self.${socket}.send`) return dumps(arg);
  return null;
}

/** `response = self.handle_request(request)` with that response sent. */
function viaHookCall(s: SyntaxNode, hook: string, request: string, reply: string): boolean {
  const e = expressionOf(s);
  if (e?.type !== 'assignment') return false;
  return e.childForFieldName('left')?.text === reply && e.childForFieldName('right')?.text.replace(/\s+/g, '') === `self.${hook}(${request})`;
}

/** `self.cleanup()`, a log line: teardown the base's run loop ends with anyway. */
function teardownCall(ctx: PythonTransformContext, s: SyntaxNode): boolean {
  const e = expressionOf(s);
  if (e?.type !== 'call' || isLogCall(e)) return isLogCall(e);
  const m = selfAttribute(e.childForFieldName('function')!);
  return m !== null && ctx.base.shutdownCalls.has(m);
}

/** A REP socket of the agent bound on its port (the one the base is given). */
function isRequestSocket(ctx: PythonTransformContext, attr: string): boolean {
  const rep = ctx.agent.assignments.some((a) => a.attr === attr && a.value && valueType(a.value) === 'zmq socket (REP)');
  if (!rep) return false;
  const binds = bindsOfAttribute(ctx.agent.methods.values(), attr);
  if (binds.length !== 1 || binds[0]!.expr === null) return false;
  const expr = binds[0]!.expr;
  const roles = portRoles(ctx.py.super_call.pass_through ?? {});
  if (roles.request.has(expr)) return true;
  // The agent's only REP socket on a literal or module constant: super() is given that port.
  const reps = [...ctx.agent.attributes].filter((x) => ctx.agent.assignments.some((a) => a.attr === x && a.value && valueType(a.value) === 'zmq socket (REP)'));
  return reps.length === 1 && /^\d+$|^[A-Z_][A-Z0-9_]*$/.test(expr);
}
