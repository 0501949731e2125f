// Concern: the agent's own handler set-up on the base's logger, after super().__init__() in the _v2, moved
// above that call. The base's constructor gives its logger a handler only when it has none: run first, the
// agent's handler is the only one (each line once), as in the legacy. Moved only when provably the same set-up:
// every statement it reads is moved with it or was there before the call, nothing it reads is set by the base
// (`getLogger(self.name)` stays), the logger is addressed by its name (`self.logger` is the base's to set), and
// the statements it jumps over hold nothing it needs but the directories it writes into (those move with it).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { withRenames } from '../../src/lang/python/transform-context.js';
import { callee, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart, onlyWhitespaceBefore } from '../../src/lang/python/text.js';

const label = 'log-handler-move';

/** What a statement reads and writes: locals by name, attributes of self as `self.x`. */
interface Access {
  reads: Set<string>;
  writes: Set<string>;
  /** `self` used otherwise than as `self.x` (a method call, handed on): never moved. */
  bareSelf: boolean;
}

/** Directories made for files the set-up opens: `os.makedirs(...)`, `os.mkdir(...)`, `<path>.mkdir(...)`. */
function makesDirectory(st: SyntaxNode): boolean {
  const call = st.type === 'expression_statement' ? st.namedChild(0) : null;
  return call?.type === 'call' && /^os\.(makedirs|mkdir)$|\.mkdir$/.test(callee(call) ?? '');
}

/** The call of a bare call statement (`handler.setFormatter(...)`), else null. */
function callOf(st: SyntaxNode): SyntaxNode | null {
  const c = st.type === 'expression_statement' && st.namedChildCount === 1 ? st.namedChild(0)! : null;
  return c?.type === 'call' ? c : null;
}

/** The name a call statement acts on: `handler` of `handler.setFormatter(f)`, `self.log_listener` of `self.log_listener.start()`. */
function receiver(st: SyntaxNode): string | null {
  const fn = callOf(st)?.childForFieldName('function');
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object')! : null;
  if (!obj) return null;
  if (obj.type === 'identifier') return obj.text;
  return selfAttribute(obj) ? `self.${selfAttribute(obj)}` : null;
}

function access(st: SyntaxNode): Access {
  const out: Access = { reads: new Set(), writes: new Set(), bareSelf: false };
  const assign = st.type === 'expression_statement' ? st.namedChild(0) : null;
  const left = assign?.type === 'assignment' ? assign.childForFieldName('left') : null;
  if (left) {
    const attr = selfAttribute(left);
    if (attr) out.writes.add(`self.${attr}`);
    else if (left.type === 'identifier') out.writes.add(left.text);
    else out.bareSelf = true; // tuple targets, subscripts: not read precisely here
  }
  walk(assign?.type === 'assignment' ? assign.childForFieldName('right') ?? st : st, (n) => {
    const attr = selfAttribute(n);
    if (attr) {
      if (attr !== '__class__') out.reads.add(`self.${attr}`);
      return false;
    }
    if (n.type === 'attribute') {
      walk(n.childForFieldName('object')!, (m) => {
        const a = selfAttribute(m);
        if (a) {
          if (a !== '__class__') out.reads.add(`self.${a}`);
          return false;
        }
        if (m.type === 'identifier') {
          if (m.text === 'self') out.bareSelf = true;
          else out.reads.add(m.text);
        }
      });
      return false;
    }
    // (a keyword argument's name is no read)
    if (n.type === 'identifier' && !(n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.startIndex === n.startIndex)) {
      if (n.text === 'self') out.bareSelf = true;
      else out.reads.add(n.text);
    }
  });
  return out;
}

/** A statement alone on its lines, directly in the block (it can be cut out and written elsewhere whole). */
function wholeLines(ctx: PythonTransformContext, st: SyntaxNode): boolean {
  const tail = ctx.source.slice(st.endIndex, lineEnd(ctx.source, st.endIndex)).trim();
  return onlyWhitespaceBefore(ctx.source, st.startIndex) && (tail === '' || tail.startsWith('#')) && st.type === 'expression_statement';
}

/**
 * Moves the handler set-up of __init__'s statements after the base's call above it. `adds` are the
 * `<logger>.addHandler(...)` statements on the base's logger; `holders` the attributes/locals holding that
 * logger (`self.logger`), each replaced in the moved text by `nameExpr`, the getLogger() call naming it.
 * False (nothing edited) when the move is not proven the same set-up.
 */
export function moveHandlerSetUp(
  ctx: PythonTransformContext,
  init: PyFunction,
  callAt: number,
  holderLogger: Map<string, string>,
  isAdd: (st: SyntaxNode) => boolean,
): { moved: SyntaxNode[] } | null {
  const body = statements(init.body);
  const written = ctx.edits.startsBy('super-init', /\bsuper\([^)]*\)\.__init__\(/).includes(callAt);
  const callIdx = written ? body.findIndex((s) => lineStart(ctx.source, s.startIndex) >= callAt) : body.findIndex((s) => s.endIndex === callAt);
  if (callIdx < 0) return null;
  const after = body.slice(written ? callIdx : callIdx + 1);
  const insertAt = lineStart(ctx.source, written ? callAt : body[callIdx]!.startIndex);
  const acc = new Map(after.map((s) => [s, access(s)]));
  const adds = after.filter(isAdd);
  if (!adds.length) return null;
  const moved = new Set<SyntaxNode>(adds);
  const holderNames = new Set(holderLogger.keys());
  // Writers of what the moved statements read, and the calls on what they build, to a fixed point.
  for (let grew = true; grew; ) {
    grew = false;
    for (const st of after) {
      if (moved.has(st)) continue;
      const a = acc.get(st)!;
      const i = after.indexOf(st);
      const feeds = [...a.writes].some((w) => [...moved].some((m) => after.indexOf(m) > i && acc.get(m)!.reads.has(w) && !holderNames.has(w)));
      const r = receiver(st);
      const usesBuilt = r !== null && !holderNames.has(r) && [...moved].some((m) => after.indexOf(m) < i && acc.get(m)!.writes.has(r));
      // An assignment built on what is moved (a QueueListener around the moved queue) is part of the set-up.
      const builtOn = !callOf(st) && [...a.reads].some((r) => !holderNames.has(r) && [...moved].some((m) => after.indexOf(m) < i && acc.get(m)!.writes.has(r)));
      if (feeds || usesBuilt || builtOn) {
        moved.add(st);
        grew = true;
      }
    }
  }
  const order = after.filter((s) => moved.has(s));
  const last = after.indexOf(order[order.length - 1]!);
  const movedWrites = new Set(order.flatMap((s) => [...acc.get(s)!.writes]));
  const params = new Set(init.params.map((p) => p.name));
  // What the statements it jumps over may set: a moved statement reading it reads it before it is set.
  const jumped = after.slice(0, last + 1).filter((s) => !moved.has(s));
  for (const st of jumped) {
    const a = acc.get(st)!;
    if (makesDirectory(st)) {
      // Its path from module names, parameters or what moves with it: it runs as well before the base's call.
      if (a.bareSelf || [...a.reads].some((r) => r.startsWith('self.') && !movedWrites.has(r)) || !wholeLines(ctx, st)) return null;
      order.push(st);
      continue;
    }
    // A compound statement or a call: effects unknown; but the logger's own (setLevel) stay after the call as they were.
    const r = receiver(st);
    if (st.type !== 'expression_statement' || (callOf(st) && !(r !== null && holderNames.has(r)))) return null;
    if ([...a.reads].some((r) => movedWrites.has(r))) return null;
  }
  order.sort((x, y) => x.startIndex - y.startIndex);
  const jumpedWrites = new Set(jumped.filter((s) => !order.includes(s)).flatMap((s) => [...acc.get(s)!.writes]));
  for (const st of order) {
    const a = acc.get(st)!;
    if (a.bareSelf || !wholeLines(ctx, st)) return null;
    // Another transform's edit inside it is not carried along; but a rename of the holder the moved text replaces is moot.
    const holder = isAdd(st) ? callOf(st)!.childForFieldName('function')!.childForFieldName('object')! : null;
    const replaced = holder && holderLogger.has(holder.text.replace(/\s+/g, '')) ? holder : null;
    const others = ctx.edits.touching(lineStart(ctx.source, st.startIndex), lineEnd(ctx.source, st.endIndex));
    if (others.some((e) => !replaced || e.start < replaced.startIndex || e.end > replaced.endIndex)) return null;
    for (const w of a.writes) if (holderNames.has(w) || (w.startsWith('self.') && ctx.baseOwned.has(w.slice(5)))) return null;
    for (const r of a.reads) {
      if (holderNames.has(r) && isAdd(st)) continue;
      // Nothing the base sets (self.name), nothing of the agent's set after the call but by the moved statements.
      if (r.startsWith('self.') ? !movedWrites.has(r) : jumpedWrites.has(r) || (params.has(r) && [...acc.values()].some((x) => x.writes.has(r)))) return null;
      if (holderNames.has(r)) return null;
    }
  }
  const eol = ctx.layout.eol;
  let text = '';
  for (const st of order) {
    let t = ctx.source.slice(lineStart(ctx.source, st.startIndex), st.endIndex);
    if (isAdd(st)) {
      const obj = callOf(st)!.childForFieldName('function')!.childForFieldName('object')!;
      const name = holderLogger.get(obj.text.replace(/\s+/g, ''));
      if (name !== undefined) {
        const off = lineStart(ctx.source, st.startIndex);
        t = t.slice(0, obj.startIndex - off) + name + t.slice(obj.endIndex - off);
      }
    }
    text += withRenames(ctx, t) + eol;
    ctx.edits.deleteOver(lineStart(ctx.source, st.startIndex), lineEnd(ctx.source, st.endIndex), label);
  }
  ctx.edits.insertEarly(insertAt, text, label);
  return { moved: order };
}

/**
 * The statements between the first one touching self and the base's call (a second run over the _v2) are
 * such a moved set-up: assignments, calls on what they build, directories and an addHandler() on the
 * logger `isAdd` recognises, reading nothing of self they do not set and setting nothing the base owns.
 * super-init then leaves the call where it is (it would otherwise go back above them).
 */
export function handlerSetUpBefore(ctx: PythonTransformContext, range: SyntaxNode[], isAdd: (st: SyntaxNode) => boolean): boolean {
  if (!range.length || !range.some(isAdd)) return false;
  const set = new Set<string>();
  for (const st of range) {
    const a = access(st);
    if (a.bareSelf || st.type !== 'expression_statement') return false;
    if ([...a.reads].some((r) => r.startsWith('self.') && !set.has(r))) return false;
    if ([...a.writes].some((w) => w.startsWith('self.') && ctx.baseOwned.has(w.slice(5)))) return false;
    const r = receiver(st);
    // (a statement touching no self, `os.environ.setdefault(...)`, was before the call on the first run too)
    const ok = isAdd(st) || makesDirectory(st) || (r !== null && set.has(r)) || (a.writes.size > 0 && !callOf(st)) || ![...a.reads, ...a.writes].some((x) => x.startsWith('self.'));
    if (!ok) return false;
    for (const w of a.writes) set.add(w);
  }
  return true;
}
