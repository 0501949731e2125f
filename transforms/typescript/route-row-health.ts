// A business server kept whole whose route table has a /health row (`{ method: 'GET', pattern:
// /^\/health$/, handler: (req, res) => this.health(req, res) }`, or `{ '/health': (req, res) => ... }`)
// answering with the agent's state and a code that follows it (503 `degraded` while a buffer is
// full): the deployment now probes the base's /health, which would say ok whatever the state.
// When that row's answer is one payload of the agent's state whose code follows its status (as a
// plain health handler's must be to move), it becomes healthStatus(), so both answer alike; the
// row itself stays with the business rows.
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { addHealthStatus, soleHealthPayload } from './remove-health-server.js';

/** Mirrors the row of route literal `route` into healthStatus(); true when it did. */
export function mirrorHealthRow(ctx: TsRewriteContext, where: string, route: Node): boolean {
  if (ctx.members.has('healthStatus') || ctx.newMembers.some((m) => m.name === 'healthStatus')) return false;
  const handler = rowHandler(route);
  if (!handler) return false;
  const body = handler.getBody();
  // `(req, res) => this.health(req, res)`: the row hands the request to one of the agent's methods.
  const call = Node.isCallExpression(body) ? body : null;
  const delegate = call ? thisMember(call.getExpression()) : null;
  const code = delegate && ctx.members.get(delegate)?.kind === 'method' ? methodBody(ctx, delegate) : call ? null : body;
  if (!code) return false;
  const bridge = soleHealthPayload(ctx, code);
  if (!bridge) return false;
  addHealthStatus(ctx, bridge.props, bridge.payload, bridge.prelude);
  ctx.warnings.push(
    `${where} answers /health itself (${route.getText()}, line ${route.getStartLineNumber()}) with the agent's state, its HTTP code following its status: ` +
      `the row stays with the business routes on its own port, and healthStatus() now returns the same payload, so the base's /health answers alike (503 unless the status is ok)`,
  );
  return true;
}

/** The handler function of the table row `route` (its path or pattern) belongs to. */
function rowHandler(route: Node): import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression | null {
  const fn = (n: Node | undefined) => (n && (Node.isArrowFunction(n) || Node.isFunctionExpression(n)) ? n : null);
  const prop = route.getParent();
  // `{ '/health': (req, res) => ... }`: the path is the key.
  if (Node.isPropertyAssignment(prop) && prop.getNameNode() === route) return fn(prop.getInitializer());
  // `{ pattern: /^\/health$/, handler: (req, res) => ... }`: one function-valued field of the row.
  const row = Node.isPropertyAssignment(prop) ? prop.getParent() : undefined;
  if (!Node.isObjectLiteralExpression(row)) return null;
  const fns = row.getProperties().map((p) => (Node.isPropertyAssignment(p) ? fn(p.getInitializer()) : null)).filter((f) => !!f);
  return fns.length === 1 ? fns[0]! : null;
}
