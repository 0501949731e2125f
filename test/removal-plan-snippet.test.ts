// The code a kept member's "still used at line N (...)" quotes is what line N holds: a use inside a
// payload dict opened on an earlier line was quoted as "({)" (probe-py55b).
import { describe, expect, it } from 'vitest';
import { parsePython } from '../src/lang/python/parser.js';
import { walk } from '../src/lang/python/syntax.js';
import { snippet } from '../src/analysis/removal-plan.js';

function attributeNode(source: string, text: string) {
  const tree = parsePython(source);
  let found: ReturnType<typeof parsePython>['rootNode'] | null = null;
  walk(tree.rootNode, (n) => {
    if (!found && n.type === 'attribute' && n.text === text) found = n;
  });
  return found!;
}

describe('removal plan: the code a use is quoted by', () => {
  it('a use inside a multi-line dict is quoted by its own line, not the dict opener', () => {
    const src = 'class A:\n    def stats(self):\n        return {\n            "hc": self.hc,\n            "n": self.n,\n        }\n';
    expect(snippet(attributeNode(src, 'self.hc'))).toBe('"hc": self.hc,');
  });

  it('a use on a statement of its own line keeps the statement', () => {
    const src = 'class A:\n    def stop(self):\n        self.sock.close()\n';
    expect(snippet(attributeNode(src, 'self.sock'))).toBe('self.sock.close()');
  });
});
