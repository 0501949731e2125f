// Concern: worker processes forked after the base's constructor bound its health port. A forked child
// inherits every descriptor whatever its close-on-exec flag, the base's listening socket too: killed
// with SIGKILL, the agent leaves its workers holding the health port (the next start fails with
// EADDRINUSE, probes reach processes that never answer). migrate's reference base closes its copy in
// the child (os.register_at_fork); a base that does not is said, with the agent's line.
import path from 'node:path';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { callee, stringValue, walkTypes } from '../../src/lang/python/syntax.js';

/** The searches below look at calls only: walkTypes steps through the file's index of them, not every node. */
const CALLS: ReadonlySet<string> = new Set(['call']);

/** Starting a process: multiprocessing's Process/Pool, concurrent.futures' ProcessPoolExecutor, os.fork(). */
const FORKS = /(^|\.)(Process|Pool|ProcessPoolExecutor)$|^os\.fork$/;

export const forkedWorkersHealthSocket: PythonTransform = {
  name: 'forked-workers-health-socket',
  phase: 'edit',
  run(ctx) {
    if (ctx.base.learnedFrom !== 'source' || ctx.base.closesHealthInForkedChild !== false) return;
    // A start method other than fork (spawn, forkserver) anywhere in the module: its children inherit nothing.
    if (choosesNonForkStart(ctx.module.root)) return;
    const init = ctx.agent.methods.get('__init__');
    const baseInit = [
      ...ctx.edits.startsBy('super-init', /\bsuper\([^)]*\)\.__init__\(/),
      ...(init ? superInitCalls(init.body) : []),
    ].filter((at) => !init || (at > init.node.startIndex && at <= init.node.endIndex));
    for (const m of ctx.agent.methods.values()) {
      let found: SyntaxNode | null = null;
      walkTypes(m.body, CALLS, (n) => {
        if (found) return false;
        if (n.type !== 'call' || !FORKS.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
        // In __init__, only after the base's constructor (the one the rewrite wrote or the agent's own).
        if (m.name === '__init__' && !baseInit.some((at) => at < n.startIndex)) return;
        found = n;
      });
      const call = found as SyntaxNode | null;
      if (!call) continue;
      const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : ctx.profile.base_class;
      ctx.warnings.push(
        `${ctx.agent.cls.name}: the processes ${m.name}() starts (line ${call.startPosition.row + 1}: ${callee(call)}(...)) are forked after ` +
          `${ctx.profile.base_class}.__init__() bound its health port, and inherit that listening socket: killed with SIGKILL, the agent ` +
          `leaves them holding it (the next start fails with "Address already in use"). ${baseFile} does not close it in forked children: ` +
          `take migrate's reference base (os.register_at_fork(after_in_child=...) closes the child's copy) or start the workers with multiprocessing.get_context("spawn")`,
      );
      return;
    }
  },
};

/** `super().__init__(` calls already in the agent's __init__ (an agent on an older base): where they start. */
function superInitCalls(body: SyntaxNode): number[] {
  const out: number[] = [];
  walkTypes(body, CALLS, (n) => {
    if (n.type === 'call' && /^super\(.*\)\.__init__$/.test(callee(n) ?? '')) out.push(n.startIndex);
  });
  return out;
}

/** `get_context("spawn")`, `set_start_method("forkserver")` in the module. */
function choosesNonForkStart(root: SyntaxNode): boolean {
  let chooses = false;
  walkTypes(root, CALLS, (n) => {
    if (chooses) return false;
    if (n.type !== 'call' || !/(^|\.)(get_context|set_start_method)$/.test(callee(n) ?? '')) return;
    const arg = n.childForFieldName('arguments')?.namedChildren[0];
    const method = arg ? stringValue(arg) : null;
    if (method !== null && method !== 'fork') chooses = true;
  });
  return chooses;
}
