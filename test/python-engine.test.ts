// Unit tests of the Python adapter's building blocks: parsing (any size, refusing broken
// trees), decoding, the edit buffer, layout detection and re-indentation, line removal,
// and the reference index the safety analysis stands on.
import { describe, expect, it } from 'vitest';
import { decodePythonSource, firstSyntaxError, parsePython, parseStrict } from '../src/lang/python/parser.js';
import { EditBuffer, OverlappingEditError } from '../src/lang/python/edit-buffer.js';
import { detectLayout, renderBlock } from '../src/lang/python/text.js';
import { removeNodes } from '../src/lang/python/remove-lines.js';
import { ReferenceIndex } from '../src/analysis/references.js';
import { MigrateError } from '../src/core/errors.js';

describe('parser', () => {
  it('parses inputs far past 32 KB', () => {
    const body = Array.from({ length: 4000 }, (_, i) => `    "key_${i}": "value_${i}",`).join('\n');
    const src = `TABLE = {\n${body}\n}\n\nclass Agent:\n    def run(self):\n        return TABLE\n`;
    expect(src.length).toBeGreaterThan(100_000);
    const tree = parsePython(src);
    expect(firstSyntaxError(tree)).toBeNull();
    expect(tree.rootNode.lastNamedChild!.type).toBe('class_definition');
  });

  it('refuses ERROR and MISSING nodes with file and line', () => {
    const src = 'class A:\n    def f(self):\n        self.\n        return 1\n';
    expect(() => parseStrict(src, 'agents/a.py')).toThrow(MigrateError);
    try {
      parseStrict(src, 'agents/a.py');
    } catch (err) {
      expect((err as MigrateError).oneLine()).toMatch(/^agents\/a\.py:3: syntax error/);
    }
    expect(() => parseStrict('def f(:\n  pass\n', 'b.py')).toThrow(/syntax error/);
  });

  it('decodes UTF-8, honours a latin-1 coding line, and refuses empty and undecodable files', () => {
    expect(decodePythonSource(Buffer.from('x = "é"\n'), 'a.py')).toBe('x = "é"\n');
    const latin = Buffer.concat([Buffer.from('# -*- coding: latin-1 -*-\nx = "'), Buffer.from([0xe9]), Buffer.from('"\n')]);
    expect(decodePythonSource(latin, 'b.py')).toContain('x = "é"');
    expect(() => decodePythonSource(Buffer.alloc(0), 'c.py')).toThrow(/empty/);
    const bad = Buffer.concat([Buffer.from('a = 1\nb = 2\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    expect(() => decodePythonSource(bad, 'd.py')).toThrow(MigrateError);
    try {
      decodePythonSource(bad, 'd.py');
    } catch (err) {
      expect((err as MigrateError).oneLine()).toMatch(/^d\.py:3: not valid UTF-8/);
    }
  });
});

describe('edit buffer', () => {
  const src = 'alpha beta gamma delta';

  it('keeps every untouched byte and applies edits in position order', () => {
    const b = new EditBuffer(src);
    b.replace(6, 10, 'BETA', 't1');
    b.insert(0, '>', 't2');
    b.delete(16, 22, 't3');
    expect(b.apply()).toBe('>alpha BETA gamma');
  });

  it('refuses overlapping edits, naming both', () => {
    const b = new EditBuffer(src);
    b.replace(0, 10, 'x', 'first');
    expect(() => b.replace(5, 12, 'y', 'second')).toThrow(OverlappingEditError);
    expect(() => b.insert(3, 'z', 'third')).toThrow(/third edit 3-3 overlaps first edit 0-10/);
  });

  it('allows inserts that touch a deleted range and keeps their order', () => {
    const b = new EditBuffer(src);
    b.delete(6, 11, 'del');
    b.insert(6, 'one ', 'a');
    b.insert(6, 'two ', 'b');
    b.insert(11, '| ', 'c');
    expect(b.apply()).toBe('alpha one two | gamma delta');
  });
});

describe('layout', () => {
  it('detects tabs, two-space indentation and CRLF', () => {
    expect(detectLayout('class A:\n\tdef f(self):\n\t\tpass\n').unit).toBe('\t');
    expect(detectLayout('class A:\n  def f(self):\n    pass\n').unit).toBe('  ');
    const crlf = detectLayout('class A:\r\n    def f(self):\r\n        pass\r\n');
    expect(crlf).toEqual({ eol: '\r\n', unit: '    ' });
  });

  it('re-indents an inserted block to the surrounding indentation and line endings', () => {
    const block = 'def __init__(self):\n    super().__init__(name="A")\n';
    expect(renderBlock(block, '\t', { eol: '\r\n', unit: '\t' })).toBe('\tdef __init__(self):\r\n\t\tsuper().__init__(name="A")\r\n');
    expect(renderBlock(block, '  ', { eol: '\n', unit: '  ' })).toBe('  def __init__(self):\n    super().__init__(name="A")\n');
  });
});

describe('line removal', () => {
  function removeStatements(src: string, match: (text: string) => boolean): string {
    const tree = parsePython(src);
    const nodes: import('../src/lang/python/parser.js').SyntaxNode[] = [];
    const visit = (n: import('../src/lang/python/parser.js').SyntaxNode) => {
      if ((n.type === 'expression_statement' || n.type === 'function_definition') && match(n.text)) nodes.push(n);
      else for (const c of n.namedChildren) visit(c);
    };
    visit(tree.rootNode);
    const b = new EditBuffer(src);
    removeNodes(src, nodes, b, detectLayout(src), 'test');
    return b.apply();
  }

  it('removes whole lines with the comment that describes them and one blank gap', () => {
    const src = [
      'class A:',
      '    def __init__(self):',
      '        self.x = 1',
      '',
      '        # health socket',
      '        self.health = make()',
      '        self.health.bind(1)',
      '',
      '        self.y = 2',
      '',
    ].join('\n');
    expect(removeStatements(src, (t) => t.startsWith('self.health'))).toBe(
      ['class A:', '    def __init__(self):', '        self.x = 1', '', '        self.y = 2', ''].join('\n'),
    );
  });

  it('puts pass into a block it empties, keeping tabs and CRLF', () => {
    const src = 'class A:\r\n\tdef stop(self):\r\n\t\tself.sock.close()\r\n';
    expect(removeStatements(src, (t) => t.startsWith('self.sock'))).toBe('class A:\r\n\tdef stop(self):\r\n\t\tpass\r\n');
  });

  it('removes a method with the blank line before it', () => {
    const src = 'class A:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n\n    def c(self):\n        return 3\n';
    expect(removeStatements(src, (t) => t.startsWith('def b'))).toBe(
      'class A:\n    def a(self):\n        return 1\n\n    def c(self):\n        return 3\n',
    );
  });
});

describe('reference index', () => {
  it('tells attribute uses, bare names and name strings apart, ignoring comments and substrings', () => {
    const src = [
      'import zmq',
      'class A:',
      '    def f(self):',
      '        # _loop in a comment is not a use',
      '        t = threading.Thread(target=self._loop)',
      '        getattr(self, "_loop")',
      '        self._loop_count = 1',
      '        _loop = 3',
      '        print("the _loop is fine")',
      '',
    ].join('\n');
    const refs = new ReferenceIndex(parsePython(src).rootNode).of('_loop');
    expect(refs.map((r) => [r.kind, r.line])).toEqual([
      ['attribute', 5],
      ['string', 6],
      ['identifier', 8],
    ]);
  });

  it('finds a word name where a whole-word text search finds it: beside digits, underscores, dots and letters outside ASCII', () => {
    const src = [
      'port = 1',
      'port2 = port + 2',
      '_port = port_',
      'éport = port',
      'porté = self.port.port',
      'x = "port"',
      '',
    ].join('\n');
    const at = (name: string) => new ReferenceIndex(parsePython(src).rootNode).of(name).map((r) => [r.kind, r.line, r.start]);
    expect(at('port').map((r) => [r[0], r[1]])).toEqual([
      ['identifier', 1],
      ['identifier', 2],
      // `éport` and `porté` are identifiers of their own: `port` in them is no whole identifier.
      ['identifier', 4],
      ['attribute', 5],
      ['attribute', 5],
      ['string', 6],
    ]);
    expect(at('port_')).toEqual([['identifier', 3, src.indexOf('port_')]]);
    expect(at('ort')).toEqual([]);
  });
});
