// Concern: what a removed ad-hoc health server answered on GET /metrics. Legacy agents often serve
// their own Prometheus samples (counters they keep: jobs done, files swept) on the same HTTP server as
// /health. Once that server goes, the base's server answers /metrics with the base's own text, so the
// agent's samples would silently vanish from every scrape. When the base serves /metrics from a method
// of its own (`_metrics_text` on the reference BaseAgent, learned from its source), an override built
// on it appends the text the legacy branch served, read in the agent's scope; when it cannot be carried
// (no such base method, an expression of the handler's own, an override already there) a person is told.
import { firstSyntaxError, parsePython, type SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep, withRenames } from '../../src/lang/python/transform-context.js';
import { conditionPaths, translate, underLocks, type PayloadScope } from '../../src/analysis/health-payload.js';
import { CLASS_DEFINITION_TYPE, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';

// The types the typed walks below act on (see walkTypes): every other position is passed over.
const BRANCHES: ReadonlySet<string> = new Set(['if_statement', 'elif_clause']);
import { selfMembers } from '../../src/analysis/infra.js';
import { agentAttribute, guarded, insertAfterInit, removedHealthRegions } from './health-hook.js';
import { payloadScope } from './remove-health.js';

interface MetricsRoute {
  /** The handler class answering it. */
  handler: string;
  line: number;
  /** The served text, in the agent's scope; null when it cannot be expressed there. */
  text: string | null;
  members: Set<string>;
  /** The lines nested in the `with <lock>:` statements the branch read its text under (in the agent's scope). */
  under: (lines: string[]) => string[];
}

export const metricsHookTransform: PythonTransform = {
  name: 'metrics-hook',
  phase: 'edit',
  run(ctx) {
    const regions = removedHealthRegions(ctx);
    if (!regions.length) return;
    const scope = payloadScope(ctx);
    const routes: MetricsRoute[] = [];
    for (const r of regions) routes.push(...metricsRoutes(r.node, r.scope ?? scope));
    if (!routes.length) return;
    const hook = ctx.base.metricsHook ?? null;
    const base = ctx.profile.base_class;
    const where = routes.map((r) => `${r.handler} (line ${r.line})`).join(', ');
    if (!hook) {
      for (const r of routes) {
        keep(ctx, r.handler, r.line,
          `the removed health server also answered GET /metrics with the agent's own samples, and ${base} serves no /metrics; ` +
            `serve them on a port of the agent's own (or report them through the base's metrics API)`);
      }
      return;
    }
    const untranslatable = routes.filter((r) => r.text === null);
    for (const r of untranslatable) {
      keep(ctx, r.handler, r.line,
        `the removed health server also answered GET /metrics with samples that cannot be read in the agent's scope; ` +
          `append them to ${base}.${hook}() by hand, or ${base}'s /metrics goes without them`);
    }
    if (untranslatable.length) return;
    const own = ctx.agent.methods.get(hook);
    if (own) {
      keep(ctx, hook, own.line,
        `the agent already defines ${hook}(); the removed health server's GET /metrics samples (${where}) must be appended to it by hand`);
      return;
    }
    // The lines first: a lock the text was read under is a member the guard checks too.
    const lines: string[] = [];
    for (const r of routes) {
      lines.push(...r.under([...assignment('extra', withRenames(ctx, r.text!)), 'text += extra if extra.endswith("\\n") else extra + "\\n"']));
    }
    const members = new Set<string>();
    for (const r of routes) {
      for (const m of r.members) {
        // A method producing the text (`agent.metrics_text()`) reads the agent's attributes itself.
        const read = ctx.agent.methods.has(m) ? [...selfMembers(ctx.agent.methods.get(m)!.body)] : [m];
        for (const a of read) if (agentAttribute(ctx, a) && (!ctx.baseOwned.has(a) || ctx.renames.has(a))) members.add(ctx.renames.get(a) ?? a);
      }
    }
    insertOverride(ctx, hook, guarded(lines, [...members].sort()));
    ctx.warnings.push(
      `GET /metrics: the samples the removed health server served there (${where}) are appended to ${base}'s own by a ${hook}() override built on super(), ` +
        `so scrapes of the base's /metrics still carry them`,
    );
  },
};

/**
 * `name = <expr>` as lines a person reads: a text written as adjacent string literals (one sample per
 * literal, as the legacy handler had them), alone or %-formatted, gets one literal per line inside
 * parentheses; the expression is the same (the same bytes are served). Anything else stays one line.
 */
function assignment(name: string, expr: string): string[] {
  const one = [`${name} = ${expr}`];
  const tree = parsePython(`${name} = ${expr}\n`);
  if (firstSyntaxError(tree)) return one;
  const stmt = tree.rootNode.namedChildren;
  let right = stmt.length === 1 ? stmt[0]!.namedChild(0)?.childForFieldName('right') : null;
  // `(\n "a"\n "b"\n)` as the legacy wrote it, joined on one line by the translation: its literals.
  while (right?.type === 'parenthesized_expression' && right.namedChildren.length === 1) right = right.namedChild(0);
  if (!right) return one;
  const pieces = (n: SyntaxNode | null | undefined): string[] | null =>
    n?.type === 'concatenated_string' && n.namedChildren.length > 1 && n.namedChildren.every((c) => c.type === 'string') ? n.namedChildren.map((c) => c.text) : null;
  const alone = pieces(right);
  if (alone) return [`${name} = (`, ...alone.map((p) => `    ${p}`), ')'];
  // `"\n".join([...samples]) + "\n"`: one sample per line, as the legacy listed them.
  const joined = right.type === 'binary_operator' && right.childForFieldName('operator')?.text === '+' ? right.childForFieldName('left') : right;
  if (joined?.type === 'call' && /^(["']).*\1\.join$/.test(joined.childForFieldName('function')?.text ?? '')) {
    let list = joined.childForFieldName('arguments')?.namedChildren.length === 1 ? joined.childForFieldName('arguments')!.namedChild(0) : null;
    while (list?.type === 'parenthesized_expression' && list.namedChildren.length === 1) list = list.namedChild(0);
    if (list?.type === 'list' && list.namedChildren.length > 1) {
      const tail = right.id === joined.id ? '' : ` + ${right.childForFieldName('right')!.text}`;
      return [`${name} = ${joined.childForFieldName('function')!.text}([`, ...list.namedChildren.map((c) => `    ${c.text},`), `])${tail}`];
    }
  }
  if (right.type === 'binary_operator' && right.childForFieldName('operator')?.text === '%') {
    const left = pieces(right.childForFieldName('left'));
    const args = right.childForFieldName('right');
    if (left && args) return [`${name} = (`, ...left.map((p) => `    ${p}`), `    % ${args.text}`, ')'];
  }
  return one;
}

/**
 * The /metrics branches of the HTTP handler classes in a removed region, with what each served; or, the
 * region being an agent method that answers HTTP by hand (an asyncio listener's `handle_http(reader,
 * writer)`), that method's own /metrics branches.
 */
function metricsRoutes(region: SyntaxNode, scope: PayloadScope): MetricsRoute[] {
  const out: MetricsRoute[] = [];
  const branches = (root: SyntaxNode, handler: string, served: (body: SyntaxNode) => SyntaxNode | null) => {
    walkTypes(root, BRANCHES, (n) => {
      const cond = n.childForFieldName('condition');
      if (!cond || !/\bpath\b/.test(cond.text) || /!=|\bnot\b/.test(cond.text)) return;
      if (!conditionPaths(cond).includes('/metrics')) return;
      const body = n.childForFieldName('consequence')!;
      const text = served(body);
      const t = text ? translate(text, scope) : null;
      const members = t?.members ?? new Set<string>();
      // Read under the locks its text was read under, or those of a local it reads (`lines = [...]` built
      // inside `with agent.lock:`, sent after the block).
      const anchor = text ? lockedLocal(text, body) ?? text : null;
      const under = (lines: string[]) => (anchor ? underLocks(anchor, body, lines, members, scope) : lines);
      out.push({ handler, line: n.startPosition.row + 1, text: t?.text ?? null, members, under });
    });
  };
  const method = region.type === 'decorated_definition' ? region.childForFieldName('definition') : region;
  let nested = false;
  if (method) walkTypes(method, CLASS_DEFINITION_TYPE, () => {
    nested = true;
  });
  if (method?.type === 'function_definition' && method.parent?.parent?.id === scope.agent.node.id && !nested) {
    branches(method, method.childForFieldName('name')!.text, (body) => servedText(body) ?? streamServedText(body));
    return out;
  }
  walk(region, (cls) => {
    if (cls.type !== 'class_definition' || !/HTTPRequestHandler/.test(cls.childForFieldName('superclasses')?.text ?? '')) return;
    branches(cls, cls.childForFieldName('name')!.text, servedText);
    return false;
  });
  return out;
}

/**
 * What an agent method's /metrics branch served to the stream it answers on: the branch's one
 * `<name> = <text>.encode(...)`, whose name the method then writes (`writer.write(head + body)`).
 */
function streamServedText(body: SyntaxNode): SyntaxNode | null {
  const encoded = statements(body)
    .map((s) => (s.type === 'expression_statement' ? s.namedChild(0) : null))
    .filter((a): a is SyntaxNode => a?.type === 'assignment' && a.childForFieldName('left')?.type === 'identifier' && !!encodedText(a.childForFieldName('right')!));
  if (encoded.length !== 1) return null;
  const name = encoded[0]!.childForFieldName('left')!.text;
  let fn: SyntaxNode | null = body.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  let written = false;
  if (fn) walk(fn, (c) => {
    if (c.type !== 'call' || !/\.(write|sendall|send)$/.test(c.childForFieldName('function')?.text ?? '')) return;
    walk(c.childForFieldName('arguments')!, (x) => {
      if (x.type === 'identifier' && x.text === name) written = true;
    });
  });
  const text = written ? encodedText(encoded[0]!.childForFieldName('right')!) : null;
  let multiline = false;
  if (text) walk(text, (n) => {
    if (n.type === 'string' && n.text.includes('\n')) multiline = true;
  });
  return text && !multiline ? text : null;
}

/**
 * The agent members an agent method's /metrics branches read, when the metrics hook carries them to the
 * base's /metrics (the base serves one from a method of its own, the agent does not override it, and
 * every branch's text reads in the agent's scope); null otherwise. Reading them is then not business
 * that keeps the method.
 */
export function carriedMetricsMembers(ctx: PythonTransformContext, method: SyntaxNode): Set<string> | null {
  const hook = ctx.base.metricsHook;
  if (!hook || ctx.agent.methods.has(hook)) return null;
  const routes = metricsRoutes(method, payloadScope(ctx));
  if (!routes.length || routes.some((r) => r.text === null)) return null;
  return new Set(routes.flatMap((r) => [...r.members]));
}

/**
 * The text a /metrics branch sends: `body = <text>.encode(...)` (the one assignment of the bytes the branch
 * writes) or `self.wfile.write(<text>.encode(...))`. Null for anything else (several writes, bytes built
 * another way, a multi-line string literal whose newlines are the samples' separators).
 */
function servedText(body: SyntaxNode): SyntaxNode | null {
  // The branch writes itself, or (`body = ...` in each branch, one write after the if/elif chain) the
  // handler method writes what the branch assigned.
  let writes = wfileWrites(body);
  if (!writes.length) {
    let fn: SyntaxNode | null = body.parent;
    while (fn && fn.type !== 'function_definition') fn = fn.parent;
    writes = fn ? wfileWrites(fn) : [];
  }
  if (!writes.length) {
    // `self._send(200, "text/plain", text)`: a method of the handler class that encodes one of its
    // parameters and writes it; the branch's argument there is the text.
    const sent = helperArgument(body);
    if (sent) {
      const given = sent.arg.type === 'identifier' ? branchValue(body, sent.arg.text) : sent.arg;
      return singleLine(sent.bytes && given ? encodedText(given) : given);
    }
  }
  if (writes.length !== 1) return null;
  const arg = writes[0]!.childForFieldName('arguments')?.namedChildren[0];
  if (!arg) return null;
  let bytes: SyntaxNode | null = arg;
  if (arg.type === 'identifier') bytes = branchValue(body, arg.text);
  return singleLine(bytes ? encodedText(bytes) : null);
}

/** The value of a local the text reads that the branch assigns inside a `with` block of its own, else null. */
function lockedLocal(text: SyntaxNode, body: SyntaxNode): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(text, (n) => {
    if (found || n.type !== 'identifier' || n.parent?.type === 'attribute') return;
    const value = branchValue(body, n.text);
    for (let p = value?.parent ?? null; p && p.id !== body.id; p = p.parent) {
      if (p.type === 'with_statement') {
        found = value;
        break;
      }
    }
  });
  return found;
}

/** The one value the branch (and the `with` blocks it holds) assigns to `name`, else null. */
function branchValue(body: SyntaxNode, name: string): SyntaxNode | null {
  const stmts: SyntaxNode[] = [];
  const collect = (block: SyntaxNode | null) => {
    for (const s of statements(block)) {
      if (s.type === 'with_statement') collect(s.childForFieldName('body'));
      else stmts.push(s);
    }
  };
  collect(body);
  const assigns = stmts
    .map((s) => (s.type === 'expression_statement' ? s.namedChild(0) : null))
    .filter((a): a is SyntaxNode => a?.type === 'assignment' && a.childForFieldName('left')?.text === name);
  return assigns.length === 1 ? assigns[0]!.childForFieldName('right') : null;
}

/** The text, unless a string of it spans lines (its newlines are the samples' separators). */
function singleLine(text: SyntaxNode | null): SyntaxNode | null {
  if (!text) return null;
  let multiline = false;
  walk(text, (n) => {
    if (n.type === 'string' && n.text.includes('\n')) multiline = true;
  });
  return multiline ? null : text;
}

/**
 * The argument the branch passes to the one `self.<m>(...)` call it makes to a method of its handler class
 * whose one wfile write sends a parameter encoded (`self.wfile.write(text.encode())`, or `data =
 * text.encode()` then `self.wfile.write(data)`): that argument is what the branch served. A helper that
 * writes the parameter as it is (`def _reply(self, code, ctype, body): ... self.wfile.write(body)`) was
 * given bytes the branch encoded (`bytes`: the served text is what the argument encodes). Else null.
 */
function helperArgument(body: SyntaxNode): { arg: SyntaxNode; bytes: boolean } | null {
  let cls: SyntaxNode | null = body.parent;
  while (cls && cls.type !== 'class_definition') cls = cls.parent;
  if (!cls) return null;
  const methods = new Map<string, SyntaxNode>();
  for (const st of statements(cls.childForFieldName('body'))) {
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (def?.type === 'function_definition') methods.set(def.childForFieldName('name')!.text, def);
  }
  const calls: Array<{ call: SyntaxNode; def: SyntaxNode }> = [];
  walk(body, (n) => {
    const m = n.type === 'call' ? /^self\.(\w+)$/.exec(n.childForFieldName('function')?.text ?? '') : null;
    const def = m ? methods.get(m[1]!) : undefined;
    if (def) calls.push({ call: n, def });
  });
  if (calls.length !== 1) return null;
  const { call, def } = calls[0]!;
  const writes = wfileWrites(def);
  if (writes.length !== 1) return null;
  const first = writes[0]!.childForFieldName('arguments')?.namedChildren[0] ?? null;
  const written = first?.type === 'identifier' ? branchValue(def.childForFieldName('body')!, first.text) : first;
  const encoded = written ? encodedText(written) : null;
  const bytes = !written && first?.type === 'identifier';
  const param = bytes ? first : encoded;
  if (param?.type !== 'identifier') return null;
  const params = (def.childForFieldName('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : null));
  const index = params.indexOf(param.text);
  if (index < 1 || params.slice(0, index).some((p) => p === null)) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const keyword = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === param.text);
  const positional = args[index - 1];
  const arg = keyword
    ? keyword.childForFieldName('value')
    : positional && positional.type !== 'keyword_argument' && !args.slice(0, index).some((a) => /splat|keyword/.test(a.type)) ? positional : null;
  return arg ? { arg, bytes } : null;
}

function wfileWrites(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walk(n, (c) => {
    if (c.type === 'call' && /\.wfile\.write$/.test(c.childForFieldName('function')?.text ?? '')) out.push(c);
  });
  return out;
}

/** `<text>.encode()` / `<text>.encode("utf-8")` → <text>. */
function encodedText(n: SyntaxNode): SyntaxNode | null {
  let e = n;
  while (e.type === 'parenthesized_expression' && e.namedChildren.length === 1) e = e.namedChild(0)!;
  if (e.type !== 'call') return null;
  const fn = e.childForFieldName('function');
  if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'encode') return null;
  let text = fn.childForFieldName('object');
  while (text?.type === 'parenthesized_expression' && text.namedChildren.length === 1) text = text.namedChild(0);
  return text;
}

/** The override, right after __init__ (after a health hook inserted there), or before the first method. */
function insertOverride(ctx: PythonTransformContext, hook: string, lines: string[]): void {
  const body = [`text = super().${hook}(*args, **kwargs)`, ...lines, 'return text'].map((l) => `    ${l}`).join('\n');
  insertAfterInit(ctx, `def ${hook}(self, *args, **kwargs):\n${body}\n`, 'metrics-hook');
}
