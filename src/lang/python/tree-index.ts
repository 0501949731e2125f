// Every node of a parsed tree in pre-order, materialised once. In the Node binding each
// node a walk touches becomes a new JavaScript object (a native call, a weak reference and
// a cleanup callback), and a rewrite walks the same tree hundreds of times: scan,
// classification, the agent model, each transform, the removal plan, verification. This
// index is built by one cursor walk the first time a tree is walked; every later walk is a
// loop over an array. The binding hands back the object it already made for a node while
// that object lives, so a node reached any other way (childForFieldName, parent) is the
// very object held here and can be found in it.
import Parser from 'tree-sitter';
import type { SyntaxNode, Tree } from './parser.js';

/** Literal tables that hold no names are not descended into (a 2 MB lookup dict is all literals). */
const LITERAL_CONTAINERS = new Set(['dictionary', 'list', 'set', 'tuple', 'concatenated_string']);
const BIG_LITERAL = 16_384;

export interface TreeIndex {
  /** Nodes in pre-order. */
  nodes: SyntaxNode[];
  /** For nodes[i], the position one past its subtree (its descendants are nodes[i+1 .. end[i]-1]). */
  end: Int32Array;
  /** Node → its position. */
  position: Map<SyntaxNode, number>;
}

const indexes = new WeakMap<Tree, TreeIndex>();

/** True for a big literal table without a single identifier inside: its inside is never walked. */
export function opaqueLiteral(type: string, start: number, end: number, node: () => SyntaxNode): boolean {
  return LITERAL_CONTAINERS.has(type) && end - start > BIG_LITERAL && node().descendantsOfType('identifier').length === 0;
}

export function treeIndex(tree: Tree): TreeIndex {
  let index = indexes.get(tree);
  if (!index) {
    index = buildIndex(tree);
    indexes.set(tree, index);
  }
  return index;
}

/** The index of the node's tree, built on first use; null for a node it does not hold (inside an opaque literal). */
export function indexOf(node: SyntaxNode): { index: TreeIndex; at: number } | null {
  const index = treeIndex(node.tree);
  const at = index.position.get(node);
  return at === undefined ? null : { index, at };
}

/** Forget a tree's index (its nodes become collectable with it). */
export function dropIndex(tree: Tree): void {
  indexes.delete(tree);
}

type NodeClass = new (...args: never[]) => SyntaxNode;
const BaseNode = (Parser as unknown as { SyntaxNode: NodeClass }).SyntaxNode;

/**
 * The binding gives named node types a class whose `type` is a plain value, but anonymous
 * ones (`(`, `:`, `def`, `async`) answer `type` with a native call every time, and walks ask
 * every node its type. The first time the index meets such a type it gives the type a class
 * of its own whose `type` is the same name as a value (the name the native call returns), so
 * every node of it made from then on answers without leaving JavaScript.
 */
function classesOf(tree: Tree): NodeClass[] | null {
  const classes = (tree as unknown as { language?: { nodeSubclasses?: NodeClass[] } }).language?.nodeSubclasses;
  return Array.isArray(classes) && typeof BaseNode === 'function' ? classes : null;
}

function nameType(classes: NodeClass[], typeId: number, type: string): void {
  const named = class extends BaseNode {};
  Object.defineProperty(named.prototype, 'type', { value: type, enumerable: true });
  classes[typeId] = named;
}

function buildIndex(tree: Tree): TreeIndex {
  const nodes: SyntaxNode[] = [];
  let end = new Int32Array(1024);
  const cursor = tree.walk();
  const open: number[] = [];
  const classes = classesOf(tree);
  const push = (): number => {
    const i = nodes.length;
    if (classes) {
      const id = cursor.nodeTypeId;
      if (classes[id] === BaseNode) nameType(classes, id, cursor.nodeType);
    }
    nodes.push(cursor.currentNode);
    if (i >= end.length) {
      const grown = new Int32Array(end.length * 2);
      grown.set(end);
      end = grown;
    }
    return i;
  };
  let current = push();
  for (;;) {
    const opaque = opaqueLiteral(cursor.nodeType, cursor.startIndex, cursor.endIndex, () => nodes[current]!);
    if (!opaque && cursor.gotoFirstChild()) {
      open.push(current);
      current = push();
      continue;
    }
    end[current] = nodes.length;
    let done = false;
    for (;;) {
      if (open.length && cursor.gotoNextSibling()) {
        current = push();
        break;
      }
      const parent = open.pop();
      if (parent === undefined) {
        done = true;
        break;
      }
      cursor.gotoParent();
      end[parent] = nodes.length;
    }
    if (done) break;
  }
  const position = new Map<SyntaxNode, number>();
  for (let i = 0; i < nodes.length; i++) position.set(nodes[i]!, i);
  return { nodes, end: end.subarray(0, nodes.length), position };
}
