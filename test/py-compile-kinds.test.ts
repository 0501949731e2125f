// What the scan's CPython check must keep catching, by the stage of CPython that finds it (issue
// 15 asked whether `ast.parse` or `symtable` could stand in for the full `compile()`, which is
// 7-8 CPU-s of a cold 1,000-agent scan). tree-sitter accepts every source below, so without the
// check each would be classified (and rewritten) although python3 refuses to run it. The parser
// and the symbol table find the first group; the second only the code generator finds, so a
// check made of `ast.parse` plus `symtable` would let them through: the check stays a full
// compile(). (Measured on the same 903 files, 3.11: the session with compile() 5.7-6.1 CPU-s,
// with symtable.symtable 5.1-5.6: no saving worth the errors it would miss.)
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSharedCompileSessions, pyCompileAll } from '../src/lang/python/py-compile.js';
import { parseStrict } from '../src/lang/python/parser.js';

afterAll(() => closeSharedCompileSessions());

/** Sources tree-sitter accepts and CPython refuses, with the line CPython names. */
const PARSER_OR_SYMTABLE: Array<[kind: string, source: string, line: number]> = [
  ['unexpected indent', 'def f():\n    x = 1\n        y = 2\n', 3],
  ['unindent not matching', 'def f():\n    x = 1\n  y = 2\n', 3],
  ['tabs and spaces mixed', 'if 1:\n\tx = 1\n        y = 2\n', 3],
  ['nonlocal at module level', 'x = 1\nnonlocal x\n', 2],
  ['nonlocal without binding', 'def f():\n    nonlocal x\n', 2],
  ['assigned before global', 'def f():\n    x = 1\n    global x\n', 3],
  ['parameter and global', 'def f(x):\n    global x\n', 2],
  ['import * in a function', 'def f():\n    from os import *\n', 2],
  ['duplicate argument', 'def f(a, a):\n    pass\n', 1],
];

const CODE_GENERATOR: Array<[kind: string, source: string, line: number]> = [
  ['return outside function', 'x = 1\nreturn x\n', 2],
  ['return in a class body', 'class A:\n    return 1\n', 2],
  ['yield outside function', 'x = 1\nyield x\n', 2],
  ['await outside async function', 'def f():\n    await g()\n', 2],
  ['async for outside async function', 'def f():\n    async for x in y:\n        pass\n', 2],
  ['async with outside async function', 'def f():\n    async with x:\n        pass\n', 2],
  ['break outside loop', 'x = 1\nbreak\n', 2],
  ['break in a function inside a loop', 'while True:\n    def f():\n        break\n', 3],
  ['continue outside loop', 'def f():\n    continue\n', 2],
  ["default 'except:' not last", 'try:\n    pass\nexcept:\n    pass\nexcept ValueError:\n    pass\n', 3],
  ['starred assignment target alone', 'x = 1\n*a = x\n', 2],
  ['two starred targets', 'x = 1\n*a, *b = x\n', 2],
  ['assignment to __debug__', 'x = 1\n__debug__ = x\n', 2],
  ['__future__ import after code', 'x = 1\nfrom __future__ import annotations\n', 2],
];

async function verdicts(cases: Array<[string, string, number]>): Promise<Array<string | null>> {
  return pyCompileAll(cases.map(([kind, text]) => ({ name: `${kind}.py`, text })));
}

/** What `ast.parse` plus `symtable` say of each source: null when both accept it. */
function parseAndSymtable(sources: string[]): Array<string | null> {
  const script = `
import ast, json, symtable, sys
out = []
for src in json.load(sys.stdin):
    try:
        ast.parse(src)
        symtable.symtable(src, "t.py", "exec")
        out.append(None)
    except SyntaxError as e:
        out.append("%s: %s" % (type(e).__name__, e.msg))
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(sources), encoding: 'utf8' })) as Array<string | null>;
}

describe('the scan compile check catches what tree-sitter lets through', () => {
  it('tree-sitter parses every one of these sources without an error node', () => {
    for (const [kind, source] of [...PARSER_OR_SYMTABLE, ...CODE_GENERATOR]) expect(() => parseStrict(source, `${kind}.py`), kind).not.toThrow();
  });

  it('python3 refuses each, naming the line, whichever stage of CPython finds it', async () => {
    const all = [...PARSER_OR_SYMTABLE, ...CODE_GENERATOR];
    const got = await verdicts(all);
    all.forEach(([kind, , line], i) => expect(got[i], kind).toMatch(new RegExp(`^${kind.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.py:${line}: python3 refuses it: (Syntax|Indentation|Tab)Error: `)));
  });

  it('ast.parse plus symtable find the first group but none of the code generator\'s: the check must stay a full compile()', () => {
    const first = parseAndSymtable(PARSER_OR_SYMTABLE.map(([, s]) => s));
    PARSER_OR_SYMTABLE.forEach(([kind], i) => expect(first[i], kind).not.toBeNull());
    const second = parseAndSymtable(CODE_GENERATOR.map(([, s]) => s));
    CODE_GENERATOR.forEach(([kind], i) => expect(second[i], kind).toBeNull());
  });
});
