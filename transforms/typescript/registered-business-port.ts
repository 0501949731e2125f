// A removed registration that sent `port: API_PORT` where a kept business server of the agent
// listens on API_PORT (`this.server.listen(API_PORT, ...)`): callers that look the agent up in
// the registry reached that server. The base registers `port` = AGENT_PORT (else the port given to
// super(), else 0) and binds nothing there, so with the registration gone the registry would send
// callers to a dead port. When the port is known before super() (module constants, the
// environment, the constructor's parameters: `this.cfg.PORT` from `constructor(cfg)`) and the
// listen runs in the agent's own methods, the base is given that port
// (`super({ port: API_PORT })`) and the server listens on the base's port (`listen(this.port, ...)`):
// without AGENT_PORT both are the legacy's port, as before; with it (the deployment, the validator
// choosing ports) both follow it, so the registered port is always the one that answers.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind, envName, isLogCall, thisMember } from '../../src/lang/typescript/syntax.js';
import { knownBeforeClass } from './registered-health-port.js';

const PORT_OPTION = 'port';
const HEALTH_OPTION = 'healthCheckPort';

export function registeredBusinessPort(ctx: TsRewriteContext, name: string, body: Node, removed: Set<string>): void {
  // The agent's own port already goes to the base (a `port` member or option): the base registers it.
  if (!ctx.ts.super_call.pass_through?.[PORT_OPTION] || ctx.members.has(PORT_OPTION) || ctx.superArgs.has(PORT_OPTION)) return;
  if (!ctx.base.members.has(PORT_OPTION)) return;
  // The health port registered as port, set as AGENT_PORT before super() (registered-health-port.ts).
  if (ctx.hints.beforeSuper?.env === 'AGENT_PORT') return;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const prop = lit.getProperty(PORT_OPTION);
    const value = prop && Node.isPropertyAssignment(prop) ? prop.getInitializer() : undefined;
    if (!value) continue;
    // A file reading AGENT_PORT elsewhere still registered this port: without AGENT_PORT the base would
    // register 0 where the legacy registered the port its server listens on (`FeedSettings.port()`,
    // whose default stands when AGENT_PORT is unset); only a port that is AGENT_PORT as is leaves it be.
    if (envName(value) === 'AGENT_PORT') return;
    // The health port registered as port, its server gone to the base: registered-health-port.ts's.
    if (!ctx.hints.businessHealth && value.getText() === ctx.hints.healthPortExpr?.getText()) return;
    // `this.cfg.LEDGER_PORT` where cfg is a constructor parameter: known just before super().
    // (A field of its own, `this.#port`, is registered-field-port.ts's.)
    const known = knownBeforeClass(ctx, value);
    const given = known ? value.getText() : !thisMember(value) && readsThis(value) ? ctx.constantValue(value) : null;
    if (!given || /\bthis\b/.test(given)) continue;
    const listens = keptListens(ctx, value.getText(), removed);
    if (listens.length === 0) {
      if (known) unlistenedPort(ctx, name, value, prop!);
      return;
    }
    handPortToBase(ctx, { name, port: value.getText(), line: prop!.getStartLineNumber(), given, listens, removed });
    return;
  }
}

/**
 * The registered port given to the base (super({ port: given })), each kept listen() on it moved to this.port
 * and the log lines printing it with it, and a warning saying so (`what`: how the port is known, if said; `tail`: what follows).
 */
export function handPortToBase(ctx: TsRewriteContext, r: { name: string; port: string; line: number; given: string; listens: CallExpression[]; removed: Set<string>; what?: string; tail?: string }): void {
  ctx.superArgs.set(PORT_OPTION, r.given);
  for (const call of r.listens) {
    const arg = call.getArguments()[0]!;
    ctx.edits.replace(arg.getStart(), arg.getEnd(), `this.${PORT_OPTION}`);
  }
  const where = r.listens.map((c) => c.getStartLineNumber()).join(', ');
  ctx.warnings.push(
    `${r.name}() registered port ${r.port} (line ${r.line})${r.what ? `, ${r.what},` : ','} where the kept server listens (line ${where}): ` +
      `the base is given it (super({ ${PORT_OPTION}: ${r.given} })) and registers it, and the server now listens on this.${PORT_OPTION}, ` +
      `the legacy's port unless AGENT_PORT is set, so the registered port is the one that answers${r.tail ?? ''}`,
  );
  logListenPort(ctx, r.port, r.removed);
}

/**
 * `console.log(`relaying on :${this.cfg.RELAY_PORT}`)`: a kept log line of the agent's own methods
 * printing the port its server listened on now prints this.port, where the server listens (under
 * AGENT_PORT the legacy expression names a port nothing listens on). A line where `this` is not
 * the agent (a nested `function`) cannot say this.port: it stays, and a warning names it.
 */
function logListenPort(ctx: TsRewriteContext, port: string, removed: Set<string>): void {
  for (const call of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    if (!isLogCall(call) || ctx.edits.removes(call.getStart(), call.getEnd())) continue;
    const reads = call.getArguments().flatMap((a) => [a, ...a.getDescendants()]).filter((n) => n.getText() === port && Node.isPropertyAccessExpression(n));
    if (reads.length === 0) continue;
    if (!ownMethodOfAgent(ctx, call, removed)) {
      ctx.warnings.push(`the log line at line ${call.getStartLineNumber()} prints ${port}, the legacy port: the server now listens on this.${PORT_OPTION} (AGENT_PORT when set), which that line cannot read`);
      continue;
    }
    for (const r of reads) ctx.edits.replace(r.getStart(), r.getEnd(), `this.${PORT_OPTION}`);
  }
}

/** Inside a kept method (or the constructor) of the class, where `this` is the agent (arrow functions keep it). */
function ownMethodOfAgent(ctx: TsRewriteContext, node: Node, removed: Set<string>): boolean {
  const owner = node.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) && !Node.isArrowFunction(a));
  if (!owner || !(Node.isMethodDeclaration(owner) || Node.isConstructorDeclaration(owner)) || owner.getParent() !== ctx.cls) return false;
  return !(Node.isMethodDeclaration(owner) && (owner.isStatic() || removed.has(owner.getName())));
}

/** An expression reading the agent (`this.cfg.PORT`). */
export function readsThis(expr: Node): boolean {
  return Node.isThisExpression(expr) || descendantsOfKind(expr, SyntaxKind.ThisKeyword).length > 0;
}

/**
 * `x.listen(PORT, ...)` calls the rewrite keeps, inside the class's own methods where `this` is the
 * agent (arrow functions keep it; a `function` nested in a method does not), listening on `port`.
 */
export function keptListens(ctx: TsRewriteContext, port: string, removed: Set<string>): CallExpression[] {
  const calls: CallExpression[] = [];
  for (const call of descendantsOfKind(ctx.cls, SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'listen') continue;
    const arg = call.getArguments()[0];
    if (!arg || arg.getText() !== port || ctx.edits.removes(call.getStart(), call.getEnd())) continue;
    if (ownMethodOfAgent(ctx, call, removed)) calls.push(call);
  }
  return calls;
}

/**
 * The registered port is one no server of the class listens on: code of the module outside the class
 * serves it (a cluster worker's or a child's `http.createServer(...).listen(RATE_PORT)`), which the
 * rewrite cannot move onto the base's port, or nothing of the file does (a `--port` flag registered
 * for another process or a proxy to reach). Either way the registry's record held that port: the
 * base is given it to register (it binds nothing there), when its health port is given too (else
 * the base would serve health on port + 1). Without it a review item names the port, since the base
 * would register port 0.
 */
function unlistenedPort(ctx: TsRewriteContext, name: string, value: Node, prop: Node): void {
  const port = value.getText();
  const line = prop.getStartLineNumber();
  if (!ctx.hints.healthPortExpr && !ctx.superArgs.has(HEALTH_OPTION)) {
    ctx.kept.push({
      symbol: `${name}() port`,
      line,
      reason:
        `${name}() registered port ${port} (line ${line}), where no server of the class listens; the base registers port AGENT_PORT, else the port given to super(), else 0, ` +
        `and given a port but no health port it would serve health on port + 1: give super({ ${PORT_OPTION}: ${port}, ${HEALTH_OPTION}: ... }) by hand, or deploy the agent with AGENT_PORT equal to ${port}, so the registry keeps the port the legacy registered`,
    });
    return;
  }
  const outside = descendantsOfKind(ctx.sf, SyntaxKind.CallExpression).filter((call) => {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'listen' || call.getArguments()[0]?.getText() !== port) return false;
    return (call.getEnd() <= ctx.cls.getStart() || call.getStart() >= ctx.cls.getEnd()) && !ctx.edits.removes(call.getStart(), call.getEnd());
  });
  ctx.superArgs.set(PORT_OPTION, port);
  const servedBy = outside.length > 0 ? `which code outside the class serves (line ${outside.map((c) => c.getStartLineNumber()).join(', ')})` : 'which nothing of this file listens on';
  ctx.warnings.push(
    `${name}() registered port ${port} (line ${line}), ${servedBy}: ` +
      `the base is given it (super({ ${PORT_OPTION}: ${port} })) and registers it (it binds nothing there); with AGENT_PORT set the base registers that port instead` +
      (outside.length > 0 ? ', which that code does not follow' : ''),
  );
}

/**
 * A static factory that registers before it constructs the agent (`static async create(opts)`
 * sending `port: opts.publicPort`, a port of its own options, maybe not the one the service then
 * listens on): the base registers `port` = AGENT_PORT, else the port given to super(), else 0.
 * When nothing of the agent is that port (no `port` member or constructor parameter, none given to
 * super()), the registry would advertise another port than the legacy did and send callers there:
 * a review item naming both, since where the factory's value lands in the constructor is the
 * factory's code to read.
 */
export function staticFactoryPort(ctx: TsRewriteContext, name: string, body: Node): void {
  const method = body.getParent();
  if (!method || !Node.isMethodDeclaration(method) || !method.isStatic()) return;
  const ports = ctx.ts.super_call.pass_through?.[PORT_OPTION] ?? [PORT_OPTION];
  const ctorParams = ctx.ctor?.getParameters().map((p) => p.getName()) ?? [];
  if (!ctx.base.members.has(PORT_OPTION) || ctx.superArgs.has(PORT_OPTION) || ports.some((p) => ctx.members.has(p) || ctorParams.includes(p))) return;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const prop = lit.getProperty(PORT_OPTION);
    const value = prop && Node.isPropertyAssignment(prop) ? prop.getInitializer() : undefined;
    if (!value || value.getText() === '0' || knownBeforeClass(ctx, value)) continue;
    ctx.kept.push({
      symbol: `${name}() port`,
      line: prop!.getStartLineNumber(),
      reason:
        `${name}() registered the agent with port ${value.getText()} (line ${prop!.getStartLineNumber()}); the base registers port AGENT_PORT, else the port given to super() (none is), else 0, ` +
        `so without AGENT_PORT the registry would send callers to another port than the legacy advertised: give super() that port ({ ${PORT_OPTION}: ... } from the options the constructor gets) by hand`,
    });
    return;
  }
}
