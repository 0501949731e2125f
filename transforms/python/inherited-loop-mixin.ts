// Concern: the agent's main loop inherited from a loop mixin (src/analysis/loop-mixin.ts), such as
// `class FeedIngestAgent(RetryLoopMixin)` whose RetryLoopMixin.run() loops `while self.running:` around
// the agent's poll_once() with its back-off. The mixin stays ahead of the base in the bases (inherit-base
// appends the base last), so its run() still runs the agent, and its file is left as it is (other agents
// share it). What needs proving is that the base stops that loop: its stop (what its signal handler
// reaches) must clear the flag the loop reads. Proven, the run says so; otherwise a person decides.
// On a base whose main loop is not run() (HardenedAgentBase.run_forever()), a mixin loop that only calls
// the agent's cycle and sleeps the period the base is given is the base's loop (resolvedLoopMixin): the
// base goes ahead of the mixin in the bases, so its run() is the agent's, and the mixin keeps the rest.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { loopMixinFlag } from '../../src/analysis/loop-mixin.js';
import { isLogCall } from '../../src/analysis/infra.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { cycleMethod } from './hardened-shapes.js';

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
      const resolved = resolvedLoopMixin(ctx);
      // Not given that period, the entry point's run() stays for review (entrypoint says why).
      if (resolved && ctx.passThrough.get('collection_interval') !== resolved.param) return;
      if (resolved) {
        const lines = resolved.prelude.map((p) => `line ${p.startPosition.row + 1}: ${p.text.split('\n')[0]!.trim()}`);
        ctx.warnings.push(
          `${cls.name}: ${where} was the agent's main loop: its \`while self.${flag}:\` calls self.${resolved.cycle}() then sleeps self.${resolved.attr} (${file}:${resolved.sleep.startPosition.row + 1}), ` +
            `which is ${base}'s ${main}() loop (the cycle each collection_interval, the value __init__ gives self.${resolved.attr}; its stop() ends it); ` +
            `${base} now comes before ${name} in the bases, so ${base}.run() is the agent's, and ${name} (left as it is for its other users) keeps its other members` +
            (lines.length ? `; its start-up log line (${file} ${lines.join('; ')}) is no longer written` : ''),
        );
        return;
      }
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
function loopParent(ctx: PythonTransformContext): { name: string; file: string; line: number; flag: string; calls: string[]; cls: PyClass; base: SyntaxNode } | null {
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
    return { name, file: found.file, line: found.cls.methods.get('run')!.line, flag, calls: selfCalls(found.cls.methods.get('run')!.body), cls: found.cls, base: b };
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

/** A loop mixin whose loop is the base's own (see resolvedLoopMixin). */
export interface ResolvedLoopMixin {
  name: string;
  file: string;
  /** The mixin's run(). */
  run: PyFunction;
  /** The agent's base list entry naming the mixin. */
  base: SyntaxNode;
  /** The agent's cycle the loop calls (collect). */
  cycle: string;
  /** The attribute the loop sleeps, and the __init__ parameter it is set from. */
  attr: string;
  param: string;
  sleep: SyntaxNode;
  /** run()'s log lines before the loop. */
  prelude: SyntaxNode[];
}

const resolvedMemo = new WeakMap<PythonTransformContext, ResolvedLoopMixin | null>();

/**
 * On a base whose main loop is not run(), the agent's loop mixin when its run() is that loop already:
 * log lines, then `while self.<flag>: self.<cycle>(); time.sleep(self.<attr>)`, the cycle the agent's own
 * (collect(), which becomes the base's hook), self.<attr> set once, by __init__'s own body, from one of its
 * parameters (what super-init hands the base as its period) and by nothing of the mixin. Listed after the
 * base, the mixin loses run() alone: null when the base has another of its members. Else null.
 */
export function resolvedLoopMixin(ctx: PythonTransformContext): ResolvedLoopMixin | null {
  if (!resolvedMemo.has(ctx)) resolvedMemo.set(ctx, readResolvedLoopMixin(ctx));
  return resolvedMemo.get(ctx)!;
}

function readResolvedLoopMixin(ctx: PythonTransformContext): ResolvedLoopMixin | null {
  const cls = ctx.agent.cls;
  if ((ctx.py.main_loop_method ?? 'run') === 'run' || cls.methods.has('run') || ctx.unit) return null;
  const parent = loopParent(ctx);
  if (!parent) return null;
  const run = parent.cls.methods.get('run')!;
  const body = statements(run.body).filter((s) => !isDocstring(s));
  const loop = body[body.length - 1]!;
  const prelude = body.slice(0, -1);
  if (!prelude.every((s) => isLogCall(expressionOf(s)))) return null;
  const inner = statements(loop.childForFieldName('body'));
  const cycle = cycleMethod(ctx);
  const call = inner.length === 2 ? expressionOf(inner[0]!) : null;
  if (call?.type !== 'call' || call.childForFieldName('arguments')?.namedChildCount !== 0 || selfAttribute(call.childForFieldName('function')!) !== cycle || !ctx.agent.methods.has(cycle)) return null;
  const sleep = expressionOf(inner[1]!);
  const args = sleep?.type === 'call' ? sleep.childForFieldName('arguments')!.namedChildren : [];
  const attr = sleep?.type === 'call' && /^(time\.)?sleep$/.test(callee(sleep) ?? '') && args.length === 1 ? selfAttribute(args[0]!) : null;
  if (!attr) return null;
  const init = ctx.agent.methods.get('__init__');
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const value = sets.length === 1 && sets[0]!.method === '__init__' && sets[0]!.stmt.parent?.id === init?.body.id ? sets[0]!.value : null;
  if (value?.type !== 'identifier' || !init!.params.some((p) => p.name === value.text)) return null;
  let mixinSets = false;
  walk(parent.cls.body, (n) => {
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && selfAttribute(n.childForFieldName('left')!) === attr) mixinSets = true;
  });
  if (mixinSets) return null;
  const members = [...parent.cls.methods.keys(), ...classLevelNames(parent.cls)];
  if (members.some((m) => m !== 'run' && (ctx.base.methods.has(m) || ctx.base.attributes.has(m)))) return null;
  return { name: parent.name, file: parent.file, run, base: parent.base, cycle, attr, param: value.text, sleep: inner[1]!, prelude };
}

/** Names a class body assigns itself (`poll_seconds = 5.0`). */
function classLevelNames(cls: PyClass): string[] {
  return statements(cls.body).flatMap((s) => {
    const e = expressionOf(s);
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    return left?.type === 'identifier' ? [left.text] : [];
  });
}
