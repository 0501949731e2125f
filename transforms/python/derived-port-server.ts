// Concern: an agent with no health endpoint whose own HTTP server (a /stats page of the business, a module
// handler class answering GET only) listens on a read-only property whose default is port + 1: the port the
// base, given no health port, takes for its health server. Both would bind it (the port plan refused the
// agent). When the base can answer every path of that server through its route hook (_extra_routes()), the
// server is the agent's health endpoint to be: the base is handed the property's value as its
// health_check_port (owned-property's companion, spelled out before super().__init__()), remove-health
// takes the server as the one on the health port, and its paths are answered by the base on the same port,
// so nothing the server's clients call moves. Choosing another port for either stays the fleet's call: the
// base is also told (the profile's keep_routes_keyword, when its __init__ takes it) that those paths stay on
// that port when the environment's HEALTH_CHECK_PORT moves /health elsewhere.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { bindArgument, portExpression, serverSubclasses } from '../../src/analysis/ports.js';
import { expressionDefault } from '../../src/analysis/port-defaults.js';
import { routeString } from '../../src/analysis/health-payload.js';
import { walk } from '../../src/lang/python/syntax.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { payloadScope } from './remove-health.js';
import { extraRoutesAnswered } from './health-extra-routes.js';
// owned-property imports this file too: functions only, called at run time.
import { earlyTest, propertyFeed } from './owned-property.js';

const found = new WeakMap<PythonTransformContext, string | null>();
const handed = new WeakMap<PythonTransformContext, string | null>();

/**
 * That property, when the base is handed its value (owned-property spells it out before super().__init__()):
 * only then is its server the one on the base's health port. Otherwise the server stays, and the port plan says why.
 */
export function handedDerivedPort(ctx: PythonTransformContext): string | null {
  if (!handed.has(ctx)) {
    const prop = derivedPortServerProperty(ctx);
    handed.set(ctx, prop && propertyFeed(ctx, earlyTest(ctx)).feed?.values.has('health_check_port') ? prop : null);
  }
  return handed.get(ctx)!;
}

/**
 * The keyword (given `=True`) by which the base keeps the routes of the health port it is handed there when
 * HEALTH_CHECK_PORT moves its /health elsewhere: the profile's, when the base's __init__ takes it (else null:
 * an older copy of the base moves them with /health).
 */
export function keptRoutesKeyword(ctx: PythonTransformContext): string | null {
  const kw = ctx.py.super_call.keep_routes_keyword;
  return kw && ctx.base.initParams.includes(kw) ? kw : null;
}

/** The read-only property the agent's one business HTTP server binds on the base's derived health port, or null. */
export function derivedPortServerProperty(ctx: PythonTransformContext): string | null {
  if (!found.has(ctx)) found.set(ctx, read(ctx));
  return found.get(ctx)!;
}

function read(ctx: PythonTransformContext): string | null {
  const sc = ctx.py.super_call;
  if (!ctx.base.extraRoutes || !ctx.base.initParams.includes('health_check_port')) return null;
  // The agent has a health port of its own (any of the profile's names): that one is the base's.
  const healthNames = new Set(['health_check_port', ...(sc.pass_through?.health_check_port ?? [])]);
  const init = ctx.agent.methods.get('__init__');
  if (!init || init.params.some((p) => healthNames.has(p.name))) return null;
  if ([...healthNames].some((n) => ctx.agent.attributes.has(n) || ctx.agent.methods.has(n))) return null;
  const scope = { agent: ctx.agent, module: ctx.module };
  const port = expressionDefault(scope, 'port');
  if (port === null) return null;
  const servers = serverSubclasses(ctx.module.root);
  // The agent's binds on port + 1 by default (its request server on the port itself is no concern here).
  const onDerived: Array<{ prop: string; call: SyntaxNode; method: string }> = [];
  for (const a of ctx.agent.assignments) {
    if (a.value?.type !== 'call') continue;
    const arg = bindArgument(a.value, servers);
    const expr = arg ? portExpression(arg.text) : null;
    if (expr !== null && expressionDefault(scope, expr) === port + 1) onDerived.push({ prop: expr, call: a.value, method: a.method });
  }
  // One server, built in __init__ on a property (no setter, never assigned).
  if (onDerived.length !== 1 || onDerived[0]!.method !== '__init__') return null;
  const { prop, call } = onDerived[0]!;
  const getter = ctx.agent.methods.get(prop);
  if (!getter?.decorators.includes('property') || ctx.agent.assignments.some((a) => a.attr === prop)) return null;
  if (new RegExp(`@${prop}\\.setter\\b`).test(ctx.agent.cls.body.text)) return null;
  // Its handler: a request handler class of the module, every path of which the base's route hook answers.
  const handler = handlerClass(ctx, call);
  if (!handler) return null;
  const answered = extraRoutesAnswered(ctx, handler, payloadScope(ctx));
  if (!answered?.size) return null;
  let every = true;
  walk(handler, (n) => {
    const p = routeString(n)?.split('?')[0]!.replace(/\/+$/, '');
    if (p && !answered.has(p)) every = false;
  });
  return every ? prop : null;
}

/** The module's HTTP request handler class the server call is given (`HTTPServer(addr, StatsHandler)`). */
function handlerClass(ctx: PythonTransformContext, call: SyntaxNode): SyntaxNode | null {
  for (const a of (call.childForFieldName('arguments')?.namedChildren ?? []).slice(1)) {
    const v = a.type === 'keyword_argument' ? a.childForFieldName('value') : a;
    const cls = v?.type === 'identifier' ? ctx.module.classes.find((c) => c.name === v.text) : undefined;
    if (cls && cls.name !== ctx.agent.cls.name && cls.bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) return cls.node;
  }
  return null;
}
