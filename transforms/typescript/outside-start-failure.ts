// A start method that only other files start (bin/relay.js: `relay.start().catch((err) => {
// console.error(`relay: cannot start: ${err.message}`); process.exit(1); });`), renamed to the
// base's onStart(). The base's start() answers that call, but it only logs a failing onStart()
// and keeps running (health answering, no business server behind it): the business port taken,
// the legacy exited 1 and its supervisor restarted it, the _v2 ran on as if healthy. When every
// outside call of it ends the process that way, with the same handler naming nothing of its own
// file but its error, onStart() does what that handler did in a catch, after the base's stop()
// (as for an entry point of the agent's own file: start-failure-exit.ts).
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerCatches } from '../../src/lang/typescript/references.js';
import { failureExitOf, fatalHandler, keepStartFailureExit } from './start-failure-exit.js';

export function keepOutsideStartFailure(ctx: TsRewriteContext): void {
  // An entry point of the file decides through its own handler (the entry transform's).
  if (ctx.entry) return;
  const m = [...ctx.renames].find(([, to]) => to === 'onStart')?.[0];
  if (!m) return;
  const callers = ctx.outsideCallers(m);
  if (callers.length === 0) return;
  const calls = callerCatches(ctx.root, ctx.file, ctx.className, m, callers);
  if (calls.length === 0) return;
  // Anything the handler's own file declares (its logger, the agent's variable) is not the agent's to see.
  const handlers = calls.map((c) => {
    const at = c.catchCall;
    return at ? fatalHandler(at, at.getParent()!, (_id, decls) => decls.some((d) => d.getSourceFile() === at.getSourceFile()), `${c.file}'s .catch()`) : null;
  });
  if (handlers.some((h) => !h)) return;
  const texts = new Set(handlers.map((h) => [...h!.lines, h!.exit].join('\n')));
  if (texts.size !== 1) return;
  const first = handlers[0]!;
  keepStartFailureExit(ctx, failureExitOf(ctx, { ...first, line: calls[0]!.line }), m);
}
