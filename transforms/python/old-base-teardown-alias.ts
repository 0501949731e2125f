// Concern: the module's own call of the old base's teardown (`scheduler.shutdown()` in the entry point's
// finally:) when the new base names its teardown otherwise (BaseAgent.cleanup()). Left as it was, the call
// raises AttributeError on the _v2. When the old teardown did nothing but stop the loop (a flag the new
// base's teardown sets the same way) and close what the old base itself opened, the new base's teardown
// does that work for what it opens: the call is pointed at it. Anything more (a file written, a peer told,
// an agent hook called, a member the agent opened) is not the same teardown and stays for a person.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { InheritedClass } from '../../src/analysis/inherited.js';
import { expressionOf, isDocstring, selfAttribute, statements } from '../../src/lang/python/syntax.js';
import { agentCallsOf, baseSourceText, pointCallers } from './old-base-teardown-move.js';

/** Closing a transport: what a teardown does to a socket, context, server or thread it opened. */
export const CLOSE_VERB = /^(close|term|destroy|shutdown|server_close|join|cancel)$/;

/**
 * Points the module's `reads` calls of the old base's `method` at the new base's teardown; true when it
 * did (the caller reports nothing), false when the old one is not a plain teardown or a read is not a call
 * that can be pointed (`Agent.shutdown`, a call with arguments).
 */
export function pointOldTeardownAtBase(ctx: PythonTransformContext, oldBase: string, method: string, reads: number): boolean {
  const hook = ctx.py.teardown ?? 'cleanup';
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  const fn = parent?.cls.methods.get(method);
  if (!parent || !fn || fn.isAsync || method === hook || ctx.agent.methods.has(hook) || !ctx.base.methods.has(hook)) return false;
  const hookText = baseMethodText(ctx, hook);
  // The base's teardown called with no arguments, as the module calls the old one.
  if (!hookText || !new RegExp(`^[ \\t]*def ${hook}\\(\\s*self\\s*\\)`).test(hookText)) return false;
  // With what it delegates to (the reference base's cleanup() is `self.stop()`): the flags it sets are there.
  const delegated = [...hookText.matchAll(/\bself\.(\w+)\(/g)].map((m) => m[1]!).filter((m) => m !== hook && ctx.base.methods.has(m));
  const baseHook = [hookText, ...[...new Set(delegated)].map((m) => baseMethodText(ctx, m))].join('\n');
  const me = fn.params[0]?.name ?? 'self';
  if (!statements(fn.body).every((st) => isDocstring(st) || flagTheBaseSets(st, me, baseHook) || closesOldBaseOwn(ctx, parent, st, me))) return false;
  // zmq's Context.term() waits for every socket of the context to close: a new teardown terminating the context
  // the agent opened its own sockets on, where the old one did not, would hang the stop.
  const terms = (text: string) => /\.term\(\)/.test(text);
  if (terms(baseHook) && !terms(fn.body.text) && /\bself\.context\.socket\(/.test(ctx.agent.cls.node.text)) return false;
  const calls = agentCallsOf(ctx, method);
  if (calls.length !== reads) return false;
  const rewired = pointCallers(ctx, method, hook, 'old-base-teardown-alias');
  ctx.warnings.push(
    `the old base ${name}'s ${method}() (${parent.file}:${fn.line}) only stopped the agent and closed what ${name} opened; ` +
      `${ctx.profile.base_class}.${hook}() does that for what it opens: the module's ${rewired.map((r) => `${r.name}.${method}() (line ${r.line})`).join(', ')} now call${rewired.length > 1 ? '' : 's'} ${hook}()`,
  );
  return true;
}

/** `self.running = False`, written the same way in the new base's teardown. */
function flagTheBaseSets(st: SyntaxNode, me: string, baseHook: string): boolean {
  const e = expressionOf(st);
  if (e?.type !== 'assignment') return false;
  const attr = selfAttribute(e.childForFieldName('left')!, me);
  if (!attr || !['true', 'false', 'none'].includes(e.childForFieldName('right')?.type ?? '')) return false;
  return baseHook.split('\n').some((l) => l.trim() === `self.${attr} = ${e.childForFieldName('right')!.text}`);
}

/** `self.events.close()`: a member the old base's __init__ opened (the agent never sets it), closed with no arguments. */
function closesOldBaseOwn(ctx: PythonTransformContext, parent: InheritedClass, st: SyntaxNode, me: string): boolean {
  const e = expressionOf(st);
  const f = e?.type === 'call' && !e.childForFieldName('arguments')?.namedChildCount ? e.childForFieldName('function') : null;
  if (f?.type !== 'attribute' || !CLOSE_VERB.test(f.childForFieldName('attribute')!.text)) return false;
  const member = selfAttribute(f.childForFieldName('object')!, me);
  if (!member || ctx.agent.assignments.some((a) => a.attr === member)) return false;
  const init = parent.cls.methods.get('__init__');
  const initSelf = init?.params[0]?.name ?? 'self';
  return !!init && statements(init.body).some((s) => {
    const a = expressionOf(s);
    return a?.type === 'assignment' && selfAttribute(a.childForFieldName('left')!, initSelf) === member;
  });
}

/** The new base's `def <name>(...)` and its body, read from its source file; '' when it cannot be read. */
function baseMethodText(ctx: PythonTransformContext, name: string): string {
  const text = baseSourceText(ctx).replace(/\r\n/g, '\n');
  const m = new RegExp(`^([ \\t]*)def ${name}\\(`, 'm').exec(text);
  if (!m) return '';
  const rest = text.slice(m.index).split('\n');
  const body = [rest[0]!];
  for (const l of rest.slice(1)) {
    if (l.trim() && /^[ \t]*/.exec(l)![0].length <= m[1]!.length) break;
    body.push(l);
  }
  return body.join('\n');
}
