// Which methods of the agent class can run: from the entry point (the constructed agent's
// methods it calls), from the constructor, from the base (the methods its __init__, run loop,
// shutdown and health endpoint call), and from there through `self.m(...)`, `self.m` handed
// over as a callback, `getattr(self, "m")`, and handler classes reaching the agent through an
// alias. Used to prove a migration left no method that used to run without a caller.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { ModuleModel, PyClass } from '../lang/python/module-model.js';
import type { BaseModel } from './base-model.js';
import type { PythonProfile } from '../profile/profile.js';
import { derivesFromBaseOfName } from './older-base.js';
import { entryScopes } from '../lang/python/module-model.js';
import { callee, stringValue, walkTypes } from '../lang/python/syntax.js';
import { isServerTag, reachesAgentViaServer, serverTags } from './server-tag.js';
import { excerpt } from '../core/excerpt.js';

// The node types each search below reads (see walkTypes).
const ASSIGNMENT: ReadonlySet<string> = new Set(['assignment']);
const ATTRIBUTE: ReadonlySet<string> = new Set(['attribute']);
const ASSIGNMENT_ATTRIBUTE_OR_CALL: ReadonlySet<string> = new Set(['assignment', 'attribute', 'call']);

/**
 * The methods of `cls` that can run. References inside a `cut` node (of the same tree) do not
 * count: what is reached only through it is what depends on that code alone.
 */
export function reachableMethods(module: ModuleModel, cls: PyClass, baseCalls: Iterable<string> = [], cut: readonly SyntaxNode[] = []): Set<string> {
  const reached = new Set<string>();
  const tags = serverTags(cls);
  const queue: string[] = [];
  const reach = (m: string) => {
    if (cls.methods.has(m) && !reached.has(m)) {
      reached.add(m);
      queue.push(m);
    }
  };
  const isCut = (n: SyntaxNode) => cut.some((c) => c.startIndex <= n.startIndex && n.endIndex <= c.endIndex);
  reach('__init__');
  for (const m of baseCalls) reach(m);
  // The entry point: methods called on a variable holding the agent, or directly on the construction.
  for (const scope of entryScopes(module)) {
    const vars = new Set<string>();
    walkTypes(scope, ASSIGNMENT, (n) => {
      if (isCut(n)) return false;
      if (n.type === 'assignment' && n.childForFieldName('right')?.type === 'call' && callee(n.childForFieldName('right')!) === cls.name) {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier') vars.add(left.text);
      }
    });
    walkTypes(scope, ATTRIBUTE, (n) => {
      if (n.type !== 'attribute' || isCut(n)) return false;
      const obj = n.childForFieldName('object')!;
      const onAgent = vars.has(obj.text) || (obj.type === 'call' && callee(obj) === cls.name);
      if (onAgent) reach(n.childForFieldName('attribute')!.text);
    });
  }
  const drain = () => {
  while (queue.length) {
    const m = cls.methods.get(queue.shift()!)!;
    const selfName = m.params[0]?.name ?? 'self';
    const aliases = new Set<string>([selfName]);
    // One walk per method (it was two: the aliases, then their uses): the uses are read once every
    // alias of the body is known, since one may be used above its assignment (in a loop).
    const uses: SyntaxNode[] = [];
    walkTypes(m.body, ASSIGNMENT_ATTRIBUTE_OR_CALL, (n) => {
      if (isCut(n)) return false;
      if (n.type !== 'assignment') uses.push(n);
      else if (n.childForFieldName('right')?.text === selfName && n.childForFieldName('left')?.type === 'identifier') {
        aliases.add(n.childForFieldName('left')!.text);
      }
    });
    for (const n of uses) {
      if (n.type === 'attribute') {
        const obj = n.childForFieldName('object')!;
        if ((obj.type === 'identifier' && aliases.has(obj.text)) || isServerTag(obj, tags)) reach(n.childForFieldName('attribute')!.text);
      }
      if (n.type === 'call' && /^(getattr|hasattr)$/.test(callee(n) ?? '')) {
        const args = n.childForFieldName('arguments')?.namedChildren ?? [];
        const s = args[1] ? stringValue(args[1]) : null;
        if (s && args[0] && aliases.has(args[0].text)) reach(s);
      }
    }
  }
  };
  drain();
  // Handler classes at module level reaching the agent through their server (self.server.<tag>.m,
  // or `monitor = self.server.monitor; monitor.m()`).
  walkTypes(module.root, ATTRIBUTE, (n) => {
    if (isCut(n)) return false;
    if (n.type === 'attribute' && reachesAgentViaServer(n.childForFieldName('object')!, tags)) {
      reach(n.childForFieldName('attribute')!.text);
    }
  });
  drain();
  return reached;
}

/** What the profile's base calls on the agent: its __init__'s, run loop's, shutdown's and health endpoint's calls, and the profile's hooks. */
export function baseCalledMethods(base: BaseModel, py: PythonProfile): string[] {
  // The handlers the base installs for SIGTERM/SIGINT (`self._on_signal`) run an override of them too.
  return [...base.selfCalls, ...base.initCalls, ...base.shutdownCalls, ...base.signalCalls.handlers, ...(py.hooks ?? []), py.health_hook ?? '_get_health_status',
    ...(base.requestLoop ? [base.requestLoop.hook] : []), ...(base.periodicHook ? [base.periodicHook.hook] : []), py.main_loop_method ?? 'run',
    // The base's health server asks the agent's extra GET routes of it (health-extra-routes), which reach their answer methods.
    ...(base.extraRoutes ? [base.extraRoutes] : [])];
}

/**
 * The methods that could run in the original module (before any migration): a class already on an
 * older copy of the base (same name, another module) had its hooks called by that base too.
 */
export function reachableInOriginal(module: ModuleModel, cls: PyClass, base: BaseModel, py: PythonProfile, cut: readonly SyntaxNode[] = []): Set<string> {
  return reachableMethods(module, cls, derivesFromBaseOfName(module, cls, base.className) ? baseCalledMethods(base, py) : [], cut);
}

/** The output method that holds what the original method `name` became: itself, or its `_agent_` rename. */
export function counterpart(cls: PyClass, name: string): string | null {
  if (cls.methods.has(name)) return name;
  const stem = name.replace(/^_+/, '');
  for (const m of cls.methods.keys()) if (/^_+agent_/.test(m) && m.replace(/^_+agent_/, '') === stem) return m;
  return null;
}

export function describeNode(n: SyntaxNode): string {
  return excerpt(n.text, 60);
}
