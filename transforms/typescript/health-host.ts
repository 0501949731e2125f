// A removed health server that listened on every interface (`listen(port)`, `listen(port, cb)`,
// `listen(port, '0.0.0.0')`, `'::'`) answered probes from other machines (a kubelet, a load
// balancer in another rack). The base binds /health on the host its own setting chooses (the
// reference BaseAgent: AGENT_HOST, default 127.0.0.1), so those probes lost /health without a word.
// The base's variable now defaults to that host before the class (a deployment's own value still
// wins), as the Python profile's AGENT_HOST default does. The variable and the base's default are
// read from the base's source; a base whose host no variable chooses gets a warning instead.
import { Node, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { reportSharedEnvDefault } from './shared-env-default.js';

/** Every interface, as Node's listen() takes it. */
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * `portArg` is the port argument of the removed health server's listen() call; `gone` says whether
 * the server went (checked once the plan is resolved).
 */
export function carryHealthHost(ctx: TsRewriteContext, portArg: Node, gone: (removed: Set<string>) => boolean): void {
  const listen = portArg.getParent();
  if (!listen || !Node.isCallExpression(listen) || listen.getArguments()[0] !== portArg) return;
  const host = listenHost(listen);
  if (host === null || !WILDCARD.has(host.value)) return;
  const base = baseHostSetting(ctx.base.source);
  if (base && WILDCARD.has(base.fallback)) return;
  ctx.after.push((removed) => {
    if (!gone(removed)) return;
    const line = listen.getStartLineNumber();
    const what = host.written ? `on ${host.written}` : 'with no host';
    if (!base) {
      ctx.warnings.push(`the removed health server listened ${what} (line ${line}), on every interface; the base's /health binds a host no variable chooses: probes from other machines no longer reach it`);
      return;
    }
    const target = `process.env.${base.env}`;
    const value = host.written && host.value !== '' ? host.written : `${ctx.quote}0.0.0.0${ctx.quote}`;
    const start = topLevelStatement(ctx.cls).getStart(true);
    ctx.edits.insert(start, `// The legacy health server listened on every interface; the base binds ${base.env} (default ${base.fallback}).\n${target} ||= ${value};\n\n`);
    reportSharedEnvDefault(ctx, base.env, `${target} ||= ${value}`);
    ctx.warnings.push(`the removed health server listened ${what} (line ${line}), on every interface: ${base.env} defaults to ${value} before the class, so /health still answers other machines (the base's default is ${base.fallback}; a deployment's ${base.env} still wins)`);
  });
}

/** The host a `listen(port, ...)` call binds: the literal, '' when none is given (every interface), null when it cannot be read. */
function listenHost(listen: CallExpression): { value: string; written: string | null } | null {
  const second = listen.getArguments()[1];
  if (!second || Node.isArrowFunction(second) || Node.isFunctionExpression(second)) return { value: '', written: null };
  if (Node.isStringLiteral(second) || Node.isNoSubstitutionTemplateLiteral(second)) return { value: second.getLiteralText(), written: second.getText() };
  return null;
}

/** `this.host = process.env.AGENT_HOST || '127.0.0.1'` in the base's source: the variable and its default. */
export function baseHostSetting(source: string): { env: string; fallback: string } | null {
  const m = /this\.host\s*=\s*process\.env(?:\.(\w+)|\[\s*['"](\w+)['"]\s*\])\s*(?:\|\||\?\?)\s*(['"])([^'"]*)\3/.exec(source);
  return m ? { env: (m[1] ?? m[2])!, fallback: m[4]! } : null;
}

/** The statement of the source file that holds the class. */
export function topLevelStatement(n: Node): Node {
  let cur = n;
  while (cur.getParent() && !Node.isSourceFile(cur.getParent())) cur = cur.getParent()!;
  return cur;
}
