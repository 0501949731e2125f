// A health payload the agent builds as a record and turns into a mapping only to send it:
// `json.dumps(agent._snapshot().to_dict())` where `_snapshot()` returns a dataclass whose
// `to_dict()` is `asdict(self)`, `json.dumps(relay._health()._asdict())` where `_health()`
// returns a namedtuple, `json.dumps(asdict(agent._snapshot()))`. The record's fields are the
// payload, known at run time like a payload method's: read in the agent's scope as the same
// chain on `self`, proven to be a mapping from the record class's own definition.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass, PyFunction } from '../lang/python/module-model.js';
import { callee, walk } from '../lang/python/syntax.js';

/** The class every `return` of a method constructs (`return HealthSnapshot(...)`), or null. */
export function returnedRecord(fn: PyFunction): string | null {
  let name: string | null = null;
  let ok = true;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return;
    const v = n.namedChild(0);
    const c = v?.type === 'call' ? callee(v) : null;
    if (!c || !/^[A-Za-z_]\w*$/.test(c) || (name !== null && name !== c)) ok = false;
    else name = c;
  });
  return ok ? name : null;
}

function moduleRoot(n: SyntaxNode): SyntaxNode {
  let r = n;
  while (r.parent) r = r.parent;
  return r;
}

/** `Name = namedtuple(...)` / `collections.namedtuple(...)` / `NamedTuple("Name", ...)` at module level, or `class Name(NamedTuple)`. */
export function isNamedTuple(name: string, anyNode: SyntaxNode, classes: Map<string, PyClass>): boolean {
  const cls = classes.get(name);
  if (cls) return cls.bases.some((b) => /^(typing\.)?NamedTuple$/.test(b.text.replace(/\s+/g, '')));
  for (const st of moduleRoot(anyNode).namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (a?.type !== 'assignment' || a.childForFieldName('left')?.text !== name) continue;
    const right = a.childForFieldName('right');
    if (right?.type === 'call' && /^(collections\.)?namedtuple$|^(typing\.)?NamedTuple$/.test(callee(right) ?? '')) return true;
  }
  return false;
}

export function isDataclass(cls: PyClass): boolean {
  return cls.decorators.some((d) => /^(dataclasses\.)?dataclass\b/.test(d));
}

/**
 * Why a @dataclass cannot take a base's constructor from its __post_init__ (null when it can): its
 * generated __init__ assigns the fields, then calls __post_init__, where super().__init__() can run, as
 * long as the instance stays a plain one (not frozen, no __slots__: the base assigns attributes of its
 * own), an __init__ is generated (no init=False, none written beside the fields) and the fields come from
 * this class alone (no parent, whose own __init__ would be bypassed or whose fields would come first).
 */
export function dataclassInitBlocker(cls: PyClass, target?: string, owned?: string[]): string | null {
  const deco = cls.decorators.find((d) => /^(dataclasses\.)?dataclass\b/.test(d));
  if (!deco) return 'not a dataclass';
  const opt = (name: string, value: string) => new RegExp(`\\b${name}\\s*=\\s*${value}\\b`).test(deco);
  if (opt('frozen', 'True')) return 'it is frozen (the base assigns attributes of its own)';
  if (opt('slots', 'True')) return 'it has __slots__ (the base assigns attributes of its own)';
  if (opt('init', 'False')) return 'it generates no __init__ (init=False)';
  if (cls.methods.has('__init__')) return 'it also defines __init__, which replaces the generated one';
  if (cls.bases.some((b) => b.text.replace(/^.*\./, '') !== target)) return 'it has a parent class of its own';
  if (cls.decorators.length > 1) return 'it has other decorators besides @dataclass';
  // A field the base's constructor also sets is overwritten once __post_init__ calls it. The ports and name
  // the base is given are not (it is given the field's value); a flag starting True, as the base's do, may
  // be the same value (the rewrite compares it with the base's own).
  for (const f of dataclassFieldsOf(cls)) {
    if (owned?.includes(f.name) && f.value?.text.trim() !== 'True') {
      return `its field ${f.name} (line ${f.line}) is an attribute the base's constructor also sets, which would overwrite it`;
    }
  }
  return null;
}

/** `port: int = 7850` in a dataclass body (ClassVar annotations are not fields). */
export function dataclassFieldsOf(cls: PyClass): Array<{ name: string; line: number; value: SyntaxNode | null }> {
  const out: Array<{ name: string; line: number; value: SyntaxNode | null }> = [];
  for (const st of cls.body.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (a?.type !== 'assignment' || !a.childForFieldName('type')) continue;
    const left = a.childForFieldName('left');
    if (left?.type !== 'identifier' || /\bClassVar\b/.test(a.childForFieldName('type')!.text)) continue;
    out.push({ name: left.text, line: left.startPosition.row + 1, value: a.childForFieldName('right') });
  }
  return out;
}

/** A method whose every return is a mapping of the record (`asdict(self)`, `self._asdict()`, `vars(self)`, a dict). */
function returnsMapping(fn: PyFunction): boolean {
  let returns = 0;
  let ok = true;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type !== 'return_statement') return;
    returns++;
    const v = n.namedChild(0);
    if (!v) {
      ok = false;
      return;
    }
    if (v.type === 'dictionary' || v.type === 'dictionary_comprehension') return;
    const c = v.type === 'call' ? callee(v) ?? '' : '';
    const args = v.type === 'call' ? (v.childForFieldName('arguments')?.namedChildren ?? []) : [];
    if (/^(dataclasses\.)?asdict$|^vars$/.test(c) && args.length === 1 && args[0]!.text === 'self') return;
    if (c === 'dict') return;
    if (c === 'self._asdict' && !args.length) return;
    ok = false;
  });
  return ok && returns > 0;
}

/**
 * Is `conv` (a zero-argument method called on the record, or a function wrapping it: `asdict`,
 * `dataclasses.asdict`, `vars`) a mapping of a record of class `record`?
 */
export function recordToMapping(record: string, conv: { method?: string; wrapper?: string }, anyNode: SyntaxNode, classes: Map<string, PyClass>): boolean {
  const cls = classes.get(record);
  if (conv.wrapper) {
    if (/^(dataclasses\.)?asdict$/.test(conv.wrapper)) return !!cls && isDataclass(cls);
    if (conv.wrapper === 'vars') return !!cls && !isNamedTuple(record, anyNode, classes);
    return false;
  }
  if (conv.method === '_asdict') return isNamedTuple(record, anyNode, classes);
  const m = conv.method ? cls?.methods.get(conv.method) : undefined;
  return !!m && m.params.length === 1 && returnsMapping(m);
}
