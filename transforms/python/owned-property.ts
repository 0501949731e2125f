// Concern: a property of the agent named like an attribute the base assigns (`@property def port(self):
// return int(self._cfg.get("port", 7890))`, with no setter). Once the class inherits the base, the
// base's own `self.port = ...` in its __init__ meets the property and raises AttributeError: the _v2
// could never start.
//
// Resolved when it is provably a value fixed once the constructor has run: the base takes it as a
// keyword of its constructor (port=, health_check_port=, name=), the getter is one `return <expr>`
// that reads only attributes of the agent's own that __init__'s leading statements build (`self._cfg =
// load_config()`, `self._cfg.update(overrides or {})`) and that nothing changes afterwards (every
// other use is a lookup: `.get(...)`, `[...]`), module names and plain conversions. Then
// super().__init__() goes after those statements, the base is given that expression, and the property
// goes: its readers read the base's attribute, which holds the same value (or the one the deployment
// chose by environment, as for every migrated agent). Otherwise the rewrite is refused before
// anything is written, naming the property's line and why.
import path from 'node:path';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { bindingsOf, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { derivedPortServerProperty, handedDerivedPort, keptRoutesKeyword } from './derived-port-server.js';
// super-init imports this file too (where its call goes): functions only, called at run time.
import { evaluableEarly, helperFunctions, localsBefore, moduleNames } from './super-init.js';

export interface PropertyFeed {
  /** property name → the expression its getter returns (given to the base under the same keyword). */
  values: Map<string, string>;
  /** The property definitions that go. */
  props: PyFunction[];
  /** The last leading statement of __init__ building what the getters read: the call goes right after it (null: they read none). */
  last: SyntaxNode | null;
  /** Agent attributes set by the leading statements up to `last` (readable in the call). */
  attrs: Set<string>;
}

/** Can a value be evaluated before super().__init__() (the statement is moved there, evaluated once)? */
export type Evaluable = (value: SyntaxNode, selfAttrs: Set<string>, before: SyntaxNode, moved: boolean) => boolean;

interface Verdict {
  feed: PropertyFeed | null;
  /** property name → why it cannot be given to the base (null: it can). */
  refused: Map<string, string>;
}

/** The read-only properties named like an attribute the base assigns. */
function clashing(ctx: PythonTransformContext): PyFunction[] {
  const cls = ctx.agent.cls;
  const out: PyFunction[] = [];
  for (const [name, fn] of cls.methods) {
    if (!fn.decorators.includes('property') || !ctx.base.attributes.has(name)) continue;
    // `@port.setter` beside it: the base's assignment goes through the agent's setter.
    const setter = [...cls.body.namedChildren].some((c) => c.type === 'decorated_definition' &&
      c.namedChildren.some((d) => d.type === 'decorator' && d.text.replace(/\s+/g, '') === `@${name}.setter`));
    if (!setter) out.push(fn);
  }
  return out;
}

/**
 * Which clashing properties can be given to the base, and the leading statements of __init__ the
 * constructor call then goes after. `evaluable` is super-init's test of a value before the call.
 */
export function propertyFeed(ctx: PythonTransformContext, evaluable: Evaluable): Verdict {
  const refused = new Map<string, string>();
  const props = clashing(ctx);
  if (!props.length) return { feed: null, refused };
  const init = ctx.agent.cls.methods.get('__init__');
  const keywords = new Set([ctx.py.super_call.name_keyword, ...Object.keys(ctx.py.super_call.pass_through ?? {})]);
  const refuseAll = (why: string) => {
    for (const p of props) refused.set(p.name, why);
    return { feed: null, refused };
  };
  if (!init) return refuseAll('the class has no __init__ building what it reads');
  if (init.params[0]?.name !== 'self') return refuseAll('__init__ names its instance otherwise than self');
  if (/\bsuper\s*\(|\.__init__\s*\(/.test(init.body.text)) return refuseAll('__init__ already calls a parent constructor');
  const body = statements(init.body).filter((s) => !isDocstring(s));
  const firstSelf = body.find((s) => mentionsSelf(s));
  if (!firstSelf) return refuseAll('__init__ builds nothing it reads');
  const chain = leadingChain(ctx, body, firstSelf, evaluable);
  const chainAttrs = new Set(chain.map((c) => c.attr));
  const values = new Map<string, string>();
  const needed = new Set<string>();
  const fed: PyFunction[] = [];
  for (const p of props) {
    const why = keywords.has(p.name) && ctx.base.initParams.includes(p.name)
      ? notFeedable(ctx, p, chainAttrs, init, evaluable, firstSelf)
      : `${ctx.profile.base_class}.__init__ takes no ${p.name}= to be given the value`;
    if (why) {
      refused.set(p.name, why);
      continue;
    }
    const expr = returned(p)!;
    for (const a of attributesRead(expr)) needed.add(a);
    values.set(p.name, expr.text);
    fed.push(p);
  }
  if (!fed.length) return { feed: null, refused };
  // A property under another legacy name of a port the base takes (`health_port` for health_check_port,
  // reading `self.port + 1`): the base is given its value too, the fed properties spelled out in it, so the
  // base serves where the agent did. The property itself stays (the base assigns no attribute of that name).
  const companions = new Map<string, { keyword: string; attrs: Set<string> }>();
  // The same for the property the agent's business HTTP server binds on port + 1 (derived-port-server): the
  // base takes that port as its health port and answers the server's paths there.
  const derived = derivedPortServerProperty(ctx);
  const candidates = Object.entries(ctx.py.super_call.pass_through ?? {}).map(([keyword, legacy]): [string, string[]] =>
    [keyword, keyword === 'health_check_port' && derived ? [...legacy, derived] : legacy]);
  for (const [keyword, legacy] of candidates) {
    if (values.has(keyword) || !ctx.base.initParams.includes(keyword)) continue;
    for (const name of legacy) {
      const fn = ctx.agent.methods.get(name);
      if (name === keyword || !fn?.decorators.includes('property') || ctx.agent.assignments.some((a) => a.attr === name)) continue;
      const expr = returned(fn);
      if (!expr || notFeedable(ctx, fn, new Set([...chainAttrs, ...values.keys()]), init, evaluable, firstSelf)) continue;
      const attrs = new Set([...attributesRead(expr)].filter((a) => !values.has(a)));
      let text = expr.text;
      for (const [prop, v] of values) text = text.replace(new RegExp(`\\bself\\.${prop}\\b`, 'g'), () => (/^[\w.]+(\(.*\))?$/s.test(v) ? v : `(${v})`));
      companions.set(name, { keyword, attrs });
      for (const a of attrs) needed.add(a);
      values.set(keyword, text);
      break;
    }
  }
  // The call goes after the last leading statement touching what the getters read.
  let lastIndex = -1;
  for (let i = 0; i < chain.length; i++) if (needed.has(chain[i]!.attr)) lastIndex = i;
  const upTo = chain.slice(0, lastIndex + 1);
  // (the getters' own `return self._name`: what is being given to the base, read there and nowhere new)
  const placed = new Set([...upTo.map((c) => c.stmt.id), ...fed.map((p) => p.body.id)]);
  // Nothing else changes what the getters read: every other use is a lookup.
  for (const attr of needed) {
    // Every fed getter reading it returns the attribute itself: the base is handed that very object, so only a
    // re-binding of self.<attr> can part the two (a read, or a call on it, sees what the base holds).
    const identity = fed.every((p) => !attributesRead(returned(p)!).has(attr) || selfAttribute(returned(p)!) === attr);
    const why = changedElsewhere(ctx, attr, placed, identity);
    if (why) {
      for (const p of fed) if (attributesRead(returned(p)!).has(attr)) refused.set(p.name, why);
    }
  }
  // A companion stands only beside every property it spells out, on attributes nothing changes later.
  for (const c of companions.values()) {
    if (fed.some((p) => refused.has(p.name)) || [...c.attrs].some((a) => changedElsewhere(ctx, a, placed))) values.delete(c.keyword);
  }
  // The business server's port handed as the health port: the base keeps its paths there when the environment moves /health.
  const keepRoutes = derived && companions.get(derived)?.keyword === 'health_check_port' && values.has('health_check_port') ? keptRoutesKeyword(ctx) : null;
  if (keepRoutes) values.set(keepRoutes, 'True');
  const kept = fed.filter((p) => !refused.has(p.name));
  if (!kept.length) return { feed: null, refused };
  for (const p of fed) if (refused.has(p.name)) values.delete(p.name);
  return { feed: { values, props: kept, last: upTo.length ? upTo[upTo.length - 1]!.stmt : null, attrs: new Set(upTo.map((c) => c.attr)) }, refused };
}

/** Why the property cannot be given to the base as it is, or null. */
function notFeedable(
  ctx: PythonTransformContext,
  p: PyFunction,
  chainAttrs: Set<string>,
  init: PyFunction,
  evaluable: Evaluable,
  firstSelf: SyntaxNode,
): string | null {
  const expr = returned(p);
  if (!expr) return 'its getter does more than return one expression';
  const read = attributesRead(expr);
  if (hasSelf(expr)) return 'its getter reads the instance otherwise than through its attributes';
  for (const a of read) {
    if (!chainAttrs.has(a)) return `it reads self.${a}, which __init__ does not build before anything else it does`;
  }
  // Names of the getter read in __init__ would be __init__'s own parameters or locals there.
  const shadowed = bindingsOf(init.node);
  let clash: string | null = null;
  walk(expr, (n) => {
    if (n.type === 'identifier' && n.text !== 'self' && shadowed.has(n.text) && !isMemberName(n)) clash = n.text;
  });
  if (clash) return `its getter reads ${clash}, which __init__ also names`;
  if (hasEnvOrCall(expr)) return 'its getter reads something that may change after construction';
  if (!evaluable(expr, read, firstSelf, false)) return 'its getter reads something not known before the base is built';
  return null;
}

/** `return <expr>` as the whole getter (a docstring aside), else null. */
function returned(p: PyFunction): SyntaxNode | null {
  const body = statements(p.body).filter((s) => !isDocstring(s));
  if (body.length !== 1 || body[0]!.type !== 'return_statement') return null;
  return body[0]!.namedChild(0);
}

/**
 * The leading statements of __init__ from the first that touches self that may run before the base:
 * `self.<attr> = <value>` of an attribute of the agent's own (not the base's, set once there) and
 * `self.<attr>.<method>(<args>)` on one of those, every value computable there.
 */
export function leadingChain(ctx: PythonTransformContext, body: SyntaxNode[], from: SyntaxNode, evaluable: Evaluable): Array<{ stmt: SyntaxNode; attr: string }> {
  const out: Array<{ stmt: SyntaxNode; attr: string }> = [];
  const set = new Set<string>();
  for (const st of body.slice(body.indexOf(from))) {
    const e = st.type === 'expression_statement' && st.namedChildCount === 1 ? st.namedChild(0) : null;
    if (e?.type === 'assignment') {
      const attr = selfAttribute(e.childForFieldName('left')!);
      const value = e.childForFieldName('right');
      if (!attr || !value || e.childForFieldName('type') || ctx.baseOwned.has(attr) || ctx.base.attributes.has(attr) || ctx.agent.methods.has(attr) || set.has(attr)) break;
      if (ctx.agent.assignments.filter((x) => x.attr === attr).length !== 1) break;
      if (!evaluable(value, new Set(set), st, true)) break;
      set.add(attr);
      out.push({ stmt: st, attr });
      continue;
    }
    if (e?.type === 'call') {
      const fn = e.childForFieldName('function');
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
      const attr = obj ? selfAttribute(obj) : null;
      if (!attr || !set.has(attr)) break;
      const args = e.childForFieldName('arguments')!;
      if (!args.namedChildren.every((a) => evaluable(a.type === 'keyword_argument' ? a.childForFieldName('value')! : a, new Set(set), st, false))) break;
      out.push({ stmt: st, attr });
      continue;
    }
    break;
  }
  return out;
}

/** A string that is an element of the class body's own `__slots__ = (...)` / `[...]` (or the lone string assigned). */
function slotDeclaration(n: SyntaxNode, cls: SyntaxNode): boolean {
  let p: SyntaxNode | null = n.parent;
  if (p?.type === 'tuple' || p?.type === 'list' || p?.type === 'parenthesized_expression') p = p.parent;
  if (p?.type !== 'assignment' || p.childForFieldName('left')?.text !== '__slots__') return false;
  const stmt = p.parent;
  return stmt?.type === 'expression_statement' && stmt.parent?.type === 'block' && stmt.parent.parent?.id === cls.id;
}

/** Why self.<attr> may hold another value after the constructor, or null when every other use only looks it up. */
function changedElsewhere(ctx: PythonTransformContext, attr: string, placed: Set<number>, identity = false): string | null {
  if (ctx.external(attr).length) return `self.${attr} is reached from another file`;
  for (const r of ctx.refs.of(attr)) {
    if (inside(r.node, placed)) continue;
    // `__slots__ = ("_name", ...)` in the class body declares the slot: nothing is read or written through it.
    if (r.kind === 'string' && slotDeclaration(r.node, ctx.agent.cls.node)) continue;
    if (r.kind === 'string') return `line ${r.line} names ${attr} in a string (getattr/setattr)`;
    if (r.kind !== 'attribute') continue;
    const a = r.node.parent!;
    const up = a.parent;
    if (up?.type === 'attribute' && up.childForFieldName('object')?.id === a.id && up.childForFieldName('attribute')?.text === 'get' &&
        up.parent?.type === 'call') continue;
    if (up?.type === 'subscript' && up.childForFieldName('value')?.id === a.id && !assignedTo(up)) continue;
    if (identity && selfAttribute(a) === attr && !rebound(a)) continue;
    return `line ${r.line} may change self.${attr} after the constructor`;
  }
  return null;
}

/** self.<attr> bound anew where it stands: an assignment's or a loop's target, deleted, or `with ... as self.<attr>`. */
function rebound(a: SyntaxNode): boolean {
  for (let n: SyntaxNode = a; n.parent; n = n.parent) {
    const p: SyntaxNode = n.parent;
    if (assignedTo(n)) return true;
    if (p.type === 'for_statement' || p.type === 'for_in_clause') return p.childForFieldName('left')?.id === n.id;
    if (p.type === 'as_pattern_target') return true;
    // inside a target list (`self._name, x = ...`): assignedTo() of the list answers
    if (p.type !== 'pattern_list' && p.type !== 'tuple_pattern' && p.type !== 'list_pattern' && p.type !== 'tuple' && p.type !== 'list') return false;
  }
  return false;
}

function assignedTo(n: SyntaxNode): boolean {
  const p = n.parent;
  if (!p) return false;
  if ((p.type === 'assignment' || p.type === 'augmented_assignment') && p.childForFieldName('left')?.id === n.id) return true;
  if (p.type === 'delete_statement' || p.type === 'pattern_list' || p.type === 'tuple_pattern') return true;
  return false;
}

function inside(n: SyntaxNode, ids: Set<number>): boolean {
  for (let p: SyntaxNode | null = n; p; p = p.parent) if (ids.has(p.id)) return true;
  return false;
}

function attributesRead(expr: SyntaxNode): Set<string> {
  const out = new Set<string>();
  walk(expr, (n) => {
    const a = selfAttribute(n);
    if (a) out.add(a);
  });
  return out;
}

function hasSelf(expr: SyntaxNode): boolean {
  let found = false;
  walk(expr, (n) => {
    if (n.type === 'identifier' && n.text === 'self' && !selfAttribute(n.parent!)) found = true;
  });
  return found;
}

function mentionsSelf(s: SyntaxNode): boolean {
  let found = false;
  walk(s, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && n.text === 'self') found = true;
  });
  return found;
}

function isMemberName(n: SyntaxNode): boolean {
  const p = n.parent;
  return (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) ||
    (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id);
}

/** The environment, the clock or a helper's answer: may differ from one read of the property to the next. */
function hasEnvOrCall(expr: SyntaxNode): boolean {
  let found = false;
  walk(expr, (n) => {
    if (found || n.type !== 'call') return;
    const fn = n.childForFieldName('function')!.text;
    if (/^(int|float|str|bool|min|max|abs|round)$/.test(fn) || /^self\.\w+\.get$/.test(fn)) return;
    found = true;
  });
  return found;
}

export const ownedProperty: PythonTransform = {
  name: 'owned-property',
  phase: 'edit',
  run(ctx) {
    const props = clashing(ctx);
    if (!props.length) return;
    const { feed, refused } = propertyFeed(ctx, earlyTest(ctx));
    const keywords = new Set([ctx.py.super_call.name_keyword, ...Object.keys(ctx.py.super_call.pass_through ?? {})]);
    for (const p of props) {
      const why = refused.get(p.name);
      if (!why && feed?.values.has(p.name)) continue;
      // An attribute the base sets to a value of its own (`self.config = dict(kwargs)`), which no keyword of its
      // constructor gives it: the agent's property was never the base's value, so the two need not be one. The
      // property (a live re-read of a file, say) gets a name of its own with its reads, as they were.
      if (!(keywords.has(p.name) && ctx.base.initParams.includes(p.name))) {
        renameOwnProperty(ctx, p);
        continue;
      }
      const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : ctx.profile.base_class;
      throw new MigrateError(
        `${ctx.agent.cls.name}.${p.name} (line ${p.line}) is a read-only property, but ${ctx.profile.base_class} (${baseFile}) assigns self.${p.name} ` +
          `itself: on the base its constructor would raise AttributeError. It cannot be given to the base as it is (${why ?? 'not resolved'}): ` +
          `give the base the value the property computes (built before super().__init__()) and let its readers read the base's self.${p.name}, by hand; nothing written`,
        ctx.file,
        p.line,
      );
    }
    for (const p of feed?.props ?? []) {
      ctx.deletions.push({ node: p.outer, symbol: p.name });
      ctx.warnings.push(
        `${ctx.agent.cls.name}.${p.name} (line ${p.line}) was a read-only property, but ${ctx.profile.base_class}.__init__ assigns self.${p.name}: ` +
          `the base is given its value (${oneLine(feed!.values.get(p.name)!)}) once __init__ has built what it reads, and the property goes; ` +
          `its readers read the base's self.${p.name}`,
      );
    }
    // The property the business server bound on port + 1, now the base's health port (derived-port-server):
    // read by nothing that stays once the server went, it goes too (the base was handed its value).
    const derived = handedDerivedPort(ctx);
    const getter = derived ? ctx.agent.methods.get(derived) : undefined;
    if (getter && !ctx.refs.of(derived!).some((r) => !isRemoved(ctx, r.node) && !(getter.outer.startIndex <= r.start && r.end <= getter.outer.endIndex))) {
      ctx.deletions.push({ node: getter.outer, symbol: getter.name });
      const kept = keptRoutesKeyword(ctx);
      ctx.warnings.push(
        `${ctx.agent.cls.name}.${getter.name} (line ${getter.line}), the port of its HTTP server, is ${ctx.profile.base_class}'s health port now ` +
          `(given as health_check_port=${oneLine(feed!.values.get('health_check_port')!)}): the base serves /health and that server's paths there, and the property, read by nothing else, goes` +
          (kept ? `; given ${kept}=True, the base keeps those paths on that port when HEALTH_CHECK_PORT moves /health elsewhere` : ''),
      );
      // An older copy of the base takes no such keyword: wherever the environment chooses the health port, the
      // server's paths move with /health and its callers on the legacy port reach nothing.
      if (!kept) {
        const kw = ctx.py.super_call.keep_routes_keyword;
        keep(ctx, 'health_check_port', getter.line,
          `${getter.name}, the port of the removed HTTP server, is given to ${ctx.profile.base_class} as its health port, which the environment's HEALTH_CHECK_PORT overrides: ` +
            `where that is set, the server's paths move with /health and their callers on the legacy port reach nothing ` +
            `(${kw ? `this copy of the base takes no ${kw}= to keep them there; migrate init's base does` : 'the profile names no keyword of the base keeping them there'})`);
      }
    }
  },
};

/**
 * The property and every read of it the file reaches as the agent take a fresh name; a read from outside
 * the class that may be this agent is reported (it would still read the base's attribute).
 */
function renameOwnProperty(ctx: PythonTransformContext, p: PyFunction): void {
  const fresh = freshName(ctx, p.name, 'agent_');
  const reads = ctx.refs.of(p.name).filter((r) => r.kind === 'attribute' && selfAttribute(r.node.parent!) === p.name &&
    ctx.agent.cls.node.startIndex <= r.start && r.end <= ctx.agent.cls.node.endIndex);
  const outside = renameMember(ctx, p.name, fresh, 'owned-property');
  const why = `${ctx.profile.base_class}.__init__ assigns self.${p.name} a value of its own`;
  reportExternalCallers(ctx, p.name, fresh, why);
  for (const r of outside) {
    keep(ctx, p.name, r.line, `the property ${p.name} was renamed ${fresh} because ${why}, but line ${r.line} reaches ${p.name} from outside the class; check which object it is`);
  }
  const lines = [...new Set(reads.map((r) => r.line))];
  ctx.warnings.push(
    `${ctx.agent.cls.name}.${p.name} (line ${p.line}) is a read-only property, but ${why} (${ctx.profile.base_class}.__init__ takes no ${p.name}= to give it ` +
      `the agent's): renamed ${fresh}${lines.length ? ` with its reads (line ${lines.join(', line ')})` : ''}, so the base's assignment no longer meets it and the agent reads what it read`,
  );
}

/**
 * super-init's test of a value computed before its call (parameters, locals assigned before, module
 * names and helpers, the agent attributes the moved statements set).
 */
export function earlyTest(ctx: PythonTransformContext): Evaluable {
  const init = ctx.agent.cls.methods.get('__init__');
  if (!init) return () => false;
  const params = new Map(init.params.map((p) => [p.name, p]));
  const body = statements(init.body).filter((s) => !isDocstring(s));
  const known = moduleNames(ctx);
  const fns = helperFunctions(ctx);
  const all = bindingsOf(init.node, false);
  return (value, selfAttrs, before, moved) => evaluableEarly(value, params, localsBefore(body, before), known, fns, all, selfAttrs, moved);
}

function oneLine(s: string): string {
  const t = s.replace(/\s*\n\s*/g, ' ');
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}
