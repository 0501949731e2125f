// Concern: ports. The base binds its own ports (learned from its bind calls: its request
// socket, its health port, its HTTP port, in terms of the `port` and `health_check_port` it is
// given); whatever socket or server stays in the agent must bind none of them. Before anything
// is written the plan proves it: a bind left in the agent on a port the base binds is a rewrite
// error naming the agent's line and the base's, never an "Address already in use" at run time.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';
import { CALL_NODES, walkAgentCode } from '../../src/analysis/agent-model.js';
import { selfRoot } from '../../src/analysis/infra.js';
import { callee, selfAttribute, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { healthHook, servesNoOtherPath } from './remove-health.js';
import { listenerFactory } from '../../src/analysis/listener-factory.js';
import { routeString } from '../../src/analysis/health-payload.js';
import { bindArgument, boundPort, normPort, rawPortExpression, serverSubclasses } from '../../src/analysis/ports.js';
import { defaultValue, expressionDefault, propertyReturn } from '../../src/analysis/port-defaults.js';
import { HandoffMemo, portHandoffs } from '../../src/analysis/port-handoff.js';
import { asLegacyRead } from './super-init.js';
import path from 'node:path';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { ImportedTarget } from '../../src/analysis/inherited.js';

type Role = { role: 'port' | 'health'; off: number };

export const portPlan: PythonTransform = {
  name: 'port-plan',
  phase: 'edit',
  run(ctx) {
    const basePorts = baseBinds(ctx);
    if (!basePorts.length) return;
    const servers = serverSubclasses(ctx.module.root);
    for (const m of ctx.agent.methods.values()) {
      walkAgentCode(m, (n) => {
        if (n.type !== 'call' || isRemoved(ctx, n)) return;
        const expr = boundPort(n, servers) ?? exporterPort(n);
        if (!expr) return;
        const clash = clashWith(ctx, expr, basePorts);
        if (!clash) return;
        const fn = n.childForFieldName('function')!;
        // A UDP socket shares no port with the base's TCP listeners (ZMQ tcp://, HTTP).
        if (isDatagram(ctx, fn)) return;
        const owner = fn.type === 'attribute' && selfRoot(fn) ? `self.${selfRoot(fn)}` : assignedTo(n) ?? (fn.text.replace(/\s+/g, '') || 'a socket');
        // Why it stays, when a transform proposed it and the plan kept it.
        const attr = (fn.type === 'attribute' ? selfRoot(fn) : null) ?? /^self\.(\w+)$/.exec(assignedTo(n) ?? '')?.[1];
        const stays = attr && ctx.resolved ? [...ctx.resolved.kept, ...ctx.resolved.notes].find((k) => k.symbol === attr) : undefined;
        // Why its set-up stays: a kept method it calls (the handler factory of a server that also serves business).
        const setup = attr ? ctx.agent.assignments.find((a) => a.attr === attr && a.stmt.startIndex <= n.startIndex && n.endIndex <= a.stmt.endIndex) : undefined;
        const calledKept = setup && ctx.resolved
          ? [...ctx.resolved.kept, ...ctx.resolved.notes].find((k) => k.symbol !== attr && ctx.agent.methods.has(k.symbol) && new RegExp(`\\bself\\.${k.symbol}\\(`).test(setup.stmt.text))
          : undefined;
        // A bind owned by no member (`asyncio.start_server(self._answer, host, port)` in a health thread's method):
        // the method it is in stays, and the handler it is given says why.
        const inKept = !stays && ctx.resolved ? [...ctx.resolved.kept, ...ctx.resolved.notes].find((k) => k.symbol === m.name) : undefined;
        const handlerKept = inKept && ctx.resolved
          ? ctx.resolved.kept.find((k) => k.symbol !== m.name && ctx.agent.methods.has(k.symbol) && new RegExp(`\\bself\\.${k.symbol}\\b`).test(n.text))
          : undefined;
        const why = calledKept ? `; ${calledKept.symbol}() stays: ${calledKept.reason}` : handlerKept ? `; ${handlerKept.symbol}() stays: ${handlerKept.reason}` : '';
        const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : `${ctx.profile.base_class} (profile base_binds)`;
        const callers = attr && stays ? callerWayForward(ctx, attr, clash) : '';
        // A mapping's key (`config["stats_port"]`) reads as written; a name as the port analysis spells it.
        const shown = /["']/.test(expr) ? rawPortOf(n, servers) ?? expr : expr.replace(/\+/g, ' + ');
        throw new MigrateError(
          `port plan: ${owner} binds ${shown}, which ${ctx.profile.base_class} also binds as its ${clash.label}` +
            `${clash.line ? ` (${baseFile}:${clash.line})` : ''}${defaultNote(clash)}; two sockets would bind one port, nothing written` +
            `${stays ? ` (${owner} stays: ${stays.reason}${why})` : inKept ? ` (${m.name}() stays: ${inKept.reason}${why})` : ''}${callers}` +
            wayForward(ctx, clash, servedPaths(ctx.module, n), exporterPort(n) !== null, false, !callers),
          ctx.file,
          n.startPosition.row + 1,
        );
      }, CALL_NODES);
    }
    handedPorts(ctx, basePorts, servers);
    inheritedBinds(ctx, basePorts);
  },
};

/**
 * A method of an in-repository parent in another file (a legacy mixin) that the agent still calls and that binds
 * one of the agent's ports: `self.start_health_server()` binding `self.health_port` there, kept because its
 * server answers more than health (a `/stats` route). It binds on the agent's `self`, so it is the same clash
 * as a bind written in the agent, one file away.
 */
function inheritedBinds(ctx: PythonTransformContext, basePorts: BasePort[]): void {
  for (const parent of ctx.inherited()) {
    if (parent.file === ctx.file) continue;
    const servers = serverSubclasses(parent.module.root);
    for (const m of ctx.agent.methods.values()) {
      walkAgentCode(m, (n) => {
        if (n.type !== 'call' || isRemoved(ctx, n)) return;
        const fn = n.childForFieldName('function');
        const name = fn?.type === 'attribute' && fn.childForFieldName('object')?.text === 'self' ? fn.childForFieldName('attribute')!.text : null;
        const method = name && !ctx.agent.methods.has(name) ? parent.cls.methods.get(name) : undefined;
        if (!method) return;
        const selfName = method.params[0]?.name ?? 'self';
        walkTypes(method.body, CALL_NODES, (b) => {
          if (b.type !== 'call') return;
          const raw = boundPort(b, servers) ? rawPortOf(b, servers) : null;
          // Only a bind of the agent's own attribute: a parameter's value is what the call hands it (handedPorts' concern).
          const attr = raw ? new RegExp(`^${selfName}\\.(\\w+)(\\s*\\+\\s*\\d+)?$`).exec(raw) : null;
          if (!attr) return;
          const expr = `${attr[1]}${attr[2] ? attr[2].replace(/\s+/g, '') : ''}`;
          const clash = clashWith(ctx, expr, basePorts);
          if (!clash) return;
          const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : `${ctx.profile.base_class} (profile base_binds)`;
          throw new MigrateError(
            `port plan: self.${name}() (${parent.cls.name}, ${parent.file}:${b.startPosition.row + 1}) binds self.${expr.replace(/\+/g, ' + ')}, ` +
              `which ${ctx.profile.base_class} also binds as its ${clash.label}${clash.line ? ` (${baseFile}:${clash.line})` : ''}${defaultNote(clash)}; ` +
              `two sockets would bind one port, nothing written${!servesNoOtherPath(method.body) ? ` (the server stays: it answers ${routesOf(method.body).join(', ')}, not only health)` : ''}` +
              wayForward(ctx, clash, routesOf(method.body), false),
            ctx.file,
            n.startPosition.row + 1,
          );
        });
      }, CALL_NODES);
    }
  }
}

/** The port expression of a bind call as written (`(self.health_host, self.health_port)` → `self.health_port`). */
function rawPortOf(call: SyntaxNode, servers: ReturnType<typeof serverSubclasses>): string | null {
  const arg = bindArgument(call, servers);
  return arg ? rawPortExpression(arg.text)?.trim() ?? null : null;
}

/** The request paths a server's method compares against (`self.path == "/stats"`). */
function routesOf(body: SyntaxNode): string[] {
  const out: string[] = [];
  walk(body, (n) => {
    const r = routeString(n);
    // A path, not a docstring or message that starts with one.
    if (r && /^\/[\w\-./{}:]*$/.test(r) && !out.includes(r)) out.push(r);
  });
  return out;
}

/**
 * A port the agent hands to other code of its file that binds it there (a module-level helper, a
 * helper class it builds, an in-file parent's `__init__`): the same clash, one call away.
 */
function handedPorts(ctx: PythonTransformContext, basePorts: BasePort[], servers: ReturnType<typeof serverSubclasses>): void {
  const baseNames = new Set(ctx.agent.cls.bases.map((b) => b.text.replace(/\s+/g, '')));
  const parents = ctx.module.classes.filter((c) => c.name !== ctx.agent.cls.name && baseNames.has(c.name));
  // One `gone` for the whole search (the removal is settled by now), so each callee's bound
  // parameters are read once for all its calls.
  const gone = (b: SyntaxNode) => isRemoved(ctx, b);
  const memo = new HandoffMemo();
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'call' || isRemoved(ctx, n)) return;
      let handoffs = portHandoffs(n, ctx.module, servers, parents, gone, undefined, memo);
      // A helper imported by name from another file of the repository (`from agents.lib.kit import HealthSidecar`):
      // the same bind, in that file.
      let where = '';
      const fnNode = n.childForFieldName('function');
      const t = !handoffs.length ? importedCallee(ctx, fnNode) : null;
      if (t) {
        handoffs = portHandoffs(n, t.module, serverSubclasses(t.module.root), [], undefined, t.name, memo);
        where = `${t.file}:`;
      }
      for (const h of handoffs) {
        if (bindNeverRuns(ctx, n, h.param.via)) continue;
        const arg = h.arg.text.replace(/\s+/g, '');
        const expr = `${arg.replace(/^self\./, '')}${h.param.off ? `+${h.param.off}` : ''}`;
        if (!/^[A-Za-z_]\w*(\+\d+)?$|^\d+(\+\d+)?$/.test(expr)) continue;
        const clash = clashWith(ctx, expr, basePorts);
        if (!clash) continue;
        const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : `${ctx.profile.base_class} (profile base_binds)`;
        const call = (n.childForFieldName('function')?.text ?? 'a call').replace(/\s+/g, '');
        const module = t ? t.module : ctx.module;
        const name = t ? t.name : (callee(n) ?? '').replace(/^(self|cls)\./, '');
        const definition = module.functions.get(name)?.node ?? module.classes.find((c) => c.name === name)?.node ?? (t ? undefined : ctx.agent.methods.get(name)?.node);
        throw new MigrateError(
          `port plan: ${call}(...) hands ${arg} to ${h.param.via}, which binds it (${where ? where : 'line '}${h.param.line}), ` +
            `and ${ctx.profile.base_class} also binds it as its ${clash.label}` +
            `${clash.line ? ` (${baseFile}:${clash.line})` : ''}${defaultNote(clash)}; two sockets would bind one port, nothing written` +
            (t ? '' : moreThanListener(ctx, name, servers)) +
            wayForward(ctx, clash, [...new Set([...(definition ? servedPaths(module, definition) : []), ...handedRoutes(n)])], false,
              !!definition && rawListener(definition), true, definition && getOnly(definition) ? handedRoutes(n, (v) => takesNoRequest(ctx, v)) : [], definition),
          ctx.file,
          n.startPosition.row + 1,
        );
      }
    }, CALL_NODES);
  }
}

/**
 * Why the agent's own listener helper was not followed to the health listener and removed with it: the first
 * statement of its body that does more than make the socket (starts a thread, serves clients).
 */
function moreThanListener(ctx: PythonTransformContext, name: string, servers: ReturnType<typeof serverSubclasses>): string {
  const fn = ctx.agent.methods.get(name);
  const made = fn ? listenerFactory(fn, servers, ctx.agent.cls.name) : null;
  if (!made || !('step' in made)) return '';
  const step = made.step.text.split('\n')[0]!.trim();
  return ` (${name}() does more than make the listener, so it is not the health listener alone: line ${made.step.startPosition.row + 1} \`${step}\`)`;
}

const ATTRIBUTES: ReadonlySet<string> = new Set(['attribute']);

/**
 * `self.board = StatusBoard(health_port, ...)` where the bind is in a method of the helper (`start()`) that the
 * helper never calls itself and nothing calls on this agent's instance any more (the agent's own call went, see
 * health-helper-object): the object is built, its server never started, so it binds nothing. Only when the agent
 * uses the attribute as `self.board.<member>` (never hands the object on) and no other file reaches that member.
 */
function bindNeverRuns(ctx: PythonTransformContext, call: SyntaxNode, via: string): boolean {
  const m = /^(\w+)\.(\w+)\(\)$/.exec(via);
  if (!m || m[2] === '__init__') return false;
  const method = m[2]!;
  if (/^super\([^)]*\)\.__init__$|^\w+\.__init__$/.test((call.childForFieldName('function')?.text ?? '').replace(/\s+/g, ''))) return parentMethodNeverRuns(ctx, m[1]!, method);
  const asg = call.parent;
  const attr = asg?.type === 'assignment' && asg.childForFieldName('right')?.id === call.id ? selfAttribute(asg.childForFieldName('left')!) : null;
  if (!attr) return false;
  const selfCall = new RegExp(`\\bself\\.${method}\\b`);
  const classes = new Set([m[1]!, callee(call) ?? '']);
  for (const c of ctx.module.classes) {
    if (classes.has(c.name) && [...c.methods.values()].some((f) => f.name !== method && selfCall.test(f.body.text))) return false;
  }
  let runs = false;
  for (const fn of ctx.agent.methods.values()) {
    walkAgentCode(fn, (a) => {
      if (runs || a.type !== 'attribute' || selfAttribute(a) !== attr || isRemoved(ctx, a)) return;
      const outer = a.parent;
      if (outer?.type === 'assignment' && outer.childForFieldName('left')?.id === a.id) return;
      // Handed on whole (`run(self.board)`), or the method named on it: it may run.
      if (outer?.type !== 'attribute' || outer.childForFieldName('object')?.id !== a.id || outer.childForFieldName('attribute')?.text === method) runs = true;
    }, ATTRIBUTES);
  }
  if (runs) return false;
  return !ctx.external(attr).some((u) => new RegExp(`\\.${attr}\\s*\\.\\s*${method}\\b`).test(u.text));
}

/**
 * An in-file parent's method binding the port the agent's `super().__init__(...)` stored (`PollingAgent.start_health()`):
 * it runs on the agent only when something calls it there. None does once the agent's own calls went (remove-health
 * moved the health server onto the base), no method of the parent or the agent calls it (nor hands it on as
 * `self.start_health`), and no other file reaches `.start_health` on an object.
 */
function parentMethodNeverRuns(ctx: PythonTransformContext, owner: string, method: string): boolean {
  const parent = ctx.module.classes.find((c) => c.name === owner);
  if (!parent || parent.name === ctx.agent.cls.name || ctx.agent.methods.has(method)) return false;
  const named = new RegExp(`\\bself\\.${method}\\b`);
  if ([...parent.methods.values()].some((f) => f.name !== method && named.test(f.body.text))) return false;
  let runs = false;
  for (const fn of ctx.agent.methods.values()) {
    walkAgentCode(fn, (a) => {
      if (!runs && a.type === 'attribute' && a.childForFieldName('attribute')?.text === method && !isRemoved(ctx, a)) runs = true;
    }, ATTRIBUTES);
  }
  if (runs || ctx.external(method).length) return false;
  // Other code of the file (the entry point, another class) naming it may call it on the agent: say it runs.
  const inside = (i: number) => [parent, ctx.agent.cls].some((c) => c.outer.startIndex <= i && i < c.outer.endIndex);
  return !ctx.refs.of(method).some((r) => !inside(r.start));
}

/**
 * The repository definition a call's callee names through an import: `Sidecar` from `from kit import Sidecar`,
 * or `kit.Sidecar` from `from pkg import kit` / `import pkg.kit as kit` (the module's own name for it).
 */
export function importedCallee(ctx: PythonTransformContext, fnNode: SyntaxNode | null): { module: ImportedTarget['module']; file: string; name: string } | null {
  if (fnNode?.type === 'identifier') {
    const t = ctx.imported(fnNode.text);
    return t?.name ? { module: t.module, file: t.file, name: t.name } : null;
  }
  const obj = fnNode?.type === 'attribute' ? fnNode.childForFieldName('object') : null;
  if (obj?.type !== 'identifier') return null;
  const t = ctx.imported(obj.text);
  return t && t.name === null ? { module: t.module, file: t.file, name: fnNode!.childForFieldName('attribute')!.text } : null;
}

/**
 * A server kept only for a caller in another file (`agent.server.shutdown()` in a script), on the port the
 * base's own health server now binds: what that line is in the base's API, so the refusal says how to go on.
 * Stopping the server is the base's stop() (it shuts the base's health server down and is idempotent);
 * reading its port is the base's health port attribute. The legacy class has neither, and the caller may
 * run the legacy agent until the _v2 replaces it, so the rewrite names the change and does not make it.
 */
function callerWayForward(ctx: PythonTransformContext, attr: string, clash: BasePort): string {
  const uses = ctx.external(attr);
  if (!uses.length) return '';
  const portAttr = clash.role.role === 'health' ? 'health_check_port' : 'port';
  const stop = ['stop', 'cleanup'].find((m) => ctx.base.methods.has(m));
  const ways = uses.map((u) => {
    const m = new RegExp(`(\\w+)\\.${attr}\\.(\\w+)`).exec(u.text);
    const obj = m?.[1] ?? 'agent';
    const member = m?.[2] ?? '';
    const to = /^(shutdown|server_close|close)$/.test(member) && stop
      ? `${obj}.${stop}() (${ctx.profile.base_class}.${stop}() shuts its health server down)`
      : /^(server_port|port)$/.test(member) && ctx.base.attributes.has(portAttr)
        ? `${obj}.${portAttr} (the port ${ctx.profile.base_class} serves /health on)`
        : null;
    return `${u.file}:${u.line} (${u.text}) is ${to ?? 'to be moved to the base\'s API'}`;
  });
  return `; on ${ctx.profile.base_class}, ${ways.join(', ')}, which the legacy class lacks: that caller moves with this agent (change it by hand in the commit that brings in the _v2, then run again)`;
}

/**
 * prometheus_client's `start_http_server(port, addr)` (also `start_wsgi_server`): a metrics
 * exporter the agent keeps binds its port (the first argument, or `port=`) like any server.
 */
function exporterPort(call: SyntaxNode): string | null {
  if (!/(^|\.)start_(http|wsgi)_server$/.test(callee(call) ?? '')) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'port');
  const port = kw ? kw.childForFieldName('value') : args.find((a) => a.type !== 'keyword_argument' && a.type !== 'comment');
  return port && /^(identifier|attribute|integer|binary_operator|parenthesized_expression)$/.test(port.type) ? normPort(port.text) : null;
}

/** `self.x.bind(...)` / `sock.bind(...)` on a socket created with SOCK_DGRAM. */
function isDatagram(ctx: PythonTransformContext, fn: import('../../src/lang/python/parser.js').SyntaxNode): boolean {
  if (fn.type !== 'attribute') return false;
  const obj = fn.childForFieldName('object')!;
  const attr = selfRoot(fn);
  if (attr && obj.text === `self.${attr}`) return ctx.agent.assignments.some((a) => a.attr === attr && /SOCK_DGRAM/.test(a.value?.text ?? ''));
  if (obj.type !== 'identifier') return false;
  // a local: its assignment in the same function
  for (let p = fn.parent; p; p = p.parent) {
    if (p.type !== 'function_definition') continue;
    return new RegExp(`\\b${obj.text}\\s*=\\s*[\\w.]*socket\\([^)]*SOCK_DGRAM`).test(p.text);
  }
  return false;
}

interface BasePort {
  role: Role;
  label: string;
  line?: number;
  /** Found by the defaults: the number both bind when the agent is started with no ports given. */
  byDefault?: number;
}

/**
 * The URL paths a server answers: those its code compares the request path with, in the node (a bind call, a
 * helper function or class) and in the classes of its module the node names (the handler class it is given).
 */
function servedPaths(module: PythonTransformContext['module'], node: SyntaxNode): string[] {
  const out = routesOf(node);
  const named = new Set<string>();
  walk(node, (x) => {
    if (x.type === 'identifier') named.add(x.text);
  });
  const add = (r: string) => {
    if (!out.includes(r)) out.push(r);
  };
  for (const c of module.classes) {
    if (!named.has(c.name) || (c.node.startIndex <= node.startIndex && node.endIndex <= c.node.endIndex)) continue;
    routesOf(c.node).forEach(add);
    // A path table of the module the handler reads (`PROBE_PATHS = ("/health", "/ready", "/live")`).
    walk(c.node, (x) => {
      if (x.type === 'identifier') named.add(x.text);
    });
  }
  for (const stmt of module.root.namedChildren) {
    const a = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type === 'identifier' && named.has(left.text)) routesOf(a!.childForFieldName('right') ?? left).forEach(add);
  }
  // A handler class defined in the method that builds the server (`class Handler(BaseHTTPRequestHandler):` then
  // `return ThreadingHTTPServer((host, self.port + 1), Handler)`): its paths are the server's as much as a module
  // class's are (probe-py72's LeaseElector was said to have "no health endpoint" while it answered /health there).
  let fn: SyntaxNode | null = node.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (fn) walk(fn, (x) => {
    if (x.type === 'class_definition' && named.has(x.childForFieldName('name')?.text ?? '') && !(x.startIndex <= node.startIndex && node.endIndex <= x.endIndex)) {
      routesOf(x).forEach(add);
      return false;
    }
  });
  return out;
}

/**
 * Paths the call hands the server itself: the string keys of a dict literal among its arguments
 * (`StatusServer(self.health_port, {"/health": self.health, "/workers": self.workers})`), which the server's own
 * code never spells (it looks the request path up in what it was given).
 */
function handedRoutes(call: SyntaxNode, value: (v: SyntaxNode | null) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const a of call.childForFieldName('arguments')?.namedChildren ?? []) {
    const v = a.type === 'keyword_argument' ? a.childForFieldName('value') : a;
    if (v?.type !== 'dictionary') continue;
    for (const pair of v.namedChildren) {
      const key = pair.type === 'pair' ? pair.childForFieldName('key') : null;
      const r = key ? routeString(key) : null;
      if (r && /^\/[\w\-./{}:]*$/.test(r) && !out.includes(r) && value(pair.childForFieldName('value'))) out.push(r);
    }
  }
  return out;
}

/** A route's callable that takes no request (what _extra_routes() calls): `self.<m>` of an agent method taking only self, or a lambda without parameters. */
function takesNoRequest(ctx: PythonTransformContext, v: SyntaxNode | null): boolean {
  if (v?.type === 'lambda') return !v.childForFieldName('parameters');
  const m = v?.type === 'attribute' && v.childForFieldName('object')?.text === 'self' ? ctx.agent.methods.get(v.childForFieldName('attribute')!.text) : undefined;
  return !!m && m.params.length === 1;
}

/**
 * A server definition whose handler answers as a health endpoint does: a 5xx status code it sends (`self.send_response(200
 * if fresh else 503)`, `send_error(503)`) and a "status" key in what it writes.
 */
function answersHealthByCode(definition: SyntaxNode): boolean {
  const text = definition.text;
  return /\bsend_(response|error)\s*\((?:[^()]|\([^()]*\))*\b5\d\d\b/.test(text) && /["']status["']\s*:/.test(text);
}

/** A server definition whose handlers answer GET only (a do_GET, no do_POST/PUT/DELETE/PATCH). */
function getOnly(definition: SyntaxNode): boolean {
  return /\bdef\s+do_GET\s*\(/.test(definition.text) && !/\bdef\s+do_(POST|PUT|DELETE|PATCH)\s*\(/.test(definition.text);
}

/** A helper that makes a plain TCP socket (`socket.socket(...)` then `.bind(...)`), no HTTP server. */
function rawListener(definition: SyntaxNode): boolean {
  return /\bsocket\s*\(/.test(definition.text) && /\.bind\s*\(/.test(definition.text) && !/HTTPServer|TCPServer|start_server|serve\(/.test(definition.text);
}

/**
 * What a person does about a clash the rewrite leaves alone, by its shape. The base took port + 1 because the
 * agent gives it no health port, and what binds there is no health server of the agent's (a /stats server, a
 * Prometheus exporter): the agent had no health port to hand the base, and choosing one is the fleet's call.
 * The server there answers /health and other paths: those paths are the agent's business, which the base's
 * server does not answer, so they move to a port of their own before the rewrite can leave /health to the base.
 */
function wayForward(ctx: PythonTransformContext, clash: BasePort, paths: string[], exporter: boolean, raw = false, healthOnlyStep = true, handed: string[] = [], definition?: SyntaxNode): string {
  const agent = ctx.agent.cls.name;
  const base = ctx.profile.base_class;
  const derived = clash.role.role === 'port' && clash.label.startsWith('health') && !ctx.passThrough.has('health_check_port');
  const health = paths.filter((p) => /^\/health\/?$/.test(p));
  const others = paths.filter((p) => !health.includes(p));
  if (derived && !health.length) {
    // Its one path answers health all the same (`200 if fresh else 503` with a "status" word): said as it is, not
    // as no health endpoint; the base's /health cannot take its place unseen (another path, its clients ask there).
    const answer = others.length === 1 && definition && answersHealthByCode(definition) ? others[0] : null;
    if (answer) {
      return `. ${agent}'s health answer is GET ${answer} on that server (a "status" and a 5xx code when not healthy), not GET /health, so the rewrite found no health port to give ${base}, ` +
        `which then takes port + 1, where that ${answer} server listens: give ${agent}.__init__ a health_check_port parameter defaulting to a port free in the fleet ` +
        `(the rewrite hands it to ${base}, and ${answer} stays where its clients ask), then run again`;
    }
    const what = exporter ? 'its metrics exporter' : others.length ? `its ${others.join(', ')} server` : 'that socket';
    return `. ${agent} had no health endpoint, so no health port to give ${base}, which then takes port + 1, where ${what} listens: ` +
      `give ${agent}.__init__ a health_check_port parameter defaulting to a port free in the fleet (the rewrite hands it to ${base}), then run again`;
  }
  // A plain TCP listener on the health port: its clients speak their own line protocol there, which the base's
  // HTTP server does not answer; they or the listener have to change, and which is the fleet's call.
  if (raw && clash.role.role === 'health' && !paths.length) {
    return `. What listens there is a plain socket whose clients speak their own protocol to it, not HTTP, so ${base}'s GET /health cannot take its place unseen: ` +
      `move its clients to GET /health and drop the listener by hand, or hand ${base} a health_check_port of its own other than this one, then run again`;
  }
  if (health.length && others.length) {
    return `. That server answers ${others.join(', ')} besides /health, and ${base}'s server answers /health and /metrics only: ` +
      `serve ${others.join(', ')} from a port of its own by hand (and point ${others.length > 1 ? 'their' : 'its'} clients there), leaving /health on this port to ${base}, then run again` +
      // Routes the agent hands a GET-only server as callables of its own taking no request (`{"/workers": self.workers}`) are
      // what the base's _extra_routes() takes: they can stay on this port, answered by the base's health server.
      (others.length && others.every((o) => handed.includes(o)) && ctx.base.methods.has('_extra_routes')
        ? `; or, as the agent hands ${others.length > 1 ? 'them' : 'it'} to a GET-only server as ${others.length > 1 ? 'callables' : 'a callable'} taking no request, answer ${others.join(', ')} from an override of ${base}._extra_routes() (path -> callable returning code, content type and body), which ${base}'s health server serves on this port too, so ${others.length > 1 ? 'their' : 'its'} clients need not move`
        : '');
  }
  // A /health-only server the rewrite kept because other code still reaches it: the way out is the person's.
  if (healthOnlyStep && health.length && !others.length && clash.role.role === 'health') {
    return `. That server answers /health only, as ${base}'s does on this port: delete it by hand with the code that still reaches it, ` +
      `moving what its /health answered into ${healthHook(ctx)}(), then run again`;
  }
  return '';
}

/**
 * How the two binds meet by default (`both 7641 when started with no ports given`): the validator
 * always hands the base its ports (AGENT_PORT, HEALTH_CHECK_PORT), so a clash only the defaults make
 * never shows at run time there, only where the agent is started as its operators start it.
 */
function defaultNote(clash: BasePort): string {
  if (clash.byDefault === undefined) return '';
  const derived = clash.role.role === 'port' && clash.label.startsWith('health') ? `, taken as port + ${clash.role.off} when the base is given no health_check_port` : '';
  return ` (both ${clash.byDefault} when started with no ports given${derived})`;
}

/** The base's binds as (role, offset), with its health port defaulting to port + 1 when not passed. */
function baseBinds(ctx: PythonTransformContext): BasePort[] {
  const out: BasePort[] = [];
  for (const b of ctx.base.binds) {
    const m = /^(port|health_check_port)(?:\+(\d+))?$/.exec(b);
    if (!m) continue;
    const off = Number(m[2] ?? 0);
    const role: Role = m[1] === 'port' ? { role: 'port', off } : { role: 'health', off };
    const label = m[1] === 'port' ? (off ? `port + ${off}` : 'request port') : off ? `health port + ${off} (its HTTP health server)` : 'health port';
    out.push({ role: normalise(ctx, role), label, line: ctx.base.bindLines.get(b) });
  }
  return out;
}

/** Without a health port of its own the base derives it from the port (port + 1). */
function normalise(ctx: PythonTransformContext, r: Role): Role {
  if (r.role === 'health' && !ctx.passThrough.has('health_check_port')) return { role: 'port', off: r.off + 1 };
  return r;
}

/** The agent's port expression as a role of the base's, when it stands for one. */
function agentRole(ctx: PythonTransformContext, expr: string): Role | null {
  const m = /^(.+?)(?:\+(\d+))?$/.exec(expr);
  if (!m) return null;
  const name = m[1]!;
  const off = Number(m[2] ?? 0);
  const passedPort = passed(ctx, 'port');
  const passedHealth = passed(ctx, 'health_check_port');
  // The attributes the legacy __init__ set to what the base is given as its port (`self.port = port or
  // env_int("AGENT_PORT", 5830)`): the base's health port was written from a value reading one of them
  // with that read spelled out (`health_port or env_int(..., (port or env_int("AGENT_PORT", 5830)) + 1)`).
  const portAttrs = passedPort
    ? ctx.agent.assignments.filter((a) => a.method === '__init__' && a.value && normPort(a.value.text) === normPort(passedPort)).map((a) => a.attr)
    : [];
  const spelledOut = (text: string) =>
    portAttrs.reduce((t, attr) => t.replace(new RegExp(`\\bself\\.${attr}\\b`, 'g'), `(${passedPort})`), text);
  const is = (passed: string | undefined) => {
    if (!passed) return false;
    const p = normPort(passed);
    if (name === p) return true;
    // self.health_port = <the expression given to the base as health_check_port>
    return ctx.agent.assignments.some((a) => a.method === '__init__' && a.attr === name && a.value && (normPort(a.value.text) === p || normPort(spelledOut(a.value.text)) === p));
  };
  if (name === 'port' || is(passedPort)) return { role: 'port', off };
  if (name === 'health_check_port' || is(passedHealth)) return normalise(ctx, { role: 'health', off });
  return null;
}

function clashWith(ctx: PythonTransformContext, expr: string, base: BasePort[]): BasePort | null {
  const r = agentRole(ctx, expr);
  if (r) {
    const hit = base.find((b) => b.role.role === r.role && b.role.off === r.off);
    if (hit) return hit;
  }
  // With the defaults in hand (port=7114, event_port=7115) the same clash shows as numbers.
  const value = numeric(ctx, expr);
  if (value === null) return null;
  const p0 = ctx.passThrough.has('port') ? numeric(ctx, normPort(passed(ctx, 'port')!)) ?? givenProperty(ctx, 'port') : null;
  const h0 = ctx.passThrough.has('health_check_port') ? numeric(ctx, normPort(passed(ctx, 'health_check_port')!)) ?? givenProperty(ctx, 'health_check_port') : null;
  for (const b of base) {
    const start = b.role.role === 'port' ? p0 : h0;
    if (start !== null && start + b.role.off === value) return { ...b, byDefault: value };
  }
  return null;
}

/** What the base is given for `keyword`, spelled as the legacy code reads it (the owned local `_config` as self.config). */
function passed(ctx: PythonTransformContext, keyword: string): string | undefined {
  const v = ctx.passThrough.get(keyword);
  return v === undefined ? undefined : asLegacyRead(ctx, v);
}

/** The default of what a read-only property returned, when the base is given exactly that (owned-property). */
function givenProperty(ctx: PythonTransformContext, keyword: string): number | null {
  const ret = propertyReturn(ctx.agent, keyword);
  return ret && ret.text === ctx.passThrough.get(keyword) ? defaultValue({ agent: ctx.agent, module: ctx.module }, ret) : null;
}

/** `self.health_server = HTTPServer(...)`: the attribute a constructed server is assigned to. */
function assignedTo(call: import('../../src/lang/python/parser.js').SyntaxNode): string | null {
  const p = call.parent;
  if (p?.type !== 'assignment') return null;
  const left = p.childForFieldName('left');
  return left ? left.text : null;
}

/** The number a port expression stands for by default (see src/analysis/port-defaults.ts). */
function numeric(ctx: PythonTransformContext, expr: string): number | null {
  return expressionDefault({ agent: ctx.agent, module: ctx.module }, expr);
}
