// Concern: a registration method that a kept registry refresh (a heartbeat on a timer) also calls, to
// register the agent again when the registry has forgotten it (its heartbeat answered 404 after a registry
// restart). The base registers once, at start, and heartbeats nothing: its registration start method runs
// once (`this.#registering ??= ...`) and the request it sends is private, so there is no registration of
// the base's a subclass can call again. Removed with its calls, the heartbeat's re-registration would go
// silently (the restarted registry would never list the agent again); so it stays, with a review item
// naming what a person decides. (Python's base has a registration to call: own-registration.ts wires it.)
import { Node, SyntaxKind } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

/**
 * The calls of `method` (`this.register()`) in the refreshes that stay the agent's own, when the base
 * cannot be asked to register again: its source heartbeats nothing and its registration start method
 * runs once. Empty when there are none, or when the base could do it (then this is not the shape).
 */
export function reregistrationCalls(ctx: TsRewriteContext, method: string, refreshes: Iterable<string>): Array<{ caller: string; line: number }> {
  const begin = ctx.base.registrationStartMethod;
  const once = !!begin && new RegExp(`\\b${begin}\\(\\)[^{]*\\{\\s*this\\.#?\\w+\\s*\\?\\?=`).test(ctx.base.source);
  if (!once || /heartbeat/i.test(ctx.base.source)) return [];
  const out: Array<{ caller: string; line: number }> = [];
  for (const caller of refreshes) {
    if (caller === method) continue;
    const body = methodBody(ctx, caller);
    for (const call of body ? descendantsOfKind(body, SyntaxKind.CallExpression) : []) {
      const callee = call.getExpression();
      if (Node.isPropertyAccessExpression(callee) && callee.getExpression().getKind() === SyntaxKind.ThisKeyword && callee.getName() === method) {
        out.push({ caller, line: call.getStartLineNumber() });
      }
    }
  }
  return out;
}

/** The review item of a registration kept for its re-registration calls (see reregistrationCalls). */
export function keptReregistration(ctx: TsRewriteContext, method: string, line: number, calls: Array<{ caller: string; line: number }>): { symbol: string; line: number; reason: string } {
  const where = calls.map((c) => `${c.caller}() (line ${c.line})`).join(', ');
  const base = ctx.base.className;
  return {
    symbol: method,
    line,
    reason:
      `${method}() is also called by ${where} to register the agent again when the registry has forgotten it; ${base} registers once, at start ` +
      `(${ctx.base.registrationStartMethod}() runs once, its request is private) and heartbeats nothing, so there is no registration of the base's to call there: ` +
      `${method}() is kept with its calls, and the registry gets two registrations at start (the base's and this one). ` +
      `Decide: drop ${method}()'s call at start so the base's is the one there (the re-registration then sends ${method}()'s record, not the base's registrationRecord()), ` +
      `or give ${base} a re-registration a subclass can call and call it from ${where}`,
  };
}
