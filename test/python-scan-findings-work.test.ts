// The scan's findings read each method's body a bounded number of times, whatever its number of calls:
// the module-level client check asked for the method's local bindings (a walk of its whole body) at every
// `receiver.method()` call in it, so a method of n calls was walked n times (half of the findings' CPU on
// the bench fleet). Counted with the deterministic work counters, not timed.
import { describe, expect, it } from 'vitest';

// The counters are decided when their module loads: on for this file only.
process.env.MIGRATE_COUNT = '1';
const { counted } = await import('../src/core/counters.js');
const { findingsOf } = await import('../src/discover/python-scan.js');
const { parsePython } = await import('../src/lang/python/parser.js');
const { buildModuleModel } = await import('../src/lang/python/module-model.js');
const { walk } = await import('../src/lang/python/syntax.js');
const { fleetFiles } = await import('./bench/fleet/fleet.js');
delete process.env.MIGRATE_COUNT;

const SHOWN = 'walk: nodes shown';

describe('scan findings', () => {
  it('walk each class method about once, not once per call in it', () => {
    const agents = fleetFiles(12, {}).filter((f) => f.language === 'python').slice(0, 3);
    expect(agents.length).toBe(3);
    for (const file of agents) {
      const module = buildModuleModel(file.text, parsePython(file.text));
      for (const cls of module.classes) {
        // Nodes of the class's methods: each walk over a method body shows at most these.
        const methodNodes = [...cls.methods.values()].reduce((n, m) => n + m.node.tree.subtreeEnd[m.node.index]! - m.node.index, 0);
        let calls = 0;
        for (const m of cls.methods.values()) walk(m.node, (n) => void (n.type === 'call' && calls++));
        const before = counted(SHOWN);
        findingsOf(cls, module);
        const shown = counted(SHOWN) - before;
        // Each body about once (the bindings walk, with its assignment targets; a statsd payload's lookup):
        // 0.96 of the method nodes at most on these agents, 3.7 when each call walked its method again.
        expect(shown, `${file.rel} ${cls.name}: ${calls} calls in ${methodNodes} method nodes`).toBeLessThanOrEqual(1.5 * methodNodes);
      }
    }
  });

  it("reads a method's local bindings only where a call could be a registration on a module-level client", () => {
    // A call is reported only when its receiver or method names a registry (REGISTRY_NAME in python-scan.ts):
    // a method whose calls (time.sleep, json.dumps, self.x()) name none is not walked for its bindings.
    const named = /regist(er|ry|ration)|discover(y)?_service|service_registry/i;
    const agents = fleetFiles(12, {}).filter((f) => f.language === 'python').slice(0, 3);
    let methods = 0;
    let onModuleNames = 0;
    for (const file of agents) {
      const module = buildModuleModel(file.text, parsePython(file.text));
      for (const cls of module.classes) {
        // Nodes of the methods that may ask: the bindings reader walks assignment targets in those alone.
        let asking = 0;
        for (const m of cls.methods.values()) {
          methods++;
          let calls = false;
          let registry = false;
          walk(m.body, (n) => {
            if (n.type !== 'call') return;
            const f = n.childForFieldName('function');
            const receiver = f?.type === 'attribute' ? f.childForFieldName('object') : null;
            if (receiver?.type !== 'identifier' || receiver.text === 'self' || !module.imports.has(receiver.text)) return;
            calls = true;
            if (named.test(f!.text)) registry = true;
          });
          if (calls) onModuleNames++;
          if (registry) asking += m.node.tree.subtreeEnd[m.node.index]! - m.node.index;
        }
        const before = counted(SHOWN);
        findingsOf(cls, module);
        expect(counted(SHOWN) - before, `${file.rel} ${cls.name}`).toBeLessThanOrEqual(asking);
      }
    }
    // The agents call imported modules in most methods: each of those was walked for its bindings before.
    expect(onModuleNames).toBeGreaterThan(methods / 4);
  });
});
