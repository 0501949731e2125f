// Concern: a health payload method of the agent's (`health_info()`) that only its old base called, from
// the loop answering its health port. The new base answers its health port with its own health hook
// (`_get_health_status`) and never calls the old one, so the agent's fields silently left the answer.
// When the payload is built from the agent's own state, and what it took from the old base's own payload
// (`super().health_info()`) is answered by the new base's hook too, the hook's override adds its fields.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { PyClass, PyFunction } from '../../src/lang/python/module-model.js';
import { callee, stringValue, walk } from '../../src/lang/python/syntax.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { baseHealthKeys, baseHealthValue } from '../../src/analysis/health-words.js';
import { methodPayloadLines } from '../../src/analysis/health-payload.js';
import { baseHealthFails, baseHealthWord, healthHook } from './remove-health.js';
import { acceptsRaw, agentAttribute, guarded, insertHook, removedHealthRegions } from './health-hook.js';
import { carriedNames, carryModuleNames, moduleBinding } from './old-base-teardown-move.js';

/** Sending calls: what the old base's health loop does with the payload. */
const SEND = /\.(sendall|send|send_json|send_string|sendto|write)$/;

/**
 * Moves the agent's override of the old base's health payload method into the new base's health hook;
 * true when done (nothing to report), false when any condition does not hold (the caller reports it).
 * `call` is `self.<hook>` in the old base's `caller`; `readsOldState` says whether the hook reads state
 * only the old base kept (then its values are not the agent's own).
 */
export function moveOldBaseHealthPayload(
  ctx: PythonTransformContext,
  parent: { cls: PyClass; file: string },
  caller: PyFunction,
  call: SyntaxNode,
  hook: string,
  readsOldState: boolean,
): boolean {
  const target = healthHook(ctx);
  const own = ctx.agent.methods.get(hook);
  if (!own || readsOldState || !servesHealth(caller, call, hook)) return false;
  if (!ctx.base.methods.has(target) || ctx.agent.methods.has(target) || hook === target) return false;
  if (own.isAsync || own.decorators.length || own.params.length !== 1) return false;
  // A removed health endpoint of the agent's own moves its payload into the same hook (health-hook): one override only.
  if (ctx.resolved && removedHealthRegions(ctx).length) return false;
  const supers = superCalls(own.body, hook);
  if (supers === null) return false;
  // What the agent took from the old base's payload must be answered by the new base's hook, key by key, or
  // carried beside it when the old base computed it from nothing of its own (`"host": socket.gethostname()`).
  let inherited: string[] = [];
  let carried: CarriedKeys = { pairs: [], names: new Set() };
  if (supers.length) {
    const old = baseHealthKeys(parent.cls).get(hook);
    const now = ctx.base.healthKeys?.get(target);
    const lacking = old && now ? [...old.keys].filter((k) => !now.keys.has(k)) : [];
    const carry = lacking.length && old && !old.open ? carriedKeys(ctx, parent.cls, hook, lacking) : null;
    if (lacking.length && !carry) {
      ctx.warnings.push(`${hook}() was the old base's health payload (${parent.cls.name}.${caller.name}(), ${parent.file}:${call.startPosition.row + 1}), not moved into ${target}(): ` +
        `its super().${hook}() answered ${lacking.map((k) => `"${k}"`).join(', ')}, which ${ctx.profile.base_class}.${target}() does not`);
      return false;
    }
    if (!old || old.open || !now) return false;
    if (carry) carried = carry;
    inherited = [...old.keys].filter((k) => now.keys.has(k));
  }
  for (const s of supers) {
    if (!carried.pairs.length) {
      ctx.edits.replace(s.startIndex, s.endIndex, target, 'old-base-health-hook');
      continue;
    }
    const superCall = s.parent!.parent!;
    const extra = carried.pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ');
    ctx.edits.replace(superCall.startIndex, superCall.endIndex, `{**super().${target}(), ${extra}}`, 'old-base-health-hook');
  }
  if (carried.names.size) carryModuleNames(ctx, moduleRoot(parent.cls.node), carried.names, '', 'old-base-health-hook');
  const members = [...selfMembers(own.body)].filter((a) => a !== hook && !ctx.agent.methods.has(a) && agentAttribute(ctx, a) && !ctx.baseOwned.has(a)).sort();
  const lines = methodPayloadLines(`self.${hook}()`, writesStatus(own.body, hook), baseHealthWord(ctx), baseHealthFails(ctx));
  insertHook(ctx, target, guarded(lines, members, ctx));
  const line = call.startPosition.row + 1;
  ctx.warnings.push(
    `${hook}() was called by the old base (${parent.cls.name}.${caller.name}(), ${parent.file}:${line}) to answer its health port; ${ctx.profile.base_class}'s health endpoint answers ` +
      `${target}() instead: the ${target}() override built on ${ctx.profile.base_class}.${target}() adds what ${hook}() returns` +
      (supers.length ? `, and super().${hook}() in it now reads super().${target}(), which answers the old base's ${inherited.map((k) => `"${k}"`).join(', ')} too` : '') +
      (carried.pairs.length ? `, with the old base's ${carried.pairs.map(([k, v]) => `"${k}" (${v})`).join(', ')} computed as the old base did (${parent.file})` : '') +
      (acceptsRaw(caller.body) ? `; the old base answered over a raw TCP socket, ${ctx.profile.base_class} answers its own protocol on the health port` : ''),
  );
  return true;
}

/**
 * The old base's caller sends what `self.<hook>()` returns (`conn.sendall(json.dumps(self.health_info())...)`)
 * from a loop of the health concern (the caller or the hook is named for health or status).
 */
function servesHealth(caller: PyFunction, attr: SyntaxNode, hook: string): boolean {
  const invoked = attr.parent;
  if (invoked?.type !== 'call' || invoked.childForFieldName('function')?.id !== attr.id) return false;
  if (invoked.childForFieldName('arguments')?.namedChildCount) return false;
  if (!/health|status/i.test(caller.name) && !/health|status/i.test(hook)) return false;
  for (let n: SyntaxNode | null = invoked.parent; n && n.id !== caller.body.id; n = n.parent) {
    if (n.type === 'call' && SEND.test(callee(n) ?? '')) return true;
  }
  return false;
}

/**
 * The `<hook>` name nodes of `super().<hook>()` calls in the body (none: []), or null when the old base's
 * method is reached otherwise (`super().<hook>` passed along, called with arguments): no rewrite then.
 */
function superCalls(body: SyntaxNode, hook: string): SyntaxNode[] | null {
  const out: SyntaxNode[] = [];
  let other = false;
  walk(body, (n) => {
    if (n.type !== 'attribute' || n.childForFieldName('attribute')?.text !== hook || !/^super\(\s*\)$/.test(n.childForFieldName('object')?.text ?? '')) return;
    const c = n.parent;
    if (c?.type === 'call' && c.childForFieldName('function')?.id === n.id && !c.childForFieldName('arguments')?.namedChildCount) out.push(n.childForFieldName('attribute')!);
    else other = true;
  });
  return other ? null : out;
}

/**
 * Can the method's answer carry a "status" of its own, other than the old base's it extends? No only when it
 * writes no "status" key (`info["status"] = ...`, a dict literal's), no key it cannot read (`info[k] = ...`,
 * `info.update(...)`), and returns only dict literals or a name bound to `super().<hook>()`.
 */
function writesStatus(body: SyntaxNode, hook: string): boolean {
  const fromSuper = new Set<string>();
  let own = false;
  walk(body, (n) => {
    if (n.type === 'pair' && stringValue(n.childForFieldName('key')!) !== null && stringValue(n.childForFieldName('key')!) !== 'status') return;
    if (n.type === 'pair' || n.type === 'dictionary_splat') own = true;
    if (n.type === 'call' && /\.(update|setdefault)$/.test(callee(n) ?? '')) own = true;
    if (n.type !== 'assignment') return;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (left?.type === 'identifier' && right && new RegExp(`^super\\(\\s*\\)\\.${hook}\\(\\s*\\)$`).test(right.text)) fromSuper.add(left.text);
    const key = left?.type === 'subscript' ? left.childForFieldName('subscript') : null;
    if (key && (stringValue(key) ?? 'status') === 'status') own = true;
  });
  walk(body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    if (!v || !(v.type === 'dictionary' || (v.type === 'identifier' && fromSuper.has(v.text)))) own = true;
  });
  return own;
}

interface CarriedKeys {
  /** Each key the new base's hook lacks, with the old base's expression for it. */
  pairs: Array<[string, string]>;
  /** The old base's module imports those expressions read, which the agent's module must carry. */
  names: Set<string>;
}

/**
 * The old base's expressions for `keys` of its `hook`'s answer, when each reads nothing of the old base's
 * own (no self, no module constant, only modules it imports and builtins): the same expression in the
 * agent's module then answers the same value. Null when any key is computed otherwise.
 */
function carriedKeys(ctx: PythonTransformContext, cls: PyClass, hook: string, keys: string[]): CarriedKeys | null {
  const root = moduleRoot(cls.node);
  const pairs: Array<[string, string]> = [];
  const names = new Set<string>();
  for (const k of keys) {
    const v = baseHealthValue(cls, hook, k);
    if (!v) return null;
    let self = false;
    walk(v, (n) => void (n.type === 'identifier' && n.text === 'self' && (self = true)));
    const read = self ? null : carriedNames(ctx, root, [v]);
    if (!read || [...read].some((n) => moduleBinding(root, n)?.type !== 'import_statement')) return null;
    for (const n of read) names.add(n);
    pairs.push([k, v.text]);
  }
  // The expression must read the same module in the agent's file: the name is its plain import there or unbound.
  for (const n of names) {
    const mine = moduleBinding(ctx.module.root, n);
    if (mine ? mine.type !== 'import_statement' : ctx.module.imports.has(n)) return null;
    if (bindsName(ctx.agent.methods.get(hook)!.outer, n)) return null;
  }
  return { pairs, names };
}

/** Does the method bind `name` itself (a parameter, an assignment, a loop or with target), hiding the module's? */
function bindsName(fn: SyntaxNode, name: string): boolean {
  let found = false;
  walk(fn, (n) => {
    const target = n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' || n.type === 'for_in_clause' ? n.childForFieldName('left')
      : n.type === 'as_pattern_target' || n.type === 'parameters' ? n : null;
    if (target) walk(target, (i) => void (i.type === 'identifier' && i.text === name && (found = true)));
  });
  return found;
}

function moduleRoot(n: SyntaxNode): SyntaxNode {
  let r = n;
  while (r.parent) r = r.parent;
  return r;
}
