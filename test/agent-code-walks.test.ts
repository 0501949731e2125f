// The removal plan's member sets (memberSet, read from one list of member mentions per tree) and
// the typed walks of agent code (walkAgentCode, stepping through a list made by the method's
// first walk) must give what a walk of the subtree gives: the same members in the same order,
// the same nodes in the same order, with the subtrees a visitor prunes left out. Checked against
// those plain walks on every node of every Python fixture input and output and on generated agents.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePython, type SyntaxNode, type Tree } from '../src/lang/python/parser.js';
import { callee, selfAttribute, stringValue, walk } from '../src/lang/python/syntax.js';
import { memberSet } from '../src/analysis/infra.js';
import { CALL_NODES, walkAgentCode } from '../src/analysis/agent-model.js';
import { readModuleModel, type PyFunction } from '../src/lang/python/module-model.js';
import { fleetFiles } from './bench/fleet/fleet.js';

// Let the event loop turn between files and tests: a minute of synchronous work leaves the
// runner's calls unanswered (vitest's fixed RPC timeout; see incremental-reparse.test.ts).
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
afterEach(turn);

/** Every fixture input and expected output of the Python suites. */
function fixtureSources(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  for (const suite of ['python', 'python-hardened']) {
    const dir = path.join(import.meta.dirname, '..', 'fixtures', suite);
    for (const c of readdirSync(dir).sort()) {
      for (const f of ['input.py']) {
        const p = path.join(dir, c, f);
        if (existsSync(p)) out.push({ name: `${suite}/${c}/${f}`, text: readFileSync(p, 'utf8') });
      }
    }
  }
  return out;
}

function generatedSources(): Array<{ name: string; text: string }> {
  return fleetFiles(12)
    .filter((f) => f.language === 'python')
    .map((f) => ({ name: `fleet/${f.rel}`, text: f.text }));
}

/** The nodes the removal plan asks memberSet of (statements, blocks, conditions, arguments), and the others the test samples. */
const ASKED = /_statement$|^(block|module|argument_list|call|attribute|class_definition|function_definition|decorated_definition|comparison_operator|boolean_operator|not_operator)$/;

/** The members a walk of the subtree finds, stopping at class definitions (as memberSet's definition). */
function walkedMembers(node: SyntaxNode): string[] {
  const out = new Set<string>();
  walk(node, (n) => {
    if (n.type === 'class_definition') return false;
    const a = selfAttribute(n);
    if (a) out.add(a);
    if (n.type === 'call' && /^(hasattr|getattr|setattr|delattr)$/.test(callee(n) ?? '')) {
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (args[0]?.text === 'self' && args[1]) {
        const s = stringValue(args[1]);
        if (s) out.add(s);
      }
    }
  });
  return [...out];
}

/** walkAgentCode's definition as a plain walk: no nested class, no nested def taking `self`. */
function walkedAgentCode(fn: PyFunction, types: ReadonlySet<string>, prune: (n: SyntaxNode) => boolean): number[] {
  const seen: number[] = [];
  walk(fn.body, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type === 'function_definition' && n.id !== fn.node.id && n.childForFieldName('parameters')?.namedChild(0)?.text === 'self') return false;
    if (!types.has(n.type)) return;
    seen.push(n.index);
    return prune(n) ? false : undefined;
  });
  return seen;
}

function methodsOf(source: string, tree: Tree): PyFunction[] {
  const model = readModuleModel(source, tree);
  return [...model.classes.flatMap((c) => [...c.methods.values()]), ...model.functions.values()];
}

describe.each([
  ['fixtures', fixtureSources],
  ['generated agents', generatedSources],
])('agent code walks on %s', (_, sources) => {
  it('memberSet equals a walk of each node, in order', async () => {
    let nodes = 0;
    const wrong: string[] = [];
    for (const { name, text } of sources()) {
      await turn();
      const tree = parsePython(text);
      // Asked bottom-up and top-down alike: the answer must not depend on what was asked first.
      const asked: number[] = [];
      for (let i = 0; i < tree.count; i++) if (ASKED.test(tree.typeName(i))) asked.push(i);
      for (const i of [...asked].reverse()) {
        if (i % 2) continue;
        const n = tree.node(i);
        if ([...memberSet(n)].join() !== walkedMembers(n).join()) wrong.push(`${name} node ${i} (${n.type})`);
      }
      for (const i of asked) {
        const n = tree.node(i);
        if ([...memberSet(n)].join() !== walkedMembers(n).join()) wrong.push(`${name} node ${i} (${n.type})`);
        nodes++;
      }
    }
    expect(wrong).toEqual([]);
    expect(nodes).toBeGreaterThan(5_000);
  });

  it('walkAgentCode shows the nodes a walk shows, a visitor pruning or not, first walk or later', async () => {
    const types: ReadonlySet<string> = new Set(['call', 'function_definition', 'lambda']);
    let shown = 0;
    const wrong: string[] = [];
    for (const { name, text } of sources()) {
      await turn();
      const tree = parsePython(text);
      for (const fn of methodsOf(text, tree)) {
        for (const set of [CALL_NODES, types]) {
          const prunes = [() => false, (n: SyntaxNode) => n.index % 3 === 0, (n: SyntaxNode) => n.type === 'function_definition' || n.type === 'lambda'];
          for (let round = 0; round < 2; round++) {
            for (const prune of prunes) {
              const got: number[] = [];
              walkAgentCode(fn, (n) => {
                got.push(n.index);
                return prune(n) ? false : undefined;
              }, set);
              if (got.join() !== walkedAgentCode(fn, set, prune).join()) wrong.push(`${name} ${fn.name}`);
              shown += got.length;
            }
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(shown).toBeGreaterThan(1000);
  });
});
