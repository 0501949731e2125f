// Concern: an agent that pushes its own samples to the Pushgateway group the base pushes to. Legacy agents
// often PUT their counters to `$METRICS_URL/metrics/job/<name>` themselves (inline in the loop, from a
// metrics thread, from a timer). Once the base pushes too, both write the same group, and a PUT replaces
// every sample of its group: each push wipes the other's (the agent's counters and the base's agent_up
// flap in turn), with nothing failing. The agent's push keeps building its text as before, but instead of
// sending it, hands it to the base: the request's body is kept on the agent, and an override of the base's
// metrics text (`_metrics_text` on the reference BaseAgent, learned from its source) built on super()
// appends it, so the base's pushes (and its /metrics) carry both. A push to another job is left alone (no
// collision); a send the rewrite cannot replace exactly is reported.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { callee, statements, stringValue, walk } from '../../src/lang/python/syntax.js';
import { insertAfterInit } from './health-hook.js';

const JOB = '/metrics/job/';
const KEPT_BODY = '_pushed_metrics';

interface Push {
  method: string;
  /** The statement that sends the request, replaced by keeping its body. */
  send: SyntaxNode;
  /** The Request object the statement sends: an inline call or the name bound to it. */
  request: string;
}

export const ownMetricsPush: PythonTransform = {
  name: 'own-metrics-push',
  phase: 'edit',
  run(ctx) {
    const hook = ctx.base.metricsHook ?? null;
    if (!hook) return;
    const pushes: Push[] = [];
    const unsure: Array<{ method: string; line: number }> = [];
    for (const m of ctx.agent.methods.values()) {
      if (isRemoved(ctx, m.outer)) continue;
      walk(m.body, (n) => {
        if (n.type !== 'call' || !/(^|\.)Request$/.test(callee(n) ?? '')) return;
        const url = requestUrl(n);
        if (!url || !sameJob(ctx, url)) return;
        const p = pushOf(n, m.body);
        if (p && !isRemoved(ctx, p.send)) pushes.push({ method: ctx.renames.get(m.name) ?? m.name, ...p });
        else if (!p) unsure.push({ method: ctx.renames.get(m.name) ?? m.name, line: n.startPosition.row + 1 });
      });
    }
    const base = ctx.profile.base_class;
    for (const u of unsure) {
      keep(ctx, u.method, u.line,
        `${u.method}() pushes the agent's own samples to the Pushgateway group ${base} pushes to (a PUT replaces the group: each push wipes the other's); ` +
          `hand them to ${base}.${hook}() by hand`);
    }
    if (!pushes.length) return;
    const taken = ctx.agent.methods.has(hook) || ctx.edits.writtenTexts().some((t) => t.includes(`def ${hook}(`)) ||
      ctx.agent.assignments.some((a) => a.attr === KEPT_BODY) || ctx.base.attributes.has(KEPT_BODY);
    if (taken) {
      for (const p of pushes) {
        keep(ctx, p.method, p.send.startPosition.row + 1,
          `${p.method}() pushes the agent's own samples to the Pushgateway group ${base} pushes to (a PUT replaces the group: each push wipes the other's), ` +
            `and ${hook}() is already overridden; append them there by hand`);
      }
      return;
    }
    for (const p of pushes) {
      ctx.edits.replace(p.send.startIndex, p.send.endIndex, `self.${KEPT_BODY} = ${p.request}.data`, 'own-metrics-push');
    }
    insertAfterInit(ctx, [
      `def ${hook}(self, *args, **kwargs):`,
      `    text = super().${hook}(*args, **kwargs)`,
      `    pushed = getattr(self, "${KEPT_BODY}", None)`,
      '    if pushed:',
      '        extra = pushed.decode() if isinstance(pushed, bytes) else str(pushed)',
      '        text += extra if extra.endswith("\\n") else extra + "\\n"',
      '    return text',
      '',
    ].join('\n'), 'own-metrics-push');
    const where = [...new Set(pushes.map((p) => `${p.method}()`))].join(', ');
    ctx.warnings.push(
      `${where} pushed the agent's own samples to the Pushgateway group ${base} pushes to, where each PUT replaces the other's: ` +
        `the samples are now handed to ${base} (a ${hook}() override built on super() appends them), so its pushes and /metrics carry them with its own`,
    );
  },
};

/** The URL argument of a `Request(url, ...)` call. */
function requestUrl(call: SyntaxNode): SyntaxNode | null {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'url');
  return kw?.childForFieldName('value') ?? (args[0] && args[0].type !== 'keyword_argument' ? args[0] : null);
}

/**
 * Does the URL name the agent's own job, the group the base pushes to: `.../metrics/job/<the agent's name>`
 * as a literal, or `%s`/`{}` filled with `self.name` (the base's name of the agent)?
 */
function sameJob(ctx: PythonTransformContext, url: SyntaxNode): boolean {
  const given = ctx.passThrough.get(ctx.py.super_call.name_keyword);
  const names = new Set([ctx.agent.cls.name, ...(given && /^["'][^"']*["']$/.test(given) ? [given.slice(1, -1)] : [])]);
  const isName = (expr: string) => expr === 'self.name' || names.has(expr.replace(/^["']|["']$/g, ''));
  let fmt: SyntaxNode = url;
  let values: SyntaxNode[] = [];
  if (url.type === 'binary_operator' && url.childForFieldName('operator')?.text === '%') {
    fmt = url.childForFieldName('left')!;
    const right = url.childForFieldName('right')!;
    values = right.type === 'tuple' ? right.namedChildren : [right];
  }
  // `base + "/metrics/job/Name"`: the literal ends the URL.
  const pieces: SyntaxNode[] = [];
  walk(fmt, (n) => {
    if (n.type === 'string') {
      pieces.push(n);
      return false;
    }
  });
  for (const s of pieces) {
    const text = s.type === 'string' ? s.text : '';
    const at = text.indexOf(JOB);
    if (at < 0) continue;
    const tail = text.slice(at + JOB.length);
    // f"{url}/metrics/job/{self.name}"
    const interp = /^\{([^}]+)\}/.exec(tail);
    if (interp) return isName(interp[1]!.trim());
    if (/^%s/.test(tail) && values.length) {
      const before = fmt.text.slice(0, fmt.text.indexOf(JOB) + JOB.length);
      const index = (before.match(/%[sdr]/g) ?? []).length;
      return values[index] ? isName(values[index]!.text) : false;
    }
    const literal = stringValue(s);
    const job = literal?.slice(literal.indexOf(JOB) + JOB.length).replace(/\/.*$/, '');
    return job !== undefined && names.has(job);
  }
  return false;
}

/**
 * The statement sending the request: `urlopen(<req>, ...)` alone, or followed by `.close()` / `.read()`, or
 * `with urlopen(<req>, ...):` whose body is `pass`; `<req>` the inline Request call or the name bound to it by
 * an assignment of the same function. Null when it is sent some other way.
 */
function pushOf(call: SyntaxNode, fnBody: SyntaxNode): { send: SyntaxNode; request: string } | null {
  const parent = call.parent?.type === 'argument_list' ? call.parent.parent : null;
  if (parent && /(^|\.)urlopen$/.test(callee(parent) ?? '') && parent.childForFieldName('arguments')!.namedChildren[0]?.id === call.id) {
    const send = sendingStatement(parent);
    return send ? { send, request: call.text } : null;
  }
  const assign = call.parent;
  const left = assign?.type === 'assignment' && assign.childForFieldName('right')?.id === call.id ? assign.childForFieldName('left') : null;
  if (left?.type !== 'identifier') return null;
  const opens: SyntaxNode[] = [];
  let otherUse = false;
  walk(fnBody, (n) => {
    if (n.type !== 'identifier' || n.text !== left.text || n.id === left.id) return;
    const args = n.parent;
    const open = args?.type === 'argument_list' ? args.parent : null;
    if (open && /(^|\.)urlopen$/.test(callee(open) ?? '') && args!.namedChildren[0]?.id === n.id) opens.push(open);
    else otherUse = true;
  });
  if (otherUse || opens.length !== 1) return null;
  const send = sendingStatement(opens[0]!);
  return send ? { send, request: left.text } : null;
}

function sendingStatement(open: SyntaxNode): SyntaxNode | null {
  let e: SyntaxNode = open;
  // urlopen(...).close() / .read()
  if (e.parent?.type === 'attribute' && /^(close|read)$/.test(e.parent.childForFieldName('attribute')?.text ?? '') && e.parent.parent?.type === 'call') {
    e = e.parent.parent;
  }
  if (e.parent?.type === 'expression_statement') return e.parent;
  // with urlopen(...) [as r]: pass
  const item = open.parent?.type === 'with_item' ? open.parent : open.parent?.type === 'as_pattern' && open.parent.parent?.type === 'with_item' ? open.parent.parent : null;
  const stmt = item?.parent?.type === 'with_clause' ? item.parent.parent : null;
  if (stmt?.type !== 'with_statement' || item!.parent!.namedChildren.length !== 1) return null;
  const body = statements(stmt.childForFieldName('body'));
  return body.length === 1 && body[0]!.type === 'pass_statement' ? stmt : null;
}
