// A default written before the class (`process.env.AGENT_HOST ||= '0.0.0.0'`, `REGISTRY_URL` from
// the agent's own variable) is process-wide: a file that imports this agent and constructs another
// class that reads the same variable (another agent of the repository, migrated or to be) hands
// it this agent's value as well (a loopback-only agent then binds every interface, or registers
// with this agent's registry). The legacy read its value into the agent alone, so each such
// process is a review item naming the file, the line and the other class.
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { sharedProcessClasses } from '../../src/lang/typescript/references.js';

export function reportSharedEnvDefault(ctx: TsRewriteContext, env: string, statement: string, placed = 'before the class'): void {
  const shared = sharedProcessClasses(ctx.root, ctx.file, ctx.className, env, ctx.baseClass);
  if (shared.length === 0) return;
  const where = shared.slice(0, 3).map((s) => `${s.file}:${s.line} (new ${s.other}, ${s.otherFile})`).join(', ');
  ctx.kept.push({
    symbol: `process.env.${env} default`,
    line: ctx.cls.getStartLineNumber(),
    reason: `\`${statement}\` ${placed} sets ${env} for the whole process, and ${where} ${shared.length === 1 ? 'constructs another class' : 'construct other classes'} reading ${env} in a process that imports this agent: ${shared.length === 1 ? 'it gets' : 'they get'} this agent's value too (the legacy kept it to this agent); give ${shared.length === 1 ? 'that class' : 'those classes'} ${env} of ${shared.length === 1 ? 'its' : 'their'} own, or run the agents in processes of their own`,
  });
}
