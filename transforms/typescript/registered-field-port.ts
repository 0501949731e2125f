// A removed registration that sent `port: this.#port` (a field, private or not, the constructor sets
// from its options or the environment): callers looking the agent up reached whatever listens on
// that field's port (the agent's own server, kept). The base registers `port` = AGENT_PORT, else
// the port given to super(), else 0, so with the registration gone the registry would send
// callers to port 0. When the field's one value can be computed before super() (constructor
// parameters, module constants, the environment), the base is given it (`super({ port: ... })`)
// and the field takes the base's port (`this.#port = this.port`): without AGENT_PORT both are the
// legacy's value, as before; with it both follow it, so the registered port is the one that answers.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { thisWrites } from '../../src/lang/typescript/rewrite.js';
import { descendantsOfKind, thisMember } from '../../src/lang/typescript/syntax.js';
import { handPortToBase, keptListens, readsThis } from './registered-business-port.js';

const PORT_OPTION = 'port';
const HEALTH_OPTION = 'healthCheckPort';

export function registeredFieldPort(ctx: TsRewriteContext, name: string, body: Node, removed: Set<string> = new Set()): void {
  const ownPort = ctx.ts.super_call.pass_through?.[PORT_OPTION];
  if (!ownPort || ownPort.some((n) => ctx.members.has(n)) || ctx.superArgs.has(PORT_OPTION)) return;
  if (!ctx.base.members.has(PORT_OPTION) || /\bAGENT_PORT\b/.test(ctx.text)) return;
  // The health port registered as port, set as AGENT_PORT before super() (registered-health-port.ts).
  if (ctx.hints.beforeSuper?.env === 'AGENT_PORT') return;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const prop = lit.getProperty(PORT_OPTION);
    const value = prop && Node.isPropertyAssignment(prop) ? prop.getInitializer() : undefined;
    if (!value || !readsThis(value)) continue;
    const field = thisMember(value);
    // The health port registered as port, its server gone to the base: registered-health-port.ts.
    if (!ctx.hints.businessHealth && value.getText() === ctx.hints.healthPortExpr?.getText()) return;
    const line = prop!.getStartLineNumber();
    // (`this.cfg.PORT` computable before super() went to the base in registered-business-port.ts.)
    const source = field ? fieldSource(ctx, field) : null;
    const given = source ? ctx.constantValue(value) : null;
    // `port: this.cfg.port`, cfg a constructor parameter (a config awaited at module load, handed in):
    // no field of the agent's own holds it, but its value is known just before super(). The base
    // is given it and registers the port the legacy registered.
    const whole = !field ? ctx.constantValue(value) : null;
    if (whole && !/\bthis\b/.test(whole)) {
      ctx.superArgs.set(PORT_OPTION, whole);
      ctx.warnings.push(
        `${name}() registered port ${value.getText()} (line ${line}): the base is given its value (super({ ${PORT_OPTION}: ${whole} })) and registers it, as the legacy did (AGENT_PORT, when set, wins); ` +
          `the base serves /health on HEALTH_CHECK_PORT, else the health port it is given, else port + 1`,
      );
      return;
    }
    // `port: this.httpPort`, `constructor(private readonly httpPort = Number(process.env.X ?? 9441))` and
    // nothing else writes it: before super() its value is the parameter's. The base is given it and
    // the kept server listening on this.httpPort listens on the base's port (as for a constant port).
    // (Not a health port parameter (`healthPort`) registered as port: its server is the health server
    // kept for its other routes, whose port the health-port rules place; see registered-health-port.ts.)
    const healthNames = ctx.ts.super_call.pass_through?.[HEALTH_OPTION] ?? [];
    const param = field && !healthNames.includes(field) ? parameterPropertyOnly(ctx, field) : null;
    const listens = param ? keptListens(ctx, value.getText(), removed) : [];
    if (param && listens.length > 0) {
      handPortToBase(ctx, { name, port: value.getText(), line, given: param, listens, removed, what: `the constructor's parameter ${param}`, tail: '; the base serves /health on HEALTH_CHECK_PORT, else port + 1' });
      return;
    }
    if (!source || !given || /\bthis\b/.test(given)) {
      ctx.warnings.push(
        `${name}() registered port ${value.getText()} (line ${line}), whose value cannot be computed before super(): the base registers AGENT_PORT, else port 0, where nothing of this agent listens; ` +
          `pass that port to super({ ${PORT_OPTION} }) or deploy the agent with AGENT_PORT equal to it, or callers looking it up get a dead port`,
      );
      return;
    }
    ctx.superArgs.set(PORT_OPTION, given);
    ctx.edits.replace(source.getStart(), source.getEnd(), `this.${PORT_OPTION}`);
    ctx.warnings.push(
      `${name}() registered port ${value.getText()} (line ${line}): the base is given its value (super({ ${PORT_OPTION}: ${given} })) and registers it, ` +
        `and ${field} now takes the base's port (this.${PORT_OPTION}), the legacy's value unless AGENT_PORT is set, so the registered port is the one that answers; ` +
        `the base serves /health on HEALTH_CHECK_PORT, else port + 1`,
    );
    return;
  }
}

/**
 * The expression a field gets its one value from, where `this.port` can stand instead: the right
 * side of its one assignment, a statement of the constructor's own body, or its initializer when
 * nothing assigns it. Null for a constructor parameter property or a field written elsewhere.
 */
function fieldSource(ctx: TsRewriteContext, field: string): Node | null {
  const decl = ctx.members.get(field)?.nodes[0];
  if (!decl || Node.isParameterDeclaration(decl)) return null;
  const writes = thisWrites(ctx, field);
  if (writes.length === 0) return Node.isPropertyDeclaration(decl) ? (decl.getInitializer() ?? null) : null;
  const [write] = writes;
  if (writes.length !== 1 || !Node.isBinaryExpression(write) || write.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return null;
  const statement = write.getParent();
  const ctorBody = ctx.ctor?.getBody();
  if (!Node.isExpressionStatement(statement) || !ctorBody || statement.getParent() !== ctorBody) return null;
  if (Node.isPropertyDeclaration(decl) && decl.getInitializer()) return null;
  return ctx.edits.removes(statement.getStart(), statement.getEnd()) ? null : write.getRight();
}

/** The parameter's name when `field` is a constructor parameter property (`private readonly port = 8080`) that nothing else writes. */
function parameterPropertyOnly(ctx: TsRewriteContext, field: string): string | null {
  const decl = ctx.members.get(field)?.nodes[0];
  if (!decl || !Node.isParameterDeclaration(decl) || !decl.isParameterProperty() || !Node.isIdentifier(decl.getNameNode())) return null;
  if (decl.getParent() !== ctx.ctor || thisWrites(ctx, field).length > 0) return null;
  // (A constructor assigning the parameter itself before super() would hand the base another value.)
  const reassigned = descendantsOfKind(ctx.ctor!, SyntaxKind.BinaryExpression).some((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && b.getLeft().getText() === decl.getName());
  return reassigned ? null : decl.getName();
}
