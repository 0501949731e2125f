// Concern: every log line printed twice. The base's constructor gives its logger (named by the name the
// agent passes it) a handler of its own unless that logger already has one; the agent's own set-up of a
// logger of that same name (`logging.getLogger(self.__class__.__name__)` + `addHandler(...)`) now runs after
// super().__init__(), so the base saw no handler, added its own, and the agent then adds a second one.
// Said precisely (the agent's line, the base's line): moving the set-up above the call is not proven safe.
import path from 'node:path';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { callee, selfAttribute, statements, stringValue, walk } from '../../src/lang/python/syntax.js';
import { baseCallAt } from './bind-resolved-port.js';
import { moveHandlerSetUp } from './log-handler-move.js';

export const logHandlerTwice: PythonTransform = {
  name: 'log-handler-twice',
  phase: 'edit',
  run(ctx) {
    const h = ctx.base.initLogHandler;
    const init = ctx.agent.methods.get('__init__');
    // A base that skips a logger with handlers of its own is the one whose handler the agent's set-up, run first, would avoid.
    if (!h || !h.unlessHandlers || !init) return;
    const callAt = baseCallAt(ctx, init.node);
    if (callAt === null) return;
    const sameName = sameNameAsBase(ctx, h.loggerName);
    if (!sameName) return;
    // __init__'s statements after the base's call, and the agent's methods they call (`self._setup_logging()` renamed).
    const scopes: Array<{ fn: PyFunction; from: number }> = [{ fn: init, from: callAt }];
    for (const st of statements(init.body)) {
      if (st.startIndex < callAt) continue;
      walk(st, (n) => {
        if (n.type !== 'call') return;
        const m = selfAttribute(n.childForFieldName('function')!);
        const fn = m ? ctx.agent.methods.get(m) : undefined;
        if (fn && fn.name !== '__init__' && !scopes.some((s) => s.fn === fn)) scopes.push({ fn, from: fn.body.startIndex });
      });
    }
    // ... and those a transform wires in there (an older base's constructor hook, renamed, now called after the call).
    const renamedFrom = new Map([...ctx.renames].map(([from, to]) => [to, from]));
    for (const e of ctx.edits.touching(callAt, init.node.endIndex + ctx.layout.eol.length)) {
      for (const m of e.text.matchAll(/\bself\.(\w+)\(/g)) {
        const fn = ctx.agent.methods.get(renamedFrom.get(m[1]!) ?? m[1]!);
        if (fn && fn.name !== '__init__' && !scopes.some((s) => s.fn === fn)) scopes.push({ fn, from: fn.body.startIndex });
      }
    }
    // The root logger set up before the agent is built (basicConfig at import, in main() before the constructor):
    // the base then gives its logger no handler of its own.
    if (h.unlessRootHandlers && rootSetUpBefore(ctx)) return;
    for (const { fn, from } of scopes) {
      const holders = loggerHolders(fn, sameName);
      let added: SyntaxNode | null = null;
      walk(fn.body, (n) => {
        if (added) return false;
        if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
        if (n.type !== 'call' || n.startIndex < from || !/\.addHandler$/.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
        const obj = n.childForFieldName('function')!.childForFieldName('object')!;
        if (holders.has(obj.text.replace(/\s+/g, '')) || (obj.type === 'call' && isSameLogger(obj, sameName))) added = n;
      });
      const call = added as SyntaxNode | null;
      if (!call) {
        rootSetUpAfter(ctx, fn, from, holders);
        continue;
      }
      const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : ctx.profile.base_class;
      // In __init__ itself: the set-up goes above the call when that is provably the same set-up.
      const move = fn === init ? moveHandlerSetUp(ctx, init, callAt, holderNames(fn, sameName), addsTo(holders, sameName)) : null;
      if (move) {
        ctx.warnings.push(
          `${ctx.agent.cls.name}.__init__: the handler set-up on the logger ${ctx.profile.base_class} names ${sameName.label} (lines ${move.moved.map((s) => s.startPosition.row + 1).join(', ')}) ` +
            `moved above super().__init__(): ${ctx.profile.base_class}.${h.method}() (${baseFile} line ${h.line}) finds that logger with a handler and adds none, each line printed once as before`,
        );
        return;
      }
      ctx.warnings.push(
        `${ctx.agent.cls.name}.${ctx.renames.get(fn.name) ?? fn.name}: line ${call.startPosition.row + 1} adds a handler to the logger ${ctx.profile.base_class} names ${sameName.label} too, ` +
          `now after super().__init__(): ${ctx.profile.base_class}.${h.method}() (${baseFile} line ${h.line}) found that logger without a handler and gave it its own` +
          `${h.unlessRootHandlers ? ' (the root logger had none either)' : ''}, so every line is printed twice. Set the agent's logger up before super().__init__() ` +
          `(the base adds nothing to a logger that has a handler) or drop one of the two handlers`,
      );
      return;
    }
  },
};

/**
 * `logging.basicConfig(...)` (or a handler on the root logger) after the base's call, with a logger of the base's
 * name in use: the base found the root without handlers and gave its logger its own (stderr), cutting it off the
 * root's when it stops propagation: that logger's lines no longer reach what the agent's basicConfig set up
 * (its file, its format). Not a duplicate: a destination lost, said with both lines.
 */
function rootSetUpAfter(ctx: PythonTransformContext, fn: PyFunction, from: number, holders: Set<string>): void {
  const h = ctx.base.initLogHandler!;
  if (!h.unlessRootHandlers || !holders.size) return;
  let root: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (root) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'call' || n.startIndex < from || isRemoved(ctx, n)) return;
    if (/(^|\.)basicConfig$/.test(callee(n) ?? '') || isRootHandler(n)) root = n;
  });
  const call = root as SyntaxNode | null;
  if (!call) return;
  const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : ctx.profile.base_class;
  ctx.warnings.push(
    `${ctx.agent.cls.name}.${ctx.renames.get(fn.name) ?? fn.name}: line ${call.startPosition.row + 1} sets up the root logger (${callee(call)}(...)) after super().__init__(): ` +
      `${ctx.profile.base_class}.${h.method}() (${baseFile} line ${h.line}) found the root without handlers and gave its logger, the one ${[...holders].join(', ')} holds too, ` +
      `a stderr handler of its own${h.propagateOff ? ' and stopped it propagating' : ''}: that logger's lines ${h.propagateOff ? 'no longer reach' : 'reach both it and'} what line ${call.startPosition.row + 1} sets up. ` +
      `Set the root logger up before super().__init__() (the base then adds no handler)`,
  );
}

/** A `logging.basicConfig(...)` or root-logger handler outside the agent's class, ahead of every construction of the agent. */
function rootSetUpBefore(ctx: PythonTransformContext): boolean {
  const cls = ctx.agent.cls;
  let first = Infinity;
  let root = Infinity;
  walk(ctx.module.root, (n) => {
    if (n.id === cls.node.id) return false;
    if (n.type !== 'call') return;
    const fnText = callee(n) ?? '';
    if (fnText === cls.name) first = Math.min(first, n.startIndex);
    if (/(^|\.)basicConfig$/.test(fnText) || isRootHandler(n)) root = Math.min(root, n.startIndex);
  });
  return root < first;
}

/** `logging.getLogger().addHandler(...)`. */
function isRootHandler(call: SyntaxNode): boolean {
  const obj = call.childForFieldName('function')!.childForFieldName('object');
  return /\.addHandler$/.test(callee(call) ?? '') && obj?.type === 'call' && /(^|\.)getLogger$/.test(callee(obj) ?? '') && !obj.childForFieldName('arguments')!.namedChildren.length;
}

interface BaseLoggerName {
  /** The name as a string (`"PaymentReconcilerAgent"`), for the message. */
  label: string;
  /** The agent's spellings of that name: literal, class name, the base's own attribute. */
  spellings: Set<string>;
}

/**
 * What the agent writes for the name of the base's logger: the base names it `self.<name keyword>` (what the
 * agent passes it, the class name when it passes none); the agent's `"X"`, `self.__class__.__name__`,
 * `type(self).__name__` name the same logger when X is that name. Null when the base's logger is named otherwise.
 */
export function sameNameAsBase(ctx: PythonTransformContext, loggerName: string): BaseLoggerName | null {
  const key = ctx.py.super_call.name_keyword;
  if (loggerName.replace(/\s+/g, '') !== `self.${key}`) return null;
  const passed = ctx.passThrough.get(key);
  const cls = ctx.agent.cls.name;
  const literal = passed === undefined ? cls : /^(["'])[^"'\\]*\1$/.test(passed) ? passed.slice(1, -1) : null;
  if (literal === null) return null;
  const spellings = new Set([`self.${key}`, JSON.stringify(literal), `'${literal}'`]);
  if (literal === cls) for (const s of ['self.__class__.__name__', 'type(self).__name__', `${cls}.__name__`]) spellings.add(s);
  return { label: JSON.stringify(literal), spellings };
}

function isSameLogger(call: SyntaxNode, name: BaseLoggerName): boolean {
  if (!/(^|\.)getLogger$/.test(callee(call) ?? '')) return false;
  const arg = call.childForFieldName('arguments')!.namedChildren[0];
  if (!arg) return false;
  const s = arg.type === 'string' ? stringValue(arg) : null;
  return s !== null ? name.spellings.has(JSON.stringify(s)) : name.spellings.has(arg.text.replace(/\s+/g, ''));
}

/** `self.logger` / `log`: what the method assigns a getLogger() of the base's logger's name to. */
function loggerHolders(fn: PyFunction, name: BaseLoggerName): Set<string> {
  return new Set(holderAssignments(fn, name).map((a) => a.holder));
}

/** Each `<holder> = getLogger(<the base's logger's name>)` of the method, with that call. */
function holderAssignments(fn: PyFunction, name: BaseLoggerName): Array<{ holder: string; call: SyntaxNode }> {
  const out: Array<{ holder: string; call: SyntaxNode }> = [];
  walk(fn.body, (n) => {
    if (n.type !== 'assignment') return;
    const right = n.childForFieldName('right');
    const left = n.childForFieldName('left')!;
    if (right?.type === 'call' && isSameLogger(right, name) && (left.type === 'identifier' || selfAttribute(left))) out.push({ holder: left.text.replace(/\s+/g, ''), call: right });
  });
  return out;
}

/**
 * Holders of the base's logger whose getLogger() reads nothing of the instance but its class
 * (`self.logger = logging.getLogger("X")`, `self.__class__.__name__`), with that call: the name the
 * moved set-up addresses the logger by. `getLogger(self.name)` reads what the base sets: not here.
 */
function holderNames(fn: PyFunction, name: BaseLoggerName): Map<string, string> {
  const out = new Map<string, string>();
  for (const { holder, call } of holderAssignments(fn, name)) {
    if (/\bself\b(?!\.__class__\b)/.test(call.text)) continue;
    // Two different spellings for one holder: not one name to address it by.
    out.set(holder, out.has(holder) && out.get(holder) !== call.text ? '' : call.text);
  }
  for (const [k, v] of out) if (!v) out.delete(k);
  return out;
}

/** `<holder>.addHandler(...)` or `getLogger(<the base's name>).addHandler(...)` as a statement of its own. */
export function addsTo(holders: Set<string>, name: BaseLoggerName): (st: SyntaxNode) => boolean {
  return (st) => {
    const call = st.type === 'expression_statement' && st.namedChildCount === 1 ? st.namedChild(0)! : null;
    if (call?.type !== 'call' || !/\.addHandler$/.test(callee(call) ?? '')) return false;
    const obj = call.childForFieldName('function')!.childForFieldName('object')!;
    return holders.has(obj.text.replace(/\s+/g, '')) || (obj.type === 'call' && isSameLogger(obj, name));
  };
}

/** For super-init on a second run: the statement adds a handler to the base's logger, by its name (what the move writes). */
export function addsToBaseLogger(ctx: PythonTransformContext): ((st: SyntaxNode) => boolean) | null {
  const h = ctx.base.initLogHandler;
  if (!h || !h.unlessHandlers) return null;
  const name = sameNameAsBase(ctx, h.loggerName);
  return name ? addsTo(new Set(), name) : null;
}
