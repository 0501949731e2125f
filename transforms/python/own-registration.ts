// Concern: an agent that registers itself with the service registry through its own code (a method of the
// agent, a function of its file, or a shared helper module of the repository that several agents import:
// `registry_client.register(self.name, self.port, self.health_check_port)`). That code stays: its record
// may carry fields the base's does not (a kind, capabilities), and nothing proves the two registries are
// one. But the base registers the agent too, so the migrated agent registers twice (and deregisters
// twice) without anyone being told. Proof that the call registers is read from the code it runs (the
// helper's own body posts to a `/register` path), across files for an imported helper; the warning names
// the call and the helper with file and line, so a person can drop the agent's own once the base's record
// is enough.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { boundNames, CALL_TYPE, callee, isDocstring, lineOf, selfAttribute, statements, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { dictKeys } from '../../src/analysis/base-model.js';
import { CALL_NODES } from '../../src/analysis/agent-model.js';
import { baseRegisters, envLookup, SENDS } from '../../src/analysis/registry-send.js';
import { insertAfterInit } from './health-hook.js';
import { callsSuper } from './early-overrides.js';
import { classConstant } from './hardened-publisher.js';
import { mixinClosure } from './registry-mixin.js';

/** The node types the search of the agent's methods reads (see walkTypes): calls, and the scopes it does not enter. */
const SCOPES_AND_CALLS: ReadonlySet<string> = new Set(['class_definition', 'function_definition', 'call']);

/** A registry path the helper posts to. */
const REGISTER_PATH = /(^|\/)(register|deregister|unregister)\/?$/;

/**
 * An agent method that does what the base does: it posts a record to the `/register` path of the registry
 * the base registers with (the URL it reads from the profile's registry variable, REGISTRY_URL, or the
 * base's own registry_url), retrying as the base retries, and the record carries only what the base's own
 * record carries (its keys, read from the base's source, or the legacy names of the ports the base is
 * given) under the agent's own name, plus constant fields the base's record method can be given by an
 * override. It sets no state of the agent's but its own flags (see ownFlags), its answer is not used (it is called as a statement, run as a
 * thread's target, or stored in a flag nothing reads), no other file of the repository calls it, and the
 * agent deregisters nothing itself, or only as the base does (basePair: both then go): then it goes with its
 * calls, and the base's registration is the one left. Anything else stays, with the warning.
 */
export const ownRegistrationPropose: PythonTransform = {
  name: 'own-registration-propose',
  phase: 'propose',
  run(ctx) {
    const record = ctx.base.registrationRecord;
    if (!record || ctx.profile.validation?.registry === 'none') return;
    const posts = [...ctx.agent.methods.values()].map((fn) => ({ fn, path: postsTo(fn) })).filter((p) => p.path !== null);
    // The registration methods that go, whose own helpers go with them (see ownHelpers).
    const goes: PyFunction[] = [];
    // The agent's own deregistration goes only as the pair of a registration that goes (see basePair).
    const deregs = posts.filter((p) => /(de|un)register/.test(p.path!)).map((p) => p.fn);
    const pair = deregs.length ? basePair(ctx, posts.filter((p) => !deregs.includes(p.fn)).map((p) => p.fn), deregs) : null;
    if (deregs.length && !pair) return;
    for (const { fn, path } of posts) {
      // (named like the base's own registration method: the base's runs again once it goes)
      if (!/(^|\/)register\/?$/.test(path!) || fn.name.startsWith('__') || fn.isAsync) continue;
      // (with its deregistration when that goes too: a flag the pair shares is theirs)
      const together = pair?.registration === fn.name ? [fn, pair.fn] : [fn];
      const flags = ownFlags(ctx, together);
      if (!postsToBaseRegistry(ctx, fn) || !recordOf(ctx, fn) || !flags) continue;
      // A method other files of the repository call (`agent.register()` in a script) stays.
      if (ctx.external(fn.name).length) continue;
      const all = callStatements(ctx, fn.name);
      if (!all) continue;
      // Calls from elsewhere than __init__ (a re-announce an admin route asks for) stay, on the base's own registration.
      const rewired = reannounceCalls(ctx, fn, all);
      if (!rewired) continue;
      const calls = all.filter((st) => !rewired.includes(st));
      // A registry the legacy fell back to with the variable unset: carried onto the base when it can be
      // (see registryDefault), else the agent's own registration stays (the base would register nowhere).
      const fallback = legacyRegistryDefaultVia(ctx, fn);
      if (fallback !== null && (fallback === UNCARRIED || !registryDefault(ctx, fallback, fn.name))) continue;
      // Fields read from the agent's state: only where the base's registration can wait for them (and the
      // registration method is not also the one a carried default overrides).
      const late = recordOf(ctx, fn)!.late;
      const deferred = late.length ? deferredRegistration(ctx, fn, calls, late) : null;
      if (late.length && (!deferred || fallback !== null || rewired.length)) continue;
      if (rewired.length && fallback !== null) continue;
      if (deferred) {
        const reason = `registers the agent with the registry ${ctx.profile.validation?.registry_env ?? 'REGISTRY_URL'} names, sending what the base's record carries and fields read from the agent's state (${ctx.profile.base_class} registers it there, with retries, once they are set)`;
        // (named like the base's registration: its call stays, reaching the override below)
        ctx.plan.proposeMember({ name: fn.name, kind: 'method', finding: 'registry', reason, callsReachBase: fn.name === deferred.method });
        // The call stays where it is, now calling the base's registration (as it is when the legacy's own was
        // named like it: `self._register_service()`).
        const replacement = `self.${deferred.method}()`;
        if (deferred.call.text !== replacement) ctx.plan.proposeStatement({ node: deferred.call, symbol: fn.name, finding: 'registry', reason, requires: [fn.name], replacement });
        // (its own helpers go with it, as with a registration that goes outright)
        goes.push(fn);
        continue;
      }
      const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
      const base = ctx.profile.base_class;
      const reason = `registers the agent with the registry ${env} names, sending what the base's record carries (${base} registers it there, with retries` +
        (fallback ? `; with ${env} unset, at the legacy default ${fallback}, given to ${base} by a ${ctx.base.registryUrl!.method}() override` : '') + ')';
      ctx.plan.proposeMember({ name: fn.name, kind: 'method', finding: 'registry', reason });
      goes.push(fn);
      for (const st of flags) ctx.plan.proposeStatement({ node: st, symbol: fn.name, finding: 'registry', reason: `sets a flag only ${together.map((g) => `${g.name}()`).join(' and ')} read, which go for ${base}'s registration`, requires: together.map((g) => g.name) });
      for (const st of calls) ctx.plan.proposeStatement({ node: st, symbol: fn.name, finding: 'registry', reason, requires: [fn.name] });
      // (the base's registration once, where the registry is set: it raises when the registry does not answer, as a bare post does)
      const again = `if self.${ctx.base.registryUrl?.attr}: self.${ctx.base.registerOnce}()`;
      for (const st of rewired) ctx.plan.proposeStatement({ node: st, symbol: fn.name, finding: 'registry', reason: `${reason}; registers the agent again here, now through ${base}.${ctx.base.registerOnce}()`, requires: [fn.name], replacement: again });
    }
    if (pair) {
      const reason = `deregisters the agent from the registry ${ctx.profile.validation?.registry_env ?? 'REGISTRY_URL'} names by its name at stop, as ${ctx.profile.base_class} does at stop for the registration it makes in place of ${pair.registration}()`;
      ctx.plan.proposeMember({
        name: pair.fn.name, kind: 'method', finding: 'registry', reason,
        // (kept when the registration stays: the agent's pair stays whole)
        condition: (scope) => (scope.removed.has(pair.registration) ? null : `its registration ${pair.registration}() stays`),
        safeToKeep: true,
      });
      for (const st of pair.calls) ctx.plan.proposeStatement({ node: st, symbol: pair.fn.name, finding: 'registry', reason, requires: [pair.fn.name, pair.registration] });
      // A finalizer that did nothing but this deregistration (its last resort when the process ended without
      // stop) goes whole rather than left as `try: pass`: the base deregisters at stop, its signal handlers and cleanup() run it.
      const fin = ctx.agent.methods.get('__del__');
      if (fin && onlyRuns(fin, pair.calls)) {
        ctx.plan.proposeMember({
          name: '__del__', kind: 'method', finding: 'registry',
          reason: `only called ${pair.fn.name}(), which goes: ${ctx.profile.base_class} deregisters the agent at stop`,
          condition: (scope) => (scope.removed.has(pair.fn.name) ? null : `${pair.fn.name}() stays`),
          safeToKeep: true,
        });
      }
      goes.push(pair.fn);
    }
    ownHelpers(ctx, goes);
  },
};

/**
 * Methods of the agent only the registration methods that go call (`self._post(path, record)` shared by the
 * registration and the deregistration): they go with those methods, kept while any of them stays. A method
 * another file, the base or any other code of the file names stays.
 */
function ownHelpers(ctx: PythonTransformContext, goes: PyFunction[]): void {
  if (!goes.length) return;
  const inside = (n: SyntaxNode) => goes.find((g) => g.outer.startIndex <= n.startIndex && n.endIndex <= g.outer.endIndex);
  for (const h of ctx.agent.methods.values()) {
    if (goes.includes(h) || h.name.startsWith('__') || (ctx.base.methods.has(h.name) && !replacedBaseHelper(ctx, h)) || ctx.external(h.name).length) continue;
    const refs = ctx.refs.of(h.name).filter((r) => !(r.kind === 'identifier' && r.node.parent?.type === 'function_definition'));
    if (!refs.length || !refs.every((r) => r.kind === 'attribute' && inside(r.node))) continue;
    const users = [...new Set(refs.map((r) => inside(r.node)!.name))];
    ctx.plan.proposeMember({
      name: h.name, kind: 'method', finding: 'registry',
      reason: `called only by ${users.map((u) => `${u}()`).join(', ')}, which ${users.length > 1 ? 'go' : 'goes'} for ${ctx.profile.base_class}'s registration`,
      condition: (scope) => (users.every((u) => scope.removed.has(u)) ? null : `${users.filter((u) => !scope.removed.has(u)).map((u) => `${u}()`).join(', ')} stays`),
      safeToKeep: true,
    });
  }
}

/**
 * A helper under a name the base's own code calls (`_http(url, payload)` beside the base's `_http(method, url,
 * body, ...)`) that does not extend the base's (no super() call): early-overrides would rename it out of the
 * base's way, and once the registration that called it goes nothing calls it; it goes with that registration,
 * the base keeps its own.
 */
function replacedBaseHelper(ctx: PythonTransformContext, h: PyFunction): boolean {
  return ctx.base.initCalls.has(h.name) && !callsSuper(h.body, h.name);
}

/**
 * The agent's own registration and deregistration, both what the base does at the same moments: one method
 * registering, removable as a registration the base's replaces (the loop above), sending the fields the
 * base's record has and constant ones its record method's override is given (none read from the agent's
 * state: those wait on deferredRegistration, which a pair does not take) and called only from __init__, i.e. at start; one method
 * deregistering from the same registry by the agent's name alone (`{"name": self.name}`, what the base's
 * deregistration sends), setting no state but the pair's own flags, called as a statement directly in the
 * body of the agent's stop() or teardown method (what the base runs at stop, before its own deregistration)
 * or in its finalizer, by no other file. Either may post through a helper method of the agent's. Then the
 * deregistration goes with the registration, the base's pair left. Null when not (both stay, warned).
 */
function basePair(ctx: PythonTransformContext, regs: PyFunction[], deregs: PyFunction[]): { fn: PyFunction; calls: SyntaxNode[]; registration: string } | null {
  if (regs.length !== 1 || deregs.length !== 1) return null;
  const reg = regs[0]!;
  const fn = deregs[0]!;
  if (!/(^|\/)register\/?$/.test(postsTo(reg)!) || reg.isAsync || reg.name.startsWith('__') || !postsToBaseRegistry(ctx, reg) || !ownFlags(ctx, [reg, deregs[0]!])) return null;
  const record = recordOf(ctx, reg);
  if (!record || record.late.length || ctx.external(reg.name).length) return null;
  const init = ctx.agent.methods.get('__init__');
  const regCalls = callStatements(ctx, reg.name);
  if (!init || !regCalls) return null;
  const again = reannounceCalls(ctx, reg, regCalls);
  const atStart = again ? regCalls.filter((st) => !again.includes(st)) : [];
  if (!atStart.length || !atStart.every((st) => st.parent?.id === init.body.id)) return null;
  if (fn.isAsync || fn.name.startsWith('__') || !postsToBaseRegistry(ctx, fn) || ctx.external(fn.name).length) return null;
  // Its record is the agent's name and nothing else.
  const gone = recordOf(ctx, fn);
  let nameOnly = true;
  walk(fn.body, (n) => {
    const keys = n.type === 'dictionary' ? dictKeys(n) : null;
    if (keys?.includes('name') && keys.some((k) => k !== 'name')) nameOnly = false;
  });
  if (!gone || gone.extras.length || gone.late.length || !nameOnly) return null;
  const stops = new Set(['stop', ctx.py.teardown ?? 'cleanup']);
  const calls = callStatements(ctx, fn.name);
  // (or in the agent's finalizer, the legacy's last resort: see onlyRuns)
  const fin = ctx.agent.methods.get('__del__');
  const atStop = (st: SyntaxNode) => [...stops].some((m) => st.parent?.id === ctx.agent.methods.get(m)?.body.id) || (!!fin && inFinalizer(fin, st));
  if (!calls || !calls.every(atStop)) return null;
  // (the legacy default registry, when there is one, is carried onto the base for the registration: the same for both)
  return { fn, calls, registration: reg.name };
}

/** The name of the function a node is in. */
function enclosingMethod(n: SyntaxNode): string | null {
  let p = n.parent;
  while (p && p.type !== 'function_definition') p = p.parent;
  return p?.childForFieldName('name')?.text ?? null;
}

/**
 * The method's call statements outside the agent's start (`self._register()` in a `reannounce()` an admin
 * route calls, not in __init__ or run()), which re-register the agent on demand: the base's registration of one post (BaseModel
 * .registerOnce, guarded on its registry attribute, as the legacy helper registered nowhere with none) does
 * the same once the method goes. Only plain `self.m()` statements of a method taking nothing, the post not
 * swallowing its failure (the base's raises too), and only when the base has both. Empty when every call is
 * in __init__; null when some call cannot be given to the base (the method then stays).
 */
function reannounceCalls(ctx: PythonTransformContext, fn: PyFunction, calls: SyntaxNode[]): SyntaxNode[] | null {
  // (the start: __init__, and the main loop method the base's run() takes the place of, which registered once before its loop)
  const start = [ctx.agent.methods.get('__init__'), ctx.agent.methods.get(ctx.py.main_loop_method ?? 'run')].filter((m): m is PyFunction => !!m);
  const others = calls.filter((st) => !start.some((m) => m.outer.startIndex <= st.startIndex && st.endIndex <= m.outer.endIndex));
  if (!others.length) return others;
  if (!ctx.base.registerOnce || !ctx.base.registryUrl || fn.params.some((p) => p.name !== 'self')) return null;
  if (!others.every((st) => st.text === `self.${fn.name}()`)) return null;
  let swallows = false;
  walk(fn.body, (n) => {
    if (n.type === 'try_statement') swallows = true;
  });
  return swallows ? null : others;
}

/**
 * The URL it posts to is the base's registry: it reads the profile's registry variable, or the base's
 * registry_url (on self or on an alias of the agent, `agent.registry_url` in a closure).
 */
export function sameRegistry(ctx: PythonTransformContext, fn: { body: SyntaxNode }): boolean {
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  const quoted = new RegExp(`["']${env}["']`);
  if (quoted.test(fn.body.text)) return true;
  // The agent's own self.registry_url is the base's only when it is the variable itself, no fallback
  // (`os.environ.get("REGISTRY_URL") or CONFIG["registry_url"]` also registers where the base does not).
  if (/\b[A-Za-z_]\w*\.registry_url\b/.test(fn.body.text)) {
    const own = ctx.agent.assignments.filter((a) => a.attr === 'registry_url');
    return own.every((a) => !!a.value && envLookup(a.value, env));
  }
  // A module constant it reads: `REGISTRY_URL = os.environ.get("REGISTRY_URL", "http://...")`.
  const names = new Set<string>();
  walk(fn.body, (n) => {
    if (n.type === 'identifier') names.add(n.text);
  });
  return ctx.module.root.namedChildren.some((st) => {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    return a?.type === 'assignment' && names.has(a.childForFieldName('left')?.text ?? '') && quoted.test(a.childForFieldName('right')?.text ?? '');
  });
}

/**
 * The record it builds (a dict with a "name" key) when the base's registration can send it: its keys are the
 * base's record's (or the legacy names of the ports the base is given), its "name" is the agent's (`self.name`
 * or the class's own name), and nothing is added to a dict afterwards (`record["kind"] = ...`,
 * `record.update(...)`); other dicts (its HTTP headers) are not the record. Keys the base's record lacks are
 * allowed when their values are constants and the base answers its record from a method the agent can
 * override (`_registration_record()`): they are returned in `extras` (key and value as written), to be given
 * to the base by an override built on super(). Null when the record is not one the base can send.
 */
function recordOf(ctx: PythonTransformContext, fn: PyFunction): { extras: Array<[string, string]>; late: Array<[string, string, string[]]> } | null {
  const allowed = baseRecordKeys(ctx, ctx.base.registrationRecord ?? []);
  const hook = ctx.base.registrationRecordMethod ?? null;
  const overridable = !!hook && !ctx.agent.methods.has(hook);
  let records = 0;
  let ok = true;
  const extras: Array<[string, string]> = [];
  const late: Array<[string, string, string[]]> = [];
  walk(fn.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'subscript') ok = false;
    if (n.type === 'call' && /\.(update|setdefault)$/.test(n.childForFieldName('function')?.text ?? '')) ok = false;
    if (n.type !== 'dictionary') return;
    const keys = dictKeys(n);
    if (!keys) ok = false;
    else if (keys.includes('name')) {
      records++;
      for (const pair of n.namedChildren) {
        if (pair.type !== 'pair') continue;
        const key = stringValue(pair.childForFieldName('key')!);
        const value = pair.childForFieldName('value')!;
        if (key === 'name') {
          // (or the constant the base is given as its name: see registeredNameRead)
          if (!(value.text === 'self.name' || stringValue(value) === ctx.agent.cls.name || namedByConstant(ctx, value))) ok = false;
        } else if (key !== null && !allowed.has(key)) {
          if (overridable && constant(value)) extras.push([pair.childForFieldName('key')!.text, value.text]);
          else {
            // Module constants only: read when the record is, like a literal.
            const reads = overridable ? lateValue(ctx, value) : null;
            if (!reads) ok = false;
            else if (!reads.length) extras.push([pair.childForFieldName('key')!.text, value.text]);
            else late.push([pair.childForFieldName('key')!.text, value.text, reads]);
          }
        }
      }
    }
  });
  return ok && records > 0 ? { extras, late } : null;
}

/**
 * The name the agent's own registry records give it when that is a constant it reads (`"name": self.NAME`
 * beside `NAME = "quote-router"` in its class body, or a module's `SERVICE_NAME`), as super-init gives it to
 * the base: `self.NAME` is the same value in __init__, and a subclass overriding NAME registered under its
 * own, as it still does. Null when the agent names itself otherwise (a name parameter, `self.name = ...`, a
 * parent's constructor given name=),
 * when its records name it by different things, or when none is a registry record (a /register or
 * /deregister post's dict with a "name" key).
 */
export function registeredNameRead(ctx: PythonTransformContext): string | null {
  const key = ctx.py.super_call.name_keyword;
  const init = ctx.agent.methods.get('__init__');
  if (ctx.agent.assignments.some((a) => a.attr === key) || init?.params.some((p) => p.name === key)) return null;
  // A parent's constructor already given a name (`super().__init__(name="fx")`, an older base): that call's name stays the base's.
  let named = false;
  if (init) walkTypes(init.body, CALL_NODES, (n) => {
    if (named || !/__init__$/.test(n.childForFieldName('function')?.text ?? '')) return;
    named = (n.childForFieldName('arguments')?.namedChildren ?? []).some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === key);
  });
  if (named) return null;
  const reads = new Set<string | null>();
  for (const fn of ctx.agent.methods.values()) {
    if (!postsTo(fn)) continue;
    walkTypes(fn.body, DICTS, (n) => {
      if (n.type === 'class_definition') return false;
      for (const pair of n.namedChildren) {
        if (pair.type === 'pair' && stringValue(pair.childForFieldName('key')!) === 'name') reads.add(nameRead(ctx, pair.childForFieldName('value')!));
      }
    });
  }
  return reads.size === 1 ? [...reads][0]! : null;
}

function namedByConstant(ctx: PythonTransformContext, value: SyntaxNode): boolean {
  const read = nameRead(ctx, value);
  return read !== null && read === registeredNameRead(ctx);
}

const DICTS: ReadonlySet<string> = new Set(['dictionary', 'class_definition']);

/**
 * `self.NAME` (`type(self).NAME`, `self.__class__.NAME`) for a string constant of the agent's class body nothing
 * assigns again, or a module constant's name bound once to a string: how the base's name reads it. Else null.
 */
function nameRead(ctx: PythonTransformContext, value: SyntaxNode): string | null {
  if (value.type === 'identifier') {
    const def = ctx.module.root.namedChildren
      .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
      .filter((a) => a?.type === 'assignment' && a.childForFieldName('left')?.text === value.text);
    return def.length === 1 && plainString(def[0]!.childForFieldName('right')) ? value.text : null;
  }
  const m = /^(?:self|type\(self\)|self\.__class__)\.([A-Za-z_]\w*)$/.exec(value.text);
  if (!m || !classConstant(ctx, m[1]!)) return null;
  const def = statements(ctx.agent.cls.node.childForFieldName('body'))
    .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .find((a) => a?.type === 'assignment' && a.childForFieldName('left')?.text === m[1]);
  return plainString(def?.childForFieldName('right')) ? `self.${m[1]}` : null;
}

function plainString(n: SyntaxNode | null | undefined): boolean {
  return !!n && n.type === 'string' && stringValue(n) !== null;
}

/** The keys of the base's record, and the legacy names of the ports the base is given under them (`health_port`). */
export function baseRecordKeys(ctx: PythonTransformContext, record: string[]): Set<string> {
  const aliases = Object.entries(ctx.py.super_call.pass_through ?? {}).filter(([k]) => record.includes(k)).flatMap(([, names]) => names);
  return new Set([...record, ...aliases]);
}

/** Builtins a record field may be computed with (`sorted(self.tools)`, `len(self.routes)`). */
const PURE_BUILTINS = new Set(['sorted', 'len', 'list', 'tuple', 'dict', 'set', 'str', 'int', 'float', 'bool', 'min', 'max', 'round']);

/**
 * A record field computed from the agent's own state (`"tools": sorted(self.tools)`), readable as it is in
 * an override of the base's record method: it names only `self.<attribute>` (no method of the agent's:
 * what one reads is not followed), module constants and pure builtins. The attributes it reads (none for
 * `SKILL_VERSION`), else null.
 */
function lateValue(ctx: PythonTransformContext, value: SyntaxNode): string[] | null {
  const attrs = new Set<string>();
  let ok = true;
  walk(value, (n) => {
    if (!ok) return false;
    if (n.type === 'lambda' || /comprehension$|^generator_expression$/.test(n.type)) ok = false;
    if (n.type === 'attribute') {
      const a = selfAttribute(n);
      const called = n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id;
      if (a && !called && !ctx.baseOwned.has(a)) {
        attrs.add(a);
        return false;
      }
      if (a) ok = false;
      return;
    }
    if (n.type !== 'identifier' || n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.id === n.id) return;
    if (n.text === 'self') ok = false;
    else if (!PURE_BUILTINS.has(n.text) && !moduleConstant(ctx, n.text)) ok = false;
  });
  return ok ? [...attrs] : null;
}

/** A name the agent's class body assigns (`HANDLERS = {}`). */
function classAttribute(ctx: PythonTransformContext, name: string): boolean {
  const body = ctx.agent.cls.node.childForFieldName('body');
  return statements(body).some((st) => {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    return a?.type === 'assignment' && a.childForFieldName('left')?.text === name;
  });
}

/** A name the module assigns once at its top level from a literal (`SKILL_VERSION = "2.3"`). */
function moduleConstant(ctx: PythonTransformContext, name: string): boolean {
  const values = ctx.module.root.namedChildren
    .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .filter((a) => a?.type === 'assignment' && a.childForFieldName('left')?.text === name);
  return values.length === 1 && constant(values[0]!.childForFieldName('right')!);
}

/**
 * The base registers from inside its __init__, before the agent's __init__ has set what a late field reads:
 * the registration moves to where the legacy registered. Possible when the legacy's one call is a statement
 * of __init__'s own body (`self._register()`), every attribute the late fields read is assigned in __init__
 * before it, and the base's registration method (what its __init__ calls) is the agent's to override with
 * no default registry carried onto it. Then that method is overridden to run the base's only once those
 * attributes exist, and the legacy call calls it. Null when not.
 */
function deferredRegistration(ctx: PythonTransformContext, fn: PyFunction, calls: SyntaxNode[], late: Array<[string, string, string[]]>): { method: string; ready: string[]; call: SyntaxNode } | null {
  const method = ctx.base.registerMethod;
  const init = ctx.agent.methods.get('__init__');
  if (!method || !init || !ctx.base.initCalls.has(method) || calls.length !== 1) return null;
  const own = ctx.agent.methods.get(method);
  if (own && own.name !== fn.name) return null;
  const call = calls[0]!;
  if (call.parent?.id !== init.body.id || !/^self\.\w+\(\)$/.test(call.text)) return null;
  const ready = [...new Set(late.flatMap(([, , attrs]) => attrs))];
  const setBefore = (a: string) => ctx.agent.assignments.some((x) => x.attr === a && x.method === '__init__' && x.stmt.parent?.id === init.body.id && x.stmt.endIndex <= call.startIndex);
  // (assigned anywhere else too: a value the record would read before it is the one meant)
  // (nor a class attribute: hasattr() would hold before __init__ set it)
  const onlyInit = (a: string) => ctx.agent.assignments.every((x) => x.attr !== a || x.method === '__init__') && !classAttribute(ctx, a);
  return ready.every((a) => setBefore(a) && onlyInit(a)) ? { method, ready, call } : null;
}

/**
 * The registry the legacy method posts to when the registry variable is unset, as an expression of the
 * module's scope: a module constant read from the variable with a default (`REGISTRY_URL =
 * os.environ.get("REGISTRY_URL", "http://127.0.0.1:7100")`, named by the constant) or such a lookup in the
 * method itself (its default: a literal or a constant; UNCARRIED when it is computed). Null when it has none (it registered
 * nowhere with the variable unset, as the base does).
 */
function legacyRegistryDefault(ctx: PythonTransformContext, fn: { body: SyntaxNode }): string | null {
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  let found: string | null = null;
  walk(fn.body, (n) => {
    if (found) return false;
    if (n.type === 'identifier' && n.parent?.type !== 'attribute' && n.parent?.type !== 'keyword_argument') {
      for (const st of ctx.module.root.namedChildren) {
        const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
        if (a?.type === 'assignment' && a.childForFieldName('left')?.text === n.text && withDefault(a.childForFieldName('right'), env)) found = n.text;
      }
      return;
    }
    if (withDefault(n, env)) {
      // The default alone: the override uses it only while the variable is unset (a literal, a constant).
      const d = n.type === 'boolean_operator' ? n.childForFieldName('right') : n.childForFieldName('arguments')!.namedChildren[1];
      found = d && (d.type === 'string' || d.type === 'identifier') && !d.namedChildren.some((c) => c.type === 'interpolation') ? d.text : UNCARRIED;
      return false;
    }
  });
  return found;
}

/** A legacy default registry no override can name (computed in the method): the legacy registration stays. */
const UNCARRIED = '';

/** `os.environ.get(ENV, default)`, `os.getenv(ENV, default)`, or one of them (default-less too) `or` a default. */
function withDefault(v: SyntaxNode | null, env: string): boolean {
  if (!v) return false;
  if (v.type === 'boolean_operator' && v.childForFieldName('operator')?.text === 'or') {
    const left = v.childForFieldName('left');
    return !!left && (envLookup(left, env) || withDefault(left, env));
  }
  if (v.type !== 'call' || !/^os\.(environ\.get|getenv)$/.test(v.childForFieldName('function')?.text ?? '')) return false;
  const args = v.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 2 && stringValue(args[0]!) === env && args[1]!.type !== 'none';
}

/**
 * The override giving the base the legacy default registry: the base reads its registry from the same
 * variable with no default (BaseModel.registryUrl), so with it unset it registers nowhere; the method of
 * its __init__ that first reads it, overridden to set the attribute to the legacy default while it is
 * unset, then calling the base's. Null when the base reads its registry otherwise (or the agent already has
 * a method of that name): the legacy registration then stays.
 */
export function registryDefault(ctx: PythonTransformContext, fallback: string, removing: string): string | null {
  const r = ctx.base.registryUrl;
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  if (!r || r.env !== env) return null;
  const own = ctx.agent.methods.get(r.method);
  if (own && own.name !== removing && !isRemoved(ctx, own.outer)) return null;
  return [
    `def ${r.method}(self):`,
    `    if not self.${r.attr}:`,
    `        self.${r.attr} = ${fallback}`,
    `    super().${r.method}()`,
    '',
  ].join('\n');
}

/** A literal, or a list/tuple of literals (`"udp"`, `3`, `["quotes", "fx"]`). */
function constant(n: SyntaxNode): boolean {
  if (/^(string|integer|float|true|false|none)$/.test(n.type)) return n.type !== 'string' || !n.namedChildren.some((c) => c.type === 'interpolation');
  if (n.type === 'list' || n.type === 'tuple') return n.namedChildren.every(constant);
  return false;
}

/**
 * The agent's own methods the body calls (`self._registry_post(path, record)`): a registration often builds its
 * record and leaves the URL and the post to such a helper.
 */
function calledHelpers(ctx: PythonTransformContext, fn: PyFunction): PyFunction[] {
  const out: PyFunction[] = [];
  walk(fn.body, (n) => {
    const m = n.type === 'call' ? selfAttribute(n.childForFieldName('function')!) : null;
    const h = m ? ctx.agent.methods.get(m) : undefined;
    if (h && h !== fn && !out.includes(h)) out.push(h);
  });
  return out;
}

/** It posts to the base's registry (see sameRegistry): by its own code, or by the helper of the agent's it posts through. */
function postsToBaseRegistry(ctx: PythonTransformContext, fn: PyFunction): boolean {
  return sameRegistry(ctx, fn) || calledHelpers(ctx, fn).some((h) => sendsIn(h) && sameRegistry(ctx, h));
}

/** legacyRegistryDefault of the method, else of the helper it posts through. */
function legacyRegistryDefaultVia(ctx: PythonTransformContext, fn: PyFunction): string | null {
  const own = legacyRegistryDefault(ctx, fn);
  if (own !== null) return own;
  for (const h of calledHelpers(ctx, fn)) {
    const d = sendsIn(h) ? legacyRegistryDefault(ctx, h) : null;
    if (d !== null) return d;
  }
  return null;
}

/** The function's own body makes an HTTP send (see SENDS). */
function sendsIn(fn: PyFunction): boolean {
  let found = false;
  walkTypes(fn.body, CALL_NODES, (n) => {
    if (found) return false;
    if (SENDS.test(callee(n) ?? '')) found = true;
  });
  return found;
}

/**
 * The attributes the methods set are their own bookkeeping (`self.registered = True` after the post, read
 * by the deregistration's `if not self.registered: return`): each is mentioned only inside these methods
 * and by constant assignments that are statements of __init__'s own body, is not the base's, and no other
 * file names it (the base keeps its own such flag). Those __init__ assignments, which go with the methods;
 * null when some attribute they set is anyone else's state.
 */
function ownFlags(ctx: PythonTransformContext, fns: PyFunction[]): SyntaxNode[] | null {
  const set = new Set<string>();
  for (const fn of fns) {
    walk(fn.body, (n) => {
      if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
      const left = n.childForFieldName('left');
      const a = left ? selfAttribute(left) : null;
      if (a) set.add(a);
      else if (/^self\./.test(left?.text ?? '')) set.add('');
    });
  }
  if (set.has('')) return null;
  const init = ctx.agent.methods.get('__init__');
  const inits: SyntaxNode[] = [];
  for (const a of set) {
    if (ctx.baseOwned.has(a) || ctx.external(a).length) return null;
    for (const r of ctx.refs.of(a)) {
      if (fns.some((f) => f.outer.startIndex <= r.node.startIndex && r.node.endIndex <= f.outer.endIndex)) continue;
      const attr = r.kind === 'attribute' ? r.node.parent! : null;
      const assign = attr?.parent?.type === 'assignment' && attr.parent.childForFieldName('left')?.id === attr.id ? attr.parent : null;
      const right = assign?.childForFieldName('right');
      const st = assign?.parent;
      if (attr?.childForFieldName('object')?.text !== 'self' || !right || !constant(right) || st?.type !== 'expression_statement' || st.parent?.id !== init?.body.id) return null;
      inits.push(st);
    }
  }
  return inits;
}

/** The statement is in the finalizer: in its body, or in the body of a `try` there. */
function inFinalizer(fin: PyFunction, st: SyntaxNode): boolean {
  for (let b = st.parent; b; b = b.parent?.parent ?? null) {
    if (b.id === fin.body.id) return true;
    if (b.type !== 'block' || b.parent?.type !== 'try_statement') return false;
  }
  return false;
}

/**
 * The finalizer does nothing but the calls: its statements are those calls, or a `try` of only those calls
 * whose handlers only pass or log (`except Exception: pass`), no else nor finally.
 */
function onlyRuns(fin: PyFunction, calls: SyntaxNode[]): boolean {
  const isCall = (st: SyntaxNode) => calls.some((c) => c.id === st.id);
  const quiet = (st: SyntaxNode) => st.type === 'pass_statement' || (st.type === 'expression_statement' && /^(logger|log|logging|self\.logger)\.\w+\(/.test(st.text));
  const own = statements(fin.body);
  return own.some((st) => !isDocstring(st)) && own.every((st) => {
    if (isDocstring(st) || isCall(st)) return true;
    if (st.type !== 'try_statement') return false;
    const body = statements(st.childForFieldName('body'));
    const handlers = st.namedChildren.filter((c) => c.type !== 'block' && c.type !== 'comment');
    return body.length > 0 && body.every(isCall) && handlers.every((h) => h.type === 'except_clause' && statements(h.namedChildren.find((c) => c.type === 'block') ?? null).every(quiet));
  });
}

/**
 * The statements running the method, when every mention of it is one: `self.m()` alone on its line,
 * `threading.Thread(target=self.m, ...).start()`, or `self.flag = self.m()` whose flag nothing else reads
 * (not this file, not the base, not another file of the repository). Null when one uses it otherwise (its
 * answer, a kept thread). `atexit.register(...)` (an attribute of an imported module) is not a mention.
 */
export function callStatements(ctx: PythonTransformContext, name: string): SyntaxNode[] | null {
  const out: SyntaxNode[] = [];
  for (const r of ctx.refs.of(name)) {
    if (r.kind === 'identifier' && r.node.parent?.type === 'function_definition') continue;
    const attr = r.kind === 'attribute' ? r.node.parent! : null;
    const owner = attr?.childForFieldName('object');
    if (owner?.type === 'identifier' && owner.text !== 'self' && ctx.module.imports.has(owner.text)) continue;
    if (!attr || owner?.text !== 'self') return null;
    let call: SyntaxNode | null = attr.parent?.type === 'call' && attr.parent.childForFieldName('function')?.id === attr.id ? attr.parent : null;
    if (!call && attr.parent?.type === 'keyword_argument' && attr.parent.childForFieldName('name')?.text === 'target') {
      const thread = attr.parent.parent?.parent;
      const start = thread?.parent?.type === 'attribute' && thread.parent.childForFieldName('attribute')?.text === 'start' ? thread.parent.parent : null;
      if (thread?.type === 'call' && /(^|\.)Thread$/.test(thread.childForFieldName('function')?.text ?? '') && start?.type === 'call') call = start;
    }
    const st = call?.parent?.type === 'assignment' && unreadFlag(ctx, call.parent, call) ? call.parent.parent : call?.parent;
    if (!call || st?.type !== 'expression_statement') return null;
    out.push(st);
  }
  return out.length ? out : null;
}

/** `self.flag = <call>` where `flag` is mentioned nowhere else: in the file, the base, the repository's other files. */
function unreadFlag(ctx: PythonTransformContext, assign: SyntaxNode, call: SyntaxNode): boolean {
  const left = assign.childForFieldName('left');
  const flag = left ? selfAttribute(left) : null;
  if (!flag || assign.childForFieldName('right')?.id !== call.id) return false;
  if (ctx.baseOwned.has(flag) || ctx.external(flag).length) return false;
  return ctx.refs.of(flag).every((r) => r.node.parent?.id === left!.id);
}

export const ownRegistration: PythonTransform = {
  name: 'own-registration',
  phase: 'edit',
  run(ctx) {
    // Only where the base registers the agent itself (read from the base model, not a method name of it).
    if (ctx.profile.validation?.registry === 'none' || (!baseRegisters(ctx) && !ctx.base.registerMethod)) return;
    let carried = false;
    for (const p of ctx.resolved?.members.values() ?? []) {
      if (p.finding !== 'registry' || p.kind !== 'method') continue;
      const fn = ctx.agent.methods.get(p.name);
      const record = fn ? recordOf(ctx, fn) : null;
      const extras = [...(record?.extras ?? []), ...(record?.late ?? []).map(([k, v]) => [k, v] as [string, string])];
      const hook = ctx.base.registrationRecordMethod;
      if (extras.length && hook) {
        insertAfterInit(ctx, [
          `def ${hook}(self):`,
          `    record = super().${hook}()`,
          `    record.update({${extras.map(([k, v]) => `${k}: ${v}`).join(', ')}})`,
          '    return record',
          '',
        ].join('\n'), 'own-registration');
      }
      const calls = fn && record?.late.length ? callStatements(ctx, fn.name) : null;
      const deferred = fn && record && calls ? deferredRegistration(ctx, fn, calls, record.late) : null;
      if (deferred) {
        const ready = deferred.ready.map((a) => `self.${a}`).join(', ');
        insertAfterInit(ctx, [
          `def ${deferred.method}(self):`,
          `    # ${ctx.profile.base_class}.__init__ calls this before __init__ has set ${ready}, which the record carries: __init__ calls it again once it has`,
          `    if ${deferred.ready.map((a) => `hasattr(self, "${a}")`).join(' and ')}:`,
          `        super().${deferred.method}()`,
          '',
        ].join('\n'), 'own-registration');
        ctx.warnings.push(`${ctx.agent.cls.name}.${p.name}() removed: ${ctx.profile.base_class} registers the agent where it did (line ${lineOf(deferred.call)}, self.${deferred.method}() now), once ${ready} are set; its fields ${record!.late.map(([k]) => k).join(', ')} are given to ${ctx.profile.base_class}'s record by a ${hook}() override built on super()`);
        continue;
      }
      // (a deregistration removed with its registration: the registration's default is the one carried)
      const fallback = fn && !/(de|un)register/.test(postsTo(fn) ?? '') ? legacyRegistryDefault(ctx, fn) : null;
      const carry = fallback && fn ? registryDefault(ctx, fallback, fn.name) : null;
      if (carry) insertAfterInit(ctx, carry, 'own-registration');
      if (carry) carried = true;
      const given = extras.length ? `; the fields ${extras.map(([k]) => k).join(', ')} it sent besides are given to ${ctx.profile.base_class}'s record by a ${hook}() override built on super()` : '';
      // Its calls outside __init__, now the base's registration of one post (see reannounceCalls).
      const again = (ctx.resolved?.statements ?? []).filter((st) => st.symbol === p.name && st.replacement !== undefined);
      const rewired = again.length
        ? `; ${again.map((st) => `line ${lineOf(st.node)}${enclosingMethod(st.node) ? ` (in ${enclosingMethod(st.node)}())` : ''}`).join(', ')} registered the agent again with it: ${again.length > 1 ? 'they call' : 'it calls'} ${ctx.profile.base_class}.${ctx.base.registerOnce}() now, where ${ctx.base.registryUrl?.attr} is set`
        : '';
      ctx.warnings.push(`${ctx.agent.cls.name}.${p.name}() removed with its calls: it ${p.reason}${given}${rewired}`);
    }
    if (!carried) removedRegistrationDefault(ctx);
    const found: Array<{ line: number; call: string; where: string; deregisters: boolean; record?: string[]; fn?: PyFunction }> = [];
    const seen = new Set<string>();
    for (const [name, fn] of ctx.agent.methods) {
      if (isRemoved(ctx, fn.outer)) continue;
      walkTypes(fn.body, SCOPES_AND_CALLS, (n) => {
        if (n.type === 'class_definition' || n.type === 'function_definition') return false;
        if (n.type !== 'call' || isRemoved(ctx, n)) return;
        const hit = registers(ctx, n, name);
        if (!hit) return;
        const key = `${hit.call}@${lineOf(n)}`;
        if (seen.has(key)) return;
        seen.add(key);
        found.push({ line: lineOf(n), ...hit });
      });
    }
    // The entry point's own (`with RegistryLease(name, port): agent.run()` in main()): code of the module
    // outside its classes, run beside the agent's registration by the base as the agent's methods are.
    walkTypes(ctx.module.root, SCOPES_AND_CALLS, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'call' || isRemoved(ctx, n)) return;
      for (const hit of [registers(ctx, n, ''), ...classRegisters(ctx, n)]) {
        if (!hit) continue;
        const key = `${hit.call}@${lineOf(n)}@${hit.deregisters}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ line: lineOf(n), ...hit });
      }
    });
    const regs = found.filter((f) => !f.deregisters);
    if (!regs.length) return;
    const deregs = found.filter((f) => f.deregisters);
    const base = ctx.profile.base_class;
    const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
    const list = (xs: typeof found) => xs.map((f) => `${f.call}() at line ${f.line} (${f.where})`).join(', ');
    const missing = missingFields(ctx, regs);
    const hook = ctx.base.registrationRecordMethod;
    // The agent's own registration reading another variable than the base's (`SERVICE_REGISTRY_URL`): one registry
    // gets both only when the two name it; otherwise each registry gets one, and nothing says which is meant.
    const others = [...new Set(regs.flatMap((f) => (f.fn ? envNamesRead(ctx, f.fn.body) : [])))];
    const elsewhere = others.length > 0 && !others.includes(env) && regs.every((f) => f.fn);
    const twice = `two registrations${deregs.length ? ` and two deregistrations (${list(deregs)})` : ''}`;
    ctx.warnings.push(
      `${ctx.agent.cls.name} registers itself with its own code, kept: ${list(regs)}; ${base} registers it too (${env}), ` +
        (elsewhere
          ? `while the agent's own registration reads ${others.join(', ')}: when ${others.length > 1 ? 'they name' : 'it names'} the registry ${env} names, that registry gets ${twice}, else each registry gets one (the agent is now also in ${env}'s); `
          : `so the registry now gets ${twice}; `) +
        (missing.length
          ? `its record carries ${missing.join(', ')}, which ${base}'s lacks${hook ? ` (a ${hook}() override built on super() can add them)` : ''}: drop the agent's own once ${base}'s record carries them`
          : `drop the agent's own once ${base}'s record carries what the registry needs`) +
        (elsewhere ? ` and ${env} names the fleet's registry` : ''),
    );
    // A mixin's registration runs unseen in the agent's file (the mixin's file is left alone): each call is a review item.
    for (const f of found.filter((x) => x.where.includes(INHERITED))) {
      keep(ctx, f.call.replace(/^self\./, ''), f.line,
        `${f.call}() ${f.deregisters ? 'deregisters' : 'registers'} the agent through an inherited mixin (${f.where}), and ${base} ${f.deregisters ? 'deregisters' : 'registers'} it too: ` +
          `the registry gets two; drop the call once ${base}'s record carries what the registry needs (the mixin stays for its other users)`);
    }
  },
};

/**
 * The keys of the records the agent's own kept registration methods send (a dict with a "name" key) that the
 * base's record lacks (nor the legacy names of the ports the base is given): what a person must carry over.
 */
function missingFields(ctx: PythonTransformContext, regs: Array<{ call: string; record?: string[] }>): string[] {
  const record = ctx.base.registrationRecord;
  if (!record) return [];
  const allowed = baseRecordKeys(ctx, record);
  const out = new Set<string>();
  for (const r of regs) {
    for (const k of r.record ?? []) if (!allowed.has(k)) out.add(`"${k}"`);
    const fn = /^self\.\w+$/.test(r.call) ? ctx.agent.methods.get(r.call.slice(5)) : undefined;
    if (!fn) continue;
    walk(fn.body, (n) => {
      const keys = n.type === 'dictionary' ? dictKeys(n) : null;
      if (keys?.includes('name')) for (const k of keys) if (!allowed.has(k)) out.add(`"${k}"`);
    });
  }
  return [...out];
}

/**
 * Removed code (a health loop's heartbeat, a sidecar's) that posted the agent's record to the registry the
 * base registers with, falling back to a registry of its own with the variable unset: the base registers
 * nowhere then. The default is given to the base as own-registration's is (registryDefault); when it cannot
 * be, the loss is said.
 */
function removedRegistrationDefault(ctx: PythonTransformContext): void {
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  let done = false;
  // Only calls matter: the module's other nodes are not visited (the whole module, every rewrite).
  walkTypes(ctx.module.root, CALL_NODES, (n) => {
    if (done) return false;
    if (!SENDS.test(callee(n) ?? '') || !isRemoved(ctx, n)) return;
    let fn: SyntaxNode | null = n.parent;
    while (fn && fn.type !== 'function_definition') fn = fn.parent;
    const body = fn?.childForFieldName('body');
    if (!body || !/(^|\/)register\/?$/.test(findRegistryPath(body) ?? '')) return;
    const fallback = legacyRegistryDefault(ctx, { body });
    if (fallback === null) return;
    done = true;
    const carry = fallback !== UNCARRIED ? registryDefault(ctx, fallback, '') : null;
    const base = ctx.profile.base_class;
    if (carry) {
      insertAfterInit(ctx, carry, 'own-registration');
      ctx.warnings.push(`the removed registration at line ${lineOf(n)} fell back to ${fallback} with ${env} unset, where ${base} registers nowhere: that default is given to ${base} by a ${ctx.base.registryUrl!.method}() override`);
    } else {
      ctx.warnings.push(`the removed registration at line ${lineOf(n)} fell back to a default registry with ${env} unset, and ${base} registers nowhere then: set ${env} where the agent runs, or it is registered nowhere`);
    }
    return false;
  });
}

/** The call runs code that posts to a registry path: which call, where that code is, and whether it deregisters. */
function registers(ctx: PythonTransformContext, call: SyntaxNode, inMethod: string): { call: string; where: string; deregisters: boolean; record?: string[]; fn?: PyFunction } | null {
  const f = call.childForFieldName('function')!;
  // self.register(): a kept method of the agent (not the one the call is in)
  const m = selfAttribute(f);
  if (m) {
    const own = ctx.agent.methods.get(m);
    if (!own && m !== inMethod) return inheritedRegisters(ctx, m);
    if (!own || m === inMethod || isRemoved(ctx, own.outer)) return null;
    const path = postsTo(own);
    return path ? { call: `self.${m}`, where: `${ctx.file}:${own.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path), fn: own } : null;
  }
  // register_with_registry(...): a function of the agent's file, or imported from a file of the repository
  if (f.type === 'identifier') {
    const local = ctx.module.functions.get(f.text);
    if (local) {
      const path = postsTo(local);
      return path ? { call: f.text, where: `${ctx.file}:${local.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path), fn: local } : null;
    }
    const t = ctx.imported(f.text);
    const fn = t?.name ? t.module.functions.get(t.name) : undefined;
    const path = fn ? postsTo(fn) : null;
    return path ? { call: f.text, where: `${t!.file}:${fn!.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
  }
  // self.registry.register(...): a method of the client object the agent holds (`self.registry = registry or
  // ServiceRegistryClient(url)`, injected or built), a class of its file or of the repository, whose own body posts
  // to the registry. Whatever is injected in its place, the default one registers.
  const held = f.type === 'attribute' ? selfAttribute(f.childForFieldName('object')!) : null;
  if (held) {
    const name = f.childForFieldName('attribute')!.text;
    for (const cls of heldClientClasses(ctx, held)) {
      const fn = cls.cls.methods.get(name);
      const path = fn ? postsTo(fn) : null;
      if (path) return { call: `self.${held}.${name}`, where: `${cls.file}:${fn!.line}: ${cls.cls.name}.${name}() posts to "${path}"`, deregisters: /(de|un)register/.test(path) };
    }
    return null;
  }
  // registry_client.register(...): a function of an imported module of the repository
  if (f.type === 'attribute' && f.childForFieldName('object')?.type === 'identifier') {
    const modName = f.childForFieldName('object')!.text;
    const name = f.childForFieldName('attribute')!.text;
    // registry.register(...): the module-level client one process shares (`registry = RegistryClient(url)`, in a
    // sibling module the agent imports it from, or in the agent's own file), whose class's method posts to the registry.
    // The module's client first: most receivers (`log.info`, `time.sleep`) are none, and boundIn reads the bindings of every enclosing function.
    const client = singletonClientClass(ctx, modName);
    const single = client && !boundIn(call, modName) ? client : null;
    if (single) {
      const fn = single.cls.methods.get(name);
      const path = fn ? postsTo(fn) : null;
      return path ? { call: `${modName}.${name}`, where: `${single.file}:${fn!.line}: ${single.cls.name}.${name}() posts to "${path}"`, deregisters: /(de|un)register/.test(path), record: clientRecordKeys(fn!, call) } : null;
    }
    const t = ctx.imported(modName);
    if (!t || t.name !== null) return null;
    const fn = t.module.functions.get(name);
    const path = fn ? postsTo(fn) : null;
    return path ? { call: `${modName}.${name}`, where: `${t.file}:${fn!.line} posts to "${path}"`, deregisters: /(de|un)register/.test(path) } : null;
  }
  return null;
}

/**
 * `self.start_registry()` where the method is a mixin's, a class the agent inherits from another file of the
 * repository (`class LabelPrinterAgent(RegistryHeartbeatMixin, ...)`): the scan leaves that file alone (other
 * agents use it), so its registration runs beside the base's. What the method runs on self, however deep
 * (`threading.Thread(target=self.register_with_registry)`), is read for a registry path.
 */
const INHERITED = ' (inherited)';

function inheritedRegisters(ctx: PythonTransformContext, method: string): { call: string; where: string; deregisters: boolean } | null {
  for (const b of ctx.agent.cls.bases) {
    if (b.type !== 'identifier') continue;
    const t = ctx.imported(b.text);
    const cls = t?.name ? t.module.classes.find((c) => c.name === t.name) : undefined;
    if (!cls?.methods.has(method)) continue;
    // Its own posts first: stop_registry() deregisters itself though it runs nothing that registers.
    for (const fn of mixinClosure(cls, method)) {
      const path = postsTo(fn);
      if (path) return { call: `self.${method}`, where: `${t!.file}:${fn.line}: ${cls.name}.${fn.name}() (inherited) posts to "${path}"`, deregisters: /(de|un)register/.test(path) };
    }
    return null;
  }
  return null;
}

/**
 * The class of a module-level instance the agent's code calls by name: `registry = RegistryClient(url)` at the top
 * of the module the agent imports `registry` from, or of the agent's own file (the class defined in that module,
 * or, in the agent's file, imported from the repository). Null for anything else (a module, a function, a name
 * assigned twice).
 */
function singletonClientClass(ctx: PythonTransformContext, local: string): { cls: PyClass; file: string } | null {
  const t = ctx.imported(local);
  if (t && t.name === null) return null;
  const module = t ? t.module : ctx.module;
  const name = t ? t.name! : local;
  const built = module.root.namedChildren
    .map((st) => (st.type === 'expression_statement' ? st.namedChild(0) : null))
    .filter((a): a is SyntaxNode => a?.type === 'assignment' && a.childForFieldName('left')?.text === name);
  const value = built.length === 1 ? built[0]!.childForFieldName('right') : null;
  const ctor = value?.type === 'call' ? value.childForFieldName('function') : null;
  if (ctor?.type !== 'identifier') return null;
  const own = module.classes.find((c) => c.name === ctor.text && c.name !== ctx.agent.cls.name);
  if (own) return { cls: own, file: t ? t.file : ctx.file };
  if (t) return null;
  const from = ctx.imported(ctor.text);
  const cls = from?.name ? from.module.classes.find((c) => c.name === from.name) : undefined;
  return cls ? { cls, file: from!.file } : null;
}

/** The name is bound in a function the call is in (a local or parameter shadowing the module's name). */
function boundIn(call: SyntaxNode, name: string): boolean {
  for (let n: SyntaxNode | null = call.parent; n; n = n.parent) {
    if (n.type === 'function_definition' && boundNames(n).has(name)) return true;
  }
  return false;
}

/**
 * The keys of the record a shared client's method sends: a dict literal with a "name" key in its body
 * (`{"name": name, ..., "kind": "catalog"}`), or `dict(extra, name=...)` / `{**extra, "name": ...}` spreading
 * its `**extra` parameter, whose keys are then the keyword arguments the agent's call gives it (`kind="catalog"`).
 */
function clientRecordKeys(fn: PyFunction, call: SyntaxNode): string[] {
  const keys = new Set<string>();
  const splat = fn.params.find((p) => p.kind === 'kwargs')?.name;
  const named = new Set(fn.params.filter((p) => p.kind === 'plain' || p.kind === 'default').map((p) => p.name));
  let spreads = false;
  walk(fn.body, (n) => {
    if (n.type === 'dictionary') {
      const ks = dictKeys(n);
      if (ks?.includes('name')) for (const k of ks) keys.add(k);
      if (splat && n.namedChildren.some((c) => c.type === 'dictionary_splat' && c.namedChild(0)?.text === splat)) spreads = true;
    }
    if (n.type === 'call' && callee(n) === 'dict') {
      const args = n.childForFieldName('arguments')?.namedChildren ?? [];
      if (args.some((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'name')) {
        for (const a of args) if (a.type === 'keyword_argument') keys.add(a.childForFieldName('name')!.text);
        if (splat && args.some((a) => a.text === splat || a.text === `**${splat}`)) spreads = true;
      }
    }
  });
  if (spreads) {
    for (const a of call.childForFieldName('arguments')?.namedChildren ?? []) {
      const k = a.type === 'keyword_argument' ? a.childForFieldName('name')!.text : null;
      if (k && !named.has(k)) keys.add(k);
    }
  }
  return [...keys];
}


/** The classes (of the agent's file, or imported from the repository) the agent's assignments of self.<attr> construct. */
function heldClientClasses(ctx: PythonTransformContext, attr: string): Array<{ cls: PyClass; file: string }> {
  const out: Array<{ cls: PyClass; file: string }> = [];
  for (const a of ctx.agent.assignments.filter((x) => x.attr === attr && x.value)) {
    walkTypes(a.value!, CALL_TYPE, (n) => {
      const fn = n.childForFieldName('function');
      if (fn?.type !== 'identifier') return;
      const local = ctx.module.classes.find((c) => c.name === fn.text && c.name !== ctx.agent.cls.name);
      if (local) {
        out.push({ cls: local, file: ctx.file });
        return;
      }
      const t = ctx.imported(fn.text);
      const cls = t?.name ? t.module.classes.find((c) => c.name === t.name) : undefined;
      if (cls) out.push({ cls, file: t!.file });
    });
  }
  return out;
}

/**
 * A class of the agent's file constructed by the call whose methods post to the registry: as a `with`
 * item, what its `__enter__` runs registers and what its `__exit__` runs deregisters; constructed
 * otherwise, what its `__init__` runs. A method runs what it names on self (`self.register()`, a
 * `threading.Timer(s, self._heartbeat)`), however deep.
 */
function classRegisters(ctx: PythonTransformContext, call: SyntaxNode): Array<{ call: string; where: string; deregisters: boolean }> {
  const f = call.childForFieldName('function');
  const cls = f?.type === 'identifier' ? ctx.module.classes.find((c) => c.name === f.text && c.name !== ctx.agent.cls.name) : undefined;
  if (!cls) return [];
  const runs = (entry: string): PyFunction[] => mixinClosure(cls, entry);
  const withItem = call.parent?.type === 'with_item' || (call.parent?.type === 'as_pattern' && call.parent.parent?.type === 'with_item');
  const out: Array<{ call: string; where: string; deregisters: boolean }> = [];
  const add = (entry: string, deregisters: boolean) => {
    for (const m of runs(entry)) {
      const path = postsTo(m);
      if (path && /(de|un)register/.test(path) === deregisters) {
        out.push({ call: cls.name, where: `${ctx.file}:${m.line}: ${cls.name}.${m.name}() posts to "${path}"`, deregisters });
        return;
      }
    }
  };
  add(withItem ? '__enter__' : '__init__', false);
  if (withItem) add('__exit__', true);
  return out;
}

/** postsTo per function body: asked again at every call of the function (a tree never changes). */
const postsToByBody = new WeakMap<SyntaxNode, string | null>();

/** The registry path a function's own body names in a string (`"/register"`, `url + "/register"`). */
export function postsTo(fn: PyFunction): string | null {
  let path = postsToByBody.get(fn.body);
  if (path === undefined) postsToByBody.set(fn.body, (path = findRegistryPath(fn.body)));
  return path;
}

const STRINGS_AND_CLASSES: ReadonlySet<string> = new Set(['string', 'class_definition']);

/**
 * Closures defined in the body are read as its code: a registration is often a `def post(): ...` handed to a
 * shared retry helper (`with_backoff(post, attempts=3)`), the helper's own body naming no registry. Nested
 * classes (a health handler) are not.
 */
export function findRegistryPath(body: SyntaxNode): string | null {
  let path: string | null = null;
  walkTypes(body, STRINGS_AND_CLASSES, (n) => {
    if (path || n.type === 'class_definition') return false;
    if (n.type !== 'string') return;
    const v = stringValue(n);
    if (v !== null && REGISTER_PATH.test(v.trim())) path = v.trim();
    return false;
  });
  return path;
}

/**
 * The environment variables the registration's URL reads: in the expression that builds the address
 * ending in /register (`REGISTRY_URL + "/register"`, `f"{base}/register"`), an `os.environ.get("X")`,
 * `os.getenv("X")` or `os.environ["X"]`, directly or through a module constant set from one
 * (`REGISTRY_URL = os.environ.get("SERVICE_REGISTRY_URL", ...)`). Not what the record sends
 * (`"url": os.environ["SERVICE_URL"]` is the agent's own address).
 */
function envNamesRead(ctx: PythonTransformContext, body: SyntaxNode): string[] {
  const names = new Set<string>();
  const read = (n: SyntaxNode) => {
    if (n.type === 'subscript' && n.childForFieldName('value')?.text === 'os.environ') {
      const v = stringValue(n.childForFieldName('subscript')!);
      if (v) names.add(v);
    } else if (n.type === 'call' && /^os\.(environ\.get|getenv)$/.test(n.childForFieldName('function')?.text ?? '')) {
      const first = n.childForFieldName('arguments')?.namedChildren[0];
      const v = first ? stringValue(first) : null;
      if (v) names.add(v);
    }
  };
  const constants = new Set<string>();
  walk(body, (n) => {
    if (n.type !== 'string' || !/\/register\b/.test(n.text)) return;
    let url = n;
    while (url.parent && ['binary_operator', 'parenthesized_expression', 'concatenated_string'].includes(url.parent.type)) url = url.parent;
    walk(url, (x) => {
      read(x);
      if (x.type === 'identifier' && x.parent?.type !== 'attribute' && x.parent?.type !== 'keyword_argument') constants.add(x.text);
    });
    return false;
  });
  for (const st of ctx.module.root.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type === 'identifier' && constants.has(left.text)) walk(a!.childForFieldName('right') ?? a!, read);
  }
  return [...names].sort();
}
