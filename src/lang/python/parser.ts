// tree-sitter-python parsing. The native tree is read once into a FlatTree (see
// flat-tree.ts) and dropped; everything after works on that. Node indices are UTF-16
// offsets into the JS string we pass in, so edits are plain string slices.
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';
import { MigrateError } from '../../core/errors.js';
import { FlatNode, FlatTree, Reuse } from './flat-tree.js';
import { nativeTreeDropped } from './native-trees.js';

export type SyntaxNode = FlatNode;
export type Tree = FlatTree;

const require = createRequire(import.meta.url);
let parser: Parser | undefined;
let python: object | undefined;

/**
 * The tree-sitter-python language, loaded on first use: the two native bindings cost about
 * 0.15 s of CPU to load, and a scan whose files are all in the scan cache parses nothing.
 */
export function pythonLanguage(): object {
  return (python ??= require('tree-sitter-python') as object);
}

function getParser(): Parser {
  if (!parser) {
    const TreeSitter = require('tree-sitter') as typeof Parser;
    parser = new TreeSitter();
    parser.setLanguage(pythonLanguage() as unknown as Parser.Language);
  }
  return parser;
}

/** Parse any size of input: the binding needs an explicit buffer size past 32 KB. */
export function parsePython(source: string): Tree {
  const flat = new FlatTree(nativeParse(source), source, pythonLanguage());
  nativeTreeDropped();
  return flat;
}

function nativeParse(source: string, old?: Parser.Tree): Parser.Tree {
  const bufferSize = Math.max(64 * 1024, source.length * 2 + 1024);
  return getParser().parse(source, old, { bufferSize });
}

/**
 * A parse whose native tree is kept for one incremental reparse of the text it becomes (see
 * reparsePython): the rewrite's output is its input with a few edits, and tree-sitter reuses
 * every subtree the edits leave alone instead of parsing the whole output again.
 */
export interface EditableParse {
  tree: Tree;
  native: NativeTree;
}

/** tree-sitter's own tree of a text (held only where a reparse of it is to come: see EditableParse). */
export type NativeTree = Parser.Tree;

/** parseStrict, keeping the native tree for reparsePython. */
export function parseStrictEditable(source: string, file: string): EditableParse {
  const native = nativeParse(source);
  const tree = new FlatTree(native, source, pythonLanguage());
  refuseSyntaxErrors(tree, file);
  return { tree, native };
}

/** A replacement of [start, end) of the parsed text by `text` (see EditBuffer.hunks). */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * The parse of `output`, which is the parsed text with `edits` applied (sorted, not touching
 * one another): the native tree is told of each edit and parsed again incrementally. The
 * result is the tree a fresh parse of `output` gives (test/incremental-reparse.test.ts checks
 * it node for node over every fixture); the native tree is used up (edited) by this.
 */
export function reparsePython(parse: EditableParse, edits: readonly TextEdit[], output: string): Tree {
  const { tree, native } = parse;
  // From the last edit back: every offset an edit names is then still an offset of the parsed text.
  for (let k = edits.length - 1; k >= 0; k--) {
    const e = edits[k]!;
    const startPosition = tree.point(e.start);
    native.edit({
      startIndex: e.start,
      oldEndIndex: e.end,
      newEndIndex: e.start + e.text.length,
      startPosition,
      oldEndPosition: tree.point(e.end),
      newEndPosition: endAfter(startPosition, e.text),
    });
  }
  const reparsed = nativeParse(output, native);
  // Unchanged subtrees are copied from the input's flat tree rather than walked again.
  const flat = new FlatTree(reparsed, output, pythonLanguage(), new Reuse(tree, edits, native.getChangedRanges(reparsed)));
  // Both native trees go now: the edited input and the output.
  nativeTreeDropped();
  nativeTreeDropped();
  return flat;
}

/**
 * reparsePython for a parse made elsewhere (the scan's flat arrays, from another thread or an
 * earlier stage): there is no native tree to edit, so the parsed text is parsed natively again
 * first (no flat walk of it: the flat tree is at hand) and the output reparsed from that.
 */
export function reparsePythonFromFlat(tree: Tree, edits: readonly TextEdit[], output: string): Tree {
  return reparsePython({ tree, native: nativeParse(tree.source) }, edits, output);
}

/** Where `text` written at `from` ends (row, and column in UTF-16 units as the binding counts them). */
function endAfter(from: { row: number; column: number }, text: string): { row: number; column: number } {
  let rows = 0;
  let last = -1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) {
    rows++;
    last = at;
  }
  return rows ? { row: from.row + rows, column: text.length - last - 1 } : { row: from.row, column: from.column + text.length };
}

/** The first ERROR or MISSING node, or null when the tree is clean. */
export function firstSyntaxError(tree: Tree): SyntaxNode | null {
  if (!tree.rootNode.hasError) return null;
  for (let i = 0; i < tree.count; i++) {
    const node = tree.node(i);
    if (node.type === 'ERROR' || node.isMissing) return node;
  }
  return tree.rootNode;
}

/** Parse and refuse any tree with ERROR or MISSING nodes, naming file and line. */
export function parseStrict(source: string, file: string): Tree {
  return refuseSyntaxErrors(parsePython(source), file);
}

function refuseSyntaxErrors(tree: Tree, file: string): Tree {
  const bad = firstSyntaxError(tree);
  if (bad) {
    const line = bad.startPosition.row + 1;
    const what = bad.isMissing ? `missing ${bad.type}` : `unexpected ${JSON.stringify(snippet(bad.text))}`;
    throw new MigrateError(`syntax error (${what}); file refused, not rewritten`, file, line);
  }
  return tree;
}

function snippet(text: string): string {
  const first = text.split(/\r?\n/)[0] ?? '';
  return first.length > 40 ? `${first.slice(0, 40)}...` : first;
}

/**
 * Decode file bytes as strict UTF-8 (Python 3's default source encoding), honouring
 * a PEP 263 coding line for latin-1 style encodings Node can decode.
 */
export function decodePythonSource(bytes: Buffer, file: string): string {
  if (bytes.length === 0) throw new MigrateError('empty file; nothing to migrate', file, 1);
  const head = bytes.subarray(0, 400).toString('latin1').split(/\r?\n/).slice(0, 2);
  const coding = head.map((l) => /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/.exec(l)?.[1]).find(Boolean);
  const enc = coding?.toLowerCase().replace(/_/g, '-');
  if (enc && enc !== 'utf-8' && enc !== 'utf8') {
    if (['latin-1', 'iso-8859-1', 'iso8859-1', 'latin1', 'l1'].includes(enc)) return bytes.toString('latin1');
    throw new MigrateError(`unsupported source encoding "${coding}"; only UTF-8 and latin-1 are handled`, file, 1);
  }
  try {
    let text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text;
  } catch {
    const at = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
    throw new MigrateError(`not valid UTF-8 (byte 0x${bytes[at]?.toString(16)} at offset ${at}) and no coding line`, file, line);
  }
}

function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // binary search for the shortest invalid prefix
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      decoder.decode(bytes.subarray(0, mid + 1), { stream: true });
      decoder.decode();
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}
