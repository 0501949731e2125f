// The agent model's assignments (a walk of every method body) are read only when something asks:
// the mechanical subset (add the base, add its import) reads no body, while the full rewrite does;
// and the output's dangling check skips its "every assignment went" test only when the agent's
// body is byte for byte the input's. An edit inside the body that takes the last assignment of a
// `self.<name>` still read must fail the rewrite: the skip being wrong lets it through.
import { afterEach, describe, expect, it } from 'vitest';
import type { PythonTransform, PythonTransformContext } from '../src/lang/python/transform-context.js';

// The work counters are read from a module loaded with counting on (it is decided at load).
process.env.MIGRATE_COUNT = '1';
const { counted } = await import('../src/core/counters.js');
const { rewritePython } = await import('../src/lang/python/rewrite.js');
const { loadProfile } = await import('../src/profile/profile.js');
const { loadBaseModel } = await import('../src/analysis/base-model.js');
const { inheritBase } = await import('../transforms/python/inherit-base.js');
const { addImport } = await import('../transforms/python/add-import.js');
const { fleetFiles } = await import('./bench/fleet/fleet.js');
const { REPO } = await import('./helpers/cli.js');
delete process.env.MIGRATE_COUNT;

// Synchronous work: a turn of the event loop between tests keeps the runner's replies read.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

const profile = loadProfile('base-agent');
const base = loadBaseModel(`${REPO}/fixtures/python/_base`, profile.python!, profile.base_class);
const agents = fleetFiles(12, {}).filter((f) => f.language === 'python').slice(0, 6);
const BODIES_READ = 'agent model: class bodies read';

/** The rewrite's class bodies read (agent models' assignments) while fn runs. */
function bodiesRead(fn: () => void): number {
  const before = counted(BODIES_READ);
  fn();
  return counted(BODIES_READ) - before;
}

/**
 * An edit inside the agent's body: the one assignment of a `self.<name>` that the class still reads
 * elsewhere (not the base's, not a method) is deleted as a statement, not proposed as a member.
 */
const dropOnlyAssignment = (took: string[]): PythonTransform => ({
  name: 'drop-only-assignment',
  phase: 'edit',
  run(ctx: PythonTransformContext) {
    const cls = ctx.agent.cls;
    const target = ctx.agent.assignments.find((a) => {
      if (ctx.baseOwned.has(a.attr) || ctx.agent.methods.has(a.attr)) return false;
      if (ctx.agent.assignments.filter((b) => b.attr === a.attr).length !== 1 || a.stmt.type !== 'expression_statement') return false;
      return ctx.refs.of(a.attr).some((r) =>
        r.kind === 'attribute' && r.node.parent?.childForFieldName('object')?.text === 'self' &&
        cls.node.startIndex <= r.start && r.end <= cls.node.endIndex && !(a.stmt.startIndex <= r.start && r.end <= a.stmt.endIndex));
    });
    if (!target) return;
    took.push(target.attr);
    ctx.deletions.push({ node: target.stmt, symbol: `self.${target.attr} = ...`, plain: true });
  },
});

describe('the agent model, built when asked', () => {
  it('the mechanical subset (add the base, add its import) reads no method body; the full rewrite does', () => {
    let changed = 0;
    const peer = bodiesRead(() => {
      for (const f of agents) {
        const out = rewritePython({ file: f.rel, source: f.text, className: f.className, profile, base, transforms: [inheritBase, addImport] });
        expect(out.status, `${f.rel}: ${out.error ?? ''}`).toBe('changed');
        expect(out.output).toContain(`class ${f.className}(`);
        changed++;
      }
    });
    expect(changed).toBe(agents.length);
    expect(peer).toBe(0);
    // The counter counts: the whole rewrite of one of them asks for its assignments.
    const f = agents[0]!;
    const full = bodiesRead(() => {
      const out = rewritePython({ file: f.rel, source: f.text, className: f.className, profile, base });
      expect(out.status, out.error).toBe('changed');
    });
    expect(full).toBeGreaterThan(0);
  });

  it('an edit inside the body that removes the last assignment of a self.<name> still read fails the rewrite (the dangling check is not skipped)', () => {
    let tried = 0;
    for (const f of agents) {
      const took: string[] = [];
      const out = rewritePython({ file: f.rel, source: f.text, className: f.className, profile, base, transforms: [inheritBase, addImport, dropOnlyAssignment(took)] });
      if (!took.length) continue;
      tried++;
      expect(out.status, f.rel).toBe('failed');
      expect(out.error).toMatch(new RegExp(`self\\.${took[0]} is still used at output line \\d+ but every assignment of it was removed`));
    }
    // The generated agents each set up state in __init__ that their methods read.
    expect(tried).toBeGreaterThanOrEqual(3);
  });
});
