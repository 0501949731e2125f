// Concern `metrics`, statsd over UDP: an agent that sends its counters and gauges as statsd lines
// (`this.statsd.send(`fraud.${name}:${value}|c`, port, host)` on a node:dgram socket) keeps sending
// them, so the statsd relay still gets them, but the base's metrics sink (what the fleet now reads)
// never saw them, and nothing said so. When the base has reportMetric(), each such send that stays
// hands its payload to a method the rewrite adds, which records the lines there (counters |c add to
// <name>_total, gauges |g are set, timers |ms add to <name>_ms_count_total and <name>_ms_sum_total) and
// returns the payload unchanged to the socket. The TypeScript twin of transforms/python/statsd-metrics.ts.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';

const REPORT = 'reportStatsd';
const GAUGES = 'statsdGauges';
/** A statsd line's shape in a string or template: `<name>:<value>|<type>`. */
const STATSD_LINE = /:[^:|\s]*\|(?:c|g|ms|h|s|\$\{[^}]*\})(?:$|\||\\n|@)/;

export function handStatsdToBase(ctx: TsRewriteContext): void {
  const report = ctx.base.members.get('reportMetric');
  if (!report || report.kind !== 'method') return;
  // (super.reportMetric() below: the agent's own reportMetric(), renamed or not, is not the base's.)
  if (ctx.members.has(REPORT) || ctx.members.has(GAUGES)) return;
  const sends = descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).filter((c) => statsdPayload(c) && !ctx.edits.removes(c.getStart(), c.getEnd()));
  if (sends.length === 0) return;
  for (const send of sends) {
    const payload = statsdPayload(send)!;
    ctx.edits.replace(payload.getStart(), payload.getEnd(), `this.${REPORT}(${payload.getText()})`);
  }
  const u = ctx.unit;
  const typed = !ctx.js;
  ctx.newFields.push(typed ? `private ${GAUGES} = new Map<string, number>();` : `${GAUGES} = new Map();`);
  ctx.newMembers.push({
    name: REPORT,
    text: [
      `// The statsd lines this agent sends over UDP, also handed to ${ctx.baseClass}.reportMetric() so its metrics`,
      `// sink carries them: counters (|c) add to <name>_total, gauges (|g) are set (+N/-N move them), timers`,
      `// (|ms, |h) add to <name>_ms_count_total and <name>_ms_sum_total; sets (|s) have no counterpart there.`,
      `// The payload goes on to the socket unchanged.`,
      typed ? `private ${REPORT}<T extends string | Uint8Array>(payload: T): T {` : `${REPORT}(payload) {`,
      `${u}const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');`,
      `${u}for (const line of text.split('\\n')) {`,
      `${u}${u}const at = line.indexOf(':');`,
      `${u}${u}const fields = line.slice(at + 1).split('|');`,
      `${u}${u}const value = Number(fields[0]);`,
      `${u}${u}const rate = Number(fields.slice(2).find((f) => f.startsWith('@'))?.slice(1) ?? 1) || 1;`,
      `${u}${u}let metric = line.slice(0, at).trim().replace(/[^A-Za-z0-9_]/g, '_');`,
      `${u}${u}if (at < 1 || fields[0] === '' || !Number.isFinite(value) || metric === '') continue;`,
      `${u}${u}if (/^\\d/.test(metric)) metric = \`_\${metric}\`;`,
      `${u}${u}const kind = fields[1] ?? '';`,
      `${u}${u}if (kind === 'c') super.reportMetric(metric.endsWith('_total') ? metric : \`\${metric}_total\`, value / rate);`,
      `${u}${u}else if (kind === 'g') {`,
      `${u}${u}${u}const next = /^[+-]/.test(fields[0]${typed ? '!' : ''}) ? (this.${GAUGES}.get(metric) ?? 0) + value : value;`,
      `${u}${u}${u}this.${GAUGES}.set(metric, next);`,
      `${u}${u}${u}super.reportMetric(metric, next);`,
      `${u}${u}} else if (kind === 'ms' || kind === 'h') {`,
      `${u}${u}${u}const timer = metric.endsWith('_ms') ? metric : \`\${metric}_ms\`;`,
      `${u}${u}${u}super.reportMetric(\`\${timer}_count_total\`, 1 / rate);`,
      `${u}${u}${u}super.reportMetric(\`\${timer}_sum_total\`, value / rate);`,
      `${u}${u}}`,
      `${u}}`,
      `${u}return payload;`,
      `}`,
    ].join('\n'),
  });
  ctx.warnings.push(
    `the statsd send${sends.length > 1 ? 's' : ''} at line ${sends.map((s) => s.getStartLineNumber()).join(', ')} now also hand${sends.length > 1 ? '' : 's'} ` +
      `${sends.length > 1 ? 'their payloads' : 'its payload'} to ${ctx.baseClass}.reportMetric() through ${REPORT}() (counters |c add to <name>_total, gauges |g are set, ` +
      `timers add to <name>_ms_count_total and <name>_ms_sum_total), so the base's metrics sink carries them; the lines still go to statsd unchanged`,
  );
}

/** The payload of `<x>.send(payload, ...)` when it is a statsd line (or a local bound once to one, `Buffer.from(...)` or not). */
function statsdPayload(call: CallExpression): Node | null {
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'send') return null;
  const [payload] = call.getArguments();
  if (!payload || payload.getText().startsWith(`this.${REPORT}(`)) return null;
  let value: Node | undefined = payload;
  if (Node.isIdentifier(payload)) {
    const decl = payload.getSymbol()?.getDeclarations()[0];
    const fn = call.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
    if (!decl || !Node.isVariableDeclaration(decl) || !fn?.containsRange(decl.getPos(), decl.getEnd())) return null;
    if (!decl.getVariableStatement()?.getDeclarationKind().startsWith('const')) return null;
    value = decl.getInitializer();
  }
  if (value && Node.isCallExpression(value) && value.getExpression().getText() === 'Buffer.from') value = value.getArguments()[0];
  if (!value || !(Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value) || Node.isTemplateExpression(value))) return null;
  return STATSD_LINE.test(value.getText().slice(1, -1)) ? payload : null;
}
