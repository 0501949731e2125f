// The agent class as the transforms see it: its methods, the attributes it assigns
// on `self` (with the statement and method of each assignment), and the statements
// of each method. Nested classes are skipped: their `self` is not the agent.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass, PyFunction } from '../lang/python/module-model.js';
import { selfAttribute, walk, walkTypes } from '../lang/python/syntax.js';
import { countByCaller, counting } from '../core/counters.js';

export interface AttributeAssignment {
  attr: string;
  /** The statement holding the assignment (expression_statement). */
  stmt: SyntaxNode;
  value: SyntaxNode | null;
  method: string;
  line: number;
}

export interface AgentModel {
  cls: PyClass;
  assignments: AttributeAssignment[];
  attributes: Set<string>;
  methods: Map<string, PyFunction>;
}

/** The types a typed walk of agent code must see: the caller's, and the scopes it skips. */
const withScopes = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

/**
 * Walk the agent's own code in a method: skip nested classes and nested defs that rebind self.
 * With `types`, `visit` sees only the nodes of those types (the same nodes in the same order
 * as a visit that ignores every other type and never returns false for one): the others are
 * passed over in the flat tree's arrays without being made into node objects (see walkTypes).
 */
export function walkAgentCode(fn: PyFunction, visit: (n: SyntaxNode) => boolean | void, types?: ReadonlySet<string>): void {
  if (!types) {
    const enter = (n: SyntaxNode): boolean | void => (enterScope(fn, n) === false ? false : visit(n));
    if (!counting) return walk(fn.body, enter);
    let shown = 0;
    walk(fn.body, (n) => (shown++, enter(n)));
    return countByCaller('walkAgentCode untyped: nodes shown', 'agent-model.js', shown);
  }
  // The positions `visit` is shown depend only on the method and the types, not on the visitor
  // (but for the subtrees it skips): listed by the first walk, stepped through by the next ones.
  const tree = fn.body.tree;
  let lists = agentCodeLists.get(fn.body);
  if (!lists || lists.fn !== fn.node.index) agentCodeLists.set(fn.body, (lists = { fn: fn.node.index, byTypes: new Map() }));
  let list = lists.byTypes.get(types);
  if (!list) {
    let seen = withScopes.get(types);
    if (!seen) withScopes.set(types, (seen = new Set([...types, 'class_definition', 'function_definition'])));
    const found: number[] = [];
    walkTypes(fn.body, seen, (n) => {
      const scope = enterScope(fn, n);
      if (scope === false) return false;
      if (types.has(n.type)) found.push(n.index);
    });
    lists.byTypes.set(types, (list = Int32Array.from(found)));
  }
  const { subtreeEnd } = tree;
  for (let k = 0; k < list.length; ) {
    const i = list[k]!;
    k++;
    // A subtree the visitor skips: the listed positions inside it are passed over.
    if (visit(tree.node(i)) === false) for (const stop = subtreeEnd[i]!; k < list.length && list[k]! < stop; ) k++;
  }
  if (counting) countByCaller('walkAgentCode typed: positions listed', 'agent-model.js', list.length);
}

/** Per method body: the positions a typed walkAgentCode shows, per set of types (see walkAgentCode). */
const agentCodeLists = new WeakMap<SyntaxNode, { fn: number; byTypes: Map<ReadonlySet<string>, Int32Array> }>();

/** false for a scope whose `self` is not the agent's (a nested class, a nested def taking `self`): not walked. */
function enterScope(fn: PyFunction, n: SyntaxNode): false | undefined {
  if (n.type === 'class_definition') return false;
  if (n.type === 'function_definition' && n.id !== fn.node.id) {
    const first = n.childForFieldName('parameters')?.namedChild(0);
    if (first?.text === 'self') return false;
  }
  return undefined;
}

const ASSIGNMENTS: ReadonlySet<string> = new Set(['assignment', 'augmented_assignment']);
/** For walkAgentCode's `types`: a search of the agent's calls. */
export const CALL_NODES: ReadonlySet<string> = new Set(['call']);

/**
 * The model of `cls`. Its assignments walk every method body (most of a class's nodes), so they are
 * read when first asked for: a rewrite whose transforms and checks never ask (the mechanical subset:
 * add the base, add its import) does not pay for them.
 */
export function buildAgentModel(cls: PyClass): AgentModel {
  let assignments: AttributeAssignment[] | undefined;
  let attributes: Set<string> | undefined;
  return {
    cls,
    methods: cls.methods,
    get assignments() {
      return (assignments ??= [...assignmentsOf(cls)]);
    },
    get attributes() {
      return (attributes ??= new Set(assignmentsOf(cls).map((a) => a.attr)));
    },
  };
}

/**
 * The class node's assignments, read once: the output's dangling check and the idempotency pass over
 * that same tree each build the model (from module models of their own).
 */
function assignmentsOf(cls: PyClass): readonly AttributeAssignment[] {
  let assignments = assignmentsByClass.get(cls.node);
  if (!assignments) {
    assignmentsByClass.set(cls.node, (assignments = readAssignments(cls)));
    if (counting) countByCaller('agent model: class bodies read', 'agent-model.js');
  }
  return assignments;
}
const assignmentsByClass = new WeakMap<SyntaxNode, readonly AttributeAssignment[]>();

function readAssignments(cls: PyClass): AttributeAssignment[] {
  const assignments: AttributeAssignment[] = [];
  for (const m of cls.methods.values()) {
    walkAgentCode(m, (n) => {
      if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
      const left = n.childForFieldName('left');
      const targets = left?.type === 'pattern_list' || left?.type === 'tuple_pattern' ? left.namedChildren : left ? [left] : [];
      for (const t of targets) {
        const attr = selfAttribute(t);
        if (!attr) continue;
        const stmt = n.parent?.type === 'expression_statement' ? n.parent : n;
        assignments.push({
          attr,
          stmt,
          value: targets.length === 1 ? n.childForFieldName('right') : null,
          method: m.name,
          line: n.startPosition.row + 1,
        });
      }
    }, ASSIGNMENTS);
  }
  return assignments;
}
