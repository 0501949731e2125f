// The rewrite parses its output incrementally from the input's native tree (reparsePython),
// told of the edits it made. That parse must be the very tree a fresh parse of the output
// gives, node for node (type, field, flags, range, shape), or the checks that read it
// (syntax, dangling references, idempotency, lost methods) would judge another program.
// Checked with the rewrite's own edits on every Python fixture (each change it made told to the
// native tree, where it is, and the tree equal to a fresh parse), and with line diffs
// (input → expected, and edits at random line boundaries) on the fixtures and on agents of
// the benchmark's generated fleet.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { loadProfile } from '../src/profile/profile.js';
import { loadBaseModel } from '../src/analysis/base-model.js';
import { parsePython, parseStrictEditable, reparsePython, reparsePythonFromFlat, type TextEdit, type Tree } from '../src/lang/python/parser.js';
import { rewritePythonTrees } from '../src/lang/python/rewrite.js';
import { EditBuffer } from '../src/lang/python/edit-buffer.js';
import { fleetFiles } from './bench/fleet/fleet.js';
import { Random } from './bench/fleet/random.js';

const profile = loadProfile('base-agent');
const cases = listCases();
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
// Every test here is synchronous work, and the runner moves to the next through microtasks alone:
// without a turn of the event loop the worker never reads its runner's replies, and a call left
// unanswered for 60 s (vitest's fixed RPC timeout) fails the whole run with every test passed.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

/** Every array of the two trees, compared (the first difference named by node and field). */
function expectSameTree(got: Tree, want: Tree, what: string): void {
  expect(got.source, what).toBe(want.source);
  expect(got.count, `${what}: node count`).toBe(want.count);
  for (const key of ['typeId', 'fieldId', 'flags', 'start', 'end', 'parentOf', 'subtreeEnd'] as const) {
    const a = got[key];
    const b = want[key];
    for (let i = 0; i < want.count; i++) {
      if (a[i] !== b[i]) expect(`${key}[${i}] = ${a[i]} (${got.typeName(i)})`, what).toBe(`${key}[${i}] = ${b[i]} (${want.typeName(i)})`);
    }
  }
  expect(got.rootNode.hasError, what).toBe(want.rootNode.hasError);
}

/** What a native tree-sitter tree is told of one edit (Tree.edit's argument). */
interface InputEdit {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: { row: number; column: number };
  oldEndPosition: { row: number; column: number };
  newEndPosition: { row: number; column: number };
}

/** The binding's native tree class, the one parser.ts loads (the same module instance). */
const NativeTree = (createRequire(import.meta.url)('tree-sitter') as { Tree: { prototype: { edit(e: InputEdit): void } } }).Tree;

/** `fn()`, and every edit a native tree was told of while it ran (Tree.prototype.edit wrapped, then restored). */
function toldEdits<T>(fn: () => T): { value: T; told: InputEdit[] } {
  const proto = NativeTree.prototype;
  const original = proto.edit;
  const told: InputEdit[] = [];
  proto.edit = function (this: unknown, e: InputEdit) {
    told.push(structuredClone(e));
    return original.call(this, e);
  };
  try {
    return { value: fn(), told };
  } finally {
    proto.edit = original;
  }
}

/** Row and column (UTF-16 units from the start of the line) of `offset` in `text`. */
function pointOf(text: string, offset: number): { row: number; column: number } {
  const before = text.slice(0, offset);
  return { row: before.split('\n').length - 1, column: offset - (before.lastIndexOf('\n') + 1) };
}

/**
 * The edits the input's native tree was told of account for every change the rewrite made, each
 * where it says: told from the last back (so each names offsets of the input), not overlapping,
 * rows and columns of the input, the new end where its new text ends, and outside them input and
 * output agree. A change the tree is not told of leaves stale subtrees behind that tree-sitter may
 * reuse or not: the comparison with a fresh parse alone passed for most fixtures with one dropped.
 */
function expectToldEveryChange(source: string, output: string, told: InputEdit[], what: string): void {
  expect(told.length, `${what}: no edit told to the native tree`).toBeGreaterThan(0);
  for (let k = 1; k < told.length; k++) expect(told[k]!.oldEndIndex, `${what}: edits told out of order or overlapping`).toBeLessThanOrEqual(told[k - 1]!.startIndex);
  let rebuilt = '';
  let pos = 0;
  let shift = 0;
  for (const e of [...told].reverse()) {
    const text = output.slice(e.startIndex + shift, e.newEndIndex + shift);
    const start = pointOf(source, e.startIndex);
    const lines = text.split('\n');
    const newEnd = lines.length > 1 ? { row: start.row + lines.length - 1, column: lines[lines.length - 1]!.length } : { row: start.row, column: start.column + text.length };
    expect([e.startPosition, e.oldEndPosition, e.newEndPosition], `${what}: positions of the edit at ${e.startIndex}`).toEqual([start, pointOf(source, e.oldEndIndex), newEnd]);
    rebuilt += source.slice(pos, e.startIndex) + text;
    shift += e.newEndIndex - e.oldEndIndex;
    pos = e.oldEndIndex;
  }
  rebuilt += source.slice(pos);
  if (rebuilt !== output) {
    let at = 0;
    while (at < output.length && rebuilt[at] === output[at]) at++;
    expect.fail(`${what}: a change at output offset ${at} (line ${pointOf(output, at).row + 1}) was not told to the native tree`);
  }
}

/** Line-level edits that turn `a` into `b` (common prefix and suffix of lines kept, then a greedy line match). */
function lineEdits(a: string, b: string): TextEdit[] {
  const la = a.split(/(?<=\n)/);
  const lb = b.split(/(?<=\n)/);
  const edits: TextEdit[] = [];
  let i = 0;
  let j = 0;
  let at = 0;
  while (i < la.length || j < lb.length) {
    if (i < la.length && j < lb.length && la[i] === lb[j]) {
      at += la[i]!.length;
      i++;
      j++;
      continue;
    }
    // The next line of a found again in b (within a window), or a line of b found again in a.
    let ni = i;
    let nj = j;
    search: for (let d = 1; d < 400; d++) {
      for (let k = 0; k <= d; k++) {
        if (i + k < la.length && j + d - k < lb.length && la[i + k] === lb[j + d - k] && la[i + k]!.trim() !== '') {
          ni = i + k;
          nj = j + d - k;
          break search;
        }
      }
      if (i + d >= la.length && j + d >= lb.length) {
        ni = la.length;
        nj = lb.length;
        break;
      }
    }
    if (ni === i && nj === j) {
      ni = la.length;
      nj = lb.length;
    }
    const removed = la.slice(i, ni).join('');
    edits.push({ start: at, end: at + removed.length, text: lb.slice(j, nj).join('') });
    at += removed.length;
    i = ni;
    j = nj;
  }
  return edits;
}

function applyEdits(source: string, edits: TextEdit[]): string {
  let out = '';
  let pos = 0;
  for (const e of edits) {
    out += source.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + source.slice(pos);
}

/**
 * A fresh parse of `text`. A fixture's two tests compare with a fresh parse of the same text when
 * the rewrite writes expected.py (its first test parses the output, its second expected.py): the
 * tree of the last text parsed is kept for the next test, so that text is parsed once, not twice
 * (the 2 MB fixture's fresh parse alone is seconds of CPU). A different text is parsed anew.
 */
let lastFresh: { text: string; tree: Tree } | undefined;
function freshParse(text: string): Tree {
  if (lastFresh?.text !== text) lastFresh = { text, tree: parsePython(text) };
  return lastFresh.tree;
}

function expectReparseOf(source: string, edits: TextEdit[], what: string): void {
  const output = applyEdits(source, edits);
  const got = reparsePython(parseStrictEditable(source, what), edits, output);
  expectSameTree(got, freshParse(output), what);
}

describe('incremental reparse of the rewrite output', () => {
  const rewritten = cases.filter((c) => c.spec.scan?.class && !c.spec.expect?.error_contains);

  it('covers the fixture suite', () => {
    expect(rewritten.length).toBeGreaterThanOrEqual(100);
  });

  // Per fixture, the rewrite given the scan's parse (the run's usual path: flat arrays, no native
  // tree, whose text is parsed natively again and the output reparsed from that:
  // reparsePythonFromFlat), the rewrite parsing the source itself (its native tree kept), then line
  // edits from input to expected.py: tests of their own, so that the huge fixture (2 MB) is
  // synchronous stretches between turns of the event loop. The rewrite parsing the source itself
  // tells the same edits to a native tree of the same text, so one fixture in four takes that path
  // too (the huge one among them): every fixture both ways was 66 CPU-s, with the first path's
  // outputs checked against expected.py by test/python-fixtures.test.ts anyway.
  let changed = 0;
  const outcomes = new Map<string, { root: string; source: string; outcome: ReturnType<typeof rewritePythonTrees>['outcome'] }>();
  rewritten.forEach((c, n) => {
    it(`${c.name} (the scan's parse given)`, () => {
      const root = materialize(c);
      roots.push(root);
      const source = readFileSync(path.join(root, c.rel), 'utf8');
      const base = loadBaseModel(root, profile.python!, profile.base_class);
      const { value, told } = toldEdits(() => rewritePythonTrees({ file: c.rel, source, className: c.spec.scan!.class!, profile, base, root, tree: parsePython(source) }));
      const { outcome, outputTree } = value;
      // The rewrite ends as the fixture says: an output parsed wrong (an edit the tree was not told
      // of, say) fails the rewrite ("would not parse"), which must not pass here as nothing to compare.
      const refused = c.spec.expect?.rewrite_error_contains;
      if (refused) expect(outcome.error, c.name).toContain(refused);
      else expect(outcome.status, `${c.name}: ${outcome.error ?? ''}`).not.toBe('failed');
      if (existsSync(c.expectedFile)) {
        const same = (outcome.status === 'changed' ? outcome.output : source) === readFileSync(c.expectedFile, 'utf8');
        expect(same, `${c.name}: the rewrite's output is not expected.py`).toBe(true);
      }
      if (outcome.status === 'changed') {
        changed++;
        expectToldEveryChange(source, outcome.output!, told, `${c.name} (the scan's parse given)`);
        expectSameTree(outputTree!, freshParse(outcome.output!), `${c.name} (the scan's parse given)`);
      }
      outcomes.set(c.name, { root, source, outcome });
    });
    if (n % 4 === 0 || c.name === 'huge-agent') {
      it(`${c.name} (the rewrite's own parse)`, () => {
        const first = outcomes.get(c.name);
        expect(first, `${c.name}: its first test did not finish`).toBeDefined();
        const { root, source, outcome } = first!;
        const base = loadBaseModel(root, profile.python!, profile.base_class);
        const { value, told } = toldEdits(() => rewritePythonTrees({ file: c.rel, source, className: c.spec.scan!.class!, profile, base, root }));
        expect(value.outcome, `${c.name} (the rewrite's own parse)`).toEqual(outcome);
        if (outcome.status === 'changed') {
          expectToldEveryChange(source, outcome.output!, told, `${c.name} (the rewrite's own parse)`);
          expectSameTree(value.outputTree!, freshParse(outcome.output!), `${c.name} (the rewrite's own parse)`);
        }
      });
    }
    if (!existsSync(c.expectedFile)) return;
    it(`${c.name} (line edits to expected.py)`, () => {
      const expected = readFileSync(c.expectedFile, 'utf8');
      const input = readFileSync(path.join(c.dir, 'input.py'), 'utf8');
      const edits = lineEdits(input, expected);
      expect(applyEdits(input, edits), c.name).toBe(expected);
      expectReparseOf(input, edits, `${c.name} (line edits to expected.py)`);
    });
  });

  it('saw most fixtures rewritten', () => {
    expect(changed).toBeGreaterThanOrEqual(80);
  });

  it('gives the fresh parse with edits at random places of generated agents', () => {
    const r = new Random(7);
    const files = fleetFiles(40, { typescriptShare: 0 });
    for (const f of files) {
      const lines = f.text.split(/(?<=\n)/);
      const starts: number[] = [];
      for (let k = 0, at = 0; k < lines.length; at += lines[k]!.length, k++) starts.push(at);
      // Some lines dropped, some indented code inserted, as the transforms do, at sorted places apart.
      const picks = [...new Set(Array.from({ length: 8 }, () => Math.floor(r.next() * (lines.length - 1))))].sort((a, b) => a - b);
      const edits: TextEdit[] = [];
      for (const k of picks) {
        const end = k % 2 === 0 ? starts[k + 1]! : starts[k]!;
        const text = k % 3 === 0 ? '' : '        self._marker = 1\n';
        if (edits.length && edits[edits.length - 1]!.end >= starts[k]!) continue;
        edits.push({ start: starts[k]!, end, text });
      }
      const output = applyEdits(f.text, edits);
      // A random edit may break the syntax: the reparse must still equal the fresh parse, errors and all.
      const got = reparsePython(parseStrictEditable(f.text, f.rel), edits, output);
      const fresh = parsePython(output);
      expectSameTree(got, fresh, f.rel);
      expectSameTree(reparsePythonFromFlat(parsePython(f.text), edits, output), fresh, `${f.rel} (from the flat tree)`);
    }
  });

  it('EditBuffer hunks write what apply writes, touching edits merged', () => {
    const source = 'a = 1\nb = 2\nc = 3\n';
    const buf = new EditBuffer(source);
    buf.insertLate(6, 'late\n', 'x');
    buf.insert(6, 'early\n', 'y');
    buf.delete(6, 12, 'z');
    buf.insert(12, 'after\n', 'w');
    buf.replace(0, 1, 'A', 'v');
    const hunks = buf.hunks();
    expect(hunks).toEqual([
      { start: 0, end: 1, text: 'A' },
      { start: 6, end: 12, text: 'early\nlate\nafter\n' },
    ]);
    expect(applyEdits(source, hunks)).toBe(buf.apply());
    expect(buf.apply()).toBe('A = 1\nearly\nlate\nafter\nc = 3\n');
  });
});
