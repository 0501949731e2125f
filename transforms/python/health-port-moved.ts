// Concern: the port a removed health server listened on when it is the legacy's own (`("127.0.0.1",
// self.health_port)` with `TLS_PROBE_HEALTH_PORT`/8097 behind it), not a port the profile knows as the
// health port (health_check_port, port + 1). The base serves /health on the port its deployment gives it,
// so a dashboard or monitor polling the legacy port finds nothing there once the _v2 runs: said, with the
// line and the port as the legacy wrote it, so the deployment can give the base that port. (Runs after
// super-init: a port handed to the base is the base's to bind, and moves nowhere; nor does one the legacy
// read from the base's own variable, HEALTH_CHECK_PORT.)
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { bindArgument, bindsSelfAttribute, normPort, portExpression, rawPortExpression, serverSubclasses } from '../../src/analysis/ports.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass } from '../../src/lang/python/module-model.js';
import { ASSIGNMENT_TYPE, CALL_TYPE, walk, walkTypes } from '../../src/lang/python/syntax.js';

import { removedHealthRegions } from './health-hook.js';
import { healthPortExpressions, parentInitPort } from './remove-health.js';

export const healthPortMoved: PythonTransform = {
  name: 'health-port-moved',
  phase: 'edit',
  run(ctx) {
    if (!ctx.resolved) return;
    // The profile's names for the health port, and any port the base is handed (super-init: a literal 8081 given as health_check_port).
    const known = new Set([...healthPortExpressions(ctx), ...[...ctx.passThrough.values()].map(normPort)]);
    // The variables the deployment names those ports by (HEALTH_CHECK_PORT for health_check_port): the base's too.
    const envs = [...known].filter((k) => /^[a-z]\w*$/.test(k)).map((k) => k.toUpperCase());
    const servers = serverSubclasses(ctx.module.root);
    let found: { port: string; polled?: string; line: number } | null = null;
    // The removed regions, and the set-ups of a removed server attribute (`self.health_server =
    // socketserver.TCPServer(("127.0.0.1", port), Health)` in a start method that stays for its callers).
    const setUps = [...ctx.resolved.members]
      .filter(([, p]) => p.finding === 'health' && p.kind === 'attribute')
      .flatMap(([name]) => ctx.agent.assignments.filter((a) => a.attr === name).map((a) => a.stmt));
    for (const node of [...removedHealthRegions(ctx).map((r) => r.node), ...setUps]) {
      walkTypes(node, CALL_TYPE, (n) => {
        if (found) return;
        const arg = bindArgument(n, servers);
        const expr = arg ? portExpression(arg.text) : null;
        if (!arg || expr === null) return;
        // In a sidecar class of the file (`HealthSidecar(agent, port)`), `self.port` is the sidecar's, set
        // from what the agent hands its constructor, not the agent's own port.
        const sidecar = enclosingClass(ctx, n);
        if (sidecar) {
          const raw = (rawPortExpression(arg.text) ?? expr).trim();
          if (sidecarPortReadsBaseEnv(ctx, sidecar, raw, envs)) return;
          // Every construction hands the sidecar a port the base is given as its health port (`HealthSidecar(self, port + 1)`).
          if (sidecarGivenKnownPort(ctx, sidecar, raw, known, n, servers)) return;
          // An in-file parent of the agent binding the port the agent's super().__init__ gave it, which super-init hands the base too.
          if (ctx.agent.cls.bases.some((b) => b.text.trim() === sidecar.name) && parentInitPort(ctx, sidecar, raw, known)) return;
          const given = methodParameterGiven(ctx, n, raw, sidecar);
          found = { port: given ? `${sidecar.name}'s ${given.said}` : `${sidecar.name}'s ${raw}`, polled: given?.values, line: n.startPosition.row + 1 };
          return;
        }
        // A literal or an unknown name of the legacy's own; the profile's health port names are the base's already.
        if (known.has(expr) || readsBaseEnv(ctx, expr, envs)) return;
        // A parameter of the module helper binding it: health-helper-server removed its call only where the agent
        // handed it the port the base is now given.
        if (helperParameter(ctx, n, expr)) return;
        const raw = rawPortExpression(arg.text) ?? expr;
        const given = methodParameterGiven(ctx, n, raw.trim());
        found = { port: given?.said ?? raw, polled: given?.values, line: n.startPosition.row + 1 };
      });
      if (found) break;
    }
    if (!found) return;
    const { port, polled, line } = found as { port: string; polled?: string; line: number };
    ctx.warnings.push(
      `${ctx.file}:${line}: the legacy health server listened on its own port (${port.trim()}); ${ctx.profile.base_class} serves /health on the health port its deployment gives it, ` +
        `so whatever polled ${(polled ?? port).trim()} (a dashboard, a monitor) must be pointed there, or the deployment must give the base that port`,
    );
  },
};

/**
 * The port reads one of those variables, through what the agent wrote (`self.health_port` set from the
 * parameter `health_port=HEALTH_PORT`, `HEALTH_PORT = int(os.environ.get("HEALTH_CHECK_PORT", "8741"))`):
 * the deployment that sets it gives the base the same port.
 */
function readsBaseEnv(ctx: PythonTransformContext, expr: string, envs: string[]): boolean {
  const init = ctx.agent.methods.get('__init__');
  let text = expr;
  for (let depth = 0; depth < 4; depth++) {
    if (envs.some((e) => new RegExp(`["']${e}["']`).test(text))) return true;
    const attr = /^self\.(\w+)$/.exec(text)?.[1];
    const name = attr ?? (/^\w+$/.test(text) ? text : null);
    if (!name) return false;
    const set = attr ? ctx.agent.assignments.filter((a) => a.attr === attr && a.method === '__init__') : [];
    const param = !attr ? init?.params.find((p) => p.name === name && p.default) : undefined;
    const constant = !attr && !param ? moduleValue(ctx.module.root, name) : null;
    const next = attr ? (set.length === 1 ? set[0]!.value?.text : undefined) : param ? param.default!.text : constant;
    if (!next) return false;
    text = next;
  }
  return false;
}

/**
 * `port`, a parameter of the agent's method binding it (`def start_health_server(self, port)`), said with what
 * its callers hand it (`port, start_health_server()'s parameter, given HEALTH_PORT at line 140`): the bare name
 * tells a reader nothing. Null when it is no such parameter or no call gives it.
 */
function methodParameterGiven(ctx: PythonTransformContext, n: SyntaxNode, expr: string, owner: PyClass = ctx.agent.cls): { said: string; values: string } | null {
  let fn: SyntaxNode | null = n.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  const name = fn?.childForFieldName('name')?.text;
  // (a sidecar's __init__ parameter is what its constructions hand it: sidecarInitArgs' concern)
  const method = name && !(owner !== ctx.agent.cls && name === '__init__') ? owner.methods.get(name) : undefined;
  if (!method || method.node.id !== fn!.id) return null;
  const params = method.params.filter((p) => p.name !== 'self' && p.kind !== 'separator');
  const index = params.findIndex((p) => p.name === expr && (p.kind === 'plain' || p.kind === 'default'));
  if (index < 0) return null;
  const given: Array<{ text: string; at: string }> = [];
  walkTypes(ctx.module.root, CALL_TYPE, (c) => {
    const f = c.childForFieldName('function');
    if (f?.type !== 'attribute' || f.childForFieldName('attribute')?.text !== name) return;
    const args = c.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === expr);
    const value = kw?.childForFieldName('value') ?? args.filter((a) => a.type !== 'keyword_argument')[index];
    if (value) given.push({ text: value.text, at: `${value.text} at line ${c.startPosition.row + 1}` });
  });
  const d = params[index]!.default;
  const all = given.length ? given : d ? [{ text: d.text, at: `its default ${d.text}` }] : [];
  if (!all.length) return null;
  return { said: `${expr}, ${name}()'s parameter, given ${all.map((g) => g.at).join(', ')}`, values: [...new Set(all.map((g) => g.text))].join(' or ') };
}

/** The module's top-level class other than the agent's that the node sits in (a health sidecar), if any. */
function helperParameter(ctx: PythonTransformContext, n: SyntaxNode, expr: string): boolean {
  for (let p: SyntaxNode | null = n.parent; p; p = p.parent) {
    if (p.type === 'class_definition') return false;
    if (p.type !== 'function_definition') continue;
    const fn = ctx.module.functions.get(p.childForFieldName('name')?.text ?? '');
    return !!fn && fn.node.id === p.id && fn.params.some((q) => q.name === expr);
  }
  return false;
}

function enclosingClass(ctx: PythonTransformContext, n: SyntaxNode): PyClass | null {
  for (let p: SyntaxNode | null = n.parent; p; p = p.parent) {
    if (p.type !== 'class_definition') continue;
    const cls = ctx.module.classes.find((c) => c.node.id === p!.id);
    if (cls) return cls.name === ctx.agent.cls.name ? null : cls;
  }
  return null;
}

/**
 * The sidecar's `self.<attr>` is a parameter of its __init__ (`self.port = port`), and every construction of
 * the sidecar in the file hands it a value reading one of the base's variables
 * (`HealthSidecar(self, int(os.environ.get("HEALTH_CHECK_PORT", port + 1)))`), or the parameter's default does.
 */
function sidecarPortReadsBaseEnv(ctx: PythonTransformContext, cls: PyClass, expr: string, envs: string[]): boolean {
  const reads = (text: string) => envs.some((e) => new RegExp(`["']${e}["']`).test(text));
  if (!/^self\.\w+$/.test(expr) || !cls.methods.get('__init__')) return reads(expr);
  const values = sidecarInitArgs(ctx, cls, expr, { bare: false, inAgentOnly: false });
  return !!values && values.length > 0 && values.every((v) => v !== null && reads(v));
}

/**
 * The sidecar binds what its __init__ is handed (its parameter, or `self.<attr>` set from it) and every
 * construction of it in the agent's class hands one of the base's health port expressions (`port + 1` with
 * `port` given to the base): the base serves /health on that same port, so nothing moved.
 */
function sidecarGivenKnownPort(ctx: PythonTransformContext, cls: PyClass, expr: string, known: Set<string>, bind: SyntaxNode, servers: ReadonlySet<string>): boolean {
  // A bare name bound outside __init__ is that method's parameter or local (`def start(self, port)`), not __init__'s.
  let fn: SyntaxNode | null = bind.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  // (whether it is `self.<attr>` is read from the bound port's node, not the expression's text)
  if (!(bindsSelfAttribute(bind, servers) ?? /^self\./.test(expr)) && fn?.childForFieldName('name')?.text !== '__init__') return false;
  const values = sidecarInitArgs(ctx, cls, expr, { bare: true, inAgentOnly: true });
  return !!values && values.length > 0 && values.every((v) => v !== null && known.has(normPort(v)));
}

/**
 * What each construction of the sidecar class in the file hands the __init__ parameter `expr` comes from
 * (`self.<attr>` set from a parameter, or, `bare`, the parameter's name itself): the argument's text, else
 * the parameter's default (null: none); `inAgentOnly`: null for a construction outside the agent's class.
 * Null when `expr` is no such parameter.
 */
function sidecarInitArgs(ctx: PythonTransformContext, cls: PyClass, expr: string, o: { bare: boolean; inAgentOnly: boolean }): Array<string | null> | null {
  const init = cls.methods.get('__init__');
  const attr = /^self\.(\w+)$/.exec(expr)?.[1];
  if (!init || (!attr && !o.bare)) return null;
  let param: string | null = attr ? null : expr;
  if (attr) walkTypes(init.body, ASSIGNMENT_TYPE, (m) => {
    if (m.childForFieldName('left')?.text !== `self.${attr}`) return;
    const right = m.childForFieldName('right');
    param = right?.type === 'identifier' ? right.text : null;
  });
  const index = init.params.slice(1).findIndex((q) => q.name === param);
  if (index < 0) return null;
  const values: Array<string | null> = [];
  walkTypes(ctx.module.root, CALL_TYPE, (m) => {
    if (m.childForFieldName('function')?.text !== cls.name) return;
    const args = m.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param);
    const positional = args.filter((a) => a.type !== 'keyword_argument');
    const given = kw?.childForFieldName('value')?.text ?? positional[index]?.text ?? null;
    if (!o.inAgentOnly) values.push(given ?? init.params[index + 1]!.default?.text ?? null);
    else values.push(ctx.agent.cls.node.startIndex <= m.startIndex && m.endIndex <= ctx.agent.cls.node.endIndex ? given : null);
  });
  return values;
}

/** The value text of `NAME = ...` at the module's top level, when it is assigned there once. */
function moduleValue(root: SyntaxNode, name: string): string | null {
  const values = root.namedChildren
    .map((s) => (s.type === 'expression_statement' ? s.namedChild(0) : null))
    .filter((e) => e?.type === 'assignment' && e.childForFieldName('left')?.text === name)
    .map((e) => e!.childForFieldName('right')?.text ?? null);
  return values.length === 1 ? values[0]! : null;
}
