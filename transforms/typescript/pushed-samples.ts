// What a hand-made Pushgateway push sends, and where: `PUT <gateway>/metrics/job/<job>[/<label>/<value>...]`
// with a body of exposition lines (`stock_syncs_total ${this.syncs}\n...`). Part of the registry
// concern (remove-registry-push.ts): a push to the group the base pushes to (the agent's own job)
// becomes reportMetric() calls; a push to another group is the agent's own business and stays.
import { Node, SyntaxKind, type Expression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';

export interface PushTarget {
  /** The job the push names, when it is known before the agent runs (`this.name`: the agent's own). */
  job: string | null;
  /** `this.name` (or the agent's name): the group the base pushes to. */
  own: boolean;
  /** Grouping labels after the job (`/instance/ledger-exporter`): a group of its own. */
  grouped: boolean;
  line: number;
  /** The URL path as written, from `/metrics/job/` on. */
  path: string;
}

export interface PushedSample {
  name: string;
  /** `{ export: 'ledger' }`, or '' without labels. */
  labels: string;
  /** The value's expression text (a number literal or the template's `${...}`). */
  value: string;
  numeric: boolean;
  /** The `agent="..."` label it carries, out of `labels`: the base labels every sample agent="<its name>". */
  agent?: string;
}

const JOB_PATH = '/metrics/job/';

/** The Pushgateway group a push method sends to, from the URL literal naming `/metrics/job/`. */
export function pushTarget(body: Node, ownName: string): PushTarget | null {
  for (const lit of body.getDescendants()) {
    if (!Node.isStringLiteral(lit) && !Node.isNoSubstitutionTemplateLiteral(lit) && !Node.isTemplateExpression(lit)) continue;
    const parts = templateParts(lit);
    const text = parts.map((p) => (typeof p === 'string' ? p : '\u0000')).join('');
    const at = text.indexOf(JOB_PATH);
    if (at < 0) continue;
    const rest = text.slice(at + JOB_PATH.length);
    const seg = /^[^/?]*/.exec(rest)![0];
    const grouped = rest.length > seg.length && rest[seg.length] === '/' && rest.length > seg.length + 1;
    let job: string | null = null;
    let own = false;
    if (seg === '\u0000') {
      // `/metrics/job/${...}`: the one expression before it names the job.
      const exprs = parts.filter((p): p is Expression => typeof p !== 'string');
      const index = text.slice(0, at + JOB_PATH.length).split('\u0000').length - 1;
      let e: Node | undefined = exprs[index];
      if (e && Node.isCallExpression(e) && e.getExpression().getText() === 'encodeURIComponent' && e.getArguments().length === 1) e = e.getArguments()[0];
      if (e && e.getText().replace(/\s+/g, '') === 'this.name') own = true;
      else if (e) job = literalValue(e);
    } else if (!seg.includes('\u0000')) job = decodeSafe(seg);
    if (job !== null && job === ownName) own = true;
    return { job: own ? ownName : job, own, grouped, line: lit.getStartLineNumber(), path: `${JOB_PATH}${rest.replace(/\u0000/g, '${…}')}` };
  }
  return null;
}

/** A string literal, or a const of the file initialised with one (`const JOB = 'rates'`). */
function literalValue(e: Node): string | null {
  if (Node.isStringLiteral(e) || Node.isNoSubstitutionTemplateLiteral(e)) return e.getLiteralText();
  if (!Node.isIdentifier(e)) return null;
  const decl = e.getSymbol()?.getDeclarations()[0];
  const init = decl && Node.isVariableDeclaration(decl) && decl.getVariableStatement()?.getDeclarationKind() === 'const' ? decl.getInitializer() : undefined;
  return init && (Node.isStringLiteral(init) || Node.isNoSubstitutionTemplateLiteral(init)) ? init.getLiteralText() : null;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A template's text pieces (cooked) and expressions, in order; a plain string is one piece. */
function templateParts(n: Node): Array<string | Expression> {
  if (Node.isStringLiteral(n) || Node.isNoSubstitutionTemplateLiteral(n)) return [n.getLiteralText()];
  if (Node.isTemplateExpression(n)) {
    const out: Array<string | Expression> = [n.getHead().getLiteralText()];
    for (const span of n.getTemplateSpans()) out.push(span.getExpression(), span.getLiteral().getLiteralText());
    return out;
  }
  return [];
}

/**
 * The exposition a push sends, when it is written out sample by sample: a template (or a `+`
 * chain of them, or an array of them joined with '\n') of `name{label="v"} ${value}` lines and
 * `#` comments. Null for any other shape (a registry's text, a conditional line, a loop).
 */
export function exposedSamples(ctx: TsRewriteContext, expr: Node): PushedSample[] | null {
  const pieces = expositionPieces(expr);
  if (!pieces) return null;
  const lines: Array<{ text: string; exprs: Expression[] }> = [{ text: '', exprs: [] }];
  for (const p of pieces) {
    if (typeof p === 'string') {
      const split = p.split('\n');
      lines[lines.length - 1]!.text += split[0];
      for (const s of split.slice(1)) lines.push({ text: s, exprs: [] });
    } else {
      lines[lines.length - 1]!.text += '\u0000';
      lines[lines.length - 1]!.exprs.push(p);
    }
  }
  const out: PushedSample[] = [];
  for (const line of lines) {
    const t = line.text.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}\u0000]*)\})?\s+(\u0000|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/.exec(t);
    if (!m) return null;
    const labels = m[2] ? labelObject(ctx, m[2]) : { text: '' };
    if (labels === null) return null;
    const e = line.exprs[0];
    const value = m[3] === '\u0000' ? e!.getText() : m[3]!;
    out.push({ name: m[1]!, labels: labels.text, value, numeric: m[3] !== '\u0000' || isNumeric(e!), ...(labels.agent !== undefined ? { agent: labels.agent } : {}) });
  }
  return out.length > 0 ? out : null;
}

function isNumeric(e: Node): boolean {
  try {
    const t = e.getType();
    return t.isNumber() || t.isNumberLiteral();
  } catch {
    return false;
  }
}

/**
 * `export="ledger",zone="eu"` → `{ export: 'ledger', zone: 'eu' }`; null for anything else. An
 * `agent` label is set apart: the base writes its own (agent="<name>") over any the agent gives.
 */
function labelObject(ctx: TsRewriteContext, text: string): { text: string; agent?: string } | null {
  const props: string[] = [];
  let agent: string | undefined;
  const re = /\s*([a-zA-Z_]\w*)="([^"\\]*)"\s*(,|$)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length && (re.lastIndex = pos, (m = re.exec(text)))) {
    if (m[1] === 'agent') agent = m[2]!;
    else props.push(`${m[1]}: ${ctx.quote}${m[2]!.replace(new RegExp(ctx.quote, 'g'), `\\${ctx.quote}`)}${ctx.quote}`);
    pos = re.lastIndex;
  }
  if (pos !== text.length || (props.length === 0 && agent === undefined)) return null;
  return { text: props.length > 0 ? `{ ${props.join(', ')} }` : '', ...(agent !== undefined ? { agent } : {}) };
}

function expositionPieces(expr: Node): Array<string | Expression> | null {
  while (Node.isParenthesizedExpression(expr)) expr = expr.getExpression();
  if (Node.isStringLiteral(expr) || Node.isNoSubstitutionTemplateLiteral(expr) || Node.isTemplateExpression(expr)) return templateParts(expr);
  if (Node.isBinaryExpression(expr) && expr.getOperatorToken().getKind() === SyntaxKind.PlusToken) {
    const l = expositionPieces(expr.getLeft());
    const r = expositionPieces(expr.getRight());
    return l && r ? [...l, ...r] : null;
  }
  // `[...lines].join('\n')`
  if (Node.isCallExpression(expr)) {
    const callee = expr.getExpression();
    const [sep] = expr.getArguments();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'join' || !sep || !Node.isStringLiteral(sep) || sep.getLiteralText() !== '\n') return null;
    const arr = callee.getExpression();
    if (!Node.isArrayLiteralExpression(arr)) return null;
    const out: Array<string | Expression> = [];
    for (const [i, el] of arr.getElements().entries()) {
      const p = expositionPieces(el);
      if (!p) return null;
      if (i > 0) out.push('\n');
      out.push(...p);
    }
    return out;
  }
  return null;
}
