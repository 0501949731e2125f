// Small helpers over tree-sitter-python nodes, shared by analysis and transforms.
import type { SyntaxNode } from './parser.js';
import { indexOf, opaqueLiteral } from './tree-index.js';

/**
 * Visit node and its descendants depth-first (pre-order); return false from fn to skip a
 * subtree. Walks the tree's index (every node materialised once per tree, see tree-index.ts)
 * and passes over big literal tables (a 2 MB lookup dict) that hold no names at all.
 */
export function walk(node: SyntaxNode, fn: (n: SyntaxNode) => boolean | void): void {
  const found = indexOf(node);
  if (!found) return walkWithCursor(node, fn);
  const { nodes, end } = found.index;
  const stop = end[found.at]!;
  for (let i = found.at; i < stop; ) i = fn(nodes[i]!) === false ? end[i]! : i + 1;
}

/** The same walk for a node the index does not hold (inside a literal table it passes over). */
function walkWithCursor(node: SyntaxNode, fn: (n: SyntaxNode) => boolean | void): void {
  const cursor = node.walk();
  let depth = 0;
  for (;;) {
    const current = cursor.currentNode;
    let descend = fn(current) !== false;
    if (descend && opaqueLiteral(cursor.nodeType, cursor.startIndex, cursor.endIndex, () => current)) descend = false;
    if (descend && cursor.gotoFirstChild()) {
      depth++;
      continue;
    }
    for (;;) {
      if (depth === 0) return;
      if (cursor.gotoNextSibling()) break;
      cursor.gotoParent();
      depth--;
    }
  }
}

/** `self.x` → "x" (only when the object is the plain name `self`). */
export function selfAttribute(node: SyntaxNode, selfName = 'self'): string | null {
  if (node.type !== 'attribute') return null;
  const obj = node.childForFieldName('object');
  const attr = node.childForFieldName('attribute');
  if (obj?.type === 'identifier' && obj.text === selfName && attr) return attr.text;
  return null;
}

/** The literal content of a plain string node (no interpolation), else null. */
export function stringValue(node: SyntaxNode): string | null {
  if (node.type !== 'string') return null;
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return null;
  const content = node.namedChildren.filter((c) => c.type === 'string_content');
  return content.map((c) => c.text).join('');
}

/** Dotted text of a call's function (`self.x.y`, `threading.Thread`), else null. */
export function callee(call: SyntaxNode): string | null {
  if (call.type !== 'call') return null;
  const fn = call.childForFieldName('function');
  if (!fn) return null;
  if (fn.type === 'identifier' || fn.type === 'attribute') return fn.text.replace(/\s+/g, '');
  return null;
}


/** `if __name__ == "__main__":` in either operand order and quote style. */
export function isMainGuard(node: SyntaxNode): boolean {
  if (node.type !== 'if_statement') return false;
  const cond = node.childForFieldName('condition');
  if (!cond || cond.type !== 'comparison_operator') return false;
  const parts = cond.namedChildren;
  if (parts.length !== 2 || !cond.text.includes('==')) return false;
  const [a, b] = parts;
  const isName = (n: SyntaxNode) => n.type === 'identifier' && n.text === '__name__';
  const isMain = (n: SyntaxNode) => stringValue(n) === '__main__';
  return (isName(a!) && isMain(b!)) || (isName(b!) && isMain(a!));
}

/** Statements of a block (comments excluded). */
export function statements(block: SyntaxNode | null): SyntaxNode[] {
  if (!block) return [];
  return block.namedChildren.filter((c) => c.type !== 'comment');
}

export function isDocstring(stmt: SyntaxNode): boolean {
  return stmt.type === 'expression_statement' && stmt.namedChildCount === 1 && stmt.namedChild(0)!.type === 'string';
}

/** Does the subtree mention the identifier `name` anywhere (as a bare identifier)? */
export function mentions(node: SyntaxNode, name: string): boolean {
  let found = false;
  walk(node, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && n.text === name) found = true;
  });
  return found;
}

/** Unwrap `expression_statement` → its single child. */
export function expressionOf(stmt: SyntaxNode): SyntaxNode | null {
  if (stmt.type !== 'expression_statement') return null;
  return stmt.namedChildCount === 1 ? stmt.namedChild(0) : null;
}

export function lineOf(node: SyntaxNode): number {
  return node.startPosition.row + 1;
}
