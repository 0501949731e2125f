// Concern: a caller in another file stopping the agent's own health server (`agent.server.shutdown()` in
// an ops script) when that server goes because the base serves /health. The base's reference class
// keeps its health server in an attribute its constructor sets (`self._base_health_server = _Server((host,
// self.health_check_port), _Handler)`): the agent keeps the legacy name as a read-only property onto it,
// so the caller stops the server that now answers on the health port, and the caller keeps working with
// the legacy agent too (it runs that one until the _v2 replaces it). Only for what an HTTP server object
// is used for from outside: shutdown(), server_close(), server_address, server_port.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { indentAt, lineEnd } from '../../src/lang/python/text.js';

const label = 'health-server-alias';

/**
 * The base attribute holding the HTTP server it binds on its health port, set while its constructor runs
 * (so an agent's property reads a server from the moment the agent exists), or null.
 */
export function baseHealthServer(ctx: PythonTransformContext): string | null {
  if (ctx.base.bindKinds.get('health_check_port') !== 'http') return null;
  const found: string[] = [];
  for (const [attr, values] of ctx.base.values) {
    if (!values.some((v) => /^[\w.]+\(\s*\(\s*[^,()]+,\s*self\.health_check_port\s*\)/.test(v))) continue;
    const setters = [...ctx.base.assignedIn].filter(([, attrs]) => attrs.has(attr)).map(([m]) => m);
    if (setters.some((m) => m !== '__init__' && ctx.base.initCalls.has(m))) found.push(attr);
  }
  return found.length === 1 ? found[0]! : null;
}

const SERVER_USE = /^(shutdown|server_close)\(\)$|^(server_address|server_port)$/;

/** Every use from another file is `<obj>.<attr>.shutdown()` (or server_close(), server_address, server_port). */
function serverUsesOnly(ctx: PythonTransformContext, attr: string, uses: Array<{ text: string }>): boolean {
  if (!uses.length || ctx.base.attributes.has(attr) || ctx.base.methods.has(attr) || ctx.agent.methods.has(attr)) return false;
  return uses.every((u) => {
    const m = new RegExp(`\\b\\w+\\.${attr}\\.(\\w+(?:\\(\\))?)`).exec(u.text.replace(/\s+/g, ''));
    return !!m && SERVER_USE.test(m[1]!);
  });
}

/** The uses from other files are all server uses, and the base holds a server from construction to answer them. */
export function servedByBaseServer(ctx: PythonTransformContext, attr: string, uses: Array<{ text: string }>): boolean {
  return !!baseHealthServer(ctx) && serverUsesOnly(ctx, attr, uses);
}

/**
 * The review reason for server uses from other files when the base holds no health server from
 * construction (seed 001's HardenedAgentBase binds its own only once run_forever() runs, None before): no
 * property can stand in for a script that constructs the agent and never starts it, and with the legacy
 * server gone the caller would fail. Null when the uses are not all server uses (the plan's own note).
 */
export function unservedServerCallers(ctx: PythonTransformContext, attr: string, uses: Array<{ file: string; line: number; text: string }>): string | null {
  if (baseHealthServer(ctx) || !serverUsesOnly(ctx, attr, uses)) return null;
  const where = uses.map((u) => `${u.file}:${u.line} (${u.text.trim()})`).join(', ');
  return (
    `the legacy health server, which ${where} reaches from another file; ${ctx.profile.base_class} holds no health server while the agent is only constructed ` +
    `(it binds its own when ${ctx.profile.python?.main_loop_method ?? 'its loop'}() starts), so no read-only ${attr} property can stand in for it and that caller would fail on the _v2: change the caller by hand`
  );
}

export const healthServerAlias: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const base = baseHealthServer(ctx);
    const init = ctx.agent.methods.get('__init__');
    if (!base || !init) return;
    for (const [name, m] of ctx.resolved?.members ?? []) {
      if (m.kind !== 'attribute' || m.finding !== 'health') continue;
      const uses = ctx.external(name);
      if (!servedByBaseServer(ctx, name, uses)) continue;
      const eol = ctx.layout.eol;
      const indent = indentAt(ctx.source, init.outer.startIndex);
      const body = indent + ctx.layout.unit;
      const where = uses.map((u) => `${u.file}:${u.line}`).join(', ');
      const lines = [
        `${indent}@property`,
        `${indent}def ${name}(self):`,
        `${body}"""The health server ${where} reaches as .${name}: the base's, which serves /health now (kept by migrate)."""`,
        `${body}return self.${base}`,
      ];
      ctx.edits.insert(lineEnd(ctx.source, init.outer.endIndex), eol + lines.join(eol) + eol, label);
      ctx.warnings.push(
        `${ctx.agent.cls.name}: self.${name}, the legacy health server, is gone (the base serves /health); ${uses.map((u) => `${u.file}:${u.line} (${u.text})`).join(', ')} ` +
          `reaches it from another file, so ${name} stays as a read-only property returning ${ctx.profile.base_class}'s health server (self.${base}), which that call now stops`,
      );
    }
  },
};
