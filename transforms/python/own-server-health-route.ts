// Concern: the agent's own HTTP server, on a port of its own (not the health port), that answers its
// business routes and /health too (`if self.path == "/health": self._reply(200, builder.health())
// elif self.path.startswith("/reports/"): ...`). The server stays: it is the business. Its /health
// branch now answers the base's status (the health hook, built on the base's, with the fields of the
// payload method that branch called), so clients of the old port and the base's health port get the
// same answer; the run warns, naming the file and line, that the agent keeps a server of its own. When
// that server's port is one the base binds too, nothing is changed: the port plan refuses the agent
// (nothing written), its reason naming the routes that need a port of their own.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { businessRoutes, isHealthRoute, conditionPaths, methodPayloadLines, reportsOwnStatus, translate } from '../../src/analysis/health-payload.js';
import { bindArgument, portExpression, portRoles, serverSubclasses } from '../../src/analysis/ports.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { walk } from '../../src/lang/python/syntax.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { baseHealthFails, baseHealthWord, healthHook, healthPortExpressions, payloadScope } from './remove-health.js';
import { agentAttribute, guarded, insertHook } from './health-hook.js';

export const ownServerHealthRoute: PythonTransform = {
  name: 'own-server-health-route',
  phase: 'edit',
  run(ctx) {
    const hook = healthHook(ctx);
    const resolved = ctx.resolved!;
    // Removed health code writes the hook (health-hook): one writer only, and an agent's own hook is its own.
    if (ctx.agent.methods.has(hook)) return;
    if ([...resolved.members.values()].some((p) => p.finding === 'health') || resolved.statements.some((s) => s.finding === 'health')) return;
    const servers = serverSubclasses(ctx.module.root);
    const healthPorts = healthPortExpressions(ctx);
    const request = portRoles(ctx.py.super_call.pass_through ?? {}).request;
    const scope = payloadScope(ctx);
    for (const a of ctx.agent.assignments) {
      if (a.value?.type !== 'call' || isRemoved(ctx, a.stmt)) continue;
      const arg = bindArgument(a.value, servers);
      const port = arg ? portExpression(arg.text) : null;
      if (port === null || healthPorts.has(port)) continue;
      const handler = handlerOf(ctx, a.value);
      if (!handler) continue;
      const routes = businessRoutes(handler);
      const branch = healthBranch(handler);
      if (!routes.length || !branch) continue;
      const handlerName = handler.childForFieldName('name')!.text;
      // Its port is one the base binds too (`port` on a base that binds its request port): two binders.
      const clash = ctx.base.binds.find((b) => b === port || (b === 'port' && request.has(port)));
      if (clash) {
        // The port plan refuses the agent (nothing written); its message says why the server stays.
        resolved.notes.push({
          symbol: a.attr,
          line: a.line,
          reason: `it is the agent's own server, answering ${routes.join(', ')} (and /health) with ${handlerName}; ` +
            `give ${routes.length > 1 ? 'those routes' : 'that route'} a port ${ctx.profile.base_class} does not bind`,
        });
        continue;
      }
      // The one call of an agent method the /health branch answers with (`builder.health()`).
      const calls: Array<{ call: SyntaxNode; method: string }> = [];
      walk(branch, (n) => {
        if (n.type !== 'call' || (n.childForFieldName('arguments')?.namedChildCount ?? 1) !== 0) return;
        const t = translate(n, scope);
        const method = t ? /^self\.(\w+)\(\)$/.exec(t.text)?.[1] : undefined;
        if (method && method !== hook && ctx.agent.methods.has(method)) calls.push({ call: n, method });
      });
      if (calls.length !== 1) continue;
      const { call, method } = calls[0]!;
      const fn = ctx.agent.methods.get(method)!;
      const attrs = [...selfMembers(fn.body)].filter((m) => agentAttribute(ctx, m) && !ctx.baseOwned.has(m)).sort();
      insertHook(ctx, hook, guarded(methodPayloadLines(`self.${method}()`, reportsOwnStatus(fn.body, baseHealthWord(ctx)), baseHealthWord(ctx), baseHealthFails(ctx)), attrs, ctx));
      const name = call.childForFieldName('function')!.childForFieldName('attribute')!;
      ctx.edits.replace(name.startIndex, name.endIndex, hook, 'own-server-health-route');
      const note = resolved.notes.find((x) => x.symbol === method && /^health payload carries business data/.test(x.reason));
      if (note) note.reason = `health payload method kept: the ${hook}() override calls it, so its fields reach ${ctx.profile.base_class}'s health answer`;
      ctx.warnings.push(
        `${ctx.file}:${a.line}: ${ctx.agent.cls.name} keeps its own server (self.${a.attr}, on ${arg!.text}) for ${routes.join(', ')}; ` +
          `its /health branch (line ${branch.startPosition.row + 1}) now answers ${hook}(), the base's status with the fields of ${method}(), ` +
          `which ${ctx.profile.base_class} also serves on its health port`,
      );
      return;
    }
  },
};

/** The HTTP handler class a server construction is given: a class of the module, or one nested in the agent's method. */
function handlerOf(ctx: PythonTransformContext, call: SyntaxNode): SyntaxNode | null {
  const given = (x: SyntaxNode) => (x.type === 'keyword_argument' ? x.childForFieldName('value') : x);
  for (const x of (call.childForFieldName('arguments')?.namedChildren ?? []).slice(1)) {
    const id = given(x);
    if (id?.type !== 'identifier') continue;
    let found: SyntaxNode | null = null;
    walk(ctx.module.root, (n) => {
      if (found || n.type !== 'class_definition' || n.childForFieldName('name')?.text !== id.text) return;
      const bases = n.childForFieldName('superclasses')?.namedChildren ?? [];
      if (bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))) found = n;
    });
    if (found) return found;
  }
  return null;
}

/** The one clause of the handler's path routing that answers health paths only (its body). */
function healthBranch(handler: SyntaxNode): SyntaxNode | null {
  const out: SyntaxNode[] = [];
  const clauses: Array<{ paths: string[]; body: SyntaxNode }> = [];
  walk(handler, (n) => {
    if (n.type !== 'if_statement' && n.type !== 'elif_clause') return;
    const cond = n.childForFieldName('condition');
    const paths = cond && /\bpath\b/.test(cond.text) ? conditionPaths(cond) : [];
    if (paths.length) clauses.push({ paths, body: n.childForFieldName('consequence')! });
  });
  const routed = clauses.flatMap((c) => c.paths);
  for (const c of clauses) if (c.paths.every((p) => isHealthRoute(p, c.paths, routed))) out.push(c.body);
  return out.length === 1 ? out[0]! : null;
}
