// Concern: the agent's main loop inherited from a loop mixin (src/analysis/loop-mixin.ts), such as
// `class FeedIngestAgent(RetryLoopMixin)` whose RetryLoopMixin.run() loops `while self.running:` around
// the agent's poll_once() with its back-off. The mixin stays ahead of the base in the bases (inherit-base
// appends the base last), so its run() still runs the agent, and its file is left as it is (other agents
// share it). What needs proving is that the base stops that loop: its stop (what its signal handler
// reaches) must clear the flag the loop reads. Proven, the run says so; otherwise a person decides.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { loopMixinFlag } from '../../src/analysis/loop-mixin.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { walk } from '../../src/lang/python/syntax.js';

const label = 'inherited-loop-mixin';

export const inheritedLoopMixin: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    if (cls.methods.has('run')) return;
    const parent = loopParent(ctx);
    if (!parent) return;
    const { name, file, line, flag } = parent;
    const base = ctx.profile.base_class;
    const where = `${name}.run() (${file}:${line})`;
    const main = ctx.py.main_loop_method ?? 'run';
    if (main !== 'run' || !ctx.base.methods.has('run')) {
      // What a person moves: the agent's methods the mixin's loop calls, and the hook the base's loop calls instead.
      const hooks = parent.calls.filter((m) => cls.methods.has(m)).map((m) => `self.${m}() (line ${cls.methods.get(m)!.line})`);
      const cycle = ctx.py.hooks?.find((h) => h !== 'setup' && h !== 'shutdown' && !/validate|enrich/.test(h));
      keep(ctx, name, cls.line,
        `${where} is the agent's main loop, inherited, but ${base}'s main loop is ${main}(), which does not run it` +
          (hooks.length ? `: its \`while self.${flag}:\` calls ${hooks.join(', ')} with the mixin's own pacing and failure handling` : '') +
          (cycle ? `, where ${base} calls ${cycle}() once a cycle and stops on its own stop()` : '') +
          `: move the loop's body onto ${base}'s loop by hand`);
      return;
    }
    const clearing = flagClearedOnStop(ctx, flag);
    if (!clearing) {
      keep(ctx, name, cls.line,
        `${where} stays the agent's main loop ahead of ${base}.run(), but its loop runs while self.${flag}, which ${base}'s stop() does not clear: ` +
          `SIGTERM still ends the process (the base's handler exits), a stop() called otherwise leaves the loop running; clear self.${flag} in a cleanup() override, or move the loop onto ${base}'s`);
      return;
    }
    ctx.warnings.push(
      `${cls.name}: ${where} stays the agent's main loop: ${name}, a loop mixin listed before ${base}, overrides ${base}.run() as it ran the legacy agent; ` +
        `its \`while self.${flag}:\` ends when ${base}.${clearing}() clears self.${flag} (SIGTERM/SIGINT: the base's handler), and ${name} shadows nothing else of ${base}`,
    );
  },
};

/** The agent's first parent (in the bases' order, before the base) that is a loop mixin, with its run()'s line and flag. */
function loopParent(ctx: PythonTransformContext): { name: string; file: string; line: number; flag: string; calls: string[] } | null {
  const target = ctx.profile.base_class;
  for (const b of ctx.agent.cls.bases) {
    const name = baseName(b);
    if (!name || name === target) return null;
    const local = ctx.module.classes.find((c) => c.name === name && c.node.id !== ctx.agent.cls.node.id);
    const found = local ? { cls: local, file: ctx.file } : ctx.inherited().find((p) => p.cls.name === name);
    if (!found) continue;
    const flag = loopMixinFlag(found.cls);
    // The first parent defining run() is the one the MRO takes: not a loop mixin, nothing to say here.
    if (!flag) {
      if (found.cls.methods.has('run')) return null;
      continue;
    }
    return { name, file: found.file, line: found.cls.methods.get('run')!.line, flag, calls: selfCalls(found.cls.methods.get('run')!.body) };
  }
  return null;
}

/**
 * The base method that sets `flag` to False on the way the agent stops (what the base's signal handler
 * reaches, and its stop()), else null.
 */
function flagClearedOnStop(ctx: PythonTransformContext, flag: string): string | null {
  const b = ctx.base;
  if (!(b.values.get(flag) ?? []).some((v) => v === 'False')) return null;
  const start = [...b.signalCalls.handlers, ...(b.methods.has('stop') ? ['stop'] : [])];
  const seen = new Set<string>();
  const queue = [...start];
  while (queue.length) {
    const m = queue.shift()!;
    if (seen.has(m)) continue;
    seen.add(m);
    if (b.assignedIn.get(m)?.has(flag)) return m;
    for (const next of b.signalCalls.graph.get(m) ?? []) queue.push(next);
  }
  return null;
}

/** The methods called on self in the body, in order, once each (`self.poll_once()`). */
function selfCalls(body: SyntaxNode): string[] {
  const out: string[] = [];
  walk(body, (n) => {
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const m = f?.type === 'attribute' && f.childForFieldName('object')?.text === 'self' ? f.childForFieldName('attribute')!.text : null;
    if (m && !out.includes(m)) out.push(m);
  });
  return out;
}
