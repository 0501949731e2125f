// Every place in a module that may refer to a name: attribute accesses on any object,
// bare identifiers, and string literals (getattr/hasattr/setattr, thread targets by name,
// dispatch tables). Deliberately over-approximate: a false "still used" only keeps code.
import type { SyntaxNode } from '../lang/python/parser.js';
import { stringValue, walk } from '../lang/python/syntax.js';

export interface Reference {
  name: string;
  start: number;
  end: number;
  line: number;
  kind: 'attribute' | 'identifier' | 'string';
  node: SyntaxNode;
}

export class ReferenceIndex {
  private byName = new Map<string, Reference[]>();

  constructor(root: SyntaxNode) {
    walk(root, (n) => {
      if (n.type === 'attribute') {
        const attr = n.childForFieldName('attribute');
        if (attr) this.add(attr.text, attr, 'attribute');
      } else if (n.type === 'identifier') {
        // attribute names are recorded by their attribute node; skip them here
        const p = n.parent;
        if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
        this.add(n.text, n, 'identifier');
      } else if (n.type === 'string') {
        const v = stringValue(n);
        if (v && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) this.add(v, n, 'string');
      }
    });
  }

  private add(name: string, node: SyntaxNode, kind: Reference['kind']) {
    let list = this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    list.push({ name, start: node.startIndex, end: node.endIndex, line: node.startPosition.row + 1, kind, node });
  }

  of(name: string): Reference[] {
    return this.byName.get(name) ?? [];
  }
}

/** A sorted set of half-open ranges with a containment test. */
export class RangeSet {
  private ranges: Array<[number, number]> = [];

  add(start: number, end: number): void {
    this.ranges.push([start, end]);
    this.ranges.sort((a, b) => a[0] - b[0]);
  }

  contains(start: number, end: number): boolean {
    return this.ranges.some(([s, e]) => s <= start && end <= e);
  }

  all(): Array<[number, number]> {
    return this.ranges;
  }
}
