// Concern: a health server started through a module-level helper function of the agent's file
// (`self.health_server = start_health_server(self.health_check_port, self.health_status)`, the helper
// binding an HTTP server on the port it is given, answering /health only, on a daemon thread). Called
// with the agent's health port, it binds what the base binds: the call goes, and with it the attribute
// holding the server (its `.shutdown()` in the teardown goes with it); what the helper's handler answered
// is read there with the helper's parameters standing for what the call gave them (status_fn() is the
// agent's self.health_status()), for the base's health hook. The helper goes once nothing else calls it.
// A helper imported from another file of the repository (`from agents.lib.health_http import
// start_health_server`, shared by several agents, its module-level handler reaching the agent through
// `self.server.agent` the helper tagged) is read the same way in its own module; it stays there (the
// agent's import goes once unused).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { baseName, type ModuleModel, type PyFunction } from '../../src/lang/python/module-model.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { bindArgument, normPort, portExpression, portRoles, serverSubclasses } from '../../src/analysis/ports.js';
import { CALL_NODES, walkAgentCode } from '../../src/analysis/agent-model.js';
import { callee, selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { payloadScope, servesNoOtherPath } from './remove-health.js';
import { extraRoutesAnswerAll, extraRoutesAnswered } from './health-extra-routes.js';
import { routeString, type PayloadScope } from '../../src/analysis/health-payload.js';

export const removeHealthHelperServer: PythonTransform = {
  name: 'health-helper-server',
  phase: 'propose',
  run(ctx) {
    const healthPorts = portRoles(ctx.py.super_call.pass_through ?? {}).health;
    for (const helper of healthHelpers(ctx)) {
      const all = helperCalls(ctx, helper);
      let calls = all.filter((c) => healthPorts.has(normPort(c.args.get(helper.portParam)!.text)));
      // The agent's one health server, on a port of another name: that port becomes the base's health port.
      const own = !calls.length && all.length === 1 ? ownHealthPortParam(ctx, all[0]!, helper, healthPorts) : null;
      if (own) calls = all;
      if (!calls.length) continue;
      const regions = calls.map((call) => {
        const params = new Map([...call.args].filter(([p]) => p !== helper.portParam));
        return { node: helper.handler ?? helper.fn.outer, scope: { ...payloadScope(ctx), params } };
      });
      // Paths it answers besides health ones (/status) stay answered only where the base's route hook takes every one;
      // on a port the base only now takes as its health port, every path but /health (/ping, /status alike).
      if (helper.business && !regions.every((r) => extraRoutesAnswerAll(ctx, r.node, r.scope))) continue;
      if (own && !regions.every((r) => answersEveryRoute(ctx, r))) continue;
      if (own) ctx.healthPortParam = own;
      for (const [i, call] of calls.entries()) {
        const payloadRegion = regions[i]!;
        const where = helper.file ? `${helper.file}:${helper.fn.line}` : `line ${helper.fn.line}`;
        const reason = `starts ${helper.fn.name}() (${where}), a health server on the health port; the base serves /health there`;
        if (call.attr) {
          ctx.plan.proposeMember({ name: call.attr, kind: 'attribute', finding: 'health', reason: `holds the health server ${helper.fn.name}() started`, safeToKeep: !ctx.baseOwned.has(call.attr) });
          ctx.plan.proposeStatement({ node: call.stmt, symbol: call.attr, finding: 'health', reason, requires: [call.attr], payloadRegion });
        } else {
          ctx.plan.proposeStatement({ node: call.stmt, symbol: helper.fn.name, finding: 'health', reason, payloadRegion });
        }
      }
      if (helper.file) continue;
      ctx.plan.proposeMember({
        name: helper.fn.name,
        kind: 'module-function',
        finding: 'health',
        reason: 'module helper starting a health server (the base serves /health)',
        safeToKeep: true,
      });
    }
  },
};

interface HealthHelper {
  fn: PyFunction;
  /** The name the agent's file calls it by (its own name, or the local name of the import). */
  local: string;
  /** The repository file it is imported from; null for a function of the agent's own file. */
  file: string | null;
  /** The parameter the server is bound on. */
  portParam: string;
  /** The module's request handler class the server is given (`ThreadingHTTPServer(addr, StatsHandler)`), when it is not nested in the helper. */
  handler: SyntaxNode | null;
  /** It answers paths besides health ones (`/status` beside `/health`). */
  business: boolean;
}

/**
 * Module functions that bind one server, on one of their parameters, answering health paths only,
 * and serve it (serve_forever, directly or as a thread's target).
 */
function healthHelpers(ctx: PythonTransformContext): HealthHelper[] {
  const candidates: Array<{ fn: PyFunction; local: string; file: string | null; module: ModuleModel }> =
    [...ctx.module.functions.values()].map((fn) => ({ fn, local: fn.name, file: null, module: ctx.module }));
  // Functions imported by name from a file of the repository (read only when the agent calls such a name).
  let called: Set<string> | undefined;
  for (const [local, imp] of ctx.module.imports) {
    if (imp.name === null || ctx.module.functions.has(local) || !(called ??= calledNames(ctx)).has(local)) continue;
    const t = ctx.imported(local);
    const fn = t?.name ? t.module.functions.get(t.name) : undefined;
    if (fn) candidates.push({ fn, local, file: t!.file, module: t!.module });
  }
  const out: HealthHelper[] = [];
  for (const { fn, local, file, module } of candidates) {
    const servers = serverSubclasses(module.root);
    if (fn.isAsync || fn.decorators.length) continue;
    const params = fn.params.filter((p) => p.kind === 'plain' || p.kind === 'default').map((p) => p.name);
    const binds: Array<string | null> = [];
    const bindCalls: SyntaxNode[] = [];
    let serves = false;
    walk(fn.body, (n) => {
      if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === 'serve_forever') serves = true;
      if (n.type !== 'call') return;
      const arg = bindArgument(n, servers);
      if (arg) {
        binds.push(portExpression(arg.text));
        bindCalls.push(n);
      }
    });
    const port = binds.length === 1 ? binds[0] : null;
    if (!serves || port === null || !params.includes(port)) continue;
    // The handler the server answers with: nested in the helper, or a class of the module named in the
    // server call (what it answers is that class's, followed there).
    const handler = moduleHandler(ctx, module, bindCalls[0]!, fn);
    if (handler === undefined) continue;
    const answering = handler ?? fn.body;
    // Other paths beside health ones: only on a base serving extra routes, checked per call (run()).
    const business = !servesNoOtherPath(fn.body) || !servesNoOtherPath(answering);
    if ((business && !ctx.base.extraRoutes) || !answersHealth(answering)) continue;
    out.push({ fn, local, file, portParam: port, handler, business });
  }
  return out;
}

/**
 * The module-level request handler class a helper's server call is given (`ThreadingHTTPServer(addr,
 * StatsHandler)`): its node; null when the helper defines what it serves itself (a nested handler, or
 * the handler is not a name); undefined when the name is a class the module does not define as an
 * HTTP handler (what it answers cannot be read).
 */
function moduleHandler(ctx: PythonTransformContext, module: ModuleModel, call: SyntaxNode, fn: PyFunction): SyntaxNode | null | undefined {
  const given = (a: SyntaxNode) => (a.type === 'keyword_argument' ? a.childForFieldName('value') : a);
  const names = (call.childForFieldName('arguments')?.namedChildren ?? []).slice(1).map(given).filter((a): a is SyntaxNode => a?.type === 'identifier');
  for (const name of names) {
    let nested = false;
    walk(fn.body, (n) => {
      if (n.type === 'class_definition' && n.childForFieldName('name')?.text === name.text) nested = true;
    });
    if (nested) return null;
    const cls = module.classes.find((c) => c.name === name.text);
    if (!cls) continue;
    if ((module === ctx.module && cls.name === ctx.agent.cls.name) || !cls.bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) return undefined;
    return cls.node;
  }
  return null;
}

/** The helper's handler answers a health route (`/health`, `/healthz`, ...) or any GET with a JSON status. */
export function answersHealth(body: SyntaxNode): boolean {
  let found = false;
  walk(body, (n) => {
    if (n.type === 'string' && /^[rbuf]*["']\/(health|healthz|status|ping|ready|live)\b/i.test(n.text)) found = true;
    if (n.type === 'function_definition' && n.childForFieldName('name')?.text === 'do_GET') {
      walk(n, (x) => {
        if (x.type === 'call' && callee(x) === 'json.dumps') found = true;
      });
    }
  });
  return found;
}

interface HelperCall {
  /** The whole statement: `helper(...)` or `self.<attr> = helper(...)`. */
  stmt: SyntaxNode;
  attr: string | null;
  /** Parameter name -> the argument the call gives it. */
  args: Map<string, SyntaxNode>;
}

/** The agent's calls of the helper that are whole statements, with their arguments by parameter. */
function helperCalls(ctx: PythonTransformContext, helper: HealthHelper): HelperCall[] {
  const out: HelperCall[] = [];
  const params = helper.fn.params.filter((p) => p.kind === 'plain' || p.kind === 'default').map((p) => p.name);
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'call' || callee(n) !== helper.local) return;
      const args = new Map<string, SyntaxNode>();
      let positional = 0;
      let ok = true;
      for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
        if (a.type === 'keyword_argument') {
          const name = a.childForFieldName('name')!.text;
          if (!params.includes(name)) ok = false;
          else args.set(name, a.childForFieldName('value')!);
        } else if (a.type === 'list_splat' || a.type === 'dictionary_splat' || positional >= params.length) ok = false;
        else args.set(params[positional++]!, a);
      }
      if (!ok || !args.has(helper.portParam)) return;
      const parent = n.parent;
      if (parent?.type === 'expression_statement' && parent.namedChildCount === 1) {
        out.push({ stmt: parent, attr: null, args });
      } else if (parent?.type === 'assignment' && parent.childForFieldName('right')?.id === n.id && parent.parent?.type === 'expression_statement') {
        const attr = selfAttribute(parent.childForFieldName('left')!);
        if (attr) out.push({ stmt: parent.parent, attr, args });
      }
    });
  }
  return out;
}

/** Every path the helper's handler routes, but /health, would be answered through the base's route hook. */
function answersEveryRoute(ctx: PythonTransformContext, region: { node: SyntaxNode; scope: PayloadScope }): boolean {
  const answered = extraRoutesAnswered(ctx, region.node, region.scope);
  if (!answered) return false;
  let ok = true;
  walk(region.node, (n) => {
    const p = routeString(n)?.split('?')[0]!.replace(/\/+$/, '');
    if (p && p !== '/health' && !answered.has(p)) ok = false;
  });
  return ok;
}

/**
 * The port a health helper is given in the agent's __init__, when it is a parameter of that __init__ (`status_port`)
 * and the agent has no port of the profile's health names (no parameter, no attribute): the health server the agent
 * had, whose port the base can take as its own. Null otherwise.
 */
function ownHealthPortParam(ctx: PythonTransformContext, call: HelperCall, helper: HealthHelper, healthPorts: Set<string>): string | null {
  const init = ctx.agent.methods.get('__init__');
  const arg = call.args.get(helper.portParam)!;
  if (!init || arg.type !== 'identifier' || !(init.node.startIndex <= call.stmt.startIndex && call.stmt.endIndex <= init.node.endIndex)) return null;
  if (!init.params.some((p) => p.name === arg.text && (p.kind === 'plain' || p.kind === 'default'))) return null;
  // Rebound before the call, the parameter is not what the helper got.
  if (ctx.agent.assignments.some((a) => a.attr === arg.text) || init.params.some((p) => healthPorts.has(normPort(p.name)))) return null;
  if (ctx.agent.assignments.some((a) => healthPorts.has(normPort(a.attr)))) return null;
  let rebound = false;
  walk(init.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === arg.text) rebound = true;
  });
  return rebound ? null : arg.text;
}

/**
 * The bare names (and dotted callees) the agent's code calls (`start_health_server(...)`), read in
 * one walk of the agent's calls: healthHelpers asks about each imported name, and a walk of every
 * node of every method per name was about 3 % of a rewrite.
 */
function calledNames(ctx: PythonTransformContext): Set<string> {
  const names = new Set<string>();
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      const c = callee(n);
      if (c !== null) names.add(c);
    }, CALL_NODES);
  }
  return names;
}
