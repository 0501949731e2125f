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

const WHOLE_WORD = /^[A-Za-z0-9_]+$/;

/** Names searched in one text before its words are indexed (an index costs about as much as a few searches). */
const SEARCHES_BEFORE_INDEX = 4;

export class ReferenceIndex {
  private cache = new Map<string, Reference[]>();
  private readonly text: string;
  /** Start of each whole word of the text, by wordHash, in text order (built once enough names were asked). */
  private words?: Map<number, number[]>;
  private searches = 0;

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
    const hit = (at: number) => {
      const end = at + name.length;
      const ref = classify(this.root.descendantForIndex(at, end), name, at, end);
      if (ref) out.push(ref);
    };
    // A rewrite asks for every method and attribute of the agent, each a search of the whole text:
    // a name made of word characters occurs whole exactly where a maximal run of them equals it,
    // so after a few searches those runs are listed once and looked up.
    if (WHOLE_WORD.test(name) && (this.words || ++this.searches > SEARCHES_BEFORE_INDEX)) {
      for (const at of (this.words ??= wordStarts(text)).get(wordHash(name)) ?? []) {
        // Runs of another text with the same hash are told apart here (a run starting at `at` is maximal on its left).
        const end = at + name.length;
        if (text.startsWith(name, at) && (end === text.length || !isWordChar(text.charCodeAt(end)))) hit(at);
      }
      return out;
    }
    for (let at = text.indexOf(name); at !== -1; at = text.indexOf(name, at + name.length)) {
      const end = at + name.length;
      if ((at > 0 && WORD.test(text[at - 1]!)) || (end < text.length && WORD.test(text[end]!))) continue;
      hit(at);
    }
    return out;
  }
}

/** Hashes kept to 30 bits: small integers, which a Map keys without allocating a number. */
const HASH_MASK = 0x3fffffff;

/** Where each maximal run of [A-Za-z0-9_] starts, by a hash of its text (no string made per run). */
function wordStarts(text: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const n = text.length;
  for (let i = 0; i < n; ) {
    let c = text.charCodeAt(i);
    if (!isWordChar(c)) {
      i++;
      continue;
    }
    const from = i;
    let h = 0;
    do {
      h = (Math.imul(h, 31) + c) & HASH_MASK;
      c = text.charCodeAt(++i);
    } while (i < n && isWordChar(c));
    const at = out.get(h);
    if (at) at.push(from);
    else out.set(h, [from]);
  }
  return out;
}

/** wordStarts' hash of a word. */
function wordHash(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) & HASH_MASK;
  return h;
}

/** 0-9, A-Z, _, a-z (WORD). */
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122);
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
