// Concern: members that go but are listed beside members that stay, in a literal collection a
// loop iterates for set-up or teardown (`for srv in (self.server, self.health_server):
// srv.shutdown()`). The removed member's element goes; the others stay, and a tuple left with
// one element keeps its comma so the loop still iterates it. Likewise a thread whose target is a
// removed method, built beside threads that stay (`self.threads = [Thread(target=self._health_loop),
// Thread(target=self._work)]`): its Thread(...) element goes, also when the base has a method of that
// name (the list would start the base's loop a second time); and a thread serving a removed server
// (`Thread(target=self.health.serve_forever)`) listed beside threads that stay. An attribute that goes
// leaves the class's `__slots__` tuple too.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { collectionElement, slotsElement, threadElement } from '../../src/analysis/removal-plan.js';

export const memberCollections: PythonTransform = {
  name: 'member-collections',
  phase: 'edit',
  run(ctx) {
    const byCollection = new Map<number, { coll: SyntaxNode; going: SyntaxNode[] }>();
    for (const [name, p] of ctx.resolved?.members ?? []) {
      if (p.kind !== 'attribute' && p.kind !== 'method') continue;
      // A base-named teardown's calls reach the base's; any other removed method's thread goes.
      if (p.kind === 'method' && !p.callsReachBase) {
        for (const r of ctx.refs.of(name)) {
          const element = threadElement(r.node);
          if (!element || isRemoved(ctx, element)) continue;
          const coll = element.parent!;
          const entry = byCollection.get(coll.id) ?? { coll, going: [] };
          if (!entry.going.some((g) => g.id === element.id)) entry.going.push(element);
          byCollection.set(coll.id, entry);
        }
      }
      // A removed server served by a thread listed beside threads that stay (`Thread(target=self.health.serve_forever)`).
      if (p.kind === 'attribute' && !(ctx.baseOwned.has(name) && p.sharedWithBase !== false)) {
        for (const r of ctx.refs.of(name)) {
          const element = threadElement(r.node, true);
          if (!element || isRemoved(ctx, element)) continue;
          const coll = element.parent!;
          const entry = byCollection.get(coll.id) ?? { coll, going: [] };
          if (!entry.going.some((g) => g.id === element.id)) entry.going.push(element);
          byCollection.set(coll.id, entry);
        }
      }
      // A member the base provides under the same name stays valid where it is listed.
      if (ctx.baseOwned.has(name) && p.sharedWithBase !== false && !ctx.base.threadDriven.has(name)) continue;
      for (const r of ctx.refs.of(name)) {
        // An attribute that goes leaves the class's __slots__ too.
        const element = collectionElement(r.node) ?? (p.kind === 'attribute' && r.kind === 'string' ? slotsElement(r.node, ctx.agent.cls.node) : null);
        if (!element || isRemoved(ctx, element)) continue;
        const coll = element.parent!;
        const entry = byCollection.get(coll.id) ?? { coll, going: [] };
        entry.going.push(element);
        byCollection.set(coll.id, entry);
      }
    }
    for (const { coll, going } of byCollection.values()) {
      const elements = coll.namedChildren.filter((c) => c.type !== 'comment');
      const staying = elements.filter((e) => !going.some((g) => g.id === e.id));
      if (staying.length === 0) {
        // A list of threads that all went: empty, so nothing starts them; a loop over members goes as a whole (removal plan).
        if (going.every((g) => g.type === 'call')) ctx.edits.delete(elements[0]!.startIndex, elements.at(-1)!.endIndex, 'member-collections');
        continue;
      }
      for (const e of going) {
        const i = elements.findIndex((x) => x.id === e.id);
        // `, self.x` when a kept element comes before it; else `self.x, ` up to the next element
        const keptBefore = elements.slice(0, i).some((x) => staying.includes(x));
        if (keptBefore) ctx.edits.delete(elements[i - 1]!.endIndex, e.endIndex, 'member-collections');
        else ctx.edits.delete(e.startIndex, elements[i + 1]!.startIndex, 'member-collections');
      }
      if (coll.type === 'tuple' && staying.length === 1 && !/,\s*\)$/.test(coll.text)) {
        ctx.edits.insert(staying[0]!.endIndex, ',', 'member-collections');
      }
    }
  },
};
