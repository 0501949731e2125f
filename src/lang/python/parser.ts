// tree-sitter-python parsing. The native tree is read once into a FlatTree (see
// flat-tree.ts) and dropped; everything after works on that. Node indices are UTF-16
// offsets into the JS string we pass in, so edits are plain string slices.
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';
import { MigrateError } from '../../core/errors.js';
import { FlatNode, FlatTree } from './flat-tree.js';
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
  const bufferSize = Math.max(64 * 1024, source.length * 2 + 1024);
  const flat = new FlatTree(getParser().parse(source, undefined, { bufferSize }), source, pythonLanguage());
  nativeTreeDropped();
  return flat;
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
  const tree = parsePython(source);
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
