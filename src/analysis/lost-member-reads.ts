// A member the legacy agent class had and its rewrite no longer has (nor the base) is dangling
// wherever the output still reads it, whichever way the read reaches the class: the removal
// proposals' own check only follows the names they removed, and a transform that moves a member
// out (a static helper into the publisher) left `FlowExportAgent._encode(...)` calling nothing.
import type { SyntaxNode, Tree } from '../lang/python/parser.js';
import type { ModuleModel, PyClass, PyFunction } from '../lang/python/module-model.js';
import { stringValue, walkTypes } from '../lang/python/syntax.js';
import { buildAgentModel, walkAgentCode, type AgentModel } from './agent-model.js';

export interface LostMemberRead {
  name: string;
  line: number;
  /** How the read reaches the agent class: `self.X`, `Agent.X`, `getattr(self, "X")`, ... */
  route: string;
}

/** Names a class answers on itself: its methods, nested classes and class-level assignments, and `self.X` it assigns. */
export function classMembers(cls: PyClass, assigned: Iterable<string>): Set<string> {
  const out = new Set<string>([...cls.methods.keys(), ...assigned]);
  for (const stmt of cls.body.namedChildren) {
    const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (def?.type === 'class_definition') out.add(def.childForFieldName('name')!.text);
    const a = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
    if (a?.type === 'assignment' || a?.type === 'augmented_assignment') {
      walkTypes(a.childForFieldName('left')!, IDENTIFIER, (n) => {
        if (n.parent?.type !== 'attribute') out.add(n.text);
      });
    }
  }
  return out;
}

/**
 * The verify stage's message for the first read in the output of a member the legacy agent
 * (`legacy`, the input's model) had and the output class `agentOut` lost, that neither the base
 * (`baseOwned`) nor a class of the module it now inherits from (a queue mixin) answers; else null.
 */
export function danglingMemberRead(legacy: AgentModel, output: Tree, model: ModuleModel, agentOut: PyClass, baseOwned: ReadonlySet<string>): string | null {
  const answered = classMembers(agentOut, buildAgentModel(agentOut).attributes);
  for (const b of agentOut.bases) {
    for (const c of model.classes) if (c !== agentOut && c.name === b.text) for (const n of classMembers(c, buildAgentModel(c).attributes)) answered.add(n);
  }
  const lost = new Set([...classMembers(legacy.cls, legacy.attributes)].filter((n) => !answered.has(n) && !baseOwned.has(n)));
  const read = lostMemberRead(output, agentOut, lost);
  return read ? `${legacy.cls.name}.${read.name} left the class (the base has none) but output line ${read.line} still reads it as ${read.route}` : null;
}

const IDENTIFIER: ReadonlySet<string> = new Set(['identifier']);
const READS: ReadonlySet<string> = new Set(['attribute', 'call']);

/** The instance parameter of a method (none for a @staticmethod). */
function instanceParam(fn: PyFunction): string | null {
  if (fn.decorators.includes('staticmethod')) return null;
  const first = fn.params[0];
  return first && first.kind !== 'args' && first.kind !== 'kwargs' && first.kind !== 'separator' ? first.name : null;
}

/**
 * The first read in `output` of a member in `lost` through the agent class `agent` (the output's
 * class): `self.X` / `cls.X` and an alias of self (`agent = self`) in its methods, `type(self).X`,
 * `self.__class__.X`, `super().X`, `getattr(self, "X")` without a default, `Agent.X` anywhere in the module, and
 * `x.X` on a module-level name the module binds to `Agent(...)`. A class with `__getattr__` answers
 * any name: nothing is reported for it.
 */
export function lostMemberRead(output: Tree, agent: PyClass, lost: ReadonlySet<string>): LostMemberRead | null {
  if (!lost.size || agent.methods.has('__getattr__') || agent.methods.has('__getattribute__')) return null;
  return agentReads(output, agent, (name) => lost.has(name), { inMethods: true, first: true })[0] ?? null;
}

/**
 * Reads of the agent's members by the module's code outside the class's methods (`Agent.X`, `x.X` on
 * `x = Agent(...)`: an entry point's `scheduler.shutdown()`), each with its line, for the names `wanted` accepts.
 */
export function moduleReadsOfAgent(tree: Tree, agent: PyClass, wanted: (name: string) => boolean): LostMemberRead[] {
  return agentReads(tree, agent, wanted, { inMethods: false, first: false });
}

function agentReads(output: Tree, agent: PyClass, wanted: (name: string) => boolean, opts: { inMethods: boolean; first: boolean }): LostMemberRead[] {
  const root = output.rootNode;
  // Module-level names bound to an instance: `agent = FlowExportAgent(...)` (in a main block or function).
  const instances = new Set<string>();
  walkTypes(root, ASSIGNMENT, (n) => {
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const callee = right?.type === 'call' ? right.childForFieldName('function') : null;
    if (left?.type === 'identifier' && callee?.type === 'identifier' && callee.text === agent.name && !within(n, agent.node)) instances.add(left.text);
  });
  // One read: an attribute or a getattr call.
  const readOf = (n: SyntaxNode, selves: ReadonlySet<string>): LostMemberRead | null => {
    if (n.type === 'attribute') {
      const name = n.childForFieldName('attribute')!.text;
      const route = wanted(name) ? routeOf(n.childForFieldName('object')!, selves, agent.name, instances) : null;
      return route ? { name, line: n.startPosition.row + 1, route: `${route}.${name}` } : null;
    }
    // getattr(self, "X") raises like self.X; with a default it is a question, not a read.
    const f = n.childForFieldName('function');
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (f?.text !== 'getattr' || args.length !== 2 || args[1]!.type !== 'string') return null;
    const name = stringValue(args[1]!);
    const route = name && wanted(name) ? routeOf(args[0]!, selves, agent.name, instances) : null;
    return route ? { name: name!, line: n.startPosition.row + 1, route: `getattr(${route}, "${name}")` } : null;
  };
  const found: LostMemberRead[] = [];
  const add = (r: LostMemberRead | null) => {
    if (r && !(opts.first && found.length)) found.push(r);
  };
  if (opts.inMethods) {
    for (const fn of agent.methods.values()) {
      const me = instanceParam(fn);
      const selves = new Set(me ? [me] : []);
      if (me) {
        walkTypes(fn.body, ASSIGNMENT, (n) => {
          const left = n.childForFieldName('left');
          if (left?.type === 'identifier' && n.childForFieldName('right')?.text === me) selves.add(left.text);
        });
      }
      // Agent code only: a handler class nested in a method has a `self` of its own.
      walkAgentCode(fn, (n) => add(readOf(n, selves)), READS);
      if (opts.first && found.length) return found;
    }
  }
  // Outside the class's methods: the class by name, built instances.
  const bodies = [...agent.methods.values()].map((f) => f.body);
  const none = new Set<string>();
  walkTypes(root, READS, (n) => {
    if (!bodies.some((b) => within(n, b))) add(readOf(n, none));
  });
  return found;
}

const ASSIGNMENT: ReadonlySet<string> = new Set(['assignment']);

function within(n: SyntaxNode, outer: SyntaxNode): boolean {
  return outer.startIndex <= n.startIndex && n.endIndex <= outer.endIndex;
}

/** How `obj` reaches the agent class, or null: `self`, `type(self)`, `self.__class__`, the class, an instance. */
function routeOf(obj: SyntaxNode, selves: ReadonlySet<string>, className: string, instances: ReadonlySet<string>): string | null {
  if (obj.type === 'identifier') return selves.has(obj.text) || obj.text === className || instances.has(obj.text) ? obj.text : null;
  if (obj.type === 'attribute' && obj.childForFieldName('attribute')!.text === '__class__') {
    const o = obj.childForFieldName('object')!;
    return o.type === 'identifier' && selves.has(o.text) ? obj.text : null;
  }
  // super().X in a method: X resolves on the bases, and a lost member is not the base's either.
  if (obj.type === 'call' && obj.childForFieldName('function')?.text === 'super' && selves.size) return obj.text;
  if (obj.type === 'call' && obj.childForFieldName('function')?.text === 'type') {
    const args = obj.childForFieldName('arguments')?.namedChildren ?? [];
    return args.length === 1 && args[0]!.type === 'identifier' && selves.has(args[0]!.text) ? obj.text : null;
  }
  return null;
}
