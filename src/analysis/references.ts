// Every place in a module that may refer to a name: attribute accesses on any object,
// bare identifiers, and string literals (getattr/hasattr/setattr, thread targets by name,
// dispatch tables). Deliberately over-approximate: a false "still used" only keeps code.
// Lazy: the text is searched for each name asked about, and only those hits are looked
// up in the tree, so a 2 MB file costs what its few interesting names cost.
import type { SyntaxNode, Tree } from '../lang/python/parser.js';
import { stringValue } from '../lang/python/syntax.js';

export interface Reference {
  name: string;
  start: number;
  end: number;
  line: number;
  kind: 'attribute' | 'identifier' | 'string';
  node: SyntaxNode;
}

const WORD = /[A-Za-z0-9_]/;

export class ReferenceIndex {
  private cache = new Map<string, Reference[]>();
  private readonly text: string;
  /** The text's runs of word characters (see wordRuns), listed on the first word name asked. */
  private runs?: Map<string, number[]>;

  constructor(private readonly root: SyntaxNode) {
    this.text = root.text;
  }

  of(name: string): Reference[] {
    let refs = this.cache.get(name);
    if (!refs) this.cache.set(name, (refs = this.find(name)));
    return refs;
  }

  private find(name: string): Reference[] {
    const out: Reference[] = [];
    const text = this.text;
    // A name of word characters occurs as a whole word exactly where a run of word characters is
    // that name: its starts are read from the text's runs, listed once for all the names asked.
    if (WORD_NAME.test(name)) {
      for (const at of (this.runs ??= wordRuns(text)).get(name) ?? NO_RUNS) {
        const end = at + name.length;
        const ref = classify(this.root.descendantForIndex(at, end), name, at, end);
        if (ref) out.push(ref);
      }
      return out;
    }
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + name.length)) {
      const end = at + name.length;
      if ((at > 0 && WORD.test(text[at - 1]!)) || (end < text.length && WORD.test(text[end]!))) continue;
      const node = this.root.descendantForIndex(at, end);
      const ref = classify(node, name, at, end);
      if (ref) out.push(ref);
    }
    return out;
  }
}

const WORD_NAME = /^[A-Za-z0-9_]+$/;
const NO_RUNS: readonly number[] = [];

/**
 * Each maximal run of word characters ([A-Za-z0-9_]) of the text → where its occurrences start, in
 * order. A whole-word occurrence of a word name (no word character on either side) is such a run:
 * find() searched the whole text once per name asked (the rewrite and its idempotency pass ask
 * hundreds per file), most of its time in that search.
 */
function wordRuns(text: string): Map<string, number[]> {
  const runs = new Map<string, number[]>();
  const re = /[A-Za-z0-9_]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const at = runs.get(m[0]);
    if (at) at.push(m.index);
    else runs.set(m[0], [m.index]);
  }
  return runs;
}

const byTree = new WeakMap<Tree, ReferenceIndex>();

/**
 * The index of a whole tree, shared by whoever reads that tree: the dangling check of a rewrite's
 * output and the idempotency pass that rewrites that same output tree again asked for the same
 * names, each looking every hit up in the tree anew. Its answers are never changed by a reader.
 */
export function referenceIndexOf(tree: Tree): ReferenceIndex {
  let index = byTree.get(tree);
  if (!index) byTree.set(tree, (index = new ReferenceIndex(tree.rootNode)));
  return index;
}

function classify(node: SyntaxNode, name: string, start: number, end: number): Reference | null {
  const line = node.startPosition.row + 1;
  if (node.type === 'identifier' && node.startIndex === start && node.endIndex === end) {
    const p = node.parent;
    const isAttr = p?.type === 'attribute' && p.childForFieldName('attribute')?.id === node.id;
    return { name, start, end, line, kind: isAttr ? 'attribute' : 'identifier', node };
  }
  // Inside a string: counts only when the whole literal is the name ("_health_loop").
  let s: SyntaxNode | null = node;
  while (s && s.type !== 'string' && s.type !== 'module' && s.type !== 'block') s = s.parent;
  if (s?.type === 'string' && stringValue(s) === name) {
    return { name, start: s.startIndex, end: s.endIndex, line: s.startPosition.row + 1, kind: 'string', node: s };
  }
  return null;
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

  /** No range at all: nothing is contained. */
  get empty(): boolean {
    return this.ranges.length === 0;
  }
}
