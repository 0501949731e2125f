// Concern: a check that the health port is still free, made before the agent's own health server bound
// it (`if not port_free(self.health_port): raise SystemExit("health port taken")`, the probe a function
// that connects to or binds that port). On the base the health server is bound inside super().__init__(),
// before the check runs: kept, it finds the port taken by the agent itself and the agent refuses to start,
// every time. The check goes with the removed server; the base's own bind fails loudly when another
// process holds the port, so a taken port still stops the agent at start.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { bindingsOf, callee, statements, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { normPort } from '../../src/analysis/ports.js';
import { healthPortExpressions } from './remove-health.js';
import { importedCallee } from './port-plan.js';

const IF_STATEMENT: ReadonlySet<string> = new Set(['if_statement']);

export const healthPortFreeCheck: PythonTransform = {
  name: 'health-port-free-check',
  phase: 'propose',
  run(ctx) {
    const ports = healthPortExpressions(ctx);
    if (!ports.size) return;
    for (const m of ctx.agent.methods.values()) {
      // Only the `if` statements are shown (walkTypes): the rest of each body is passed over in the tree's arrays.
      walkTypes(m.body, IF_STATEMENT, (n) => {
        const probe = portProbeCall(ctx, n, ports);
        if (!probe) return;
        ctx.plan.proposeStatement({
          node: n,
          // The statement, not the probe: the probe function stays where it is defined.
          symbol: `if ${probe}(...) (health port check)`,
          finding: 'health',
          reason: `checked that the health port was free before the removed health server bound it; ${ctx.profile.base_class} binds it in super().__init__(), before this check, which would then find it taken every time`,
        });
        ctx.warnings.push(
          `${m.name}() (line ${n.startPosition.row + 1}): the check that the health port is free (${probe}()) goes with the removed health server: ` +
            `${ctx.profile.base_class} binds that port in super().__init__(), so the check would find it taken by the agent itself and stop it at every start; ` +
            `a port another process holds still stops the agent, at the base's bind`,
        );
        return false;
      });
    }
  },
};

/**
 * The name of the probe when `node` is `if [not] probe(<health port>): <only stops>` (no elif/else), the probe
 * a module function or a method of the agent that makes a socket and connects to or binds its port parameter.
 */
function portProbeCall(ctx: PythonTransformContext, node: SyntaxNode, ports: Set<string>): string | null {
  if (node.childForFieldName('alternative')) return null;
  let cond = node.childForFieldName('condition');
  while (cond?.type === 'parenthesized_expression') cond = cond.namedChild(0);
  if (cond?.type === 'not_operator') cond = cond.childForFieldName('argument');
  if (cond?.type !== 'call') return null;
  const name = callee(cond) ?? '';
  // The probe is the agent's method, a function of its file, or one imported from another file of the
  // repository (`from common.net import port_free`: a fleet's shared port helper).
  const imported = () => {
    const t = importedCallee(ctx, cond!.childForFieldName('function'));
    return t ? t.module.functions.get(t.name) : undefined;
  };
  const fn = /^self\.(\w+)$/.test(name) ? ctx.agent.methods.get(name.slice(5)) : ctx.module.functions.get(name) ?? imported();
  if (!fn) return null;
  const args = cond.childForFieldName('arguments')?.namedChildren ?? [];
  const index = args.findIndex((a) => a.type !== 'keyword_argument' && ports.has(normPort(a.text)));
  const offset = name.startsWith('self.') ? 1 : 0;
  // A parameter this call gives (positionally or by keyword); one it leaves takes its default.
  const positional = args.filter((a) => a.type !== 'keyword_argument' && a.type !== 'comment').length;
  const given = (i: number) => i < positional + offset || args.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === fn.params[i]!.name);
  if (index < 0 || !probesParam(fn, index + offset, given, (attr) => agentHostIsLocal(ctx, attr))) return null;
  return onlyStops(node.childForFieldName('consequence')) ? name.replace(/^self\./, '') : null;
}

/**
 * The function makes a socket and hands its parameter at `index` to a connect/connect_ex/bind of it, on this
 * machine: a host the caller gives (`peer_up(primary, port)`, a standby asking whether its primary answers)
 * or a remote one written in the probe is another machine's port, which the base's bind does not stand for.
 * A host parameter the call leaves to a local default (`def port_in_use(port, host="127.0.0.1")`), a module
 * constant holding a local address (`HOST = "127.0.0.1"`) or an attribute of the agent it only ever sets to one
 * is this one; a host computed in the probe (`host = peer or "localhost"`) or set from elsewhere is not known
 * to be, and the check stays.
 */
function probesParam(fn: PyFunction, index: number, given: (param: number) => boolean, selfHostIsLocal: (attr: string) => boolean): boolean {
  const param = fn.params[index]?.name;
  if (!param) return false;
  const mentions = (n: SyntaxNode, name: string) => new RegExp(`\\b${name}\\b`).test(n.text);
  const param_ = (name: string) => fn.params.findIndex((p) => p.name === name);
  const hostIsLocal = (host: SyntaxNode): boolean => {
    if (host.type === 'string') return localLiteral(host);
    if (host.type === 'identifier') {
      const i = param_(host.text);
      // A parameter the call does not give whose default is a local address literal.
      if (i >= 0) return !given(i) && localLiteral(fn.params[i]!.default);
      // A module constant the probe does not bind itself.
      return !bindingsOf(fn.node, false).has(host.text) && localLiteral(moduleValue(fn.node, host.text));
    }
    const attr = host.type === 'attribute' && host.childForFieldName('object')?.text === 'self' ? host.childForFieldName('attribute')?.text : undefined;
    return attr !== undefined && selfHostIsLocal(attr);
  };
  let socket = false;
  let probes = false;
  let elsewhere = false;
  walk(fn.body, (n) => {
    if (n.type !== 'call') return;
    const c = callee(n) ?? '';
    if (/^(socket\.)?socket$/.test(c)) socket = true;
    const address = /\.(connect_ex|connect|bind)$/.test(c) ? n.childForFieldName('arguments')?.namedChildren[0] : undefined;
    if (!address || !mentions(address, param)) return;
    probes = true;
    const host = address.type === 'tuple' ? address.namedChildren[0] : undefined;
    if (!host || !hostIsLocal(host)) elsewhere = true;
  });
  return socket && probes && !elsewhere;
}

const LOCAL_HOSTS: ReadonlySet<string> = new Set(['', 'localhost', '127.0.0.1', '0.0.0.0', '::1', '::']);

function localLiteral(v: SyntaxNode | null | undefined): boolean {
  return v?.type === 'string' && LOCAL_HOSTS.has(stringValue(v) ?? '?');
}

/** The value of `NAME = <value>` at the top level of the module holding `node`, when it is assigned there once. */
function moduleValue(node: SyntaxNode, name: string): SyntaxNode | null {
  let root = node;
  while (root.parent) root = root.parent;
  const values = statements(root)
    .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .filter((a): a is SyntaxNode => a?.type === 'assignment' && a.childForFieldName('left')?.text === name);
  return values.length === 1 ? values[0]!.childForFieldName('right') : null;
}

/** The agent sets self.<attr> only ever to a local address literal. */
function agentHostIsLocal(ctx: PythonTransformContext, attr: string): boolean {
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  return sets.length > 0 && sets.every((a) => localLiteral(a.value));
}

/** A block that only stops the agent: log lines and prints, then a raise or a sys.exit()/exit(). */
function onlyStops(block: SyntaxNode | null): boolean {
  const body = block ? statements(block) : [];
  if (!body.length) return false;
  const last = body[body.length - 1]!;
  const stops = last.type === 'raise_statement' || /^(sys\.exit|exit|os\._exit)$/.test(callee(last.namedChild(0) ?? last) ?? '');
  return stops && body.slice(0, -1).every((s) => s.type === 'expression_statement' && /(^|\.)(debug|info|warning|error|critical|exception|print)$/.test(callee(s.namedChild(0) ?? s) ?? ''));
}
