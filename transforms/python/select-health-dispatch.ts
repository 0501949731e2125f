// The share of a `select` loop's dispatch that answers the health socket, once that socket leaves the
// select list (the base serves /health): after
//   readable, _, _ = select.select([self.a, self.health_sock], [], [], 1.0)
//   for sock in readable:
// either `if sock is self.a: <business> else: <health>` (the else clause goes), or the mirrored
// `if sock is self.health_sock: <health> else: <business>`: with the health socket out of the list its
// test can never hold again, so the test and its branch go and the else body takes the `if`'s place,
// one level out (same statements, same order, same bytes but for the indentation).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { callee, selfAttribute, statements, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';

export interface SelectHealthDispatch {
  /** `else` form: the else clause, removed whole. */
  clause?: SyntaxNode;
  /** Mirrored form: the `if` whose test names the health socket; its test and branch go, its else body moves out. */
  /** (body: the else body; in an if/elif chain, the first elif clause, which becomes the `if`.) */
  mirrored?: { stmt: SyntaxNode; condition: SyntaxNode; consequence: SyntaxNode; body: SyntaxNode };
  /**
   * Flag form: the loop hands `sock is self.health_sock` to a request handler of the agent that branches on it
   * (`if is_health: self._answer_health(conn); return`): the argument, the parameter and the branch are cut.
   */
  flag?: Array<{ node: SyntaxNode; replacement?: string }>;
  /** Agent methods only the health branch calls (or hands on as a bound method): they go with it. */
  methods: string[];
}

/**
 * After `<left> = select.select([...], ...)` in `m`: `for sock in <ready>:` holding one `if sock is ...:
 * ... else: ...` over the one other socket (`others`) and the health socket (`attr`), whose health branch
 * is only calls of agent methods. Null when there is none, or more than one.
 */
export function selectHealthDispatch(ctx: PythonTransformContext, m: PyFunction, left: SyntaxNode, others: string[], attr: string): SelectHealthDispatch | null {
  if (!others.length) return null;
  const ready = left.type === 'identifier' ? left.text : left.namedChildren[0]?.type === 'identifier' ? left.namedChildren[0].text : null;
  if (!ready) return null;
  let found: SelectHealthDispatch | null = null;
  let ambiguous = false;
  walk(m.body, (n) => {
    if (n.type !== 'for_statement' || n.childForFieldName('right')?.text !== ready) return;
    const v = n.childForFieldName('left');
    if (v?.type !== 'identifier') return;
    walk(n.childForFieldName('body')!, (x) => {
      if (x.type !== 'if_statement') return;
      // Three sockets or more: `if sock is self.a: ... elif sock is self.admin: ... elif sock is self.health: ...`.
      if (others.length > 1 || x.childrenForFieldName('alternative').some((c) => c.type === 'elif_clause')) {
        const chain = elifChainHealthClause(ctx, x, v.text, others, attr);
        if (chain === undefined) return;
        if (found || !chain) ambiguous = true;
        else found = chain;
        return false;
      }
      const cond = x.childForFieldName('condition');
      const alts = x.childrenForFieldName('alternative');
      const parts = cond?.type === 'comparison_operator' ? cond.namedChildren : [];
      const op = cond?.children.find((c) => !c.isNamed)?.text;
      if (!cond || parts.length !== 2 || (op !== 'is' && op !== '==') || alts.length !== 1 || alts[0]!.type !== 'else_clause') return;
      const [a, b] = parts as [SyntaxNode, SyntaxNode];
      const names = (s: string) => (a.text === v.text && selfAttribute(b) === s) || (b.text === v.text && selfAttribute(a) === s);
      const elseBody = alts[0]!.childForFieldName('body')!;
      if (names(others[0]!)) {
        const methods = healthCalls(elseBody);
        if (!methods || !m.node.parent) return;
        if (found) ambiguous = true;
        found = { clause: alts[0]!, methods };
        return false;
      }
      if (names(attr)) {
        const consequence = x.childForFieldName('consequence')!;
        const calls = healthCalls(consequence);
        if (!calls || !movable(ctx.source, x, elseBody)) return;
        // Only what nothing else in the class reaches goes with the branch (`self._answer(sock, self._reply)`:
        // `_answer` also serves the business socket and stays; `_reply` goes).
        const methods = [...new Set([...calls, ...boundMethods(ctx, consequence)])].filter((name) => ctx.agent.methods.has(name) && !usedOutside(ctx, name, x, consequence));
        if (found) ambiguous = true;
        found = { mirrored: { stmt: x, condition: cond, consequence, body: elseBody }, methods };
        return false;
      }
    });
  });
  if (!found && !ambiguous) {
    walk(m.body, (n) => {
      if (n.type !== 'for_statement' || n.childForFieldName('right')?.text !== ready) return;
      const v = n.childForFieldName('left');
      if (v?.type !== 'identifier') return;
      const f = flagDispatch(ctx, n.childForFieldName('body')!, v.text, attr);
      if (f && found) ambiguous = true;
      else if (f) found = f;
      return false;
    });
  }
  if (ambiguous || !found) return null;
  const f = found as SelectHealthDispatch;
  return f.clause && !f.methods.length ? null : f;
}

/**
 * An if/elif chain dispatching on the ready socket, each test `<v> is self.<socket>` (or `==`), one clause per
 * socket of the select list: the health socket's clause goes whole when it is an `elif` (or the `else` once
 * every other socket is tested by name) whose body only calls agent methods; the other clauses keep their
 * bytes; tested first, its test and branch go and the first `elif` becomes the `if`. Undefined when the
 * statement is no such chain (the caller looks further), null when its health branch does more than call
 * agent methods.
 */
function elifChainHealthClause(ctx: PythonTransformContext, x: SyntaxNode, v: string, others: string[], attr: string): SelectHealthDispatch | null | undefined {
  const tested = (cond: SyntaxNode | null): string | null => {
    const parts = cond?.type === 'comparison_operator' ? cond.namedChildren : [];
    const op = cond?.children.find((c) => !c.isNamed)?.text;
    if (parts.length !== 2 || (op !== 'is' && op !== '==')) return null;
    const [a, b] = parts as [SyntaxNode, SyntaxNode];
    return a.text === v ? selfAttribute(b) : b.text === v ? selfAttribute(a) : null;
  };
  const alts = x.childrenForFieldName('alternative');
  const clauses: Array<{ node: SyntaxNode; socket: string | null; body: SyntaxNode }> = [
    { node: x, socket: tested(x.childForFieldName('condition')), body: x.childForFieldName('consequence')! },
    ...alts.map((c) => ({ node: c, socket: c.type === 'elif_clause' ? tested(c.childForFieldName('condition')) : null, body: c.childForFieldName(c.type === 'elif_clause' ? 'consequence' : 'body')! })),
  ];
  const named = clauses.filter((c) => c.socket !== null).map((c) => c.socket!);
  // A chain over the select's sockets: every `if`/`elif` tests one of them, each at most once.
  if (clauses.some((c) => c.node.type !== 'else_clause' && c.socket === null) || new Set(named).size !== named.length || named.some((s) => s !== attr && !others.includes(s))) return undefined;
  if (!named.includes(attr) && !(named.length === others.length && alts.some((c) => c.type === 'else_clause'))) return undefined;
  const health = clauses.find((c) => c.socket === attr) ?? clauses.find((c) => c.node.type === 'else_clause')!;
  const calls = healthCalls(health.body);
  if (!calls?.length) return null;
  if (health.node !== x) return { clause: health.node, methods: calls };
  // Tested first: its test and branch go and the first `elif` becomes the `if` (promoteSelectHealthElif).
  const methods = [...new Set(calls)].filter((name) => ctx.agent.methods.has(name) && !usedOutside(ctx, name, x, health.body));
  return { mirrored: { stmt: x, condition: x.childForFieldName('condition')!, consequence: health.body, body: alts[0]! }, methods };
}

/**
 * `self.handle_connection(conn, sock is self.health_sock)` in the loop over the ready sockets, the handler's
 * only caller, where the handler reads that parameter once, as the whole test of an `if` whose branch only
 * calls agent methods (a bare `return` may end it): `if is_health: self._answer_health(conn); return`, or
 * `if is_health: <health> else: <business>`. Once the health socket leaves the select the flag is always
 * false: the argument and the parameter go (the bytes around them kept), and so does the branch (a branch
 * with an else: its test and branch go, the else body moves out). Null for any other use of the flag.
 */
function flagDispatch(ctx: PythonTransformContext, loopBody: SyntaxNode, v: string, attr: string): SelectHealthDispatch | null {
  const isFlag = (x: SyntaxNode): boolean => {
    // `is_health=(sock is self.health_sock)`: the keyword's value, parentheses aside.
    const a = x.type === 'keyword_argument' ? x.childForFieldName('value')! : x.type === 'parenthesized_expression' && x.namedChildCount === 1 ? x.namedChild(0)! : x;
    if (a !== x) return isFlag(a);
    const parts = a.type === 'comparison_operator' ? a.namedChildren : [];
    const op = a.children.find((c) => !c.isNamed)?.text;
    return parts.length === 2 && (op === 'is' || op === '==') &&
      ((parts[0]!.text === v && selfAttribute(parts[1]!) === attr) || (parts[1]!.text === v && selfAttribute(parts[0]!) === attr));
  };
  const calls: Array<{ call: SyntaxNode; handler: string; index: number }> = [];
  let flags = 0;
  walk(loopBody, (n) => {
    if (n.type === 'comparison_operator' && isFlag(n)) flags++;
    const handler = n.type === 'call' ? /^self\.(\w+)$/.exec(callee(n) ?? '')?.[1] : undefined;
    const args = handler ? n.childForFieldName('arguments')!.namedChildren : [];
    const index = args.findIndex(isFlag);
    if (handler && index >= 0) calls.push({ call: n, handler, index });
  });
  if (calls.length !== 1 || flags !== 1) return null;
  const { call, handler, index } = calls[0]!;
  const fn = ctx.agent.methods.get(handler);
  const args = call.childForFieldName('arguments')!;
  if (!fn || args.namedChildren.some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat')) return null;
  // The handler has no other caller: not in the class (a call, a bound method, a getattr string), not elsewhere.
  const refs = ctx.refs.of(handler).filter((r) => r.node.startIndex !== call.childForFieldName('function')!.childForFieldName('attribute')!.startIndex && r.node.startIndex !== fn.node.childForFieldName('name')!.startIndex);
  if (refs.length || ctx.external(handler).length) return null;
  const params = fn.params.slice(1);
  const flagArg = args.namedChildren[index]!;
  const keyword = flagArg.type === 'keyword_argument' ? flagArg.childForFieldName('name')!.text : null;
  const at = keyword ? params.findIndex((p) => p.name === keyword) : index;
  const param = params[at];
  const positional = (p: (typeof params)[number]) => p.kind === 'plain' || p.kind === 'default';
  if (fn.params[0]?.name !== 'self' || !param || !params.slice(0, at + 1).every(positional)) return null;
  // The flag is read once, as the test of an if.
  const reads: SyntaxNode[] = [];
  walk(fn.body, (n) => {
    if (n.type === 'identifier' && n.text === param.name) reads.push(n);
  });
  const stmt = reads.length === 1 && reads[0]!.parent?.type === 'if_statement' && reads[0]!.parent.childForFieldName('condition')?.startIndex === reads[0]!.startIndex ? reads[0]!.parent : null;
  if (!stmt) return null;
  const condition = stmt.childForFieldName('condition')!;
  const consequence = stmt.childForFieldName('consequence')!;
  const alts = stmt.childrenForFieldName('alternative');
  const body = statements(consequence);
  const last = body[body.length - 1];
  const health = last?.type === 'return_statement' && !last.namedChildCount ? body.slice(0, -1) : body;
  const methodsCalled: string[] = [];
  for (const st of health) {
    const c = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const name = c?.type === 'call' ? /^self\.(\w+)$/.exec(callee(c) ?? '')?.[1] : undefined;
    if (!name || !ctx.agent.methods.has(name)) return null;
    methodsCalled.push(name);
  }
  if (!methodsCalled.length || (alts.length && (alts.length !== 1 || alts[0]!.type !== 'else_clause'))) return null;
  const elseBody = alts[0]?.childForFieldName('body');
  if (elseBody && !movable(ctx.source, stmt, elseBody)) return null;
  const methods = [...new Set(methodsCalled)].filter((name) => !usedOutside(ctx, name, stmt, consequence));
  const cuts: Array<{ node: SyntaxNode; replacement?: string }> = [
    { node: args, replacement: withoutItem(ctx.source, args, flagArg) },
    { node: fn.node.childForFieldName('parameters')!, replacement: withoutItem(ctx.source, fn.node.childForFieldName('parameters')!, param.node) },
  ];
  if (elseBody) return { mirrored: { stmt, condition, consequence, body: elseBody }, flag: cuts, methods };
  return { flag: [...cuts, { node: stmt }], methods };
}

/** A parenthesized list's text without one of its items: the item and the comma before it (after it, when first) go. */
function withoutItem(src: string, list: SyntaxNode, item: SyntaxNode): string {
  const items = list.namedChildren.filter((c) => c.type !== 'comment');
  const at = items.findIndex((c) => c.startIndex === item.startIndex);
  const [from, to] = at > 0 ? [items[at - 1]!.endIndex, item.endIndex] : items[at + 1] ? [item.startIndex, items[at + 1]!.startIndex] : [item.startIndex, item.endIndex];
  return src.slice(list.startIndex, from) + src.slice(to, list.endIndex);
}

/**
 * A selector key's data that is a tag rather than a callback: after
 *   self.sel.register(self.status_sock, selectors.EVENT_READ, "status")
 * the loop dispatches `elif key.data == "status": self.serve_status(key.fileobj)`. Once the health socket
 * leaves the selector that branch can never run again: it goes (an `elif` clause, or an `if` with no other
 * branch), and the methods it alone calls go with it as the health endpoint's answer, so what they reported
 * moves to the base's health hook. Null when the tag is tested anywhere else, in another form, or the
 * branch does more than call agent methods (the endpoint's set-up then stays for the plan to judge).
 */
export function selectorTagDispatch(ctx: PythonTransformContext, tag: string, attr: string): { cuts: Array<{ node: SyntaxNode; replacement?: string }>; methods: string[] } | null {
  const hits: SyntaxNode[] = [];
  let other = false;
  walk(ctx.agent.cls.body, (n) => {
    if (n.type === 'string' && stringValue(n) === tag && !(n.parent?.type === 'argument_list' && isRegisterOf(n.parent.parent, attr))) {
      const cmp = n.parent;
      const owner = cmp?.parent;
      const parts = cmp?.type === 'comparison_operator' ? cmp.namedChildren : [];
      const op = cmp?.children.find((c) => !c.isNamed)?.text;
      const data = parts.find((p) => p.startIndex !== n.startIndex);
      if (parts.length === 2 && (op === '==' || op === 'is') && data?.type === 'attribute' && data.childForFieldName('attribute')?.text === 'data' &&
          (owner?.type === 'elif_clause' || owner?.type === 'if_statement') &&
          owner.childForFieldName('condition')?.startIndex === cmp!.startIndex) hits.push(owner);
      // Tested in another form (`key.data in ("status", "admin")`, a dict of tag -> handler...): not ours to cut.
      // The same text as a dict key or a log word elsewhere is no test of the tag.
      else if (cmp?.type === 'comparison_operator' || (cmp && /^(tuple|list|set)$/.test(cmp.type) && owner?.type === 'comparison_operator') ||
        (cmp?.type === 'pair' && cmp.childForFieldName('key')?.startIndex === n.startIndex && /^self\.\w+$/.test(cmp.childForFieldName('value')?.text ?? ''))) other = true;
    }
  });
  if (other || hits.length !== 1) return null;
  const node = hits[0]!;
  const consequence = node.childForFieldName('consequence')!;
  const calls = healthCalls(consequence);
  if (!calls || !calls.length) return null;
  const methods = [...new Set(calls)].filter((name) => ctx.agent.methods.has(name) && !usedOutside(ctx, name, node, consequence));
  const alts = node.type === 'if_statement' ? node.childrenForFieldName('alternative') : [];
  // An elif clause, or an if with no other branch: it goes whole.
  if (!alts.length) return { cuts: [{ node }], methods };
  const next = alts[0]!;
  const condition = node.childForFieldName('condition')!;
  // `if key.data == "status": <health> else: <business>`: the test and the branch go, the else body moves
  // out one level (unwrap-select-health-dispatch).
  if (next.type === 'else_clause') {
    return movable(ctx.source, node, next.childForFieldName('body')!) ? { cuts: [{ node: condition, replacement: '' }, { node: consequence, replacement: '' }], methods } : null;
  }
  // `if key.data == "status": <health> elif <test>: <body> ...`: the first elif takes the if's place (its
  // test and body, same column, same bytes), the elif clause goes.
  const nextCondition = next.childForFieldName('condition');
  const nextBody = next.childForFieldName('consequence');
  if (next.type !== 'elif_clause' || !nextCondition || !nextBody || nextBody.startPosition.column !== consequence.startPosition.column ||
    lineStart(ctx.source, nextBody.startIndex) + nextBody.startPosition.column !== nextBody.startIndex) return null;
  return {
    cuts: [
      { node: condition, replacement: nextCondition.text },
      { node: consequence, replacement: nextBody.text },
      { node: next },
    ],
    methods,
  };
}

/** `<x>.register(self.<attr>, ...)`. */
function isRegisterOf(call: SyntaxNode | null, attr: string): boolean {
  if (call?.type !== 'call' || !/\.register$/.test(callee(call) ?? '')) return false;
  const first = call.childForFieldName('arguments')?.namedChild(0);
  return !!first && selfAttribute(first) === attr;
}

/** The agent methods a branch of only `self.<method>(...)` statements calls, or null for anything else. */
function healthCalls(body: SyntaxNode): string[] | null {
  const methods: string[] = [];
  for (const st of statements(body)) {
    const c = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const name = c?.type === 'call' ? /^self\.(\w+)$/.exec(callee(c) ?? '')?.[1] : undefined;
    if (!name) return null;
    methods.push(name);
  }
  return methods;
}

/** `self.<method>` handed on as a value (not called) inside `node`. */
function boundMethods(ctx: PythonTransformContext, node: SyntaxNode): string[] {
  const out: string[] = [];
  walk(node, (n) => {
    const name = selfAttribute(n);
    if (name && ctx.agent.methods.has(name) && n.parent?.type !== 'call') out.push(name);
  });
  return out;
}

/** Is `self.<name>` (or a bare `<name>` bound to it) read in the class outside the if's test and branch? */
function usedOutside(ctx: PythonTransformContext, name: string, stmt: SyntaxNode, consequence: SyntaxNode): boolean {
  let used = false;
  const branch = (n: SyntaxNode) => stmt.startIndex <= n.startIndex && n.endIndex <= consequence.endIndex;
  walk(ctx.agent.cls.body, (n) => {
    if (used) return false;
    if (branch(n)) return false;
    if ((n.type === 'attribute' && selfAttribute(n) === name) || (n.type === 'string' && n.text.slice(1, -1) === name)) used = true;
  });
  return used;
}

/** The else body can move one level out: it starts on its own line and holds no string spanning lines. */
function movable(src: string, stmt: SyntaxNode, body: SyntaxNode): boolean {
  if (lineStart(src, body.startIndex) + body.startPosition.column !== body.startIndex) return false;
  if (body.startPosition.column <= stmt.startPosition.column) return false;
  let multiline = false;
  walk(body, (n) => {
    if (n.type === 'string' && n.startPosition.row !== n.endPosition.row) multiline = true;
  });
  return !multiline;
}

/**
 * Mirrored form: the test and the health branch were resolved away (the plan deleted their text); what
 * is left of the `if` line, the branch's lines and the `else:` line go, and the else body moves out one level.
 */
export const unwrapSelectHealthDispatch: PythonTransform = {
  name: 'unwrap-select-health-dispatch',
  phase: 'edit',
  run(ctx) {
    const resolved = ctx.resolved!;
    const src = ctx.source;
    const label = 'unwrap-select-health-dispatch';
    for (const d of resolvedMirrors(ctx)) {
      const { stmt, condition, consequence, body } = d;
      if (resolved.nodes.some((n) => n.startIndex <= stmt.startIndex && stmt.endIndex <= n.endIndex)) continue;
      // `if <health>: ... elif sock is self.admin: ...`: from the `if`'s test to the first elif's test goes,
      // so `if ` is followed by that elif's test and everything after it keeps its bytes.
      if (body.type === 'elif_clause') {
        ctx.edits.delete(condition.endIndex, consequence.startIndex, label);
        ctx.edits.delete(consequence.endIndex, body.childForFieldName('condition')!.startIndex, label);
        continue;
      }
      ctx.edits.delete(lineStart(src, stmt.startIndex), condition.startIndex, label);
      ctx.edits.delete(condition.endIndex, consequence.startIndex, label);
      ctx.edits.delete(consequence.endIndex, lineStart(src, body.startIndex), label);
      moveBlockOut(ctx, stmt, body, label);
    }
  },
};

/**
 * The lines of `body` (a block of `outer`) move out one level: the indentation they have beyond `outer`'s
 * goes, except on blank lines and on lines a removal deletes anyway.
 */
export function moveBlockOut(ctx: PythonTransformContext, outer: SyntaxNode, body: SyntaxNode, label: string): void {
  const src = ctx.source;
  const resolved = ctx.resolved!;
  const delta = body.startPosition.column - outer.startPosition.column;
  const removed = (row: number) => resolved.nodes.some((n) => n.startPosition.row <= row && row <= n.endPosition.row);
  for (let row = body.startPosition.row, at = lineStart(src, body.startIndex); row <= body.endPosition.row; row++) {
    const end = lineEnd(src, at);
    const indent = src.slice(at, at + delta);
    if (!removed(row) && src.slice(at, end).trim() !== '' && /^[ \t]*$/.test(indent)) ctx.edits.delete(at, at + delta, label);
    at = Math.min(src.length, end + (src[end] === '\r' ? 2 : 1));
  }
}

/** The mirrored dispatches whose test and branch the resolved plan replaces with nothing. */
const IF_STATEMENTS: ReadonlySet<string> = new Set(['if_statement']);

function resolvedMirrors(ctx: PythonTransformContext): Array<NonNullable<SelectHealthDispatch['mirrored']>> {
  const out: Array<NonNullable<SelectHealthDispatch['mirrored']>> = [];
  const gone = (n: SyntaxNode) => ctx.resolved!.statements.some((s) => s.replacement === '' && s.node.startIndex === n.startIndex && s.node.endIndex === n.endIndex);
  for (const m of ctx.agent.methods.values()) {
    walkTypes(m.body, IF_STATEMENTS, (n) => {
      const condition = n.childForFieldName('condition');
      const consequence = n.childForFieldName('consequence');
      const alts = n.childrenForFieldName('alternative');
      if (!condition || !consequence || !alts.length || !gone(condition) || !gone(consequence)) return;
      if (alts[0]!.type === 'elif_clause') out.push({ stmt: n, condition, consequence, body: alts[0]! });
      else if (alts.length === 1) out.push({ stmt: n, condition, consequence, body: alts[0]!.childForFieldName('body')! });
    });
  }
  return out;
}
