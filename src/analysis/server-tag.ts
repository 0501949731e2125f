// Handler classes reach the agent through the server the agent built and tagged with itself:
// `self.health_server.monitor = self` in the agent, then `self.server.monitor.alerts` (or
// `monitor = self.server.monitor; monitor.alerts`) in the handler. The tag's name is the
// agent's choice; `agent` is the usual one and always counts.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyClass } from '../lang/python/module-model.js';
import { walkTypes } from '../lang/python/syntax.js';

// The node types each walk below acts on (see walkTypes): the others are passed over unmade.
const CLASS_OR_ASSIGNMENT: ReadonlySet<string> = new Set(['class_definition', 'assignment']);
const DEF_OR_ASSIGNMENT: ReadonlySet<string> = new Set(['function_definition', 'assignment', 'augmented_assignment']);

const tagsByClass = new WeakMap<SyntaxNode, ReadonlySet<string>>();

/** The attribute names under which the agent stores itself on another object (`x.<tag> = self`). */
export function serverTags(agent: PyClass): ReadonlySet<string> {
  let tags = tagsByClass.get(agent.node);
  if (tags) return tags;
  const out = new Set<string>(['agent']);
  for (const m of agent.methods.values()) {
    const selfName = m.params[0]?.name ?? 'self';
    walkTypes(m.body, CLASS_OR_ASSIGNMENT, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'assignment' || n.childForFieldName('right')?.text !== selfName) return;
      const left = n.childForFieldName('left');
      // obj.<tag> = self where obj is not self itself (self.me = self tags nothing)
      if (left?.type === 'attribute' && left.childForFieldName('object')!.text !== selfName) {
        out.add(left.childForFieldName('attribute')!.text);
        // HealthHandler.agent = self: a class attribute of a handler class, read there as self.agent.
        const holder = left.childForFieldName('object')!;
        if (holder.type === 'identifier') out.add(`${holder.text}.${left.childForFieldName('attribute')!.text}`);
      }
    });
    for (const tag of constructorTags(agent, m.body, selfName)) out.add(tag);
  }
  tagsByClass.set(agent.node, (tags = out));
  return tags;
}

const CALL: ReadonlySet<string> = new Set(['call', 'class_definition']);

/**
 * `QuotaHealthServer(address, self)` in an agent method, where the module's class QuotaHealthServer keeps
 * that parameter in its __init__ (`self.watcher = watcher`): the server holds the agent under `watcher`,
 * as `server.watcher = self` would have tagged it. By position or by keyword.
 */
function constructorTags(agent: PyClass, body: SyntaxNode, selfName: string): string[] {
  let module: SyntaxNode | null = agent.node;
  while (module && module.type !== 'module') module = module.parent;
  if (!module) return [];
  const out: string[] = [];
  walkTypes(body, CALL, (n) => {
    if (n.type === 'class_definition') return false;
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'identifier') return;
    // Most calls do not pass the agent at all: their arguments are not listed.
    const argList = n.childForFieldName('arguments');
    if (!argList?.text.includes(selfName)) return;
    const args = argList.namedChildren;
    const given = args.flatMap((a, i) =>
      a.type === 'identifier' && a.text === selfName ? [{ index: i, keyword: null as string | null }]
        : a.type === 'keyword_argument' && a.childForFieldName('value')?.text === selfName ? [{ index: -1, keyword: a.childForFieldName('name')!.text }] : [],
    );
    if (!given.length || args.slice(0, Math.max(...given.map((g) => g.index), 0)).some((a) => a.type === 'list_splat' || a.type === 'dictionary_splat')) return;
    const cls = module!.namedChildren.map((c) => (c.type === 'decorated_definition' ? c.childForFieldName('definition') : c)).find((c) => c?.type === 'class_definition' && c.childForFieldName('name')?.text === fn.text);
    const init = cls?.childForFieldName('body')?.namedChildren.find((d) => d.type === 'function_definition' && d.childForFieldName('name')?.text === '__init__');
    if (!init) return;
    const params = (init.childForFieldName('parameters')?.namedChildren ?? []).slice(1);
    if (params.some((p) => p.type === 'list_splat_pattern' || p.type === 'keyword_separator')) return;
    const names = params.map((p) => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? null));
    for (const g of given) {
      const param = g.keyword ?? names[g.index] ?? null;
      if (!param || !names.includes(param)) continue;
      walkTypes(init.childForFieldName('body')!, CLASS_OR_ASSIGNMENT, (a) => {
        if (a.type === 'class_definition') return false;
        const left = a.childForFieldName('left');
        if (a.childForFieldName('right')?.text === param && left?.type === 'attribute' && left.childForFieldName('object')?.text === 'self') {
          out.push(left.childForFieldName('attribute')!.text);
        }
      });
    }
  });
  return out;
}

/**
 * `self.server.<tag>`: a handler's way to the agent; or, in a method of a class `H` that the agent gave
 * itself as a class attribute (`H.<tag> = self`), that class attribute read through the instance or the
 * class: `self.<tag>`, `type(self).<tag>`, `self.__class__.<tag>` or `H.<tag>`.
 */
export function isServerTag(obj: SyntaxNode, tags: ReadonlySet<string>): boolean {
  const raw = obj.text;
  // Every form below ends in a tag's last name: any other text (most `self.<x>` of a module, each asked
  // about by the reachability and server-local searches) is told apart without the climb to its class.
  if (!/\s/.test(raw) && !tagEnds(tags).has(lastWord(raw))) return false;
  const text = raw.replace(/\s+/g, '');
  const m = /^self\.server\.(\w+)$/.exec(text);
  if (m) return tags.has(m[1]!);
  const c = /^(?:self|type\(self\)|self\.__class__|(\w+))\.(\w+)$/.exec(text);
  if (!c) return false;
  let fn: SyntaxNode | null = obj.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn || fn.childForFieldName('parameters')?.namedChild(0)?.text !== 'self') return false;
  let cls: SyntaxNode | null = fn.parent;
  if (cls?.type === 'decorated_definition') cls = cls.parent;
  cls = cls?.type === 'block' ? cls.parent : null;
  const name = cls?.type === 'class_definition' ? cls.childForFieldName('name')?.text : undefined;
  // `Other.agent` names another class's attribute: only the handler's own class name counts.
  if (c[1] !== undefined && c[1] !== name) return false;
  return !!name && tags.has(`${name}.${c[2]}`);
}

/** The last names of the tags (`agent`, and `tag` of `Handler.tag`): what a text naming one ends with. */
function tagEnds(tags: ReadonlySet<string>): ReadonlySet<string> {
  let ends = tagEndsOf.get(tags);
  if (!ends) tagEndsOf.set(tags, (ends = new Set([...tags].map((t) => t.slice(t.lastIndexOf('.') + 1)))));
  return ends;
}
const tagEndsOf = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

/** The run of word characters (as \w reads them) the text ends with. */
function lastWord(text: string): string {
  let i = text.length;
  while (i > 0 && WORD_CHAR.test(text[i - 1]!)) i--;
  return text.slice(i);
}
const WORD_CHAR = /\w/;

/** Per function (and tag set): its locals assigned from `self.server.<tag>` exactly once and never otherwise. */
const serverLocalsByFunction = new WeakMap<SyntaxNode, WeakMap<ReadonlySet<string>, ReadonlySet<string>>>();

/** An answer per node and tag set, read once: each search below is asked about the same node again and again. */
function byNodeAndTags<T>(memo: WeakMap<SyntaxNode, WeakMap<ReadonlySet<string>, T>>, node: SyntaxNode, tags: ReadonlySet<string>, read: () => T): T {
  let byTags = memo.get(node);
  if (!byTags) memo.set(node, (byTags = new WeakMap()));
  let known = byTags.get(tags);
  if (known === undefined) byTags.set(tags, (known = read()));
  return known;
}

function serverLocals(fn: SyntaxNode, tags: ReadonlySet<string>): ReadonlySet<string> {
  return byNodeAndTags(serverLocalsByFunction, fn, tags, () => readServerLocals(fn, tags));
}

function readServerLocals(fn: SyntaxNode, tags: ReadonlySet<string>): ReadonlySet<string> {
  // A function whose text names no tag assigns nothing from the server: not walked.
  const fnText = fn.text;
  if (![...tagEnds(tags)].some((end) => fnText.includes(end))) return new Set();
  // One walk per function, not one per name asked about (every `self.x` of a module is asked).
  const fromServer = new Map<string, number>();
  const other = new Set<string>();
  walkTypes(fn, DEF_OR_ASSIGNMENT, (n) => {
    if (n.type === 'function_definition' && n !== fn) return false;
    if (n.type !== 'assignment' && n.type !== 'augmented_assignment') return;
    const left = n.childForFieldName('left');
    if (!left) return;
    const right = n.childForFieldName('right');
    if (n.type === 'assignment' && right && isServerTag(right, tags)) fromServer.set(left.text, (fromServer.get(left.text) ?? 0) + 1);
    else other.add(left.text);
  });
  return new Set([...fromServer].filter(([name, count]) => count === 1 && !other.has(name)).map(([name]) => name));
}

/**
 * The agent as a handler reaches it: `self.server.<tag>`, or a local of the enclosing function
 * assigned from it (`monitor = self.server.monitor`) and never reassigned.
 */
export function reachesAgentViaServer(obj: SyntaxNode, tags: ReadonlySet<string>): boolean {
  if (obj.type === 'attribute') return isServerTag(obj, tags);
  if (obj.type !== 'identifier') return false;
  // A name no assignment of the module takes from the server is no such local: the climb to its function
  // (a node made per ancestor) is left for the few that are (the lost-method check asks of every `x.y`).
  if (!assignedFromServer(obj.tree.rootNode, tags).has(obj.text)) return false;
  let fn: SyntaxNode | null = obj.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn) return false;
  return serverLocals(fn, tags).has(obj.text);
}

const ASSIGNMENT: ReadonlySet<string> = new Set(['assignment']);
const fromServerByRoot = new WeakMap<SyntaxNode, WeakMap<ReadonlySet<string>, ReadonlySet<string>>>();

/** The targets (as written) of every assignment in the module whose value is a server tag: a superset of every function's serverLocals. */
function assignedFromServer(root: SyntaxNode, tags: ReadonlySet<string>): ReadonlySet<string> {
  return byNodeAndTags(fromServerByRoot, root, tags, () => {
    const found = new Set<string>();
    walkTypes(root, ASSIGNMENT, (n) => {
      const right = n.childForFieldName('right');
      const left = n.childForFieldName('left');
      if (left && right && isServerTag(right, tags)) found.add(left.text);
    });
    return found;
  });
}

const methodTagsByClass = new WeakMap<SyntaxNode, ReadonlyMap<string, string>>();

/**
 * The attribute names under which the agent hands one of its own methods to a server it built
 * (`self.health.status_fn = self.status`), read by the handler as `self.server.status_fn()`:
 * tag -> the agent method. A tag assigned anything else anywhere in the agent does not count.
 */
export function serverMethodTags(agent: PyClass): ReadonlyMap<string, string> {
  let tags = methodTagsByClass.get(agent.node);
  if (tags) return tags;
  const found = new Map<string, string>();
  const spoiled = new Set<string>();
  for (const m of agent.methods.values()) {
    const selfName = m.params[0]?.name ?? 'self';
    walkTypes(m.body, CLASS_OR_ASSIGNMENT, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type !== 'assignment') return;
      const left = n.childForFieldName('left');
      if (left?.type !== 'attribute') return;
      const holder = left.childForFieldName('object')!;
      // obj.<tag> = self.<method> where obj is one of the agent's own objects (self.<x>), not self itself
      if (holder.type !== 'attribute' || holder.childForFieldName('object')?.text !== selfName) return;
      const tag = left.childForFieldName('attribute')!.text;
      const right = n.childForFieldName('right');
      const method = right?.type === 'attribute' && right.childForFieldName('object')?.text === selfName
        ? right.childForFieldName('attribute')!.text
        : null;
      if (!method || !agent.methods.has(method) || (found.has(tag) && found.get(tag) !== method)) spoiled.add(tag);
      else found.set(tag, method);
    });
  }
  for (const t of spoiled) found.delete(t);
  methodTagsByClass.set(agent.node, (tags = found));
  return tags;
}
