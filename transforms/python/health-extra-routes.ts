// Concern: GET paths a removed health server answered besides /health and /metrics (/ready, /live, /ping,
// /stats, a business listing). When the repository's base serves extra GET routes from a hook of its own
// (the reference BaseAgent's `_extra_routes()`: path -> callable returning (code, content_type, body)),
// each such route's handler code moves into an agent method answering the same status, content type and
// body, and the hook hands it to the base's server. Only code that provably just reads: a route reading the
// request (headers, body, query), writing the agent's state, sending headers the base cannot, or answering
// from a branch stays with health-hook / health-alias-routes, which report it (with the reason given here).
// A base without the hook (the production-like base, an older copy of ours) changes nothing.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { agentReceiver, conditionPaths, isModuleName, routeLookup, routeTableEntries, type PayloadScope } from '../../src/analysis/health-payload.js';
import { CALL_TYPE, callee, selfAttribute, statements, stringValue, walk, walkTypes } from '../../src/lang/python/syntax.js';

const ASSIGNMENTS: ReadonlySet<string> = new Set(['assignment', 'augmented_assignment']);
import { agentAttribute, insertAfterInit, removedHealthRegions, setByInit } from './health-hook.js';
import { parsePython } from '../../src/lang/python/parser.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { payloadScope } from './remove-health.js';

/** Why a route stays a review item, when this transform could not move it. */
type Refusal = { refuse: string };

/** Calls on a member that change it (a list, dict, set, queue or event of the agent). */
const MUTATORS = new Set(['append', 'extend', 'insert', 'pop', 'popleft', 'appendleft', 'remove', 'clear', 'update', 'add', 'discard', 'setdefault', 'put', 'put_nowait', 'set', 'write', 'commit', 'close']);
const BUILTINS = new Set([
  'len', 'sum', 'min', 'max', 'round', 'int', 'float', 'str', 'bool', 'list', 'dict', 'tuple', 'set', 'frozenset', 'sorted', 'reversed',
  'any', 'all', 'abs', 'enumerate', 'zip', 'map', 'filter', 'range', 'isinstance', 'getattr', 'hasattr', 'repr', 'format', 'bytes',
  'True', 'False', 'None', 'Exception', 'ValueError', 'KeyError', 'OSError', 'TypeError', 'open', 'print', 'iter', 'next', 'divmod',
]);
/** Expressions that need parentheses where a parameter stood (`json.dumps(payload)` given `a if b else c` is fine, `x * payload` is not). */
const LOOSE: ReadonlySet<string> = new Set(['binary_operator', 'boolean_operator', 'comparison_operator', 'conditional_expression', 'not_operator', 'unary_operator', 'lambda', 'named_expression', 'await', 'expression_list']);
const HANDLER_BASE = /\b\w*HTTPRequestHandler\b/;

export const healthExtraRoutes: PythonTransform = {
  name: 'health-extra-routes',
  phase: 'edit',
  run(ctx) {
    const hook = ctx.base.extraRoutes;
    if (!hook) return;
    const regions = removedHealthRegions(ctx);
    if (!regions.length) return;
    const served = new Set(ctx.base.httpRoutes?.paths ?? ['/health', '/metrics']);
    const answered = new Map<string, { method: string; line?: number; prefix: boolean }>();
    const refused = new Map<string, string>();
    const methods: string[] = [];
    const taken = new Set<string>();
    for (const region of regions) {
      const scope = region.scope ?? payloadScope(ctx);
      for (const handler of handlerClasses(region.node)) {
        for (const route of routesOf(handler)) {
          const paths = route.paths.map((p) => p.split('?')[0]!.replace(/\/+$/, '') || '/').filter((p) => !served.has(p) && !answered.has(p));
          if (!paths.length) continue;
          const answer = 'refuse' in route ? route : answerOf(ctx, handler, route.program, scope, route.given);
          if ('refuse' in answer) {
            for (const p of paths) refused.set(p, answer.refuse);
            continue;
          }
          const name = methodName(ctx, paths[0]!, taken);
          taken.add(name);
          const program = [...answer.lines, `return ${answer.code}, ${answer.ctype}, ${answer.body}`];
          methods.push(`def ${name}(self):\n${[...notReadyYet(ctx, program), ...program].map((l) => indentLines(l, '    ')).join('\n')}\n`);
          // (a handler of another file, an imported sidecar's: its line is not the agent file's)
          const own = region.node.tree === ctx.module.root.tree;
          for (const p of paths) answered.set(p, { method: name, line: own ? route.line : undefined, prefix: route.prefix });
        }
      }
    }
    ctx.routeRefusals = refused;
    if (!answered.size) return;
    if (ctx.agent.methods.has(hook)) {
      for (const p of answered.keys()) refused.set(p, `the agent already defines ${hook}()`);
      return;
    }
    const table = [...answered].map(([p, a]) => `    ${JSON.stringify(p)}: self.${a.method},`);
    const block = [`def ${hook}(self):\n    routes = super().${hook}()\n    routes.update({\n${table.map((l) => `    ${l}`).join('\n')}\n    })\n    return routes\n`, ...methods].join('\n');
    insertAfterInit(ctx, block, 'health-extra-routes');
    ctx.servedRoutes = new Set(answered.keys());
    const base = ctx.profile.base_class;
    for (const [p, a] of answered) {
      ctx.warnings.push(
        `${ctx.file}${a.line ? `:${a.line}` : ''}: GET ${p}, which the removed health server also answered, is answered on the health port by ${a.method}() through ${hook}() (${base}'s health server serves it): the legacy status, content type and body` +
          (a.prefix ? `; the legacy answered every path starting with ${p}, the base answers ${p} exactly (a query string is ignored)` : ''),
      );
    }
  },
};

/**
 * The base's health server answers from inside super().__init__(), before the agent's own __init__ has set
 * what a route reads; the legacy's server was not listening yet (its port refused the connection). When every
 * attribute of the agent the route reads (itself or through the agent's methods it calls) is set by __init__,
 * a missing one means the agent is still being built: the route answers 503 "starting" then, as the base's
 * /health does, not the 500 of the AttributeError.
 */
function notReadyYet(ctx: PythonTransformContext, program: string[]): string[] {
  const tree = parsePython(`def route(self):\n${program.map((l) => indentLines(l, '    ')).join('\n')}\n`);
  const reads = new Set<string>();
  const seen = new Set<string>();
  const visit = (node: SyntaxNode): void => {
    for (const a of selfMembers(node)) {
      const fn = ctx.agent.methods.get(a);
      if (fn) {
        if (!seen.has(a)) {
          seen.add(a);
          visit(fn.body);
        }
      } else if (agentAttribute(ctx, a) && !ctx.baseOwned.has(a)) reads.add(a);
    }
  };
  visit(tree.rootNode);
  const attrs = [...reads].sort();
  const init = setByInit(ctx);
  if (!attrs.length || !attrs.every((a) => init.has(ctx.renames.get(a) ?? a))) return [];
  const test = attrs.length === 1 ? `hasattr(self, ${JSON.stringify(attrs[0])})` : `all(hasattr(self, a) for a in (${attrs.map((a) => JSON.stringify(a)).join(', ')}))`;
  return [`if not ${test}:`, `    return 503, "application/json", b'{"status": "starting"}'`];
}

/**
 * The GET paths of the handlers in `region`, besides the base's own, that would be answered through the base's
 * route hook (read as the edit phase reads them, nothing written); null when any of them would not (a refused
 * route, a method other than GET, a /metrics of the legacy's own, an agent defining the hook, no hook). Lets a
 * proposal that removes a server answering such paths be made only when none of them would be lost.
 */
export function extraRoutesAnswered(ctx: PythonTransformContext, region: SyntaxNode, scope: PayloadScope): Set<string> | null {
  const hook = ctx.base.extraRoutes;
  if (!hook || ctx.agent.methods.has(hook)) return null;
  const served = new Set(ctx.base.httpRoutes?.paths ?? ['/health', '/metrics']);
  const handlers = handlerClasses(region);
  // Only GET: another method a handler answers (POST /drain) has no place on the base's server.
  if (!handlers.length || handlers.some((h) => (h.childForFieldName('body')?.namedChildren ?? []).some((d) => /^def do_(?!GET\b)/.test(d.text)))) return null;
  const answered = new Set<string>();
  for (const handler of handlers) {
    for (const route of routesOf(handler)) {
      const all = route.paths.map((p) => p.split('?')[0]!.replace(/\/+$/, '') || '/');
      // A path the base answers with its own content (/metrics: its samples, not the legacy's) would change unseen.
      if (all.some((p) => served.has(p) && p !== '/health')) return null;
      const paths = all.filter((p) => !served.has(p));
      if (!paths.length) continue;
      if ('refuse' in route || 'refuse' in answerOf(ctx, handler, route.program, scope, route.given)) return null;
      for (const p of paths) answered.add(p);
    }
  }
  return answered;
}

/** extraRoutesAnswered() found paths to answer and would answer every one. */
export function extraRoutesAnswerAll(ctx: PythonTransformContext, region: SyntaxNode, scope: PayloadScope): boolean {
  return !!extraRoutesAnswered(ctx, region, scope)?.size;
}

interface Route {
  paths: string[];
  line: number;
  /** The legacy matched a path prefix (`self.path.startswith("/printers")`). */
  prefix: boolean;
  /** The statements the handler runs for this path, in order (a clause's, then what follows the routing). */
  program: ProgramStatement[];
  /** Names of do_GET standing for an agent expression in the program (`route`: `self._jobs`, from the agent's table). */
  given?: Map<string, string>;
}

/** A statement of a route's program; `assign` stands before a `return` value moved to its call site (`code, payload = handler()`). */
interface ProgramStatement {
  node: SyntaxNode;
  assign?: string;
}

/** HTTP request handler classes in a removed region (nested in a method, or the region itself). */
function handlerClasses(region: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(region, (n) => {
    // (the region may be the sidecar class holding its handler: searched inside)
    if (n.type !== 'class_definition' || n.id === region.id && !HANDLER_BASE.test(n.childForFieldName('superclasses')?.text ?? '')) return;
    if (HANDLER_BASE.test(n.childForFieldName('superclasses')?.text ?? '')) out.push(n);
    return false;
  });
  return out;
}

function classMethod(cls: SyntaxNode, name: string): SyntaxNode | null {
  for (const st of cls.childForFieldName('body')?.namedChildren ?? []) {
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === name) return def;
  }
  return null;
}

/**
 * The handler's GET routes with their programs: the clauses of do_GET's if/elif chain on the path (each
 * clause's statements, then the statements after the chain when the clause does not return), and the
 * entries of a route table of the handler's methods (`routes = {"/ready": self._ready}`; `routes.get(path)`).
 */
function routesOf(handler: SyntaxNode): Array<Route | (Refusal & { paths: string[]; line: number; prefix: boolean })> {
  const doGet = classMethod(handler, 'do_GET');
  if (!doGet) return [];
  const body = statements(doGet.childForFieldName('body'));
  const out: Array<Route | (Refusal & { paths: string[]; line: number; prefix: boolean })> = [];
  const tables = modulePathTables(handler);
  const chainAt = body.findIndex((s) => s.type === 'if_statement' && (conditionPaths(s.childForFieldName('condition')!).length > 0 || !!tableOfGuard(s.childForFieldName('condition')!, tables)));
  if (chainAt >= 0) {
    const chain = body[chainAt]!;
    const tail = body.slice(chainAt + 1);
    // (what runs before the chain runs for every clause's path too)
    const before = beforeLookup(body.slice(0, chainAt));
    const clauses = [{ cond: chain.childForFieldName('condition')!, block: chain.childForFieldName('consequence')! }];
    for (const alt of chain.childrenForFieldName('alternative')) {
      if (alt.type === 'elif_clause') clauses.push({ cond: alt.childForFieldName('condition')!, block: alt.childForFieldName('consequence')! });
    }
    // A guard turning every other path away (`if self.path not in ("/health", "/healthz"): ...404...; return`):
    // the paths it lets through are answered by what follows it.
    if (clauses.length === 1 && !chain.childrenForFieldName('alternative').length && isRejectGuard(cond0(chain), tables) && endsInReturn(statements(clauses[0]!.block))) {
      const table = tableOfGuard(cond0(chain), tables);
      const paths = table ?? conditionPaths(clauses[0]!.cond);
      const line = clauses[0]!.cond.startPosition.row + 1;
      out.push(before ? { paths, line, prefix: false, ...before } : { paths, line, prefix: false, program: tail.map((node) => ({ node })) });
      clauses.length = 0;
    }
    for (const { cond, block } of clauses) {
      const paths = conditionPaths(cond);
      if (!paths.length) continue;
      const line = cond.startPosition.row + 1;
      const prefix = /\.startswith\s*\(/.test(cond.text);
      // Only a test of the path alone (==, in, startswith; `or` of them): a negated or combined test answers other requests too.
      if (/!=|\bnot\b|\band\b/.test(cond.text)) {
        out.push({ paths, line, prefix, refuse: `its route test (${oneLine(cond.text)}) is not a plain match of the path` });
        continue;
      }
      if (before) {
        out.push({ paths, line, prefix, ...before });
        continue;
      }
      const own = statements(block);
      const program = [...own, ...(endsInReturn(own) ? [] : tail)].map((node) => ({ node }));
      out.push({ paths, line, prefix, program });
    }
  }
  for (const e of routeTableEntries(handler)) {
    const line = e.value.startPosition.row + 1;
    if (e.agentMethod !== undefined) {
      const program = agentTableProgram(doGet, e.value, e.agentMethod);
      out.push('refuse' in program ? { paths: [e.path], line, prefix: false, refuse: program.refuse } : { paths: [e.path], line, prefix: false, ...program });
      continue;
    }
    if (!e.body) {
      out.push({ paths: [e.path], line, prefix: false, refuse: `its route table entry (${oneLine(e.value.text)}) is not a method of the handler` });
      continue;
    }
    const program = tableProgram(doGet, e.value, e.body);
    out.push('refuse' in program ? { paths: [e.path], line, prefix: false, refuse: program.refuse } : { paths: [e.path], line, prefix: false, program });
  }
  return out;
}

function cond0(chain: SyntaxNode): SyntaxNode {
  return chain.childForFieldName('condition')!;
}

/** `path not in ("/a", "/b")`, `path != "/a"`, or an `and` of such: a test every path but those passes. */
function isRejectGuard(cond: SyntaxNode, tables: Map<string, string[]> = new Map()): boolean {
  if (tableOfGuard(cond, tables)) return true;
  if (cond.type === 'parenthesized_expression') return !!cond.namedChildren[0] && isRejectGuard(cond.namedChildren[0]);
  if (cond.type === 'boolean_operator') {
    return cond.childForFieldName('operator')?.text === 'and' && isRejectGuard(cond.childForFieldName('left')!) && isRejectGuard(cond.childForFieldName('right')!);
  }
  if (cond.type !== 'comparison_operator' || cond.namedChildren.length !== 2) return false;
  const op = cond.children.filter((c) => !c.isNamed).map((c) => c.text).join(' ');
  const [left, right] = cond.namedChildren as [SyntaxNode, SyntaxNode];
  if (!/\bpath\b/.test(left.text) || conditionPaths(left).length) return false;
  if (op === '!=') return stringValue(right) !== null;
  return op === 'not in' && /^(tuple|list|set)$/.test(right.type) && right.namedChildren.every((x) => stringValue(x) !== null);
}

/** `path not in PROBE_PATHS` where PROBE_PATHS is a path table of the handler's module: the table's paths. */
function tableOfGuard(cond: SyntaxNode, tables: Map<string, string[]>): string[] | null {
  if (cond.type !== 'comparison_operator' || cond.namedChildren.length !== 2) return null;
  const op = cond.children.filter((c) => !c.isNamed).map((c) => c.text).join(' ');
  const [left, right] = cond.namedChildren as [SyntaxNode, SyntaxNode];
  if (op !== 'not in' || !/\bpath\b/.test(left.text) || conditionPaths(left).length || right.type !== 'identifier') return null;
  return tables.get(right.text) ?? null;
}

/**
 * The module-level path tables of the module holding `node` (`PROBE_PATHS = ("/health", "/ready", "/live")`,
 * a list, set or frozen set of path strings, or a dict keyed by them), bound once: name -> its paths. A sidecar
 * imported from another file of the repository routes through one like a literal of its own.
 */
export function modulePathTables(node: SyntaxNode): Map<string, string[]> {
  let root = node;
  while (root.parent) root = root.parent;
  const bound = new Map<string, number>();
  const out = new Map<string, string[]>();
  // (a table grown elsewhere, `PROBE_PATHS.append("/drain")`, is not the literal's paths: counted as bound again)
  walkTypes(root, CALL_TYPE, (n) => {
    const fn = n.childForFieldName('function');
    const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : null;
    if (obj?.type === 'identifier' && MUTATORS.has(fn!.childForFieldName('attribute')!.text)) bound.set(obj.text, 2);
  });
  walkTypes(root, ASSIGNMENTS, (n) => {
    const left = n.childForFieldName('left');
    if (left?.type === 'identifier') bound.set(left.text, (bound.get(left.text) ?? 0) + 1);
  });
  for (const st of root.namedChildren) {
    const a = st.type === 'expression_statement' ? st.namedChild(0) : null;
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    if (left?.type !== 'identifier' || bound.get(left.text) !== 1) continue;
    let value = a!.childForFieldName('right');
    if (value?.type === 'call' && /^(frozenset|set|tuple)$/.test(value.childForFieldName('function')?.text ?? '')) value = value.childForFieldName('arguments')?.namedChildren[0] ?? null;
    if (!value || !/^(tuple|list|set|dictionary)$/.test(value.type) || !value.namedChildCount) continue;
    const keys = value.namedChildren.map((x) => (value!.type === 'dictionary' ? (x.type === 'pair' ? x.childForFieldName('key') : null) : x));
    const paths = keys.map((k) => (k ? stringValue(k) : null));
    if (paths.every((p): p is string => p !== null && p.startsWith('/'))) out.set(left.text, paths);
  }
  return out;
}

/**
 * A route table entry's program: the method's statements, then do_GET's statements after the call of the
 * looked-up method (`route()`; `code, payload = handler()`, where the method's final `return a, b` is
 * `code, payload = a, b`).
 */
function tableProgram(doGet: SyntaxNode, value: SyntaxNode, fnBody: SyntaxNode): ProgramStatement[] | Refusal {
  const body = statements(doGet.childForFieldName('body'));
  // The statement calling what was looked up (`route = routes.get(path)`): `route()`, or `code, payload = route()`.
  const lookupAt = lookupIndex(body, value);
  const looked = new Set(lookupAt >= 0 ? [body[lookupAt]!.namedChild(0)!.childForFieldName('left')!.text] : []);
  const calls = body.map((s) => /^(?:([\w\s,()]+?)\s*=\s*)?(\w+)\(\)$/.exec(s.text.trim()));
  const at = calls.findIndex((m, i) => i > lookupAt && !!m && looked.has(m[2]!));
  if (at < 0) return { refuse: `do_GET calls the route table's ${oneLine(value.text)} in a way not read here` };
  const before = beforeLookup(body.slice(0, lookupAt));
  if (before) return before;
  const assigned = calls[at]![1];
  const own = statements(fnBody);
  const last = own.at(-1);
  const program: ProgramStatement[] = [];
  if (assigned) {
    if (last?.type !== 'return_statement' || !last.namedChildren.length) return { refuse: `${oneLine(value.text)} does not end in the return its caller assigns` };
    if (own.slice(0, -1).some((s) => hasReturn(s))) return { refuse: `${oneLine(value.text)} returns from more than one place` };
    program.push(...own.slice(0, -1).map((node) => ({ node })), { node: last.namedChildren[0]!, assign: assigned.trim() });
  } else {
    program.push(...own.map((node) => ({ node })));
  }
  program.push(...body.slice(at + 1).map((node) => ({ node })));
  return program;
}

/**
 * The program of an entry of a table the agent holds (`route = agent._routes.get(path)`, `self._reply(200, route())`):
 * do_GET's statements from the first one using what was looked up, `route` standing for the agent's method. Only when
 * what stands between the lookup and that use is the guard answering a missing path (`if route is None: ...; return`),
 * and the method takes no argument but self (the base's hook calls it with nothing of the request).
 */
function agentTableProgram(doGet: SyntaxNode, value: SyntaxNode, method: SyntaxNode | null): { program: ProgramStatement[]; given: Map<string, string> } | Refusal {
  if (!method) return { refuse: `its route table entry (${oneLine(value.text)}) is not a method of the agent` };
  if ((method.childForFieldName('parameters')?.namedChildren.length ?? 0) !== 1) return { refuse: `${oneLine(value.text)} takes more than self` };
  const body = statements(doGet.childForFieldName('body'));
  const at = lookupIndex(body, value);
  const name = at >= 0 ? body[at]!.namedChild(0)!.childForFieldName('left')!.text : null;
  if (!name) return { refuse: `do_GET looks up the agent's route table in a way not read here` };
  const before = beforeLookup(body.slice(0, at));
  if (before) return before;
  const uses = new RegExp(`\\b${name}\\b`);
  let i = at + 1;
  // The guard for a path the table lacks: it returns, so the statements after it run only for a table entry.
  const guard = new RegExp(`^if\\s+(not\\s+${name}|${name}\\s+is\\s+None)\\s*:`);
  while (i < body.length && guard.test(body[i]!.text) && !body[i]!.childrenForFieldName('alternative').length && endsInReturn(statements(body[i]!.childForFieldName('consequence')))) i++;
  if (i >= body.length || !uses.test(body[i]!.text)) return { refuse: `do_GET runs code between the route table's lookup and its call (line ${body[Math.min(i, body.length - 1)]!.startPosition.row + 1})` };
  return { program: body.slice(i).map((node) => ({ node })), given: new Map([[name, value.text]]) };
}

/**
 * The index of do_GET's statement binding what the route table holding `value` gives for the request's path
 * (`route = routes.get(path)`, `handler = self.ROUTES[path]`), as routeLookup() resolves it: not any `x = y.get(...)`
 * (`fmt = self.headers.get("Accept")` before it is no lookup). -1 when none.
 */
function lookupIndex(body: SyntaxNode[], value: SyntaxNode): number {
  const dict = value.parent?.parent;
  return body.findIndex((s) => {
    const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
    const right = a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier' ? a.childForFieldName('right') : null;
    return !!right && !!dict && routeLookup(right)?.id === dict.id;
  });
}

/**
 * A route's program starts at its clause or at the table's lookup: what do_GET runs before that runs for the
 * route too (an auth guard answering 403, a counter, a log line). Only bindings of locals that do nothing else
 * (`path = self.path.split("?")[0]`, `agent = self.server.agent`, the table's dict) and clauses matching other
 * paths that end in return (`if path == "/health": ...; return`) may stand there; anything else refuses the
 * route, naming the statement.
 */
function beforeLookup(stmts: SyntaxNode[]): Refusal | null {
  for (const s of stmts) {
    if (s.type === 'comment' || s.type === 'pass_statement') continue;
    if (s.type === 'expression_statement' && s.namedChild(0)?.type === 'string') continue;
    if (isPureBinding(s)) continue;
    if (s.type === 'if_statement' && plainPathClauses(s)) continue;
    return { refuse: `do_GET runs ${oneLine(s.text)} (line ${s.startPosition.row + 1}) before it routes this path: not moved with the route` };
  }
  return null;
}

/** Calls that only compute a value (a path's parts, a header's or dict's entry): binding what they give changes nothing. */
const PURE_CALL = /\.(split|rsplit|partition|rpartition|strip|rstrip|lstrip|lower|upper|get|removeprefix|removesuffix)$|^((urllib\.parse\.)?(urlparse|urlsplit|parse_qs|parse_qsl|unquote)|str|int|len)$/;

/** `path = self.path.split("?", 1)[0]`, `agent = self.server.agent`, `routes = {...}`: locals bound by what does nothing else. */
function isPureBinding(s: SyntaxNode): boolean {
  const a = s.type === 'expression_statement' ? s.namedChild(0) : null;
  const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
  const right = a?.childForFieldName('right');
  if (!left || !right || !/^(identifier|pattern_list|tuple_pattern)$/.test(left.type)) return false;
  if (left.type !== 'identifier' && left.namedChildren.some((c) => c.type !== 'identifier')) return false;
  let pure = true;
  walk(right, (x) => {
    if (x.type === 'lambda' || x.type === 'await' || x.type === 'yield' || x.type === 'named_expression') pure = false;
    if (x.type === 'call' && !PURE_CALL.test(callee(x) ?? '')) pure = false;
  });
  return pure;
}

/** An if/elif chain each clause of which is a plain match of the path (==, in, startswith; no else) and ends in return. */
function plainPathClauses(s: SyntaxNode): boolean {
  const alts = s.childrenForFieldName('alternative');
  if (alts.some((a) => a.type !== 'elif_clause')) return false;
  return [s, ...alts].every((c) => {
    const cond = c.childForFieldName('condition')!;
    return conditionPaths(cond).length > 0 && !/!=|\bnot\b|\band\b/.test(cond.text) && endsInReturn(statements(c.childForFieldName('consequence')));
  });
}

function hasReturn(n: SyntaxNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (x.type === 'function_definition' || x.type === 'lambda') return false;
    if (x.type === 'return_statement') found = true;
  });
  return found;
}

function endsInReturn(stmts: SyntaxNode[]): boolean {
  return stmts.at(-1)?.type === 'return_statement';
}

function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 70 ? `${t.slice(0, 67)}...` : t;
}

interface Answer {
  /** The route method's statements (4-space logical indentation, relative). */
  lines: string[];
  code: string;
  /** The Content-Type expression, or `None` (the legacy sent none). */
  ctype: string;
  body: string;
}

/**
 * What a route's program answers, read by following it: `send_response(c)` is the status, a
 * `send_header("Content-Type", t)` the content type, `wfile.write(b)` the body, a call of one of the
 * handler's own methods (`self._reply(200, payload)`) is followed with its parameters standing for the
 * arguments, and every other statement is kept, read in the agent's scope (`agent.x` is `self.x`).
 */
function answerOf(ctx: PythonTransformContext, handler: SyntaxNode, program: ProgramStatement[], scope: PayloadScope, given: Map<string, string> = new Map()): Answer | Refusal {
  const state: { code?: string; ctype?: string; body?: string; lines: string[]; done: boolean } = { lines: [], done: false };
  const locals = new Set<string>();
  for (const s of program) bound(s.node, locals);
  if (program.some((s) => s.assign)) for (const s of program) if (s.assign) for (const m of s.assign.matchAll(/\w+/g)) locals.add(m[0]);
  const r = follow(ctx, handler, program, new Map(given), locals, scope, state, 0);
  if (r) return r;
  if (state.code === undefined) return { refuse: 'no status it answers was read (no send_response)' };
  return { lines: state.lines, code: state.code, ctype: state.ctype ?? 'None', body: state.body ?? 'b""' };
}

function follow(
  ctx: PythonTransformContext,
  handler: SyntaxNode,
  program: ProgramStatement[],
  params: Map<string, string>,
  locals: Set<string>,
  scope: PayloadScope,
  state: { code?: string; ctype?: string; body?: string; lines: string[]; done: boolean },
  depth: number,
): Refusal | null {
  for (const { node, assign } of program) {
    if (state.done) return null;
    if (node.type === 'comment' || node.type === 'pass_statement') continue;
    if (node.type === 'return_statement') {
      if (node.namedChildren.length) return { refuse: `it returns a value from do_GET's code (${oneLine(node.text)})` };
      state.done = true;
      return null;
    }
    const call = node.type === 'expression_statement' && node.namedChild(0)?.type === 'call' ? node.namedChild(0)! : null;
    const fn = call?.childForFieldName('function');
    const me = handlerSelf(node);
    const args = call?.childForFieldName('arguments')?.namedChildren ?? [];
    if (call && fn?.type === 'attribute' && me && fn.childForFieldName('object')?.text === me) {
      const name = fn.childForFieldName('attribute')!.text;
      if (state.body !== undefined) return { refuse: `it goes on after writing its body (${oneLine(node.text)})` };
      if (args.some((a) => a.type === 'keyword_argument' || a.type === 'list_splat' || a.type === 'dictionary_splat')) return { refuse: `it calls self.${name}() with arguments not read here` };
      if (name === 'send_response') {
        if (args.length !== 1) return { refuse: 'it sends a status message of its own' };
        const c = rewrite(ctx, args[0]!, params, locals, scope);
        if ('refuse' in c) return c;
        state.code = c.text;
        continue;
      }
      if (name === 'send_header') {
        const key = args[0] ? stringValue(args[0])?.toLowerCase() : undefined;
        if (key === 'content-length') continue; // the base's server computes it from the same body
        if (key !== 'content-type' || args.length !== 2) return { refuse: `it sends a header the base's server cannot (${oneLine(node.text)})` };
        const t = rewrite(ctx, args[1]!, params, locals, scope);
        if ('refuse' in t) return t;
        state.ctype = t.text;
        continue;
      }
      if (name === 'end_headers') continue;
      if (name === 'send_error') return { refuse: `it answers through send_error() (${oneLine(node.text)})` };
      const helper = classMethod(handler, name);
      if (!helper || depth > 2) return { refuse: `it calls self.${name}(), which is not read here` };
      const ps = (helper.childForFieldName('parameters')?.namedChildren ?? []).slice(1);
      if (ps.some((p) => p.type !== 'identifier') || ps.length !== args.length) return { refuse: `it calls self.${name}() with arguments not read here` };
      const inner = new Map(params);
      for (let i = 0; i < ps.length; i++) {
        const a = rewrite(ctx, args[i]!, params, locals, scope);
        if ('refuse' in a) return a;
        inner.set(ps[i]!.text, LOOSE.has(args[i]!.type) ? `(${a.text})` : a.text);
      }
      const helperLocals = new Set(locals);
      bound(helper.childForFieldName('body')!, helperLocals);
      for (const p of ps) helperLocals.delete(p.text);
      // A helper's local of the name a caller's argument reads would read the helper's value instead.
      for (const v of inner.values()) for (const m of v.matchAll(/\b[A-Za-z_]\w*\b/g)) if (helperLocals.has(m[0]) && !locals.has(m[0])) return { refuse: `self.${name}() rebinds ${m[0]}, which its argument reads` };
      const sub = { ...state, done: false };
      const r = follow(ctx, handler, statements(helper.childForFieldName('body')).map((n) => ({ node: n })), inner, helperLocals, scope, sub, depth + 1);
      if (r) return r;
      Object.assign(state, { code: sub.code, ctype: sub.ctype, body: sub.body, lines: sub.lines });
      continue;
    }
    if (call && fn?.type === 'attribute' && me && fn.childForFieldName('object')?.text === `${me}.wfile` && fn.childForFieldName('attribute')?.text === 'write') {
      if (state.body !== undefined || args.length !== 1) return { refuse: 'it writes its body in more than one piece' };
      const b = rewrite(ctx, args[0]!, params, locals, scope);
      if ('refuse' in b) return b;
      state.body = b.text;
      continue;
    }
    if (state.body !== undefined) return { refuse: `it goes on after writing its body (${oneLine(node.text)})` };
    if (containsEmission(node, me)) return { refuse: `it answers from inside a ${node.type.replace(/_statement$/, '')} block` };
    const t = rewrite(ctx, node, params, locals, scope);
    if ('refuse' in t) return t;
    const w = writesState(ctx, node, scope);
    if (w) return { refuse: w };
    state.lines.push(assign ? `${assign} = ${t.text}` : t.text);
  }
  return null;
}

/** The request handler's own name for itself in the method enclosing `n` (its first parameter). */
function handlerSelf(n: SyntaxNode): string | null {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return p.childForFieldName('parameters')?.namedChild(0)?.text ?? null;
  }
  return null;
}

function containsEmission(n: SyntaxNode, me: string | null): boolean {
  if (!me) return false;
  return new RegExp(`\\b${me}\\.(send_response|send_header|end_headers|send_error|wfile)\\b`).test(n.text);
}

/** Names a statement binds (assignment targets, with-as, for targets), not those of nested scopes. */
function bound(n: SyntaxNode, out: Set<string>): void {
  const targets = (t: SyntaxNode | null) => {
    if (t) walk(t, (x) => {
      if (x.type === 'attribute' || x.type === 'subscript') return false;
      if (x.type === 'identifier') out.add(x.text);
    });
  };
  walk(n, (x) => {
    if (x.type === 'function_definition' || x.type === 'class_definition' || x.type === 'lambda') return false;
    if (x.type === 'assignment' || x.type === 'augmented_assignment' || x.type === 'for_statement' || x.type === 'for_in_clause') targets(x.childForFieldName('left'));
    if (x.type === 'as_pattern') targets(x.childForFieldName('alias'));
    if (x.type === 'named_expression') targets(x.childForFieldName('name'));
  });
}

/**
 * A node's text read in the agent's scope: receivers standing for the agent become `self`, a followed
 * helper's parameters the caller's arguments. Anything else of the handler (its own self: the request,
 * headers, body; a name of its closure) refuses, with what it read.
 */
function rewrite(ctx: PythonTransformContext, node: SyntaxNode, params: Map<string, string>, locals: Set<string>, scope: PayloadScope): { text: string } | Refusal {
  const edits: Array<[number, number, string]> = [];
  let refusal: string | null = null;
  const me = handlerSelf(node);
  walk(node, (n) => {
    if (refusal) return false;
    if (n.type === 'string' && n.text.includes('\n') && n.startPosition.row !== n.endPosition.row) {
      refusal = 'it holds a string over several lines (kept byte for byte only where it stands)';
      return false;
    }
    if (n.type === 'lambda' || n.type === 'function_definition' || n.type === 'class_definition') {
      refusal = `it defines a ${n.type.replace(/_definition$/, '')} of its own`;
      return false;
    }
    if (n.type === 'attribute') {
      const obj = n.childForFieldName('object')!;
      const recv = agentReceiver(obj, scope);
      if (recv) {
        edits.push([recv.startIndex, recv.endIndex, 'self']);
        return false;
      }
      if (obj.type === 'identifier' && obj.text === me) {
        const attr = n.childForFieldName('attribute')!.text;
        refusal = /^(rfile|headers|command|request_version|client_address|connection|request)$/.test(attr)
          ? `it reads the request (${me}.${attr})`
          : /^(path|requestline|raw_requestline)$/.test(attr)
            ? `it reads the request path (${me}.${attr}: a query or a sub-path the base's lookup does not hand it)`
            : `it uses the handler's own ${me}.${attr}`;
        return false;
      }
      return;
    }
    if (n.type !== 'identifier') return;
    const p = n.parent;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === n.id) return;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === n.id) return;
    if (params.has(n.text)) {
      edits.push([n.startIndex, n.endIndex, params.get(n.text)!]);
      return;
    }
    if (agentReceiver(n, scope)) {
      edits.push([n.startIndex, n.endIndex, 'self']);
      return;
    }
    // A name of the helper's scope standing for what the agent's call gave it (`status_fn`: `self.stats.snapshot`).
    const given = locals.has(n.text) ? undefined : scope.params?.get(n.text);
    if (given) {
      edits.push([n.startIndex, n.endIndex, /^(identifier|attribute|call)$/.test(given.type) ? given.text : `(${given.text})`]);
      return;
    }
    if (n.text === me) {
      refusal = `it hands the request handler itself on (${oneLine(p?.text ?? n.text)})`;
      return;
    }
    if (locals.has(n.text) || BUILTINS.has(n.text) || isModuleName(n)) return;
    refusal = `it reads ${n.text}, a name of the removed handler's scope`;
  });
  if (refusal) return { refuse: refusal };
  let text = node.text;
  for (const [s, e, r] of edits.sort((a, b) => b[0] - a[0])) text = text.slice(0, s - node.startIndex) + r + text.slice(e - node.startIndex);
  return { text: dedent(text, node.startPosition.column, ctx.layout.unit) };
}

/**
 * Does the statement change the agent's state: assign or delete one of its members (or an item of
 * one), call a mutating method on one (`agent.queue.append`), or call an agent method that assigns
 * `self.<x>`? Then it is business work done on a request, not an answer: the route stays for review.
 */
function writesState(ctx: PythonTransformContext, node: SyntaxNode, scope: PayloadScope): string | null {
  let why: string | null = null;
  const rooted = (t: SyntaxNode): boolean => {
    let x: SyntaxNode | null = t;
    while (x && (x.type === 'attribute' || x.type === 'subscript')) {
      const obj: SyntaxNode = x.childForFieldName(x.type === 'attribute' ? 'object' : 'value')!;
      if (agentReceiver(obj, scope)) return true;
      x = obj;
    }
    return false;
  };
  walk(node, (n) => {
    if (why) return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      const left = n.childForFieldName('left')!;
      walk(left, (t) => {
        if (!why && (t.type === 'attribute' || t.type === 'subscript') && rooted(t)) why = `it writes the agent's state (${oneLine(n.text)})`;
        return t.type !== 'attribute' && t.type !== 'subscript';
      });
    }
    if (n.type === 'delete_statement' && /\w/.test(n.text)) {
      walk(n, (t) => {
        if (!why && (t.type === 'attribute' || t.type === 'subscript') && rooted(t)) why = `it writes the agent's state (${oneLine(n.text)})`;
      });
    }
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      if (f?.type !== 'attribute') return;
      const name = f.childForFieldName('attribute')!.text;
      const obj = f.childForFieldName('object')!;
      if (agentReceiver(obj, scope)) {
        const sets = assignedSelfAttribute(ctx, name, new Set());
        if (sets) why = `it calls ${name}(), which sets self.${sets} (business work done on a request)`;
      } else if (MUTATORS.has(name) && rooted(f)) {
        why = `it changes the agent's state (${oneLine(n.text)})`;
      }
    }
    // The agent itself handed to a function (`render(agent)`): what that function does with it is not read here.
    if (n.type === 'argument_list') {
      for (const a of n.namedChildren) {
        const v = a.type === 'keyword_argument' ? a.childForFieldName('value') : a;
        if (v?.type === 'identifier' && agentReceiver(v, scope)) why = `it hands the agent to ${oneLine(n.parent?.childForFieldName('function')?.text ?? 'a call')}()`;
      }
    }
  });
  return why;
}

/** An attribute the agent's method `name` assigns on self, itself or through the agent methods it calls (`self.sweep()`): null when none. */
function assignedSelfAttribute(ctx: PythonTransformContext, name: string, seen: Set<string>): string | null {
  const m = ctx.agent.methods.get(name);
  if (!m || seen.has(name)) return null;
  seen.add(name);
  let found: string | null = null;
  walk(m.body, (n) => {
    if (found) return false;
    if (n.type === 'function_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      walk(n.childForFieldName('left')!, (t) => {
        const a = selfAttribute(t);
        if (!found && a) found = a;
      });
    }
    if (n.type === 'call') {
      const f = n.childForFieldName('function');
      const called = f?.type === 'attribute' && f.childForFieldName('object')?.text === 'self' ? f.childForFieldName('attribute')!.text : null;
      if (called) found ??= assignedSelfAttribute(ctx, called, seen);
    }
  });
  return found;
}

/** Lines after the first re-indented from the statement's column, the file's indentation unit read as 4 spaces (renderBlock's logical indentation). */
function dedent(text: string, column: number, unit: string): string {
  const [first, ...rest] = text.split(/\r?\n/);
  return [
    first!,
    ...rest.map((l) => {
      const lead = /^[ \t]*/.exec(l)![0];
      const rel = lead.length >= column ? lead.slice(column) : '';
      let depth = 0;
      let i = 0;
      while (unit && rel.startsWith(unit, i)) {
        depth++;
        i += unit.length;
      }
      return ' '.repeat(depth * 4) + rel.slice(i) + l.slice(lead.length);
    }),
  ].join('\n');
}

function indentLines(text: string, pad: string): string {
  return text.split('\n').map((l) => (l.trim() ? pad + l : l)).join('\n');
}

/** `_answer_ready` for /ready, `_answer_api_v1_jobs` for /api/v1/jobs: a name nothing of the agent or its base uses. */
function methodName(ctx: PythonTransformContext, path: string, taken: Set<string>): string {
  const slug = path.replace(/^\/+/, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase() || 'root';
  let name = `_answer_${/^\d/.test(slug) ? `_${slug}` : slug}`;
  const used = (n: string) => taken.has(n) || ctx.agent.methods.has(n) || ctx.agent.attributes.has(n) || ctx.baseOwned.has(n) || ctx.refs.of(n).length > 0;
  while (used(name)) name = `_${name}`;
  return name;
}
