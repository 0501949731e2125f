// A registration that stays the agent's own (a refresh on a timer, fields the base does not send)
// and advertises the port its removed health server listened on (`port: this.opts.healthPort`):
// /health is now the base's, on this.healthCheckPort, which HEALTH_CHECK_PORT moves. Left as it
// was, the kept registration would send callers and probes to a port where nothing listens once a
// deployment (or the validator) sets that variable, and, racing the base's registration, would
// overwrite the base's record with it. It advertises the base's health port instead (the legacy's
// value whenever the variable is unset and super() was given that value, as super-call.ts does).
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

/** The payload properties it rewired, as they were written (`port: this.opts.healthPort`). */
export function keptRegistrationHealthPort(ctx: TsRewriteContext, method: string, body: Node, removed: Set<string>): string[] {
  const listen = ctx.hints.healthPortExpr;
  const holder = ctx.hints.healthHolder;
  // Only once the health server went to the base (a kept one still listens there).
  const rewired: string[] = [];
  if (!listen || !holder || !removed.has(holder) || ctx.hints.businessHealth) return rewired;
  const field = ctx.ts.super_call.pass_through ? Object.keys(ctx.ts.super_call.pass_through).find((k) => /health/i.test(k)) : undefined;
  // The agent's own member of that name would not be the base's port.
  if (!field || !ctx.base.members.has(field) || ctx.members.has(field)) return rewired;
  const port = listen.getText();
  // Read through `this` alone: a local or parameter of the listening method means nothing here.
  if (!/^this\./.test(port)) return rewired;
  for (const prop of descendantsOfKind(body, SyntaxKind.PropertyAssignment)) {
    const value = prop.getInitializer();
    if (!value || value.getText() !== port || ctx.edits.removes(value.getStart(), value.getEnd())) continue;
    rewired.push(prop.getText());
    ctx.edits.replace(value.getStart(), value.getEnd(), `this.${field}`);
    ctx.warnings.push(
      `${method}() stays and registered ${prop.getName()}: ${port} (line ${prop.getStartLineNumber()}), the port of the removed health server: it now sends this.${field}, ` +
        `where the base serves /health (HEALTH_CHECK_PORT, else the health port it was given), so the registry never points at a port nothing listens on`,
    );
  }
  return rewired;
}
