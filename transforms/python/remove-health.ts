// Concern: ad-hoc health code the base replaces — health sockets and threads, their loop
// methods, HTTP handlers used only for health, sidecar health classes. Health that is
// business (checking other agents, payloads with business data, in-band health actions
// used by the dispatcher) fails the conditions below or the plan's use check and stays.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { valueType } from '../../src/analysis/value-type.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { bindArgument, boundPort, bindsOfAttribute, normPort, portExpression, portRoles, rawPortExpression, ServerClasses, serverSubclasses } from '../../src/analysis/ports.js';
import { extractHealthPayload, healthLikeBusinessPaths, ownBusinessRoutes, routeString, untranslatablePayload, type PayloadScope } from '../../src/analysis/health-payload.js';
import { listenerFactory, listenerPort } from '../../src/analysis/listener-factory.js';
import { DEFAULT_BASE_WORD } from '../../src/analysis/health-words.js';
import { heldSettingsPorts, settingsParameterPorts } from '../../src/analysis/settings-ports.js';
import { ownable } from './owned-port-source.js';
import { handedDerivedPort } from './derived-port-server.js';
import { blocksOf, selfMembers, type InfraScope } from '../../src/analysis/infra.js';
import { CALL_NODES, walkAgentCode, type AttributeAssignment } from '../../src/analysis/agent-model.js';
import { baseName, type PyClass, type PyFunction } from '../../src/lang/python/module-model.js';
import { callee, mentions, selfAttribute, statements, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';
import type { StatementProposal } from '../../src/analysis/removal-plan.js';
import { moveBlockOut, selectHealthDispatch, selectorTagDispatch } from './select-health-dispatch.js';
import { healthHelperCalls, importedHealthSidecars } from './imported-sidecar.js';
import { carriedMetricsMembers } from './metrics-hook.js';
import { servedByBaseServer, unservedServerCallers } from './health-server-alias.js';
import { aliasMembers, foreignSend, selfAliases } from '../../src/analysis/registry-send.js';
import { extraRoutesAnswerAll } from './health-extra-routes.js';
import { firstFileWrite } from '../../src/analysis/file-writes.js';
import {
  HEALTH_ATTRIBUTE,
  HEALTH_LOOP_METHOD,
  HEALTH_PAYLOAD_KEYS,
  HEALTH_PAYLOAD_METHOD,
  HEALTH_SIDECAR_CLASS,
  HTTP_HANDLER_BASE,
} from './health-patterns.js';

/** Transport and bookkeeping a health loop may touch without being business. */
const TRANSPORT = /^(_?context|_?ctx|zmq_context|_?poller|_?logger|_?log|_?running|start_time|name|agent_name|port|host|_?stop_event|_?shutdown_event|initialized|initialization_error)$/;

/** Constant values a server may be configured with (`server.daemon_threads = True`). */
const CONSTANT = new Set(['true', 'false', 'none', 'integer', 'float', 'string']);

const healthish = (m: string) => HEALTH_ATTRIBUTE.test(m) || HEALTH_LOOP_METHOD.test(m) || HEALTH_PAYLOAD_METHOD.test(m);

export const removeHealth: PythonTransform = {
  name: 'remove-health',
  phase: 'propose',
  run(ctx) {
    const { agent } = ctx;
    const healthPorts = healthPortExpressions(ctx);
    const servers = serverSubclasses(ctx.module.root);
    // Whatever their names, sockets and servers bound on the health port are the health endpoint,
    // and a method that receives on one of them (the thread answering probes) is its loop.
    const endpoints = new Set([...agent.attributes].filter((a) => !/port$/.test(a) && servesPort(ctx, a, healthPorts, servers)));
    const lifecycle = new Set(['__init__', ctx.py.main_loop_method, ctx.py.teardown, 'stop', 'shutdown', 'close', 'cleanup'].filter(Boolean));
    // asyncio listeners on the health port inside code that stays (an async run() next to the business
    // listener): the listener goes, and so does its handler coroutine (the health loop).
    const listeners = asyncHealthListeners(ctx, healthPorts);
    const listenerHandlers = new Set(listeners.map((l) => l.handler).filter((h): h is string => !!h));
    for (const l of listeners) {
      for (const stmt of [l.stmt, ...l.placeholders]) {
        ctx.plan.proposeStatement({ node: stmt, symbol: l.handler ?? l.target, finding: 'health', reason: 'asyncio listener on the health port (the base serves /health)', requires: l.handler ? [l.handler] : [] });
      }
      for (const w of l.withItems) {
        ctx.plan.proposeStatement({ node: w.clause, symbol: l.handler ?? l.target, finding: 'health', reason: 'the removed asyncio health listener left the async with', requires: l.handler ? [l.handler] : [], replacement: w.replacement });
      }
      for (const stmt of l.closes ?? []) {
        ctx.plan.proposeStatement({ node: stmt, symbol: l.handler ?? l.target, finding: 'health', reason: 'closed the removed asyncio health listener (the base stops its own server)', requires: l.handler ? [l.handler] : [] });
      }
      for (const w of l.listItems ?? []) {
        ctx.plan.proposeStatement({ node: w.clause, symbol: l.handler ?? l.target, finding: 'health', reason: 'the removed asyncio health listener left the servers the agent closes', requires: l.handler ? [l.handler] : [], replacement: w.replacement });
      }
    }
    const factories = handlerFactories(ctx, endpoints, healthPorts, servers);
    const callbacks = endpointCallbacks(ctx, endpoints);
    const healthLoops = new Set<string>();
    for (const [name, fn] of agent.methods) {
      if (HEALTH_LOOP_METHOD.test(name) || listenerHandlers.has(name) || (!HEALTH_PAYLOAD_METHOD.test(name) && !lifecycle.has(name) && receivesOn(fn.body, endpoints))) {
        proposeHealthLoop(ctx, name);
        healthLoops.add(name);
      } else if (callbacks.has(name) && !lifecycle.has(name)) {
        // Goes only when its every use went with the endpoint's set-up (the plan's use check).
        proposeHealthLoop(ctx, name, 'the callback registered for the health endpoint (selector data / reader), which answers its probes (the base serves /health)');
      } else if (!lifecycle.has(name) && returnedEndpoint(fn, healthPorts, servers) !== null && returnedToEndpoint(ctx, name, endpoints)) {
        proposeHealthLoop(ctx, name, 'builds and returns the health server (the base serves /health)');
      } else if (!lifecycle.has(name) && returnedToEndpoint(ctx, name, endpoints) && isListenerFactory(ctx, fn, servers)) {
        proposeHealthLoop(ctx, name, 'makes the health listener and nothing else (the base serves /health)');
      } else if (!lifecycle.has(name) && setsUpEndpointOnly(fn, endpoints)) {
        proposeHealthLoop(ctx, name, 'sets up the health server and nothing else (the base serves /health)');
      } else if (factories.has(name)) {
        proposeHealthLoop(ctx, name, 'builds the request handler of the health server (the base serves /health)');
      } else if (HEALTH_PAYLOAD_METHOD.test(name) && name !== healthHook(ctx)) {
        ctx.plan.proposeMember({
          name,
          kind: 'method',
          finding: 'health',
          reason: 'ad-hoc health payload (the base builds its own)',
          // A function computing a dict: kept, it answers what it answered before.
          safeToKeep: true,
          condition: (scope) => {
            const why = businessPayload(ctx, fn.body, scope);
            return why ? `health payload carries business data (${why}); kept: the base's /health does not report it` : null;
          },
          reviewHint: 'business code calls it (in-band health action?)',
        });
      }
    }
    const sidecars = new Set<string>();
    for (const cls of ctx.module.classes) {
      if (cls.name === agent.cls.name || ctx.otherClasses.has(cls.name)) continue;
      const bases = cls.bases.map(baseName);
      const handler = bases.some((b) => b && HTTP_HANDLER_BASE.test(b));
      if (handler && (/health/i.test(cls.name) || servesOnlyHealth(cls.body) || (handlesHealthServer(ctx, cls.name, healthPorts, servers) && servesNoOtherPath(cls.body)))) {
        ctx.plan.proposeMember({ name: cls.name, kind: 'module-class', finding: 'health', reason: 'HTTP handler used only for health', safeToKeep: true });
        sidecars.add(cls.name);
      } else if (HEALTH_SIDECAR_CLASS.test(cls.name)) {
        ctx.plan.proposeMember({ name: cls.name, kind: 'module-class', finding: 'health', reason: 'sidecar health class', safeToKeep: true });
        sidecars.add(cls.name);
      }
    }
    // A health-only sidecar class imported from another file of the repository: its construction, start()
    // and stop() go, what its status callable answered moves to the base's health hook.
    // The same, built by a module function (of this file or imported) the agent calls with its health port
    // and status callable: the call goes, the function stays for its other callers.
    for (const s of [...importedHealthSidecars(ctx, healthPorts), ...healthHelperCalls(ctx, healthPorts)]) {
      sidecars.add(s.callee);
      for (const p of s.proposals) ctx.plan.proposeStatement(p);
    }
    // A server subclass of the module (`class AssemblerStatusServer(HTTPServer)`, whatever its name) that
    // the agent builds only for its health endpoint, whose request handlers are the health-only ones that
    // go: it goes with them (the plan's use check keeps it while anything else builds it).
    for (const cls of ctx.module.classes) {
      if (sidecars.has(cls.name) || !servers.has(cls.name) || cls.name === agent.cls.name || ctx.otherClasses.has(cls.name)) continue;
      const handlers = new Set<string>();
      walk(cls.body, (n) => {
        if (n.type === 'identifier' && n.text !== cls.name && ctx.module.classes.some((c) => c.name === n.text && !servers.has(c.name))) handlers.add(n.text);
      });
      if (![...handlers].every((h) => sidecars.has(h))) continue;
      // A server that names no handler itself (`class ThreadedHTTPServer(ThreadingMixIn, HTTPServer):
      // daemon_threads = True`) is health code when every construction of it in the module serves a
      // health-only handler or binds a health port: the health server that goes was its only user.
      if (!handlers.size) {
        const calls = constructionsOf(ctx.module.root, cls.name).filter((c) => !(c.startIndex >= cls.outer.startIndex && c.endIndex <= cls.outer.endIndex));
        if (!calls.length || !calls.every((c) => servesSidecar(c, sidecars) || healthPorts.has(boundPort(c, servers) ?? ''))) continue;
      } else {
        const built = agent.assignments.filter((a) => a.value && constructs(a.value, new Set([cls.name])));
        if (!built.length || !built.every((a) => endpoints.has(a.attr))) continue;
      }
      ctx.plan.proposeMember({ name: cls.name, kind: 'module-class', finding: 'health', reason: 'server class built only for the health endpoint', safeToKeep: true });
      sidecars.add(cls.name);
    }
    // `StatusHandler.agent = self`: the agent handing itself to a health handler class that goes. The
    // statement goes with the class (the handler read it; the payload moves to the base's hook).
    // (Only with a handler class that goes, and only its statements are looked at.)
    if (sidecars.size) for (const fn of agent.methods.values()) {
      const selfName = fn.params[0]?.name ?? 'self';
      walkAgentCode(fn, (n) => {
        const e = n.namedChild(0);
        const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
        const holder = left?.type === 'attribute' ? left.childForFieldName('object') : null;
        if (holder?.type !== 'identifier' || !sidecars.has(holder.text) || e!.childForFieldName('right')?.text !== selfName) return;
        ctx.plan.proposeStatement({ node: n, symbol: holder.text, finding: 'health', reason: `hands the agent to ${holder.text}, which goes`, requires: [holder.text] });
      }, EXPRESSION_STATEMENTS);
    }
    for (const name of threadHelpersOf(ctx, endpoints)) {
      // Goes only when every call of it went with the endpoint it started (the plan's use check).
      ctx.plan.proposeMember({ name, kind: 'module-function', finding: 'health', reason: 'module helper that only started the health server\'s thread', safeToKeep: true });
    }
    for (const f of handlerFactoryFunctions(ctx)) {
      // Goes only when every call of it went with the health server it built the handler for (the plan's use check).
      ctx.plan.proposeMember({ name: f.fn.name, kind: 'module-function', finding: 'health', reason: 'module function building the health server\'s request handler (the base serves /health)', safeToKeep: true });
    }
    for (const stmt of localHealthEndpoints(ctx, healthPorts, servers)) ctx.plan.proposeStatement(stmt);
    for (const stmt of inheritedHealthServers(ctx, healthPorts)) ctx.plan.proposeStatement(stmt);
    for (const attr of agent.attributes) {
      const assigns = agent.assignments.filter((a) => a.attr === attr);
      const holdsSidecar = assigns.some((a) => a.value && constructs(a.value, sidecars));
      // Whatever its name, a server or socket on the health port is the agent's health endpoint.
      const onHealthPort = servesPort(ctx, attr, healthPorts, servers);
      // Whatever its name, the thread that runs that endpoint (Thread(target=self.check_server.serve_forever)).
      const runsEndpoint = assigns.some((a) => a.value && threadServing(a.value, endpoints));
      // Whatever its name, the thread that runs the health loop method (`self._health = Thread(target=self._serve_health)`).
      const runsLoop = assigns.some((a) => a.value && threadTarget(a.value) !== null && healthLoops.has(threadTarget(a.value)!));
      // Whatever its name, the listener a removed health loop accepts or receives on (`conn, _ = self.status_listener.accept()`
      // in _health_loop): kept, it would stay bound with nothing answering. Not one under the base's name (that
      // is the base's own socket or the agent's request socket, base-attributes' concern).
      const servedByLoop = !ctx.baseOwned.has(attr) && [...healthLoops].some((m) => receivesOn(agent.methods.get(m)!.body, new Set([attr])));
      if (!HEALTH_ATTRIBUTE.test(attr) && !holdsSidecar && !onHealthPort && !runsEndpoint && !runsLoop && !servedByLoop) continue;
      // A port number is not an endpoint: it goes when nothing else reads it, else it stays (it is
      // what the base is given). The base's own port attributes are base-attributes' concern.
      if (/port$/.test(attr)) {
        if (!ctx.baseOwned.has(attr)) {
          ctx.plan.proposeMember({ name: attr, kind: 'attribute', finding: 'health', reason: 'the legacy health port, read only by the health code that goes', safeToKeep: true });
        }
        continue;
      }
      if (ctx.baseOwned.has(attr)) {
        // The base has its own (e.g. its REP health socket): ours goes only if it is the same kind.
        const baseType = ctx.base.attributes.get(attr) ?? null;
        const other = assigns.find((a) => {
          const t = valueType(a.value);
          return baseType !== null && t !== null && t !== 'None' && t !== baseType;
        });
        // Another kind under the base's name (a PUB feed called health_socket): the agent's own, renamed by base-attributes.
        if (other) continue;
        // Same kind, but bound to another port: it is the agent's own (request) socket under the base's name.
        const roles = portRoles(ctx.py.super_call.pass_through ?? {});
        const foreign = bindsOfAttribute(agent.methods.values(), attr).find((b) => b.expr !== null && !roles.health.has(b.expr));
        if (foreign) {
          ctx.plan.proposeMember({
            name: attr,
            kind: 'attribute',
            finding: 'socket',
            reason: `self.${attr} binds ${foreign.expr}, not the health port: the agent's own socket under the base's name`,
            sharedWithBase: false,
            reviewHint: `rename it: the base's self.${attr} is its health socket`,
          });
          continue;
        }
      }
      for (const slice of healthSlices(ctx, attr)) ctx.plan.proposeStatement(slice);
      for (const setUp of localEndpointSetUp(ctx, attr)) {
        for (const node of setUp.stmts) {
          ctx.plan.proposeStatement({ node, symbol: attr, finding: 'health', reason: `builds self.${attr} in the local ${setUp.local}`, requires: [attr] });
        }
      }
      for (const slice of providedServers(ctx, attr, healthPorts, servers)) ctx.plan.proposeStatement(slice);
      for (const local of localHelpers(ctx, attr)) {
        // (an `agent = self` only it read goes with it: the plan drops aliases left unread)
        ctx.plan.proposeStatement({ node: local.node, symbol: local.name, finding: 'health', reason: `local health handler of the method that sets self.${attr}`, requires: [attr] });
      }
      ctx.plan.proposeMember({
        name: attr,
        kind: 'attribute',
        finding: 'health',
        reason: holdsSidecar ? 'holds the sidecar health server' : 'ad-hoc health socket/thread/server',
        safeToKeep: !ctx.baseOwned.has(attr),
        condition: (scope) => answeredByKeptLoop(ctx, attr, healthLoops, scope) ?? answeredByKeptCallback(ctx, attr, callbacks, scope) ?? createdOutsideRemoved(ctx, attr, scope.removed),
        // `agent.server.shutdown()` in a script: the agent keeps the name onto the base's server (health-server-alias).
        callersServed: (uses) => !holdsSidecar && servedByBaseServer(ctx, attr, uses),
        callersReview: (uses) => (holdsSidecar ? null : unservedServerCallers(ctx, attr, uses)),
      });
    }
  },
};

/**
 * Whatever their names, methods that only build the request handler of a health endpoint
 * (`self._health = HTTPServer((host, health_port), self._make_handler())`, the method defining an
 * HTTP handler class and returning it) and are called nowhere else: they go with the server.
 */
function handlerFactories(ctx: PythonTransformContext, endpoints: Set<string>, healthPorts: Set<string>, servers: Set<string>): Set<string> {
  const out = new Set<string>();
  const inside = (r: { start: number; end: number }, n: SyntaxNode) => n.startIndex <= r.start && r.end <= n.endIndex;
  for (const a of ctx.agent.assignments) {
    if (!endpoints.has(a.attr) || a.value?.type !== 'call') continue;
    for (const arg of a.value.childForFieldName('arguments')?.namedChildren ?? []) {
      const app = appMethod(ctx, arg);
      if (app) {
        const uses = ctx.refs.of(app).filter((r) => !inside(r, ctx.agent.methods.get(app)!.outer));
        if (uses.every((r) => ctx.agent.assignments.some((b) => endpoints.has(b.attr) && inside(r, b.stmt)))) out.add(app);
        continue;
      }
      const m = arg.type === 'call' ? factoryMethod(ctx, arg) : null;
      if (!m) continue;
      const uses = ctx.refs.of(m).filter((r) => !inside(r, ctx.agent.methods.get(m)!.outer));
      if (uses.every((r) => ctx.agent.assignments.some((b) => endpoints.has(b.attr) && inside(r, b.stmt)))) out.add(m);
    }
  }
  // The same factory handed to a server built as a local on the health port (`httpd = stack.enter_context(
  // ThreadingHTTPServer((host, self.health_port), self._make_health_handler()))`, localHealthEndpoints): every
  // use is such a constructor's argument. It goes only when those statements go (the plan's use check).
  for (const m of ctx.agent.methods.keys()) {
    if (out.has(m)) continue;
    const fn = ctx.agent.methods.get(m)!;
    const uses = ctx.refs.of(m).filter((r) => !inside(r, fn.outer));
    const onHealthPort = (r: { node: SyntaxNode }) => {
      const attr = r.node.type === 'attribute' ? r.node : r.node.parent?.type === 'attribute' ? r.node.parent : null;
      const call = attr?.parent?.type === 'call' && attr.parent.childForFieldName('function')?.id === attr.id ? attr.parent : null;
      const ctor = call?.type === 'call' && call.parent?.type === 'argument_list' ? call.parent.parent : null;
      return !!ctor && ctor.type === 'call' && factoryMethod(ctx, call!) === m && healthPorts.has(boundPort(ctor, servers) ?? '');
    };
    if (uses.length && uses.every(onHealthPort)) out.add(m);
  }
  return out;
}

/**
 * `self._make_health_handler()` where that method defines one HTTP request handler class and returns it
 * (the handler closing over `agent = self`): the method's name, else null.
 */
function factoryMethod(ctx: PythonTransformContext, call: SyntaxNode): string | null {
  if ((call.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) return null;
  const m = selfAttribute(call.childForFieldName('function')!);
  const fn = m ? ctx.agent.methods.get(m) : undefined;
  if (!m || !fn) return null;
  const defs = statements(fn.body).map((st) => (st.type === 'decorated_definition' ? st.childForFieldName('definition') : st));
  const handler = defs.find((d) => d?.type === 'class_definition' && (d.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? '')));
  const name = handler?.childForFieldName('name')?.text;
  const last = statements(fn.body).at(-1);
  return name && last?.type === 'return_statement' && last.namedChild(0)?.text === name ? m : null;
}

/**
 * The agent method a health server is given as its WSGI application (`make_server(host, health_port,
 * self._health_app)`: a method taking `environ, start_response`), else null.
 */
function appMethod(ctx: PythonTransformContext, arg: SyntaxNode): string | null {
  const value = arg.type === 'keyword_argument' ? arg.childForFieldName('value') : arg;
  const m = value?.type === 'attribute' ? selfAttribute(value) : null;
  const fn = m ? ctx.agent.methods.get(m) : undefined;
  if (!m || !fn || fn.decorators.length) return null;
  const params = fn.params.map((p) => p.name);
  return params.length === 3 && params[2] === 'start_response' ? m : null;
}

/** A method that answers health probes (a loop, a handler): it goes unless it also does business work. */
export function proposeHealthLoop(ctx: PythonTransformContext, name: string, reason = 'ad-hoc health server/loop (the base serves /health)'): void {
  ctx.plan.proposeMember({
    name,
    kind: 'method',
    finding: 'health',
    reason,
    // Kept, it still runs as before (health that is the business); a clash is the port plan's to refuse.
    safeToKeep: true,
    condition: (scope) => healthLoopStays(ctx, name, scope),
  });
}

/**
 * A health loop that stays and receives on the endpoint `attr`: the endpoint stays with it. Removed, the
 * loop's receive and reply would go with it and the loop spin on nothing (`while self.running: try: pass`);
 * kept, the port plan refuses the clash with the base's health port, naming why the loop stays.
 */
function answeredByKeptLoop(ctx: PythonTransformContext, attr: string, loops: Set<string>, scope: InfraScope): string | null {
  for (const m of loops) {
    const body = ctx.agent.methods.get(m)!.body;
    if (scope.removed.has(m) || !receivesOn(body, new Set([attr]))) continue;
    // A nested loop that goes with the thread running it (`def health_loop(): ...` handed to a removed
    // self.health_thread) receives no more: what stays of the method waits on nothing.
    if (!receivesOn(body, new Set([attr]), [...scope.removed].flatMap((a) => localHelpers(ctx, a).map((h) => h.node)))) continue;
    const why = healthLoopStays(ctx, m, scope)?.replace(/; kept( as it is)?$/, '');
    const hook = `${healthHook(ctx)}()`;
    return `${m}() receives its probes on it and stays${why ? `: ${why}` : ''}. ` +
      `By hand: override ${hook} to add what ${m}() answers to super().${hook}'s status, delete ${m}(), the thread running it and self.${attr}, then run again`;
  }
  return null;
}

/**
 * The endpoint `attr` handed, with a callback of the agent that stays, to the call registering it
 * (`self.sel.register(self.health_sock, selectors.EVENT_READ, self._on_status)`): the endpoint stays with it,
 * or the kept callback would wait on a listener nobody binds (and what it answers besides health is lost).
 */
function answeredByKeptCallback(ctx: PythonTransformContext, attr: string, callbacks: Set<string>, scope: InfraScope): string | null {
  for (const m of callbacks) {
    // Only one kept for the paths it answers beside the base's: one kept for another reason (orphaned by the
    // removed set-up) is health-callback-orphaned's to report, its endpoint going as before.
    if (scope.removed.has(m) || !ctx.agent.methods.has(m) || !routesBesideBase(ctx, ctx.agent.methods.get(m)!).length) continue;
    let registered = false;
    walkTypes(ctx.agent.cls.node, CALLS, (n) => {
      if (registered || n.type !== 'call') return;
      const args = (n.childForFieldName('arguments')?.namedChildren ?? []).map((a) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a));
      const attrs = args.map((a) => (a ? selfAttribute(a) : null));
      if (attrs.includes(attr) && attrs.includes(m)) registered = true;
    });
    if (!registered) continue;
    const why = healthLoopStays(ctx, m, scope)?.replace(/; kept( as it is)?$/, '');
    return `${m}() answers its connections and stays${why ? `: ${why}` : ''}`;
  }
  return null;
}

/** The paths a health method's own path chain answers that the base's server does not (`elif path == "/peers":`). */
function routesBesideBase(ctx: PythonTransformContext, fn: PyFunction): Array<{ path: string; line: number }> {
  // (/metrics is the base's too: metrics-hook carries what it served into the base's /metrics; "/" only when the
  // base answers it, else a route on "/" is one the _v2 would lose)
  const baseServes = new Set(ctx.base.httpRoutes?.paths ?? ['/health', '/metrics']);
  return ownBusinessRoutes(fn.body).filter((r) => !baseServes.has(r.path));
}

/** Why a health loop (see proposeHealthLoop) stays given what goes, else null. */
function healthLoopStays(ctx: PythonTransformContext, name: string, scope: InfraScope): string | null {
  const fn = ctx.agent.methods.get(name)!;
  // What its payload reports moves to the base's health hook: reading it is not business.
  const payload = extractHealthPayload(fn.outer, payloadScope(ctx));
  const unmoved = payloadStaysUnmoved(ctx, name, payload, scope.removed);
  // The last round's answer is the plan's: health-callback-orphaned asks it (keptForItsPayload).
  const kept = keptForPayload.get(ctx.plan) ?? new Set<string>();
  keptForPayload.set(ctx.plan, kept);
  if (unmoved) kept.add(name);
  else kept.delete(name);
  if (unmoved) {
    // The payload's line, for the person who moves it by hand.
    const at = untranslatablePayload(fn.outer, payloadScope(ctx));
    const what = at ? ` at line ${at.startPosition.row + 1} (${at.text.replace(/\s+/g, ' ').slice(0, 80)})` : '';
    return `its health payload${what} cannot be expressed in the agent's scope, so it cannot move to ${ctx.profile.base_class}.${healthHook(ctx)}(); kept`;
  }
  const moved = (payload === 'untranslatable' ? null : payload)?.members ?? new Set<string>();
  const portOnly = readOnlyForHealthPort(ctx, fn.body);
  const stopFlags = stopEventsOnlyPolled(ctx, fn.body);
  // What its /metrics branch served moves to the base's /metrics (metrics-hook): not business either.
  const metrics = carriedMetricsMembers(ctx, fn.outer) ?? new Set<string>();
  // A health-named method of the agent it alone starts (`Thread(target=self._heartbeat_loop)`, handed
  // over, not called) that stays (its own work is business): removing this would leave that method
  // with nothing running it. Starting it is not business work of this method's own: said as it is.
  const stays = startedOnlyHere(ctx, fn).filter((m) => m !== name && healthish(m) && !moved.has(m) && !scope.removed.has(m));
  // Members read through `agent = self` in its closures are read as much as `self.x` ones.
  const business = [...new Set([...membersBesideTransportFailures(fn.body, scope.removed), ...aliasMembers(fn)])].filter(
    (m) => !moved.has(m) && !metrics.has(m) && !portOnly.has(m) && !stopFlags.has(m) && !scope.removed.has(m) && !scope.baseOwned.has(m) && (!healthish(m) || keptLoop(ctx, m)) && !TRANSPORT.test(m) && agentHas(ctx, m) && !stays.includes(m),
  );
  // A raw listener answering other paths beside /health (`elif path == "/peers":`): the base's server answers
  // /health only, so removing it would silently drop those routes.
  const routes = routesBesideBase(ctx, fn);
  if (routes.length) {
    return `health code that also answers ${routes.map((r) => `GET ${r.path} (line ${r.line})`).join(', ')}, which ${ctx.profile.base_class}'s health server does not serve; kept as it is`;
  }
  if (business.length) return `health code that also does business work (self.${business.join(', self.')}); kept as it is`;
  // A file it writes (a heartbeat file per peer a watchdog script reads) is output the base never makes.
  const writes = firstFileWrite(fn.outer);
  if (writes) return `health code that also writes a file at ${writes}, which ${ctx.profile.base_class} does not; kept as it is`;
  if (stays.length) return `health code that alone starts self.${stays.join(', self.')}, which stays (nothing else would run it); kept as it is`;
  // A heartbeat it starts that posts somewhere the base does not (another service, another path,
  // fields the base's record lacks) is the agent's own announcement, not the base's registration.
  const sent = foreignSend(ctx, fn);
  return sent ? `health code that also ${sent}; kept as it is` : null;
}

/** The health method's `payload` cannot move to the base's health hook, given the members `removed` (healthLoopStays' first reason). */
function payloadStaysUnmoved(ctx: PythonTransformContext, name: string, payload: ReturnType<typeof extractHealthPayload>, removed: ReadonlySet<string>): boolean {
  return payload === 'untranslatable' && !helpersGoWithRemoved(ctx, name, removed);
}

/** Per removal plan, the health methods healthLoopStays keeps because their payload cannot move to the base's health hook. */
const keptForPayload = new WeakMap<object, Set<string>>();

/** Whether the plan keeps the health method `name` for its payload (see healthLoopStays): a fact, not its reason's text. */
export function keptForItsPayload(ctx: PythonTransformContext, name: string): boolean {
  return keptForPayload.get(ctx.plan)?.has(name) ?? false;
}

/**
 * Agent methods the method's code hands over as callables (a thread's target, a Timer's function: `self.m`
 * or `agent.m` not called) and that nothing outside this method mentions (but their own bodies).
 */
function startedOnlyHere(ctx: PythonTransformContext, fn: PyFunction): string[] {
  const aliases = selfAliases(fn);
  const handed = new Set<string>();
  walkTypes(fn.body, CLASS_OR_ATTRIBUTE, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type !== 'attribute') return;
    const obj = n.childForFieldName('object');
    const m = n.childForFieldName('attribute')!.text;
    const called = n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id;
    if (obj?.type === 'identifier' && aliases.has(obj.text) && !called && ctx.agent.methods.has(m)) handed.add(m);
  });
  const inside = (r: { start: number; end: number }, node: SyntaxNode) => node.startIndex <= r.start && r.end <= node.endIndex;
  return [...handed].filter((m) => ctx.refs.of(m).every((r) => inside(r, fn.outer) || inside(r, ctx.agent.methods.get(m)!.outer)));
}

/**
 * `async with health:` naming only a listener that went: the `with` goes and its body moves out one
 * level (same statements, same order). Lines that a removal deletes anyway are left to it.
 */
export const unwrapAsyncHealthListener: PythonTransform = {
  name: 'unwrap-async-health-listener',
  phase: 'edit',
  run(ctx) {
    const resolved = ctx.resolved!;
    const src = ctx.source;
    for (const l of asyncHealthListeners(ctx, healthPortExpressions(ctx))) {
      if (!resolved.nodes.some((n) => n.startIndex <= l.stmt.startIndex && l.stmt.endIndex <= n.endIndex)) continue;
      for (const w of l.soleWiths) {
        const body = w.childForFieldName('body')!;
        const headerStart = lineStart(src, w.startIndex);
        const bodyStart = lineStart(src, body.startIndex);
        ctx.edits.delete(headerStart, bodyStart, 'unwrap-async-health-listener');
        moveBlockOut(ctx, w, body, 'unwrap-async-health-listener');
      }
    }
  },
};

export interface AsyncHealthListener {
  /** `health = await asyncio.start_server(self.handle_health, host, <health port>)`. */
  stmt: SyntaxNode;
  /** What the listener is assigned to (`health`, `self._listener`). */
  target: string;
  /** The agent method answering it (`handle_health`), when it is one. */
  handler: string | null;
  /** `async with alerts, health:` clauses naming it among others: the clause without it. */
  withItems: Array<{ clause: SyntaxNode; replacement: string }>;
  /** `async with health:` naming it alone: unwrapped by the health hook once the listener is gone. */
  soleWiths: SyntaxNode[];
  /** `self._listener = None` (or annotated) set-up statements of an attribute target. */
  placeholders: SyntaxNode[];
  /** Kept in a collection of servers (`self._servers.append(...)`) that the agent closes in a loop. */
  collected?: boolean;
  /** `health.close()`, `await health.wait_closed()` statements closing it alone: they go with it. */
  closes?: SyntaxNode[];
  /** `self._servers = [intake, health]` lists naming it among the servers the agent closes in a loop: the list without it. */
  listItems?: Array<{ clause: SyntaxNode; replacement: string }>;
}

/**
 * `<listener>.close()` or `await <listener>.wait_closed()` as a statement of its own inside `scope`, `n`
 * being the listener's name there: that statement, else null.
 */
function listenerClose(n: SyntaxNode, scope: SyntaxNode): SyntaxNode | null {
  const member = n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id ? n.parent : null;
  if (!member || !/^(close|wait_closed)$/.test(member.childForFieldName('attribute')?.text ?? '')) return null;
  const call = member.parent?.type === 'call' && member.parent.childForFieldName('function')?.id === member.id ? member.parent : null;
  if (!call || (call.childForFieldName('arguments')?.namedChildren.length ?? 0) > 0) return null;
  const expr = call.parent?.type === 'await' ? call.parent : call;
  const stmt = expr.parent?.type === 'expression_statement' && expr.parent.namedChildCount === 1 ? expr.parent : null;
  return stmt && scope.startIndex <= stmt.startIndex && stmt.endIndex <= scope.endIndex ? stmt : null;
}

/**
 * `self._servers = [intake, <listener>]` in `scope`, `n` being the listener's element: the list and its text
 * without it, when the collection is used nowhere but in such set-ups and as what a `for` loop walks (closing
 * every server the same way): without the health listener in it, every other use does what it did for the rest.
 */
function listedIn(ctx: PythonTransformContext, n: SyntaxNode, scope: SyntaxNode): { clause: SyntaxNode; replacement: string } | null {
  const list = n.parent?.type === 'list' ? n.parent : null;
  const asg = list?.parent?.type === 'assignment' && list.parent.childForFieldName('right')?.id === list.id ? list.parent : null;
  const left = asg?.childForFieldName('left');
  if (!list || !asg || !left || selfAttribute(left) === null || asg.parent?.type !== 'expression_statement') return null;
  if (!(scope.startIndex <= asg.startIndex && asg.endIndex <= scope.endIndex)) return null;
  const elements = list.namedChildren.filter((c) => c.type !== 'comment');
  if (elements.some((e) => e.type === 'list_splat')) return null;
  const target = left.text;
  let ok = true;
  walk(ctx.agent.cls.node, (x) => {
    if (!ok || x.type !== 'attribute' || x.text !== target) return;
    const p = x.parent;
    const setUp = p?.type === 'assignment' && p.childForFieldName('left')?.id === x.id && (p.childForFieldName('right')?.type === 'list' || /^list\(\)$/.test(p.childForFieldName('right')?.text ?? ''));
    const appended = p?.type === 'attribute' && p.childForFieldName('attribute')?.text === 'append' && p.parent?.type === 'call';
    const walked = p?.type === 'for_statement' && p.childForFieldName('right')?.id === x.id;
    if (!setUp && !appended && !walked) ok = false;
    return false;
  });
  if (!ok) return null;
  return { clause: list, replacement: `[${elements.filter((e) => e.id !== n.id).map((e) => e.text).join(', ')}]` };
}

/**
 * asyncio listeners the agent starts on its health port in a method that stays. Only when every use of
 * the listener is its own assignment and `async with` statements: anything else (a close() in teardown,
 * serve_forever()) keeps it, and the port plan refuses the clash as before.
 */
export function asyncHealthListeners(ctx: PythonTransformContext, ports: Set<string>): AsyncHealthListener[] {
  const out: AsyncHealthListener[] = [];
  for (const m of ctx.agent.methods.values()) {
    for (const stmt of statements(m.body)) {
      const collected = collectedListener(ctx, stmt, ports);
      if (collected) {
        out.push(collected);
        continue;
      }
      const a = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
      if (a?.type !== 'assignment') continue;
      const left = a.childForFieldName('left');
      let right = a.childForFieldName('right');
      if (right?.type === 'await') right = right.namedChild(0);
      if (!left || right?.type !== 'call' || !/(^|\.)start_server$/.test(callee(right) ?? '')) continue;
      const args = right.childForFieldName('arguments')?.namedChildren ?? [];
      const kw = args.find((x) => x.type === 'keyword_argument' && x.childForFieldName('name')?.text === 'port')?.childForFieldName('value');
      const port = kw ?? args.filter((x) => x.type !== 'keyword_argument')[2];
      if (!port || !ports.has(normPort(port.text))) continue;
      const handlerArg = args[0]?.type === 'keyword_argument' ? null : args[0];
      const handler = handlerArg ? selfAttribute(handlerArg) : null;
      if (handler && !ctx.agent.methods.has(handler)) continue;
      const target = left.text;
      const withItems: AsyncHealthListener['withItems'] = [];
      const soleWiths: SyntaxNode[] = [];
      const placeholders: SyntaxNode[] = [];
      const closes: SyntaxNode[] = [];
      const listItems: AsyncHealthListener['withItems'] = [];
      let ok = left.type === 'identifier' || selfAttribute(left) !== null;
      // Every other mention of the target, anywhere in the class, must be an item of an `async with` in this
      // method, or (an attribute) its `= None` placeholder, which goes with it.
      walk(ctx.agent.cls.node, (n) => {
        if (!ok || n.text !== target || (n.type !== 'identifier' && n.type !== 'attribute')) return;
        if (n.startIndex >= a.startIndex && n.endIndex <= a.endIndex) return false;
        const asg = n.parent?.type === 'assignment' && n.parent.childForFieldName('left')?.id === n.id ? n.parent : null;
        if (asg && n.type === 'attribute' && asg.childForFieldName('right')?.text === 'None' && asg.parent?.type === 'expression_statement') {
          placeholders.push(asg.parent);
          return false;
        }
        // `health.close()` / `await health.wait_closed()` on its own line in this method: it closed the
        // listener alone, and goes with it.
        const closing = listenerClose(n, m.node);
        if (closing) {
          closes.push(closing);
          return false;
        }
        // `self._servers = [intake, health]`: a collection the agent only walks to close every server the
        // same way; the listener leaves the list, the rest is closed as before.
        const listed = listedIn(ctx, n, m.node);
        if (listed) {
          listItems.push(listed);
          return false;
        }
        const item = n.parent?.type === 'with_item' ? n.parent : null;
        const clause = item?.parent?.type === 'with_clause' ? item.parent : null;
        const withStmt = clause?.parent;
        if (!item || !clause || withStmt?.type !== 'with_statement' || !/^async\b/.test(withStmt.text) || item.text !== target ||
            !(m.node.startIndex <= withStmt.startIndex && withStmt.endIndex <= m.node.endIndex)) {
          ok = false;
          return false;
        }
        const items = clause.namedChildren.filter((c) => c.type === 'with_item');
        if (items.length > 1) withItems.push({ clause, replacement: items.filter((i) => i.id !== item.id).map((i) => i.text).join(', ') });
        else if (withStmt.childForFieldName('body')!.startPosition.row > withStmt.startPosition.row) soleWiths.push(withStmt);
        else ok = false;
        return false;
      });
      if (ok) out.push({ stmt, target, handler, withItems, soleWiths, placeholders, closes, listItems });
    }
  }
  return out;
}

/** The handler and port of `asyncio.start_server(<handler>, host, <port>)` (awaited or not) on a health port. */
export function healthStartServer(ctx: PythonTransformContext, value: SyntaxNode | null, ports: Set<string>): { handler: string | null } | null {
  let right = value;
  if (right?.type === 'await') right = right.namedChild(0);
  if (right?.type !== 'call' || !/(^|\.)start_server$/.test(callee(right) ?? '')) return null;
  const args = right.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((x) => x.type === 'keyword_argument' && x.childForFieldName('name')?.text === 'port')?.childForFieldName('value');
  const port = kw ?? args.filter((x) => x.type !== 'keyword_argument')[2];
  if (!port || !ports.has(normPort(port.text))) return null;
  const handlerArg = args[0]?.type === 'keyword_argument' ? null : args[0];
  const handler = handlerArg ? selfAttribute(handlerArg) : null;
  if (handler && !ctx.agent.methods.has(handler)) return null;
  return { handler };
}

/**
 * `self._servers.append(await asyncio.start_server(self.handle_health, host, <health port>))`: the health
 * listener kept in a collection beside the business listeners. Only when the collection is used nowhere but
 * in `= []` set-ups, `.append(...)` calls and as what a `for` loop walks (closing every server the same way):
 * without the health listener in it, every other use does what it did for the rest.
 */
function collectedListener(ctx: PythonTransformContext, stmt: SyntaxNode, ports: Set<string>): AsyncHealthListener | null {
  const call = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'append') return null;
  const args = call!.childForFieldName('arguments')?.namedChildren ?? [];
  if (args.length !== 1) return null;
  const listener = healthStartServer(ctx, args[0]!, ports);
  if (!listener) return null;
  const collection = fn.childForFieldName('object')!;
  if (selfAttribute(collection) === null) return null;
  const target = collection.text;
  let ok = true;
  walk(ctx.agent.cls.node, (n) => {
    if (!ok || n.type !== 'attribute' || n.text !== target) return;
    const p = n.parent;
    const appended = p?.type === 'attribute' && p.childForFieldName('attribute')?.text === 'append' && p.parent?.type === 'call';
    const setUp = p?.type === 'assignment' && p.childForFieldName('left')?.id === n.id && /^(\[\]|list\(\))$/.test(p.childForFieldName('right')?.text ?? '');
    const walked = p?.type === 'for_statement' && p.childForFieldName('right')?.id === n.id;
    if (!appended && !setUp && !walked) ok = false;
    return false;
  });
  return ok ? { stmt, target, handler: listener.handler, withItems: [], soleWiths: [], placeholders: [], collected: true } : null;
}

/** `threading.Thread(target=self.<endpoint>.serve_forever, ...)`: a thread whose whole work is a health endpoint's. */
/** What a `Thread(target=..., ...)` construction runs: the target expression, else null. */
function threadTargetNode(value: SyntaxNode): SyntaxNode | null {
  if (value.type !== 'call' || !/(^|\.)Thread$/.test(callee(value) ?? '')) return null;
  return (value.childForFieldName('arguments')?.namedChildren ?? []).find(
    (a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'target',
  )?.childForFieldName('value') ?? null;
}

/** The agent method a `Thread(target=self.<m>, ...)` construction runs: m, else null. */
function threadTarget(value: SyntaxNode): string | null {
  const target = threadTargetNode(value);
  return target ? selfAttribute(target) : null;
}

function threadServing(value: SyntaxNode, endpoints: Set<string>): boolean {
  const target = threadTargetNode(value);
  if (target?.type !== 'attribute') return false;
  const obj = target.childForFieldName('object')!;
  const attr = selfAttribute(obj);
  return attr !== null && endpoints.has(attr);
}

/**
 * An attribute may go with its set-up only when it is created in __init__ (plain set-up) or
 * in a method that goes too; created anywhere else (or from a local closure), removing the
 * assignment would orphan the code that made it.
 */
function createdOutsideRemoved(ctx: PythonTransformContext, attr: string, removed: Set<string>): string | null {
  const builtInLocal = new Set(localEndpointSetUp(ctx, attr).map((s) => s.assignment.stmt.id));
  for (const a of ctx.agent.assignments.filter((x) => x.attr === attr)) {
    if (removed.has(a.method) || builtInLocal.has(a.stmt.id)) continue;
    const init = ctx.agent.methods.get(a.method)!;
    const helpers = new Set(localHelpers(ctx, attr).map((h) => h.name));
    const locals = new Set<string>();
    walk(init.body, (n) => {
      if (n.type === 'function_definition') locals.add(n.childForFieldName('name')!.text);
      if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier') locals.add(n.childForFieldName('left')!.text);
    });
    let usesLocal = false;
    if (a.value) walk(a.value, (n) => {
      if (n.type === 'identifier' && locals.has(n.text) && !helpers.has(n.text)) usesLocal = true;
    });
    if (usesLocal) return `self.${attr} is created from a local of ${a.method}() that stays; kept`;
  }
  return null;
}

/**
 * `sock = socket.socket(socket.AF_UNIX, ...)`, `sock.bind(path)`, `sock.listen(4)`, then `self._health_sock = sock`:
 * an endpoint built in a local of the method that exists only for it. The local's construction and the calls
 * made on it are the set-up the attribute form (`self._health_sock.bind(...)`) loses with the attribute; kept,
 * they would leave a bound listener that nothing answers any more. Only when every use of the local is one of
 * those statements, in the assignment's own block: handed on, returned or read elsewhere, it is not ours.
 */
function localEndpointSetUp(ctx: PythonTransformContext, attr: string): Array<{ assignment: AttributeAssignment; local: string; stmts: SyntaxNode[] }> {
  const out: Array<{ assignment: AttributeAssignment; local: string; stmts: SyntaxNode[] }> = [];
  for (const a of ctx.agent.assignments.filter((x) => x.attr === attr)) {
    const fn = ctx.agent.methods.get(a.method);
    const block = a.stmt.parent;
    if (!fn || a.value?.type !== 'identifier' || block?.type !== 'block') continue;
    const local = a.value.text;
    if (local === (fn.params[0]?.name ?? 'self')) continue;
    const stmts: SyntaxNode[] = [];
    let built = 0;
    let ok = true;
    walk(fn.body, (n) => {
      if (!ok || n.type !== 'identifier' || n.text !== local) return;
      const p = n.parent;
      if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return; // `other.sock`: not the local
      if (a.stmt.startIndex <= n.startIndex && n.endIndex <= a.stmt.endIndex) return;
      // sock = socket.socket(...)
      if (p?.type === 'assignment' && p.childForFieldName('left')?.id === n.id && p.childForFieldName('right')?.type === 'call' &&
          p.parent?.type === 'expression_statement' && p.parent.parent?.id === block.id && p.parent.endIndex <= a.stmt.startIndex) {
        built += 1;
        stmts.push(p.parent);
        return;
      }
      // sock.bind(...), sock.listen(4): a call statement on the local, its arguments not naming it
      const call = p?.type === 'attribute' && p.childForFieldName('object')?.id === n.id ? p.parent : null;
      const stmt = call?.type === 'call' && call.childForFieldName('function')?.id === p!.id ? call.parent : null;
      if (stmt?.type === 'expression_statement' && stmt.parent?.id === block.id && !mentions(call!.childForFieldName('arguments')!, local)) {
        stmts.push(stmt);
        return;
      }
      ok = false;
    });
    if (ok && built === 1) out.push({ assignment: a, local, stmts });
  }
  return out;
}

/**
 * The method's nested functions and handler classes (where its payload is read) all go with an endpoint
 * attribute being removed (their local helpers, see localHelpers): the health hook reports what they
 * answered, so the payload keeps nothing of the method, which would be left empty.
 */
function helpersGoWithRemoved(ctx: PythonTransformContext, method: string, removed: ReadonlySet<string>): boolean {
  const fn = ctx.agent.methods.get(method)!;
  const nested = fn.body.namedChildren.filter((st) => {
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    return def?.type === 'function_definition' || def?.type === 'class_definition';
  });
  if (!nested.length) return false;
  const going = new Set<number>();
  for (const attr of removed) {
    if (!ctx.agent.assignments.some((a) => a.attr === attr && a.method === method)) continue;
    for (const h of localHelpers(ctx, attr)) going.add(h.node.id);
  }
  return nested.every((st) => going.has(st.id));
}

/**
 * Nested functions and handler classes of the method that sets the attribute, which exist only
 * for it (`def answer_health(): ...` then `self.health_thread = Thread(target=answer_health)`;
 * `class Health(BaseHTTPRequestHandler): ...` then `self.health = Server(addr, Health)`).
 */
function localHelpers(ctx: PythonTransformContext, attr: string): Array<{ name: string; node: SyntaxNode }> {
  const out: Array<{ name: string; node: SyntaxNode }> = [];
  const assigns = ctx.agent.assignments.filter((a) => a.attr === attr);
  for (const m of new Set(assigns.map((a) => a.method))) {
    const fn = ctx.agent.methods.get(m);
    if (!fn) continue;
    // The method's own statements, and those of each block holding the assignment inside it (a handler
    // class defined under `if self.enable_health:` next to the server it serves).
    const blocks = new Map<number, SyntaxNode>([[fn.body.id, fn.body]]);
    for (const a of assigns.filter((x) => x.method === m)) {
      for (let p = a.stmt.parent; p && p.id !== fn.body.id && p.id !== fn.node.id; p = p.parent) {
        if (p.type === 'function_definition' || p.type === 'class_definition' || p.type === 'lambda') break;
        if (p.type === 'block') blocks.set(p.id, p);
      }
    }
    for (const stmt of [...blocks.values()].flatMap((b) => b.namedChildren)) {
      const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
      if (def?.type !== 'function_definition' && def?.type !== 'class_definition') continue;
      const name = def.childForFieldName('name')!.text;
      if (def.type === 'function_definition' && !/health|heartbeat|ping/i.test(name)) continue;
      const uses = ctx.refs.of(name).filter((r) => r.kind === 'identifier' && !(def.startIndex <= r.start && r.end <= def.endIndex));
      const inAssign = (r: { start: number; end: number }) =>
        ctx.agent.assignments.some((a) => a.attr === attr && a.stmt.startIndex <= r.start && r.end <= a.stmt.endIndex);
      if (uses.length > 0 && uses.every(inAssign)) out.push({ name, node: stmt });
    }
  }
  return out;
}

/**
 * Health polled inside code that stays (a `select` or poller in run(), next to business work):
 * the wait on the health socket alone keeps its timeout as a sleep, the registration with a
 * shared poller and the `if` answering the probe go with the socket.
 */
/** For a typed walk (see walkTypes): what healthSlices reads of a condition. */
const ATTRIBUTE_OR_IDENTIFIER: ReadonlySet<string> = new Set(['attribute', 'identifier']);

function healthSlices(ctx: PythonTransformContext, attr: string): StatementProposal[] {
  const out: StatementProposal[] = [];
  const sleep = sleepCall(ctx);
  const isAttr = (n: SyntaxNode | null | undefined) => !!n && selfAttribute(n) === attr;
  for (const m of ctx.agent.methods.values()) {
    const tainted = new Set<string>();
    walkAgentCode(m, (n) => {
      if (n.type === 'if_statement') {
        const cond = n.childForFieldName('condition');
        let hit = false;
        if (cond) walkTypes(cond, ATTRIBUTE_OR_IDENTIFIER, (c) => {
          if (isAttr(c) || (c.type === 'identifier' && tainted.has(c.text))) hit = true;
        });
        if (hit && n.childrenForFieldName('alternative').length === 0) {
          out.push({ node: n, symbol: attr, finding: 'health', reason: `answers the probe on self.${attr}`, requires: [attr] });
          return false;
        }
        return;
      }
      if (n.type !== 'expression_statement') return;
      const e = n.namedChild(0);
      if (e?.type === 'call') {
        // self.poller.register(self.health_socket, zmq.POLLIN)
        const fn = callee(e) ?? '';
        // The arguments are listed only for a call that can register (this runs for each call statement, per attribute).
        const args = /\.(register|unregister)$/.test(fn) ? e.childForFieldName('arguments')?.namedChildren ?? [] : [];
        if (/\.(register|unregister)$/.test(fn) && isAttr(args[0])) {
          out.push({ node: n, symbol: attr, finding: 'health', reason: `registers self.${attr} with a poller`, requires: [attr] });
          // self.sel.register(self.status_sock, selectors.EVENT_READ, "status"): the loop's branch for that
          // tag goes with the socket, and the methods it alone called answer no more probes.
          const tag = fn.endsWith('.register') && args[2] ? stringValue(args[2]) : null;
          const dispatch = tag !== null ? selectorTagDispatch(ctx, tag, attr) : null;
          if (dispatch) {
            const requires = [attr, ...dispatch.methods];
            for (const cut of dispatch.cuts) {
              out.push({ node: cut.node, symbol: attr, finding: 'health', reason: `answers the probe on self.${attr} (selector tag ${args[2]!.text})`, requires, ...(cut.replacement !== undefined ? { replacement: cut.replacement } : {}) });
            }
            for (const h of dispatch.methods) proposeHealthLoop(ctx, h, `answers the probe on self.${attr} (the base serves /health)`);
          }
        }
        return false;
      }
      if (e?.type !== 'assignment') return;
      const right = e.childForFieldName('right');
      const left = e.childForFieldName('left')!;
      if (right?.type !== 'call') return;
      const fn = callee(right) ?? '';
      // Only a select or the attribute's poll reads the arguments (this runs for each assignment of a call, per attribute).
      if (!/(^|\.)select$/.test(fn) && fn !== `self.${attr}.poll`) return;
      const args = right.childForFieldName('arguments')?.namedChildren ?? [];
      // readable, _, _ = select.select([self.flag_sock, self.health_sock], [], [], 1.0): the health socket
      // leaves the list; a dispatch on the result whose else branch is the health socket's goes (below).
      if (/(^|\.)select$/.test(fn) && args[0]?.type === 'list' && args[0].namedChildCount > 1 && args[0].namedChildren.every((x) => selfAttribute(x) !== null) &&
          args[0].namedChildren.filter(isAttr).length === 1 && args.slice(1, 3).every((a) => a.type === 'list' && a.namedChildCount === 0)) {
        const others = args[0].namedChildren.filter((x) => !isAttr(x));
        const dispatch = selectHealthDispatch(ctx, m, left, others.map((o) => selfAttribute(o)!), attr);
        if (dispatch) {
          const requires = [attr, ...dispatch.methods];
          out.push({ node: args[0], symbol: attr, finding: 'health', reason: `self.${attr} leaves the select`, requires, replacement: `[${others.map((o) => o.text).join(', ')}]` });
          if (dispatch.clause) out.push({ node: dispatch.clause, symbol: attr, finding: 'health', reason: `answers the probe on self.${attr}`, requires });
          // The test on the health socket and its branch: their text goes, the else body moves out (unwrap-select-health-dispatch).
          for (const node of dispatch.mirrored ? [dispatch.mirrored.condition, dispatch.mirrored.consequence] : []) {
            out.push({ node, symbol: attr, finding: 'health', reason: `answers the probe on self.${attr}`, requires, replacement: '' });
          }
          // The flag `sock is self.<attr>` handed to the request handler, its parameter, and the branch on it.
          for (const cut of dispatch.flag ?? []) {
            out.push({ node: cut.node, symbol: attr, finding: 'health', reason: `tells the handler it answers the probe on self.${attr}`, requires, ...(cut.replacement !== undefined ? { replacement: cut.replacement } : {}) });
          }
          for (const h of dispatch.methods) proposeHealthLoop(ctx, h, `answers the probe on self.${attr} (the base serves /health)`);
        }
        return;
      }
      let timeout: SyntaxNode | undefined;
      // ready, _, _ = select.select([self.health_socket], [], [], 0.5)
      if (/(^|\.)select$/.test(fn) && args[0]?.type === 'list' && args[0].namedChildCount > 0 &&
          args[0].namedChildren.every(isAttr) && args.slice(1, 3).every((a) => a.type === 'list' && a.namedChildCount === 0)) timeout = args[3];
      // ready = self.health_socket.poll(500)
      else if (fn === `self.${attr}.poll`) timeout = args[0];
      else return;
      if (!timeout || !sleep) return;
      walk(left, (c) => {
        if (c.type === 'identifier') tainted.add(c.text);
      });
      const seconds = fn.endsWith('.poll') ? `${timeout.text} / 1000` : timeout.text;
      out.push({ node: n, symbol: attr, finding: 'health', reason: `waits on self.${attr} alone`, requires: [attr], replacement: `${sleep}(${seconds})` });
      ctx.introduced.add(sleep.split('.')[0]!);
    }, IF_OR_EXPRESSION);
  }
  return out;
}

/** How this module calls a sleep (`time.sleep` or an imported `sleep`), or null. */
function sleepCall(ctx: PythonTransformContext): string | null {
  const t = ctx.module.imports.get('time');
  if (t && t.name === null && t.module === 'time') return 'time.sleep';
  const s = ctx.module.imports.get('sleep');
  if (s && s.module === 'time') return 'sleep';
  return null;
}

/**
 * A health endpoint held in a local of a method (`health = ctx.socket(zmq.REP)`,
 * `health.bind(<health port>)`, `def answer_health(): ...`, the thread that runs it): every
 * statement of that method's block that exists only for it.
 */
function localHealthEndpoints(ctx: PythonTransformContext, ports: Set<string>, servers: Set<string>): StatementProposal[] {
  const out: StatementProposal[] = [];
  // The method's body and the blocks of its compound statements (`with contextlib.ExitStack() as stack:`),
  // never a nested function's or class's: a local endpoint and all that mentions it sit in one block.
  const blocks = (body: SyntaxNode, out: SyntaxNode[] = []): SyntaxNode[] => {
    out.push(body);
    for (const st of body.namedChildren) {
      if (st.type === 'function_definition' || st.type === 'class_definition' || st.type === 'decorated_definition') continue;
      for (const b of blocksOf(st)) blocks(b, out);
    }
    return out;
  };
  // Listed once per method and only read: every local assignment of a call asks for them (a new
  // list each time was the largest allocation of the Python rewrite).
  const listed = new Map<PyFunction, SyntaxNode[]>();
  const methodBlocks = (m: PyFunction): SyntaxNode[] => {
    let list = listed.get(m);
    if (!list) listed.set(m, (list = blocks(m.body)));
    return list;
  };
  for (const m of ctx.agent.methods.values()) for (const block of methodBlocks(m)) {
    const stmts = block.namedChildren.filter((st) => st.type !== 'comment');
    for (const st of stmts) {
      const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
      if (e?.type !== 'assignment' || e.childForFieldName('left')?.type !== 'identifier' || e.childForFieldName('right')?.type !== 'call') continue;
      const local = e.childForFieldName('left')!.text;
      const mentionsLocal = (x: SyntaxNode) => mentions(x, local);
      // `health = stack.enter_context(ThreadingHTTPServer(...))`: the server the ExitStack hands back.
      const right = e.childForFieldName('right')!;
      const ctor = enteredContext(right) ?? right;
      if (ctor.type !== 'call') continue;
      // `server = self._start_health_server()`: a method of the agent that only builds the health server and returns it.
      const built = builtByMethod(ctx, ctor);
      const onHealth = (built && returnedEndpoint(built, ports, servers) !== null) || ports.has(boundPort(ctor, servers) ?? '') ||
        stmts.some((x) => {
          const c = x.type === 'expression_statement' ? x.namedChild(0) : null;
          const arg = c?.type === 'call' && callee(c) === `${local}.bind` ? c.childForFieldName('arguments')?.namedChild(0) : null;
          return !!arg && ports.has(portExpression(arg.text) ?? '');
        }) ||
        servesHealthOnly(ctor, methodBlocks(m), servers);
      if (!onHealth) {
        reviewHealthBesideBusiness(ctx, m, st, local, ctor, methodBlocks(m), servers);
        continue;
      }
      const group: SyntaxNode[] = [];
      const helpers = new Set<string>();
      let ok = true;
      for (const x of stmts) {
        if (!mentionsLocal(x)) continue;
        const def = x.type === 'decorated_definition' ? x.childForFieldName('definition') : x;
        if (def?.type === 'function_definition') helpers.add(def.childForFieldName('name')!.text);
        // A compound statement (a try whose finally shuts it down): only its teardown calls can go (below);
        // any other mention in it keeps the endpoint (the stray check).
        else if (x.type !== 'expression_statement') continue;
        group.push(x);
      }
      // Attributes holding its thread (`self.health_thread = Thread(target=answer_health)`): all go together or none.
      const requires = new Set<string>();
      for (const x of stmts) {
        if (group.includes(x)) continue;
        if ([...helpers].some((h) => mentions(x, h))) {
          const a = x.type === 'expression_statement' ? x.namedChild(0) : null;
          const target = a?.type === 'assignment' ? selfAttribute(a.childForFieldName('left')!) : null;
          // threading.Thread(target=answer_health, daemon=True).start()
          if (a?.type === 'call') group.push(x);
          else if (target) {
            requires.add(target);
            group.push(x);
          } else ok = false;
        }
      }
      if (!ok) continue;
      // Locals the group binds (`health_thread = threading.Thread(target=httpd.serve_forever)`): their uses
      // (`health_thread.start()`) go with it, or a kept one would read a name no longer bound.
      const derived = new Set<string>();
      for (let grew = true; grew && ok;) {
        grew = false;
        for (const g of group) {
          const e = g.type === 'expression_statement' ? g.namedChild(0) : null;
          const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
          if (left?.type === 'identifier' && left.text !== local && !derived.has(left.text)) {
            derived.add(left.text);
            grew = true;
          }
        }
        for (const x of stmts) {
          if (group.includes(x) || ![...derived].some((d) => mentions(x, d))) continue;
          if (x.type !== 'expression_statement') ok = false;
          else {
            group.push(x);
            grew = true;
          }
        }
      }
      if (!ok) continue;
      const inGroup = (n: SyntaxNode) => group.some((g) => g.startIndex <= n.startIndex && n.endIndex <= g.endIndex);
      // Its teardown elsewhere in the method (`health.shutdown()` in a finally): a call of the endpoint that goes with it.
      for (const b of methodBlocks(m)) {
        for (const x of b.namedChildren) {
          const c = x.type === 'expression_statement' && x.namedChildCount === 1 ? x.namedChild(0) : null;
          const fn = c?.type === 'call' ? c.childForFieldName('function') : null;
          if (!inGroup(x) && fn?.type === 'attribute' && fn.childForFieldName('object')?.text === local &&
              /^(shutdown|server_close|close)$/.test(fn.childForFieldName('attribute')!.text) && (c!.childForFieldName('arguments')?.namedChildCount ?? 0) === 0) group.push(x);
        }
      }
      // The request handler class defined in this method for it alone (`class Health(BaseHTTPRequestHandler)`,
      // given to the server's constructor): it goes with the endpoint, and what it answered moves to the health hook.
      for (const arg of ctor.childForFieldName('arguments')?.namedChildren ?? []) {
        if (arg.type !== 'identifier') continue;
        const def = methodBlocks(m).flatMap((b) => b.namedChildren).find((x) => x.type === 'class_definition' && x.childForFieldName('name')?.text === arg.text);
        const bases = def?.childForFieldName('superclasses')?.namedChildren ?? [];
        if (!def || !bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) continue;
        let elsewhere = false;
        walk(m.body, (n) => {
          if (n.type === 'identifier' && n.text === arg.text && !(def.startIndex <= n.startIndex && n.endIndex <= def.endIndex) && !inGroup(n)) elsewhere = true;
        });
        if (!elsewhere) group.push(def);
      }
      // A local of the method: whatever mentions it outside the group (a use after the block) keeps it all.
      let stray = false;
      walk(m.body, (n) => {
        if (n.type === 'identifier' && (n.text === local || derived.has(n.text)) && !inGroup(n)) stray = true;
      });
      if (stray) continue;
      for (const x of group) {
        out.push({ node: x, symbol: local, finding: 'health', reason: `local health endpoint of ${m.name}()`, requires: [...requires] });
      }
    }
  }
  return out;
}

/**
 * A server the method builds whatever port it binds (`server = HTTPServer((host, self.health_port),
 * HealthHandler)`, the legacy's own health-port name the profile does not know) with a request handler
 * class of that method answering health paths only: it is a health endpoint by what it serves. What its
 * handler answered moves to the base's health hook with it (a business field included).
 */
function servesHealthOnly(ctor: SyntaxNode, blocks: SyntaxNode[], servers: Set<string>): boolean {
  const def = nestedHandler(ctor, blocks, servers);
  return !!def && servesOnlyHealth(def);
}

/** The HTTP request handler class a server construction is given, when the method's own blocks define it. */
function nestedHandler(ctor: SyntaxNode, blocks: SyntaxNode[], servers: Set<string>): SyntaxNode | null {
  if (!bindArgument(ctor, servers)) return null;
  const handler = (ctor.childForFieldName('arguments')?.namedChildren ?? []).filter((a) => a.type !== 'keyword_argument' && a.type !== 'comment')[1];
  if (handler?.type !== 'identifier') return null;
  const def = blocks.flatMap((b) => b.namedChildren).find((x) => x.type === 'class_definition' && x.childForFieldName('name')?.text === handler.text);
  return def && (def.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? '')) ? def : null;
}

/**
 * The same server whose handler answers /health beside business paths stays (its routes are business),
 * beside the base's own health server: two answers to /health, and one bind fails when its port is the
 * one the base is given. Not provable either way from the code: a review item naming the server, its
 * routes and its port.
 */
function reviewHealthBesideBusiness(ctx: PythonTransformContext, m: PyFunction, st: SyntaxNode, local: string, ctor: SyntaxNode, blocks: SyntaxNode[], servers: Set<string>): void {
  const def = nestedHandler(ctor, blocks, servers);
  if (!def) return;
  const paths: string[] = [];
  walk(def, (n) => {
    const r = routeString(n);
    if (r && !paths.includes(r)) paths.push(r);
  });
  const health = paths.filter((p) => HEALTH_ROUTE.test(p));
  const business = paths.filter((p) => !HEALTH_ROUTE.test(p));
  if (!health.length || !business.length) return;
  const line = st.startPosition.row + 1;
  keep(ctx, local, line,
    `${m.name}() builds its own HTTP server in ${local} (${ctx.file}:${line}, bound to ${bindArgument(ctor, servers)!.text}), whose handler ${def.childForFieldName('name')!.text} answers ${health.join(', ')} beside ${business.join(', ')}: ` +
      `it stays for those routes, beside ${ctx.profile.base_class}'s own health server, so /health has two answers and, where its port is the one the base is given, one of them fails to bind; ` +
      `move its health answer to ${healthHook(ctx)}() and give the server a port of its own by hand`);
}

/**
 * A health server that an in-repository parent (a legacy mixin) starts on the port it is given, started by
 * the agent on its health port (`self.start_health_server(self.health_port)`): the call goes (the base
 * serves /health on that port), and so do the agent's calls of the parent's method that stops only that
 * server. What the parent's handler answered (on the agent: `mixin = self; mixin.health_payload()`) is
 * read in the parent's scope for the health hook. A parent method the agent overrides is the agent's.
 */
function inheritedHealthServers(ctx: PythonTransformContext, ports: Set<string>): StatementProposal[] {
  const out: StatementProposal[] = [];
  for (const parent of ctx.inherited()) {
    const servers = serverSubclasses(parent.module.root);
    const own = (name: string) => ctx.agent.methods.has(name) || ctx.baseOwned.has(name);
    for (const [name, fn] of parent.cls.methods) {
      if (own(name)) continue;
      const params = fn.params.map((p) => p.name).filter((p) => p !== 'self');
      // The parameter the method binds a server or socket on, serving health paths only.
      let index = -1;
      let bind: SyntaxNode | null = null;
      // Or the port the parent's own __init__ keeps from a keyword (`self.health_port = health_port`) that
      // the agent's super().__init__(health_port=...) gives it: a health port of the agent's.
      let fromInit = false;
      walk(fn.body, (n) => {
        if (index >= 0 || fromInit || n.type !== 'call') return;
        const arg = bindArgument(n, servers);
        const expr = arg ? portExpression(arg.text) : null;
        if (expr !== null) {
          index = params.indexOf(expr);
          bind = n;
          const raw = rawPortExpression(arg!.text)?.trim() ?? '';
          if (index < 0 && params.length === 0) fromInit = parentInitPort(ctx, parent.cls, raw, ports) || agentSetPort(ctx, parent.cls, raw, ports);
        }
      });
      // Paths besides health ones (/stats) only on a base whose route hook answers every one (checked below).
      const business = !servesNoOtherPath(fn.body);
      if ((index < 0 && !fromInit) || (business && !ctx.base.extraRoutes)) continue;
      // The request handler class of the parent's module that the server is given (`HTTPServer((h, port),
      // _HealthHandler)`), not nested in the method: what the server answered is that class's.
      const handler = moduleHandlerClass(parent.module.classes, bind, fn.body);
      if (handler && !servesNoOtherPath(handler.node)) continue;
      const param = fromInit ? '' : params[index]!;
      const started = new Set<string>();
      walk(fn.body, (n) => {
        if (n.type === 'assignment') {
          const a = selfAttribute(n.childForFieldName('left')!);
          if (a) started.add(a);
        }
      });
      const calls = agentCallStatements(ctx, name).filter((call) => {
        const args = call.childForFieldName('arguments')?.namedChildren ?? [];
        if (fromInit) return args.length === 0;
        const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param)?.childForFieldName('value');
        const arg = kw ?? args.filter((a) => a.type !== 'keyword_argument')[index];
        return !!arg && ports.has(normPort(arg.text));
      });
      if (!calls.length) continue;
      const scope: PayloadScope = {
        agent: { ...parent.cls, methods: new Map([...parent.cls.methods].filter(([m]) => !ctx.agent.methods.has(m))) },
        classes: new Map(parent.module.classes.map((c) => [c.name, c])),
        methods: new Set([...parent.cls.methods.keys(), ...ctx.agent.methods.keys()]),
        baseWord: baseHealthWord(ctx),
        baseFails: baseHealthFails(ctx),
        baseKeys: ctx.base.healthKeys?.get(healthHook(ctx)),
      };
      if (business && !extraRoutesAnswerAll(ctx, handler?.outer ?? fn.outer, scope)) continue;
      for (const call of calls) {
        out.push({
          node: call.parent!,
          symbol: name,
          finding: 'health',
          reason: `starts ${parent.cls.name}.${name}() (${parent.file}), a health server on the health port; the base serves /health there`,
          payloadRegion: { node: handler?.outer ?? fn.outer, scope },
        });
      }
      // `self.stop_health_server()`: a parent method without parameters touching only what the start set up.
      for (const [stop, sfn] of parent.cls.methods) {
        if (stop === name || own(stop) || sfn.params.some((p) => p.name !== 'self')) continue;
        const touched = new Set(selfMembers(sfn.body));
        walk(sfn.body, (n) => {
          if (n.type === 'call' && /^(getattr|hasattr)$/.test(callee(n) ?? '')) {
            const [obj, key] = n.childForFieldName('arguments')?.namedChildren ?? [];
            const k = key ? stringValue(key) : null;
            if (obj?.text === 'self' && k) touched.add(k);
          }
        });
        if (!touched.size || ![...touched].every((m) => started.has(m))) continue;
        for (const call of agentCallStatements(ctx, stop)) {
          out.push({ node: call.parent!, symbol: name, finding: 'health', reason: `stops the health server ${parent.cls.name}.${name}() started (the base stops its own)` });
        }
      }
    }
  }
  return out;
}

/**
 * `self.health_port` bound by a parent's method, where the parent's __init__ sets `self.health_port =
 * health_port` (its parameter, assigned once) and the agent's `super().__init__(health_port=<p>)` (or the
 * argument in that parameter's position, `super().__init__(name, interval, health_port)`) passes one of the
 * agent's health ports for it: the parent serves on the port the base now binds.
 */
export function parentInitPort(ctx: PythonTransformContext, parent: PyClass, expr: string, ports: Set<string>): boolean {
  const m = /^self\.(\w+)$/.exec(expr);
  const pinit = parent.methods.get('__init__');
  if (!m || !pinit) return false;
  const attr = m[1]!;
  let param: string | null = null;
  let assigned = 0;
  walk(pinit.body, (n) => {
    if (n.type !== 'assignment' || selfAttribute(n.childForFieldName('left')!) !== attr) return;
    assigned++;
    const right = n.childForFieldName('right');
    if (right?.type === 'identifier' && pinit.params.some((p) => p.name === right.text && p.kind !== 'kwargs' && p.kind !== 'args')) param = right.text;
  });
  // Set in one place only: the agent does not assign it itself either.
  if (!param || assigned !== 1 || ctx.agent.assignments.some((a) => a.attr === attr)) return false;
  const init = ctx.agent.methods.get('__init__');
  if (!init) return false;
  // Its position among the parent's positional parameters (after self); none past a *args or a bare *.
  const positional = pinit.params.slice(1);
  const stop = positional.findIndex((p) => p.kind === 'args' || p.kind === 'kwargs' || p.kind === 'separator');
  const at = positional.slice(0, stop < 0 ? undefined : stop).findIndex((p) => p.name === param);
  let given = false;
  walk(init.body, (n) => {
    if (given || n.type !== 'call' || !/^super\(\s*\)\.__init__$/.test(n.childForFieldName('function')?.text ?? '')) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    for (const a of args) {
      if (a.type === 'keyword_argument' && a.childForFieldName('name')!.text === param && ports.has(normPort(a.childForFieldName('value')!.text))) given = true;
    }
    // A positional argument counts only where no splat before it shifts the positions.
    const plain = args.slice(0, at + 1);
    if (at >= 0 && plain.length === at + 1 && plain.every((a) => a.type !== 'keyword_argument' && a.type !== 'list_splat' && a.type !== 'dictionary_splat') &&
        ports.has(normPort(plain[at]!.text))) given = true;
  });
  return given;
}

/**
 * `self.health_port` bound by a parent's method without parameters, where the agent itself sets that
 * attribute (and the parent never does) from one of its health ports (`self.health_port = health_port`,
 * the port it gives the base): the parent serves on the port the base now binds.
 */
function agentSetPort(ctx: PythonTransformContext, parent: PyClass, expr: string, ports: Set<string>): boolean {
  const m = /^self\.(\w+)$/.exec(expr);
  if (!m) return false;
  const attr = m[1]!;
  let parentSets = false;
  for (const fn of parent.methods.values()) {
    walk(fn.body, (n) => {
      if (n.type === 'assignment' && selfAttribute(n.childForFieldName('left')!) === attr) parentSets = true;
    });
  }
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  return !parentSets && sets.length > 0 && sets.every((a) => !!a.value && ports.has(normPort(a.value.text)));
}

/**
 * The module's request handler class named in a server's construction (`ThreadingHTTPServer(addr, H)`,
 * `TCPServer(addr, RequestHandlerClass=H)`), when the method does not define a class of that name itself.
 */
function moduleHandlerClass(classes: PyClass[], call: SyntaxNode | null, body: SyntaxNode): PyClass | null {
  if (!call) return null;
  const given = (a: SyntaxNode) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a);
  for (const a of (call.childForFieldName('arguments')?.namedChildren ?? []).slice(1)) {
    const name = given(a);
    if (name?.type !== 'identifier') continue;
    let nested = false;
    walk(body, (n) => {
      if (n.type === 'class_definition' && n.childForFieldName('name')?.text === name.text) nested = true;
    });
    if (nested) return null;
    const cls = classes.find((c) => c.name === name.text && c.bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? '')));
    if (cls) return cls;
  }
  return null;
}

/**
 * Module functions that define a request handler class and return it, built for a server by a call of the
 * agent's (`ThreadingHTTPServer(addr, make_health_handler(self))`): the function, and each call with its
 * parameters standing for what the call gave them (`scheduler` is the agent), so what the handler answered
 * is read in the agent's scope. A handler that also answers business paths (/stats) is read too: those
 * routes move onto the base's route hook (health-extra-routes) or are reported (health-hook), never
 * dropped with the server unread.
 */
export function handlerFactoryFunctions(ctx: PythonTransformContext): Array<{ fn: PyFunction; calls: Array<{ call: SyntaxNode; params: Map<string, SyntaxNode> }> }> {
  const cached = factoryCache.get(ctx.agent.cls.node);
  if (cached) return cached;
  const candidates = new Map<string, PyFunction>();
  for (const fn of ctx.module.functions.values()) {
    if (fn.isAsync || fn.decorators.length) continue;
    const body = statements(fn.body);
    const last = body.at(-1);
    if (last?.type !== 'return_statement' || last.namedChild(0)?.type !== 'identifier') continue;
    const handlers = body.filter((st) => st.type === 'class_definition' && (st.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? '')));
    if (handlers.length !== 1 || handlers[0]!.childForFieldName('name')!.text !== last.namedChild(0)!.text) continue;
    candidates.set(fn.name, fn);
  }
  const found = new Map<string, Array<{ call: SyntaxNode; params: Map<string, SyntaxNode> }>>();
  if (candidates.size) {
    for (const m of ctx.agent.methods.values()) {
      walkAgentCode(m, (n) => {
        if (n.type !== 'call' || n.parent?.type !== 'argument_list') return;
        const fn = candidates.get(callee(n) ?? '');
        if (!fn) return;
        const names = fn.params.filter((p) => p.kind === 'plain' || p.kind === 'default').map((p) => p.name);
        const params = new Map<string, SyntaxNode>();
        let positional = 0;
        for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
          if (a.type === 'keyword_argument') {
            const k = a.childForFieldName('name')!.text;
            if (names.includes(k)) params.set(k, a.childForFieldName('value')!);
          } else if (a.type !== 'list_splat' && a.type !== 'dictionary_splat' && positional < names.length) params.set(names[positional++]!, a);
        }
        const list = found.get(fn.name) ?? [];
        list.push({ call: n, params });
        found.set(fn.name, list);
      }, CALL_NODES);
    }
  }
  const out = [...found].map(([name, calls]) => ({ fn: candidates.get(name)!, calls }));
  factoryCache.set(ctx.agent.cls.node, out);
  return out;
}
const factoryCache = new WeakMap<SyntaxNode, Array<{ fn: PyFunction; calls: Array<{ call: SyntaxNode; params: Map<string, SyntaxNode> }> }>>();

/** `self.<name>(...)` calls that are whole statements of the agent's methods. */
function agentCallStatements(ctx: PythonTransformContext, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type === 'call' && callee(n) === `self.${name}` && n.parent?.type === 'expression_statement' && n.parent.namedChildCount === 1) out.push(n);
    }, CALL_NODES);
  }
  return out;
}

/**
 * Methods handed, uncalled, to a call that also takes a health endpoint: the callback that answers it
 * when it is ready (`self.selector.register(self.health_listener, selectors.EVENT_READ, self._answer_health)`,
 * `loop.add_reader(self.health_sock, self._on_probe)`).
 */
// The node types the typed walks below act on (see walkTypes): the others are passed over unmade.
const CALLS: ReadonlySet<string> = new Set(['call']);
// The untyped walks of the health checks below made a node object per node of each method; these show only what they read.
const ATTRIBUTES: ReadonlySet<string> = new Set(['attribute']);
const CLASS_OR_ATTRIBUTE: ReadonlySet<string> = new Set(['class_definition', 'attribute']);
const EXPRESSION_STATEMENTS: ReadonlySet<string> = new Set(['expression_statement']);
const IF_OR_EXPRESSION: ReadonlySet<string> = new Set(['if_statement', 'expression_statement']);

function endpointCallbacks(ctx: PythonTransformContext, endpoints: Set<string>): Set<string> {
  const out = new Set<string>();
  if (!endpoints.size) return out;
  walkTypes(ctx.agent.cls.node, CALLS, (n) => {
    if (n.type !== 'call') return;
    // A call naming no endpoint in its arguments hands none over: its arguments are not listed.
    const list = n.childForFieldName('arguments');
    const text = list?.text ?? '';
    if (![...endpoints].some((e) => text.includes(e))) return;
    const args = (list?.namedChildren ?? []).map((a) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a));
    const attrs = args.map((a) => (a ? selfAttribute(a) : null));
    if (!attrs.some((a) => a !== null && endpoints.has(a))) return;
    for (const a of attrs) if (a !== null && ctx.agent.methods.has(a)) out.add(a);
  });
  return out;
}

/** Does the code receive on (accept from, poll, serve) one of these attributes? */
function receivesOn(body: SyntaxNode, attrs: Set<string>, going: SyntaxNode[] = []): boolean {
  if (!attrs.size) return false;
  let found = false;
  walkTypes(body, CALLS, (n) => {
    if (found || n.type !== 'call' || going.some((g) => g.startIndex <= n.startIndex && n.endIndex <= g.endIndex)) return;
    const m = /^self\.(\w+)\.(recv\w*|accept|poll|serve_forever|handle_request)$/.exec(callee(n) ?? '');
    if (m && attrs.has(m[1]!)) found = true;
  });
  return found;
}

/** The agent's health port as its code writes it, from the profile's names for it (and port + 1). */
export function healthPortExpressions(ctx: PythonTransformContext): Set<string> {
  const passThrough = ctx.py.super_call.pass_through ?? {};
  const health = portRoles(passThrough).health;
  // A health port that lives only on a settings parameter (`self.settings.health_check_port`).
  const fromSettings = settingsParameterPorts(ctx.agent, passThrough);
  for (const f of fromSettings.get('health_check_port')?.forms ?? []) health.add(f);
  for (const f of fromSettings.get('port')?.forms ?? []) health.add(`${f}+1`);
  // One read only through the settings object the agent's port comes from (`self.config.health_port`).
  // (Settings built first that the base owns too go to it only where they can be built as a local until its call.)
  const held = heldSettingsPorts(ctx.agent, passThrough).get('health_check_port');
  if (held && !(held.built && ctx.baseOwned.has(held.holder) && !ownable(ctx, held.holder))) for (const f of held.forms) health.add(f);
  // The property the agent's business HTTP server binds on port + 1, which the base is handed (derived-port-server).
  const derived = handedDerivedPort(ctx);
  if (derived) health.add(normPort(derived));
  return health;
}

/**
 * `self.status_server = StatusServer(self.health_port, self.get_status)`: a server on the health port
 * handed one of the agent's methods (not called: a bound method) as what it answers with. The set-up
 * goes with the server although it names a kept method, because that method is what the base's
 * health hook calls from now on (health-hook reads `payloadMethods`): nothing it reported is lost.
 */
function providedServers(ctx: PythonTransformContext, attr: string, ports: Set<string>, servers: Set<string>): StatementProposal[] {
  const out: StatementProposal[] = [];
  for (const a of ctx.agent.assignments) {
    if (a.attr !== attr || a.value?.type !== 'call' || a.stmt.type !== 'expression_statement') continue;
    // A server class of the module with its own __init__ (standard servers and make_server take a
    // handler class or a WSGI app, never a status provider).
    const cls = callee(a.value) ?? '';
    if (!(servers instanceof ServerClasses) || !servers.addressParams.get(cls)) continue;
    const expr = boundPort(a.value, servers);
    if (expr === null || !ports.has(expr)) continue;
    const handed: string[] = [];
    for (const arg of a.value.childForFieldName('arguments')?.namedChildren ?? []) {
      const v = arg.type === 'keyword_argument' ? arg.childForFieldName('value') : arg;
      const m = v && v.type === 'attribute' ? selfAttribute(v) : null;
      const fn = m ? ctx.agent.methods.get(m) : undefined;
      // Called as self.m() by the hook: a plain method taking nothing but self.
      if (fn && !fn.isAsync && fn.params.filter((p) => p.name !== 'self').every((p) => p.kind === 'default')) handed.push(m!);
    }
    if (!handed.length) continue;
    out.push({
      node: a.stmt,
      symbol: attr,
      finding: 'health',
      reason: `health server on the health port answering with ${handed.map((m) => `self.${m}()`).join(', ')} (the base's health hook calls ${handed.length > 1 ? 'them' : 'it'} now)`,
      requires: [attr],
      payloadMethods: handed,
    });
  }
  return out;
}

function isListenerFactory(ctx: PythonTransformContext, fn: PyFunction, servers: ServerClasses): boolean {
  const made = listenerFactory(fn, servers, ctx.agent.cls.name);
  return !!made && 'param' in made;
}

/** Every call of the method stores what it returns in a health endpoint attribute (`self._status_server = self.m()`). */
function returnedToEndpoint(ctx: PythonTransformContext, name: string, endpoints: Set<string>): boolean {
  const refs = ctx.refs.of(name).filter((r) => !(r.kind === 'identifier' && r.node.parent?.id === ctx.agent.methods.get(name)!.node.id));
  if (!refs.length) return false;
  return refs.every((r) => {
    const node = r.node.parent?.type === 'attribute' && r.node.parent.childForFieldName('attribute')?.id === r.node.id ? r.node.parent : r.node;
    let call = node.parent;
    // self.health_server = self._stack.enter_context(self._make_health_server()): an ExitStack hands the server back.
    const outer = call?.type === 'call' ? call.parent?.parent : null;
    if (outer?.type === 'call' && enteredContext(outer)?.id === call!.id) call = outer;
    const assign = call?.type === 'call' ? call.parent : null;
    const attr = assign?.type === 'assignment' ? selfAttribute(assign.childForFieldName('left')!) : null;
    return !!attr && endpoints.has(attr);
  });
}

/** Is the attribute a socket bound, or a server constructed, on one of these ports? */
function servesPort(ctx: PythonTransformContext, attr: string, ports: Set<string>, servers: Set<string>): boolean {
  if (bindsOfAttribute(ctx.agent.methods.values(), attr).some((b) => b.expr !== null && ports.has(b.expr))) return true;
  return ctx.agent.assignments.some((a) => {
    if (a.attr !== attr || a.value?.type !== 'call') return false;
    // `self._stack.enter_context(server)` returns what `server.__enter__()` returns: the server itself.
    const value = enteredContext(a.value) ?? a.value;
    if (value.type !== 'call') return false;
    const expr = boundPort(value, servers);
    if (expr !== null && ports.has(expr)) return true;
    // self._status_server = self.start_status_endpoint(): a method that builds the server and returns it.
    const fn = builtByMethod(ctx, value);
    if (fn && returnedEndpoint(fn, ports, servers) !== null) return true;
    // self._health_sock = self._make_listener(self.health_port): a helper that only makes the socket on the port it is handed.
    const made = madeListener(ctx, value, servers);
    return !!made && ports.has(made);
  });
}

/** The port a call of the agent's own listener helper (`self._make_listener(self.health_port)`) binds, or null. */
function madeListener(ctx: PythonTransformContext, call: SyntaxNode, servers: Set<string>): string | null {
  const fn = listenerHelper(ctx, call, servers);
  const made = fn ? listenerFactory(fn, servers as ServerClasses, ctx.agent.cls.name) : null;
  return made && 'param' in made ? listenerPort(call, made.param) : null;
}

/** `self.m(...)`: the agent's method m when it is called on self (a staticmethod included). */
function listenerHelper(ctx: PythonTransformContext, call: SyntaxNode, servers: Set<string>): PyFunction | null {
  const f = call.childForFieldName('function');
  const m = f ? selfAttribute(f) : null;
  return m && servers instanceof ServerClasses ? ctx.agent.methods.get(m) ?? null : null;
}

/** `self.m()` with no arguments: the agent's method m, whose answer the call is. */
function builtByMethod(ctx: PythonTransformContext, call: SyntaxNode): PyFunction | null {
  const f = call.childForFieldName('function');
  const m = f ? selfAttribute(f) : null;
  return m && (call.childForFieldName('arguments')?.namedChildCount ?? 0) === 0 ? ctx.agent.methods.get(m) ?? null : null;
}

/**
 * `stack.enter_context(x)` (a contextlib.ExitStack, sync or async): the one argument `x`, whose `__enter__()`
 * result it returns (a socketserver / http.server server returns itself); else null.
 */
export function enteredContext(call: SyntaxNode): SyntaxNode | null {
  if (call.type !== 'call') return null;
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute' || !/^(enter_context|enter_async_context)$/.test(fn.childForFieldName('attribute')?.text ?? '')) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 1 && args[0]!.type !== 'keyword_argument' ? args[0]! : null;
}

/**
 * A method that only builds a server on the health port and returns it: handler classes, the server in a
 * local, a thread serving it, log lines, `return server`. The local's name, or null for any other method.
 */
function returnedEndpoint(fn: PyFunction, ports: Set<string>, servers: Set<string>): string | null {
  if (fn.decorators.length || fn.isAsync || fn.params.length !== 1) return null;
  let local: string | null = null;
  let returned = false;
  for (const st of statements(fn.body)) {
    if (isDocstringStmt(st)) continue;
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (def?.type === 'class_definition') {
      if ((def.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) continue;
      return null;
    }
    if (st.type === 'return_statement') {
      if (!local || st.namedChild(0)?.text !== local) return null;
      returned = true;
      continue;
    }
    if (st.type !== 'expression_statement' || returned) return null;
    const e = st.namedChild(0)!;
    if (e.type === 'assignment') {
      const left = e.childForFieldName('left')!;
      const right = e.childForFieldName('right');
      if (left.type === 'identifier' && right?.type === 'identifier' && right.text === 'self') continue;
      const expr = right?.type === 'call' ? boundPort(right, servers) : null;
      // On a health port, or on a port of the legacy's own name with a handler of this method answering health paths only.
      if (left.type === 'identifier' && !local && expr !== null && (ports.has(expr) || servesHealthOnly(right!, [fn.body], servers))) {
        local = left.text;
        continue;
      }
      // `server.daemon_threads = True`, `server.timeout = 0.5`: the server configured with a constant.
      if (local && left.type === 'attribute' && left.childForFieldName('object')?.text === local && right && CONSTANT.has(right.type)) continue;
      return null;
    }
    if (e.type !== 'call') return null;
    const fnName = callee(e) ?? '';
    if (/^(self\.)?_?(logger|log|logging)\.(debug|info|warning|error)$/.test(fnName)) continue;
    // threading.Thread(target=server.serve_forever, ...).start()
    if (local && /\.start$/.test(e.childForFieldName('function')!.text) && /(^|\.)Thread\(/.test(e.text) && new RegExp(`target\\s*=\\s*${local}\\.serve_forever\\b`).test(e.text)) continue;
    return null;
  }
  return returned ? local : null;
}

/** The profile's health hook: the base method whose payload its health endpoint reports. */
export function healthHook(ctx: PythonTransformContext): string {
  return ctx.py.health_hook ?? '_get_health_status';
}

/** The healthy word the base's health hook says as its status (read from its source; BaseAgent's "ok" when unknown). */
export function baseHealthWord(ctx: PythonTransformContext): string {
  return ctx.base.healthWords?.get(healthHook(ctx)) ?? DEFAULT_BASE_WORD;
}

/** Can the base's health hook also say a failing status (read from its source)? A legacy status then waits for the base's healthy word. */
export function baseHealthFails(ctx: PythonTransformContext): boolean {
  return ctx.base.healthFails?.has(healthHook(ctx)) ?? false;
}

export function payloadScope(ctx: PythonTransformContext): PayloadScope {
  return {
    agent: ctx.agent.cls,
    classes: new Map(ctx.module.classes.map((c) => [c.name, c])),
    methods: new Set(ctx.agent.methods.keys()),
    baseWord: baseHealthWord(ctx),
    baseFails: baseHealthFails(ctx),
    baseKeys: ctx.base.healthKeys?.get(healthHook(ctx)),
    healthPort: baseHttpHealthPort(ctx),
    baseOwned: ctx.baseOwned,
  };
}

/**
 * The base's expression for the port of its HTTP health endpoint, read from what it binds: its health port
 * (`self.health_check_port`), or the role it serves HTTP on when its health port speaks another protocol
 * (`self.port + 2` beside a ZMQ health socket). Undefined when the base has no such attribute.
 */
function baseHttpHealthPort(ctx: PythonTransformContext): string | undefined {
  const http = [...ctx.base.bindKinds].find(([, k]) => k === 'http')?.[0];
  const role = ctx.base.bindKinds.get('health_check_port') === 'http' || !http ? 'health_check_port' : http;
  const m = /^(\w+)(?:\+(\d+))?$/.exec(role);
  if (!m || !ctx.base.attributes.has(m[1]!)) return undefined;
  return m[2] ? `self.${m[1]} + ${m[2]}` : `self.${m[1]}`;
}

/** Every call `name(...)` in the tree under `root`. */
function constructionsOf(root: SyntaxNode, name: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walkTypes(root, CALLS, (n) => {
    if (n.type === 'call' && n.childForFieldName('function')?.text === name) out.push(n);
  });
  return out;
}

/** A server construction handed a request handler class that goes as health-only (`ThreadedHTTPServer(addr, HealthHandler)`). */
function servesSidecar(call: SyntaxNode, sidecars: Set<string>): boolean {
  const args = (call.childForFieldName('arguments')?.namedChildren ?? []).map((a) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a));
  return args.some((a) => a?.type === 'identifier' && sidecars.has(a.text));
}

function constructs(value: SyntaxNode, classes: Set<string>): boolean {
  let found = false;
  walkTypes(value, CALLS, (n) => {
    if (n.type === 'call' && classes.has(n.childForFieldName('function')?.text ?? '')) found = true;
  });
  return found;
}

/**
 * A method named like a health loop that the plan proposed but kept (it does business: a heartbeat that
 * re-registers with a registry of the agent's own, reporting business figures): code that starts it is
 * not health code, or the loop would be left with no caller.
 */
function keptLoop(ctx: PythonTransformContext, m: string): boolean {
  return ctx.agent.methods.has(m) && ctx.plan.hasProposal(m);
}

function agentHas(ctx: PythonTransformContext, m: string): boolean {
  return ctx.agent.attributes.has(m) || ctx.agent.methods.has(m);
}

/**
 * A method (no parameters but self, no decorators) whose every statement builds or starts a health
 * endpoint: the server assigned to an endpoint attribute, the thread serving it, the request handler
 * class it is given, an alias of self for that handler, a log line. Whatever its name, it is the
 * health set-up (its payload moves to the base's hook; business it touches keeps it, see proposeHealthLoop).
 */
function setsUpEndpointOnly(fn: PyFunction, endpoints: Set<string>): boolean {
  if (!endpoints.size || fn.decorators.length || fn.params.length !== 1) return false;
  let assigns = false;
  const threads = new Set<string>();
  for (const st of statements(fn.body)) {
    if (isDocstringStmt(st)) continue;
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (def?.type === 'class_definition') {
      if ((def.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) continue;
      return false;
    }
    if (st.type !== 'expression_statement') return false;
    const e = st.namedChild(0)!;
    if (e.type === 'assignment') {
      const left = e.childForFieldName('left')!;
      const right = e.childForFieldName('right');
      if (left.type === 'identifier' && right?.type === 'identifier' && right.text === 'self') continue;
      const attr = selfAttribute(left);
      if (attr && endpoints.has(attr)) {
        assigns = true;
        continue;
      }
      // self._health_thread = threading.Thread(target=self._health_httpd.serve_forever, daemon=True)
      if (attr && right && threadServing(right, endpoints)) {
        threads.add(attr);
        continue;
      }
      return false;
    }
    if (e.type !== 'call') return false;
    const fnName = callee(e) ?? '';
    if (/^(self\.)?_?(logger|log|logging)\.(debug|info|warning|error)$/.test(fnName)) continue;
    // self._health_thread.start(), that thread set just before
    const started = /^self\.(\w+)\.start$/.exec(fnName.replace(/\s+/g, ''))?.[1];
    if (started && threads.has(started) && !(e.childForFieldName('arguments')?.namedChildCount ?? 0)) continue;
    // threading.Thread(target=self.<endpoint>.serve_forever, ...).start()
    const members = [...selfMembers(e)];
    if (/\.start$/.test(fnName) && /(^|\.)Thread\(/.test(e.text) && members.length && members.every((m) => endpoints.has(m))) continue;
    return false;
  }
  return assigns;
}

function isDocstringStmt(st: SyntaxNode): boolean {
  return st.type === 'expression_statement' && st.namedChildCount === 1 && st.namedChild(0)!.type === 'string';
}

/**
 * Module functions the agent hands an endpoint's serving loop (`start_daemon(self.httpd.serve_forever,
 * "health")`) whose body only builds a thread on a parameter, starts it and returns it.
 */
function threadHelpersOf(ctx: PythonTransformContext, endpoints: Set<string>): string[] {
  const out = new Set<string>();
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'call') return;
      const name = n.childForFieldName('function');
      if (name?.type !== 'identifier') return;
      const fn = ctx.module.functions.get(name.text);
      if (!fn || fn.decorators.length || fn.isAsync) return;
      const hands = (n.childForFieldName('arguments')?.namedChildren ?? []).some((a) => {
        const v = a.type === 'keyword_argument' ? a.childForFieldName('value') : a;
        return v?.type === 'attribute' && v.childForFieldName('attribute')!.text === 'serve_forever' && endpoints.has(selfAttribute(v.childForFieldName('object')!) ?? '');
      });
      if (hands && onlyStartsThread(fn)) out.add(fn.name);
    }, CALL_NODES);
  }
  return [...out];
}

function onlyStartsThread(fn: PyFunction): boolean {
  const body = statements(fn.body).filter((st) => !isDocstringStmt(st));
  let thread: string | null = null;
  for (const st of body) {
    const t = st.text.replace(/\s+/g, '');
    const m = /^(\w+)=(threading\.)?Thread\(.*\)$/.exec(t);
    if (m && !thread) {
      thread = m[1]!;
      continue;
    }
    if (thread && (t === `${thread}.start()` || t === `return${thread}` || new RegExp(`^${thread}\\.daemon=(True|False)$`).test(t))) continue;
    if (/^(threading\.)?Thread\(.*\)\.start\(\)$/.test(t)) continue;
    return false;
  }
  return body.length > 0;
}

/**
 * Members a health method reads only to name the health port (`self.settings.health_check_port`, the
 * settings object that holds the port the base is given): reading the port is not business.
 */
function readOnlyForHealthPort(ctx: PythonTransformContext, body: SyntaxNode): Set<string> {
  const health = healthPortExpressions(ctx);
  const portUse = new Set<string>();
  const otherUse = new Set<string>();
  walkTypes(body, ATTRIBUTES, (n) => {
    const m = selfAttribute(n);
    if (m === null) return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('object')?.id === n.id && health.has(normPort(p.text))) portUse.add(m);
    else otherUse.add(m);
    return false;
  });
  return new Set([...portUse].filter((m) => !otherUse.has(m)));
}

/**
 * Members that are threading.Event objects (every assignment in the agent makes one) and that this
 * code only polls (`self.X.is_set()`, `self.X.wait(...)`): the stop flag ending the health loop, whatever
 * its name. Polling it is loop control, not business; whatever sets it stays where it is.
 */
function stopEventsOnlyPolled(ctx: PythonTransformContext, body: SyntaxNode): Set<string> {
  const polled = new Set<string>();
  const other = new Set<string>();
  walkTypes(body, ATTRIBUTES, (n) => {
    const m = selfAttribute(n);
    if (m === null) return;
    const method = n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id ? n.parent.childForFieldName('attribute')?.text : undefined;
    const called = n.parent?.parent?.type === 'call' && n.parent.parent.childForFieldName('function')?.id === n.parent.id;
    if (called && (method === 'is_set' || method === 'wait')) polled.add(m);
    else other.add(m);
    return false;
  });
  return new Set(
    [...polled].filter((m) => {
      if (other.has(m)) return false;
      const assigns = ctx.agent.assignments.filter((a) => a.attr === m);
      return assigns.length > 0 && assigns.every((a) => valueType(a.value) === 'threading.Event');
    }),
  );
}

function membersUsed(body: SyntaxNode): Set<string> {
  return selfMembers(body);
}

/**
 * membersUsed, less what the `except` clauses of a `try` around only the removed health transport read
 * (`try: self.health_socket.send_json(...)` / `except Exception as exc: self.report_error("health", exc)`):
 * they report failures of a reply that goes with the health code, so they are not business work of it.
 */
const TRY_STATEMENT: ReadonlySet<string> = new Set(['try_statement']);
/** What the second walk of membersBesideTransportFailures looks at: attributes, and the clauses it skips. */
const ATTRIBUTE_OR_EXCEPT: ReadonlySet<string> = new Set(['attribute', 'except_clause', 'except_group_clause']);

function membersBesideTransportFailures(body: SyntaxNode, removed: ReadonlySet<string>): Set<string> {
  const skipped: SyntaxNode[] = [];
  walkTypes(body, TRY_STATEMENT, (n) => {
    const tried = n.childForFieldName('body')?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    const transportOnly = tried.length > 0 && tried.every((st) => [...selfMembers(st)].some((m) => removed.has(m)));
    if (transportOnly) skipped.push(...n.namedChildren.filter((c) => c.type === 'except_clause' || c.type === 'except_group_clause'));
  });
  const used = membersUsed(body);
  if (!skipped.length) return used;
  // Dropped only when every mention is inside such a clause (anything else keeps it, conservatively).
  const outside = new Set<string>();
  walkTypes(body, ATTRIBUTE_OR_EXCEPT, (n) => {
    if (skipped.some((x) => x.id === n.id)) return false;
    const attr = selfAttribute(n);
    if (attr) outside.add(attr);
  });
  const onlyThere = new Set(skipped.flatMap((c) => [...selfMembers(c)]).filter((m) => !outside.has(m)));
  return new Set([...used].filter((m) => !onlyThere.has(m)));
}

/** Why a payload method is business (a reason), or null when it is a pure health payload. */
function businessPayload(
  ctx: PythonTransformContext,
  body: SyntaxNode,
  scope: { removed: Set<string>; baseOwned: Set<string> },
): string | null {
  const reasons: string[] = [];
  const fn = [...ctx.agent.methods.values()].find((f) => f.body.id === body.id);
  if (fn) {
    walkAgentCode(fn, (n) => {
      if (n.type === 'pair') {
        const key = stringValue(n.childForFieldName('key')!);
        if (key !== null && !HEALTH_PAYLOAD_KEYS.has(key)) reasons.push(`"${key}"`);
      }
    });
  }
  const business = [...membersUsed(body)].filter(
    (m) => !scope.removed.has(m) && !scope.baseOwned.has(m) && !healthish(m) && !/^(initialized|initialization_error|start_time|running|name|port)$/.test(m),
  );
  reasons.push(...business.map((m) => `self.${m}`));
  return reasons.length ? [...new Set(reasons)].slice(0, 4).join(', ') : null;
}

/** No path but health ones (none at all: a raw TCP/UDP handler answers whatever it is sent). */
export function servesNoOtherPath(body: SyntaxNode): boolean {
  return businessPaths(body).length === 0;
}

/** Paths a handler routes besides health ones (`/archive/days`, a health-like path beside /health), in source order. */
export function businessPaths(body: SyntaxNode): string[] {
  const besideHealth = healthLikeBusinessPaths(body);
  const out: string[] = [];
  walk(body, (n) => {
    const s = routeString(n);
    if (s && (!HEALTH_ROUTE.test(s) || besideHealth.has(s)) && !out.includes(s)) out.push(s);
  });
  return out;
}

/** The handler class is what the agent's server on the health port serves with (`TCPServer((h, health_port), C)`). */
function handlesHealthServer(ctx: PythonTransformContext, cls: string, ports: Set<string>, servers: Set<string>): boolean {
  let found = false;
  walkTypes(ctx.agent.cls.node, CALLS, (n) => {
    if (found || n.type !== 'call') return;
    if (!ports.has(boundPort(n, servers) ?? '')) return;
    // TCPServer((h, health_port), C), make_server(h, health_port, app, handler_class=C)
    const given = (a: SyntaxNode) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a);
    if ((n.childForFieldName('arguments')?.namedChildren ?? []).some((a) => given(a)?.type === 'identifier' && given(a)!.text === cls)) found = true;
  });
  return found;
}

const HEALTH_ROUTE = /^\/(health|healthz|status|ping|ready|live)/;

/** An HTTP handler whose GET answers only health paths. */
function servesOnlyHealth(body: SyntaxNode): boolean {
  const paths: string[] = [];
  walk(body, (n) => {
    const s = routeString(n);
    if (s) paths.push(s);
  });
  const besideHealth = healthLikeBusinessPaths(body);
  return paths.length > 0 && paths.every((p) => HEALTH_ROUTE.test(p) && !besideHealth.has(p));
}
