// A legacy method named like one of the base's own lifecycle methods (`start()`, `stop()`) would
// shadow it: the base's stop() (called on SIGTERM) would never close its servers, and its start()
// would never start them. When the base has the matching hook (`onStart`, `onStop`: `on` + the
// name), the legacy method becomes that hook, so callers of start()/stop() — in this file or any
// other — reach the base's method, which calls the legacy code.
import { Node } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerList, isPublicMember } from '../../src/lang/typescript/context.js';

export function renameLifecycleClashes(ctx: TsRewriteContext, removed: Set<string>): void {
  for (const m of ctx.members.values()) {
    // The entry point's start method is the entry transform's (it becomes onStart() there).
    if (m.kind !== 'method' || removed.has(m.name) || ctx.renames.has(m.name) || ctx.entry?.method === m.name) continue;
    const owned = ctx.base.members.get(m.name);
    if (!owned || owned.kind !== 'method' || owned.hook) continue;
    const hook = `on${m.name[0]!.toUpperCase()}${m.name.slice(1)}`;
    if (!ctx.base.members.get(hook)?.hook || ctx.members.has(hook) || ctx.newMembers.some((n) => n.name === hook)) continue;
    const impl = m.nodes.find((n) => Node.isMethodDeclaration(n) && n.hasBody());
    if (!impl || !Node.isMethodDeclaration(impl)) continue;
    // The base calls the hook without arguments.
    if (impl.getParameters().some((p) => !p.isOptional() && !p.hasInitializer() && !p.isRestParameter())) continue;
    if (impl.getDescendants().some((n) => Node.isPropertyAccessExpression(n) && n.getExpression().getText() === 'super' && n.getName() === m.name)) continue;
    if (ctx.isInfraMethod(m.name, removed, [])) {
      // It only started or stopped what the base now runs: the base's own method replaces it
      // (as the hook it would be calling itself, and deadlock, from inside the base's method).
      for (const n of m.nodes) ctx.edits.removeNode(n);
      ctx.removedExtra.push(m.name);
      const callers = isPublicMember(ctx, m.name) ? ctx.outsideCallers(m.name) : [];
      if (callers.length > 0) ctx.warnings.push(`${m.name}() is called from ${callerList(callers)}: the base's ${m.name}() answers those calls`);
      continue;
    }
    ctx.renameMember(m.name, hook, `${m.name}() would hide the base's ${m.name}(): renamed to the ${hook}() hook the base's ${m.name}() calls`);
  }
}
