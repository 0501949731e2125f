// Concern: kept legacy methods that have the name of a base method the base runs itself. Once the
// class inherits the base, such a method overrides the base's own, so where the base calls it (or
// installs it: `_on_signal`, its SIGTERM/SIGINT handler) the legacy method runs instead, and what the
// base's did (cleanup() then its own stop(): deregistration, the final metrics push) no longer happens.
// The base's hooks (the profile's main loop, health hook, teardown and hooks; the methods its run loop
// hands work to; its /metrics text) are meant to be overridden, and so is a method that extends the
// base's (it calls super().<name>()); the base's __init__ calls are early-overrides' concern. Any other
// is reported, naming the base method it overrides and where the base runs it; a review item the
// method already has says so too.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { TEARDOWN } from './remove-teardown.js';
import { callsSuper } from './early-overrides.js';
import { extendsBaseSignalHandler } from './remove-signal-handlers.js';
import { healthHook } from './remove-health.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';

export const baseMethodClash: PythonTransform = {
  name: 'base-method-clash',
  phase: 'edit',
  run(ctx) {
    ownHealthHookRename(ctx);
    for (const { name, fn, where } of baseRunMethods(ctx)) {
      // Made to extend the base's handler by remove-signal-handlers (its stop became super().<name>()).
      if (extendsBaseSignalHandler(ctx, name)) continue;
      const items = [...(ctx.resolved?.kept ?? []), ...ctx.kept].filter((k) => k.symbol === name);
      // The agent's own method under the name of the handler the base installs (`_on_signal(self, reason,
      // signum, frame)` installed by the agent through functools.partial): nothing of the base is meant by
      // it, so it takes a name of its own everywhere the file reaches it as the agent; the agent's installs
      // stay as they were, and the base's handler is the base's again.
      if (ctx.base.signalCalls.handlers.has(name) && !items.length && !ctx.external(name).length) {
        const renamed = freshName(ctx, name, 'agent_');
        renameMember(ctx, name, renamed, 'base-method-clash');
        ctx.warnings.push(`${name}() renamed to ${renamed}(): ${ctx.profile.base_class}.${name}() is the handler ${where.replace(`${ctx.profile.base_class} `, 'the base ')}; ` +
          `this agent's (line ${fn.line}) would have replaced it, and now stays wired only where the agent uses it`);
        continue;
      }
      // The agent's own private method under the name of one the base runs in its lifecycle
      // (`_deregister()` posting to the agent's own registry, which the base's stop() calls), on a class
      // written without any base and not extending the base's: nothing of the base was meant by it, and
      // left as it is the base's own step (deregistering what it registered) would no longer run. It takes a
      // name of its own everywhere the file reaches it as the agent, so both run where each was meant to.
      if (name.startsWith('_') && !items.length && !ctx.external(name).length && writtenWithoutBase(ctx)) {
        const renamed = freshName(ctx, name, '_agent_');
        renameMember(ctx, name, renamed, 'base-method-clash');
        ctx.warnings.push(`${name}() renamed to ${renamed}(): ${ctx.profile.base_class}.${name}() is the one ${where.replace(`${ctx.profile.base_class} `, 'the base ')}; ` +
          `this agent's (line ${fn.line}) would have run there in its place, and now runs only where the agent calls it`);
        continue;
      }
      const clash = `${name}() overrides ${ctx.profile.base_class}.${name}(), which ${where}: the agent's runs there instead of the base's; ` +
        `rename it (and its callers) or make it extend the base's with super().${name}(...)`;
      if (items.length) for (const k of items) k.reason += `; ${clash}`;
      else keep(ctx, name, fn.line, clash);
    }
  },
};

/** The legacy class had no base of its own (`class X:` / `class X(object):`): none of its methods meant one. */
function writtenWithoutBase(ctx: PythonTransformContext): boolean {
  return ctx.agent.cls.bases.every((b) => b.text === 'object');
}

/**
 * The agent's own method under the name of the base's health hook (`health_summary()` counting the fleet
 * for its cycle log), on a class that had no base when it was written, not extending the base's (no
 * super() call), and not already taken over by health-hook (no removed endpoint reported through it).
 * The base serves that hook's answer on /health and reads its own keys from it, so left as it is the
 * agent's method would answer /health in the base's place. Nothing of the base is meant by it: it takes
 * a name of its own everywhere the file reaches it as the agent, and callers in other files are reported.
 */
function ownHealthHookRename(ctx: PythonTransformContext): void {
  const hook = healthHook(ctx);
  const own = ctx.agent.methods.get(hook);
  if (!own || !ctx.base.methods.has(hook) || ctx.renames.has(hook) || isRemoved(ctx, own.outer) || callsSuper(own.body, hook)) return;
  if (!writtenWithoutBase(ctx)) return;
  const renamed = freshName(ctx, hook, 'agent_');
  for (const r of renameMember(ctx, hook, renamed, 'base-method-clash')) {
    keep(ctx, hook, r.line, `called from outside the class after ${hook}() was renamed to ${renamed}() (the base answers /health with its own ${hook}()); point this caller at ${renamed}() if it is the agent`);
  }
  reportExternalCallers(ctx, hook, renamed, `the base answers /health with its own ${hook}()`);
  ctx.warnings.push(`${hook}() renamed to ${renamed}(): ${ctx.profile.base_class}.${hook}() is its health hook, whose answer it serves on /health; this agent's (line ${own.line}) does not extend it and would have answered in its place`);
}

/**
 * The agent's kept methods of the name of a method the base runs itself (not a hook it is meant to
 * override, not one its __init__ calls, not one that extends the base's with super()), with where it runs it.
 */
export function* baseRunMethods(ctx: PythonTransformContext): Generator<{ name: string; fn: PyFunction; where: string }> {
  const hooks = baseHooks(ctx);
  for (const [name, fn] of ctx.agent.methods) {
    if (name.startsWith('__') || hooks.has(name) || ctx.base.initCalls.has(name) || ctx.renames.has(name)) continue;
    if (!ctx.base.methods.has(name) || isRemoved(ctx, fn.outer) || callsSuper(fn.body, name)) continue;
    const where = baseRuns(ctx, name);
    if (where) yield { name, fn, where };
  }
}

/** The base's methods an agent is meant to override. */
function baseHooks(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>([ctx.py.main_loop_method ?? 'run', healthHook(ctx), ...(ctx.py.hooks ?? [])]);
  if (ctx.py.teardown) out.add(ctx.py.teardown);
  for (const m of ctx.base.methods) if (TEARDOWN.test(m)) out.add(m);
  if (ctx.base.requestLoop) out.add(ctx.base.requestLoop.hook);
  if (ctx.base.periodicHook) out.add(ctx.base.periodicHook.hook);
  if (ctx.base.metricsHook) out.add(ctx.base.metricsHook);
  return out;
}

/** Where the base runs its own `name` (null when it never does: an override changes nothing the base does). */
export function baseRuns(ctx: PythonTransformContext, name: string): string | null {
  const { handlers, graph } = ctx.base.signalCalls;
  const callers = [...graph].filter(([m, calls]) => m !== name && calls.has(name)).map(([m]) => `${m}()`);
  if (handlers.has(name)) {
    const calls = [...(graph.get(name) ?? [])].map((m) => `${m}()`);
    return `${ctx.profile.base_class} installs as its SIGTERM/SIGINT handler${calls.length ? ` (it runs ${calls.join(', ')})` : ''}`;
  }
  if (callers.length) return `${ctx.profile.base_class} calls from ${callers.join(', ')}`;
  return ctx.base.selfCalls.has(name) ? `${ctx.profile.base_class} calls itself` : null;
}
