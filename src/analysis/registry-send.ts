// What health code sends out over HTTP, read through the agent's aliases of itself (`agent = self`,
// `me = agent`) as well as `self`: a heartbeat closure in a health method that POSTs the agent's record is
// the base's concern only when it posts to the registry the base registers with (the profile's registry
// variable), on the base's `/register` path, a record whose fields the base's record carries (or liveness
// stamps). A POST to another service (a dispatcher's URL, another path, other fields) is the agent's own
// behaviour: removing it with the health code would be a silent loss.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyFunction } from '../lang/python/module-model.js';
import type { PythonTransformContext } from '../lang/python/transform-context.js';
import { callee, lineOf, stringValue, walk, walkTypes } from '../lang/python/syntax.js';
import { dictKeys } from './base-model.js';

/** Calls that send an HTTP request: the URL is their first argument (or `url=`). */
export const SENDS = /^(urllib\.request\.)?(urlopen|Request)$|^(requests|httpx|session|_?http|_?client|self\.session|self\._session)\.(post|put|patch|request)$/;

/** Fields a heartbeat adds to the registration record that only say it is alive. */
const LIVENESS = new Set(['status', 'state', 'last_seen', 'last_heartbeat', 'timestamp', 'ts', 'time', 'heartbeat', 'uptime', 'alive']);

/**
 * The names bound to the method's `self` in its own scope and the closures it defines (`agent = self`,
 * `me = agent`, however long the chain), `self` included. A name also bound to anything else is left out.
 */
const ALIAS_NODES: ReadonlySet<string> = new Set(['class_definition', 'assignment']);

export function selfAliases(fn: PyFunction): Set<string> {
  const selfName = fn.params[0]?.name ?? 'self';
  const pairs: Array<[string, string]> = [];
  // Typed: only assignments and the classes it skips are made into node objects.
  walkTypes(fn.body, ALIAS_NODES, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type !== 'assignment') return;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (left?.type === 'identifier' && right) pairs.push([left.text, right.type === 'identifier' ? right.text : '']);
  });
  const aliases = new Set([selfName]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [l, r] of pairs) {
      if (!aliases.has(l) && aliases.has(r)) {
        aliases.add(l);
        grew = true;
      }
    }
  }
  for (const [l, r] of pairs) if (l !== selfName && aliases.has(l) && !aliases.has(r)) aliases.delete(l);
  return aliases;
}

/** Agent members read through an alias of self (`agent.stock` with `agent = self`), closures included, nested classes not. */
export function aliasMembers(fn: PyFunction): Set<string> {
  const aliases = selfAliases(fn);
  aliases.delete(fn.params[0]?.name ?? 'self');
  const out = new Set<string>();
  if (!aliases.size) return out;
  walk(fn.body, (n) => {
    if (n.type === 'class_definition') return false;
    if (n.type !== 'attribute') return;
    const obj = n.childForFieldName('object');
    if (obj?.type === 'identifier' && aliases.has(obj.text)) out.add(n.childForFieldName('attribute')!.text);
  });
  return out;
}

/**
 * The first HTTP request the method's code (its closures and lambdas included) sends that is not the base's
 * registration, as a reason naming the line; null when it sends none, or only what the base sends.
 */
/**
 * The base registers the agent itself: its source posts a registration record (BaseModel.registrationRecord,
 * read from it or from the profile's runtime template) and the profile has a registry. Read from the base
 * model, never from the name of a method of the base's.
 */
export function baseRegisters(ctx: PythonTransformContext): boolean {
  return !!ctx.base.registrationRecord?.length && ctx.profile.validation?.registry !== 'none';
}

export function foreignSend(ctx: PythonTransformContext, fn: PyFunction): string | null {
  return foreignSendIn(ctx, fn.body, selfAliases(fn), (attr) => ctx.agent.assignments.filter((a) => a.attr === attr));
}

/** What foreignSendIn looks at: calls, and the nested classes it does not enter. */
const CALL_OR_CLASS: ReadonlySet<string> = new Set(['call', 'class_definition']);

/**
 * foreignSend over any code: `aliases` name the instance whose attributes the URL may read, `assigned`
 * gives that instance's assignments of an attribute (for its `registry_url`).
 */
export function foreignSendIn(
  ctx: PythonTransformContext,
  body: SyntaxNode,
  aliases: Set<string>,
  assigned: (attr: string) => Array<{ value: SyntaxNode | null }>,
): string | null {
  let why: string | null = null;
  // A base that registers nowhere (no record read from its source, or a profile without a registry) sends nothing.
  const registers = baseRegisters(ctx);
  walkTypes(body, CALL_OR_CLASS, (n) => {
    if (why || n.type === 'class_definition') return false;
    if (n.type !== 'call' || !SENDS.test(callee(n) ?? '')) return;
    if (!registers) {
      why = `sends an HTTP request (line ${lineOf(n)}), and ${ctx.profile.base_class} registers with no registry`;
      return false;
    }
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = (name: string) => args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === name)?.childForFieldName('value') ?? null;
    const positional = args.filter((a) => a.type !== 'keyword_argument');
    let url = kw('url') ?? positional[0] ?? null;
    // urlopen(req) on a Request built in the same code: that Request is the send read.
    const local = url?.type === 'identifier' ? localValues(n, url.text) : [];
    if (/urlopen$/.test(callee(n)!) && local.length && local.every((v) => v.type === 'call' && /(^|\.)Request$/.test(callee(v) ?? ''))) return;
    if (!url) return;
    const urlParts = url.type === 'identifier' && local.length ? local : [url];
    const shown = url.text.length > 60 ? `${url.text.slice(0, 57)}...` : url.text;
    if (!urlParts.every((u) => readsBaseRegistry(ctx, u, aliases, assigned))) {
      why = `sends to ${shown} (line ${lineOf(n)}), not the registry ${ctx.profile.base_class} registers with`;
      return false;
    }
    if (!urlParts.every((u) => postsToRegister(u, n))) {
      why = `sends to ${shown} (line ${lineOf(n)}), another path than the /register ${ctx.profile.base_class} posts to`;
      return false;
    }
    const data = kw('data') ?? kw('json') ?? positional[1] ?? null;
    const extra = data ? extraFields(ctx, data, n) : ['(no record)'];
    if (extra.length) {
      why = `sends ${extra.join(', ')} to the registry (line ${lineOf(n)}), which ${ctx.profile.base_class}'s record does not carry`;
      return false;
    }
  });
  return why;
}

/** The values a local of the enclosing function is assigned (`req = urllib.request.Request(...)`). */
function localValues(at: SyntaxNode, name: string): SyntaxNode[] {
  let scope: SyntaxNode | null = at.parent;
  while (scope && scope.type !== 'function_definition' && scope.type !== 'lambda' && scope.type !== 'module') scope = scope.parent;
  if (!scope || scope.type === 'lambda') return [];
  const out: SyntaxNode[] = [];
  walk(scope.childForFieldName('body') ?? scope, (n) => {
    if (n.type === 'class_definition' || (n.type === 'function_definition' && n.id !== scope!.id)) return false;
    if (n.type === 'assignment' && n.childForFieldName('left')?.text === name && n.childForFieldName('right')) out.push(n.childForFieldName('right')!);
  });
  return out;
}

/**
 * The URL reads the registry the base registers with: the profile's registry variable (`os.environ.get(
 * "REGISTRY_URL")`), a module constant set from it, or the agent's `registry_url` (through self or an alias)
 * when every assignment of it is that variable with no fallback.
 */
function readsBaseRegistry(ctx: PythonTransformContext, url: SyntaxNode, aliases: Set<string>, assigned: (attr: string) => Array<{ value: SyntaxNode | null }>): boolean {
  const env = ctx.profile.validation?.registry_env ?? 'REGISTRY_URL';
  const quoted = new RegExp(`["']${env}["']`);
  let reads = false;
  let other = false;
  walk(url, (n) => {
    if (n.type === 'string' && quoted.test(n.text)) reads = true;
    if (n.type === 'attribute') {
      const obj = n.childForFieldName('object');
      const attr = n.childForFieldName('attribute')!.text;
      if (obj?.type === 'identifier' && aliases.has(obj.text)) {
        const own = assigned(attr);
        if (attr === 'registry_url' && own.length && own.every((a) => !!a.value && envLookup(a.value, env))) reads = true;
        else other = true;
        return false;
      }
    }
    if (n.type === 'identifier' && n.parent?.type !== 'attribute' && n.parent?.type !== 'keyword_argument') {
      const constant = moduleConstant(ctx, n.text);
      if (constant && quoted.test(constant.text)) reads = true;
    }
  });
  return reads && !other;
}

function moduleConstant(ctx: PythonTransformContext, name: string): SyntaxNode | null {
  for (const st of ctx.module.root.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (a?.type === 'assignment' && a.childForFieldName('left')?.text === name) return a.childForFieldName('right');
  }
  return null;
}

/** `os.environ.get("REGISTRY_URL")`, `os.getenv("REGISTRY_URL")` or `os.environ["REGISTRY_URL"]`, with no default. */
export function envLookup(value: SyntaxNode, env: string): boolean {
  if (value.type === 'subscript') return value.childForFieldName('value')?.text === 'os.environ' && stringValue(value.childForFieldName('subscript')!) === env;
  if (value.type !== 'call' || !/^os\.(environ\.get|getenv)$/.test(value.childForFieldName('function')?.text ?? '')) return false;
  const args = value.childForFieldName('arguments')?.namedChildren ?? [];
  return args.length === 1 && stringValue(args[0]!) === env;
}

/** The URL's own strings name the `/register` path (`REGISTRY_URL + "/register"`, `f"{url}/register"`). */
function postsToRegister(url: SyntaxNode, at: SyntaxNode): boolean {
  const parts: string[] = [];
  walk(url, (n) => {
    if (n.type === 'string_content') parts.push(n.text);
    if (n.type === 'identifier' && n.parent?.type !== 'attribute') for (const v of localValues(at, n.text)) walk(v, (m) => void (m.type === 'string_content' && parts.push(m.text)));
  });
  return parts.some((p) => /(^|\/)register\/?$/.test(p.trim()));
}

/**
 * Fields of the record sent that the base's record does not carry (its keys, the legacy names of the
 * ports it is given, liveness stamps), `(no record)` when no dict literal is found for it.
 */
function extraFields(ctx: PythonTransformContext, data: SyntaxNode, at: SyntaxNode): string[] {
  const record = ctx.base.registrationRecord ?? [];
  const aliases = Object.entries(ctx.py.super_call.pass_through ?? {}).filter(([k]) => record.includes(k)).flatMap(([, names]) => names);
  const allowed = new Set([...record, ...aliases, ...LIVENESS]);
  const dicts: SyntaxNode[] = [];
  const seen = new Set<number>();
  const collect = (e: SyntaxNode) => {
    walk(e, (n) => {
      if (n.type === 'dictionary') dicts.push(n);
      if (n.type === 'identifier' && n.parent?.type !== 'attribute' && !seen.has(n.id)) {
        seen.add(n.id);
        for (const v of localValues(at, n.text)) collect(v);
      }
    });
  };
  collect(data);
  if (!dicts.length) return ['(no record)'];
  const extra: string[] = [];
  for (const d of dicts) {
    const keys = dictKeys(d);
    if (!keys) return ['(a record built at run time)'];
    for (const k of keys) if (!allowed.has(k)) extra.push(`"${k}"`);
  }
  return extra;
}
