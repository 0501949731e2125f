// The flat tree (src/lang/python/flat-tree.ts) must be the binding's tree, node for node: the
// whole engine reads Python through it. The Python files under fixtures/ (clean agents, broken
// inputs with ERROR and MISSING nodes, latin-1 and CRLF files; all but the 2 MB one) are parsed
// both ways and each node compared: type, range, field, named, error, missing, positions, parent,
// named children; and descendantForIndex answers the same for ranges all over each file.
// Compared: every file that shows a node shape no file before it showed (type, field, parent's
// type, named, missing, error), every file with a parse error, a CR or a byte past ASCII, and
// every tenth of the rest; about one file in eight. All ~1,800 files through the binding took
// 20 CPU-s and, on a loaded machine, past the test's 300 s: the conversion does the same for every
// node of one shape, so files that repeat only shapes already compared prove nothing more.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type Parser from 'tree-sitter';
import { FlatTree } from '../src/lang/python/flat-tree.js';
import { REPO } from './helpers/cli.js';
import { pythonFiles } from './helpers/python-files.js';

const require = createRequire(import.meta.url);
const NativeParser = require('tree-sitter') as typeof Parser;
const Python = require('tree-sitter-python') as object;

/** The binding's nodes in pre-order, with the field each has under its parent. */
function nativeNodes(tree: Parser.Tree): Array<{ node: Parser.SyntaxNode; field: string | null }> {
  const out: Array<{ node: Parser.SyntaxNode; field: string | null }> = [];
  const cursor = tree.walk();
  for (;;) {
    out.push({ node: cursor.currentNode, field: cursor.currentFieldName ?? null });
    if (cursor.gotoFirstChild()) continue;
    for (;;) {
      if (cursor.gotoNextSibling()) break;
      if (!cursor.gotoParent()) return out;
    }
  }
}

/**
 * The files worth comparing (see the header), chosen from their flat trees: building one is what
 * the engine does to every file, far cheaper than reading every node through the binding.
 */
function filesToCompare(files: string[]): string[] {
  const parser = new NativeParser();
  parser.setLanguage(Python as Parser.Language);
  const shapes = new Set<string>();
  return files.filter((file, n) => {
    const source = readFileSync(file, 'latin1');
    const flat = new FlatTree(parser.parse(source, undefined, { bufferSize: source.length * 2 + 65536 }), source, Python);
    let pick = n % 10 === 0 || flat.rootNode.hasError || /[\r\x80-\xff]/.test(source);
    for (let i = 0; i < flat.count; i++) {
      const f = flat.node(i);
      const shape = `${f.type}|${flat.fieldId[i] ? flat.vocabulary.fieldNames[flat.fieldId[i]!] : ''}|${f.parent?.type ?? ''}|${f.isNamed}|${f.isMissing}|${f.hasError}`;
      if (!shapes.has(shape)) {
        shapes.add(shape);
        pick = true;
      }
    }
    return pick;
  });
}

describe('flat trees', () => {
  const all = pythonFiles(path.join(REPO, 'fixtures'));
  const files = filesToCompare(all);

  it('cover the fixtures, broken files included', () => {
    expect(all.length).toBeGreaterThan(1000);
    expect(files.length).toBeGreaterThan(all.length / 12);
    expect(files.length).toBeLessThan(all.length);
  });

  it('are the binding tree node for node on the Python fixtures (every node shape they show)', { timeout: 300_000 }, async () => {
    const parser = new NativeParser();
    parser.setLanguage(Python as Parser.Language);
    let withErrors = 0;
    let nodes = 0;
    for (const file of files) {
      const source = readFileSync(file, 'latin1');
      const native = parser.parse(source, undefined, { bufferSize: source.length * 2 + 65536 });
      if (native.rootNode.hasError) withErrors++;
      const flat = new FlatTree(native, source, Python);
      const expected = nativeNodes(native);
      expect(flat.count, file).toBe(expected.length);
      const where = (i: number) => `${path.relative(REPO, file)} node ${i}`;
      const p = (x: { row: number; column: number }) => `${x.row}:${x.column}`;
      expected.forEach(({ node, field }, i) => {
        const f = flat.node(i);
        const fieldId = flat.fieldId[i]!;
        const got = [f.type, f.startIndex, f.endIndex, fieldId ? flat.vocabulary.fieldNames[fieldId] : null, f.isNamed, f.hasError, f.isMissing, p(f.startPosition), p(f.endPosition), f.parent?.startIndex ?? -1, f.parent?.type ?? null, f.namedChildCount];
        const want = [node.type, node.startIndex, node.endIndex, field, node.isNamed, node.hasError, node.isMissing, p(node.startPosition), p(node.endPosition), node.parent?.startIndex ?? -1, node.parent?.type ?? null, node.namedChildCount];
        // One expect per difference only: a million passing expects would take minutes.
        if (got.some((g, k) => g !== want[k])) expect(got, where(i)).toEqual(want);
      });
      nodes += expected.length;
      // descendantForIndex over ranges spread through the file (deterministic).
      for (let k = 0; k < 64; k++) {
        const from = Math.floor(((k * 7919) % 1000) / 1000 * source.length);
        const to = Math.min(source.length, from + (k % 13));
        const a = native.rootNode.descendantForIndex(from, to);
        const b = flat.rootNode.descendantForIndex(from, to);
        if (a.type !== b.type || a.startIndex !== b.startIndex || a.endIndex !== b.endIndex) {
          expect([b.type, b.startIndex, b.endIndex], `${path.relative(REPO, file)} ${from}-${to}`).toEqual([a.type, a.startIndex, a.endIndex]);
        }
      }
      // Let the binding free this file's nodes, and the test runner hear from this worker.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(withErrors).toBeGreaterThan(0);
    expect(nodes).toBeGreaterThan(100_000);
  });

  // Every node of the same files as the test above.
  it('survive being handed to another thread as data (the scan\'s parse reused by the rewrite)', { timeout: 300_000 }, async () => {
    const parser = new NativeParser();
    parser.setLanguage(Python as Parser.Language);
    let checked = 0;
    for (const file of files) {
      const source = readFileSync(file, 'latin1');
      const flat = new FlatTree(parser.parse(source, undefined, { bufferSize: source.length * 2 + 65536 }), source, Python);
      // Cloned as postMessage clones it, read with a vocabulary that has seen nothing (another thread's).
      const data = structuredClone(flat.toData());
      const fresh = { nodeTypeInfo: (Python as { nodeTypeInfo: unknown }).nodeTypeInfo };
      const again = new FlatTree(data, source, fresh);
      expect(again.count, file).toBe(flat.count);
      for (let i = 0; i < flat.count; i++) {
        const a = flat.node(i);
        const b = again.node(i);
        const field = (t: FlatTree) => (t.fieldId[i] ? t.vocabulary.fieldNames[t.fieldId[i]!] : null);
        const got = [b.type, b.startIndex, b.endIndex, field(again), b.isNamed, b.hasError, b.isMissing, b.parent?.index ?? -1, b.childForFieldName('name')?.index ?? -1];
        const want = [a.type, a.startIndex, a.endIndex, field(flat), a.isNamed, a.hasError, a.isMissing, a.parent?.index ?? -1, a.childForFieldName('name')?.index ?? -1];
        if (got.some((g, k) => g !== want[k])) expect(got, `${path.relative(REPO, file)} node ${i}`).toEqual(want);
      }
      checked++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(checked).toBe(files.length);
  });
});
