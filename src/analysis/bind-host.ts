// The host a listener binds, read from code: a literal (`"0.0.0.0"`, `""`), or a setting with a
// default (`os.environ.get("AGENT_HOST") or "127.0.0.1"`, `os.getenv("HOST", "0.0.0.0")`,
// `cfg.get("host", "0.0.0.0")`). Used to tell when a legacy listener answered on more interfaces
// than the base's will (a monitor on another machine then loses /health without a word).
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee, stringValue } from '../lang/python/syntax.js';

export interface BindHost {
  /** The host bound when nothing is configured. */
  host: string;
  /** The environment variable that chooses it, when one does (`AGENT_HOST`). */
  env: string | null;
  /** Something other than the environment chooses it (a config lookup's default): the text of that lookup. */
  setting: string | null;
}

const ENV_GET = /^(os\.environ\.get|os\.getenv|environ\.get|getenv)$/;

/** The host an expression binds, or null when it cannot be read (a call, a parameter). */
export function bindHostOf(node: SyntaxNode | null): BindHost | null {
  if (!node) return null;
  if (node.type === 'parenthesized_expression') return bindHostOf(node.namedChild(0));
  const s = stringValue(node);
  if (s !== null) return { host: s, env: null, setting: null };
  // `<lookup> or "127.0.0.1"`
  const left = node.type === 'boolean_operator' ? node.childForFieldName('left') : null;
  const right = node.type === 'boolean_operator' ? node.childForFieldName('right') : null;
  if (left && right && node.text.slice(left.endIndex - node.startIndex, right.startIndex - node.startIndex).trim() === 'or') {
    const fallback = stringValue(right);
    const inner = left?.type === 'call' ? lookup(left) : null;
    if (fallback !== null && inner) return { host: fallback, env: inner.env, setting: inner.env ? null : left!.text };
    return null;
  }
  if (node.type === 'call') {
    const l = lookup(node);
    if (l && l.fallback !== null) return { host: l.fallback, env: l.env, setting: l.env ? null : node.text };
  }
  return null;
}

/** `os.environ.get("X", d)` / `cfg.get("host", d)`: the variable (for the environment) and the default. */
function lookup(call: SyntaxNode): { env: string | null; fallback: string | null } | null {
  const fn = callee(call) ?? '';
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  if (!/(^|\.)(get|getenv)$/.test(fn) || !args.length) return null;
  const key = stringValue(args[0]!);
  if (key === null) return null;
  const fallback = args[1] ? stringValue(args[1]) : null;
  return { env: ENV_GET.test(fn) ? key : null, fallback };
}

/** Every interface: `0.0.0.0`, `""` (Python's "all"), `::`. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '' || host === '::';
}
