// Concern (seed 001): a sender thread. The legacy cycle puts its events on a queue and a thread
// of the agent takes them off and sends each to the EventBus, putting back what failed. The base
// publishes what collect_data() returns (circuit breaker, retries, local queue), so the thread,
// its loop and its stop event go together once the cycle is collect_data() and run() is gone;
// the method that sent one event moves into EventBusPublisher (hardened-publisher). The shape is
// read in hardened-shapes (senderThread); this transform proposes its members and reports what
// only the thread kept up to date.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { analyzeCollect, LEGACY_RUN, senderThread } from './hardened-shapes.js';

const reason = 'sender thread (the base publishes what collect_data() returns, with retries and its local queue)';

export const hardenedSenderPropose: PythonTransform = {
  name: 'hardened-sender-propose',
  phase: 'propose',
  run(ctx) {
    const sender = senderThread(ctx);
    const collect = analyzeCollect(ctx);
    if (!sender || !collect.ok || !collect.value.publishers.includes(sender.send)) return;
    // The cycle's puts go only with run() (requires), so the thread goes only then too.
    const runGoes = (removed: Set<string>) => !ctx.agent.methods.has(LEGACY_RUN) || removed.has(LEGACY_RUN);
    ctx.plan.proposeMember({
      name: sender.loop,
      kind: 'method',
      finding: 'publish',
      reason,
      sharedWithBase: false,
      condition: (scope) => (runGoes(scope.removed) ? null : `${reason}, but run() stays and still starts it; kept`),
    });
    for (const attr of [sender.thread, sender.stop]) {
      if (!attr) continue;
      ctx.plan.proposeMember({
        name: attr,
        kind: 'attribute',
        finding: 'publish',
        reason: `state of the ${reason.split(' (')[0]}`,
        sharedWithBase: false,
        condition: (scope) => (scope.removed.has(sender.loop) ? null : `state of the sender thread ${sender.loop}(), which stays`),
      });
    }
  },
};

export const hardenedSender: PythonTransform = {
  name: 'hardened-sender',
  phase: 'edit',
  run(ctx) {
    const sender = senderThread(ctx);
    if (!sender || !ctx.resolved?.members.has(sender.loop)) return;
    const cls = ctx.agent.cls.name;
    const loop = ctx.agent.methods.get(sender.loop)!;
    // What only the thread wrote (a sent counter) and code that stays still reads.
    const written = new Set<string>();
    walk(loop.body, (n) => {
      const a = selfAttribute(n);
      const p = n.parent;
      if (a && (p?.type === 'assignment' || p?.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id) written.add(a);
    });
    const stale = [...written].filter((a) => !ctx.resolved!.members.has(a) && !ctx.baseOwned.has(a));
    const queueRead = ctx.refs
      .of(sender.queue)
      .filter((r) => r.kind === 'attribute' && !(loop.outer.startIndex <= r.start && r.end <= loop.outer.endIndex) && !ctx.resolved!.ranges.contains(r.start, r.end) && !ctx.resolved!.statements.some((x) => x.node.startIndex <= r.start && r.end <= x.node.endIndex))
      .filter((r) => ctx.agent.assignments.every((x) => x.attr !== sender.queue || !(x.stmt.startIndex <= r.start && r.end <= x.stmt.endIndex)));
    const notes = [
      `${cls}: the sender thread ${sender.loop}() (self.${sender.thread}${sender.stop ? `, self.${sender.stop}` : ''}) goes: the base publishes what collect_data() returns, retries and queues what fails`,
      ...stale.map((a) => `self.${a} was kept up to date by that thread only and no longer changes (the base counts events_published)`),
      ...(queueRead.length ? [`self.${sender.queue} stays (read at line ${queueRead.map((r) => r.line).join(', ')}) but nothing is put on it any more`] : []),
    ];
    ctx.warnings.push(notes.join('; '));
  },
};
