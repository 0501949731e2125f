// Public API kept: a public member the rewrite removed or renamed may be called from other files
// (a controller's `await agent.connect()`, a test's `agent.start()`). Names the base owns (start,
// stop, run) answer those calls themselves; any other name gets a method that takes the call to
// the base — start() for what started the agent's work (whose timers now run as runOnce(), so
// the work keeps running when they call it), stop() for what stopped it. Each outside caller is
// reported with file:line. Members other files call that have no such delegate are never removed
// (the removal plan keeps them).
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerList, isPublicMember } from '../../src/lang/typescript/context.js';
import { methodText } from '../../src/lang/typescript/generate.js';

export function keepPublicApi(ctx: TsRewriteContext, removed: Set<string>): void {
  const delegates = new Map<string, 'start' | 'stop'>();
  for (const name of removed) {
    const p = ctx.plan.members.get(name);
    if (p?.delegate && p.scope !== 'module') delegates.set(name, p.delegate);
  }
  for (const [from, to] of ctx.renames) {
    const m = ctx.members.get(from);
    // An arrow property "renamed" to a hook is still there under its name.
    if (!m || m.kind !== 'method' || m.nodes.some((n) => Node.isPropertyDeclaration(n)) || delegates.has(from)) continue;
    if (to === 'onStart' || to === 'runOnce') delegates.set(from, 'start');
    else if (to === 'onStop') delegates.set(from, 'stop');
  }
  for (const [name, target] of delegates) {
    if (!isPublicMember(ctx, name)) continue;
    const callers = ctx.outsideCallers(name);
    if (callers.length === 0) continue;
    if (ctx.base.members.get(name)?.kind === 'method') {
      ctx.warnings.push(`${name}() is called from ${callerList(callers)}: the base's ${name}() answers those calls`);
      continue;
    }
    if (ctx.newMembers.some((n) => n.name === name)) continue;
    const decl = ctx.members.get(name)!.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
    const params = decl && Node.isMethodDeclaration(decl) ? decl.getParameters().map((p) => (ctx.js ? p.getName() : p.getText().replace(/^(public|private|protected|readonly)\s+/g, ''))) : [];
    ctx.newMembers.push({
      name,
      text: methodText(ctx, {
        name,
        async: false,
        visibility: 'public',
        params: params.join(', '),
        returns: 'Promise<void>',
        body: `${ctx.unit}return this.${target}();`,
      }),
    });
    ctx.warnings.push(`${name}() is called from ${callerList(callers)}: kept as a method that calls the base's ${target}()`);
  }
}
