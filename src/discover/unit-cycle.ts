// A base migration unit whose base's loop calls an abstract cycle (seed 001's SourceAgent: `def
// collect(self): raise NotImplementedError`, each agent's collect() ending in
// `self._publish_telemetry(telemetry)`): the base's rewrite takes over the loop and the publish, and
// each agent's _v2 must then hand its cycle to the target instead. This is that edit of an agent's
// file, made on its concrete syntax (every other byte kept): collect() becomes collect_data()
// returning what it published, its constructor hands **kwargs on to the base (the interval reaches the
// target's constructor), and its entry point `Agent().run(interval=E)` constructs it with
// collection_interval=E and calls run_forever(). Any shape it cannot prove is a reason at file:line:
// the unit stays refused naming it.
import { parsePython, type SyntaxNode } from '../lang/python/parser.js';
import { isMainGuard, statements, walk } from '../lang/python/syntax.js';
import type { RewriteOutcome } from '../core/types.js';
import type { UnitRewrite } from '../lang/python/transform-context.js';
import { excerpt } from '../core/excerpt.js';

/** The abstract cycle of a unit's base that its agents implement, and what replaces its loop. */
export interface UnitCycle {
  /** The abstract method (`collect`) and the base's method its agents publish through (`_publish_telemetry`). */
  method: string;
  publish: string;
  /** The base's loop method (`run`), its interval parameter and default, the target's keyword and loop method. */
  loop: string;
  param: string;
  value: string;
  keyword: string;
  runForever: string;
  /** The target's hook the cycle becomes. */
  hook: string;
}

type Edit = { start: number; end: number; text: string };

/** The agent's file with its cycle, constructor and entry point handed to the target, or why not (line, reason). */
export function subclassCycleText(text: string, rel: string, cls: string, c: UnitCycle): { text: string; publishLine: number } | { line: number; reason: string } {
  const tree = parsePython(text);
  const root = tree.rootNode;
  const fail = (n: SyntaxNode | number, why: string) => ({ line: typeof n === 'number' ? n : n.startPosition.row + 1, reason: `${cls} (${rel}:${typeof n === 'number' ? n : n.startPosition.row + 1}) ${why}` });
  const klass = statements(root).find((s) => s.type === 'class_definition' && s.childForFieldName('name')?.text === cls);
  if (!klass) return fail(1, `is not a class at the top of its file`);
  const body = klass.childForFieldName('body')!;
  const defs = statements(body);
  const defNamed = (name: string) => defs.find((d) => (d.type === 'function_definition' ? d : d.type === 'decorated_definition' ? d.childForFieldName('definition') : null)?.childForFieldName('name')?.text === name);
  const edits: Edit[] = [];

  // The cycle: collect() -> collect_data(), its last statement (the one publish) returning what it published.
  const cycle = defNamed(c.method);
  if (!cycle) return fail(klass, `does not implement ${c.method}()`);
  if (cycle.type !== 'function_definition') return fail(cycle, `decorates its ${c.method}(), which the unit does not rename to ${c.hook}()`);
  if (defNamed(c.hook)) return fail(defNamed(c.hook)!, `already defines ${c.hook}()`);
  const params = cycle.childForFieldName('parameters')!.namedChildren;
  if (params.length !== 1) return fail(cycle, `takes arguments in ${c.method}() (${cycle.childForFieldName('parameters')!.text}), which the target's ${c.hook}() is not given`);
  const block = cycle.childForFieldName('body')!;
  const publishes: SyntaxNode[] = [];
  let returns = null as SyntaxNode | null;
  walk(block, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if ((n.type === 'return_statement' && n.namedChildCount > 0) || n.type === 'yield') returns ??= n;
    if (n.type === 'call' && n.childForFieldName('function')?.text === `self.${c.publish}`) publishes.push(n);
  });
  if (returns) return fail(returns, `returns a value from ${c.method}() (${excerpt(returns.text, 50)}), which ${c.hook}() would hand to the target to publish`);
  const last = statements(block).at(-1)!;
  const publish = publishes[0];
  if (publishes.length !== 1 || !publish || publish.parent?.id !== last.id || last.type !== 'expression_statement') {
    const lines = publishes.map((p) => p.startPosition.row + 1);
    return fail(publishes[1] ?? publish ?? cycle, `publishes ${publishes.length === 1 ? 'elsewhere than as the last statement of' : `${publishes.length} times in`} ${c.method}() (self.${c.publish}()${lines.length ? ` at line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}` : ''}): the unit maps only one publish ending the cycle onto ${c.hook}()'s return`);
  }
  const args = publish.childForFieldName('arguments')!.namedChildren;
  if (args.length !== 1 || args[0]!.type === 'keyword_argument' || /^\*/.test(args[0]!.text)) return fail(publish, `hands self.${c.publish}() ${publish.childForFieldName('arguments')!.text.slice(0, 50)}, not one event`);
  const name = cycle.childForFieldName('name')!;
  edits.push({ start: name.startIndex, end: name.endIndex, text: c.hook });
  edits.push({ start: last.startIndex, end: last.endIndex, text: `return [${args[0]!.text}]` });
  // A caller of collect() in the file (a one-shot `agent.collect()`) wanted its publish: not proven here.
  let caller = null as SyntaxNode | null;
  walk(root, (n) => {
    if (caller) return false;
    if (n.type === 'attribute' && n.childForFieldName('attribute')?.text === c.method) caller = n;
  });
  if (caller) return fail(caller, `calls ${c.method}() (${(caller as SyntaxNode).text.slice(0, 40)}), which as ${c.hook}() would collect without publishing`);

  // The constructor hands the target's keywords (the interval) on to the base.
  const kw = keywordEdits(klass, rel, cls, c);
  if ('reason' in kw) return kw;
  edits.push(...kw);

  // The entry point: `Agent(...).run(interval=E)` (or `agent = Agent(...)` then `agent.run(E)`) constructs it with the interval.
  const starts: Array<{ call: SyntaxNode; construction: SyntaxNode; scope: SyntaxNode }> = [];
  const scopes = statements(root).flatMap((s) => {
    if (isMainGuard(s)) return [s.childForFieldName('consequence')!];
    if (s.type === 'function_definition' && s.childForFieldName('name')?.text === 'main') return [s.childForFieldName('body')!];
    return [];
  });
  for (const scope of scopes) {
    walk(scope, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      const fn = n.type === 'call' ? n.childForFieldName('function') : null;
      if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== c.loop) return;
      const recv = fn.childForFieldName('object')!;
      const construction = recv.type === 'call' && recv.childForFieldName('function')?.text === cls ? recv : recv.type === 'identifier' ? constructionOf(scope, recv.text, cls) : null;
      if (construction) starts.push({ call: n, construction, scope });
    });
  }
  if (starts.length !== 1) return fail(starts[1]?.call ?? klass, starts.length ? `is started twice by its entry point` : `has no entry point starting ${c.loop}() on it (\`${cls}().${c.loop}(...)\` under \`if __name__ == "__main__":\` or in main()), which the unit would construct with ${c.keyword}`);
  const { call, construction, scope } = starts[0]!;
  const loopArgs = call.childForFieldName('arguments')!.namedChildren;
  const given = loopArgs.length === 1 ? (loopArgs[0]!.type === 'keyword_argument' ? (loopArgs[0]!.childForFieldName('name')!.text === c.param ? loopArgs[0]!.childForFieldName('value')! : null) : /^\*/.test(loopArgs[0]!.text) ? null : loopArgs[0]!) : null;
  if (loopArgs.length > 1 || (loopArgs.length === 1 && !given)) return fail(call, `starts ${c.loop}() with ${call.childForFieldName('arguments')!.text.slice(0, 50)}, not only its ${c.param}`);
  const cargs = construction.childForFieldName('arguments')!;
  if (cargs.namedChildren.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === c.keyword)) return fail(construction, `is already constructed with ${c.keyword}`);
  if (cargs.namedChildren.some((a) => a.type === 'dictionary_splat')) return fail(construction, `is constructed with ${cargs.text.slice(0, 40)}, which may hold ${c.keyword} already`);
  // The interval moves to the construction: a name it reads set between the two would not be set yet.
  if (given && construction.endIndex < call.startIndex && !sameStatement(construction, call)) {
    const names = new Set<string>();
    walk(given, (n) => void (n.type === 'identifier' && names.add(n.text)));
    let late = null as SyntaxNode | null;
    walk(scope, (n) => {
      if (late) return false;
      if (n.type === 'assignment' && n.startIndex > construction.startIndex && n.startIndex < call.startIndex && names.has(n.childForFieldName('left')?.text ?? '')) late = n;
    });
    if (late) return fail(late, `sets ${(late as SyntaxNode).childForFieldName('left')!.text}, the interval its entry point gives ${c.loop}(), after constructing the agent`);
  }
  const value = given ? given.text : c.value;
  edits.push({ start: cargs.endIndex - 1, end: cargs.endIndex - 1, text: `${cargs.namedChildCount ? ', ' : ''}${c.keyword}=${value}` });
  const attr = call.childForFieldName('function')!.childForFieldName('attribute')!;
  edits.push({ start: attr.startIndex, end: call.endIndex, text: `${c.runForever}()` });

  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out, publishLine: publish.startPosition.row + 1 };
}

/**
 * The edits making a class's __init__ hand the target's keywords on (`**kwargs` in its parameters and its
 * one super().__init__() call), none without an __init__ (the base's is inherited), or why not.
 */
function keywordEdits(klass: SyntaxNode, rel: string, cls: string, c: UnitCycle): Edit[] | { line: number; reason: string } {
  const fail = (n: SyntaxNode, why: string) => ({ line: n.startPosition.row + 1, reason: `${cls} (${rel}:${n.startPosition.row + 1}) ${why}` });
  const defs = statements(klass.childForFieldName('body')!);
  const init = defs.find((d) => (d.type === 'function_definition' ? d : d.type === 'decorated_definition' ? d.childForFieldName('definition') : null)?.childForFieldName('name')?.text === '__init__');
  const edits: Edit[] = [];
  if (init) {
    if (init.type !== 'function_definition') return fail(init, `decorates its __init__()`);
    const ps = init.childForFieldName('parameters')!;
    const splat = ps.namedChildren.find((p) => p.type === 'dictionary_splat_pattern');
    const calls: SyntaxNode[] = [];
    walk(init.childForFieldName('body')!, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'call' && n.childForFieldName('function')?.text.replace(/\s+/g, '') === 'super().__init__') calls.push(n);
    });
    const sup = calls[0];
    if (calls.length !== 1 || sup!.parent?.type !== 'expression_statement' || sup!.parent.parent?.id !== init.childForFieldName('body')!.id) {
      return fail(sup ?? init, `does not call super().__init__(...) once in its __init__(): the target's ${c.keyword} could not reach the base`);
    }
    const supArgs = sup!.childForFieldName('arguments')!;
    const given = supArgs.namedChildren.find((a) => a.type === 'dictionary_splat');
    const kw = splat?.namedChildren[0]?.text ?? 'kwargs';
    if (given && given.text !== `**${kw}`) return fail(given, `hands the base ${given.text} in its __init__(), not its own keywords`);
    if (!splat) {
      if (/\bkwargs\b/.test(init.text)) return fail(init, `already names kwargs in its __init__()`);
      const lastParam = ps.namedChildren.at(-1);
      edits.push({ start: ps.endIndex - 1, end: ps.endIndex - 1, text: lastParam ? `, **${kw}` : `**${kw}` });
    }
    if (!given) edits.push({ start: supArgs.endIndex - 1, end: supArgs.endIndex - 1, text: supArgs.namedChildCount ? `, **${kw}` : `**${kw}` });
  }

  return edits;
}

/**
 * A class between the base and its agents with the cycle handed to the target: its own members kept as
 * they are, its __init__ handing the target's keywords on (the agents' reach the base through it). Why
 * not, at its line, when it holds part of the cycle: implementing or calling it, publishing, or starting
 * the loop (which the target's run_forever() replaces).
 */
export function middleCycleText(text: string, rel: string, cls: string, c: UnitCycle): { text: string } | { line: number; reason: string } {
  const root = parsePython(text).rootNode;
  const at = (n: SyntaxNode, why: string) => ({ line: n.startPosition.row + 1, reason: `${cls} (${rel}:${n.startPosition.row + 1}) ${why}` });
  const klass = statements(root).find((s) => s.type === 'class_definition' && s.childForFieldName('name')?.text === cls);
  if (!klass) return { line: 1, reason: `${cls} (${rel}:1) is not a class at the top of its file` };
  let held = null as { node: SyntaxNode; why: string } | null;
  walk(root, (n) => {
    if (held) return false;
    const name = n.type === 'function_definition' ? n.childForFieldName('name')?.text : null;
    if (name && [c.method, c.hook, c.loop].includes(name)) held = { node: n, why: `defines ${name}(), part of the cycle the unit hands to the target` };
    else if (n.type === 'attribute' && [c.method, c.publish, c.loop].includes(n.childForFieldName('attribute')?.text ?? '')) held = { node: n, why: `calls ${n.text.slice(0, 40)}, part of the cycle the unit hands to the target` };
  });
  if (held) return at(held.node, held.why);
  const kw = keywordEdits(klass, rel, cls, c);
  if ('reason' in kw) return kw;
  let out = text;
  for (const e of kw.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { text: out };
}

/** `name = Cls(...)` as a statement of `scope` (the construction call), or null. */
function constructionOf(scope: SyntaxNode, name: string, cls: string): SyntaxNode | null {
  let found = null as SyntaxNode | null;
  walk(scope, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment' || n.childForFieldName('left')?.text !== name) return;
    const right = n.childForFieldName('right');
    if (right?.type === 'call' && right.childForFieldName('function')?.text === cls) found = right;
  });
  return found;
}

/** Both nodes inside one statement (`Agent().run(...)`). */
function sameStatement(a: SyntaxNode, b: SyntaxNode): boolean {
  let s: SyntaxNode | null = a;
  while (s && !/statement$/.test(s.type)) s = s.parent;
  return !!s && s.startIndex <= b.startIndex && b.endIndex <= s.endIndex;
}

/**
 * The base's `_v2` without the stand-in cycle's method (the engine's rewrite of `collect()` standing for
 * the agents', now theirs): the method whose body names `standIn`, with the blank line before it. Null
 * when the stand-in is named anywhere else, or no such method is there.
 */
export function dropStandIn(output: string, cls: string, standIn: string): string | null {
  const root = parsePython(output).rootNode;
  const klass = statements(root).find((s) => s.type === 'class_definition' && s.childForFieldName('name')?.text === cls);
  const method = klass && statements(klass.childForFieldName('body')!).find((d) => d.type === 'function_definition' && d.text.includes(standIn));
  if (!method) return null;
  const lineStart = output.lastIndexOf('\n', method.startIndex - 1) + 1;
  let end = output.indexOf('\n', method.endIndex);
  end = end < 0 ? output.length : end + 1;
  let start = lineStart;
  // The blank line that separated it from the method before.
  if (output.slice(0, start).endsWith('\n\n')) start -= 1;
  const out = output.slice(0, start) + output.slice(end);
  return out.includes(standIn) ? null : out;
}

/** A unit's cycle with where the base declares it (the `def` line, past its decorators). */
export interface UnitCycleAt extends UnitCycle {
  line: number;
}

/** The stand-in's name: the method the abstract cycle's body calls for its subclasses' (no line of the base). */
export const STAND_IN = '_subclass_cycle';

/**
 * The base's text with its abstract cycle standing for its subclasses': its body one call of the publish
 * they use (`self._publish_telemetry(self._subclass_cycle())`), its @abstractmethod line blank, every other
 * line where it was (so that what the rewrite reports is at the base's own lines).
 */
export function standInSource(text: string, cycles: Array<{ line: number; publish: string }>): string {
  const lines = text.split('\n');
  const code = codeOnly(text).split('\n');
  for (const c of cycles) {
    for (let i = c.line - 2; i >= 0 && /^\s*@/.test(code[i] ?? ''); i--) if (/^\s*@(abc\.)?abstractmethod\b/.test(code[i]!)) lines[i] = '';
    const body = methodBody(code, c.line);
    const head = lines[c.line - 1]!;
    const indent = ' '.repeat(head.length - head.trimStart().length + 4);
    // The body's first line (past a signature on several lines) is the call, the rest blank.
    let k = c.line;
    while (k - 1 < code.length && !/:\s*$/.test(code[k - 1]!)) k++;
    lines[k] = `${indent}self.${c.publish}(self.${STAND_IN}())`;
    for (let j = k + 1; j < k + body.length; j++) if (lines[j]!.trim()) lines[j] = '';
  }
  return lines.join('\n');
}

/**
 * The unit's base and agents with the abstract cycle handed to the target: each agent's file edited by
 * subclassCycleText, and the engine's rewrite of the base with the cycle standing for theirs, run as a
 * unit's base (the agents' publish calls, which their edit removes, keep nothing; the interval comes from
 * their entry points; each agent is named by its class), without the stand-in method. Either the texts,
 * or what stops it, each at its file and line.
 */
export function unitCycleTexts(
  preview: (text: string, unit: UnitRewrite) => RewriteOutcome,
  base: { cls: string; rel: string; text: string },
  cycle: UnitCycleAt,
  members: Array<{ cls: string; rel: string; text: string }>,
  middles: Array<{ cls: string; rel: string; text: string }> = [],
): { outcome: RewriteOutcome; output: string; agents: Array<{ rel: string; text: string }> } | { blockers: Array<{ cls: string; rel: string; line: number; reason: string }> } {
  const blockers: Array<{ cls: string; rel: string; line: number; reason: string }> = [];
  const agents: Array<{ rel: string; text: string; publishLine: number }> = [];
  for (const m of members) {
    const r = subclassCycleText(m.text, m.rel, m.cls, cycle);
    if ('reason' in r) blockers.push({ cls: m.cls, rel: m.rel, line: r.line, reason: `${r.reason}; the unit hands each agent's ${cycle.method}() to ${cycle.hook}()` });
    else agents.push({ rel: m.rel, text: r.text, publishLine: r.publishLine });
  }
  // A class between them keeps its members; its __init__ hands the agents' keywords on (no publish of its own).
  const between: Array<{ rel: string; text: string }> = [];
  for (const m of middles) {
    const r = middleCycleText(m.text, m.rel, m.cls, cycle);
    if ('reason' in r) blockers.push({ cls: m.cls, rel: m.rel, line: r.line, reason: `${r.reason}; the unit hands each agent's ${cycle.method}() to ${cycle.hook}() through it` });
    else between.push({ rel: m.rel, text: r.text });
  }
  // An agent whose file the edit cannot prove is named at its line; the base is still rewritten with that
  // agent's publish as if handed (the edit its blocker asks for), so that what else stops the unit is
  // named beside it.
  const byHand = new Set(blockers.map((b) => b.rel));
  const stood = standInSource(base.text, [cycle]);
  const made = preview(stood, { rewritten: (u) => byHand.has(u.file) || agents.some((a) => a.rel === u.file && a.publishLine === u.line), loop: cycle.loop });
  // The record names the abstract method as what went, and nothing the stand-in's own line said.
  const standLine = stood.split('\n').findIndex((l) => l.includes(STAND_IN)) + 1;
  const outcome: RewriteOutcome = {
    ...made,
    removed: made.removed.map((r) => (r.includes(STAND_IN) ? cycle.method : r)),
    warnings: made.warnings.filter((w) => !w.includes(STAND_IN) && !new RegExp(`\\(line ${standLine}\\)|line ${standLine}:`).test(w)),
  };
  const at = (line: number, reason: string) => ({ blockers: [...blockers, { cls: base.cls, rel: base.rel, line, reason }] });
  if (outcome.status !== 'changed' || outcome.output === undefined) return at(cycle.line, `the engine's rewrite of ${base.cls} as the unit's base is ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
  const kept = outcome.kept_for_review.filter((k) => k.symbol !== '__main__');
  if (kept.length) {
    return { blockers: [...blockers, ...kept.map((k) => ({ cls: base.cls, rel: base.rel, line: k.line, reason: `the engine's rewrite of ${base.cls} (its agents' ${cycle.method}() handed to ${cycle.hook}()) keeps ${k.symbol} (${base.rel}:${k.line}) for review: ${k.reason}` }))] };
  }
  if (blockers.length) return { blockers };
  const output = dropStandIn(outcome.output, base.cls, STAND_IN);
  if (output === null) return at(cycle.line, `the engine's rewrite of ${base.cls} does not hold ${cycle.method}()'s stand-in in one method the unit can drop`);
  return { outcome, output, agents: [...agents.map(({ rel, text }) => ({ rel, text })), ...between] };
}

/** The lines after the `def` at `defLine` (1-based) that belong to its body (blank lines kept), from the line after the signature. */
export function methodBody(lines: string[], defLine: number): string[] {
  const head = lines[defLine - 1] ?? '';
  const indent = head.length - head.trimStart().length;
  let i = defLine;
  // A signature on several lines: up to the line ending in `:`.
  while (i - 1 < lines.length && !/:\s*$/.test(lines[i - 1]!)) i++;
  const out: string[] = [];
  for (let j = i; j < lines.length; j++) {
    const l = lines[j]!;
    if (l.trim() && l.length - l.trimStart().length <= indent) break;
    out.push(l);
  }
  return out;
}

/**
 * The text with its triple-quoted strings (docstrings) and comments blanked, lines kept: a
 * docstring saying "stop() calls self.flush()" is no call. (A `#` inside a one-line string is
 * kept with what follows it when the quotes before it are unbalanced.)
 */
export function codeOnly(text: string): string {
  const blanked = text.replace(/("""|''')[\s\S]*?\1/g, (m) => m.replace(/[^\n]/g, ' '));
  return blanked
    .split('\n')
    .map((l) => {
      const at = l.indexOf('#');
      if (at < 0) return l;
      const before = l.slice(0, at);
      const balanced = (before.match(/"/g) ?? []).length % 2 === 0 && (before.match(/'/g) ?? []).length % 2 === 0;
      return balanced ? before : l;
    })
    .join('\n');
}
