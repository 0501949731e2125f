// Concern (seed 001): a sender thread the migration does not move (hardened-sender moves only a
// thread whose loop takes one event at a time and sends it, owned by __init__ and run()). When the
// cycle feeds such a thread's queue but the thread batches, signals other threads, or other
// methods wait on it and count what it left, the review item names each of those lines and what a
// person decides, instead of "publishes nothing the migration recognises".
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { LEGACY_RUN, reachesBusThroughHelpers } from './hardened-shapes.js';
import { excerpt } from '../../src/core/excerpt.js';

const TAKE = /^(get|get_nowait|popleft)$/;
const PUT = /^(put|put_nowait|append)$/;

const lineOf = (n: SyntaxNode) => n.startPosition.row + 1;
const head = (n: SyntaxNode) => excerpt(n.text, 70);

/** `self.<attr>.<op>(...)` calls under the node (nested functions excluded): attr, op and the call. */
function selfCalls(root: SyntaxNode): Array<{ attr: string; op: string; call: SyntaxNode }> {
  const out: Array<{ attr: string; op: string; call: SyntaxNode }> = [];
  walk(root, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
    const attr = obj ? selfAttribute(obj) : null;
    if (attr) out.push({ attr, op: f!.childForFieldName('attribute')!.text, call: n });
  });
  return out;
}

/** The statement enclosing the node inside its block. */
function statementOf(n: SyntaxNode): SyntaxNode {
  let s = n;
  while (s.parent && s.parent.type !== 'block' && s.parent.type !== 'module') s = s.parent;
  return s;
}

/**
 * The review reason for the cycle's unmoved sender thread, or null when the cycle feeds no thread
 * of the agent that reaches the bus.
 */
export function unmovableSenderThread(ctx: PythonTransformContext, cycle: PyFunction): string | null {
  const init = ctx.agent.methods.get('__init__');
  if (!init) return null;
  for (const a of ctx.agent.assignments) {
    if (a.method !== '__init__' || a.value?.type !== 'call' || !/(^|\.)Thread$/.test(a.value.childForFieldName('function')?.text ?? '')) continue;
    const target = a.value.childForFieldName('arguments')!.namedChildren.find((k) => k.type === 'keyword_argument' && k.childForFieldName('name')!.text === 'target');
    const loopName = target ? selfAttribute(target.childForFieldName('value')!) : null;
    const loop = loopName ? ctx.agent.methods.get(loopName) : undefined;
    if (!loop) continue;
    const loopCalls = selfCalls(loop.body);
    const takes = loopCalls.filter((c) => TAKE.test(c.op));
    const put = selfCalls(cycle.body).find((c) => PUT.test(c.op) && takes.some((t) => t.attr === c.attr));
    if (!put) continue;
    const queue = put.attr;
    // The method(s) the loop sends with: agent methods it calls that reach the bus.
    const sends: string[] = [];
    walk(loop.body, (n) => {
      if (n.type !== 'call') return;
      const m = selfAttribute(n.childForFieldName('function')!);
      const fn = m ? ctx.agent.methods.get(m) : undefined;
      if (fn && !sends.includes(fn.name) && reachesBusThroughHelpers(ctx, fn)) sends.push(fn.name);
    });
    if (!sends.length) continue;
    const blockers: string[] = [];
    // Batches: what the loop takes is gathered into a local list before it is sent.
    const take = takes.find((t) => t.attr === queue)!;
    const gather = take.call.parent?.type === 'argument_list' ? take.call.parent.parent : null;
    const gatherFn = gather?.type === 'call' ? gather.childForFieldName('function') : null;
    if (gatherFn?.type === 'attribute' && /^(append|extend)$/.test(gatherFn.childForFieldName('attribute')!.text) && !selfAttribute(gatherFn.childForFieldName('object')!)) {
      blockers.push(`the thread sends batches it gathers itself (line ${lineOf(gather!)}: ${head(statementOf(gather!))})`);
    }
    // Events of the agent the loop sets for others to wait on (`self.flushed.set()`).
    for (const c of loopCalls) {
      if (c.op === 'set' && c.attr !== queue) blockers.push(`it sets self.${c.attr} for another thread to wait on (line ${lineOf(c.call)})`);
    }
    // The cycle's own handling of a full bounded queue (`except queue.Full: self.dropped += 1`).
    for (let p = put.call.parent; p && p.id !== cycle.node.id; p = p.parent) {
      if (p.type !== 'try_statement') continue;
      const full = p.namedChildren.find((c) => c.type === 'except_clause' && /(^|\.)Full\b/.test(c.namedChildren[0]?.text ?? ''));
      const body = full?.namedChildren.find((c) => c.type === 'block');
      if (full && body) blockers.push(`${cycle.name}() handles a full self.${queue} itself (line ${lineOf(full)}: ${head(full)} ${head(body)})`);
      break;
    }
    // Methods besides __init__, the loop and run() that wait on the thread or read what it left.
    const state = new Set([queue, a.attr, ...loopCalls.filter((c) => /^(set|wait|is_set)$/.test(c.op)).map((c) => c.attr)]);
    for (const fn of ctx.agent.methods.values()) {
      if ([init.name, loop.name, LEGACY_RUN, cycle.name].includes(fn.name)) continue;
      const uses = selfCalls(fn.body).filter((c) => state.has(c.attr) && !isLogCall(c.call));
      if (uses.length) blockers.push(`${fn.name}() (line ${fn.line}) uses the thread's state: ${uses.map((c) => `line ${lineOf(c.call)}: self.${c.attr}.${c.op}()`).join(', ')}`);
    }
    if (!blockers.length) continue;
    return (
      `hands its events to the sender thread ${loop.name}() (${ctx.file}:${loop.line}) through self.${queue} (line ${lineOf(put.call)}: ${head(put.call)}), ` +
      `which sends them through ${sends.map((s) => `${s}()`).join(', ')}; the migration moves a sender thread only when its loop takes one event at a time and sends it, and only run() starts and stops it: ` +
      `${blockers.join('; ')}. A person decides: return the events from collect_data() instead of putting them on self.${queue} (the base publishes them each cycle, retries, and keeps what fails in its bounded local_queue, drained first), ` +
      `drop the thread with its start and its events, and what the drop count and the shutdown report become (at shutdown, what never left is what the base's local_queue still holds)`
    );
  }
  return null;
}
