// Concern: what the entry point did on Ctrl-C besides the agent's teardown. `try: agent.run() except
// KeyboardInterrupt: logger.info("interrupted; saving pending"); agent.flush_pending() finally: agent.close()`:
// on the base, SIGINT (and SIGTERM) go to the base's handler, which runs cleanup() and ends with SystemExit,
// which that clause does not catch, so the pending batches were no longer saved and the line no longer logged.
// When every statement of the clause is a call reading only the agent and module-level names, the clause moves
// into a cleanup() override (the method the base's handler runs), `agent` read as `self`, before the base's own
// teardown; it runs once, before the entry point's `finally`, as the clause did. Anything else (a local of the
// entry point, an exit code, a return) stays a warning naming the line (entrypoint.ts). The same clause around the
// loop of a kept run() (reading self and module-level names) moves likewise, when that try reaches the output as it is.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { Edit } from '../../src/lang/python/edit-buffer.js';
import { bindingsOf, walk } from '../../src/lang/python/syntax.js';
import { lineStart } from '../../src/lang/python/text.js';
import { TEARDOWN, calledByEntryPoint, entryAgentHolders } from './remove-teardown.js';
import { clauseKind, containsLoop, interruptWiringTarget } from './interrupt-teardown.js';
import { interruptRestored } from './interrupt-exit-code.js';
import { isStatsdHandOff } from './statsd-metrics.js';
import { excerpt } from '../../src/core/excerpt.js';

export interface WirableClause {
  clause: SyntaxNode;
  statements: SyntaxNode[];
  agentVar: string;
  target: string;
}

const BUILTINS = new Set(['print', 'len', 'str', 'int', 'float', 'repr', 'round', 'sorted', 'list', 'dict', 'tuple', 'min', 'max', 'sum', 'bool', 'True', 'False', 'None']);

/** Names bound at the module's top level outside the main guard (imports, assignments, defs, classes). */
export function moduleNames(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>(ctx.module.imports.keys());
  for (const stmt of ctx.module.root.namedChildren) {
    if (ctx.module.mainGuard && stmt.id === ctx.module.mainGuard.id) continue;
    const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (def?.type === 'function_definition' || def?.type === 'class_definition') out.add(def.childForFieldName('name')!.text);
    const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
    const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
    if (left?.type === 'identifier') out.add(left.text);
  }
  return out;
}

/** An except clause's statements (comments and `pass` aside), and whether it binds the exception (`as e`). */
function clauseParts(clause: SyntaxNode): { statements: SyntaxNode[]; bindsName: boolean } {
  const body = clause.namedChildren.find((c) => c.type === 'block');
  const statements = (body?.namedChildren ?? []).filter((c) => c.type !== 'comment' && c.type !== 'pass_statement');
  return { statements, bindsName: /\bas\b/.test(clause.text.slice(0, (body?.startIndex ?? clause.startIndex) - clause.startIndex)) };
}

/**
 * The entry point's one `except KeyboardInterrupt:` around the agent's start whose statements a cleanup()
 * override can run as they were: each a call, reading only the agent (as `self`), module-level names and
 * builtins, none the agent's own teardown (interrupt-teardown wires those). Null when there is none, or
 * when the agent or another transform already has the override, or something in the file calls it.
 */
export function wirableEntryClause(ctx: PythonTransformContext): WirableClause | null {
  const target = interruptWiringTarget(ctx, '');
  if (!target) return null;
  // Whoever calls cleanup() on the agent would run the clause outside an interrupt.
  if (ctx.refs.of(target).some((r) => r.kind === 'attribute')) return null;
  const { constructs, scopes } = entryAgentHolders(ctx);
  const found: WirableClause[] = [];
  let other = false;
  const globals = moduleNames(ctx);
  for (const { scope, vars } of scopes) {
    const bound = bindingsOf(scope);
    walk(scope, (t) => {
      if (t.type === 'class_definition' || t.type === 'lambda' || (t.type === 'function_definition' && t.id !== scope.id)) return false;
      if (t.type !== 'try_statement' || isRemoved(ctx, t)) return;
      let agentVar: string | null = null;
      walk(t.childForFieldName('body')!, (n) => {
        const fn = n.type === 'call' ? n.childForFieldName('function') : null;
        const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
        if (!agentVar && obj?.type === 'identifier' && vars.has(obj.text)) agentVar = obj.text;
        if (!agentVar && obj && constructs(obj)) agentVar = '';
      });
      if (agentVar === null) return;
      for (const clause of t.namedChildren) {
        // Ctrl-C reaches it again (interrupt-exit-code): it runs itself, moving it into cleanup() would run it twice.
        if (clauseKind(clause) !== 'interrupt' || interruptRestored(ctx, clause)) continue;
        const { statements, bindsName } = clauseParts(clause);
        if (!statements.length) continue;
        const ok = agentVar !== '' && !bindsName &&
          statements.every((s) => callStatement(s, agentVar!, globals, bound));
        if (ok) found.push({ clause, statements, agentVar: agentVar!, target });
        else other = true;
      }
    });
  }
  // The same clause around the loop of a kept method the entry point runs (`def run(self): try: while ...:
  // ... except KeyboardInterrupt: logger.info("interrupted after %d files", self.files_done)`), self as it is.
  const mainLoop = ctx.py.main_loop_method ?? 'run';
  for (const [method, fn] of ctx.agent.methods) {
    if (fn.isAsync || (method !== mainLoop && !calledByEntryPoint(ctx, method)) || isRemoved(ctx, fn.outer)) continue;
    const bound = bindingsOf(fn.node);
    walk(fn.body, (t) => {
      if (t.type === 'function_definition' || t.type === 'class_definition' || t.type === 'lambda') return false;
      if (t.type !== 'try_statement' || !containsLoop(t.childForFieldName('body'))) return;
      for (const clause of t.namedChildren) {
        if (clauseKind(clause) !== 'interrupt') continue;
        const { statements, bindsName } = clauseParts(clause);
        if (!statements.length) continue;
        // The try and its clause must reach the output: a loop rewritten into the base's hook takes its clause along.
        // A member the clause reads renamed (self.logger -> self.agent_logger) is no change of it: the copy takes the new name;
        // so is a statsd payload handed to the base on its way to the socket: the copy hands it over too.
        const untouched = !isRemoved(ctx, t) && !ctx.edits.covered(t.startIndex, t.endIndex) && ctx.edits.touching(clause.startIndex, clause.endIndex).every((e) => carried(ctx, e));
        const ok = untouched && !bindsName &&
          statements.every((s) => callStatement(s, 'self', globals, bound));
        if (ok) found.push({ clause, statements, agentVar: 'self', target });
        else other = true;
      }
    });
  }
  if (other || found.length !== 1) return null;
  return found[0]!;
}

/** An edit renaming one of the agent's members (`logger` -> `agent_logger` at an attribute's name). */
function isMemberRename(ctx: PythonTransformContext, e: Edit): boolean {
  return ctx.renames.get(ctx.source.slice(e.start, e.end)) === e.text;
}

/** An edit inside the clause that its copy in the override takes along (a rename, a statsd payload's hand-off). */
function carried(ctx: PythonTransformContext, e: Edit): boolean {
  return isMemberRename(ctx, e) || isStatsdHandOff(ctx, e);
}

/** `logger.info("...")`, `agent.flush_pending()`: a call reading only the agent, module-level names and builtins. */
export function callStatement(stmt: SyntaxNode, agentVar: string, globals: Set<string>, bound: Set<string>): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'call') return false;
  const fn = e.childForFieldName('function');
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
  // The agent's own teardown there is interrupt-teardown's.
  if (obj?.text === agentVar && TEARDOWN.test(fn!.childForFieldName('attribute')!.text)) return false;
  // An exit code (sys.exit(1)) would be swallowed by the base's handler, which ends with SystemExit(0).
  if (/(^|\.)(exit|_exit|quit|abort|kill)$/.test(fn?.text ?? '')) return false;
  let ok = true;
  walk(e, (n) => {
    if (!ok) return false;
    if (['lambda', 'await', 'yield', 'named_expression', 'list_comprehension', 'generator_expression', 'dictionary_comprehension', 'set_comprehension'].includes(n.type)) {
      ok = false;
      return false;
    }
    if (n.type !== 'identifier') return;
    const p = n.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (n.text === agentVar) return;
    if (bound.has(n.text) || !(globals.has(n.text) || BUILTINS.has(n.text))) ok = false;
  });
  return ok;
}

/** Where a method goes in before `node`: above the comment lines that head it (a section rule belongs to what follows it). */
export function aboveHeadingComments(ctx: PythonTransformContext, node: SyntaxNode): SyntaxNode {
  const siblings = node.parent?.namedChildren ?? [];
  let k = siblings.findIndex((c) => c.id === node.id);
  let at = node;
  while (k > 0) {
    const prev = siblings[k - 1]!;
    if (prev.type !== 'comment' || prev.endPosition.row !== at.startPosition.row - 1 || !/^[ \t]*$/.test(ctx.source.slice(lineStart(ctx.source, prev.startIndex), prev.startIndex))) break;
    at = prev;
    k--;
  }
  return at;
}

function enclosingMethod(n: SyntaxNode): string | null {
  for (let p = n.parent; p; p = p.parent) if (p.type === 'function_definition') return p.childForFieldName('name')!.text;
  return null;
}

export const entryInterruptClause: PythonTransform = {
  name: 'entry-interrupt-clause',
  phase: 'edit',
  run(ctx) {
    const w = wirableEntryClause(ctx);
    if (!w) return;
    // Another transform wrote the override already (a teardown wired from run()'s clause): leave it the warning.
    if (ctx.edits.writtenTexts().some((t) => new RegExp(`\\bdef ${w.target}\\(`).test(t))) return;
    const anchor = [...ctx.agent.methods.values()].find((m) => m.name !== '__init__' && !isRemoved(ctx, m.outer));
    if (!anchor) return;
    const indent = ctx.source.slice(lineStart(ctx.source, anchor.outer.startIndex), anchor.outer.startIndex);
    if (!/^[ \t]*$/.test(indent)) return;
    const { eol, unit } = ctx.layout;
    const inner = indent + unit;
    const lines: string[] = [];
    for (const s of w.statements) {
      // `agent` read as `self`, in the statement's own text; its continuation lines keep their offset.
      const ids: SyntaxNode[] = [];
      walk(s, (n) => {
        if (n.type === 'identifier' && n.text === w.agentVar && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) ids.push(n);
      });
      // ... and the member renames and statsd hand-offs planned inside it (self.logger -> self.agent_logger), whose
      // text replaces the names within it (a hand-off is made in the agent's methods only, where it reads self).
      const carriedEdits = ctx.edits.touching(s.startIndex, s.endIndex).filter((e) => carried(ctx, e));
      const edits: Array<[number, number, string]> = [
        ...ids.filter((id) => !carriedEdits.some((e) => e.start <= id.startIndex && id.endIndex <= e.end)).map((id): [number, number, string] => [id.startIndex, id.endIndex, 'self']),
        ...carriedEdits.map((e): [number, number, string] => [e.start, e.end, e.text]),
      ];
      let text = s.text;
      for (const [start, end, by] of edits.sort((a, b) => b[0] - a[0])) {
        text = text.slice(0, start - s.startIndex) + by + text.slice(end - s.startIndex);
      }
      const from = ctx.source.slice(lineStart(ctx.source, s.startIndex), s.startIndex);
      text.split(/\r?\n/).forEach((l, i) => lines.push(i === 0 ? inner + l : inner + (l.startsWith(from) ? l.slice(from.length) : l.trimStart())));
    }
    const done = `_${w.target}_interrupt_done`;
    // Guarded the way teardown-super guards a teardown (`if ...: return` first), so a second run leaves it as it is.
    const body = [
      `${indent}def ${w.target}(self):`,
      `${inner}if getattr(self, "${done}", False):`,
      `${inner}${unit}return`,
      `${inner}self.${done} = True`,
      ...lines,
      `${inner}super().${w.target}()`,
    ];
    ctx.edits.insert(lineStart(ctx.source, aboveHeadingComments(ctx, anchor.outer).startIndex), body.join(eol) + eol + eol, 'entry-interrupt-clause');
    const first = w.statements[0]!;
    // The warning that the clause no longer runs (entrypoint.ts) is answered here.
    const said = `\`except KeyboardInterrupt:\` (line ${w.clause.startPosition.row + 1}) no longer runs`;
    for (let i = ctx.warnings.length - 1; i >= 0; i--) if (ctx.warnings[i]!.includes(said)) ctx.warnings.splice(i, 1);
    const where = w.agentVar === 'self' ? `${ctx.agent.methods.get(enclosingMethod(w.clause) ?? '')?.name ?? 'run'}()'s` : "the entry point's";
    ctx.warnings.push(
      `${where} \`except KeyboardInterrupt:\` (line ${w.clause.startPosition.row + 1}) runs from a ${w.target}() override now: ` +
        `${ctx.profile.base_class}'s signal handler takes SIGINT and SIGTERM, runs ${w.target}() and ends with SystemExit, which that clause does not catch; ` +
        `its ${w.statements.length} statement(s) from line ${first.startPosition.row + 1} (\`${excerpt(first.text, 100)}\`) run there once, before the base's teardown, ` +
        `on SIGTERM as well as on Ctrl-C`,
    );
  },
};
