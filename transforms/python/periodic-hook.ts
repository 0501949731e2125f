// Concern: a legacy run() that does periodic business work (`while self.running: self.tick();
// time.sleep(0.5)`), when the base's own run() calls a no-argument hook every interval until it
// stops (`run_once` every `loop_interval` seconds for the reference BaseAgent). The loop body
// becomes the hook, the sleep becomes the interval (a class attribute), and what run() did
// before its loop stays in a run() override that then calls the base's. The base's loop ends on
// stop() and SIGTERM, so the agent's own stop flag and signal handling are not needed for it.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { withRenames } from '../../src/lang/python/transform-context.js';
import { callee, expressionOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { isTrivial } from '../../src/analysis/infra.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { lineStart, renderBlock } from '../../src/lang/python/text.js';
import { narrowHandlers, type NarrowGuard } from './narrow-guard.js';

export interface PeriodicLoop {
  /** Statements of run() before its loop (they stay in a run() override). */
  before: SyntaxNode[];
  /** The loop body without its final sleep. */
  body: SyntaxNode[];
  /** The sleep's interval expression (module-level names only). */
  interval: string;
  /** The loop body already handled every error (a try around it catching every exception). */
  guarded: boolean;
  /** The try around the loop body caught only some exceptions (`except OSError`): any other ended the legacy loop. */
  narrow: NarrowGuard | null;
}

const found = new WeakMap<PythonTransformContext, PeriodicLoop>();

export const periodicHookPropose: PythonTransform = {
  name: 'periodic-hook-propose',
  phase: 'propose',
  run(ctx) {
    const loopOf = periodicMainLoop(ctx);
    if (!loopOf) return;
    const { hook, name, run } = loopOf;
    if (ctx.agent.methods.has(hook.hook) || ctx.agent.attributes.has(hook.intervalAttribute)) return;
    if (run.params.some((p) => p.name !== 'self' && p.kind !== 'separator')) return;
    const loop = analyse(ctx, run.body);
    if (!loop) return;
    found.set(ctx, loop);
    ctx.plan.proposeMember({
      name,
      kind: 'method',
      finding: 'loop',
      reason: `periodic loop: ${ctx.profile.base_class}.${name}() calls ${hook.hook}() every ${hook.intervalAttribute} seconds until it stops, and ${hook.hook}() now holds the loop's work`,
    });
  },
};

/**
 * The base's periodic hook (with the interval attribute its run() waits) and the agent's main loop method,
 * when the base's run() loops that hook (no request loop) and the agent has a synchronous main loop method.
 */
export function periodicMainLoop(ctx: PythonTransformContext): { hook: { hook: string; intervalAttribute: string }; name: string; run: PyFunction } | null {
  const hook = ctx.base.periodicHook;
  const name = ctx.py.main_loop_method ?? 'run';
  const run = ctx.agent.methods.get(name);
  if (!hook?.intervalAttribute || ctx.base.requestLoop || !run || run.isAsync) return null;
  return { hook: { hook: hook.hook, intervalAttribute: hook.intervalAttribute }, name, run };
}

export const periodicHook: PythonTransform = {
  name: 'periodic-hook',
  phase: 'edit',
  run(ctx) {
    const loop = found.get(ctx);
    const hook = ctx.base.periodicHook;
    const name = ctx.py.main_loop_method ?? 'run';
    const run = ctx.agent.methods.get(name);
    if (!loop || !hook?.intervalAttribute || !run || !ctx.resolved?.members.has(name)) return;
    const src = ctx.source;
    const defIndent = src.slice(lineStart(src, run.outer.startIndex), run.outer.startIndex);
    // What run() did before its loop is copied as text: a statement of it the migration deletes (the thread
    // serving the removed health server) must not come back with the copy.
    const scope = { removed: new Set(ctx.resolved.members.keys()), baseOwned: ctx.baseOwned };
    const before = loop.before.filter((s) => !ctx.plan.statementGoes(s, scope, ctx.agent));
    let block = '';
    if (before.length) block += `def ${name}(self):\n${reindent(ctx, before).join('\n')}\n    super().${name}()\n\n`;
    block += `def ${hook.hook}(self):\n${reindent(ctx, loop.body).join('\n')}\n`;
    ctx.edits.insert(lineStart(src, run.outer.startIndex), renderBlock(withRenames(ctx, block), defIndent, ctx.layout), 'periodic-hook');
    // The interval, as a class attribute before the first statement of the class body (after its docstring).
    const first = statements(ctx.agent.cls.body).find((s) => !isDocstring(s));
    if (first) {
      const indent = src.slice(lineStart(src, first.startIndex), first.startIndex);
      ctx.edits.insert(lineStart(src, first.startIndex), `${indent}${hook.intervalAttribute} = ${loop.interval}${ctx.layout.eol}${ctx.layout.eol}`, 'periodic-hook');
    }
    ctx.warnings.push(
      `${name}() looped its work every ${loop.interval} s: the work is now ${hook.hook}(), which ${ctx.profile.base_class}.${name}() calls every ${hook.intervalAttribute} = ${loop.interval} seconds until stop() or SIGTERM` +
        (before.length ? `; what ${name}() did before its loop stays in ${name}(), which then calls super().${name}()` : '') +
        (loop.guarded || loop.narrow ? '' : `; an exception in ${hook.hook}() is logged by the base and the loop goes on (the legacy loop ended)`),
    );
    if (loop.narrow) {
      const g = loop.narrow;
      const types = g.types.join(', ');
      ctx.warnings.push(
        `${ctx.agent.cls.name}: ${name}() caught only ${types} around its work (line ${g.line}: ${g.text}): any other exception from it ended the legacy agent (a traceback, exit status 1, a restart by its supervisor); ` +
          `${ctx.profile.base_class}.${name}() catches every exception from ${hook.hook}(), logs it with the traceback and runs the next tick, so such a failure no longer stops the agent: ` +
          `if it must, catch what is not ${types} in ${hook.hook}() and end the process there (raise SystemExit(1), which the base's loop does not catch)`,
      );
    }
  },
};

/** Statements re-expressed at one logical level (4 spaces) below a def, in the file's unit. */
export function reindent(ctx: PythonTransformContext, stmts: SyntaxNode[]): string[] {
  const src = ctx.source;
  const first = stmts[0]!;
  const from = lineStart(src, first.startIndex);
  const indent = src.slice(from, first.startIndex);
  const text = src.slice(from, stmts[stmts.length - 1]!.endIndex);
  const unit = ctx.layout.unit;
  return text.split(/\r?\n/).map((line) => {
    if (!line.trim()) return '';
    let rest = line.startsWith(indent) ? line.slice(indent.length) : line.trimStart();
    let depth = 0;
    while (unit && rest.startsWith(unit)) {
      depth++;
      rest = rest.slice(unit.length);
    }
    return `    ${'    '.repeat(depth)}${rest}`;
  });
}

/** run() as [statements before] + one periodic loop ending with a sleep, or null when it is not one. */
export function analyse(ctx: PythonTransformContext, runBody: SyntaxNode): PeriodicLoop | null {
  const stmts = statements(runBody).filter((s) => s.type !== 'comment' && !isDocstring(s));
  const at = stmts.findIndex((s) => s.type === 'while_statement');
  if (at < 0 || at !== stmts.length - 1) return null;
  const loop = stmts[at]!;
  if (loop.namedChildren.some((c) => c.type === 'else_clause')) return null;
  const before = stmts.slice(0, at);
  const cond = loop.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  // The base's loop runs while self.running (which its stop() clears): the same condition, or none.
  if (!(cond === 'True' || cond === '1' || (cond === 'self.running' && ctx.baseOwned.has('running')))) return null;
  const body = statements(loop.childForFieldName('body')).filter((s) => s.type !== 'comment');
  const last = body[body.length - 1];
  const interval = last ? sleepInterval(ctx, last) : null;
  if (!interval) return null;
  const work = body.slice(0, -1);
  if (!work.length || work.every(isTrivial)) return null;
  // The work must stand alone in a method called once per tick.
  const beforeLocals = new Set<string>();
  for (const s of before) {
    walk(s, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition') return false;
      if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' || n.type === 'with_item') {
        const left = n.childForFieldName('left') ?? n.childForFieldName('alias');
        if (left) walk(left, (x) => {
          if (x.type === 'identifier') beforeLocals.add(x.text);
        });
      }
    });
    if (hasMultilineString(s) || hasReturn(s)) return null;
  }
  for (const s of work) {
    let bad = false;
    walkLoopLevel(s, (n) => {
      if (n.type === 'break_statement' || n.type === 'continue_statement') bad = true;
    });
    walk(s, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'return_statement' || n.type === 'yield') bad = true;
      // a local carried from one iteration to the next (count += 1) or from before the loop
      if (n.type === 'augmented_assignment' && n.childForFieldName('left')?.type === 'identifier') bad = true;
      if (n.type === 'identifier' && beforeLocals.has(n.text)) bad = true;
      if (n.type === 'string' && n.text.includes('\n')) bad = true;
    });
    if (bad) return null;
  }
  const tried = work.length === 1 && work[0]!.type === 'try_statement' && work[0]!.namedChildren.some((c) => c.type === 'except_clause');
  // `except OSError:` alone: a ValueError still went up out of run() and ended the legacy agent.
  const narrow = tried ? narrowHandlers(work[0]!) : null;
  return { before, body: work, interval, guarded: tried && !narrow, narrow };
}

/** `time.sleep(X)` / `sleep(X)` / `self.<event>.wait(X)` with X made of module-level names defined before the class. */
function sleepInterval(ctx: PythonTransformContext, s: SyntaxNode): string | null {
  const e = expressionOf(s);
  if (e?.type !== 'call') return null;
  const fn = callee(e) ?? '';
  const isSleep = /^(time\.)?sleep$/.test(fn) || (/\.wait$/.test(fn) && selfAttribute(e.childForFieldName('function')!.childForFieldName('object')!) !== null);
  const args = e.childForFieldName('arguments')?.namedChildren ?? [];
  if (!isSleep || args.length !== 1 || args[0]!.type === 'keyword_argument') return null;
  const x = args[0]!;
  let ok = true;
  walk(x, (n) => {
    if (n.type === 'attribute') {
      // os.environ-style module attributes are fine; self is not
      if (n.text.startsWith('self.') || n.text === 'self') ok = false;
      return;
    }
    if (n.type === 'identifier' && !(n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) {
      if (!definedBefore(ctx, n.text, ctx.agent.cls.outer.startIndex)) ok = false;
    }
  });
  return ok ? x.text.replace(/\s*\n\s*/g, ' ') : null;
}

/** A module-level name (import, constant, function, class) defined before `pos`, or a builtin. */
function definedBefore(ctx: PythonTransformContext, name: string, pos: number): boolean {
  if (/^(float|int|min|max|abs|round|True|False|None)$/.test(name)) return true;
  for (const s of ctx.module.root.namedChildren) {
    if (s.startIndex >= pos) break;
    if (s.type === 'import_statement' || s.type === 'import_from_statement') {
      if (new RegExp(`\\b${name}\\b`).test(s.text)) return true;
    } else if (s.type === 'expression_statement') {
      const a = s.namedChild(0);
      if (a?.type === 'assignment' && a.childForFieldName('left')?.text === name) return true;
    } else if (s.type === 'function_definition' || s.type === 'class_definition') {
      if (s.childForFieldName('name')?.text === name) return true;
    }
  }
  return false;
}

/** Walk a statement of the loop body without entering nested loops, functions or classes. */
function walkLoopLevel(node: SyntaxNode, fn: (n: SyntaxNode) => void): void {
  walk(node, (n) => {
    if (/^(while_statement|for_statement|function_definition|class_definition|lambda)$/.test(n.type)) return false;
    fn(n);
  });
}

function hasMultilineString(s: SyntaxNode): boolean {
  let found = false;
  walk(s, (n) => {
    if (n.type === 'string' && n.text.includes('\n')) found = true;
  });
  return found;
}

function hasReturn(s: SyntaxNode): boolean {
  let found = false;
  walk(s, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'return_statement') found = true;
  });
  return found;
}
