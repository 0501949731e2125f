// The agent class as the transforms see it: its methods, the attributes it assigns
// on `self` (with the statement and method of each assignment), and the statements
// of each method. Nested classes are skipped: their `self` is not the agent.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass, PyFunction } from '../lang/python/module-model.js';
import { selfAttribute, walk } from '../lang/python/syntax.js';

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

/** Walk the agent's own code in a method: skip nested classes and nested defs that rebind self. */
export function walkAgentCode(fn: PyFunction, visit: (n: SyntaxNode) => boolean | void): void {
  walk(fn.body, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type === 'function_definition' && n.id !== fn.node.id) {
      const first = n.childForFieldName('parameters')?.namedChild(0);
      if (first?.text === 'self') return false;
    }
    return visit(n);
  });
}

export function buildAgentModel(cls: PyClass): AgentModel {
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
    });
  }
  return { cls, assignments, attributes: new Set(assignments.map((a) => a.attr)), methods: cls.methods };
}
