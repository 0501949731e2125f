// Concern: the work an old base's teardown did (AgentBase.stop() writing state/<name>.last_run.json) when
// the old base leaves the bases. The new base has a teardown of the same name, so the entry point's
// `agent.stop()` still resolves, to the new base's, which does not do that work. When the work is
// self-contained (it reads only the agent's state, the new base's, module names it can carry and names it
// binds itself) it moves into an override of the new base's teardown hook (cleanup()), guarded to run once,
// ending in super(): the base's signal handler calls that hook on SIGTERM/SIGINT, and the module's own calls
// of the old teardown on the agent are pointed at it, so every way the legacy ran the work still runs it, once.
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { InheritedClass } from '../../src/analysis/inherited.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart, renderBlock } from '../../src/lang/python/text.js';
import { importAnchor } from './add-import.js';
import { freshName } from '../../src/lang/python/rename.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { excerpt } from '../../src/core/excerpt.js';

const BUILTINS = new Set(['open', 'len', 'str', 'int', 'float', 'bool', 'dict', 'list', 'tuple', 'set', 'sorted', 'min', 'max', 'round', 'print', 'repr', 'isinstance', 'getattr', 'hasattr', 'sum', 'any', 'all', 'range', 'enumerate', 'zip', 'Exception', 'OSError', 'IOError', 'ValueError', 'KeyError', 'TypeError', 'True', 'False', 'None']);

/**
 * Moves the old base's `method` work into the agent's teardown hook; true when it did (the caller then
 * reports nothing), false when the work is not self-contained or the agent has a teardown of its own.
 */
export function moveOldBaseTeardown(ctx: PythonTransformContext, parent: InheritedClass, method: string, fn: PyFunction): boolean {
  const hook = ctx.py.teardown ?? 'cleanup';
  const me = fn.params[0]?.name;
  if (me !== 'self' || ctx.agent.methods.has(hook) || ctx.agent.methods.has(method) || fn.isAsync || !ctx.base.methods.has(hook)) return false;
  // Re-indented in four-space steps (renderBlock): a body indented otherwise is left for a person.
  if (/\t/.test(fn.body.text)) return false;
  // The new base's own teardown says the same (`self.logger.info("%s stopped", self.name)`) and sets the same flags.
  const baseText = baseSourceText(ctx);
  const work = statements(fn.body).filter((st) => !isDocstring(st) && !baseDoes(ctx, st, baseText));
  if (!work.length || work.some((st) => st.type === 'return_statement')) return false;
  const carried = carriedNames(ctx, parent.module.root, work);
  if (!carried) return false;
  const eol = ctx.layout.eol;
  const flag = freshName(ctx, `${hook}_done`, '_');
  const body = work.map((st) => dedent(sourceLines(parent, st), st.startPosition.column)).join('\n');
  const block =
    `def ${hook}(self):\n` +
    `    """The old base ${parent.cls.name}'s ${method}() work (${parent.file}:${fn.line}), once, on stop."""\n` +
    `    if getattr(self, "${flag}", False):\n        return\n    self.${flag} = True\n` +
    body.split('\n').map((l) => (l.trim() ? `    ${l}` : '')).join('\n') + '\n' +
    `    super().${hook}()\n`;
  const last = statements(ctx.agent.cls.body).at(-1)!;
  const indent = ctx.source.slice(lineStart(ctx.source, last.startIndex), last.startIndex);
  ctx.edits.insert(lineEnd(ctx.source, ctx.agent.cls.body.endIndex), eol + renderBlock(block, indent, ctx.layout), 'old-base-teardown-move');
  carryModuleNames(ctx, parent.module.root, carried, `${parent.file}'s, for the work ${ctx.agent.cls.name}.${hook}() carries over`, 'old-base-teardown-move');
  const rewired = pointCallers(ctx, method, hook);
  ctx.warnings.push(
    `the old base ${parent.cls.name}'s ${method}() (${parent.file}:${fn.line}) also ran \`${excerpt(work[0]!.text, 60)}\`: ` +
      `moved into ${ctx.agent.cls.name}.${hook}(), which ${ctx.profile.base_class}'s signal handler calls on stop, once` +
      (rewired.length ? `; the module's ${rewired.map((r) => `${r.name}.${method}() (line ${r.line})`).join(', ')} now call${rewired.length > 1 ? '' : 's'} ${hook}()` : ''),
  );
  return true;
}

/** The new base's source file as text; '' when the model names none or it cannot be read. */
export function baseSourceText(ctx: PythonTransformContext): string {
  if (!ctx.base.sourceFile || !ctx.location) return '';
  try {
    return readFileSync(path.resolve(ctx.location.root, ctx.base.sourceFile), 'utf8');
  } catch {
    return '';
  }
}

/** A statement the new base's teardown does itself: a flag it sets (`self.running = False`) or the same line verbatim. */
function baseDoes(ctx: PythonTransformContext, st: SyntaxNode, baseText: string): boolean {
  const e = expressionOf(st);
  if (e?.type === 'assignment') {
    const attr = selfAttribute(e.childForFieldName('left')!);
    if (attr && ctx.baseOwned.has(attr) && ['true', 'false', 'none'].includes(e.childForFieldName('right')?.type ?? '')) return true;
  }
  return !!baseText && st.text.split('\n').length === 1 && baseText.includes(st.text.trim());
}

/**
 * Module-level names of the old base's file the work reads (imports, constants) that the agent's module
 * must carry; null when it reads anything else: an attribute of self neither the agent nor the new base
 * sets, a name bound nowhere it can see.
 */
export function carriedNames(ctx: PythonTransformContext, oldRoot: SyntaxNode, work: SyntaxNode[], given: { names?: Set<string>; members?: Set<string> } = {}): Set<string> | null {
  // `given`: names the caller writes as something else (an old __init__ parameter as its default), members of self it sets itself.
  const bound = new Set<string>(given.names);
  for (const st of work) {
    walk(st, (n) => {
      if (n.type === 'as_pattern_target' || n.type === 'for_statement') {
        const t = n.type === 'for_statement' ? n.childForFieldName('left') : n;
        if (t) walk(t, (i) => void (i.type === 'identifier' && bound.add(i.text)));
      }
      const e = n.type === 'assignment' ? n.childForFieldName('left') : null;
      if (e?.type === 'identifier') bound.add(e.text);
    });
  }
  const agentAttrs = new Set(ctx.agent.assignments.map((a) => a.attr));
  const out = new Set<string>();
  let ok = true;
  for (const st of work) {
    walk(st, (n) => {
      if (!ok) return false;
      if (n.type === 'attribute') {
        const obj = n.childForFieldName('object')!;
        if (obj.type === 'identifier' && obj.text === 'self') {
          const attr = n.childForFieldName('attribute')!.text;
          ok = agentAttrs.has(attr) || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr) || !!given.members?.has(attr);
          return false;
        }
        return;
      }
      if (n.type !== 'identifier') return;
      // `os.makedirs`'s `makedirs`, `exist_ok=`: names of something else, not reads.
      const field = n.parent?.type === 'attribute' ? 'attribute' : n.parent?.type === 'keyword_argument' ? 'name' : null;
      if (field && n.parent!.childForFieldName(field)?.id === n.id) return;
      if (n.text === 'self' || bound.has(n.text) || BUILTINS.has(n.text)) return;
      if (!moduleBinding(oldRoot, n.text)) return (ok = false);
      out.add(n.text);
    });
  }
  return ok ? out : null;
}

/** The old base file's top-level statement binding `name`: an import of it or a plain assignment. */
export function moduleBinding(root: SyntaxNode, name: string): SyntaxNode | null {
  for (const s of root.namedChildren) {
    if (s.type === 'import_statement' && s.namedChildren.every((d) => d.type === 'dotted_name') && s.namedChildren.some((d) => d.text === name)) return s;
    const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    if (e?.type === 'assignment' && e.childForFieldName('left')?.text === name) return s;
  }
  return null;
}

/**
 * What the agent's module lacks of those names: `import time` (a module the old base imported), a constant
 * copied with its value (`STATE_DIR = os.path.join("state")`, with `why` as its comment), after the module's imports.
 */
export function carryModuleNames(ctx: PythonTransformContext, oldRoot: SyntaxNode, names: Set<string>, why: string, concern: string): void {
  const eol = ctx.layout.eol;
  const imports: string[] = [];
  const constants: string[] = [];
  for (const name of names) {
    if (moduleBinding(ctx.module.root, name) || ctx.module.imports.has(name)) continue;
    const s = moduleBinding(oldRoot, name)!;
    if (s.type === 'import_statement') imports.push(`import ${name}`);
    else constants.push(`${s.text}  # ${why}`);
  }
  const anchor = importAnchor(ctx.module.root);
  if (!anchor || !(imports.length || constants.length)) return;
  ctx.edits.insert(lineEnd(ctx.source, anchor.endIndex), [...imports, ...constants].map((l) => l + eol).join(''), concern);
}

/** `agent.stop()` in the module's own code, on a name bound to `Agent(...)`: pointed at the hook. Each call's name and line. */
export function pointCallers(ctx: PythonTransformContext, method: string, hook: string, concern = 'old-base-teardown-move'): Array<{ name: string; line: number }> {
  const calls = agentCallsOf(ctx, method);
  for (const c of calls) ctx.edits.replace(c.attr.startIndex, c.attr.endIndex, hook, concern);
  return calls.map((c) => ({ name: c.name, line: c.line }));
}

/** The module's own `agent.<method>()` calls (no arguments) on a name bound to `Agent(...)`, outside the class. */
export function agentCallsOf(ctx: PythonTransformContext, method: string): Array<{ name: string; line: number; attr: SyntaxNode }> {
  const agentNames = new Set<string>();
  const cls = ctx.agent.cls.node;
  const inClass = (n: SyntaxNode) => n.startIndex >= cls.startIndex && n.endIndex <= cls.endIndex;
  walk(ctx.module.root, (n) => {
    if (n.id === cls.id) return false;
    const right = n.type === 'assignment' ? n.childForFieldName('right') : null;
    const left = n.type === 'assignment' ? n.childForFieldName('left') : null;
    if (left?.type === 'identifier' && right?.type === 'call' && right.childForFieldName('function')?.text === ctx.agent.cls.name) agentNames.add(left.text);
  });
  const calls: Array<{ name: string; line: number; attr: SyntaxNode }> = [];
  walk(ctx.module.root, (n) => {
    if (n.id === cls.id) return false;
    if (n.type !== 'call' || inClass(n)) return;
    const f = n.childForFieldName('function');
    const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
    const attr = f?.type === 'attribute' ? f.childForFieldName('attribute')! : null;
    if (!obj || !attr || obj.type !== 'identifier' || !agentNames.has(obj.text) || attr.text !== method) return;
    if (n.childForFieldName('arguments')?.namedChildCount) return;
    calls.push({ name: obj.text, line: n.startPosition.row + 1, attr });
  });
  return calls;
}

/** The statement's full lines in the old base's file (its first line from the line start). */
function sourceLines(parent: InheritedClass, st: SyntaxNode): string {
  const src = parent.module.root.text;
  return src.slice(lineStart(src, st.startIndex), st.endIndex).replace(/\r\n/g, '\n');
}

export function dedent(text: string, column: number): string {
  return text.split('\n').map((l) => l.slice(Math.min(column, /^[ \t]*/.exec(l)![0].length))).join('\n');
}
