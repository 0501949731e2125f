// Concern `registry` (registration with the service registry and metrics pushes to a
// Pushgateway): hand-made POST <registry>/register and PUT <gateway>/metrics/job/<name>
// methods, the flags and URLs only they use. The base registers and pushes metrics itself.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { intervalCalls, isSetInterval, pushKind } from '../../src/lang/typescript/patterns.js';
import { descendantsOfKind, thisMember, thisMembers } from '../../src/lang/typescript/syntax.js';

export function removeRegistryPush(ctx: TsRewriteContext): void {
  const refreshes = registryRefreshes(ctx);
  for (const m of ctx.members.values()) {
    if (m.kind === 'method') {
      const body = methodBody(ctx, m.name);
      const kind = body ? pushKind(body) : null;
      if (!kind) continue;
      if (kind === 'registry') registeredName(ctx, m.name, body!);
      const refresh = kind === 'registry' ? refreshes.get(m.name) : undefined;
      if (refresh) {
        // A registration repeated on a timer (the registry expires members that stay silent):
        // the base registers once, at start. The refresh stays the agent's own, with its timer.
        (ctx.hints.heartbeats ??= new Set()).add(m.name);
        ctx.warnings.push(
          `${m.name}() re-registers with the registry every ${refresh.ms} (setInterval, line ${refresh.line}); the base registers only once, at start: ` +
            `${m.name}() and its timer are kept so the registration is still refreshed (drop them once the registry keeps members without a refresh)`,
        );
        continue;
      }
      const extra = kind === 'registry' ? unsentFields(ctx, body!) : null;
      if (extra) {
        // The registry learns more from it than the base sends (tags, a version, a zone): what
        // reads those would lose them. It stays, said precisely, beside the base's registration.
        ctx.kept.push({
          symbol: m.name,
          line: extra.line,
          reason:
            `${m.name}() registers ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}), which the base's registration does not send (it sends ${BASE_SENDS.join(', ')}): ` +
            `kept with its calls, so the registry still gets them; the base registers as well` +
            (baseFlagsSet(ctx, body!).length > 0 ? `, and both now set ${baseFlagsSet(ctx, body!).map((f) => `this.${f}`).join(', ')} (the base's)` : ''),
        });
        continue;
      }
      ctx.plan.proposeMember({
        name: m.name,
        finding: kind,
        reason: kind === 'registry' ? `${m.name}() registers by hand; the base registers with REGISTRY_URL` : `${m.name}() pushes metrics by hand; the base pushes to METRICS_URL`,
        condition: (removed) => (ctx.isInfraMethod(m.name, removed, [], true) ? null : `${m.name}() also does business work`),
      });
      if (kind === 'metrics') {
        // Business metrics it pushed are not lost silently: name them for the reviewer.
        const read = [...thisMembers(body!)].filter((x) => ctx.members.get(x)?.kind === 'property' || ctx.members.get(x)?.kind === 'parameter-property');
        ctx.after.push((removed) => {
          const lost = read.filter((x) => !removed.has(x));
          if (removed.has(m.name) && lost.length > 0) {
            ctx.warnings.push(`${m.name}() pushed ${lost.map((x) => `this.${x}`).join(', ')}; the base pushes only what reportMetric() records: report them there`);
          }
        });
      }
    } else if (m.kind === 'property' && [...refreshes.values()].some((r) => r.timer === m.name)) {
      continue; // the timer of a kept registration refresh
    } else if (/^(registered|registryUrl|registryURL|metricsUrl|metricsURL|pushGatewayUrl|pushgatewayUrl|heartbeatTimer|metricsTimer|registerTimer)$/.test(m.name)) {
      ctx.plan.proposeMember({ name: m.name, finding: /regist/i.test(m.name) ? 'registry' : 'metrics', reason: `${m.name} served the hand-made registration/metrics push`, quiet: true });
    }
  }
}

/**
 * `body: JSON.stringify({ name: 'lease-reaper', port: this.port })` in a registration: the name
 * the registry knew the agent by, when it is a value known before super() (a literal, a
 * module constant). The super() call passes it, so the base registers under the same name.
 * Registries keyed otherwise (`service: SERVICE_ID`, `id: 'catalog'`, Consul's `Name`/`ID`) name
 * the agent just the same; a name known only at run time is reported, not dropped in silence.
 */
function registeredName(ctx: TsRewriteContext, method: string, body: Node): void {
  if (ctx.hints.registryName) return;
  const keys = [ctx.ts.super_call.name_property, ...REGISTRY_NAME_KEYS];
  let runtime: { value: string; line: number; method: string; runtime: true } | undefined;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const prop = keys.map((k) => lit.getProperty(k)).find((p) => p && (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)));
    if (!prop) continue;
    const init = Node.isPropertyAssignment(prop) ? prop.getInitializer() : Node.isShorthandPropertyAssignment(prop) ? prop.getNameNode() : undefined;
    const value = init ? ctx.constantValue(init) : null;
    if (value) {
      ctx.hints.registryName = { value, line: prop.getStartLineNumber(), method };
      return;
    }
    runtime ??= { value: init?.getText() ?? prop.getText(), line: prop.getStartLineNumber(), method, runtime: true };
  }
  if (runtime) ctx.hints.registryName = runtime;
}

/** Members of the base a method assigns (`this.registered = res.ok`). */
function baseFlagsSet(ctx: TsRewriteContext, body: Node): string[] {
  const out = new Set<string>();
  for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const target = thisMember(b.getLeft());
    if (target && ctx.base.members.has(target)) out.add(target);
  }
  return [...out];
}

/** What the base's registration carries besides the name. */
const BASE_SENDS = ['name', 'host', 'port', 'health_check_port', 'pid'];
const BASE_SENT_KEYS = new Set(['host', 'port', 'health_check_port', 'healthCheckPort', 'health_port', 'healthPort', 'pid', 'address', 'Address', 'Port']);

/**
 * The fields of a registration payload (the object literal naming the service) the base does not
 * send: `tags: ['search', 'catalog']`. Null when it sends nothing more (or names no service).
 */
function unsentFields(ctx: TsRewriteContext, body: Node): { fields: string[]; line: number } | null {
  const keys = new Set([ctx.ts.super_call.name_property, ...REGISTRY_NAME_KEYS]);
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const props = lit.getProperties();
    const named = (p: Node) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : null);
    if (!props.some((p) => keys.has(named(p) ?? ''))) continue;
    // A spread (`...this.meta`) sends fields no one can list here: they count as more.
    const fields = props.map((p) => named(p) ?? p.getText()).filter((k) => !keys.has(k) && !BASE_SENT_KEYS.has(k));
    const first = props.find((p) => !keys.has(named(p) ?? '') && !BASE_SENT_KEYS.has(named(p) ?? ''));
    return fields.length > 0 ? { fields, line: first!.getStartLineNumber() } : null;
  }
  return null;
}

/** Keys registration payloads name the service by, in the order they are trusted. */
const REGISTRY_NAME_KEYS = ['name', 'Name', 'serviceName', 'service_name', 'service', 'Service', 'agentName', 'agent_name', 'agent', 'id', 'ID', 'serviceId', 'service_id'];

/**
 * Methods a repeating timer calls by themselves (`setInterval(() => void this.beat(), ms)`): when
 * such a method registers with the registry it refreshes the registration. A method that loops
 * over what it sends (flushing queued registrations) is a retry, which the base does itself.
 */
function registryRefreshes(ctx: TsRewriteContext): Map<string, { ms: string; line: number; timer: string | null }> {
  const out = new Map<string, { ms: string; line: number; timer: string | null }>();
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' && !(ctx.ctor && m.name === 'constructor')) continue;
    const body = methodBody(ctx, m.name);
    if (!body) continue;
    for (const { stmt, call, timer } of [...intervalCalls(body), ...collectedIntervalCalls(body)]) {
      const [cb, ms] = call.getArguments();
      if (!cb) continue;
      const called = [...thisMembers(cb)].filter((x) => ctx.members.get(x)?.kind === 'method');
      if (called.length !== 1) continue;
      const target = methodBody(ctx, called[0]!);
      if (!target || pushKind(target) !== 'registry' || target.getDescendants().some((n) => Node.isIterationStatement(n))) continue;
      out.set(called[0]!, { ms: ms?.getText() ?? '?', line: stmt.getStartLineNumber(), timer });
    }
  }
  return out;
}

/**
 * `this.timers.push(setInterval(this.beat, ms))`: a timer kept in a list of the agent's (cleared
 * with the others on stop). The list is no one timer's, so none is named.
 */
function collectedIntervalCalls(body: Node): Array<{ stmt: Node; call: CallExpression; timer: string | null }> {
  const out: Array<{ stmt: Node; call: CallExpression; timer: string | null }> = [];
  for (const stmt of descendantsOfKind(body, SyntaxKind.ExpressionStatement)) {
    const e = stmt.getExpression();
    if (!Node.isCallExpression(e)) continue;
    const callee = e.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'push' || !thisMember(callee.getExpression())) continue;
    const [arg, ...rest] = e.getArguments();
    if (arg && rest.length === 0 && Node.isCallExpression(arg) && isSetInterval(arg)) out.push({ stmt, call: arg, timer: null });
  }
  return out;
}
