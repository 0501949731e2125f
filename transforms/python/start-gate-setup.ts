// Concern: an entry point that gates on a bool-returning start-up method,
//   if not agent.start():
//       sys.exit(1)
//   agent.run()
// where start() is one-time initialisation (read a key, open a channel) answering True/False. The base's
// setup() has that contract: run_forever() calls it first and returns False without starting when it
// answers False. So start() becomes setup() and the gate asks run_forever() instead: no setup -> the same
// exit code, with start()'s own log line; setup done -> the base's loop, as run() was. entrypoint keeps the
// start() call for review when it cannot tell; this resolves that item only when the shape is provably the same.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { statements, walk } from '../../src/lang/python/syntax.js';
import { entryScopes } from '../../src/lang/python/module-model.js';
import { START_CALL } from './entrypoint.js';

const label = 'start-gate-setup';

/** `sys.exit(1)`, `exit(2)`, `raise SystemExit(1)`: a non-zero literal exit code. */
function nonZeroExit(stmt: SyntaxNode): boolean {
  const code = (args: SyntaxNode | null | undefined) => {
    const a = args?.namedChildren ?? [];
    return a.length === 1 && a[0]!.type === 'integer' && Number(a[0]!.text) !== 0;
  };
  if (stmt.type === 'expression_statement') {
    const call = stmt.namedChildren[0];
    if (call?.type !== 'call' || !/^(sys\.exit|exit|os\._exit)$/.test(call.childForFieldName('function')?.text ?? '')) return false;
    return code(call.childForFieldName('arguments'));
  }
  if (stmt.type === 'raise_statement') {
    const call = stmt.namedChildren[0];
    return call?.type === 'call' && call.childForFieldName('function')?.text === 'SystemExit' && code(call.childForFieldName('arguments'));
  }
  return false;
}

/** `v.<name>()` with no arguments on the identifier v; the attribute node, else null. */
function bareCallOn(node: SyntaxNode | null | undefined, v?: string): SyntaxNode | null {
  if (node?.type !== 'call' || node.childForFieldName('arguments')?.namedChildren.length) return null;
  const fn = node.childForFieldName('function');
  const obj = fn?.childForFieldName('object');
  if (fn?.type !== 'attribute' || obj?.type !== 'identifier' || (v && obj.text !== v)) return null;
  return fn.childForFieldName('attribute');
}

/**
 * Why the method cannot be the base's setup(), or null when it can: initialisation only, answering a
 * literal True/False on every path, and starting nothing (no loop, no thread, no other start call), since
 * setup() runs once before the base's own loop and anything it starts would run beside that loop.
 */
function notSetupLike(body: SyntaxNode): string | null {
  const last = statements(body).at(-1);
  if (last?.type !== 'return_statement' || last.namedChildren[0]?.text !== 'True') return 'it does not end by returning True';
  let why: string | null = null;
  walk(body, (n) => {
    if (why) return false;
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && !/^(True|False)$/.test(n.namedChildren[0]?.text ?? '')) why = `line ${n.startPosition.row + 1} returns something other than True/False`;
    else if (n.type === 'while_statement' || n.type === 'yield' || n.type === 'await') why = `line ${n.startPosition.row + 1} loops or suspends`;
    else if (n.type === 'call') {
      const fn = n.childForFieldName('function');
      const name = fn?.type === 'attribute' ? fn.childForFieldName('attribute')!.text : fn?.text ?? '';
      if (START_CALL.test(name) || /(^|\.)(Thread|Process|Timer)$/.test(fn?.text ?? '')) why = `line ${n.startPosition.row + 1} starts work (${fn!.text}())`;
      // Another method of the agent may start anything; what it does is not looked into here.
      else if (fn?.type === 'attribute' && fn.childForFieldName('object')?.text === 'self') why = `line ${n.startPosition.row + 1} calls ${fn.text}()`;
    }
  });
  return why;
}

export const startGateSetup: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const item = ctx.unstartable;
    const cls = ctx.agent.cls;
    if (!item || !item.symbol.startsWith(`${cls.name}.`)) return;
    const name = item.symbol.slice(cls.name.length + 1);
    const own = ctx.agent.methods.get(name);
    const runMethod = ctx.py.main_loop_method ?? 'run';
    if (!own || own.isAsync || own.decorators.length || own.params.length > 1 || isRemoved(ctx, own.outer)) return;
    if (!ctx.base.methods.has('setup') || !ctx.base.methods.has(runMethod) || ctx.agent.methods.has('setup')) return;
    // Another transform already writes a setup() (run()'s start-up statements): two would clash.
    if (ctx.edits.writtenTexts().some((t) => /\bdef setup\(/.test(t))) return;
    const gate = findGate(ctx, name, runMethod);
    if (!gate) return;
    const why = notSetupLike(own.body);
    if (why) {
      item.reason += `; it is not moved into setup() because ${why}`;
      return;
    }
    // Called from anywhere else, the method would have to stay under its name.
    if (ctx.refs.of(name).filter((r) => r.kind === 'attribute').length !== 1) return;
    ctx.edits.replace(own.node.childForFieldName('name')!.startIndex, own.node.childForFieldName('name')!.endIndex, 'setup', label);
    ctx.edits.replace(gate.attr.startIndex, gate.attr.endIndex, runMethod, label);
    ctx.edits.deleteOver(gate.runLine.start, gate.runLine.end, label);
    ctx.kept.splice(ctx.kept.indexOf(item), 1);
    ctx.unstartable = undefined;
    ctx.warnings.push(
      `${cls.name}.${name}() (line ${own.line}) answered whether the agent may start and the entry point exited ${gate.exit} when it did not; ` +
        `it is now setup(), which ${ctx.profile.base_class}.${runMethod}() runs first and returns False on, and the entry point exits the same way on ${runMethod}()'s answer (line ${gate.line})`);
  },
};

/**
 * `if not v.M(): <non-zero exit>` directly followed by `v.run()` / `v.<runMethod>()` in the entry point,
 * nothing else in the if. Returns M's attribute node in the gate and the line of the later start call.
 */
function findGate(ctx: PythonTransformContext, name: string, runMethod: string) {
  type Gate = { attr: SyntaxNode; runLine: { start: number; end: number }; exit: string; line: number };
  let found = null as Gate | null;
  for (const scope of entryScopes(ctx.module)) {
    walk(scope, (n) => {
      if (found) return false;
      if (n.type !== 'if_statement' || n.childForFieldName('alternative')) return;
      const cond = n.childForFieldName('condition');
      if (cond?.type !== 'not_operator') return;
      const attr = bareCallOn(cond.childForFieldName('argument'));
      if (attr?.text !== name) return;
      const body = statements(n.childForFieldName('consequence'));
      if (body.length !== 1 || !nonZeroExit(body[0]!)) return;
      const v = attr.parent!.childForFieldName('object')!.text;
      const siblings = statements(n.parent);
      const next = siblings[siblings.findIndex((s) => s.startIndex === n.startIndex) + 1];
      if (next?.type !== 'expression_statement') return;
      const runAttr = next.namedChildren[0]?.type === 'call' ? next.namedChildren[0].childForFieldName('function')?.childForFieldName('attribute') : null;
      const obj = next.namedChildren[0]?.childForFieldName('function')?.childForFieldName('object');
      if (obj?.text !== v || !runAttr || (runAttr.text !== runMethod && runAttr.text !== 'run')) return;
      // The later call must reach the base's loop: the agent's own run() is gone (or never was).
      if (ctx.agent.methods.has(runAttr.text) && !isRemoved(ctx, ctx.agent.methods.get(runAttr.text)!.outer) && !(ctx.resolved?.members.has(runAttr.text) ?? false)) return;
      const src = ctx.edits.source;
      const start = src.lastIndexOf('\n', next.startIndex - 1) + 1;
      const nl = src.indexOf('\n', next.endIndex);
      // The call alone on its line (nothing else said there goes with it).
      if (src.slice(start, next.startIndex).trim() || src.slice(next.endIndex, nl < 0 ? src.length : nl).trim()) return;
      found = { attr, runLine: { start, end: nl < 0 ? src.length : nl + 1 }, exit: body[0]!.text, line: n.startPosition.row + 1 };
    });
  }
  return found;
}
