// `body: JSON.stringify({ name: NAME, port: HEALTH_PORT })` where the health server that listened on
// HEALTH_PORT went to the base: the registry sent callers to the health port as the agent's port.
// The base registers `port` = AGENT_PORT (the health port as health_check_port) and binds nothing
// there, so callers reading `port` would reach nothing (the ports check fails: the legacy listened on
// the port it registered). When the agent has no port of its own (it passes none to the base and
// never reads AGENT_PORT) and the health port is known before the class (module constants, the
// environment), AGENT_PORT is set before the class to the port the base serves health on: the base
// then registers the health port as `port`, as the legacy did, and binds nothing more. Otherwise
// (the health port a constructor parameter, say) it is said in a warning, for a reviewer.
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';
import { topLevelStatement } from './health-host.js';
import { reportSharedEnvDefault } from './shared-env-default.js';
import { textReadsCtorParameter } from './super-call.js';

const AGENT_PORT = 'AGENT_PORT';

export function registeredHealthPort(ctx: TsRewriteContext, name: string, body: Node, removed: Set<string>): void {
  const healthExpr = ctx.hints.healthPortExpr;
  const health = healthExpr?.getText();
  if (!healthExpr && !ctx.hints.businessHealth) inheritedHealthPort(ctx, name, body);
  if (!healthExpr || !health || ctx.hints.businessHealth) return;
  // An agent passing a port of its own to the base (a business listener on it) registers that one.
  const ownPort = ctx.ts.super_call.pass_through?.port ?? [];
  if (ownPort.some((n) => ctx.members.has(n) || ctx.ctor?.getParameters().some((p) => p.getName() === n))) return;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const port = lit.getProperty('port');
    const value = port && Node.isPropertyAssignment(port) ? port.getInitializer()?.getText() : undefined;
    if (value !== health) continue;
    const line = port!.getStartLineNumber();
    // The health server went (the base serves health on that port now), and the file never read AGENT_PORT.
    const served = !!ctx.hints.healthHolder && removed.has(ctx.hints.healthHolder);
    if (served && knownBeforeClass(ctx, healthExpr) && !new RegExp(`\\b${AGENT_PORT}\\b`).test(ctx.text)) {
      const statement = `process.env.${AGENT_PORT} = process.env.${ctx.healthPortEnv}?.trim() || String(${health});`;
      ctx.edits.insert(
        topLevelStatement(ctx.cls).getStart(true),
        `// ${name}() registered the health port as the agent's port; the base registers ${AGENT_PORT} there and binds nothing on it.\n${statement}\n\n`,
      );
      reportSharedEnvDefault(ctx, AGENT_PORT, statement.replace(/;$/, ''));
      ctx.warnings.push(
        `${name}() registered the health port as the agent's port (port: ${value}, line ${line}), and the agent listens on no port of its own: ${AGENT_PORT} is set before the class to the health port the base serves (${ctx.healthPortEnv}, else ${health}), so the base registers it as port, as the legacy did`,
      );
      return;
    }
    const unplaced =
      `${name}() registered the health port as the agent's port (port: ${value}, line ${line}); the base registers ${AGENT_PORT} as port, where this agent listens on nothing, ` +
      `and the health port as health_check_port: callers that take port from the registry must read health_check_port (or deploy it with ${AGENT_PORT} equal to ${ctx.healthPortEnv})`;
    // The health port each construction is given (`this.opts.healthPort`, a family parent's
    // subclasses each passing their own): known just before super(), from the constructor's
    // parameters, where the constructor sets AGENT_PORT to it before the base reads it.
    const given = served && !new RegExp(`\\b${AGENT_PORT}\\b`).test(ctx.text) ? ctx.constantValue(healthExpr) : null;
    if (given && !/\bthis\b/.test(given) && textReadsCtorParameter(ctx, given)) {
      ctx.hints.beforeSuper = {
        statement: `// ${name}() registered the health port as the agent's port; the base registers ${AGENT_PORT} there and binds nothing on it.\nprocess.env.${AGENT_PORT} = process.env.${ctx.healthPortEnv}?.trim() || String(${given});`,
        placed: `${name}() registered the health port as the agent's port (port: ${value}, line ${line}), and the agent listens on no port of its own: the constructor sets ${AGENT_PORT} just before super() to the health port the base serves (${ctx.healthPortEnv}, else ${given}), so the base registers it as port, as the legacy did`,
        unplaced,
        env: AGENT_PORT,
      };
      return;
    }
    ctx.warnings.push(unplaced);
    return;
  }
}

/**
 * A family subclass registering its parent's health port as its port (`port: this.healthPort`, the
 * parent's parameter property, DocIndexer under PollingWorker): the parent's health server is the
 * base's now, and the parent's migrated constructor hands that parameter to the base as its health
 * port. The subclass's own argument at that position (`super(name, 500, healthPort)`) is known just
 * before its super() call: AGENT_PORT is set there to the health port the base serves, so the base
 * registers it as port, as the legacy did.
 */
function inheritedHealthPort(ctx: TsRewriteContext, name: string, body: Node): void {
  if (ctx.parent.kind !== 'family' || ctx.hints.beforeSuper || new RegExp(`\\b${AGENT_PORT}\\b`).test(ctx.text)) return;
  const handed = ctx.parent.parent.handed;
  const healthKey = Object.keys(ctx.ts.super_call.pass_through ?? {}).find((k) => /health/i.test(k));
  const call = ctx.ctor?.getBody()?.getDescendantsOfKind(SyntaxKind.SuperKeyword).map((k) => k.getParent()).find((c) => Node.isCallExpression(c));
  if (!handed || !healthKey || !call || !Node.isCallExpression(call)) return;
  for (const lit of descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression)) {
    const port = lit.getProperty('port');
    const value = port && Node.isPropertyAssignment(port) ? port.getInitializer() : undefined;
    const member = value && Node.isPropertyAccessExpression(value) && Node.isThisExpression(value.getExpression()) ? value.getName() : null;
    // (An own member of the subclass is no parent's health port.)
    if (!member || ctx.members.has(member)) continue;
    const i = handed.params.indexOf(member);
    if (i < 0 || handed.options.get(i) !== healthKey) continue;
    const arg = call.getArguments()[i];
    const given = arg && !Node.isSpreadElement(arg) ? ctx.constantValue(arg) : null;
    if (!given || /\bthis\b/.test(given) || !textReadsCtorParameter(ctx, given)) continue;
    const line = port!.getStartLineNumber();
    const parent = ctx.parent.parent.className;
    ctx.hints.beforeSuper = {
      statement: `// ${name}() registered ${parent}'s health port as the agent's port; the base registers ${AGENT_PORT} there and binds nothing on it.\nprocess.env.${AGENT_PORT} = process.env.${ctx.healthPortEnv}?.trim() || String(${given});`,
      placed: `${name}() registered ${parent}'s health port as the agent's port (port: ${value!.getText()}, line ${line}), and the agent listens on no port of its own: the constructor sets ${AGENT_PORT} just before super() to the health port the base serves (${ctx.healthPortEnv}, else ${given}, which ${parent} hands the base as ${healthKey}), so the base registers it as port, as the legacy did`,
      unplaced: `${name}() registered ${parent}'s health port as the agent's port (port: ${value!.getText()}, line ${line}); the base registers ${AGENT_PORT} as port, where this agent listens on nothing: deploy it with ${AGENT_PORT} equal to ${ctx.healthPortEnv}, or callers that take port from the registry reach nothing`,
      env: AGENT_PORT,
    };
    return;
  }
}

/** An expression of module constants, the environment and globals only: its value is the same before the class. */
export function knownBeforeClass(ctx: TsRewriteContext, expr: Node): boolean {
  if (Node.isThisExpression(expr) || descendantsOfKind(expr, SyntaxKind.ThisKeyword).length > 0) return false;
  const ids = Node.isIdentifier(expr) ? [expr] : descendantsOfKind(expr, SyntaxKind.Identifier);
  return ids.every((id) => {
    const parent = id.getParent();
    if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id) return true;
    // Unresolved in the file's own project: a global (process, Number), never a local or an import.
    const decls = id.getSymbol()?.getDeclarations() ?? [];
    return decls.every((d) => {
      if (d.getSourceFile() !== ctx.sf) return d.getSourceFile().isDeclarationFile();
      // An imported binding (`settings.port` from './settings'): that module ran before this one's body.
      if (Node.isImportSpecifier(d) || Node.isImportClause(d) || Node.isNamespaceImport(d)) return true;
      // A namespace of the file (`FeedSettings.port()`) declared before the class: set up by then.
      if (Node.isModuleDeclaration(d)) return d.getStart() < ctx.cls.getStart();
      if (!Node.isVariableDeclaration(d)) return false;
      const list = d.getParent();
      return Node.isVariableDeclarationList(list) && list.getDeclarationKind() === 'const' && Node.isSourceFile(list.getParent()?.getParent()) && d.getStart() < ctx.cls.getStart() && !!d.getInitializer() && knownBeforeClass(ctx, d.getInitializer()!);
    });
  });
}
