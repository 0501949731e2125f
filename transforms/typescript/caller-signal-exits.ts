// Another file of the repository that starts the agent (bin/ under a CommonJS service, say) with a
// signal handler of its own that ends the process at once (`process.on('SIGTERM', function () {
// agent.stop(); process.exit(0); })`). The agent's own handlers are rewritten away, but that file is
// not the agent's: beside the base's handler its exit cuts the base's stop() short, before the base
// has closed its servers, deregistered (the registry keeps a dead agent) and finished an async
// onStop(). The rewrite does not edit other files, so each such exit is a review item naming the
// file and line: drop the handler there (the base stops and exits on both signals).
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerSignalExits, callerSignalTails } from '../../src/lang/typescript/references.js';

export function flagCallerSignalExits(ctx: TsRewriteContext): void {
  const handled = [...ctx.base.signals].join(' and ');
  for (const c of callerSignalExits(ctx.root, ctx.file, ctx.className)) {
    // A signal the base leaves alone is the caller's to handle: no second handler to cut short.
    if (!ctx.base.signals.has(c.signal)) continue;
    ctx.kept.push({
      symbol: `${c.file}:${c.line} ${c.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason:
        `${c.file} handles ${c.signal} itself and calls ${c.text} at once (line ${c.line}); the base handles ${c.signal} too, and that exit cuts its stop() short ` +
        `before it has closed its servers and deregistered: remove that handler (the base stops the agent and exits on ${handled})`,
    });
  }
  // A caller whose handler awaits stop() and then goes on: the base's handler, installed first by
  // start(), exits once stop() resolves, before those statements run (nothing reports it otherwise).
  for (const c of callerSignalTails(ctx.root, ctx.file, ctx.className)) {
    if (!ctx.base.signals.has(c.signal)) continue;
    ctx.kept.push({
      symbol: `${c.file}:${c.line} ${c.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason:
        `${c.file} handles ${c.signal} itself and, after awaiting stop() (line ${c.stopLine}), runs line ${c.line} (${c.text}); the base's own ${c.signal} handler, installed by start() before that one, ` +
        `exits as soon as stop() has resolved, so that line no longer runs: move it into onStop() (or where the base's stop path reaches it) and drop the handler`,
    });
  }
}
