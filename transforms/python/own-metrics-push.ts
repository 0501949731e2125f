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
import { isRemoved, keep, writtenTexts } from '../../src/lang/python/transform-context.js';
import { callee, statements, stringValue, walk } from '../../src/lang/python/syntax.js';
import { insertAfterInit } from './health-hook.js';
import { movedCopies, spanInCopy } from './moved-copies.js';
import { configuredNameAttr } from './configured-name.js';

const JOB = '/metrics/job/';
const KEPT_BODY = '_pushed_metrics';
const REPORT_PUSHED = '_report_pushed_samples';
const PUSHED_TOTALS = '_pushed_totals';

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
    // Every method, also one another transform replaces (run() become run_once()): what survives counts.
    for (const m of ctx.agent.methods.values()) {
      walk(m.body, (n) => {
        if (n.type !== 'call' || !/(^|\.)Request$/.test(callee(n) ?? '')) return;
        const url = boundUrl(requestUrl(n), m.body);
        if (!url || !sameJob(ctx, url)) return;
        const p = pushOf(n, m.body);
        // A push another transform moved (a loop body become run_once()) is in the output, not editable here.
        if (p && !isRemoved(ctx, p.send)) pushes.push({ method: ctx.renames.get(m.name) ?? m.name, ...p });
        else if (survives(ctx, p?.send ?? n)) unsure.push({ method: ctx.renames.get(m.name) ?? m.name, line: n.startPosition.row + 1 });
      });
    }
    const helpers: Array<{ method: string; line: number; name: string; where: string; maybe?: string; unread?: boolean }> = [];
    const reported: Array<{ call: SyntaxNode; samples: SyntaxNode; samplesText?: string; method: string; name: string; where: string; moved: boolean }> = [];
    const report = ctx.base.reportMetric ?? null;
    const reportFree = !ctx.agent.methods.has(REPORT_PUSHED) && !ctx.agent.attributes.has(PUSHED_TOTALS) && !ctx.base.methods.has(REPORT_PUSHED);
    for (const m of ctx.agent.methods.values()) {
      walk(m.body, (n) => {
        if (n.type !== 'call' || !survives(ctx, n)) return;
        const h = helperPushesToAgentJob(ctx, n);
        if (!h) return;
        const method = ctx.renames.get(m.name) ?? m.name;
        // Its value unused, in code that stays where it is or was copied once into new code (a loop body
        // become run_once()): the push becomes the base's samples.
        const moved = isRemoved(ctx, n);
        const copies = moved && h.samples ? movedCopies(ctx, n, h.samples) : [];
        // Ready-made exposition text the agent built from its own values: the same samples as a dict.
        const fromText = report && reportFree && !h.samples && !h.maybe && !h.unread && h.text && !moved && n.parent?.type === 'expression_statement' ? textSamples(ctx, h.text, m.body, n) : null;
        if (report && reportFree && h.samples && !h.maybe && !h.unread && n.parent?.type === 'expression_statement' && (!moved || copies.length === 1)) {
          reported.push({ call: n, samples: h.samples, method: copies[0]?.into ?? method, name: h.name, where: h.where, moved });
        } else if (fromText) {
          reported.push({ call: n, samples: h.text!, samplesText: fromText, method, name: h.name, where: h.where, moved });
        } else helpers.push({ method, line: n.startPosition.row + 1, name: h.name, where: h.where, maybe: h.maybe, unread: h.unread });
      });
    }
    const base = ctx.profile.base_class;
    if (report && reported.length) {
      for (const r of reported) {
        if (!r.moved) {
          ctx.edits.replace(r.call.startIndex, r.call.endIndex, `self.${REPORT_PUSHED}(${r.samplesText ?? r.samples.text})`, 'own-metrics-push');
          continue;
        }
        // Found again for each: an earlier amendment of the same written text moved the offsets.
        const copy = movedCopies(ctx, r.call, r.samples)[0]!;
        ctx.edits.amendWritten(copy.edit, copy.at, copy.end - copy.at, `self.${REPORT_PUSHED}(${spanInCopy(copy.text, r.call, r.samples)})`);
      }
      const suffix = JSON.stringify(report.counterSuffix);
      insertAfterInit(ctx, [
        `def ${REPORT_PUSHED}(self, samples):`,
        `    # The samples a helper PUT as the whole group of the agent's job (absolute values), handed to`,
        `    # ${base}.${report.method}(), which sets gauges and adds to ${report.counterSuffix} counters: a counter is given`,
        `    # its growth since the last push, so the group shows the value the helper pushed.`,
        `    last = self.__dict__.setdefault("${PUSHED_TOTALS}", {})`,
        '    for name, value in samples.items():',
        `        if name.endswith(${suffix}):`,
        `            self.${report.method}(name, value - last.get(name, 0))`,
        '            last[name] = value',
        '        else:',
        `            self.${report.method}(name, value)`,
        '',
      ].join('\n'), 'own-metrics-push');
      const calls = [...new Set(reported.map((r) => `${r.name}() (${r.where}) in ${r.method}()`))].join(', ');
      ctx.warnings.push(
        `${calls} pushed the agent's own samples (absolute values) as the whole Pushgateway group ${base} pushes to: ` +
          `they now go through ${base}.${report.method}() (gauges set, ${report.counterSuffix} counters given their growth since the last push, so the group shows the same values), ` +
          `pushed where and when ${base} pushes (its METRICS_URL)` +
          reported.filter((r) => r.samplesText).map((r) => `; the exposition text ${r.method}() handed ${r.name}() (line ${r.call.startPosition.row + 1}) is read as the samples ${r.samplesText}, the same names and values, and is no longer sent itself`).join(''),
      );
    }
    for (const h of helpers) {
      // Under the helper's name: the call may have moved to another method (a loop body become run_once()).
      const what = h.unread
        ? `which sends the agent's samples under its name where this cannot read (the URL is not built there): if that is the Pushgateway group ${base} pushes to, a PUT replaces the group and each push wipes the other's`
        : h.maybe
          ? `which pushes the agent's own samples to the Pushgateway job ${h.maybe}, the name ${base} is given unless the configuration names the agent otherwise: then the group ${base} pushes to (a PUT replaces the group: each push wipes the other's)`
          : `which pushes the agent's own samples to the Pushgateway group ${base} pushes to (a PUT replaces the group: each push wipes the other's)`;
      keep(ctx, h.name, h.line, `${h.method}() calls ${h.name}() (${h.where}), ${what}; hand them to ${base}.${hook}() instead`);
    }
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
    const methods = [...new Set(pushes.map((p) => p.method))];
    const where = methods.map((m) => `${m}()`).join(', ');
    // Other files that call the method (a cron script pushing once, getattr(agent, "push_metrics"))
    // no longer push at once: said with their file:line.
    const outside = methods.flatMap((m) => ctx.external(m)).map((u) => `${u.file}:${u.line}`);
    ctx.warnings.push(
      `${where} pushed the agent's own samples to the Pushgateway group ${base} pushes to, where each PUT replaces the other's: ` +
        `the samples are now handed to ${base} (a ${hook}() override built on super() appends them), so its pushes and /metrics carry them with its own` +
        (outside.length ? `; ${[...new Set(outside)].join(', ')} ${outside.length === 1 ? 'calls' : 'call'} it from another file: such a call now hands the samples over, and ${base} sends them at its next push or when it stops` : ''),
    );
  },
};

/** Is the code in the output: not removed, or removed and written again (moved) by another transform? */
export function survives(ctx: PythonTransformContext, n: SyntaxNode): boolean {
  if (!isRemoved(ctx, n)) return true;
  // Moved code may be indented anew: compared without whitespace.
  const bare = (t: string) => t.replace(/\s+/g, '');
  const code = bare(n.text);
  return writtenTexts(ctx).some((t) => bare(t).includes(code));
}

/** The URL argument of a `Request(url, ...)` call. */
function requestUrl(call: SyntaxNode): SyntaxNode | null {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'url');
  return kw?.childForFieldName('value') ?? (args[0] && args[0].type !== 'keyword_argument' ? args[0] : null);
}

/**
 * The URL expression itself when the Request is given a local name (`url = f".../metrics/job/{self.name}"`,
 * then `Request(url, ...)`) bound once in that function; the argument as it is otherwise.
 */
function boundUrl(url: SyntaxNode | null, fnBody: SyntaxNode): SyntaxNode | null {
  if (url?.type !== 'identifier') return url;
  return boundOnce(fnBody, url.text) ?? url;
}

/** The value a local name is bound to by its one assignment in the function (`url = ...`); null when bound otherwise or more than once. */
function boundOnce(fnBody: SyntaxNode, name: string): SyntaxNode | null {
  const values: SyntaxNode[] = [];
  walk(fnBody, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier' && n.childForFieldName('left')!.text === name) {
      values.push(n.childForFieldName('right') ?? n);
    }
    if ((n.type === 'augmented_assignment' || n.type === 'for_statement') && n.childForFieldName('left')?.text === name) values.push(n, n);
  });
  return values.length === 1 ? values[0]! : null;
}

/**
 * The job segment of a Pushgateway URL (`.../metrics/job/<job>`): the literal name, or the expression filling
 * its `%s` / `{}` placeholder. Null when the URL names no job this can read.
 */
function jobOf(url: SyntaxNode): { literal: string } | { expr: SyntaxNode | string } | null {
  let fmt: SyntaxNode = url;
  let values: SyntaxNode[] = [];
  if (url.type === 'binary_operator' && url.childForFieldName('operator')?.text === '%') {
    fmt = url.childForFieldName('left')!;
    const right = url.childForFieldName('right')!;
    values = right.type === 'tuple' ? right.namedChildren : [right];
  }
  const pieces: SyntaxNode[] = [];
  walk(fmt, (n) => {
    if (n.type === 'string') {
      pieces.push(n);
      return false;
    }
  });
  for (const s of pieces) {
    const at = s.text.indexOf(JOB);
    if (at < 0) continue;
    const tail = s.text.slice(at + JOB.length);
    // f"{url}/metrics/job/{self.name}"
    const interp = /^\{([^}]+)\}/.exec(tail);
    if (interp) return { expr: interp[1]!.trim() };
    if (/^%s/.test(tail)) {
      const index = (fmt.text.slice(0, fmt.text.indexOf(JOB) + JOB.length).match(/%[sdr]/g) ?? []).length;
      return values[index] ? { expr: values[index]! } : null;
    }
    const literal = stringValue(s);
    return literal === null ? null : { literal: literal.slice(literal.indexOf(JOB) + JOB.length).replace(/\/.*$/, '') };
  }
  return null;
}

/** The names the base pushes the agent under: the class name, and the name literal it is given. */
function agentNames(ctx: PythonTransformContext): Set<string> {
  const given = ctx.passThrough.get(ctx.py.super_call.name_keyword);
  return new Set([ctx.agent.cls.name, ...(given && /^["'][^"']*["']$/.test(given) ? [given.slice(1, -1)] : [])]);
}

/** Is this expression (in the agent's scope) the agent's name: `self.name` or a literal of it? */
function namesAgent(ctx: PythonTransformContext, expr: string): boolean {
  return expr === 'self.name' || agentNames(ctx).has(expr.replace(/^["']|["']$/g, '')) || holdsName(ctx, expr) === 'same';
}

/**
 * `self.<attr>` assigned once, in __init__, from what the base is given as its name (`self.agent_name = name`
 * with name=name given, or the base given self.<attr> itself): 'same'. Assigned once from a lookup whose
 * default is that name (`cfg.get("agent", "name", fallback="LabelPrinterAgent")`): 'maybe', the same group
 * unless the configuration names the agent otherwise. Null for anything else.
 */
export function holdsName(ctx: PythonTransformContext, expr: string): 'same' | 'maybe' | null {
  const attr = /^self\.(\w+)$/.exec(expr)?.[1];
  if (!attr || attr === 'name') return null;
  const given = ctx.passThrough.get(ctx.py.super_call.name_keyword);
  if (given === expr) return 'same';
  // The configuration lookup super-init gave the base, the attribute now reading the base's name.
  if (configuredNameAttr(ctx) === attr) return 'same';
  const sets = ctx.agent.assignments.filter((a) => a.attr === attr);
  const value = sets.length === 1 && sets[0]!.method === '__init__' ? sets[0]!.value : null;
  if (!value) return null;
  // `self.agent_name = self.name`: the base's own name (a second run).
  if (value.text === `self.${ctx.py.super_call.name_keyword}`) return 'same';
  if (given && value.text === given && (value.type === 'identifier' || /^["']/.test(given))) return 'same';
  // A lookup with the name as its default: a keyword `fallback=`/`default=` or the last positional.
  if (value.type !== 'call') return null;
  const args = value.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && /^(fallback|default)$/.test(a.childForFieldName('name')!.text));
  const dflt = kw?.childForFieldName('value') ?? (args.length >= 2 ? args.at(-1) : undefined);
  const lit = dflt?.type === 'string' ? stringValue(dflt) : null;
  return lit !== null && agentNames(ctx).has(lit) ? 'maybe' : null;
}

/** Does the URL name the agent's own job, the group the base pushes to? */
function sameJob(ctx: PythonTransformContext, url: SyntaxNode): boolean {
  const job = jobOf(url);
  if (!job) return false;
  if ('literal' in job) return agentNames(ctx).has(job.literal);
  return namesAgent(ctx, typeof job.expr === 'string' ? job.expr : job.expr.text);
}

/**
 * A call of a module function (of the agent's file, or imported from a file of the repository) whose body
 * pushes to a Pushgateway job that is the agent's: a literal of its name, or a parameter the call fills with
 * it. True also when the job cannot be read (the push may land in the base's group): a person looks.
 */
function helperPushesToAgentJob(ctx: PythonTransformContext, call: SyntaxNode): HelperPush | null {
  const f = call.childForFieldName('function');
  // `push(...)` (a function of the file, or imported by name) or `fleet_metrics.push(...)` (an imported module's).
  const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
  if (!f || (f.type !== 'identifier' && obj?.type !== 'identifier')) return null;
  const local = f.type === 'identifier' ? ctx.module.functions.get(f.text) : undefined;
  const t = local ? null : ctx.imported(obj ? obj.text : f.text);
  const fn = local ?? (obj ? (t && !t.name ? t.module.functions.get(f.childForFieldName('attribute')!.text) : undefined) : t?.name ? t.module.functions.get(t.name) : undefined);
  if (!fn) return null;
  let hit: SyntaxNode | null = null;
  walk(fn.body, (n) => {
    if (hit || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'call' && /(^|\.)Request$/.test(callee(n) ?? '') && boundUrl(requestUrl(n), fn.body)?.text.includes(JOB)) hit = n;
  });
  if (!hit) return unreadHelper(ctx, fn, call, f.text, `${local ? ctx.file : t!.file}:${fn.line}`);
  const job = jobOf(boundUrl(requestUrl(hit), fn.body)!);
  const where = `${local ? ctx.file : t!.file}:${fn.line}`;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const argOf = (index: number): SyntaxNode | undefined => {
    const p = fn.params[index];
    const kw = p && args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === p.name);
    return kw?.childForFieldName('value') ?? args.filter((a) => a.type !== 'keyword_argument')[index - (fn.params[0]?.name === 'self' ? 1 : 0)];
  };
  // The samples argument, when the helper provably renders it as the agent's group and nothing else.
  const rendered = fn.params[0]?.name === 'self' || args.some((a) => /splat/.test(a.type)) ? null : rendersSamples(fn, local ? ctx.module.functions : t!.module.functions);
  const samplesOf = (jobGiven: boolean) => (jobGiven && rendered ? argOf(rendered.samples) ?? null : null);
  if (job && 'literal' in job) return agentNames(ctx).has(job.literal) ? { name: f.text, where, samples: null } : null;
  const written = job ? (typeof job.expr === 'string' ? job.expr : job.expr.text) : null;
  const expr = written ? unsetBranch(fn, written, argOf) ?? written : null;
  const index = expr ? fn.params.findIndex((p) => p.name === expr) : -1;
  if (index < 0) return { name: f.text, where, samples: null };
  const given = argOf(index);
  // An attribute that may hold another name (the configuration's): the same group unless it does, said.
  if (given && !namesAgent(ctx, given.text)) return holdsName(ctx, given.text) === 'maybe' ? { name: f.text, where, samples: null, maybe: given.text } : null;
  // The helper PUTs one of its parameters as the body, as it is: the caller's text is the whole group.
  const body = given && !rendered && fn.params[0]?.name !== 'self' ? verbatimBody(fn) : -1;
  return { name: f.text, where, samples: samplesOf(!!given && rendered?.job === index), text: body >= 0 ? argOf(body) ?? null : null };
}

interface HelperPush {
  name: string;
  where: string;
  samples: SyntaxNode | null;
  text?: SyntaxNode | null;
  /** The argument that names the agent unless the configuration names it otherwise (see holdsName). */
  maybe?: string;
  /** The helper sends, but where this cannot read (a URL built elsewhere). */
  unread?: boolean;
}

/**
 * A helper handed the agent's name (or an attribute holding it) that is about metrics (its name or a string
 * of its body says so) and sends a request whose Pushgateway job this cannot read: reported, since it may
 * PUT the base's group. Null otherwise.
 */
function unreadHelper(ctx: PythonTransformContext, fn: { name: string; body: SyntaxNode }, call: SyntaxNode, name: string, where: string): HelperPush | null {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const named = args.map((a) => (a.type === 'keyword_argument' ? a.childForFieldName('value')! : a)).some((a) => namesAgent(ctx, a.text) || holdsName(ctx, a.text) === 'maybe');
  if (!named || !/metric|gauge|prometheus|pushgateway/i.test(`${fn.name} ${fn.body.text}`)) return null;
  let sends = false;
  walk(fn.body, (n) => {
    if (n.type === 'call' && /(^|\.)(Request|urlopen|put|post|request|push_to_gateway|pushadd_to_gateway)$/.test(callee(n) ?? '')) sends = true;
  });
  return sends ? { name, where, samples: null, unread: true } : null;
}

/**
 * `job` bound once in the helper to `<a> if <flag> else <b>`, where `<flag>` is a parameter defaulting to
 * None that the call leaves unset: `<b>`'s text (the job the call pushes to). Null otherwise.
 */
function unsetBranch(fn: { params: Array<{ name: string; default?: SyntaxNode }>; body: SyntaxNode }, name: string, argOf: (i: number) => SyntaxNode | undefined): string | null {
  if (!/^\w+$/.test(name)) return null;
  const bound = boundOnce(fn.body, name);
  if (bound?.type !== 'conditional_expression') return null;
  const [, cond, alt] = bound.namedChildren;
  const flag = cond?.type === 'identifier' ? fn.params.findIndex((p) => p.name === cond.text) : -1;
  if (flag < 0 || fn.params[flag]!.default?.type !== 'none' || argOf(flag)) return null;
  return alt?.text ?? null;
}

/** The index of the parameter the helper's PUT sends as its whole body (`data=text.encode()`, `data=text`); -1 otherwise. */
function verbatimBody(fn: { params: Array<{ name: string }>; body: SyntaxNode }): number {
  let out = -1;
  walk(fn.body, (n) => {
    if (n.type !== 'call' || !/(^|\.)Request$/.test(callee(n) ?? '')) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = (k: string) => args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === k)?.childForFieldName('value');
    const data = kw('data');
    const method = kw('method');
    if (!data || !method || stringValue(method) !== 'PUT') return;
    const name = /^(\w+)(?:\.encode\(\s*(?:["']utf-?8["'])?\s*\))?$/.exec(data.text)?.[1];
    out = name ? fn.params.findIndex((p) => p.name === name) : -1;
  });
  return out;
}

/**
 * `%s{agent="%s"} %s` (a newline after it or not, `\n` as the source spells it unless the string is raw): one
 * exposition line labelled with the agent only.
 */
const SAMPLE_LINE = /^%s\{agent="%s"\} %s(\n)?$/;
const SAMPLE_LINE_ESCAPED = /^%s\{agent="%s"\} %s\\n$/;

/**
 * Does `fn` PUT (replace the group with) exactly one exposition line per item of one of its parameters,
 * labelled with another of its parameters (`'%s{agent="%s"} %s' % (name, job, float(value))` over
 * `sorted(samples.items())`), itself or through a module function it hands both to? The two parameters'
 * indexes; null otherwise.
 */
function rendersSamples(fn: { params: Array<{ name: string }>; body: SyntaxNode }, functions: ReadonlyMap<string, { params: Array<{ name: string }>; body: SyntaxNode }>): { job: number; samples: number } | null {
  let put = false;
  walk(fn.body, (n) => {
    if (n.type === 'call' && /(^|\.)Request$/.test(callee(n) ?? '')) {
      const m = n.childForFieldName('arguments')?.namedChildren.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'method');
      if (m && stringValue(m.childForFieldName('value')!) === 'PUT') put = true;
    }
  });
  if (!put) return null;
  const own = renderedParams(fn);
  if (own) return own;
  let out: { job: number; samples: number } | null = null;
  walk(fn.body, (n) => {
    if (out || n.type !== 'call' || n.childForFieldName('function')?.type !== 'identifier') return;
    const g = functions.get(callee(n)!);
    const inner = g && g !== fn ? renderedParams(g) : null;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    if (!inner || args.some((a) => a.type !== 'identifier')) return;
    const job = fn.params.findIndex((p) => p.name === args[inner.job]?.text);
    const samples = fn.params.findIndex((p) => p.name === args[inner.samples]?.text);
    if (job >= 0 && samples >= 0) out = { job, samples };
  });
  return out;
}

function renderedParams(fn: { params: Array<{ name: string }>; body: SyntaxNode }): { job: number; samples: number } | null {
  let out: { job: number; samples: number } | null = null;
  walk(fn.body, (n) => {
    if (out || n.type !== 'binary_operator' || n.childForFieldName('operator')?.text !== '%') return;
    const left = n.childForFieldName('left')!;
    const right = n.childForFieldName('right')!;
    const fmt = left.type === 'string' ? stringValue(left) : null;
    const raw = /^[a-zA-Z]*[rR]/.test(left.text);
    if (fmt === null || !(SAMPLE_LINE.test(fmt) || (!raw && SAMPLE_LINE_ESCAPED.test(fmt))) || right.type !== 'tuple' || right.namedChildren.length !== 3) return;
    const [k, j, v] = right.namedChildren as [SyntaxNode, SyntaxNode, SyntaxNode];
    const value = v.type === 'call' && callee(v) === 'float' ? v.childForFieldName('arguments')!.namedChildren[0] : v;
    // The value read by key (`gauges[key]`, the loop over the dict's keys) or bound with it (`.items()`).
    const keyed = value?.type === 'subscript' && value.childForFieldName('value')?.type === 'identifier' && value.childForFieldName('subscript')?.text === k.text ? value.childForFieldName('value')!.text : null;
    if (k.type !== 'identifier' || j.type !== 'identifier' || (value?.type !== 'identifier' && !keyed)) return;
    // The loop or generator that binds `k, v` from `<samples>.items()` (or sorted of it).
    for (let up = n.parent; up; up = up.parent) {
      const clause = up.type === 'for_statement' ? up : up.type === 'generator_expression' || up.type === 'list_comprehension' ? up.namedChildren.find((c) => c.type === 'for_in_clause') : null;
      if (!clause) continue;
      const bound = clause.childForFieldName('left')?.text.replace(/[\s()]/g, '');
      const over = clause.childForFieldName('right')?.text.replace(/\s+/g, '') ?? '';
      const items = keyed ? /^(?:sorted\()?(\w+)(?:\.keys\(\))?\)?$/.exec(over) : /^(?:sorted\()?(\w+)\.items\(\)\)?$/.exec(over);
      if (keyed && items?.[1] !== keyed) return;
      if (bound !== (keyed ? k.text : `${k.text},${value!.text}`) || !items || over.split('(').length !== over.split(')').length) return;
      const job = fn.params.findIndex((p) => p.name === j.text);
      const samples = fn.params.findIndex((p) => p.name === items[1]);
      if (job >= 0 && samples >= 0 && job !== samples) out = { job, samples };
      return;
    }
  });
  return out;
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

/** An exposition value the text's field may hold: the agent's attribute, or its length or number. */
const SAMPLE_VALUE = /^(?:(?:len|int|float|round)\(\s*)?self(?:\.\w+)+(?:\s*\))?$/;

/**
 * The samples of exposition text the agent hands a helper that PUTs it as it is, as a dict literal
 * (`{"invoice_lines_total": self.lines_in}`), when the text is provably one `name{agent="<agent>"} <value>`
 * line per sample: string literals (f-strings) written at the call or bound once to a name read by that call
 * alone, just before it; each line labelled with the agent's name only, its value one f-string field reading
 * an attribute of the agent (no local, no format spec). Null otherwise.
 */
function textSamples(ctx: PythonTransformContext, arg: SyntaxNode, fnBody: SyntaxNode, call: SyntaxNode): string | null {
  let value: SyntaxNode | null = arg;
  if (arg.type === 'identifier') {
    value = boundOnce(fnBody, arg.text);
    if (!value || value.endIndex > call.startIndex || value.parent?.type !== 'assignment' || !nextStatementReaches(value.parent, call)) return null;
    let uses = 0;
    walk(fnBody, (n) => void (n.type === 'identifier' && n.text === arg.text && (uses += 1)));
    if (uses !== 2) return null;
  }
  while (value?.type === 'parenthesized_expression') value = value.namedChild(0);
  const pieces = value?.type === 'string' ? [value] : value?.type === 'concatenated_string' ? value.namedChildren : [];
  if (!pieces.length || pieces.some((p) => p.type !== 'string')) return null;
  // The text's lines, each as its literal runs and {field} expressions in order.
  const lines: Array<Array<{ lit: string } | { expr: string }>> = [[]];
  const add = (part: { lit: string } | { expr: string }) => lines.at(-1)!.push(part);
  for (const p of pieces) {
    const m = /^([a-zA-Z]*)('''|"""|'|")([\s\S]*)\2$/.exec(p.text);
    if (!m || /[rRbBuU]/.test(m[1]!)) return null;
    const f = /[fF]/.test(m[1]!);
    const body = m[3]!;
    for (let i = 0; i < body.length; ) {
      if (body.startsWith('\\n', i)) {
        lines.push([]);
        i += 2;
      } else if (body[i] === '\\' || body[i] === '\n') return null;
      else if (f && (body.startsWith('{{', i) || body.startsWith('}}', i))) {
        add({ lit: body[i]! });
        i += 2;
      } else if (f && body[i] === '{') {
        const end = body.indexOf('}', i);
        const expr = end < 0 ? '' : body.slice(i + 1, end).trim();
        if (!SAMPLE_VALUE.test(expr)) return null;
        add({ expr });
        i = end + 1;
      } else if (f && body[i] === '}') return null;
      else add({ lit: body[i++]! });
    }
  }
  // The text ends with its newline or not; no other empty line.
  if (lines.length > 1 && !lines.at(-1)!.length) lines.pop();
  const samples: Array<[string, string]> = [];
  for (const line of lines) {
    const last = line.at(-1);
    const head = line.slice(0, -1);
    if (!last || !('expr' in last) || head.some((x) => 'expr' in x)) return null;
    const m = /^([a-zA-Z_:][\w:]*)\{agent="([^"\\]*)"\} $/.exec(head.map((x) => ('lit' in x ? x.lit : '')).join(''));
    if (!m || !agentNames(ctx).has(m[2]!) || samples.some(([k]) => k === m[1])) return null;
    samples.push([m[1]!, last.expr]);
  }
  return samples.length ? `{${samples.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}` : null;
}

/** Is `call` the next thing run after the assignment: the statement right after its own, or first in that try's body? */
function nextStatementReaches(assignment: SyntaxNode, call: SyntaxNode): boolean {
  const stmt = assignment.parent?.type === 'expression_statement' ? assignment.parent : null;
  const siblings = stmt?.parent?.namedChildren ?? [];
  const next = stmt ? siblings[siblings.findIndex((x) => x.id === stmt.id) + 1] : undefined;
  const first = next?.type === 'try_statement' ? statements(next.childForFieldName('body')).at(0) : next;
  return first?.type === 'expression_statement' && first.namedChild(0)?.id === call.id;
}
