// Concern: an agent that reports its metrics as statsd lines over UDP (`sock.sendto(b"x.processed:1|c",
// (host, 8125))`, often behind incr()/gauge()/timing() helpers). The migration leaves that send alone, so the
// statsd relay still gets the lines, but the base's metrics sink (what the fleet now reads) never sees them,
// and nothing said so. When the base has a report API (`report_metric(name, value)` on the reference
// BaseAgent, learned from its source) and the send stays where it is in the agent's own methods, its payload
// is also handed to that API on its way to the socket: a method the rewrite adds parses the statsd lines and
// maps counters, gauges and timers onto what the base carries, returning the payload unchanged. A send in
// code another transform moved (a loop body become run_once()) is wired the same way in its one new copy,
// found (whitespace aside) in what that transform wrote. An emitter the rewrite cannot wire (a client class
// or function of the module, an imported statsd client, a moved send with no single copy holding its
// payload as written) is named with its line, and where it moved, in a warning.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { Edit } from '../../src/lang/python/edit-buffer.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved } from '../../src/lang/python/transform-context.js';
import { bindingsOf, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { healthHook } from './remove-health.js';
import { isStatsdSend } from '../../src/analysis/statsd-send.js';
import { insertAfterInit } from './health-hook.js';
import { survives } from './own-metrics-push.js';
import { movedCopies } from './moved-copies.js';

const REPORT = '_report_statsd';
const LABEL = 'statsd-metrics';
const GAUGES = '_statsd_gauges';
/** Client libraries that send statsd over UDP (`import statsd`, `from datadog import statsd`). */
const STATSD_MODULE = /(^|\.)(statsd|dogstatsd)$|^datadog$/;

interface Send {
  method: string;
  line: number;
  payload: SyntaxNode;
  /** The send's one copy in code another transform wrote (the edit's index, the call's offset in its text, the method it landed in). */
  moved?: { edit: number; payloadAt: number; into: string | null };
}

export const statsdMetrics: PythonTransform = {
  name: 'statsd-metrics',
  phase: 'edit',
  run(ctx) {
    const base = ctx.profile.base_class;
    const report = ctx.base.reportMetric ?? null;
    const wired: Send[] = [];
    const unwired: string[] = [];
    const dropped: string[] = [];
    const probes: Array<ProbeSend & { place: string }> = [];
    for (const m of ctx.agent.methods.values()) {
      // Code nested in a method with a `self` of its own (an HTTP handler's do_GET reaching the agent
      // through `agent = self`): its sends are not the agent's to wire, but they must not go unsaid.
      for (const n of nestedSends(m.body)) {
        const place = `${n.where} in ${ctx.renames.get(m.name) ?? m.name}() (line ${n.call.startPosition.row + 1})`;
        if (!isRemoved(ctx, n.call)) unwired.push(place);
        else if (!survives(ctx, n.call)) {
          const probe = report ? probeSend(ctx, m, n.call) : null;
          if (probe) probes.push({ ...probe, place });
          else dropped.push(`${place} sent ${short(n.call.childForFieldName('arguments')!.namedChildren[0]!.text)}`);
        }
      }
      for (const call of statsdSends(m.body)) {
        // Already handed over (a file this rewrite wrote): nothing left to say.
        if (call.childForFieldName('arguments')!.namedChildren[0]!.text.startsWith(`self.${REPORT}(`)) continue;
        const method = ctx.renames.get(m.name) ?? m.name;
        const line = call.startPosition.row + 1;
        const payload = call.childForFieldName('arguments')!.namedChildren[0]!;
        if (!isRemoved(ctx, call)) {
          wired.push({ method, line, payload });
          continue;
        }
        if (!survives(ctx, call)) {
          dropped.push(`${method}() (line ${line}) sent ${short(payload.text)}`);
          continue;
        }
        // A removed send that other code carries on (a loop body become run_once()): wired in its copy when
        // there is exactly one holding the payload as written; two copies could both run for one event.
        const copies = movedCopies(ctx, call, payload);
        if (copies.length === 1 && copies[0]!.payloadAt >= 0) wired.push({ method, line, payload, moved: copies[0]! });
        else {
          const into = [...new Set(copies.map((c) => c.into).filter((n): n is string => !!n))];
          unwired.push(`${method}() (line ${line}, ${into.length ? `moved into ${listed(into.map((n) => `${n}()`))}` : 'in code the migration moved'})`);
        }
      }
    }
    unwired.push(...outsideEmitters(ctx));
    const free = !ctx.agent.methods.has(REPORT) && !ctx.agent.attributes.has(REPORT) && !ctx.agent.attributes.has(GAUGES) &&
      !ctx.base.methods.has(REPORT) && !ctx.base.attributes.has(REPORT);
    if (!free) for (const p of probes.splice(0)) dropped.push(`${p.place} sent ${short(p.payload)}`);
    for (const p of probes) {
      ctx.edits.amendWritten(p.hook.edit, p.hook.at, 0, p.text);
      ctx.warnings.push(
        `${p.place} sent ${short(p.payload)} over UDP to the statsd relay once per GET /health, in code the migration removed: that send now runs in ` +
          `${p.hook.name}(), which ${base} calls once per GET /health (nothing else calls it), its payload also handed to ${base}.${report!.method}() by ${REPORT}()`,
      );
    }
    if ((wired.length || probes.length) && report && free) {
      for (const s of wired) {
        const by = `self.${REPORT}(${s.payload.text})`;
        if (!s.moved) ctx.edits.replace(s.payload.startIndex, s.payload.endIndex, by, LABEL);
        else ctx.edits.amendWritten(s.moved.edit, s.moved.payloadAt, s.payload.text.length, by);
      }
      insertAfterInit(ctx, reportMethod(base, report.method, report.counterSuffix), LABEL);
    }
    if (wired.length && report && free) {
      const suffix = report.counterSuffix;
      ctx.warnings.push(
        `${listed(wired.map(sendPlace))} ${wired.length === 1 ? 'sends' : 'send'} statsd lines over UDP, which ${base}'s metrics sink never saw: ` +
          `each payload is now also handed to ${base}.${report.method}() by ${REPORT}() (counters |c add to <name>${suffix}, gauges |g are set, ` +
          `timers |ms add to <name>_ms_count${suffix} and <name>_ms_sum${suffix}), so the base pushes them; the UDP send to the statsd relay is unchanged`,
      );
    } else {
      unwired.unshift(...wired.map(sendPlace));
    }
    if (dropped.length) {
      // The code holding them went (a health server the base replaces) and nothing carries them on: the
      // relay no longer gets those lines either. Not handed to the base here: what the removed code counted
      // (a probe, a request) has no one call in the _v2 provably made once per such event.
      ctx.warnings.push(
        `${listed(dropped)} over UDP to the statsd relay, in code the migration removed: ${dropped.length === 1 ? 'that send went' : 'those sends went'} with it, ` +
          `so neither the relay nor ${base}'s metrics sink gets ${dropped.length === 1 ? 'that line' : 'those lines'} any more; ` +
          (report ? `count the same event with ${base}.${report.method}() where the _v2 handles it` : `send ${dropped.length === 1 ? 'it' : 'them'} from the agent's own code where the _v2 handles that event`),
      );
    }
    if (unwired.length) {
      ctx.warnings.push(
        `${listed(unwired)} ${unwired.length === 1 ? 'sends' : 'send'} the agent's metrics as statsd lines over UDP: they still go to the statsd relay, ` +
          `and ${base}'s metrics sink never sees them; ` +
          (report ? `hand them to ${base}.${report.method}() as well` : `${base} has no metrics API the rewrite knows to hand them to`),
      );
    }
  },
};

interface ProbeSend {
  /** Where the hook override's text takes the send: its edit, the offset after its `status = super().<hook>()` line, the hook's name. */
  hook: { edit: number; at: number; name: string };
  /** The lines written there (the send, on the agent's self, its payload handed to the base). */
  text: string;
  payload: string;
}

/**
 * A statsd send of a removed HTTP health handler that runs once per legacy GET /health (in do_GET, after a
 * `!= "/health"` guard that returns, or in a branch testing the path is /health), moved into the base's
 * health hook when the base calls that hook exactly once per GET /health and nothing else does (BaseModel
 * .probeHooks; the agent's kept code calls neither it nor a base method calling it) and the health-hook
 * transform wrote its override. The send reads the agent only through the method's `agent = self` alias
 * (attributes the agent keeps) and module names; it is guarded on those attributes (a probe may come
 * before __init__ has set them). Null when any of that does not hold (the send is said dropped).
 */
function probeSend(ctx: PythonTransformContext, m: { body: SyntaxNode; node: SyntaxNode }, call: SyntaxNode): ProbeSend | null {
  const hook = healthHook(ctx);
  if (!ctx.base.probeHooks?.has(hook)) return null;
  const keptUse = (name: string) => ctx.refs.of(name).some((r) => r.kind !== 'string' && !isRemoved(ctx, r.node));
  if (keptUse(hook) || [...ctx.base.signalCalls.graph].some(([b, calls]) => calls.has(hook) && keptUse(b))) return null;
  const doGet = nearestFunction(call);
  const st = call.parent;
  if (doGet?.childForFieldName('name')?.text !== 'do_GET' || st?.type !== 'expression_statement') return null;
  if (!onceperHealthGet(doGet.childForFieldName('body')!, st)) return null;
  // The alias of the agent in the method holding the handler (`agent = self`).
  const alias = statements(m.body).map((x) => (x.type === 'expression_statement' ? x.namedChild(0) : null))
    .find((a) => a?.type === 'assignment' && a.childForFieldName('right')?.text === 'self' && a.childForFieldName('left')?.type === 'identifier')
    ?.childForFieldName('left')!.text;
  if (!alias) return null;
  const locals = new Set([...bindingsOf(m.node), ...bindingsOf(doGet)]);
  const attrs = new Set<string>();
  const swaps: Array<[number, number, string]> = [];
  let ok = true;
  walk(call, (n) => {
    if (n.type !== 'identifier' || n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('name')?.id === n.id) return;
    if (n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id) return;
    if (n.text === alias) {
      const attr = n.parent?.type === 'attribute' ? n.parent.childForFieldName('attribute')!.text : null;
      // An attribute the agent keeps assigning (not a method: what one does is not followed).
      if (!attr || ctx.agent.methods.has(attr) || !ctx.agent.assignments.some((a) => a.attr === attr && !isRemoved(ctx, a.stmt))) ok = false;
      else attrs.add(attr);
      swaps.push([n.startIndex, n.endIndex, 'self']);
    } else if (n.text === 'self' || locals.has(n.text)) ok = false;
  });
  if (!ok || !attrs.size) return null;
  const payload = call.childForFieldName('arguments')!.namedChildren[0]!;
  const rewrite = (from: number, to: number) => {
    let out = '';
    let at = from;
    for (const [a, b, t] of swaps.filter(([a, b]) => from <= a && b <= to)) {
      out += ctx.source.slice(at, a) + t;
      at = b;
    }
    return out + ctx.source.slice(at, to);
  };
  const send = rewrite(call.startIndex, payload.startIndex) + `self.${REPORT}(${rewrite(payload.startIndex, payload.endIndex)})` + rewrite(payload.endIndex, call.endIndex);
  // The hook's override, as health-hook wrote it: one, starting from the base's answer.
  const defs = ctx.edits.writtenOccurrences(`def ${hook}(self):`);
  if (defs.length !== 1) return null;
  const { edit, at, written } = defs[0]!;
  const first = new RegExp(`^([ \\t]*)\\w+ = super\\(\\)\\.${hook}\\(\\)[ \\t]*$`, 'm').exec(written.slice(at));
  if (!first) return null;
  const end = at + first.index + first[0].length;
  const indent = first[1]!;
  const { eol, unit } = ctx.layout;
  const ready = attrs.size === 1 ? `hasattr(self, "${[...attrs][0]}")` : `all(hasattr(self, a) for a in (${[...attrs].map((a) => `"${a}"`).join(', ')}))`;
  const text = [
    '',
    `${indent}# The removed health handler sent this statsd line on each GET /health; ${ctx.profile.base_class} calls ${hook}() once per GET /health.`,
    `${indent}if ${ready}:`,
    `${indent}${unit}${send.replace(/\r?\n/g, eol)}`,
  ].join(eol);
  return { hook: { edit, at: end, name: hook }, text, payload: payload.text };
}

/**
 * The statement runs once per GET of /health in the handler's do_GET body: inside branches testing the path is
 * /health (`if self.path == "/health":`) and try bodies only, or, straight in the body, after a guard
 * `if self.path != "/health": ... return`.
 */
function onceperHealthGet(body: SyntaxNode, st: SyntaxNode): boolean {
  let positive = false;
  let top = st;
  for (let n = st.parent; n && n.id !== body.id; n = n.parent) {
    const p = n.parent;
    if (n.type !== 'block' || !p) return false;
    if (p.type === 'if_statement' && p.childForFieldName('consequence')?.id === n.id && /path\b.*(==\s*["']\/health["']|\.startswith\(\s*["']\/health["'])/.test(p.childForFieldName('condition')?.text ?? '')) positive = true;
    else if (p.type !== 'try_statement') return false;
    top = p;
    n = p;
  }
  if (positive) return true;
  const before = statements(body).filter((x) => x.endIndex <= top.startIndex);
  return before.some((x) => {
    if (x.type !== 'if_statement' || x.childForFieldName('alternative') || !/path\b.*!=\s*["']\/health["']/.test(x.childForFieldName('condition')?.text ?? '')) return false;
    const last = statements(x.childForFieldName('consequence')).at(-1);
    return last?.type === 'return_statement';
  });
}

/**
 * An edit this transform made handing a send's payload to the base (`self._report_statsd(<payload>)`): code
 * that copies the send elsewhere (an interrupt clause into cleanup()) takes it along.
 */
export function isStatsdHandOff(ctx: PythonTransformContext, e: Edit): boolean {
  return e.label === LABEL && e.text === `self.${REPORT}(${ctx.source.slice(e.start, e.end)})`;
}

/** A send as the warnings name it: its method and line, and the method another transform moved it into. */
function sendPlace(s: Send): string {
  return `${s.method}() (line ${s.line}${s.moved ? `, moved into ${s.moved.into ? `${s.moved.into}()` : 'new code'}` : ''})`;
}

// The node types the searches below act on: walkTypes steps through the file's index of them, not every node.
const CALLS: ReadonlySet<string> = new Set(['call']);
const SCOPES: ReadonlySet<string> = new Set(['class_definition', 'function_definition']);
const CALLS_AND_SCOPES: ReadonlySet<string> = new Set(['call', ...SCOPES]);

/** `<x>.sendto(<payload>, <address>)` calls in a method's own code whose payload is a statsd line. */
function statsdSends(body: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  walkTypes(body, CALLS_AND_SCOPES, (n) => {
    // A nested class's `self` is not the agent; nor is a nested function's own `self` parameter.
    if (n.type === 'class_definition') return false;
    if (n.type === 'function_definition' && /\(\s*self\b/.test(n.childForFieldName('parameters')?.text ?? '')) return false;
    if (isStatsdSend(n, body)) out.push(n);
  });
  return out;
}

/**
 * Statsd sends in code nested in a method that has a `self` of its own (a handler class's methods, a nested
 * function taking `self`), which statsdSends leaves out: each with where it is (`HealthHandler.do_GET()`).
 */
function nestedSends(body: SyntaxNode): Array<{ call: SyntaxNode; where: string }> {
  const out: Array<{ call: SyntaxNode; where: string }> = [];
  walkTypes(body, SCOPES, (n) => {
    const own = n.type === 'class_definition' || (n.type === 'function_definition' && /\(\s*self\b/.test(n.childForFieldName('parameters')?.text ?? ''));
    if (!own) return;
    walkTypes(n, CALLS, (c) => {
      const fn = nearestFunction(c);
      if (!fn || !isStatsdSend(c, fn.childForFieldName('body')!)) return;
      const cls = fn.parent?.parent?.type === 'class_definition' ? fn.parent.parent : null;
      const name = fn.childForFieldName('name')!.text;
      out.push({ call: c, where: `${cls ? `${cls.childForFieldName('name')!.text}.` : ''}${name}()` });
    });
    return false;
  });
  return out;
}

/**
 * Statsd emitters outside the agent's methods that the agent uses: a class or function of the module whose
 * code sends statsd lines (a hand-made StatsClient), or a statsd client library the module imports.
 */
function outsideEmitters(ctx: PythonTransformContext): string[] {
  const cls = ctx.agent.cls.node;
  const usedAt = (name: string): number | null => {
    const use = ctx.refs.of(name).find((r) => r.kind !== 'string' && cls.startIndex <= r.start && r.end <= cls.endIndex);
    return use ? use.line : null;
  };
  const out: string[] = [];
  for (const top of ctx.module.root.namedChildren) {
    const def = top.type === 'decorated_definition' ? top.childForFieldName('definition') : top;
    if ((def?.type !== 'class_definition' && def?.type !== 'function_definition') || def.id === cls.id) continue;
    const name = def.childForFieldName('name')!.text;
    const use = usedAt(name);
    if (use === null) continue;
    walk(def, (n) => {
      const fn = n.type === 'function_definition' ? n : null;
      if (!fn) return;
      const sends = statsdSends(fn.childForFieldName('body')!).filter((c) => c.parent && nearestFunction(c)?.id === fn.id);
      for (const c of sends) {
        const where = def.type === 'class_definition' ? `${name}.${fn.childForFieldName('name')!.text}()` : `${name}()`;
        out.push(`${where} (line ${c.startPosition.row + 1}), which the agent uses at line ${use},`);
      }
    });
  }
  for (const [local, imp] of ctx.module.imports) {
    const from = imp.name ? `${imp.module}.${imp.name}` : imp.module;
    if (!STATSD_MODULE.test(from) && !STATSD_MODULE.test(imp.module)) continue;
    const use = usedAt(local);
    if (use !== null) out.push(`the statsd client library ${from} (imported at line ${imp.node.startPosition.row + 1}), which the agent uses at line ${use},`);
  }
  return out;
}

function nearestFunction(n: SyntaxNode): SyntaxNode | null {
  let p = n.parent;
  while (p && p.type !== 'function_definition') p = p.parent;
  return p;
}

/** A payload as a warning quotes it: at most 60 characters. */
function short(text: string): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

function listed(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The method that hands each statsd line of a payload to the base's report API and returns the payload. */
function reportMethod(base: string, method: string, suffix: string): string {
  const s = JSON.stringify(suffix);
  return [
    `def ${REPORT}(self, payload):`,
    `    # The statsd lines this agent sends over UDP, also handed to ${base}.${method}() so its metrics`,
    `    # sink carries them: counters (|c) add to <name>${suffix}, gauges (|g) are set (+N/-N move them),`,
    `    # timers (|ms, |h) add to <name>_ms_count${suffix} and <name>_ms_sum${suffix}; sets (|s) and tags have no`,
    `    # counterpart there. The payload goes on to the socket unchanged.`,
    `    text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray)) else str(payload)`,
    '    for line in text.splitlines():',
    '        name, _, rest = line.partition(":")',
    '        fields = rest.split("|")',
    '        try:',
    '            value = float(fields[0])',
    '            rate = float(next((f[1:] for f in fields[2:] if f.startswith("@")), 1)) or 1.0',
    '        except ValueError:',
    '            continue',
    '        kind = fields[1] if len(fields) > 1 else ""',
    '        metric = "".join(c if c.isascii() and c.isalnum() else "_" for c in name.strip())',
    '        if not metric:',
    '            continue',
    '        if metric[0].isdigit():',
    '            metric = "_" + metric',
    '        if kind == "c":',
    `            self.${method}(metric if metric.endswith(${s}) else metric + ${s}, value / rate)`,
    '        elif kind == "g":',
    `            gauges = self.__dict__.setdefault("${GAUGES}", {})`,
    '            gauges[metric] = gauges.get(metric, 0) + value if fields[0][:1] in ("+", "-") else value',
    `            self.${method}(metric, gauges[metric])`,
    '        elif kind in ("ms", "h"):',
    '            metric = metric if metric.endswith("_ms") else metric + "_ms"',
    `            self.${method}(metric + "_count${suffix}", 1 / rate)`,
    `            self.${method}(metric + "_sum${suffix}", value / rate)`,
    '    return payload',
    '',
  ].join('\n');
}
