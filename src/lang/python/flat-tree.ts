// A parsed Python module as flat arrays, read out of tree-sitter in one cursor walk.
//
// Why: in the Node binding every node a walk touches becomes a JavaScript object made by a
// native call, with a weak reference, a cleanup callback and an entry in the tree's node
// cache, and every property read (type, startIndex, childForFieldName, parent) is another
// native call. A rewrite reads each tree thousands of times, so four fifths of a run went
// to the binding and its native memory grew with the fleet. Here the native tree is read
// once (navigation, type id, field id and range per node) and then dropped; nodes are small plain objects over
// the arrays, made on first use and the same object every time after (code compares nodes
// with === and keys maps by them), and every read after that stays in JavaScript.
import type Parser from 'tree-sitter';
import { count, counting } from '../../core/counters.js';

const ERROR_TYPE_ID = 0xffff;
const NAMED = 1;
const MISSING = 2;
const HAS_ERROR = 4;

/** Names of node types and fields of one language, learnt from the cursor as they appear. */
class Vocabulary {
  readonly typeNames: string[] = [];
  readonly typeNamed: boolean[] = [];
  /** Per type id: node-types.json gives the type no field, so no child of it has one (no need to ask). */
  readonly fieldless: boolean[] = [];
  readonly fieldNames: string[] = [];
  readonly fieldIds = new Map<string, number>();
  /** Per type id: a token (an anonymous type with no structure in node-types.json), so never a parent. */
  readonly token: boolean[] = [];
  /** Per type id: a named terminal (node-types.json gives it no `fields` at all: identifier, integer, comment), so never a parent. */
  readonly leaf: boolean[] = [];
  /**
   * Per type id: tree-sitter-python's `identifier`, a token of the grammar's regex
   * /[_\p{XID_Start}][_\p{XID_Continue}]*\/ (the keywords it stands for, `print`, `match`, are whole
   * words too): the lexer takes the longest run, so it ends where its run of word characters does.
   */
  readonly word: boolean[] = [];
  /** Types (by "named:type") the grammar's node-types.json lists without fields. */
  readonly withoutFields: Set<string>;
  /**
   * Per type (by "named:type"): the types node-types.json lets stand in one of its fields, supertypes
   * expanded (`expression` → every expression type). A child of another type has no field there.
   */
  readonly fieldTypes: Map<string, Set<string>>;
  /**
   * Per type (by "named:type"), per named child type (by "named:type"): the one field a child of
   * that type can stand in, when node-types.json names the type in exactly one field of the parent
   * and not among its unfielded children (a call's argument_list is its `arguments`, a function
   * definition's identifier its `name`). Extras (comments) stand anywhere, so are never listed.
   */
  private readonly onlyField: Map<string, Map<string, string>>;
  /**
   * Per parent type id, per child type id: 1 the child may hold a field of the parent (ask), 2 it
   * cannot, 3 it can hold one field only (asked once, see fieldOf), 4 that field is known
   * (fixedField), 0 not yet known.
   */
  private readonly fieldChild: Uint8Array[] = [];
  /** Per parent type id, per child type id in state 4 of fieldChild: the field id. */
  private readonly fixedField: Uint16Array[] = [];
  /** Anonymous types node-types.json gives no structure: plain tokens (`(`, `def`), unlike `is not`. */
  readonly tokens: Set<string>;
  /** Named types node-types.json lists without `fields`: terminals (a rule, even one with no fields, has `fields: {}`). */
  readonly terminals: Set<string>;

  constructor(language: object) {
    type Info = { type: string; named: boolean; fields?: Record<string, unknown>; children?: unknown; subtypes?: unknown };
    const info = (language as { nodeTypeInfo?: Info[] }).nodeTypeInfo ?? [];
    this.withoutFields = new Set(info.filter((t) => !t.fields || Object.keys(t.fields).length === 0).map((t) => `${t.named}:${t.type}`));
    this.tokens = new Set(info.filter((t) => !t.named && !('fields' in t) && !('children' in t) && !('subtypes' in t)).map((t) => t.type));
    this.terminals = new Set(info.filter((t) => t.named && !('fields' in t) && !('children' in t) && !('subtypes' in t)).map((t) => t.type));
    type Ref = { type: string; named: boolean };
    const subtypes = new Map(info.filter((t) => t.subtypes).map((t) => [`${t.named}:${t.type}`, t.subtypes as Ref[]]));
    const expand = (t: Ref, out: Set<string>): void => {
      const key = `${t.named}:${t.type}`;
      if (out.has(key)) return;
      out.add(key);
      for (const s of subtypes.get(key) ?? []) expand(s, out);
    };
    this.fieldTypes = new Map();
    this.onlyField = new Map();
    const extras = new Set(info.filter((t) => (t as { extra?: boolean }).extra).map((t) => `${t.named}:${t.type}`));
    for (const t of info) {
      const can = new Set<string>();
      const fieldsOf = new Map<string, string[]>();
      for (const [name, f] of Object.entries(t.fields ?? {})) {
        const types = new Set<string>();
        for (const r of (f as { types?: Ref[] }).types ?? []) expand(r, types);
        for (const k of types) {
          can.add(k);
          fieldsOf.set(k, [...(fieldsOf.get(k) ?? []), name]);
        }
      }
      this.fieldTypes.set(`${t.named}:${t.type}`, can);
      const unfielded = new Set<string>();
      for (const r of (t.children as { types?: Ref[] } | undefined)?.types ?? []) expand(r, unfielded);
      const only = new Map<string, string>();
      for (const [k, names] of fieldsOf) if (names.length === 1 && k.startsWith('true:') && !unfielded.has(k) && !extras.has(k)) only.set(k, names[0]!);
      if (only.size) this.onlyField.set(`${t.named}:${t.type}`, only);
    }
  }

  /**
   * The field id a child of type `child` holds under a `parent` node, when that is settled without
   * asking the cursor (a native call saved per node): 0 when node-types.json names that type in none
   * of the parent's fields (tokens such as `def`, `(`, `:` under a function definition, about a
   * quarter of all nodes); the field's id when it can stand in one field only and that field's id
   * has been seen once (about half the children that were still asked); else -1 (ask the cursor,
   * then tell learnFieldOf). Only for clean trees: an error node's children are not the grammar's.
   */
  fieldOf(parent: number, child: number): number {
    const row = (this.fieldChild[parent] ??= new Uint8Array(1024));
    if (child >= row.length) return -1;
    let known = row[child]!;
    if (known === 0) {
      if (parent === ERROR_TYPE_ID || child === ERROR_TYPE_ID) known = 1;
      else {
        const parentKey = `${this.typeNamed[parent]}:${this.typeNames[parent]}`;
        const childKey = `${this.typeNamed[child]}:${this.typeNames[child]}`;
        const can = this.fieldTypes.get(parentKey);
        known = !can || can.has(childKey) ? (this.onlyField.get(parentKey)?.has(childKey) ? 3 : 1) : 2;
      }
      row[child] = known;
    }
    return known === 2 ? 0 : known === 4 ? this.fixedField[parent]![child]! : -1;
  }

  /** What the cursor said of a child's field (after fieldOf said -1): kept when it is the child's only possible field. */
  learnFieldOf(parent: number, child: number, field: number): void {
    const row = this.fieldChild[parent]!;
    if (row[child] !== 3) return;
    // The grammar's one field for it, as expected: not asked again. Anything else (no field)
    // means node-types.json did not tell the whole story for this pair: it is always asked.
    const parentKey = `${this.typeNamed[parent]}:${this.typeNames[parent]}`;
    const expected = this.onlyField.get(parentKey)?.get(`${this.typeNamed[child]}:${this.typeNames[child]}`);
    if (field > 0 && this.fieldNames[field] === expected) {
      (this.fixedField[parent] ??= new Uint16Array(1024))[child] = field;
      row[child] = 4;
    } else row[child] = 1;
  }

  learnType(id: number, name: string, named: boolean): void {
    this.typeNames[id] = name;
    this.typeNamed[id] = named;
    this.fieldless[id] = id !== ERROR_TYPE_ID && this.withoutFields.has(`${named}:${name}`);
    this.token[id] = !named && this.tokens.has(name);
    this.leaf[id] = id !== ERROR_TYPE_ID && named && this.terminals.has(name);
    this.word[id] = id !== ERROR_TYPE_ID && named && name === 'identifier';
  }

  learnField(id: number, name: string): void {
    this.fieldNames[id] = name;
    this.fieldIds.set(name, id);
  }
}

function vocabularyOf(language: object): Vocabulary {
  let vocabulary = vocabularies.get(language);
  if (!vocabulary) vocabularies.set(language, (vocabulary = new Vocabulary(language)));
  return vocabulary;
}

/**
 * A FlatTree as plain data (typed arrays and strings) that a worker thread can hand to another:
 * the scan's parse of a file, reused by its rewrite. Type and field ids come with their names,
 * since each thread learns its vocabulary as it meets the types.
 */
export interface FlatTreeData {
  source: string;
  typeId: Uint16Array;
  fieldId: Uint16Array;
  flags: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  subtreeEnd: Int32Array;
  types: Array<[id: number, name: string, named: boolean]>;
  fields: Array<[id: number, name: string]>;
}

/** Bytes a FlatTreeData holds (its arrays and its source), for budgets. */
export function flatTreeDataBytes(d: FlatTreeData): number {
  return d.typeId.byteLength + d.fieldId.byteLength + d.flags.byteLength + d.start.byteLength + d.end.byteLength + d.subtreeEnd.byteLength + d.source.length * 2;
}
const vocabularies = new WeakMap<object, Vocabulary>();

/** The arrays a cursor walk fills (see FlatTree's constructor): at least `cap` long, contents undefined. */
interface WorkArrays {
  cap: number;
  typeId: Uint16Array;
  fieldId: Uint16Array;
  flags: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  parentOf: Int32Array;
  subtreeEnd: Int32Array;
}
/** Nodes past which the working arrays are not kept between parses (about 6 MB). */
const MAX_KEPT_WORK = 1 << 18;
let working: WorkArrays | undefined;

function workArrays(want: number): WorkArrays {
  if (working && working.cap >= want) {
    const w = working;
    // Taken: a parse that throws half way leaves nothing shared behind.
    working = undefined;
    return w;
  }
  const cap = Math.max(want, Math.min(MAX_KEPT_WORK, (working?.cap ?? 0) * 2));
  working = undefined;
  return {
    cap,
    typeId: new Uint16Array(cap),
    fieldId: new Uint16Array(cap),
    flags: new Uint8Array(cap),
    start: new Int32Array(cap),
    end: new Int32Array(cap),
    parentOf: new Int32Array(cap),
    subtreeEnd: new Int32Array(cap),
  };
}

/**
 * What an incremental reparse left alone: the old flat tree, and where the new text differs in
 * structure or in text (tree-sitter's changed ranges, and the edits themselves, in offsets of
 * the new text). A node of the new tree clear of all of those, by at least one character, is the
 * old tree's node of the same type over the same text (its offsets shifted by the edits before
 * it), with the same subtree: the walk copies that subtree instead of reading it node by node.
 * test/incremental-reparse.test.ts checks the result equals a fresh parse's, array for array.
 */
export class Reuse {
  /** Sorted, merged ranges of the new text [from, to] (inclusive) no copy may touch. */
  private readonly dirtyFrom: number[] = [];
  private readonly dirtyTo: number[] = [];
  /** Per edit, in order: where its text ends in the new text, and new offset minus old offset after it. */
  private readonly editEnd: number[] = [];
  private readonly editShift: number[] = [];

  constructor(
    readonly old: FlatTree,
    edits: ReadonlyArray<{ start: number; end: number; text: string }>,
    changed: ReadonlyArray<{ startIndex: number; endIndex: number }>,
  ) {
    const ranges: Array<[number, number]> = changed.map((r) => [r.startIndex, r.endIndex]);
    let shift = 0;
    for (const e of edits) {
      const at = e.start + shift;
      shift += e.text.length - (e.end - e.start);
      ranges.push([at, at + e.text.length]);
      this.editEnd.push(at + e.text.length);
      this.editShift.push(shift);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (const [from, to] of ranges) {
      const last = this.dirtyTo.length - 1;
      if (last >= 0 && from <= this.dirtyTo[last]! + 1) this.dirtyTo[last] = Math.max(this.dirtyTo[last]!, to);
      else {
        this.dirtyFrom.push(from);
        this.dirtyTo.push(to);
      }
    }
  }

  /** The old tree's position of the node [start, end) of type `type` of the new tree, when it is unchanged; else -1. */
  unchanged(start: number, end: number, type: number): number {
    // The last dirty range starting at or before `end + 1` must end before `start - 1`.
    const { dirtyFrom, dirtyTo } = this;
    let lo = 0;
    let hi = dirtyFrom.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (dirtyFrom[mid]! <= end + 1) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && dirtyTo[lo - 1]! >= start - 1) return -1;
    // Where the node starts in the old text: shifted by every edit whose text ends before it.
    const { editEnd, editShift } = this;
    lo = 0;
    hi = editEnd.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (editEnd[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    const from = start - (lo > 0 ? editShift[lo - 1]! : 0);
    const to = from + (end - start);
    const old = this.old;
    // Pre-order positions have non-decreasing starts: the first node starting there, then the ones below it.
    lo = 0;
    hi = old.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (old.start[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < old.count && old.start[i] === from; i++) if (old.end[i] === to && old.typeId[i] === type) return i;
    return -1;
  }
}

/**
 * Where an identifier starting at `from` ends: past its run of ASCII word characters, or null
 * when the run meets a character outside ASCII (a word character there or not: the cursor says).
 */
function wordEnd(source: string, from: number): number | null {
  let i = from;
  for (;;) {
    const c = source.charCodeAt(i);
    // 0-9, A-Z, _, a-z
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95 || (c >= 97 && c <= 122)) i++;
    else return c >= 0x80 || i === from ? null : i;
  }
}

let nextIdBase = 1;

export class FlatTree {
  readonly source: string;
  readonly count: number;
  /** Per node, in pre-order: type id, field id under its parent (0: none), flags. */
  readonly typeId: Uint16Array;
  readonly fieldId: Uint16Array;
  readonly flags: Uint8Array;
  /** Per node: UTF-16 offsets into `source` (the binding's indices). */
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Per node: its parent's position (-1 for the root), and one past its subtree. */
  readonly parentOf: Int32Array;
  readonly subtreeEnd: Int32Array;
  /** Distinct ids across trees (the binding's node ids were addresses, unique in a process). */
  readonly idBase: number;
  readonly vocabulary: Vocabulary;
  private readonly made: (FlatNode | undefined)[];
  private lineStarts?: Int32Array;

  /**
   * Read a native tree (one cursor walk), or adopt the data of a tree read elsewhere (see toData).
   * With `reuse` (a native tree reparsed incrementally from `reuse.old`'s), a subtree the edits
   * left as it was is copied from the old flat tree instead of walked (see Reuse).
   */
  constructor(from: Parser.Tree | FlatTreeData, source: string, language: object, reuse?: Reuse) {
    this.source = source;
    const vocabulary = vocabularyOf(language);
    this.vocabulary = vocabulary;
    if (!('walk' in from)) {
      for (const [id, name, named] of from.types) if (vocabulary.typeNames[id] === undefined) vocabulary.learnType(id, name, named);
      for (const [id, name] of from.fields) if (vocabulary.fieldNames[id] === undefined) vocabulary.learnField(id, name);
      const n = from.typeId.length;
      this.count = n;
      this.typeId = from.typeId;
      this.fieldId = from.fieldId;
      this.flags = from.flags;
      this.start = from.start;
      this.end = from.end;
      this.subtreeEnd = from.subtreeEnd;
      // Parents follow from the subtree ends: each node's children are its subtree's top level.
      const parentOf = new Int32Array(n);
      if (n > 0) parentOf[0] = -1;
      for (let i = 0; i < n; i++) for (let c = i + 1, stop = from.subtreeEnd[i]!; c < stop; c = from.subtreeEnd[c]!) parentOf[c] = i;
      this.parentOf = parentOf;
      this.made = new Array(n);
      this.idBase = nextIdBase;
      nextIdBase += n;
      return;
    }
    const native = from;
    const withErrors = native.rootNode.hasError;
    // Copies only into a clean tree (an error node's subtree is read as the parser left it).
    const donor = withErrors ? undefined : reuse;
    // The walk fills working arrays kept from the previous parse (a module has about one node per
    // three characters: sized by a quarter, nearly every parse grew all seven once), then copies
    // out exact sizes below.
    const work = workArrays(Math.max(256, source.length >> 1));
    let cap = work.cap;
    let { typeId, fieldId, flags, start, end, parentOf, subtreeEnd } = work;
    const grow = () => {
      cap *= 2;
      const g = <T extends Uint16Array | Uint8Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(cap);
        b.set(a);
        return b;
      };
      typeId = g(typeId);
      fieldId = g(fieldId);
      flags = g(flags);
      start = g(start);
      end = g(end);
      parentOf = g(parentOf);
      subtreeEnd = g(subtreeEnd);
    };
    const cursor = native.walk();
    const { typeNames, typeNamed, fieldless, token, leaf, word, fieldNames } = vocabulary;
    let n = 0;
    let parent = -1;
    // Native calls of the walk (MIGRATE_COUNT), kept in locals: the loop is the hottest in a run.
    let visited = 0;
    let nativeCalls = 0;
    for (;;) {
      if (n >= cap) grow();
      const at = n++;
      const type = cursor.nodeTypeId;
      visited++;
      if (typeNames[type] === undefined) vocabulary.learnType(type, cursor.nodeType, type === ERROR_TYPE_ID || cursor.nodeIsNamed);
      // A native call per node saved wherever the parent's type has no fields at all.
      // And in a clean tree, wherever the parent's fields cannot hold a child of this type.
      // In a clean tree, wherever the grammar settles the field (none, or the only one the child
      // can stand in), a native call is saved.
      let field = parent < 0 || fieldless[typeId[parent]!] ? 0 : withErrors ? -1 : vocabulary.fieldOf(typeId[parent]!, type);
      if (field < 0) {
        field = cursor.currentFieldId;
        nativeCalls++;
        if (field && fieldNames[field] === undefined) vocabulary.learnField(field, cursor.currentFieldName);
        if (!withErrors) vocabulary.learnFieldOf(typeId[parent]!, type, field);
      }
      typeId[at] = type;
      fieldId[at] = field;
      let f = typeNamed[type] ? NAMED : 0;
      if (withErrors) {
        if (type === ERROR_TYPE_ID) f |= HAS_ERROR;
        else if (cursor.nodeIsMissing) f |= MISSING | HAS_ERROR;
      }
      flags[at] = f;
      parentOf[at] = parent;
      // Ranges are read, not derived from the children (string content spans text that is no
      // node), but in a clean tree a token is its own text (`def`, `(`) and an identifier its run
      // of word characters (a fifth of all nodes): a native call saved on each.
      const begins = cursor.startIndex;
      start[at] = begins;
      const known = withErrors ? -1 : token[type] ? begins + typeNames[type]!.length : word[type] ? (wordEnd(source, begins) ?? -1) : -1;
      if (known < 0) nativeCalls++;
      end[at] = known >= 0 ? known : cursor.endIndex;
      // Tokens and terminals have no children: the native call that would say so is saved (half of all nodes).
      if (!token[type] && !leaf[type]) {
        const from = donor ? donor.unchanged(start[at]!, end[at]!, type) : -1;
        if (from >= 0) {
          // The old tree's subtree, shifted to where it now starts; the cursor does not go down.
          const old = donor!.old;
          const stop = old.subtreeEnd[from]!;
          while (at + stop - from > cap) grow();
          const shift = start[at]! - old.start[from]!;
          const moved = at - from;
          for (let j = from + 1; j < stop; j++) {
            const k = j + moved;
            typeId[k] = old.typeId[j]!;
            fieldId[k] = old.fieldId[j]!;
            flags[k] = old.flags[j]!;
            start[k] = old.start[j]! + shift;
            end[k] = old.end[j]! + shift;
            parentOf[k] = old.parentOf[j]! + moved;
            subtreeEnd[k] = old.subtreeEnd[j]! + moved;
          }
          n = stop + moved;
        } else if ((nativeCalls++, cursor.gotoFirstChild())) {
          parent = at;
          continue;
        }
      }
      subtreeEnd[at] = n;
      let done = false;
      for (;;) {
        if (parent >= 0 && (nativeCalls++, cursor.gotoNextSibling())) break;
        if (parent < 0) {
          done = true;
          break;
        }
        cursor.gotoParent();
        nativeCalls++;
        subtreeEnd[parent] = n;
        parent = parentOf[parent]!;
      }
      if (done) break;
    }
    // A node has an error when any node below it is one (children come after their parent).
    if (withErrors) for (let i = n - 1; i > 0; i--) if (flags[i]! & HAS_ERROR) flags[parentOf[i]!]! |= HAS_ERROR;
    if (counting) {
      count('flat.cursor walks');
      count('flat.nodes in walked trees', n);
      count('flat.nodes visited by the cursor', visited);
      count('flat.native cursor calls (beyond type + start per visited node)', nativeCalls);
    }
    this.count = n;
    // Copies, not views: a view would keep the whole over-allocated buffer alive with the tree.
    this.typeId = typeId.slice(0, n);
    this.fieldId = fieldId.slice(0, n);
    this.flags = flags.slice(0, n);
    this.start = start.slice(0, n);
    this.end = end.slice(0, n);
    this.parentOf = parentOf.slice(0, n);
    this.subtreeEnd = subtreeEnd.slice(0, n);
    // Kept for the next parse unless huge (then it goes with this one).
    working = cap <= MAX_KEPT_WORK ? { cap, typeId, fieldId, flags, start, end, parentOf, subtreeEnd } : undefined;
    this.made = new Array(n);
    this.idBase = nextIdBase;
    nextIdBase += n;
  }

  /** This tree as plain data (the arrays themselves, not copies: the tree is never edited). */
  toData(): FlatTreeData {
    const { typeNames, typeNamed, fieldNames } = this.vocabulary;
    const types: FlatTreeData['types'] = [];
    typeNames.forEach((name, id) => types.push([id, name, typeNamed[id]!]));
    const fields: FlatTreeData['fields'] = [];
    fieldNames.forEach((name, id) => fields.push([id, name]));
    const { source, typeId, fieldId, flags, start, end, subtreeEnd } = this;
    return { source, typeId, fieldId, flags, start, end, subtreeEnd, types, fields };
  }

  get rootNode(): FlatNode {
    return this.node(0);
  }

  /** The node at pre-order position i (always the same object). */
  node(i: number): FlatNode {
    const made = this.made[i];
    if (made) return made;
    if (counting) count('flat.nodes made');
    return (this.made[i] = new FlatNode(this, i));
  }

  typeName(i: number): string {
    return this.vocabulary.typeNames[this.typeId[i]!]!;
  }

  isNamed(i: number): boolean {
    return (this.flags[i]! & NAMED) !== 0;
  }

  /** Row and column (UTF-16 units, as the binding gives them) of a source offset. */
  point(offset: number): { row: number; column: number } {
    const starts = (this.lineStarts ??= lineStartsOf(this.source));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { row: lo, column: offset - starts[lo]! };
  }

  /** Positions of node i's children. */
  childPositions(i: number): number[] {
    const out: number[] = [];
    const stop = this.subtreeEnd[i]!;
    for (let c = i + 1; c < stop; c = this.subtreeEnd[c]!) out.push(c);
    return out;
  }
}

function lineStartsOf(source: string): Int32Array {
  const starts = [0];
  for (let at = source.indexOf('\n'); at !== -1; at = source.indexOf('\n', at + 1)) starts.push(at + 1);
  return Int32Array.from(starts);
}

/** One node of a FlatTree, with the part of the binding's SyntaxNode interface the engine reads. */
export class FlatNode {
  /**
   * The node's type name, read once when the node is made: analysis asks every node it passes
   * its type, most more than once (a getter through the tree and its vocabulary was 2-3 % of a run).
   */
  readonly type: string;

  constructor(
    readonly tree: FlatTree,
    readonly index: number,
  ) {
    this.type = tree.typeName(index);
  }

  get id(): number {
    return this.tree.idBase + this.index;
  }

  get isNamed(): boolean {
    return this.tree.isNamed(this.index);
  }

  get isMissing(): boolean {
    return (this.tree.flags[this.index]! & MISSING) !== 0;
  }

  get hasError(): boolean {
    return (this.tree.flags[this.index]! & HAS_ERROR) !== 0;
  }

  get startIndex(): number {
    return this.tree.start[this.index]!;
  }

  get endIndex(): number {
    return this.tree.end[this.index]!;
  }

  get text(): string {
    return this.tree.source.slice(this.tree.start[this.index]!, this.tree.end[this.index]!);
  }

  get startPosition(): { row: number; column: number } {
    return this.tree.point(this.startIndex);
  }

  get endPosition(): { row: number; column: number } {
    return this.tree.point(this.endIndex);
  }

  get parent(): FlatNode | null {
    const p = this.tree.parentOf[this.index]!;
    return p < 0 ? null : this.tree.node(p);
  }

  get children(): FlatNode[] {
    return this.tree.childPositions(this.index).map((c) => this.tree.node(c));
  }

  // The child walks below read the arrays directly (no list of positions made first): the
  // analysis asks them of nearly every node it passes.
  get namedChildren(): FlatNode[] {
    const out: FlatNode[] = [];
    const { tree } = this;
    const { subtreeEnd, flags } = tree;
    for (let c = this.index + 1, stop = subtreeEnd[this.index]!; c < stop; c = subtreeEnd[c]!) if (flags[c]! & NAMED) out.push(tree.node(c));
    return out;
  }

  get namedChildCount(): number {
    let k = 0;
    const { subtreeEnd, flags } = this.tree;
    for (let c = this.index + 1, stop = subtreeEnd[this.index]!; c < stop; c = subtreeEnd[c]!) if (flags[c]! & NAMED) k++;
    return k;
  }

  namedChild(k: number): FlatNode | null {
    const { subtreeEnd, flags } = this.tree;
    for (let c = this.index + 1, stop = subtreeEnd[this.index]!; c < stop; c = subtreeEnd[c]!) if (flags[c]! & NAMED && k-- === 0) return this.tree.node(c);
    return null;
  }

  get lastNamedChild(): FlatNode | null {
    const { subtreeEnd, flags } = this.tree;
    let last = -1;
    for (let c = this.index + 1, stop = subtreeEnd[this.index]!; c < stop; c = subtreeEnd[c]!) if (flags[c]! & NAMED) last = c;
    return last < 0 ? null : this.tree.node(last);
  }

  childForFieldName(name: string): FlatNode | null {
    const field = this.tree.vocabulary.fieldIds.get(name);
    if (field === undefined) return null;
    const { fieldId, subtreeEnd } = this.tree;
    const stop = subtreeEnd[this.index]!;
    for (let c = this.index + 1; c < stop; c = subtreeEnd[c]!) if (fieldId[c] === field) return this.tree.node(c);
    return null;
  }

  childrenForFieldName(name: string): FlatNode[] {
    const field = this.tree.vocabulary.fieldIds.get(name);
    if (field === undefined) return [];
    const out: FlatNode[] = [];
    const { fieldId, subtreeEnd } = this.tree;
    const stop = subtreeEnd[this.index]!;
    for (let c = this.index + 1; c < stop; c = subtreeEnd[c]!) if (fieldId[c] === field) out.push(this.tree.node(c));
    return out;
  }

  /** The smallest node at or below this one spanning [from, to] (tree-sitter's descendant_for_byte_range). */
  descendantForIndex(from: number, to: number = from): FlatNode {
    const { start, end, subtreeEnd } = this.tree;
    let node = this.index;
    for (let descended = true; descended; ) {
      descended = false;
      const stop = subtreeEnd[node]!;
      for (let c = node + 1; c < stop; c = subtreeEnd[c]!) {
        const e = end[c]!;
        if (e < to) continue;
        const empty = start[c] === e;
        if (empty ? e < from : e <= from) continue;
        if (from < start[c]!) break;
        node = c;
        descended = true;
        break;
      }
    }
    return this.tree.node(node);
  }
}
