// Concern: the base's constructor call. `super().__init__(name=..., port=..., ...)` becomes
// the first statement of __init__ that touches self (locals computed before it stay
// before it); the port and health port the legacy constructor used are passed through
// so the base binds what the agent bound; a wrong existing call is fixed, not doubled;
// a class without __init__ gets one.
import { heldSettingsPorts, settingsGoAbove, settingsParameterPorts } from '../../src/analysis/settings-ports.js';
import { type SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { baseName, constantSubclasses } from '../../src/lang/python/module-model.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { addsToBaseLogger } from './log-handler-twice.js';
import { handlerSetUpBefore } from './log-handler-move.js';
import { loggingHookSettersBefore } from './old-base-logging-hook.js';
import { OLD_AGENT_BASE } from './inherit-base.js';
import { registeredNameRead } from './own-registration.js';
import { configuredName, configuredNameChosen, readsBaseName, rememberConfiguredName } from './configured-name.js';
import { bindingsOf, callee, isDocstring, mentions, oneLine, selfAttribute, statements, stringValue, superInitCall, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart, renderBlock } from '../../src/lang/python/text.js';
import { blocksOf } from '../../src/analysis/infra.js';
import { boundPort, normPort, portExpression, portRoles, rawPortExpression, serverSubclasses } from '../../src/analysis/ports.js';
import { valueType } from '../../src/analysis/value-type.js';
import { ownedPortSource } from './owned-port-source.js';
import { earlyTest, leadingChain, propertyFeed } from './owned-property.js';
import { setterReadsBefore } from './setter-property-early.js';
import { dataclassFieldsOf, dataclassInitBlocker, isDataclass } from '../../src/analysis/health-record.js';
import { MigrateError } from '../../src/core/errors.js';
import { intervalHandedByEntry } from './hardened-main-loop.js';

const label = 'super-init';

export const superInit: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    const init = cls.methods.get('__init__');
    if (!init) {
      if (isDataclass(cls)) dataclassInit(ctx);
      else createInit(ctx);
      return;
    }
    const selfName = init.params[0]?.name ?? 'self';
    const existing = findSuperCall(ctx, init);
    if (existing && existing.target === 'other' && keepParentInit(ctx, init, existing, selfName)) return;
    const body = statements(init.body).filter((s) => !isDocstring(s));
    const firstSelf = body.find((s) => s !== existing?.stmt && mentionsOutside(s, selfName, existing?.stmt));
    const key = ctx.py.super_call.name_keyword;
    const targetIsFine =
      existing?.target === 'base' &&
      existing.call.childForFieldName('arguments')!.namedChildren.some(
        (a) =>
          (a.type === 'keyword_argument' && a.childForFieldName('name')!.text === key) ||
          // **{"name": ..., **kwargs}
          (a.type === 'dictionary_splat' && a.namedChild(0)?.type === 'dictionary' &&
            a.namedChild(0)!.namedChildren.some((p) => p.type === 'pair' && stringValueOf(p.childForFieldName('key')!) === key)),
      );
    let existingName: string | undefined;
    let moved = false;
    if (existing && targetIsFine) {
      for (const a of existing.call.childForFieldName('arguments')!.namedChildren) {
        if (a.type === 'keyword_argument') ctx.passThrough.set(a.childForFieldName('name')!.text, a.childForFieldName('value')!.text);
      }
      existingName = ctx.passThrough.get(key);
      // `Base.__init__(self, ...)` beside a parent that stays first among the bases (what keepParentInit
      // wrote, met again on a second run): super() reaches that parent, so the call stays as written.
      const obj = existing.call.childForFieldName('function')!.childForFieldName('object')!;
      if (obj.type === 'identifier' && baseName(cls.bases[0]!) !== ctx.profile.base_class) return;
      widenPassedPort(ctx, init, existing.call);
      // The call gives the base one port and the agent then sets (and listens on) another: the call
      // moves to where that port is known, so the base binds where the agent listened.
      moved = portSetAfter(ctx, existing.stmt);
      if (!moved && (!firstSelf || firstSelf.startIndex > existing.stmt.startIndex || contains(existing.stmt, firstSelf) || reraisingTryHead(firstSelf)?.id === existing.stmt.id)) return;
      if (!moved && firstSelf && afterOwnSetters(ctx, init, body, firstSelf, existing)) return;
      // The agent's handler set-up log-handler-move put above the call (a second run): it stays there.
      const isAdd = addsToBaseLogger(ctx);
      if (!moved && firstSelf && isAdd && existing.stmt.parent?.id === init.body.id &&
        handlerSetUpBefore(ctx, body.slice(body.indexOf(firstSelf), body.indexOf(existing.stmt)), isAdd)) return;
      // What the agent's logging hook reads, which old-base-logging-hook put above the call (a second run): it stays there.
      if (!moved && firstSelf && existing.stmt.parent?.id === init.body.id &&
        loggingHookSettersBefore(ctx, body.slice(body.indexOf(firstSelf), body.indexOf(existing.stmt)))) return;
      // What a setter property the base assigns through reads, which setter-property-early put above the call (a second run): it stays there.
      if (!moved && firstSelf && existing.stmt.parent?.id === init.body.id &&
        setterReadsBefore(ctx, body.slice(body.indexOf(firstSelf), body.indexOf(existing.stmt)))) return;
    }
    // `@property def port(self): return int(self._cfg.get("port", 7890))`, the base assigning self.port: the
    // call goes after the statements building self._cfg and is given that value (owned-property removes it).
    const fed = existing || selfName !== 'self' ? null : propertyFeed(ctx, earlyTest(ctx)).feed;
    if (fed) {
      const after = fed.last ? body[body.indexOf(fed.last) + 1] : firstSelf;
      insertCall(ctx, init, after, body, buildCall(ctx, init, localsBefore(body, after), undefined, undefined, fed.attrs, false, fed.values));
      return;
    }
    // `self.port, self.health_check_port = agent_ports("X", 7420, 7421)`: unpacked into locals the call is given.
    const unpacked = existing || selfName !== 'self' ? null : unpackedPorts(ctx, init, body, firstSelf);
    if (unpacked) {
      ctx.edits.replace(unpacked.left.startIndex, unpacked.left.endIndex, unpacked.locals.join(', '), label);
      const after = body[body.indexOf(unpacked.stmt) + 1];
      const call = buildCall(ctx, init, localsBefore(body, after), undefined, undefined, undefined, false, unpacked.given);
      if (after) insertCall(ctx, init, after, body, call);
      else ctx.edits.insert(lineEnd(ctx.source, unpacked.stmt.endIndex), `${ctx.source.slice(lineStart(ctx.source, unpacked.stmt.startIndex), unpacked.stmt.startIndex)}${call}${ctx.layout.eol}`, label);
      unpackedStatements.set(ctx, unpacked.stmt);
      ctx.warnings.push(
        `${cls.name}.__init__: the ports unpacked into ${unpacked.left.text.replace(/\s+/g, ' ')} (line ${unpacked.stmt.startPosition.row + 1}) are unpacked into locals and given to ` +
          `${ctx.profile.base_class}.__init__(), which sets those attributes (the environment may choose other ports)`,
      );
      return;
    }
    // `self.running = False` then `self.config = load_config(path)`, whose ports the agent binds: the settings'
    // set-up goes above the literal setters (they read nothing, it never touches self), as if it came first.
    const hoisted = existing || selfName !== 'self' ? undefined : settingsAfterLiterals(ctx, body, firstSelf);
    const lead = hoisted ?? firstSelf;
    // `self.settings = settings or Settings()` then `self.port = self.settings.port`: the call goes after the
    // statements the port is read from, so the base is given the port the agent binds.
    const early = existing ? null : portSource(ctx, init, body, lead, selfName);
    // The same, from an attribute the base owns too (`self.config = {...}`): built as a local until the call.
    const owned = existing || early || selfName !== 'self' ? null : ownedPortSource(ctx, init, body, lead, (value, attr, before) =>
      evaluableEarly(value, new Map(init.params.map((p) => [p.name, p])), localsBefore(body, before), moduleNames(ctx), helperFunctions(ctx), bindingsOf(init.node, false),
        // `self.port + 1` in the health port's expression: spelled as what the base is given for it.
        new Set([attr, ...Object.entries(ctx.py.super_call.pass_through ?? {}).flatMap(([k, names]) => [k, ...names])])),
    moduleNames(ctx));
    const at = early ? body[body.indexOf(early.last) + 1] : owned ? body[body.indexOf(owned.last) + 1] : firstSelf;
    // Locals bound between an existing call and the first statement touching self (`cfg = config or
    // load_config()` after `super().__init__()`): the call, given what they hold, goes below them, not where
    // it stands (NameError at start there).
    const boundAfterCall = existing ? [...localsBefore(body, at)].filter((l) => !localsBefore(body, existing.stmt).has(l)) : [];
    const locals = localsBefore(body, at);
    const call = buildCall(ctx, init, locals, existingName, existing?.call, early?.attrs ?? (owned ? new Set([owned.attr]) : undefined));
    if (hoisted && firstSelf && (early || owned)) {
      hoistSettings(ctx, body, firstSelf, hoisted, at, call, owned);
      return;
    }
    if (early) {
      insertCall(ctx, init, at, body, call);
      return;
    }
    if (owned) {
      // The leading statements build the local; the call reads the ports from it; the attribute follows.
      for (const u of owned.uses) ctx.edits.replace(u.startIndex, u.endIndex, owned.local, label);
      insertCall(ctx, init, at, body, callGivenOwned(ctx, call, owned, ctx.source.slice(lineStart(ctx.source, at!.startIndex), at!.startIndex)));
      ctx.warnings.push(
        `${cls.name}.__init__: the ports are read from self.${owned.attr}, which ${ctx.profile.base_class}.__init__ also sets: ` +
          `built as the local ${owned.local} until super().__init__() (given the ports read from it), then self.${owned.attr} = ${owned.local}`,
      );
      return;
    }
    if (existing) {
      if (!targetIsFine) {
        const old = existing.call.text.replace(/\s+/g, ' ');
        ctx.warnings.push(`${cls.name}.__init__: replaced ${old.length > 80 ? `${old.slice(0, 77)}...` : old} with ${call}`);
      }
      const inPlace = !moved && (!firstSelf || existing.stmt.startIndex < firstSelf.startIndex) && !boundAfterCall.some((l) => new RegExp(`\\b${l}\\b`).test(call));
      if (inPlace && existing.stmt.parent?.id === init.body.id) {
        ctx.edits.replace(existing.stmt.startIndex, existing.stmt.endIndex, call, label);
        return;
      }
      ctx.deletions.push({ node: existing.stmt, symbol: 'super().__init__' });
    }
    insertCall(ctx, init, reraisingTryHead(firstSelf, existing?.stmt) ?? firstSelf, body, call);
    readBaseName(ctx, at);
  },
};

/**
 * The settings statement heldSettingsPorts reads the agent's ports from, when only literal setters
 * (`self.running = False`) come before it among the statements touching self; undefined otherwise.
 */
function settingsAfterLiterals(ctx: PythonTransformContext, body: SyntaxNode[], firstSelf: SyntaxNode | undefined): SyntaxNode | undefined {
  if (!firstSelf || !settingsGoAbove(ctx.agent, firstSelf)) return undefined;
  const i = body.indexOf(firstSelf);
  let j = i;
  while (j < body.length && settingsGoAbove(ctx.agent, body[j]!)) j++;
  const settings = body[j];
  if (!settings || body.slice(i, j).some((st) => st.parent?.id !== settings.parent?.id)) return undefined;
  const held = [...heldSettingsPorts(ctx.agent, ctx.py.super_call.pass_through ?? {}).values()];
  return held.some((h) => h.built && ctx.agent.assignments.some((a) => a.attr === h.holder && a.stmt.id === settings.id)) ? settings : undefined;
}

/**
 * The settings' set-up (from `settings` up to `at`, where the call goes) moved above the literal setters that
 * came first (`firstSelf`), the base's call after it: those setters then run after the base's __init__, as they
 * ran after nothing but literals before (the base would otherwise overwrite what they set, `self.running`).
 */
function hoistSettings(ctx: PythonTransformContext, body: SyntaxNode[], firstSelf: SyntaxNode, settings: SyntaxNode, at: SyntaxNode | undefined, call: string, owned: ReturnType<typeof ownedPortSource>) {
  const src = ctx.source;
  const eol = ctx.layout.eol;
  const start = lineStart(src, settings.startIndex);
  const end = at ? lineStart(src, at.startIndex) : lineEnd(src, body[body.length - 1]!.endIndex);
  const indent = src.slice(lineStart(src, firstSelf.startIndex), firstSelf.startIndex);
  let block = src.slice(start, end);
  if (!block.endsWith('\n')) block += eol;
  let given = call;
  if (owned) {
    // The set-up builds the local; the call reads the ports from it; the attribute follows.
    for (const u of [...owned.uses].sort((a, b) => b.startIndex - a.startIndex)) {
      block = block.slice(0, u.startIndex - start) + owned.local + block.slice(u.endIndex - start);
    }
    given = callGivenOwned(ctx, call, owned, indent);
  }
  ctx.edits.replace(start, end, '', label);
  ctx.edits.insert(lineStart(src, firstSelf.startIndex), `${block}${indent}${given}${eol}`, label);
  ctx.warnings.push(
    `${ctx.agent.cls.name}.__init__: the settings the ports are read from (line ${settings.startPosition.row + 1}) are set up before ` +
      `${ctx.profile.base_class}.__init__(), which is given those ports; the attributes set to a literal before them (line ${firstSelf.startPosition.row + 1}) ` +
      `are set after it, so the base's __init__ does not overwrite them` + (owned ? ` (built as the local ${owned.local} until then)` : ''),
  );
}

/** The base's call reading the ports from the owned local, then the attribute set from it (`self.config = config`). */
function callGivenOwned(ctx: PythonTransformContext, call: string, owned: NonNullable<ReturnType<typeof ownedPortSource>>, indent: string): string {
  ownedLocals.set(ctx, { local: owned.local, attr: owned.attr });
  return `${call.replace(new RegExp(`\\bself\\.${owned.attr}\\b`, 'g'), owned.local)}${ctx.layout.eol}${indent}self.${owned.attr} = ${owned.local}`;
}

/** Per rewrite: the local that stands for a base-owned attribute until the call (`_config` for self.config), when one does. */
const ownedLocals = new WeakMap<PythonTransformContext, { local: string; attr: string }>();

/**
 * A value handed to the base as the agent's code spells it: `_config["port"]` (the owned local, which the legacy
 * code does not have) read as `self.config["port"]`, so the port analysis can read it from the legacy tree.
 */
export function asLegacyRead(ctx: PythonTransformContext, value: string): string {
  const owned = ownedLocals.get(ctx);
  return owned ? value.replace(new RegExp(`(?<![\\w.])${owned.local}\\b`, 'g'), `self.${owned.attr}`) : value;
}

/**
 * The attribute whose configuration lookup the base was given as its name reads the base's name, where the
 * call goes before its assignment (`self.agent_name = self.name`): the deployment's AGENT_NAME, which the base
 * prefers, is then the agent's own name too. Left as it was otherwise (the lookup read twice, the same value).
 */
function readBaseName(ctx: PythonTransformContext, at: SyntaxNode | undefined): void {
  const c = configuredNameChosen(ctx);
  if (!c || !at || c.stmt.startIndex < at.startIndex) return;
  readsBaseName(ctx);
  ctx.edits.replace(c.value.startIndex, c.value.endIndex, `self.${ctx.py.super_call.name_keyword}`, label);
  ctx.warnings.push(
    `${ctx.agent.cls.name}.__init__: self.${c.attr}, the agent's name as its configuration gives it (line ${c.stmt.startPosition.row + 1}: ${c.value.text}), ` +
      `is what ${ctx.profile.base_class} is given as its name, and self.${c.attr} now reads ${ctx.profile.base_class}'s (AGENT_NAME when the deployment sets it), so the base registers and pushes under the name the agent's own code uses`,
  );
}

/**
 * The first statement inside `try:` when the statement is a try whose every `except` ends by raising
 * (`except Exception as e: logger.error(f"Failed to initialise ...: {e}"); raise`): the base's
 * constructor goes there, so a failure of its own (the health port taken) is logged by that handler
 * and re-raised as every failure of the legacy set-up was, not raised past it with the log line lost.
 * Null for any other statement (a handler that swallows the error would swallow the base's too).
 */
function reraisingTryHead(stmt: SyntaxNode | undefined, skip?: SyntaxNode): SyntaxNode | null {
  if (stmt?.type !== 'try_statement') return null;
  const handlers = stmt.namedChildren.filter((c) => c.type === 'except_clause');
  if (handlers.length === 0) return null;
  for (const h of handlers) {
    const block = h.namedChildren.find((c) => c.type === 'block');
    const last = block ? statements(block).filter((x) => x.type !== 'comment').pop() : undefined;
    if (last?.type !== 'raise_statement') return null;
  }
  const body = stmt.childForFieldName('body');
  // (The call being put back in place is not where it goes: the statement after it is.)
  return body ? statements(body).find((x) => x.type !== 'comment' && !isDocstring(x) && x.id !== skip?.id) ?? null : null;
}

/**
 * `LegacyAgent.__init__(self, "cron_agent", interval)` (or `super().__init__(...)` reaching it) where
 * LegacyAgent is a class of the repository that stays among the bases and has its own __init__:
 * that call sets up what the legacy parent gives the agent (its name, interval, logger), and given
 * the base's keywords instead it would fail (`unexpected keyword argument 'agent_name'`). It stays
 * as written, and the base gets its own explicit call just before it (super() would reach the
 * legacy parent again). A parent __init__ that calls super().__init__() itself would then run the
 * base's constructor a second time, with its defaults: that is left for review with its line.
 */
function keepParentInit(ctx: PythonTransformContext, init: PyFunction, existing: SuperCall, selfName: string): boolean {
  const fn = existing.call.childForFieldName('function')!;
  const obj = fn.childForFieldName('object')!;
  const bases = ctx.agent.cls.bases.map(baseName);
  const callee = obj.type === 'identifier' ? obj.text : bases[0];
  if (!callee || callee === ctx.profile.base_class || callee === 'object' || OLD_AGENT_BASE.test(callee)) return false;
  const local = ctx.module.classes.find((c) => c.name === callee && c.name !== ctx.agent.cls.name);
  const parent = local ? { cls: local, file: ctx.file } : ctx.inherited().find((p) => p.cls.name === callee);
  const parentInit = parent?.cls.methods.get('__init__');
  if (!parent || !parentInit) return false;
  const body = statements(init.body).filter((s) => !isDocstring(s));
  if (cooperativeChain(ctx, existing)) {
    // Every parent hands its **kwargs on to super().__init__() (cooperative mixins): the base, last in
    // the order, is reached once through that chain, so it is given its keywords through the same call.
    const argsNode = existing.call.childForFieldName('arguments')!;
    // What the call already gives (a keyword the base takes, **kwargs: a second run) is not given twice.
    const have = new Set(argsNode.namedChildren.map((a) => (a.type === 'keyword_argument' ? a.childForFieldName('name')!.text : a.text)));
    const given = argsNode.namedChildren.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === ctx.py.super_call.name_keyword);
    if (given) return true;
    const added = buildArgs(ctx, init, localsBefore(body, existing.stmt), undefined, existing.call, undefined, true)
      .filter((a) => !have.has(a.startsWith('**') ? a : a.split('=')[0]!));
    if (added.length) {
      const close = argsNode.endIndex - 1;
      const inner = ctx.source.slice(argsNode.startIndex + 1, close);
      const sep = inner.trim() === '' ? '' : /,\s*$/.test(inner) ? ' ' : ', ';
      const at = inner.trim() === '' ? close : argsNode.startIndex + 1 + inner.replace(/\s*$/, '').length;
      ctx.edits.insert(at, `${sep}${added.join(', ')}`, label);
    }
    ctx.warnings.push(
      `${ctx.agent.cls.name}.__init__: ${existing.call.text.replace(/\s+/g, ' ').slice(0, 80)} goes through ${callee} and the other parents, ` +
        `which each hand **kwargs on to super().__init__(): ${ctx.profile.base_class}, last among the bases, is reached once through it and given ${added.join(', ') || 'its keywords'}`,
    );
    return true;
  }
  // A second run: the base's own call already follows the parent's (placed there by portsSetByParent).
  if (body.some((st) => st.startIndex > existing.stmt.endIndex && st.type === 'expression_statement' &&
    st.namedChild(0)?.childForFieldName('function')?.text.replace(/\s+/g, '') === `${ctx.profile.base_class}.__init__`)) return true;
  const args = buildArgs(ctx, init, localsBefore(body, existing.stmt), undefined, existing.call, undefined, true);
  const asBase = (a: string[]) => `${ctx.profile.base_class}.__init__(${[selfName, ...a].join(', ')})`;
  const fromParent = portsSetByParent(ctx, parent.cls, parentInit, args);
  const kept = existing.call.text.replace(/\s+/g, ' ').slice(0, 80);
  if (fromParent && !fromParent.blocker) {
    // The ports reach the parent through the call (`*args` from the entry point): only once it ran are they
    // known, so the base is constructed just after it and given what the parent set.
    const call = asBase(fromParent.args);
    const indent = ctx.source.slice(lineStart(ctx.source, existing.stmt.startIndex), existing.stmt.startIndex);
    ctx.edits.insert(lineEnd(ctx.source, existing.stmt.endIndex), `${indent}${call}${ctx.layout.eol}`, label);
    ctx.warnings.push(`${ctx.agent.cls.name}.__init__: kept ${kept} (${callee}, ${parent.file}, stays a base and sets up its own state) and called ${call} after it: ` +
      `the ports are ${callee}'s (${fromParent.attrs.join(', ')}), given to it by the caller, known only once it ran`);
    return true;
  }
  const call = asBase(args);
  insertCall(ctx, init, existing.stmt, body, call);
  ctx.parentInitAfterBase = { parent: parent.cls, file: parent.file, inFile: !!local, parentCall: existing.call, baseArgs: args };
  ctx.warnings.push(`${ctx.agent.cls.name}.__init__: kept ${kept} (${callee}, ${parent.file}, stays a base and sets up its own state) and called ${call} before it`);
  if (fromParent?.blocker) {
    keep(ctx, '__init__', init.line,
      `${ctx.profile.base_class}.__init__ is given no ${fromParent.attrs.join(', ')}: ${callee}.__init__ (${parent.file}:${parentInit.line}) sets ${fromParent.attrs.map((a) => `self.${a}`).join(', ')} from what the caller passed, ` +
        `so the base picks its own ports unless the environment names them; it cannot be constructed after ${callee}.__init__, which ${fromParent.blocker}`);
  }
  const cooperative = superInitCall(parentInit.body);
  if (cooperative && chainReachesBase(ctx, parent.cls)) {
    keep(ctx, '__init__', init.line,
      `${callee}.__init__ (${parent.file}:${(cooperative as SyntaxNode).startPosition.row + 1}) calls super().__init__() itself, which now reaches ${ctx.profile.base_class}.__init__ again with its defaults after the explicit call: decide which of the two constructs the base`);
  }
  return true;
}

/**
 * The ports a kept parent's constructor sets from its own parameters (`self.port = port`) while the
 * agent's call to the base names none (they reach the parent through `*args` from the entry point):
 * the base's arguments with those ports read from self once the parent ran, and the name it set. A base
 * constructed after the parent resets what the parent set of the base's own attributes (`running`,
 * `logger`) and must not be read by it first: `blocker` says which, and the call stays before the parent.
 * Null when the agent's own call is given every port, or the parent sets none.
 */
function portsSetByParent(ctx: PythonTransformContext, parent: PyClass, parentInit: PyFunction, args: string[]):
  { args: string[]; attrs: string[]; blocker?: string } | null {
  const sc = ctx.py.super_call;
  const selfName = parentInit.params[0]?.name ?? 'self';
  const set: string[] = [];
  walk(parentInit.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment') return;
    const attr = selfAttribute(n.childForFieldName('left')!, selfName);
    if (attr && !set.includes(attr)) set.push(attr);
  });
  const out = [...args];
  const attrs: string[] = [];
  const passed = new Set<string>();
  for (const [keyword, names] of Object.entries(sc.pass_through ?? {})) {
    if (args.some((a) => a.startsWith(`${keyword}=`))) continue;
    const attr = names.find((n) => set.includes(n));
    if (!attr) continue;
    const at = out.findIndex((a) => a.startsWith('**'));
    out.splice(at < 0 ? out.length : at, 0, `${keyword}=self.${attr}`);
    attrs.push(attr);
    passed.add(keyword);
  }
  if (!attrs.length) return null;
  if (set.includes(sc.name_keyword)) {
    const i = out.findIndex((a) => a.startsWith(`${sc.name_keyword}=`));
    if (i >= 0) out[i] = `${sc.name_keyword}=self.${sc.name_keyword}`;
  }
  const reset = set.filter((a) => ctx.baseOwned.has(a) && a !== sc.name_keyword && !passed.has(a));
  const read: string[] = [];
  walk(parentInit.body, (n) => {
    const attr = n.type === 'attribute' ? selfAttribute(n, selfName) : null;
    if (attr && ctx.baseOwned.has(attr) && !set.includes(attr) && !read.includes(attr)) read.push(attr);
  });
  const inherits = parent.bases.map(baseName).filter((b) => b !== 'object');
  const blocker = inherits.length ? `has a base of its own (${inherits.join(', ')})`
    : superInitCall(parentInit.body) ? 'calls super().__init__() itself'
    : reset.length ? `sets ${reset.map((a) => `self.${a}`).join(', ')}, which ${ctx.profile.base_class}.__init__ would set again`
    : read.length ? `reads ${read.map((a) => `self.${a}`).join(', ')}, which ${ctx.profile.base_class}.__init__ sets`
    : undefined;
  return { args: out, attrs, blocker };
}

/**
 * Does `super().__init__()` in the parent's constructor go on to the base, appended after the parent
 * among the agent's bases? It does unless the parent's own in-repository chain (one base each)
 * ends in a constructor that does not call super().__init__() (`class ServiceCore:` setting up its
 * own state): the chain stops there. Whatever cannot be read (several bases, a class outside the
 * repository) is taken to go on.
 */
function chainReachesBase(ctx: PythonTransformContext, parent: PyClass): boolean {
  const inherited = ctx.inherited();
  let cls = parent;
  for (let depth = 0; depth < 10; depth++) {
    const bases = cls.bases.map(baseName).filter((b) => b !== 'object');
    if (bases.length === 0) return true;
    if (bases.length > 1) return true;
    const next = inherited.find((p) => p.cls.name === bases[0] && p.cls !== cls)?.cls;
    if (!next) return true;
    const init = next.methods.get('__init__');
    if (init && !superInitCall(init.body)) return false;
    cls = next;
  }
  return true;
}

/**
 * `super().__init__(registry_url=..., health_port=...)` in an agent whose parents are cooperative
 * mixins: each parent of the repository (no base of its own) either has no __init__ or takes
 * `**kwargs` and calls `super().__init__(..., **kwargs)` unconditionally, and none takes a keyword
 * the base takes. The base, appended last, is then constructed exactly once, by that chain.
 */
function cooperativeChain(ctx: PythonTransformContext, existing: SuperCall): boolean {
  const fn = existing.call.childForFieldName('function')!;
  const obj = fn.childForFieldName('object')!;
  if (obj.type !== 'call' || obj.childForFieldName('function')?.text !== 'super') return false;
  const sc = ctx.py.super_call;
  const baseKeywords = new Set([sc.name_keyword, ...Object.keys(sc.pass_through ?? {})]);
  for (const a of existing.call.childForFieldName('arguments')!.namedChildren) {
    if (a.type === 'list_splat') return false;
  }
  const bases = ctx.agent.cls.bases.map(baseName).filter((b) => b !== ctx.profile.base_class);
  if (!bases.length) return false;
  const inherited = ctx.inherited();
  for (const b of bases) {
    const parent = ctx.module.classes.find((c) => c.name === b && c.name !== ctx.agent.cls.name) ?? inherited.find((p) => p.cls.name === b)?.cls;
    if (!parent) return false;
    if (parent.bases.some((x) => baseName(x) !== 'object')) return false;
    const pinit = parent.methods.get('__init__');
    if (!pinit) continue;
    const kw = pinit.params.find((p) => p.kind === 'kwargs');
    if (!kw || pinit.params.some((p) => baseKeywords.has(p.name))) return false;
    const forwards = statements(pinit.body).some((s) => {
      const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
      if (e?.type !== 'call' || !/^super\(\s*\)\.__init__$/.test(e.childForFieldName('function')?.text ?? '')) return false;
      return e.childForFieldName('arguments')!.namedChildren.some((a) => a.type === 'dictionary_splat' && a.namedChild(0)?.text === kw.name);
    });
    if (!forwards) return false;
  }
  return true;
}

export interface SuperCall {
  stmt: SyntaxNode;
  call: SyntaxNode;
  target: 'base' | 'other';
}

/** `super().__init__(...)`, `super(X, self).__init__(...)` or `Base.__init__(self, ...)` in __init__. */
export function findSuperCall(ctx: PythonTransformContext, init: PyFunction): SuperCall | null {
  let found: SuperCall | null = null;
  const bases = ctx.agent.cls.bases.map(baseName);
  const visit = (block: SyntaxNode) => {
    for (const s of statements(block)) {
      if (found) return;
      const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
      if (e?.type === 'call') {
        const fn = e.childForFieldName('function');
        if (fn?.type === 'attribute' && fn.childForFieldName('attribute')!.text === '__init__') {
          const obj = fn.childForFieldName('object')!;
          const isSuper = obj.type === 'call' && obj.childForFieldName('function')?.text === 'super';
          const explicit = obj.type === 'identifier' && bases.includes(obj.text);
          if (isSuper || explicit) {
            // super() reaches the first base defining __init__: the target when the class lists it first, or
            // only parents without a constructor before it (a loop mixin ahead of the base).
            const first = bases.indexOf(ctx.profile.base_class);
            const reachesBase = first >= 0 && bases.slice(0, first).every((b, i) => !!b && (constructorless(ctx, b) || stdlibConstructorless(ctx, ctx.agent.cls.bases[i]!)));
            const target = (isSuper && reachesBase) || (explicit && obj.text === ctx.profile.base_class) ? 'base' : 'other';
            found = { stmt: s, call: e, target };
            return;
          }
        }
      }
      for (const b of blocksOf(s)) visit(b);
    }
  };
  visit(init.body);
  return found;
}

/**
 * `abc.ABC` (or `ABC` imported from abc) ahead of the base (`class Watcher(abc.ABC, BaseAgent)`, inherit-base's
 * output for an abstract in-repository base): it defines no __init__, so super().__init__() passes it by and
 * reaches the base. Read as 'other', a second run rebuilt the call and the unit failed its idempotency check.
 */
function stdlibConstructorless(ctx: PythonTransformContext, base: SyntaxNode): boolean {
  if (base.text === 'abc.ABC') return ctx.module.imports.get('abc')?.module === 'abc';
  if (base.type !== 'identifier' || base.text !== 'ABC') return false;
  const imported = ctx.module.imports.get('ABC');
  return !!imported && imported.module === 'abc' && imported.name === 'ABC' && !ctx.module.classes.some((c) => c.name === 'ABC');
}

/** A parent of the repository with no __init__ and no base of its own (or abc.ABC): super().__init__() passes it by. */
function constructorless(ctx: PythonTransformContext, name: string): boolean {
  const parent = ctx.module.classes.find((c) => c.name === name && c.name !== ctx.agent.cls.name) ?? ctx.inherited().find((p) => p.cls.name === name)?.cls;
  // (A mixin on abc.ABC, `class LoopMixin(abc.ABC)`, passes it by too: abc.ABC defines no __init__.)
  return !!parent && !parent.methods.has('__init__') && parent.bases.every((b) => baseName(b) === 'object' || b.text === 'abc.ABC');
}

/** Does the statement mention `name` anywhere except inside `skip`? */
function mentionsOutside(stmt: SyntaxNode, name: string, skip: SyntaxNode | undefined): boolean {
  let found = false;
  walk(stmt, (n) => {
    if (found || (skip && n.id === skip.id)) return false;
    if (n.type === 'identifier' && n.text === name) found = true;
  });
  return found;
}

function contains(outer: SyntaxNode, inner: SyntaxNode): boolean {
  return outer.startIndex <= inner.startIndex && inner.endIndex <= outer.endIndex;
}

/** Local names assigned by statements before the first one that touches self. */
export function localsBefore(body: SyntaxNode[], firstSelf: SyntaxNode | undefined): Set<string> {
  const out = new Set<string>();
  for (const s of body) {
    if (s === firstSelf) break;
    walk(s, (n) => {
      if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier') out.add(left.text);
        if (left?.type === 'pattern_list') for (const c of left.namedChildren) if (c.type === 'identifier') out.add(c.text);
      }
    });
  }
  return out;
}

/** `self.port = <other>` after an existing super() call that passed something else for the port. */
function portSetAfter(ctx: PythonTransformContext, call: SyntaxNode): boolean {
  const passed = ctx.passThrough.get('port');
  const names = ['port', ...(ctx.py.super_call.pass_through?.port ?? [])];
  return ctx.agent.assignments.some((a) => a.method === '__init__' && names.includes(a.attr) && a.stmt.startIndex > call.endIndex &&
    a.value !== null && (passed === undefined || normPort(a.value.text) !== normPort(passed)));
}

/**
 * The name the agent gave itself (`self.name = "LedgerReconciler"` in __init__, the only assignment of
 * it in the class, a string literal): what the base is given, so the agent keeps its name (its logs,
 * its registration) and the re-assignment, now redundant, goes. A literal, or a string built from parameters.
 */
function ownNameLiteral(ctx: PythonTransformContext, init: PyFunction, attr: string, params: Map<string, unknown>, locals: Set<string>, known: Set<string>): string | null {
  const assigns = ctx.agent.assignments.filter((a) => a.attr === attr);
  if (assigns.length !== 1) return null;
  const a = assigns[0]!;
  if (a.method !== '__init__' || !a.value || a.stmt.parent?.id !== init.body.id) return null;
  if (a.value.type === 'string' && stringValue(a.value) !== null) return a.value.text;
  const spelled = new Map<string, SyntaxNode>();
  walk(a.value, (n) => {
    const attr = selfAttribute(n);
    if (attr === null) return;
    const v = earlierSoleValue(ctx, init, attr, a.stmt);
    if (v) spelled.set(attr, v);
    return false;
  });
  const text = ownNameFromParameters(ctx, init, a.value, params, locals, known, spelled);
  if (text !== null && spelled.size) spelledNames.set(ctx, { stmt: a.stmt.id, text });
  return text;
}

/** Per rewrite: the name assignment whose self reads were spelled as their values (`spelledNames`), and that text. */
const spelledNames = new WeakMap<PythonTransformContext, { stmt: number; text: string }>();

/** The name given to the base, when it is the agent's name assignment `stmt` with its self reads spelled out. */
export function spelledOwnName(ctx: PythonTransformContext, stmt: SyntaxNode): string | null {
  const s = spelledNames.get(ctx);
  return s && s.stmt === stmt.id ? s.text : null;
}

/**
 * `self.shard = shard or args.shard` before `self.name = "ShardLedger-%s" % self.shard`: the value of an
 * attribute of the agent's own (not the base's) assigned once in the class, by a statement of __init__'s
 * body before `before`, on one line. Null otherwise.
 */
function earlierSoleValue(ctx: PythonTransformContext, init: PyFunction, attr: string, before: SyntaxNode): SyntaxNode | null {
  if (ctx.base.attributes.has(attr)) return null;
  const assigns = ctx.agent.assignments.filter((x) => x.attr === attr);
  const a = assigns.length === 1 ? assigns[0]! : null;
  if (!a || a.method !== '__init__' || !a.value || a.stmt.parent?.id !== init.body.id || a.stmt.endIndex > before.startIndex) return null;
  if (a.stmt.type !== 'expression_statement' || a.stmt.namedChild(0)?.type !== 'assignment' || a.value.text.includes('\n')) return null;
  return a.value;
}

/**
 * A name built from the constructor's parameters (`self.name = f"SensorPoller-{rack}"`, one instance per
 * rack): a string (f-string, `"..." % x`, `"..." + x`) on one line that reads only parameters never
 * re-bound in __init__, locals computed before the call and module names. Evaluated at the super() call
 * it is the same value, so each instance keeps its own name (the base logs, registers and deregisters
 * under self.name); given a class-name literal instead, the kept re-assignment renamed the agent after
 * the base had registered it, and its deregistration missed.
 */
function ownNameFromParameters(ctx: PythonTransformContext, init: PyFunction, value: SyntaxNode, params: Map<string, unknown>, locals: Set<string>, known: Set<string>, spelled = new Map<string, SyntaxNode>()): string | null {
  const stringShaped = value.type === 'string' ||
    (value.type === 'binary_operator' && value.childForFieldName('left')?.type === 'string' && /^[%+]$/.test(value.childForFieldName('operator')?.text ?? '')) ||
    // A field of a module-level settings object (`SETTINGS.agent_name`, `CONFIG["name"]`): the same value at the call.
    moduleSettingsRead(value, known) ||
    // A field of a settings parameter (`config.name`, a dataclass read from an INI file): the same value at the
    // call while __init__ writes nothing into that object.
    parameterSettingsRead(value, params, init) ||
    // A keyed lookup with a string default (`config.get("name", "rate-feed")`) on a parameter or a local.
    settingsLookup(value, params, locals) ||
    // The deployment's variable with a string fallback (`os.environ.get("AGENT_NAME", "ledger")`).
    environmentLookup(value, init);
  if (!stringShaped || value.text.includes('\n')) return null;
  // Names bound again in __init__ (`rack = rack.lower()`): their value at the call may differ. A binding in
  // a statement before the first that touches self precedes the call wherever it goes (never before that
  // statement), so `config = config or load_config()` at the top is the value the call reads.
  const body = statements(init.body).filter((s) => !isDocstring(s));
  const selfName = init.params[0]?.name ?? 'self';
  const firstSelf = body.findIndex((s) => mentionsOutside(s, selfName, undefined));
  const after = firstSelf < 0 ? [] : body.slice(firstSelf);
  const rebound = new Set<string>();
  for (const st of after) walk(st, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment' && n.type !== 'for_statement' && n.type !== 'as_pattern') return;
    walk(n.childForFieldName('left') ?? n.childForFieldName('alias') ?? n, (x) => {
      if (x.type === 'attribute' || x.type === 'subscript') return false;
      if (x.type === 'identifier') rebound.add(x.text);
    });
  });
  let reread = false;
  for (const v of [value, ...spelled.values()]) walk(v, (n) => {
    if (n.type === 'identifier' && (params.has(n.text) || locals.has(n.text)) && rebound.has(n.text)) reread = true;
    // A field of a parameter (`{len(config.tenants)}`) that __init__ changes may differ at the call, as a re-bound one.
    const read = (n.type === 'attribute' || n.type === 'subscript') && n.parent?.childForFieldName('function')?.id !== n.id;
    const root = read ? fieldReadRoot(n) : lookupRoot(n);
    // (Reads of self are the spelled attributes: each is checked as its value, below.)
    if (root && root !== selfName && (params.has(root) || locals.has(root)) && parameterWritten(root, init, after)) reread = true;
  });
  const fns = helperFunctions(ctx);
  const bound = bindingsOf(init.node, false);
  if (reread || !evaluableEarly(value, params, locals, known, fns, bound, new Set(spelled.keys()))) return null;
  if ([...spelled.values()].some((v) => !evaluableEarly(v, params, locals, known, fns, bound))) return null;
  // Each self read spelled as the value it was given (parenthesised unless a primary expression).
  let text = value.text;
  const reads: SyntaxNode[] = [];
  walk(value, (n) => {
    if (selfAttribute(n) === null) return;
    reads.push(n);
    return false;
  });
  for (const n of reads.sort((x, y) => y.startIndex - x.startIndex)) {
    const v = spelled.get(selfAttribute(n)!)!.text;
    // Inside an f-string's braces a quote of the value could end the string (before Python 3.12).
    let inString = false;
    for (let p = n.parent; p && p.id !== value.id && !inString; p = p.parent) inString = p.type === 'string';
    if ((inString || value.type === 'string') && /["']/.test(v)) return null;
    const primary = /^[\w.]+(\[[^\]]*\]|\([^()]*\))*$/s.test(v);
    text = text.slice(0, n.startIndex - value.startIndex) + (primary ? v : `(${v})`) + text.slice(n.endIndex - value.startIndex);
  }
  return text;
}

function buildCall(ctx: PythonTransformContext, init: PyFunction, locals: Set<string>, existingName?: string, existingCall?: SyntaxNode, selfAttrs?: Set<string>, keepsExisting = false, given?: Map<string, string>): string {
  return `super().__init__(${buildArgs(ctx, init, locals, existingName, existingCall, selfAttrs, keepsExisting, given).join(', ')})`;
}

/** `SETTINGS.agent_name` / `CONFIG["name"]` / `settings.agent.name`: a plain read of a module-level name's field. */
function moduleSettingsRead(value: SyntaxNode, known: Set<string>): boolean {
  const root = fieldReadRoot(value);
  return !!root && value.type !== 'identifier' && root !== 'self' && known.has(root);
}

/**
 * `config.name` / `settings["name"]` on a plain parameter of __init__ that __init__ neither binds again nor
 * writes into (`config.name = ...`, `config["name"] = ...`) nor calls a method of (`config.update(...)`,
 * which may change the field).
 */
function parameterSettingsRead(value: SyntaxNode, params: Map<string, unknown>, init: PyFunction): boolean {
  const root = fieldReadRoot(value);
  const param = root ? init.params.find((p) => p.name === root) : undefined;
  if (!root || value.type === 'identifier' || root === 'self' || param?.kind !== 'plain' || !params.has(root)) return false;
  return !parameterWritten(root, init);
}

/**
 * `config.get("name", "rate-feed")`: a lookup of a string key with a string default (or none) on a plain
 * parameter or on a local computed before the call (`config = config or load_config()`).
 */
function settingsLookup(value: SyntaxNode, params: Map<string, unknown>, locals: Set<string>): boolean {
  const root = lookupRoot(value);
  if (!root || root === 'self' || !(params.has(root) || locals.has(root))) return false;
  const args = value.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length >= 1 && args.length <= 2 && args.every((a) => a.type === 'string' && stringValue(a) !== null);
}

/**
 * `os.environ.get("K", "fallback")` / `os.getenv("K", "fallback")`: the same value at the super() call while
 * __init__ sets no environment variable (`os.environ[...] =`, setdefault, update, putenv).
 */
function environmentLookup(value: SyntaxNode, init: PyFunction): boolean {
  if (value.type !== 'call' || !/^os\.(?:environ\.get|getenv)$/.test(callee(value) ?? '')) return false;
  const args = value.childForFieldName('arguments')?.namedChildren ?? [];
  if (args.length !== 2 || !args.every((a) => a.type === 'string' && stringValue(a) !== null)) return false;
  return !/\bos\.environ\s*(?:\[[^\]]*\]\s*=[^=]|\.(?:setdefault|update|pop|clear)\s*\()|\bos\.putenv\s*\(/.test(init.node.text);
}

/** The name `X.get(...)` (X a plain name) looks up in; null for anything else. */
function lookupRoot(n: SyntaxNode): string | null {
  if (n.type !== 'call') return null;
  const fn = n.childForFieldName('function');
  const obj = fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'get' ? fn.childForFieldName('object') : null;
  return obj?.type === 'identifier' ? obj.text : null;
}

/**
 * __init__ writes into the parameter `root` (`config.name = ...`) or calls a method of it or of a field of it
 * (`config.tenants.append(...)`); in `within` (its statements from the call on) when given, else anywhere.
 */
function parameterWritten(root: string, init: PyFunction, within?: SyntaxNode[]): boolean {
  let touched = false;
  for (const top of within ?? [init.body]) walk(top, (n) => {
    if (touched || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left');
      if (left && (left.text === root || fieldReadRoot(left) === root)) touched = true;
    }
    if (n.type === 'call') {
      const fn = n.childForFieldName('function');
      // A lookup (`config.get("name")`, configparser's getint) reads, and so does a string's method on a field
      // (`config["thumbnails"]["sizes"].split(",")`: no list, dict, set or bytearray changes itself under those
      // names); any other method may change the object.
      const lookup = /^get(?:int|float|boolean)?$/.test(fn?.childForFieldName('attribute')?.text ?? '') ||
        (fn?.childForFieldName('object')?.type !== 'identifier' && STRING_READS.test(fn?.childForFieldName('attribute')?.text ?? ''));
      if (fn?.type === 'attribute' && !lookup && fieldReadRoot(fn.childForFieldName('object')!) === root) touched = true;
    }
  });
  return touched;
}

/** Methods of str that return a new value, none of them a mutating method of a mutable builtin. */
const STRING_READS = /^(?:split|rsplit|splitlines|strip|lstrip|rstrip|lower|upper|casefold|title|capitalize|startswith|endswith|partition|rpartition|encode|isdigit|isdecimal|isnumeric|isalpha|isalnum|isspace)$/;

/** The name a chain of field reads starts from (`settings` of `settings.agent["name"]`); null for anything else. */
function fieldReadRoot(value: SyntaxNode): string | null {
  let n: SyntaxNode = value;
  if (n.type !== 'attribute' && n.type !== 'subscript') return n.type === 'identifier' ? n.text : null;
  for (;;) {
    if (n.type === 'attribute') n = n.childForFieldName('object')!;
    else if (n.type === 'subscript' && n.childForFieldName('subscript')?.type === 'string') n = n.childForFieldName('value')!;
    else break;
  }
  return n.type === 'identifier' ? n.text : null;
}

/** The arguments of the base's constructor call, each as source text. */
function buildArgs(ctx: PythonTransformContext, init: PyFunction, locals: Set<string>, existingName?: string, existingCall?: SyntaxNode, selfAttrs?: Set<string>, keepsExisting = false, given?: Map<string, string>): string[] {
  const sc = ctx.py.super_call;
  const params = new Map(init.params.map((p) => [p.name, p]));
  const args: string[] = [];
  const known = moduleNames(ctx);
  const nameParam = params.get(sc.name_keyword);
  const kwargs = init.params.find((p) => p.kind === 'kwargs');
  // The agent reads its name from **kwargs (`kwargs.get("name", default)`): a caller may pass
  // name=, so it must not also be given explicitly; merge it into the forwarded mapping.
  const fromKwargs = kwargs ? nameFromKwargs(ctx, init, kwargs.name, sc.name_keyword, params, locals, known) : null;
  // A unit's base names no agent: each subclass is one, under its own class name.
  // A configuration lookup the agent keeps its name under (`self.agent_name = cfg.get(..., fallback=...)`): given as is.
  const configured = ctx.unit || existingName || given?.has(sc.name_keyword) || nameParam || fromKwargs ? null : configuredName(ctx, init, params, locals, known);
  if (configured) rememberConfiguredName(ctx, configured);
  const nameValue = ctx.unit && !existingName && !nameParam && !fromKwargs ? registeredNameRead(ctx) ?? 'type(self).__name__' : existingName ?? given?.get(sc.name_keyword) ?? (nameParam && nameParam.kind !== 'kwargs' ? sc.name_keyword : fromKwargs ? fromKwargs.lookup : ownNameLiteral(ctx, init, sc.name_keyword, params, locals, known) ?? configured?.value.text ?? ownClassName(ctx));
  if (!fromKwargs) args.push(`${sc.name_keyword}=${nameValue}`);
  ctx.passThrough.set(sc.name_keyword, nameValue);
  const handedByEntry = intervalHandedByEntry(ctx);
  // The mapping the base is handed as **: the agent's own **kwargs, or the one forward_kwargs adds below.
  const forwardedName = kwargs ? kwargs.name : sc.forward_kwargs ? (mentions(init.body, 'kwargs') ? 'base_kwargs' : 'kwargs') : null;
  for (const [keyword, legacyNames] of Object.entries(sc.pass_through ?? {})) {
    const value = given?.get(keyword) ?? passThroughValue(ctx, init, legacyNames, params, locals, known, selfAttrs) ??
      // The port lives only on a settings parameter (`settings.health_check_port`): read it from there.
      settingsParameterPorts(ctx.agent, sc.pass_through ?? {}).get(keyword)?.value ??
      // Read only through the settings object the call goes after (`self.config.health_port`): from there.
      heldPort(ctx, keyword, selfAttrs) ??
      requestSocketPort(ctx, keyword) ?? listenedPort(ctx, keyword, known) ??
      // The port the agent's own health server listened on under another name (health-helper-server).
      (ctx.healthPortParam && keyword === 'health_check_port' && params.has(ctx.healthPortParam) ? ctx.healthPortParam : null);
    // A request port that is a peer's (a client connects to it) is not the base's to bind;
    // a health port is declared as one, listened on or not.
    // (Given to an older agent base's constructor, it was that base's to bind: listened on.)
    const givenBefore = !!existingCall && (existingCall.childForFieldName('arguments')?.namedChildren ?? [])
      .some((a) => normPort((a.type === 'keyword_argument' ? a.childForFieldName('value')! : a).text) === normPort(value ?? ''));
    if (value && keyword === 'port' && !givenBefore && peerPort(ctx, keyword, value, legacyNames)) continue;
    if (value) {
      // The entry point hands it to the construction (agent.interval = args.interval moved there): taken from
      // **kwargs, the class's own value the default, so the base is given it once.
      const fromEntry = keyword === handedByEntry && forwardedName ? `${forwardedName}.pop(${JSON.stringify(keyword)}, ${value})` : null;
      args.push(`${keyword}=${fromEntry ?? value}`);
      ctx.passThrough.set(keyword, value);
    }
  }
  // What else the caller hands the base besides its name and ports (keep_routes_port=True beside a handed health port).
  for (const [keyword, value] of given ?? []) {
    if (keyword !== sc.name_keyword && !(keyword in (sc.pass_through ?? {})) && ctx.base.initParams.includes(keyword)) args.push(`${keyword}=${value}`);
  }
  // **kwargs the legacy body hands on whole to a call that stays (a client's constructor, a kept parent's
  // __init__) are that call's options: the base was never given them, and a key it also takes (port=, name=)
  // would reach it (bind the client's port). Only keyword arguments the agent takes for itself stay its own.
  const consumer = kwargs && !fromKwargs ? kwargsConsumer(init, kwargs.name, existingCall && !keepsExisting ? existingCall : undefined) : null;
  if (kwargs && fromKwargs) args.push(`**{${JSON.stringify(sc.name_keyword)}: ${fromKwargs.fallback}, **${kwargs.name}}`);
  else if (kwargs && consumer) {
    ctx.warnings.push(
      `${ctx.agent.cls.name}.__init__: **${kwargs.name} go on to ${consumer.text.replace(/\s+/g, ' ').slice(0, 60)} (line ${consumer.startPosition.row + 1}) as before, ` +
        `and are not given to ${ctx.profile.base_class} (a key it also takes, such as port=, would reach it)`,
    );
  } else if (kwargs) args.push(`**${kwargs.name}`);
  else if (sc.forward_kwargs) {
    const name = mentions(init.body, 'kwargs') ? 'base_kwargs' : 'kwargs';
    const last = [...init.params].reverse().find((p) => p.kind !== 'separator' || p.node.text !== '/') ?? null;
    const at = last ? last.node.endIndex : init.parameters.startIndex + 1;
    ctx.edits.insert(at, last ? `, **${name}` : `**${name}`, label);
    args.push(`**${name}`);
  }
  return args;
}

/** `self.name = kwargs.get("name", <default>)` with a default computable before super(). */
function nameFromKwargs(
  ctx: PythonTransformContext,
  init: PyFunction,
  kw: string,
  key: string,
  params: Map<string, { name: string; kind: string }>,
  locals: Set<string>,
  known: Set<string>,
): { lookup: string; fallback: string } | null {
  for (const a of ctx.agent.assignments.filter((x) => x.method === '__init__' && x.value?.type === 'call')) {
    const call = a.value!;
    if (call.childForFieldName('function')?.text !== `${kw}.get`) continue;
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    if (args.length !== 2 || stringValueOf(args[0]!) !== key) continue;
    if (!evaluableEarly(args[1]!, params, locals, known, helperFunctions(ctx)) || args[1]!.text.includes('\n')) continue;
    return { lookup: call.text, fallback: args[1]!.text };
  }
  return null;
}

function stringValueOf(n: SyntaxNode): string | null {
  return n.type === 'string' ? n.text.replace(/^[rbuf]*["']|["']$/gi, '') : null;
}

/**
 * The value the legacy constructor bound for a port: `self.port = <expr>` when the
 * expression can be evaluated before super() (no self, only params, earlier locals,
 * module names), else the parameter itself.
 */
function passThroughValue(
  ctx: PythonTransformContext,
  init: PyFunction,
  legacyNames: string[],
  params: Map<string, { name: string; kind: string }>,
  locals: Set<string>,
  known: Set<string>,
  selfAttrs?: Set<string>,
): string | null {
  // `self.DEFAULT_PORT`: a constant of the class body, read through the instance before super() as after.
  const readable = new Set([...(selfAttrs ?? []), ...classConstants(ctx)]);
  for (const name of legacyNames) {
    const assign = ctx.agent.assignments.find((a) => a.method === '__init__' && a.attr === name && a.value);
    // A value written over several lines (inside brackets) goes into the call as one line.
    const text = assign?.value ? oneLine(assign.value) : null;
    if (!assign?.value || text === null) continue;
    // Only params, locals computed before the call, and module names may appear in it.
    if (evaluableEarly(assign.value, params, locals, known, helperFunctions(ctx), bindingsOf(init.node, false), readable)) return text;
    // `self.port + 1` where self.port is what the base was just given: the same expression, spelled out.
    const spelled = withPassedAttributes(ctx, assign.value, selfAttrs);
    if (spelled !== null && !spelled.includes('\n')) return spelled;
  }
  for (const name of legacyNames) {
    const p = params.get(name);
    if (p && (p.kind === 'plain' || p.kind === 'default')) {
      // The legacy attribute is set to something else (`port if port is not None else resolve_port(self.name, ...)`,
      // kept after the call for review): the parameter is not what `self.<name>` read, so nothing may be spelled from it.
      if (legacyNames.some((n) => ctx.agent.assignments.some((a) => a.method === '__init__' && a.attr === n && a.value && a.value.text !== name))) {
        inexactPassThrough(ctx).add(name);
      }
      return name;
    }
  }
  return null;
}

/** Per rewrite: pass-through values that stand in for a legacy value they are not (see passThroughValue). */
const inexactPassed = new WeakMap<PythonTransformContext, Set<string>>();
function inexactPassThrough(ctx: PythonTransformContext): Set<string> {
  let set = inexactPassed.get(ctx);
  if (!set) inexactPassed.set(ctx, (set = new Set()));
  return set;
}

/** A port read only through a settings object set before the call (heldSettingsPorts), spelled through it. */
function heldPort(ctx: PythonTransformContext, keyword: string, selfAttrs?: Set<string>): string | null {
  const held = heldSettingsPorts(ctx.agent, ctx.py.super_call.pass_through ?? {}).get(keyword);
  return held && selfAttrs?.has(held.holder) ? held.value : null;
}

/**
 * Names the class body binds to a literal (`DEFAULT_PORT = 7810`) that no method re-assigns on self and
 * the base does not own: `self.DEFAULT_PORT` reads the same value before super().__init__() as after.
 */
function classConstants(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  for (const stmt of ctx.agent.cls.body.namedChildren) {
    const a = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
    if (a?.type !== 'assignment') continue;
    const left = a.childForFieldName('left');
    const right = a.childForFieldName('right');
    if (left?.type !== 'identifier' || !right || !classValue(right)) continue;
    const name = left.text;
    if (ctx.agent.methods.has(name) || ctx.base.attributes.has(name) || ctx.base.methods.has(name)) continue;
    if (ctx.agent.assignments.some((x) => x.attr === name)) continue;
    // A mapping or sequence the class body builds once (`CONFIG = {"port": 7220, ...}`, even updated in the
    // class body from a config file): the same object before super().__init__() as after, unless a method
    // changes it in place.
    if (CONTAINERS.has(right.type) && mutatedInPlace(ctx, name)) continue;
    out.add(name);
  }
  for (const name of decoratorSetAttributes(ctx)) {
    if (ctx.agent.methods.has(name) || ctx.base.attributes.has(name) || ctx.base.methods.has(name)) continue;
    if (ctx.agent.assignments.some((x) => x.attr === name) || mutatedInPlace(ctx, name)) continue;
    out.add(name);
  }
  return out;
}

/**
 * Attributes a class decorator of the module sets on the class it is handed (`@voice_agent("wakeword", 5701)`
 * whose `wrap(cls)` does `cls.default_port = default_port` before registering it): set when the class statement
 * ran, before any instance exists, so `self.default_port` reads them before super().__init__() as after.
 */
function decoratorSetAttributes(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  const outer = ctx.agent.cls.outer;
  if (outer.type !== 'decorated_definition') return out;
  for (const d of outer.namedChildren.filter((c) => c.type === 'decorator')) {
    const expr = d.namedChild(0);
    const fnName = expr?.type === 'call' ? expr.childForFieldName('function')?.text : expr?.text;
    const fn = fnName ? ctx.module.functions.get(fnName) : undefined;
    if (!fn) continue;
    walk(fn.node, (n) => {
      if (n.type !== 'function_definition') return;
      const first = n.childForFieldName('parameters')?.namedChildren[0];
      if (first?.type !== 'identifier') return;
      walk(n.childForFieldName('body')!, (a) => {
        if (a.type !== 'assignment') return;
        const left = a.childForFieldName('left');
        if (left?.type === 'attribute' && left.childForFieldName('object')?.text === first.text) out.add(left.childForFieldName('attribute')!.text);
      });
    });
  }
  return out;
}

const CONTAINERS = new Set(['dictionary', 'list', 'tuple']);

/** Does a method of the agent change `self.<name>` in place (`self.CONFIG["port"] = ...`, `self.CONFIG.update(...)`)? */
function mutatedInPlace(ctx: PythonTransformContext, name: string): boolean {
  let hit = false;
  for (const m of ctx.agent.methods.values()) {
    walk(m.body, (n) => {
      if (hit) return false;
      if (selfAttribute(n) !== name) return;
      const p = n.parent;
      // self.CONFIG[...] = / del self.CONFIG[...] / self.CONFIG[...] += ...
      if (p?.type === 'subscript' && p.childForFieldName('value')?.id === n.id) {
        const stmt = p.parent;
        if ((stmt?.type === 'assignment' || stmt?.type === 'augmented_assignment') && stmt.childForFieldName('left')?.id === p.id) hit = true;
        if (stmt?.type === 'delete_statement') hit = true;
      }
      // self.CONFIG.update(...), .pop(...), .append(...): any method call on it may change it.
      if (p?.type === 'attribute' && p.parent?.type === 'call' && !/^(get|keys|values|items|copy|count|index)$/.test(p.childForFieldName('attribute')?.text ?? '')) hit = true;
    });
  }
  return hit;
}

/**
 * A class-body value read through the instance the same before super().__init__() as after: a literal, or
 * an expression evaluated once when the class is defined (`int(os.environ.get("PRUNER_PORT", "7651"))`),
 * not a descriptor (property(...), a function) whose reading runs code against the instance.
 */
function classValue(n: SyntaxNode): boolean {
  switch (n.type) {
    case 'dictionary':
      return n.namedChildren.every((p) => p.type === 'comment' || (p.type === 'pair' && [p.childForFieldName('key')!, p.childForFieldName('value')!].every((c) => classValue(c) || c.type === 'identifier' || c.type === 'attribute')));
    case 'list': case 'tuple':
      return n.namedChildren.every((c) => c.type === 'comment' || classValue(c) || c.type === 'identifier' || c.type === 'attribute');
    case 'integer': case 'float': case 'string': case 'concatenated_string': case 'true': case 'false': case 'none':
      return true;
    case 'unary_operator': case 'binary_operator': case 'parenthesized_expression': case 'boolean_operator': case 'conditional_expression':
      return n.namedChildren.every((c) => c.type === 'comment' || classValue(c) || c.type === 'identifier' || c.type === 'attribute');
    case 'call': {
      const fn = n.childForFieldName('function')?.text ?? '';
      return /^(int|float|str|bool|os\.environ\.get|os\.getenv|os\.path\.join|os\.path\.expanduser)$/.test(fn) &&
        (n.childForFieldName('arguments')?.namedChildren ?? []).every((a) => a.type === 'comment' || classValue(a) || a.type === 'identifier' || a.type === 'attribute' || a.type === 'call');
    }
    default:
      return false;
  }
}

/**
 * The expression with `self.<x>` replaced by what the base is given for <x> (`self.port` in
 * `env_port(health_check_port, "HEALTH_CHECK_PORT", self.port + 1)`), when that makes it
 * evaluable before super(); else null. Attributes in `setBefore` (set by statements the call goes
 * after) stay as they are.
 */
export function withPassedAttributes(ctx: PythonTransformContext, expr: SyntaxNode, setBefore?: Set<string>): string | null {
  const edits: Array<[number, number, string]> = [];
  let ok = true;
  walk(expr, (n) => {
    // `self._launcher_port()`: a method of the agent that only returns an expression, spelled out in its place.
    const inlined = n.type === 'call' ? inlinedCall(ctx, n, setBefore) : undefined;
    if (inlined === null) ok = false;
    if (inlined) edits.push([n.startIndex, n.endIndex, /^[\w.]+(\[[^\]]*\]|\([^()]*\))*$/s.test(inlined) ? inlined : `(${inlined})`]);
    if (inlined !== undefined) return false;
    const a = selfAttribute(n);
    if (a === null) return;
    // An attribute the call goes after (`self.config.get("health_port", self.port + 1)`): read as it is.
    if (setBefore?.has(a)) return false;
    const legacy = Object.entries(ctx.py.super_call.pass_through ?? {}).find(([kw, names]) => kw === a || names.includes(a))?.[0] ??
      // `self.name` the agent set once to what the base is given as its name (`self.name = SETTINGS.agent_name`).
      (a === ctx.py.super_call.name_keyword && ownNameGiven(ctx, a) ? a : undefined);
    const passed = legacy ? ctx.passThrough.get(legacy) : undefined;
    if (passed === undefined || inexactPassThrough(ctx).has(passed)) ok = false;
    // A primary expression (a name, a call, a subscript) needs no parentheses; anything else does.
    else edits.push([n.startIndex, n.endIndex, /^[\w.]+(\[[^\]]*\]|\([^()]*\))*$/s.test(passed) ? passed : `(${passed})`]);
    return false;
  });
  if (!ok || !edits.length) return null;
  let text = expr.text;
  for (const [st, en, r] of edits.sort((x, y) => y[0] - x[0])) text = text.slice(0, st - expr.startIndex) + r + text.slice(en - expr.startIndex);
  return text;
}

/**
 * `self.<m>()` where m is the agent's own method that only returns an expression (`return launcher_port(self.name,
 * SETTINGS.default_port)`): the expression with its self reads spelled as what the base is given (null when one
 * cannot be), so a port read through it can be given to the base before the agent exists. Undefined for any other
 * call. Only a method nothing else can reach differently: no parameters, not async or decorated, not the base's,
 * not read outside the class or overridden by a subclass in the file, and called only from __init__.
 */
function inlinedCall(ctx: PythonTransformContext, call: SyntaxNode, setBefore?: Set<string>): string | null | undefined {
  const fn = call.childForFieldName('function');
  const name = fn ? selfAttribute(fn) : null;
  if (!name || call.childForFieldName('arguments')?.namedChildCount) return undefined;
  const ret = inlinableReturn(ctx, name);
  if (!ret) return undefined;
  let readsSelf = false;
  walk(ret, (c) => {
    if (c.type === 'identifier' && c.text === 'self') readsSelf = true;
  });
  const text = readsSelf ? withPassedAttributes(ctx, ret, setBefore) : oneLine(ret);
  if (text === null || text.includes('\n')) return null;
  inlinedMethods(ctx).add(name);
  return text;
}

/** The returned expression of an agent method that can be spelled in place of its call (see inlinedCall). */
export function inlinableReturn(ctx: PythonTransformContext, name: string): SyntaxNode | null {
  const m = ctx.agent.methods.get(name);
  if (!m || m.isAsync || m.decorators.length || m.params.length !== 1 || ctx.base.methods.has(name) || ctx.external(name).length) return null;
  const body = statements(m.body).filter((st) => !isDocstring(st));
  const ret = body.length === 1 && body[0]!.type === 'return_statement' ? body[0]!.namedChild(0) : null;
  if (!ret || ret.type === 'expression_list') return null;
  let other = false;
  walk(ret, (c) => {
    if (c.type === 'lambda' || c.type === 'yield' || c.type === 'await' || (c.type === 'identifier' && c.text === 'super')) other = true;
  });
  if (other) return null;
  if (ctx.module.classes.some((k) => k !== ctx.agent.cls && k.methods.has(name) && k.bases.some((b) => baseName(b) === ctx.agent.cls.name))) return null;
  const init = ctx.agent.methods.get('__init__');
  const defName = m.node.childForFieldName('name');
  for (const r of ctx.refs.of(name)) {
    if (r.node.id === defName?.id) continue;
    if (!init || r.node.startIndex < init.node.startIndex || r.node.endIndex > init.node.endIndex) return null;
  }
  return ret;
}

/** Per rewrite: methods whose return expression was spelled in place of their call (deleted with that call's statement). */
const inlined = new WeakMap<PythonTransformContext, Set<string>>();
export function inlinedMethods(ctx: PythonTransformContext): Set<string> {
  let set = inlined.get(ctx);
  if (!set) inlined.set(ctx, (set = new Set()));
  return set;
}

/** The agent's one assignment of its name attribute reads what the base's constructor is given as the name. */
function ownNameGiven(ctx: PythonTransformContext, attr: string): boolean {
  const assigns = ctx.agent.assignments.filter((x) => x.attr === attr);
  return assigns.length === 1 && assigns[0]!.method === '__init__' && !!assigns[0]!.value && assigns[0]!.value.text === ctx.passThrough.get(attr);
}

const CALLS: ReadonlySet<string> = new Set(['call']);

/** Port expressions the agent binds: sockets' `.bind(...)` and servers it constructs. */
function agentBinds(ctx: PythonTransformContext): Array<{ expr: string; call: SyntaxNode }> {
  const servers = serverSubclasses(ctx.module.root);
  const out: Array<{ expr: string; call: SyntaxNode }> = [];
  walkTypes(ctx.agent.cls.node, CALLS, (n) => {
    if (n.type !== 'call') return;
    const expr = boundPort(n, servers);
    if (expr) out.push({ expr, call: n });
  });
  return out;
}

/**
 * Is this the port of a peer rather than the agent's own? The agent connects to it
 * (`socket.connect(f"tcp://host:{port}")`) and binds nothing on it: a client's peer port,
 * not the base's to bind. Anything else the agent calls its port is its own.
 */
function peerPort(ctx: PythonTransformContext, keyword: string, value: string, legacyNames: string[]): boolean {
  const forms = new Set([normPort(value), keyword, ...legacyNames]);
  for (const name of legacyNames) {
    for (const a of ctx.agent.assignments) if (a.attr === name && a.value && normPort(a.value.text) === normPort(value)) forms.add(name);
  }
  const stem = (e: string) => e.replace(/\+\d+$/, '');
  if (agentBinds(ctx).some((b) => forms.has(stem(b.expr)))) return false;
  let connects = false;
  walk(ctx.agent.cls.node, (n) => {
    if (n.type !== 'call' || !/\.connect$/.test(callee(n) ?? '')) return;
    const arg = n.childForFieldName('arguments')?.namedChild(0);
    const expr = arg ? portExpression(arg.text) : null;
    if (expr && forms.has(stem(expr))) connects = true;
  });
  return connects;
}

/**
 * Without a port parameter or attribute, the port the agent's request socket binds: a REP
 * socket that receives and replies (`self.query_socket.bind("tcp://*:5624")` → 5624), so the
 * base binds its request socket where the agent listened instead of falling back to a default.
 */
function requestSocketPort(ctx: PythonTransformContext, keyword: string): string | null {
  if (keyword !== 'port') return null;
  const reps = agentBinds(ctx).filter((b) => {
    const fn = b.call.childForFieldName('function');
    const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    const attr = obj ? selfAttribute(obj) : null;
    if (!attr) return false;
    return ctx.agent.assignments.some((a) => a.attr === attr && a.value && /zmq socket \((REP|ROUTER)\)/.test(valueType(a.value) ?? ''));
  });
  if (reps.length !== 1) return null;
  const expr = reps[0]!.expr;
  return /^\d+$|^[A-Z_][A-Z0-9_]*$/.test(expr) ? expr : null;
}

/**
 * Without a port parameter or attribute, where the agent listened, in module constants or
 * literals: the health port is the one its removed health endpoint bound (`SERVICE_PORT + 1`),
 * so the base's health answers where the legacy agent's did; the port is the one its kept
 * listener binds, when the base binds nothing on its port itself (else the two would clash).
 * So the base never falls back to a default or free port for an agent that had its own.
 */
function listenedPort(ctx: PythonTransformContext, keyword: string, known: Set<string>): string | null {
  const roles = portRoles(ctx.py.super_call.pass_through ?? {});
  const fixed = (e: string) => {
    const m = /^(\d+|[A-Z_][A-Z0-9_]*)(?:\+(\d+))?$/.exec(e);
    if (!m || (!/^\d+$/.test(m[1]!) && !known.has(m[1]!))) return null;
    return m[2] ? `${m[1]} + ${m[2]}` : m[1]!;
  };
  const binds = agentBinds(ctx);
  const removedHealth = (call: SyntaxNode) => isRemoved(ctx, call) && healthRemoval(ctx, call);
  if (roles.health.has(keyword) || keyword === 'health_check_port') {
    const health = binds.filter((b) => removedHealth(b.call));
    const exprs = [...new Set(health.map((b) => b.expr))];
    // Bound as `self.HEALTH_PORT`, a constant of the agent's class: given as that, read through self (the class
    // attribute before super().__init__() as after; a subclass that sets its own is given its own).
    const constant = exprs.length === 1 && /^[A-Z_][A-Z0-9_]*$/.test(exprs[0]!) && classConstants(ctx).has(exprs[0]!) &&
      health.every((b) => new RegExp(`\\bself\\.${exprs[0]}\\b`).test(b.call.text));
    return exprs.length === 1 ? (constant ? `self.${exprs[0]}` : fixed(exprs[0]!)) : null;
  }
  if (keyword !== 'port' || ctx.base.binds.some((b) => /^port(\+\d+)?$/.test(b))) return null;
  const kept = [...new Set(binds.filter((b) => !isRemoved(ctx, b.call)).map((b) => b.expr.replace(/\+\d+$/, '')))];
  if (kept.length === 1) return fixed(kept[0]!);
  // Several listeners: the one its health port was derived from (SERVICE_PORT, health on SERVICE_PORT + 1).
  const health = [...new Set(binds.filter((b) => removedHealth(b.call)).map((b) => b.expr))];
  const stem = health.length === 1 ? /^(.+)\+\d+$/.exec(health[0]!)?.[1] : undefined;
  return stem && kept.includes(stem) ? fixed(stem) : null;
}

/** Is this (removed) call part of what the health concern removed? */
function healthRemoval(ctx: PythonTransformContext, call: SyntaxNode): boolean {
  const plan = ctx.resolved;
  if (!plan) return false;
  const inside = (n: SyntaxNode) => n.startIndex <= call.startIndex && call.endIndex <= n.endIndex;
  if (plan.statements.some((st) => st.finding === 'health' && inside(st.node))) return true;
  for (const [name, p] of plan.members) {
    if (p.finding !== 'health') continue;
    if (p.kind === 'method' && ctx.agent.methods.has(name) && inside(ctx.agent.methods.get(name)!.outer)) return true;
    if (p.kind === 'attribute' && ctx.agent.assignments.some((a) => a.attr === name && inside(a.stmt))) return true;
    if (p.kind === 'attribute') {
      // self.health_sock.bind(...)
      const fn = call.childForFieldName('function');
      const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
      if (obj && selfAttribute(obj) === name) return true;
    }
  }
  return false;
}

/**
 * An existing call gives the base `port=port` while the request socket the base now owns bound
 * `port if port else 5642` (or `port or 5642`): the base would fall back to a default or free
 * port where the agent listened on 5642. The call gets the expression the socket bound.
 */
function widenPassedPort(ctx: PythonTransformContext, init: PyFunction, call: SyntaxNode): void {
  const kw = (call.childForFieldName('arguments')?.namedChildren ?? []).find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'port');
  const value = kw?.childForFieldName('value');
  if (!value || value.type !== 'identifier') return;
  const params = new Set(init.params.map((p) => p.name));
  const known = moduleNames(ctx);
  const exprs = new Set<string>();
  for (const b of agentBinds(ctx)) {
    if (!isRemoved(ctx, b.call) || healthRemoval(ctx, b.call)) continue;
    const raw = rawPortExpression(b.call.childForFieldName('arguments')?.namedChild(0)?.text ?? '');
    if (!raw || normPort(raw) === normPort(value.text) || !new RegExp(`\\b${value.text}\\b`).test(raw)) continue;
    const names = raw.match(/[A-Za-z_]\w*/g) ?? [];
    if (names.every((n) => params.has(n) || known.has(n) || BUILTINS.has(n) || /^(if|else|or|and|not|is|None)$/.test(n))) exprs.add(raw.trim());
  }
  if (exprs.size !== 1) return;
  const better = [...exprs][0]!;
  ctx.edits.replace(value.startIndex, value.endIndex, better, label);
  ctx.passThrough.set('port', better);
  ctx.warnings.push(`super().__init__ now gets port=${better}: the request socket it replaces listened there (the call gave port=${value.text}, and the base would have picked another port when it is None)`);
}

const BUILTINS = new Set(['int', 'str', 'float', 'bool', 'os', 'None', 'True', 'False', 'dict', 'len', 'min', 'max', 'getattr', 'abs', 'round', 'repr', 'hex']);
/**
 * Builtins whose call only reads its arguments (`len(config.tenants)`): the same value wherever it is evaluated
 * while they are unchanged. Not those that consume an iterator (sorted, list, tuple, sum): a value both handed
 * to the base and kept in its re-assignment would be evaluated twice, the second time on an exhausted generator.
 */
const PURE_BUILTIN_CALLS = /^(?:int|str|float|bool|len|abs|round|repr|hex|getattr|min|max)$/;

export function evaluableEarly(
  expr: SyntaxNode,
  params: Map<string, unknown>,
  locals: Set<string>,
  known: Set<string>,
  functions: Set<string>,
  /** Every local name __init__ assigns, wherever (unknown: treat every name as possibly local). */
  allLocals?: Set<string>,
  /** Agent attributes set before the call (statements the call goes after). */
  selfAttrs?: Set<string>,
  /** A statement moved before the call (evaluated once, as before): any call of a module name is fine. */
  moved = false,
): boolean {
  let ok = true;
  walk(expr, (n) => {
    if (!ok) return false;
    if (n.type === 'lambda' || n.type === 'await' || n.type === 'yield') ok = false;
    const attr = selfAttribute(n);
    if (attr !== null && selfAttrs?.has(attr)) return false;
    if (attr !== null) ok = false;
    if (n.type === 'identifier') {
      const p = n.parent;
      const isAttrName = p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id;
      const isKw = p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id;
      // A name defined nowhere (neither module nor __init__) fails with NameError wherever it is evaluated.
      const undefinedAnywhere = !known.has(n.text) && !(allLocals?.has(n.text) ?? true);
      if (!isAttrName && !isKw && !params.has(n.text) && !locals.has(n.text) && !known.has(n.text) && !BUILTINS.has(n.text) && !undefinedAnywhere) ok = false;
      if (n.text === 'self') ok = false;
    }
    if (n.type === 'call') {
      const fn = n.childForFieldName('function')!.text;
      // `self.settings.get("port", 7810)` on an attribute set before the call: a lookup like any other.
      const own = /^self\.(\w+)\.get(?:int|float)?$/.exec(fn);
      if (own && selfAttrs?.has(own[1]!)) return;
      // Lookups, conversions and the module's own helper functions (env_port(...)): evaluated once, before super().
      const undefinedCallee = /^\w+$/.test(fn) && !known.has(fn) && !(allLocals?.has(fn) ?? true) && !BUILTINS.has(fn);
      const movedCall = moved && /^[A-Za-z_][\w.]*$/.test(fn) && (known.has(fn.split('.')[0]!) || BUILTINS.has(fn));
      // configparser's section lookups (`settings.getint("port")`) read like `.get`.
      if (!PURE_BUILTIN_CALLS.test(fn) && !/^(os\.environ\.get|os\.getenv|\w+\.get(?:int|float)?|\w+\[['"][\w-]+['"]\]\.get(?:int|float)?)$/.test(fn) && !functions.has(fn) && !undefinedCallee && !movedCall) ok = false;
    }
  });
  return ok;
}

/** Functions the module defines or imports by name (env_port, load_config): plain helpers. */
export function helperFunctions(ctx: PythonTransformContext): Set<string> {
  const out = new Set(ctx.module.functions.keys());
  for (const [local, imp] of ctx.module.imports) if (imp.name && /^[a-z_][a-z0-9_]*$/.test(local)) out.add(local);
  return out;
}

export function moduleNames(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>(ctx.module.imports.keys());
  // Module-scope assignments, also inside top-level if/try/with blocks (CONFIG = ... in a try).
  const visit = (block: SyntaxNode, depth: number) => {
    for (const s of block.namedChildren) {
      const e = s.type === 'expression_statement' ? s.namedChild(0) : null;
      if (e?.type === 'assignment') {
        const left = e.childForFieldName('left');
        if (left?.type === 'identifier') out.add(left.text);
      } else if (depth < 3 && ['if_statement', 'try_statement', 'with_statement'].includes(s.type)) {
        for (const b of blocksOf(s)) visit(b, depth + 1);
      }
    }
  };
  visit(ctx.module.root, 0);
  for (const c of ctx.module.classes) out.add(c.name);
  for (const f of ctx.module.functions.keys()) out.add(f);
  return out;
}

/**
 * A port the base must bind that the agent reads from an attribute it sets first (`self.settings =
 * settings or CollectorSettings()`, then `self.port = self.settings.port`): the leading statements of
 * __init__ that set such attributes, up to the last one the port reads, and those attributes. Each
 * is a plain `self.<attr> = <value>` of an attribute the base does not own, its value computable
 * before super() (parameters, module names, attributes set just before), so setting it before the
 * base's constructor changes nothing for the base. Null when no port reads one.
 */
function portSource(
  ctx: PythonTransformContext,
  init: PyFunction,
  body: SyntaxNode[],
  firstSelf: SyntaxNode | undefined,
  selfName: string,
): { last: SyntaxNode; attrs: Set<string> } | null {
  if (!firstSelf || selfName !== 'self') return null;
  const params = new Map(init.params.map((p) => [p.name, p]));
  const known = moduleNames(ctx);
  const fns = helperFunctions(ctx);
  const setters = settersBeforeBase(ctx, init, body, firstSelf);
  const attrs = new Set(setters.keys());
  if (!attrs.size) return null;
  let last: SyntaxNode | null = null;
  for (const names of Object.values(ctx.py.super_call.pass_through ?? {})) {
    for (const name of names) {
      const assign = ctx.agent.assignments.find((x) => x.method === '__init__' && x.attr === name && x.value);
      if (!assign?.value) continue;
      const read = [...attrs].filter((x) => mentionsAttribute(assign.value!, x));
      if (!read.length || !evaluableEarly(assign.value, params, new Set(), known, fns, bindingsOf(init.node, false), attrs)) continue;
      for (const r of read) if (!last || setters.get(r)!.startIndex > last.startIndex) last = setters.get(r)!;
    }
  }
  // A port read only through settings set among them (`self.settings = settings or {...}`, the server on
  // `self.settings["health_port"]`): the call goes after that set-up too.
  for (const held of heldSettingsPorts(ctx.agent, ctx.py.super_call.pass_through ?? {}).values()) {
    const setter = setters.get(held.holder);
    if (!setter || !evaluableEarly(held.read, params, new Set(), known, fns, bindingsOf(init.node, false), attrs)) continue;
    if (!last || setter.startIndex > last.startIndex) last = setter;
  }
  if (!last) return null;
  const needed = new Set([...attrs].filter((x) => setters.get(x)!.startIndex <= last!.startIndex));
  return { last, attrs: needed };
}

/**
 * The leading statements of __init__ from `from` on that may run before super(): plain `self.<attr> =
 * <value>` of attributes the base does not own, set once, their values computable there (parameters,
 * module names, the attributes set just before). Attribute -> its statement, in order.
 */
function settersBeforeBase(ctx: PythonTransformContext, init: PyFunction, body: SyntaxNode[], from: SyntaxNode): Map<string, SyntaxNode> {
  const params = new Map(init.params.map((p) => [p.name, p]));
  const known = moduleNames(ctx);
  const fns = helperFunctions(ctx);
  const setters = new Map<string, SyntaxNode>();
  // A legacy name of a port the base is given (`self.zmq_port = ...`) is no setter to go after: the call is
  // given its value, a read of it is spelled as that value (withPassedAttributes), and base-attributes turns
  // the copy into the base's attribute (a call placed after it would be inserted inside a removed statement).
  const passedNames = new Set(Object.values(ctx.py.super_call.pass_through ?? {}).flat());
  for (const st of body.slice(body.indexOf(from))) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const attr = a?.type === 'assignment' ? selfAttribute(a.childForFieldName('left')!) : null;
    const value = a?.childForFieldName('right');
    if (!attr || !value || ctx.baseOwned.has(attr) || ctx.agent.methods.has(attr) || setters.has(attr) || passedNames.has(attr)) break;
    if (ctx.agent.assignments.filter((x) => x.attr === attr && x.method === '__init__').length !== 1) break;
    if (!evaluableEarly(value, params, localsBefore(body, st), known, fns, bindingsOf(init.node, false), new Set(setters.keys()), true)) break;
    setters.set(attr, st);
  }
  return setters;
}

/** Per rewrite: the statement whose unpacked ports became locals (it no longer assigns the base's attributes). */
const unpackedStatements = new WeakMap<PythonTransformContext, SyntaxNode>();

export function unpackedPortStatement(ctx: PythonTransformContext): SyntaxNode | undefined {
  return unpackedStatements.get(ctx);
}

/**
 * The first statement of __init__ that mentions self, `self.port, self.health_check_port = <value>`, every
 * target a keyword the base is given, the value computable before super(): the locals (named as the keywords,
 * when no parameter or other local has the name) and what each keyword is given.
 */
function unpackedPorts(ctx: PythonTransformContext, init: PyFunction, body: SyntaxNode[], firstSelf: SyntaxNode | undefined):
  { stmt: SyntaxNode; left: SyntaxNode; locals: string[]; given: Map<string, string> } | null {
  const e = firstSelf?.type === 'expression_statement' ? firstSelf.namedChild(0) : null;
  const left = e?.type === 'assignment' ? e.childForFieldName('left') : null;
  const value = e?.childForFieldName('right');
  if (!left || !value || !/^(pattern_list|tuple_pattern)$/.test(left.type) || e!.childForFieldName('type')) return null;
  const keywords = new Set(Object.keys(ctx.py.super_call.pass_through ?? {}));
  const attrs = left.namedChildren.map((n) => selfAttribute(n));
  if (!attrs.length || attrs.some((a) => a === null || !keywords.has(a) || !ctx.baseOwned.has(a))) return null;
  if (new Set(attrs).size !== attrs.length) return null;
  const params = new Map(init.params.map((p) => [p.name, p]));
  // (the statement itself binds no name: its targets are all attributes)
  const taken = bindingsOf(init.node, false);
  if (attrs.some((a) => params.has(a!) || taken.has(a!) || moduleNames(ctx).has(a!))) return null;
  if (!evaluableEarly(value, params, localsBefore(body, firstSelf), moduleNames(ctx), helperFunctions(ctx), taken)) return null;
  // Set once: a later assignment of the same attribute is the agent's to keep (and base-attributes' to report).
  if (attrs.some((a) => ctx.agent.assignments.filter((x) => x.attr === a).length !== 1)) return null;
  return { stmt: firstSelf!, left, locals: attrs as string[], given: new Map(attrs.map((a) => [a!, a!])) };
}

/** An existing call placed after such setters, given what they set (a second run over portSource's output). */
function afterOwnSetters(ctx: PythonTransformContext, init: PyFunction, body: SyntaxNode[], firstSelf: SyntaxNode, existing: SuperCall): boolean {
  if (existing.stmt.parent?.id !== init.body.id) return false;
  const setters = settersBeforeBase(ctx, init, body, firstSelf);
  const before = body.slice(body.indexOf(firstSelf), body.indexOf(existing.stmt));
  if (before.length > 0 && before.every((st) => [...setters.values()].includes(st)) &&
    [...setters.keys()].some((a) => mentionsAttribute(existing.call, a))) return true;
  // The same with `self._cfg.update(...)` among them (owned-property's output: a property given to the base).
  const chain = leadingChain(ctx, body, firstSelf, earlyTest(ctx));
  return before.length > 0 && before.every((st) => chain.some((c) => c.stmt === st)) && chain.some((c) => mentionsAttribute(existing.call, c.attr));
}

function mentionsAttribute(expr: SyntaxNode, attr: string): boolean {
  let found = false;
  walk(expr, (n) => {
    if (selfAttribute(n) === attr) found = true;
  });
  return found;
}

function insertCall(ctx: PythonTransformContext, init: PyFunction, firstSelf: SyntaxNode | undefined, body: SyntaxNode[], call: string) {
  const src = ctx.source;
  if (firstSelf) {
    let at = lineStart(src, firstSelf.startIndex);
    const indent = src.slice(at, firstSelf.startIndex);
    // Keep comments that describe the first statement attached to it: go above them.
    while (at > 0) {
      const prev = lineStart(src, at - 1);
      const line = src.slice(prev, at);
      if (line.trim().startsWith('#') && line.startsWith(indent) && !/^[ \t]/.test(line.slice(indent.length))) at = prev;
      else break;
    }
    ctx.edits.insert(at, `${indent}${call}${ctx.layout.eol}`, label);
    return;
  }
  const last = body[body.length - 1] ?? statements(init.body)[statements(init.body).length - 1];
  if (!last) return;
  const indent = src.slice(lineStart(src, last.startIndex), last.startIndex);
  if (last.type === 'pass_statement' && body.length === 1) {
    ctx.edits.replace(last.startIndex, last.endIndex, call, label);
    return;
  }
  ctx.edits.insert(lineEnd(src, last.endIndex), `${indent}${call}${ctx.layout.eol}`, label);
}

/** Per rewrite: where super().__init__() went in a dataclass agent's __post_init__ (statements before it set ports). */
const dataclassCalls = new WeakMap<PythonTransformContext, { method: string; at: number }>();

/**
 * The method that constructs the agent: __init__, or __post_init__ of a dataclass agent (which has no
 * __init__ of its own: the generated one assigns the fields, then calls it), and the offset before which
 * its statements run before super().__init__() (-1 when unknown: a class whose __init__ this is not).
 */
export function constructorOf(ctx: PythonTransformContext): { method: string; callAt: number } {
  const d = dataclassCalls.get(ctx);
  return d ? { method: d.method, callAt: d.at } : { method: '__init__', callAt: -1 };
}

/**
 * A @dataclass agent: its generated __init__ assigns the fields and calls __post_init__, the one place
 * the base's constructor can run (an __init__ written beside the fields would replace the generated one,
 * losing every field). super().__init__() goes first in __post_init__ (after the statements that only
 * compute the ports and name it is given, `self.port = int(os.environ.get("AGENT_PORT", self.port))`),
 * given the fields that hold them; __post_init__ is written when there is none. A field the base owns
 * under another value (`running: bool = False`) would be overwritten by the base's constructor: refused,
 * nothing written.
 */
function dataclassInit(ctx: PythonTransformContext) {
  const cls = ctx.agent.cls;
  const base = ctx.profile.base_class;
  const refuse = (why: string, line = cls.line): never => {
    throw new MigrateError(`${cls.name} (line ${cls.line}) is a @dataclass agent, but ${why}: migrate it by hand; nothing written`, ctx.file, line);
  };
  const blocker = dataclassInitBlocker(cls, base);
  if (blocker) refuse(blocker);
  const post = cls.methods.get('__post_init__');
  let done = false;
  if (post) walk(post.body, (n) => {
    if (n.type === 'call' && /^super\(.*\)\.__init__$/s.test(n.childForFieldName('function')?.text ?? '')) done = true;
  });
  // Already on the base (a second run): nothing to add.
  if (done) return;
  const sc = ctx.py.super_call;
  const given = new Map<string, string>([[sc.name_keyword, sc.name_keyword], ...Object.entries(sc.pass_through ?? {}).flatMap(([kw, names]) => [kw, ...names].map((n) => [n, kw] as [string, string]))]);
  const fields = new Map(dataclassFieldsOf(cls).map((f) => [f.name, f]));
  for (const [name, f] of fields) {
    if (!ctx.base.attributes.has(name) || given.has(name)) continue;
    const baseValue = ctx.base.initValues.get(name);
    const same = baseValue !== undefined && f.value && f.value.text.replace(/\s+/g, '') === baseValue.replace(/\s+/g, '') &&
      /^(True|False|None|-?\d+(\.\d+)?)$/.test(f.value.text.trim());
    if (!same) {
      refuse(`its field ${name} (line ${f.line}) is an attribute ${base}.__init__ also sets${baseValue !== undefined ? ` (to ${baseValue})` : ''}, ` +
        `and the base's constructor, called from __post_init__ after the fields are assigned, would overwrite the field's value`, f.line);
    }
  }
  if (post && (post.params[0]?.name !== 'self' || post.isAsync || post.decorators.length)) refuse('its __post_init__ is not a plain method of self', post.line);
  // The statements at the head of __post_init__ that only compute a port or the name from fields.
  const body = post ? statements(post.body).filter((s) => !isDocstring(s)) : [];
  const setters = new Set<string>();
  let at = 0;
  for (; at < body.length; at++) {
    const st = body[at]!;
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const attr = a?.type === 'assignment' && !a.childForFieldName('type') ? selfAttribute(a.childForFieldName('left')!) : null;
    if (!attr || !given.has(attr) || setters.has(attr)) break;
    let callsSelf = false;
    walk(a!.childForFieldName('right')!, (n) => {
      if (n.type === 'call' && /^self\./.test(n.childForFieldName('function')?.text ?? '')) callsSelf = true;
      if (n.type === 'lambda' || n.type === 'function_definition') return false;
    });
    if (callsSelf) break;
    setters.add(attr);
  }
  const source = (kw: string) => [...fields.keys(), ...setters].find((n) => given.get(n) === kw && (n === kw || n !== sc.name_keyword));
  const args: string[] = [];
  const nameFrom = source(sc.name_keyword);
  args.push(`${sc.name_keyword}=${nameFrom ? `self.${nameFrom}` : ownClassName(ctx)}`);
  ctx.passThrough.set(sc.name_keyword, nameFrom ? `self.${nameFrom}` : ownClassName(ctx));
  for (const kw of Object.keys(sc.pass_through ?? {})) {
    const from = source(kw);
    if (!from) continue;
    args.push(`${kw}=self.${from}`);
    ctx.passThrough.set(kw, `self.${from}`);
  }
  const call = `super().__init__(${args.join(', ')})`;
  if (post) {
    const first = body[at];
    dataclassCalls.set(ctx, { method: '__post_init__', at: first ? first.startIndex : post.body.endIndex });
    insertCall(ctx, post, first, body, call);
  } else {
    const members = statements(cls.body);
    const anchor = members.find((s) => s.type === 'function_definition' || s.type === 'decorated_definition');
    dataclassCalls.set(ctx, { method: '__post_init__', at: anchor ? anchor.startIndex : cls.body.endIndex });
    const block = `def __post_init__(self):\n    ${call}\n`;
    const src = ctx.source;
    const prev = anchor ? members[members.indexOf(anchor) - 1] : undefined;
    if (anchor && prev) {
      // Right after the fields (another transform may write in place of the first method).
      const indent = src.slice(lineStart(src, prev.startIndex), prev.startIndex);
      ctx.edits.insert(lineEnd(src, prev.endIndex), ctx.layout.eol + renderBlock(block, indent, ctx.layout), label);
    } else if (anchor) {
      const start = lineStart(src, anchor.startIndex);
      ctx.edits.insert(start, renderBlock(block, src.slice(start, anchor.startIndex), ctx.layout) + ctx.layout.eol, label);
    } else {
      const last = members[members.length - 1]!;
      const indent = src.slice(lineStart(src, last.startIndex), last.startIndex);
      ctx.edits.insert(lineEnd(src, last.endIndex), ctx.layout.eol + renderBlock(block, indent, ctx.layout), label);
    }
  }
  ctx.warnings.push(`${cls.name} is a @dataclass: its generated __init__ assigns the fields, then __post_init__ calls ${call}`);
  orphanFields(ctx, fields);
}

/**
 * A field that held only what the rewrite removed (`_health: Optional[ThreadingHTTPServer] = None`, the
 * health server that went) goes with it, when dropping it from the generated __init__ changes no caller:
 * the class is constructed only in this file, with keywords other than that field's and no splat, and
 * nothing reads the fields as a whole (asdict, astuple, fields, replace).
 */
function orphanFields(ctx: PythonTransformContext, fields: Map<string, { name: string; line: number; value: SyntaxNode | null }>): void {
  const cls = ctx.agent.cls;
  const gone = [...fields.values()].filter((f) => ctx.resolved?.members.has(f.name) && f.value !== null);
  if (!gone.length || ctx.external(cls.name).length) return;
  if (/(?<![\w.])(asdict|astuple|fields|replace)\s*\(|\bdataclasses\.(asdict|astuple|fields|replace)\b/.test(ctx.source)) return;
  const passed = new Set<string>();
  let unsafe = false;
  walk(ctx.module.root, (n) => {
    if (n.type !== 'call' || callee(n) !== cls.name) return;
    for (const a of n.childForFieldName('arguments')?.namedChildren ?? []) {
      if (a.type === 'keyword_argument') passed.add(a.childForFieldName('name')!.text);
      else if (a.type !== 'comment') unsafe = true;
    }
  });
  if (unsafe) return;
  for (const f of gone) {
    const stmt = f.value!.parent!.parent!;
    if (passed.has(f.name) || ctx.refs.of(f.name).some((r) => !isRemoved(ctx, r.node) && !(stmt.startIndex <= r.start && r.end <= stmt.endIndex))) continue;
    ctx.deletions.push({ node: stmt, symbol: f.name });
  }
}

function createInit(ctx: PythonTransformContext) {
  const cls = ctx.agent.cls;
  const src = ctx.source;
  const members = statements(cls.body);
  const firstMethod = members.find((s) => s.type === 'function_definition' || s.type === 'decorated_definition');
  const anchor = firstMethod ?? null;
  const sc = ctx.py.super_call;
  const kw = sc.forward_kwargs ? ', **kwargs' : '';
  const name = ownClassName(ctx);
  const call = `super().__init__(${sc.name_keyword}=${name}${sc.forward_kwargs ? ', **kwargs' : ''})`;
  ctx.passThrough.set(sc.name_keyword, name);
  const block = `def __init__(self${kw}):\n    ${call}\n`;
  if (anchor) {
    const at = lineStart(src, anchor.startIndex);
    const indent = src.slice(at, anchor.startIndex);
    ctx.edits.insert(at, renderBlock(block, indent, ctx.layout) + ctx.layout.eol, label);
    return;
  }
  const last = members[members.length - 1];
  if (!last) return;
  const indent = src.slice(lineStart(src, last.startIndex), last.startIndex);
  if (last.type === 'pass_statement' && members.length === 1) {
    ctx.edits.replace(lineStart(src, last.startIndex), lineEnd(src, last.endIndex), renderBlock(block, indent, ctx.layout), label);
    return;
  }
  ctx.edits.insert(lineEnd(src, last.endIndex), ctx.layout.eol + renderBlock(block, indent, ctx.layout), label);
}

/**
 * The call of the constructor's body (other than `replaced`, the call the base's takes the place of)
 * that is handed the whole `**kwargs` mapping: `PriceCacheClient(**kwargs)`, `super().__init__(name, **options)`.
 */
function kwargsConsumer(init: PyFunction, name: string, replaced: SyntaxNode | undefined): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(init.body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (replaced && n.id === replaced.id) return false;
    if (n.type === 'dictionary_splat' && n.namedChild(0)?.type === 'identifier' && n.namedChild(0)!.text === name && n.parent?.type === 'argument_list') {
      found = n.parent.parent;
    }
  });
  return found;
}

/**
 * The name an agent that names itself nowhere is given: its class name, or `type(self).__name__` when a class of
 * the repository subclasses it (a constant-only tuning in its file, a `class FxQuoteRouter(QuoteRouter)` in
 * another): each subclass then registers, pushes metrics and deregisters as itself, where the class-name literal
 * made them share one registry entry (the first to stop deregistering the others). The legacy had no such entry.
 * Where the agent's own code spells its class name as a literal (a registration record's `"name": "QuoteRouter"`,
 * a health body's agent field), its subclasses announced themselves under it too: the literal stays.
 */
function ownClassName(ctx: PythonTransformContext): string {
  // Its registry records name it by a constant (`"name": self.NAME`): the base registers under that.
  const read = registeredNameRead(ctx);
  if (read) return read;
  const literal = JSON.stringify(ctx.agent.cls.name);
  if (spellsOwnClassName(ctx)) return literal;
  return subclassedInRepository(ctx) ? 'type(self).__name__' : literal;
}

/**
 * A method of the agent holds a string that is exactly its class name (a logger's name aside: that names a logger).
 * A class constant (`NAME = "MountWatcher"`) is not fixed: a subclass sets its own.
 */
function spellsOwnClassName(ctx: PythonTransformContext): boolean {
  let found = false;
  walkTypes(ctx.agent.cls.body, new Set(['string']), (n) => {
    if (found || stringValue(n) !== ctx.agent.cls.name || isDocstring(n.parent ?? n)) return;
    let method: SyntaxNode | null = n.parent;
    while (method && method.type !== 'function_definition') method = method.parent;
    if (!method) return;
    const call = n.parent?.type === 'argument_list' ? n.parent.parent : null;
    if (call?.type === 'call' && /(^|\.)getLogger$/.test(call.childForFieldName('function')?.text ?? '')) return;
    found = true;
  });
  return found;
}

/** A class of the agent's file, or of another file of the repository importing its module, names the agent as a base. */
function subclassedInRepository(ctx: PythonTransformContext): boolean {
  const name = ctx.agent.cls.name;
  const names = (b: SyntaxNode) => baseName(b) === name;
  const subclassIn = (root: SyntaxNode) => {
    let hit = false;
    walkTypes(root, new Set(['class_definition']), (n) => {
      if (!hit && (n.childForFieldName('superclasses')?.namedChildren ?? []).some(names)) hit = true;
    });
    return hit;
  };
  if (constantSubclasses(ctx.module.root.tree, name).size || subclassIn(ctx.module.root)) return true;
  const files = new Set(ctx.moduleUses(name).map((u) => u.file));
  // Each file's base names are read once per run, not parsed again for every agent it names.
  return [...files].some((rel) => !!ctx.repoClassBases?.(rel)?.has(name));
}
