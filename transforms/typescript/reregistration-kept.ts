// Concern: a registration method that a kept registry refresh (a heartbeat on a timer) also calls, to
// register the agent again when the registry has forgotten it (its heartbeat answered 404 after a registry
// restart). The base registers once, at start, and heartbeats nothing: its registration start method runs
// once (`this.#registering ??= ...`) and the request it sends is private, so there is no registration of
// the base's a subclass can call again. Removed with its calls, the heartbeat's re-registration would go
// silently (the restarted registry would never list the agent again); so it stays, with a review item
// naming what a person decides. (A base with registerOnce() has one to call: reregistration-wired.ts wires
// the calls to it, as own-registration.ts wires Python's to _register_once().)
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

/**
 * True when the base registers once, at start, and nothing can ask it again: no on-demand registration
 * (registerOnce()), a registration start method that runs once, no heartbeat of its own. Then a
 * re-registration of the agent's own stays, for review; with registerOnce(), reregistration-wired.ts wires it.
 */
export function baseCannotRegisterAgain(ctx: TsRewriteContext): boolean {
  const begin = ctx.base.registrationStartMethod;
  const once = !!begin && new RegExp(`\\b${begin}\\(\\)[^{]*\\{\\s*this\\.#?\\w+\\s*\\?\\?=`).test(ctx.base.source);
  return once && !ctx.base.registerOnceMethod && !/heartbeat/i.test(ctx.base.source);
}

/**
 * The calls of `method` (`this.register()`) in the refreshes that stay the agent's own (a heartbeat
 * registering the agent again when the registry answers 404). Empty when there are none.
 */
export function reregistrationCalls(ctx: TsRewriteContext, method: string, refreshes: Iterable<string>): Array<{ caller: string; line: number; call: CallExpression }> {
  const out: Array<{ caller: string; line: number; call: CallExpression }> = [];
  for (const caller of refreshes) {
    if (caller === method) continue;
    const body = methodBody(ctx, caller);
    for (const call of body ? descendantsOfKind(body, SyntaxKind.CallExpression) : []) {
      const callee = call.getExpression();
      if (Node.isPropertyAccessExpression(callee) && callee.getExpression().getKind() === SyntaxKind.ThisKeyword && callee.getName() === method) {
        out.push({ caller, line: call.getStartLineNumber(), call });
      }
    }
  }
  return out;
}

/** The review item of a registration kept for its re-registration calls (see reregistrationCalls). */
export function keptReregistration(ctx: TsRewriteContext, method: string, line: number, calls: Array<{ caller: string; line: number }>): { symbol: string; line: number; reason: string } {
  const where = calls.map((c) => `${c.caller}() (line ${c.line})`).join(', ');
  const base = ctx.base.className;
  const again = ctx.base.registerOnceMethod;
  // (a base that can register again, for calls reregistration-wired.ts does not re-spell)
  if (again) {
    return {
      symbol: method,
      line,
      reason:
        `${method}() is also called by ${where} to register the agent again when the registry has forgotten it; ${base}.${again}() would do that, ` +
        `but only a plain call \`this.${method}()\` (awaited, voided or bare, as a statement) of a method taking nothing is re-spelled onto it${ctx.members.has(again) ? `, and the agent has a ${again} of its own` : ''}: ` +
        `${method}() is kept with its calls, and the registry gets two registrations at start (the base's and this one). Decide: call ${base}.${again}() there and drop ${method}()`,
    };
  }
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
