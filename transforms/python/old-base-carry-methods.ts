// Concern: methods only the old base had (`self.publish_event(...)`, `self.send_heartbeat()` on AgentBase's
// event socket) that the agent goes on calling. With the old base gone every call raises AttributeError, so
// they are carried onto the agent, with what they need: the old base's other methods they call, the members
// its __init__ opened for them (`self.events = self.context.socket(zmq.PUB)` and its `connect(...)`, set after
// the agent's super().__init__(), the old __init__ parameters the agent never passed replaced by their
// defaults) and, when such a member is opened on the base's zmq context, its close in a cleanup() override
// before the base's (BaseAgent.cleanup()'s context.term() would otherwise wait on it and hang the stop), as
// the old teardown closed it. All or nothing: anything that cannot be carried exactly stays for review.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { InheritedClass } from '../../src/analysis/inherited.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { walkAgentCode } from '../../src/analysis/agent-model.js';
import { expressionOf, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart, renderBlock } from '../../src/lang/python/text.js';
import { findSuperCall } from './super-init.js';
import { baseSourceText, carriedNames, carryModuleNames, dedent } from './old-base-teardown-move.js';
import { CLOSE_VERB } from './old-base-teardown-alias.js';

const TEARDOWNS = ['shutdown', 'stop', 'close', 'cleanup'];
const carried = new WeakMap<PythonTransformContext, Set<string>>();

/** The old base's methods carried onto the agent (computed, and written, once per rewrite); empty when none could be. */
export function carryOldBaseMethods(ctx: PythonTransformContext, oldBase: string): Set<string> {
  let done = carried.get(ctx);
  if (!done) carried.set(ctx, (done = plan(ctx, oldBase)));
  return done;
}

function plan(ctx: PythonTransformContext, oldBase: string): Set<string> {
  const none = new Set<string>();
  const name = oldBase.split('.').pop()!;
  const parent = ctx.inherited().find((p) => p.cls.name === name);
  const hook = ctx.py.teardown ?? 'cleanup';
  const init = ctx.agent.methods.get('__init__');
  const oldInit = parent?.cls.methods.get('__init__');
  if (!parent || !init || !oldInit || !ctx.base.methods.has(hook) || ctx.agent.methods.has(hook) || parent.cls.methods.has(hook)) return none;
  const call = findSuperCall(ctx, init);
  if (!call || call.stmt.parent?.id !== init.body.id) return none;
  const undefinedHere = (m: string) => !ctx.agent.methods.has(m) && !ctx.base.methods.has(m) && !ctx.baseOwned.has(m);
  // What the agent calls on self that only the old base defines, and the agent methods calling them.
  const wanted = new Set<string>();
  const users: Array<{ method: PyFunction; node: SyntaxNode }> = [];
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      const attr = selfAttribute(n, m.params[0]?.name ?? 'self');
      if (attr && parent.cls.methods.has(attr) && undefinedHere(attr)) {
        wanted.add(attr);
        users.push({ method: m, node: n });
      }
    });
  }
  if (!wanted.size) return none;
  // Used before the old members are set again (in __init__ ahead of its super() call, or from a hook the base's
  // own __init__ calls): the legacy had them from the old base's first line.
  const baseInit = baseInitCalls(ctx);
  if (users.some((u) => baseInit.has(u.method.name) || (u.method === init && u.node.startIndex < call.stmt.endIndex))) return none;
  // The closure: the old methods they call, and the members of self they read that nobody else sets.
  const methods = new Map<string, PyFunction>();
  const members = new Set<string>();
  const agentAttrs = new Set(ctx.agent.assignments.map((a) => a.attr));
  const queue = [...wanted];
  while (queue.length) {
    const m = queue.shift()!;
    if (methods.has(m)) continue;
    const fn = parent.cls.methods.get(m)!;
    if (fn.isAsync || fn.params[0]?.name !== 'self' || fn.decorators.length || /\t/.test(fn.node.text)) return none;
    methods.set(m, fn);
    let ok = true;
    walk(fn.body, (n) => {
      const attr = selfAttribute(n, 'self');
      if (!attr) return;
      if (parent.cls.methods.has(attr) && undefinedHere(attr)) queue.push(attr);
      else if (parent.cls.methods.has(attr) || ctx.base.methods.has(attr)) ok = false; // the old and the new base's differ
      else if (!agentAttrs.has(attr) && !ctx.baseOwned.has(attr) && !ctx.agent.methods.has(attr)) members.add(attr);
    });
    if (!ok) return none;
  }
  const setup = memberSetup(ctx, parent, oldInit, call.call, members);
  if (!setup) return none;
  const work = [...methods.values()].map((f) => f.body);
  const names = carriedNames(ctx, parent.module.root, [...work, ...setup.nodes], { names: new Set([...setup.given, ...[...methods.values()].flatMap((f) => f.params.map((p) => p.name))]), members: new Set([...members, ...methods.keys()]) });
  if (!names) return none;
  const closes = teardownCloses(parent, members);
  // A member made from what the new base owns (its zmq context) that no old teardown closed: BaseAgent's context.term() would hang on it.
  if ([...members].some((a) => setup.madeFromBase.has(a) && !closes.some((c) => c.member === a))) return none;

  const eol = ctx.layout.eol;
  const indent = ctx.source.slice(lineStart(ctx.source, call.stmt.startIndex), call.stmt.startIndex);
  if (indent.trim()) return none;
  const me = init.params[0]?.name ?? 'self';
  const setupLines = setup.lines.map((l) => `${eol}${indent}${l.replace(/^self\./, `${me}.`)}`).join('');
  if (setupLines) ctx.edits.insert(call.stmt.endIndex, setupLines, 'old-base-carry-methods');
  const last = statements(ctx.agent.cls.body).at(-1)!;
  const classIndent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
  const src = parent.module.root.text.replace(/\r\n/g, '\n');
  const blocks = [...methods.values()].map((f) => {
    const text = src.slice(lineStart(src, f.outer.startIndex), f.outer.endIndex);
    return `# Carried from the old base ${name} (${parent.file}:${f.line}): ${ctx.profile.base_class} has no ${f.name}().\n` + dedent(text, f.outer.startPosition.column) + '\n';
  });
  if (closes.length) {
    blocks.push(
      `def ${hook}(self):\n` +
        `    """Closes what the old base ${name} opened for the carried methods, as its ${closes[0]!.method}() did, before ${ctx.profile.base_class}.${hook}() terminates the context."""\n` +
        closes.map((c) => `    ${c.text}\n`).join('') +
        `    super().${hook}()\n`,
    );
  }
  ctx.edits.insert(lineEnd(ctx.source, ctx.agent.cls.body.endIndex), blocks.map((b) => eol + renderBlock(b, classIndent, ctx.layout)).join(''), 'old-base-carry-methods');
  carryModuleNames(ctx, parent.module.root, names, `${parent.file}'s, for the methods carried from ${name}`, 'old-base-carry-methods');
  ctx.warnings.push(
    `${[...methods.keys()].map((m) => `${m}()`).join(', ')} of the old base ${name} (${parent.file}), which ${ctx.agent.cls.name} calls and ${ctx.profile.base_class} lacks, ` +
      `carried onto ${ctx.agent.cls.name}` +
      (members.size ? `, with ${[...members].map((m) => `self.${m}`).join(', ')} set after its super().__init__() (line ${call.stmt.startPosition.row + 1}) as ${name}.__init__ set ${members.size > 1 ? 'them' : 'it'}` : '') +
      (closes.length ? ` and closed in ${hook}() before ${ctx.profile.base_class}'s` : ''),
  );
  // The members too: they are set now, so the agent's own reads of them are answered.
  return new Set([...methods.keys(), ...members]);
}

/** Names of the methods the new base's __init__ calls on self (hooks the agent may override). */
function baseInitCalls(ctx: PythonTransformContext): Set<string> {
  const text = baseSourceText(ctx).replace(/\r\n/g, '\n');
  const m = /^([ \t]*)def __init__\(/m.exec(text);
  const out = new Set<string>();
  if (!m) return out;
  for (const l of text.slice(m.index).split('\n').slice(1)) {
    if (l.trim() && /^[ \t]*/.exec(l)![0].length <= m[1]!.length) break;
    for (const c of l.matchAll(/\bself\.(\w+)\(/g)) out.add(c[1]!);
  }
  return out;
}

/**
 * The old __init__'s statements that set up `members` (`self.events = ...`, `self.events.connect(...)`), as
 * lines for the agent's __init__, its parameters the agent's call leaves at their default written as that
 * default; null when a member is set up otherwise (in a branch, from a parameter the agent passes).
 */
function memberSetup(ctx: PythonTransformContext, parent: InheritedClass, oldInit: PyFunction, superCall: SyntaxNode, members: Set<string>) {
  const me = oldInit.params[0]?.name ?? 'self';
  const args = superCall.childForFieldName('arguments')?.namedChildren ?? [];
  if (args.some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat')) return null;
  const positional = args.filter((a) => a.type !== 'keyword_argument').length;
  const keywords = new Set(args.filter((a) => a.type === 'keyword_argument').map((a) => a.childForFieldName('name')!.text));
  const params = oldInit.params.slice(1);
  const defaults = new Map<string, string>();
  params.forEach((p, i) => {
    if (p.kind === 'default' && p.default && i >= positional && !keywords.has(p.name)) defaults.set(p.name, p.default.text);
  });
  const paramNames = new Set(params.map((p) => p.name));
  const baseText = baseSourceText(ctx);
  const lines: string[] = [];
  const nodes: SyntaxNode[] = [];
  const madeFromBase = new Set<string>();
  const found = new Set<string>();
  for (const st of statements(oldInit.body)) {
    const touched = new Set<string>();
    walk(st, (n) => void (selfAttribute(n, me) && members.has(selfAttribute(n, me)!) && touched.add(selfAttribute(n, me)!)));
    if (!touched.size) continue;
    const e = expressionOf(st);
    const target = e?.type === 'assignment' ? selfAttribute(e.childForFieldName('left')!, me)
      : e?.type === 'call' && e.childForFieldName('function')?.type === 'attribute' ? selfAttribute(e.childForFieldName('function')!.childForFieldName('object')!, me) : null;
    if (!target || !members.has(target) || touched.size !== 1 || st.text.includes('\n')) return null;
    if (e!.type === 'call' && !found.has(target)) return null;
    // Other members of self it reads: base-owned ones the new base sets up the same way (`self.context = zmq.Context()`).
    let ok = true;
    let text = st.text;
    const subs: Array<[number, number, string]> = [];
    walk(st, (n) => {
      const attr = selfAttribute(n, me);
      if (attr && attr !== target) {
        const same = statements(oldInit.body).map(expressionOf).find((x) => x?.type === 'assignment' && selfAttribute(x.childForFieldName('left')!, me) === attr);
        if (!ctx.baseOwned.has(attr) || !same || !baseText.includes(`self.${attr} = ${same.childForFieldName('right')!.text}`)) ok = false;
        // Made by a call on something the new base owns (`self.context.socket(...)`): the base's teardown ends
        // that (context.term() waits for the socket), so the member must be closed before it.
        const right = e!.type === 'assignment' ? e!.childForFieldName('right') : null;
        const maker = right?.type === 'call' ? right.childForFieldName('function') : null;
        if (maker?.type === 'attribute' && maker.childForFieldName('object')?.id === n.id) madeFromBase.add(target);
        return false;
      }
      if (n.type === 'identifier' && paramNames.has(n.text) && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id) && n.parent?.type !== 'keyword_argument') {
        const d = defaults.get(n.text);
        if (d === undefined) ok = false;
        else subs.push([n.startIndex - st.startIndex, n.endIndex - st.startIndex, d]);
      }
    });
    if (!ok) return null;
    for (const [s, en, d] of subs.sort((a, b) => b[0] - a[0])) text = text.slice(0, s) + d + text.slice(en);
    if (me !== 'self') text = text.replace(new RegExp(`\\b${me}\\.`, 'g'), 'self.');
    if (e!.type === 'assignment') found.add(target);
    lines.push(text);
    nodes.push(st);
  }
  if ([...members].some((m) => !found.has(m))) return null;
  return { lines, nodes, given: new Set(defaults.keys()), madeFromBase };
}

/** `self.events.close()` in the old base's teardowns, for carried members: what the agent's cleanup() must close. */
function teardownCloses(parent: InheritedClass, members: Set<string>): Array<{ member: string; method: string; text: string }> {
  const out: Array<{ member: string; method: string; text: string }> = [];
  for (const method of TEARDOWNS) {
    const fn = parent.cls.methods.get(method);
    const me = fn?.params[0]?.name ?? 'self';
    for (const st of fn ? statements(fn.body) : []) {
      const e = expressionOf(st);
      const f = e?.type === 'call' && !e.childForFieldName('arguments')?.namedChildCount ? e.childForFieldName('function') : null;
      if (f?.type !== 'attribute' || !CLOSE_VERB.test(f.childForFieldName('attribute')!.text)) continue;
      const member = selfAttribute(f.childForFieldName('object')!, me);
      if (member && members.has(member) && !out.some((c) => c.member === member)) out.push({ member, method, text: `self.${member}.${f.childForFieldName('attribute')!.text}()` });
    }
  }
  return out;
}
