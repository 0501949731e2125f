// An express-like app of the agent's own (a hand-rolled router, `createApp()` from lib/) that
// answers the health path alone: `this.app.get('/health', ...)` its only route, started as
// `this.server = this.app.listen(port)` or `this.server = http.createServer(this.app)` then
// listen(). Once its health route went (its payload, when it reads the agent's state, moved into
// healthStatus()), the app answers nothing but 404 on a port of its own, which the base's /health
// now stands in for: the app and the server it runs on go, like a plain health server, and its
// port is handed to the base as the health port.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { BASE_PATHS, healthRoutes } from '../../src/lang/typescript/patterns.js';
import { thisMember } from '../../src/lang/typescript/syntax.js';
import { carryHealthHost } from './health-host.js';

const ROUTE_VERBS = /^(get|post|put|patch|delete|del|all|head|options|use|route)$/;

export interface HealthOnlyApp {
  /** Its health route statements. */
  routes: Node[];
  /** Members holding the server it runs on (`this.server = this.app.listen(...)`). */
  servers: string[];
  /** The listen() call that binds it. */
  listen: CallExpression | null;
}

/** The member access under `!`, parentheses and `as`. */
function bare(n: Node): Node {
  while (Node.isNonNullExpression(n) || Node.isParenthesizedExpression(n) || Node.isAsExpression(n)) n = n.getExpression();
  return n;
}

/** `this.<member>` accesses in the class, each with what it is used for (its parent). */
function accessesOf(ctx: TsRewriteContext, member: string): Node[] {
  return ctx.cls.getDescendants().filter((n) => (Node.isPropertyAccessExpression(n) || Node.isElementAccessExpression(n)) && thisMember(n) === member);
}

/** `x` of `this.S = x`: the member S, when the value is assigned to one. */
function assignedTo(value: Node): string | null {
  let v: Node = value;
  while (Node.isParenthesizedExpression(v.getParent()!) || Node.isAsExpression(v.getParent()!)) v = v.getParent()!;
  const b = v.getParent();
  return b && Node.isBinaryExpression(b) && b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && b.getRight() === v ? thisMember(b.getLeft()) : null;
}

/**
 * Member `app` when it is an app that answers the health path alone, known from the class's code:
 * made once by a call (`createApp()`, `new MiniApp()`), every route registered on it a health path
 * the base serves, and nothing else done with it but listening, closing, or being the request
 * listener of a server (`http.createServer(this.app)`). A router or middleware mounted on it
 * (`this.app.use(auth)`), a business route, or the app handed anywhere else: null.
 */
export function healthOnlyApp(ctx: TsRewriteContext, app: string): HealthOnlyApp | null {
  const member = ctx.members.get(app);
  if (!member || member.kind === 'method' || ctx.base.members.has(app)) return null;
  const routes = healthRoutes(ctx.cls).filter((r) => thisMember(bare(r.stmt.getFirstDescendantByKindOrThrow(SyntaxKind.PropertyAccessExpression).getExpression())) === app);
  if (routes.length === 0) return null;
  const made: Node[] = [];
  for (const d of member.nodes) if (Node.isPropertyDeclaration(d) && d.getInitializer()) made.push(d.getInitializer()!);
  const servers = new Set<string>();
  let listen: CallExpression | null = null;
  const serverListens: Array<[string, CallExpression]> = [];
  for (const access of accessesOf(ctx, app)) {
    const use = access.getParent()!;
    // `this.app = createApp()`: its making.
    if (Node.isBinaryExpression(use) && use.getLeft() === access && use.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
      made.push(use.getRight());
      continue;
    }
    // `http.createServer(this.app)`: the server it is the request listener of.
    if (Node.isCallExpression(use) && use.getArguments().length === 1 && use.getArguments()[0] === access && /(^|\.)createServer$/.test(use.getExpression().getText())) {
      const server = assignedTo(use);
      if (!server) return null;
      servers.add(server);
      continue;
    }
    if (!Node.isPropertyAccessExpression(use) || use.getExpression() !== access || !Node.isCallExpression(use.getParent()!) || (use.getParent() as CallExpression).getExpression() !== use) return null;
    const call = use.getParent() as CallExpression;
    const name = use.getName();
    if (name === 'listen') {
      listen = call;
      const server = assignedTo(call);
      if (server) servers.add(server);
      continue;
    }
    if (name === 'close') continue;
    // `this.app.use(express.json())`: a body parser of express's own answers no path.
    if (name === 'use' && call.getArguments().length > 0 && call.getArguments().every((a) => Node.isCallExpression(a) && /^express\.\w+$/.test(a.getExpression().getText()))) continue;
    if (!ROUTE_VERBS.test(name)) return null;
    const first = call.getArguments()[0];
    const path = first && (Node.isStringLiteral(first) || Node.isNoSubstitutionTemplateLiteral(first)) ? first.getLiteralText().replace(/\/+$/, '') || '/' : null;
    if (!path || !BASE_PATHS.has(path) || path === '/metrics' || !routes.some((r) => r.stmt === call.getParent())) return null;
  }
  if (made.length !== 1 || !(Node.isCallExpression(made[0]!) || Node.isNewExpression(made[0]!))) return null;
  // The server's own listen(), when the app's does not bind it (`this.server.listen(port)`).
  for (const s of servers) {
    for (const access of accessesOf(ctx, s)) {
      const use = access.getParent()!;
      if (Node.isPropertyAccessExpression(use) && use.getName() === 'listen' && Node.isCallExpression(use.getParent()!)) serverListens.push([s, use.getParent() as CallExpression]);
    }
  }
  if (!listen && serverListens.length === 1) listen = serverListens[0]![1];
  return { routes: routes.map((r) => r.stmt), servers: [...servers], listen };
}

/**
 * After removeHealthServer's route pass: each health-only app whose every route already goes
 * (moved into healthStatus() or answered by the base alike) goes too, with its server. An app
 * whose route stays (its payload could not move) stays as it is, route and all.
 */
export function removeHealthOnlyApps(ctx: TsRewriteContext): void {
  for (const m of ctx.members.values()) {
    if (ctx.plan.has(m.name)) continue;
    const app = healthOnlyApp(ctx, m.name);
    if (!app) continue;
    const stays = app.routes.find((r) => !ctx.plan.statements.some((s) => s.node === r));
    if (stays) {
      // Its /health answer could not move (it changes the agent's state, reads the request): the
      // app stays whole on its port, which the base must not be handed.
      ctx.hints.businessHealth = true;
      ctx.kept.push({ symbol: m.name, line: stays.getStartLineNumber(), reason: `${m.name} answers /health alone, but its answer cannot move into healthStatus() (line ${stays.getStartLineNumber()}): it stays whole on its own port beside the base's /health; move that answer by hand, then ${m.name} and its server can go` });
      continue;
    }
    const group = [m.name, ...app.servers];
    const reason = `${m.name} answered only /health (line ${app.routes[0]!.getStartLineNumber()}), which went; the base serves /health`;
    const together = (removed: Set<string>) => {
      const stays = group.find((g) => !removed.has(g));
      return stays ? `${stays} stays` : null;
    };
    for (const name of group) ctx.plan.proposeMember({ name, finding: 'health', reason, quiet: name !== m.name, condition: together });
    const port = app.listen?.getArguments()[0];
    if (port && !ctx.hints.healthPortExpr && !ctx.hints.businessHealth) {
      ctx.hints.healthPortExpr = port;
      ctx.hints.healthHolder = m.name;
      carryHealthHost(ctx, port, (removed) => removed.has(m.name));
    }
  }
}
