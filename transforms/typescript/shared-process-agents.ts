// A runner of the repository (bin/run-all.ts, say) that starts this agent and another one in the
// same process. Each agent's base installs a SIGTERM / SIGINT handler that exits the process once
// its own agent has stopped, so the first agent to stop cuts the other's onStop() and
// deregistration short (the registry keeps a dead agent). migrate's reference base waits for
// every agent of the process before it exits; a copy of the base already in the repository that
// does not (copied by an earlier `migrate init`) needs a person: a review item at the runner line.
import path from 'node:path';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { sharedProcessRunners } from '../../src/lang/typescript/references.js';

// The reference base's registry of the process's live agents (templates/runtime/typescript).
const WAITS_FOR_ALL = "Symbol.for('migrate.base-agent.live')";

export function flagSharedProcessRunners(ctx: TsRewriteContext): void {
  if (ctx.base.signals.size === 0 || ctx.base.exitLine === null || ctx.base.source.includes(WAITS_FOR_ALL)) return;
  const base = ctx.base.inRepository ? path.relative(ctx.root, ctx.base.file).split(path.sep).join('/') : 'the base';
  for (const r of sharedProcessRunners(ctx.root, ctx.file, ctx.className, ctx.baseClass)) {
    ctx.kept.push({
      symbol: `${r.file}:${r.line} ${r.text}`,
      line: ctx.cls.getStartLineNumber(),
      reason:
        `${r.file} starts ${ctx.className} and ${r.others.join(', ')} in one process (line ${r.line}); the base's signal handler exits the process once its own agent has stopped (line ${ctx.base.exitLine} of ${base}), ` +
        `which cuts the other agent's onStop() and deregistration short: update the base from migrate's template (it waits for every agent of the process) or run each agent in a process of its own`,
    });
  }
}
