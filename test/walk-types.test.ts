// walkTypes (src/lang/python/syntax.ts) steps through a per-tree index of positions by type
// instead of every node of the subtree; it must show exactly the nodes, in the same order, that
// walk() shows a callback filtering on the same types: from any node down, with subtrees pruned
// by the callback's `false`, big literal tables without a name passed over, on every Python
// fixture and on tables past the literal threshold.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePython, type SyntaxNode } from '../src/lang/python/parser.js';
import { walk, walkTypes } from '../src/lang/python/syntax.js';
import { REPO } from './helpers/cli.js';
import { pythonFiles } from './helpers/python-files.js';

const TYPE_SETS: ReadonlySet<string>[] = [
  new Set(['call']),
  new Set(['identifier']),
  new Set(['function_definition', 'class_definition', 'call', 'assignment']),
  new Set(['string', 'dictionary', 'expression_statement', 'lambda']),
  new Set(['print', 'if_statement', 'ERROR']),
  new Set(['no_such_type']),
];

/** The nodes each walk shows, pruning where `prune` says (the same rule for both). */
function both(from: SyntaxNode, types: ReadonlySet<string>, prune: (n: SyntaxNode) => boolean): [number[], number[]] {
  const expected: number[] = [];
  walk(from, (n) => {
    if (!types.has(n.type)) return undefined;
    expected.push(n.index);
    return prune(n) ? false : undefined;
  });
  const actual: number[] = [];
  walkTypes(from, types, (n) => {
    actual.push(n.index);
    return prune(n) ? false : undefined;
  });
  return [actual, expected];
}

function check(source: string, label: string): void {
  const tree = parsePython(source);
  // The root, and a spread of inner nodes as starting points.
  const starts = [0, ...Array.from({ length: 12 }, (_, k) => Math.floor(((k + 1) * tree.count) / 13))];
  const prunes: Array<(n: SyntaxNode) => boolean> = [
    () => false,
    (n) => n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda',
    (n) => n.index % 3 === 0,
  ];
  for (const s of starts) {
    for (const types of TYPE_SETS) {
      for (const prune of prunes) {
        const [actual, expected] = both(tree.node(s), types, prune);
        expect(actual, `${label} from ${s} ${[...types].join(',')}`).toEqual(expected);
      }
    }
  }
}

describe('walkTypes', () => {
  it('shows what the filtered walk shows on every Python fixture', { timeout: 300_000 }, () => {
    const files = pythonFiles(path.join(REPO, 'fixtures'));
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) check(readFileSync(f, 'latin1'), path.relative(REPO, f));
  });

  it('passes over big literal tables that hold no name, and into those that do', () => {
    const entries = Array.from({ length: 2000 }, (_, k) => `    "key${k}": [${k}, "v${k}"],`).join('\n');
    const named = Array.from({ length: 2000 }, (_, k) => `    "key${k}": [${k}, handler_${k % 7}],`).join('\n');
    const source = `TABLE = {\n${entries}\n}\n\nNAMED = {\n${named}\n}\n\ndef f():\n    return TABLE[call(x)]\n`;
    check(source, 'tables');
    const tree = parsePython(source);
    const seen: string[] = [];
    walkTypes(tree.rootNode, new Set(['identifier']), (n) => void seen.push(n.text));
    expect(seen).toContain('handler_3');
    expect(seen).not.toContain('key1');
    expect(seen.slice(0, 1)).toEqual(['TABLE']);
  });
});
