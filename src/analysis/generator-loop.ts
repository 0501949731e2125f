// A main loop written as a generator the loop method consumes: `for tick in self.ticks(): ...` where
// ticks() is the agent's own generator looping `while not self.stop_event.is_set(): yield ...`. The for
// statement is the loop as much as a `while` would be: it ends when the generator's loop does, and
// what follows it (a close(), a teardown) runs then, as after a `while` loop.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyFunction } from '../lang/python/module-model.js';
import type { PythonTransformContext } from '../lang/python/transform-context.js';
import { selfAttribute, walkTypes } from '../lang/python/syntax.js';

/** Nested definitions (skipped: their loops are theirs) and what a looping generator is made of. */
const NESTED = new Set(['function_definition', 'class_definition', 'lambda']);
const GENERATOR_PARTS: ReadonlySet<string> = new Set([...NESTED, 'yield', 'while_statement']);
const WHILE_LOOPS: ReadonlySet<string> = new Set([...NESTED, 'while_statement']);
const FOR_LOOPS: ReadonlySet<string> = new Set([...NESTED, 'for_statement']);

/** The agent's generator method `for_statement` iterates (`for x in self.ticks():`) when it loops itself, else null. */
export function loopingGenerator(ctx: PythonTransformContext, st: SyntaxNode): PyFunction | null {
  if (st.type !== 'for_statement') return null;
  const right = st.childForFieldName('right');
  const fn = right?.type === 'call' ? right.childForFieldName('function') : null;
  const m = fn ? selfAttribute(fn) : null;
  const gen = m ? ctx.agent.methods.get(m) : undefined;
  if (!gen || gen.isAsync) return null;
  let yields = false;
  let loops = false;
  walkTypes(gen.body, GENERATOR_PARTS, (n) => {
    if (NESTED.has(n.type)) return false;
    if (n.type === 'yield') yields = true;
    else loops = true;
  });
  return yields && loops ? gen : null;
}

/** A `while` loop, or a for loop over a looping generator of the agent's (loopingGenerator). */
export function isLoopStatement(ctx: PythonTransformContext, n: SyntaxNode): boolean {
  return n.type === 'while_statement' || loopingGenerator(ctx, n) !== null;
}

/** The `while` loops of the generators the for loops in `body` consume (nested definitions aside). */
export function generatorWhileLoops(ctx: PythonTransformContext, body: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walkTypes(body, FOR_LOOPS, (n) => {
    if (NESTED.has(n.type)) return false;
    const gen = loopingGenerator(ctx, n);
    if (gen) walkTypes(gen.body, WHILE_LOOPS, (w) => {
      if (NESTED.has(w.type)) return false;
      out.push(w);
    });
  });
  return out;
}
