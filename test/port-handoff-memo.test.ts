// The port plan keeps each callee's bound parameters across the calls of one search
// (HandoffMemo): every call of every class of every Python fixture input must get from a memo shared by all of them what a search of its own gives, with and
// without `gone` (the migration's removals left out), in-file parents included.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePython, type SyntaxNode } from '../src/lang/python/parser.js';
import { readModuleModel } from '../src/lang/python/module-model.js';
import { walkTypes } from '../src/lang/python/syntax.js';
import { serverSubclasses } from '../src/analysis/ports.js';
import { HandoffMemo, portHandoffs, type Handoff } from '../src/analysis/port-handoff.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
afterEach(turn);

function sources(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  for (const suite of ['python', 'python-hardened']) {
    const dir = path.join(import.meta.dirname, '..', 'fixtures', suite);
    for (const c of readdirSync(dir).sort()) {
      const p = path.join(dir, c, 'input.py');
      if (existsSync(p)) out.push({ name: `${suite}/${c}`, text: readFileSync(p, 'utf8') });
    }
  }
  return out;
}

const CALLS: ReadonlySet<string> = new Set(['call']);
const plain = (hs: Handoff[]) => hs.map((h) => ({ call: h.call.index, arg: h.arg.index, param: h.param }));

describe('port hand-off memo', () => {
  it('gives every call of every class what its own search gives', async () => {
    let calls = 0;
    let found = 0;
    for (const { name, text } of sources()) {
      const tree = parsePython(text);
      const module = readModuleModel(text, tree);
      const servers = serverSubclasses(module.root);
      for (const cls of module.classes) {
        const bases = new Set(cls.bases.map((b) => b.text.replace(/\s+/g, '')));
        const parents = module.classes.filter((c) => c.name !== cls.name && bases.has(c.name));
        // A `gone` that leaves out the class's first method, as a removal would.
        const first = [...cls.methods.values()][0];
        const gone = (n: SyntaxNode) => !!first && first.outer.startIndex <= n.startIndex && n.endIndex <= first.outer.endIndex;
        const memo = new HandoffMemo();
        const memoPlain = new HandoffMemo();
        walkTypes(cls.body, CALLS, (call) => {
          calls++;
          const own = plain(portHandoffs(call, module, servers, parents, gone));
          found += own.length;
          expect(plain(portHandoffs(call, module, servers, parents, gone, undefined, memo)), `${name}: ${call.text.slice(0, 60)}`).toEqual(own);
          expect(plain(portHandoffs(call, module, servers, parents, undefined, undefined, memoPlain))).toEqual(plain(portHandoffs(call, module, servers, parents)));
        });
      }
      await turn();
    }
    // The corpus has hand-offs to find, or the comparison proves nothing.
    expect(calls).toBeGreaterThan(10_000);
    expect(found).toBeGreaterThanOrEqual(15);
  }, 120_000);
});
