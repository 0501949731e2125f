// The words a health status is said in: the healthy words legacy payloads use, and the base's own
// (read from its health hook: `"status": "ok"` on BaseAgent, `status = "healthy"` / `"degraded"` on
// HardenedAgentBase), so a legacy payload saying the base's own word does not write it over the base's status.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass } from '../lang/python/module-model.js';
import { stringValue, walk } from '../lang/python/syntax.js';

/** Status words that mean "healthy" in legacy payloads (the base reports its own). */
export const OK_WORDS = /^(ok|healthy|success|up|running|alive|HEALTHY|OK)$/;

/** When nothing is known of the base's hook: the reference BaseAgent's healthy word. */
export const DEFAULT_BASE_WORD = 'ok';

/**
 * The values each method of the base class gives its status: the expressions reaching a "status" key of a
 * dict it builds (`"status": "ok"`), or a local that key reads (`status = "healthy"` / `status = "degraded"`
 * … `"status": status`), or a `x["status"] = "..."` it writes; a conditional is read as both its branches.
 */
function statusValues(cls: PyClass): Map<string, SyntaxNode[]> {
  const out = new Map<string, SyntaxNode[]>();
  for (const m of cls.methods.values()) {
    const values: SyntaxNode[] = [];
    const locals = new Set<string>();
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'pair' && stringValue(n.childForFieldName('key')!) === 'status') {
        const v = n.childForFieldName('value')!;
        if (v.type === 'identifier') locals.add(v.text);
        else values.push(v);
      }
      if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        const index = left?.type === 'subscript' ? left.childForFieldName('subscript') : null;
        if (index && stringValue(index) === 'status') values.push(n.childForFieldName('right')!);
      }
    });
    if (locals.size) {
      walk(m.body, (n) => {
        if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
        if (n.type === 'assignment' && locals.has(n.childForFieldName('left')?.text ?? '')) values.push(n.childForFieldName('right')!);
      });
    }
    const leaves: SyntaxNode[] = [];
    const read = (v: SyntaxNode): void => {
      // `"degraded" if failing else "healthy"`: both branches are said
      if (v.type === 'conditional_expression') {
        const [a, , b] = v.namedChildren;
        if (a) read(a);
        if (b) read(b);
        return;
      }
      if (v.type === 'parenthesized_expression' && v.namedChildCount === 1) return read(v.namedChild(0)!);
      leaves.push(v);
    };
    values.forEach(read);
    if (leaves.length) out.set(m.name, leaves);
  }
  return out;
}

/**
 * The healthy word each method of the base class reports as its status (see statusValues), the one of its
 * values that is a healthy word (OK_WORDS). A method saying no healthy word, or two different ones, is left
 * out (its word is not known).
 */
export function baseHealthWords(cls: PyClass): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, values] of statusValues(cls)) {
    const words = new Set<string>();
    for (const v of values) {
      const s = stringValue(v);
      if (s !== null && OK_WORDS.test(s)) words.add(s);
    }
    if (new Set([...words].map((w) => w.toLowerCase())).size === 1) out.set(name, [...words][0]!);
  }
  return out;
}

/**
 * The methods of the base class with a healthy word (baseHealthWords) that can also report another status:
 * a constant that is no healthy word (`"ok" if self.initialized else "error"`, HardenedAgentBase's
 * "degraded"), or one computed at run time. A legacy status written over such a method's answer would hide
 * the base's failing state, so the hook writes one only while the base says its healthy word.
 */
export function baseFailingStatus(cls: PyClass): Set<string> {
  const words = baseHealthWords(cls);
  const out = new Set<string>();
  for (const [name, values] of statusValues(cls)) {
    if (!words.has(name)) continue;
    if (values.some((v) => {
      const s = stringValue(v);
      return s === null || !OK_WORDS.test(s);
    })) out.add(name);
  }
  return out;
}

/** The keys a health method of the base answers (see baseHealthKeys). */
export interface BaseHealthKeys {
  keys: Set<string>;
  /** Its answer also carries keys known only at run time (`**stats`, `status.update(...)`). */
  open: boolean;
}

/**
 * The keys each method of the base class with a status (statusValues) answers, read from its source: the
 * string keys of the dict literal carrying its "status" and those it writes into a dict (`out["k"] = ...`).
 * A legacy health key the base does not answer is the agent's to keep; one it answers stays the base's.
 */
export function baseHealthKeys(cls: PyClass): Map<string, BaseHealthKeys> {
  const out = new Map<string, BaseHealthKeys>();
  for (const name of statusValues(cls).keys()) {
    const m = cls.methods.get(name)!;
    const keys = new Set<string>();
    let open = false;
    walk(m.body, (n) => {
      if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
      if (n.type === 'dictionary' && n.namedChildren.some((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === 'status')) {
        for (const p of n.namedChildren) {
          if (p.type === 'dictionary_splat') open = true;
          const k = p.type === 'pair' ? stringValue(p.childForFieldName('key')!) : null;
          if (p.type === 'pair' && k === null) open = true;
          if (k !== null) keys.add(k);
        }
      }
      if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        const index = left?.type === 'subscript' ? left.childForFieldName('subscript') : null;
        if (index) {
          const k = stringValue(index);
          if (k === null) open = true;
          else keys.add(k);
        }
      }
      if (n.type === 'call' && /\.(update|setdefault)$/.test(n.childForFieldName('function')?.text ?? '')) open = true;
    });
    out.set(name, { keys, open });
  }
  return out;
}

/**
 * The expression a base's health method answers `key` with: the value of its one `"key": <value>` in the
 * dict literal carrying "status", when nothing else in the method writes that key (`out["key"] = ...`) or
 * any key it cannot read; null otherwise.
 */
export function baseHealthValue(cls: PyClass, method: string, key: string): SyntaxNode | null {
  const m = cls.methods.get(method);
  if (!m) return null;
  const values: SyntaxNode[] = [];
  let other = false;
  walk(m.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'dictionary' && n.namedChildren.some((p) => p.type === 'pair' && stringValue(p.childForFieldName('key')!) === 'status')) {
      for (const p of n.namedChildren) {
        if (p.type !== 'pair') other = true;
        else if (stringValue(p.childForFieldName('key')!) === key) values.push(p.childForFieldName('value')!);
        else if (stringValue(p.childForFieldName('key')!) === null) other = true;
      }
    }
    const left = n.type === 'assignment' ? n.childForFieldName('left') : null;
    const index = left?.type === 'subscript' ? left.childForFieldName('subscript') : null;
    if (index && (stringValue(index) ?? key) === key) other = true;
    if (n.type === 'call' && /\.(update|setdefault)$/.test(n.childForFieldName('function')?.text ?? '')) other = true;
  });
  return !other && values.length === 1 ? values[0]! : null;
}

/**
 * The HTTP code the base's health server answers when its status is not a healthy word, read from the
 * source (the reference BaseAgent's `200 if healthy else 503`); null when it answers every status alike.
 * A legacy endpoint that answered 200 while saying "degraded" reads as failing to a probe of the code.
 */
export function baseFailingHealthCode(cls: PyClass): number | null {
  const rule = healthCodeRule(cls);
  return rule ? rule.fail : null;
}

/** The base's `200 if healthy else 503`: the conditional and its failing code (first in the class), else null. */
function healthCodeRule(cls: PyClass): { node: SyntaxNode; fail: number } | null {
  let found: { node: SyntaxNode; fail: number } | null = null;
  walk(cls.node, (n) => {
    if (found !== null) return false;
    if (n.type !== 'conditional_expression') return;
    const [a, , b] = n.namedChildren;
    const ints = [a, b].map((x) => (x?.type === 'integer' ? Number(x.text) : NaN));
    const ok = ints.findIndex((v) => v >= 200 && v < 300);
    const fail = ints.findIndex((v) => v >= 500 && v < 600);
    if (ok !== -1 && fail !== -1) found = { node: n, fail: ints[fail]! };
  });
  return found;
}

/**
 * The base's method a subclass overrides to choose the HTTP code of a health status (the reference
 * BaseAgent's `_health_http_code(self, status)`), read from the source: the method of the class itself
 * (not one nested in its handler) holding the code rule (baseFailingHealthCode), taking the status as its
 * one parameter besides self, and called by the class. Null for a base that decides the code inline
 * (an older copy of the reference base, the production-like one): an agent cannot change it there.
 */
export function baseHealthCodeHook(cls: PyClass): string | null {
  const rule = healthCodeRule(cls);
  if (!rule) return null;
  let fn: SyntaxNode | null = rule.node.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  const m = [...cls.methods.values()].find((x) => x.node.id === fn?.id);
  if (!m || m.params.filter((p) => p.name !== 'self').length !== 1) return null;
  return new RegExp(`\\.${m.name}\\(`).test(cls.node.text) ? m.name : null;
}
