// Concern: the interface a removed health server listened on. A legacy server bound to every
// interface (`("0.0.0.0", port)`, `("", port)`) answered monitors on other machines; the base binds
// the host its own setting chooses (the reference BaseAgent: AGENT_HOST, default 127.0.0.1), so the
// _v2 would answer on loopback only and a remote monitor would lose /health without a word. When the
// base reads that host from the environment, the _v2 gives it the legacy's host as a default
// (`os.environ.setdefault("AGENT_HOST", "0.0.0.0")` first in __init__, so a deployment's own value
// still wins); otherwise the change is reported with both hosts and the setting to change. A host the
// constructor takes as a parameter (`def __init__(self, host="127.0.0.1")`, `--host 0.0.0.0` from the
// entry point) is the caller's whatever its default: it becomes that default (`host or "0.0.0.0"`).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { ASYNC_LISTENER, WSGI_SERVER, bindArgument, serverSubclasses } from '../../src/analysis/ports.js';
import { bindHostOf, isWildcardHost, type BindHost } from '../../src/analysis/bind-host.js';
import { callee, isDocstring, selfAttribute, statements, walk } from '../../src/lang/python/syntax.js';
import { lineEnd, lineStart } from '../../src/lang/python/text.js';
import { removedHealthRegions } from './health-hook.js';
import { importAnchor } from './add-import.js';

const label = 'health-host';


export const healthHost: PythonTransform = {
  name: label,
  phase: 'edit',
  run(ctx) {
    const base = ctx.base.healthHost;
    if (!base || isWildcardHost(base.host) || !ctx.resolved) return;
    const wide = legacyWideBind(ctx);
    if (!wide) return;
    const where = `${ctx.file}:${wide.line}`;
    const baseSays = `${ctx.profile.base_class} binds ${base.env ? `$${base.env} (default ${base.host})` : base.setting ? `${base.setting} (default ${base.host})` : `"${base.host}"`}`;
    const legacy = `${wide.param ? `${wide.param} (the constructor's parameter, default ` : ''}"${wide.host.host}"${wide.host.host === '' ? ' (every interface)' : ''}${wide.param ? ')' : ''}`;
    const init = ctx.agent.cls.methods.get('__init__');
    const first = init ? statements(init.body).find((s) => !isDocstring(s)) : undefined;
    const os = osName(ctx);
    // Only a literal legacy host is carried over: one the legacy read from its own setting is that setting's to choose.
    const settable = base.env && !wide.host.env && !wide.host.setting && wide.host.host !== '::' && first && os;
    if (!settable) {
      ctx.warnings.push(
        `${where}: the legacy health server listened on ${legacy}${wide.host.env ? ` (from $${wide.host.env})` : wide.host.setting ? ` (from ${wide.host.setting})` : ''}; ` +
          `${baseSays}, so a monitor on another machine no longer reaches /health: ` +
          (base.env ? `set ${base.env}=0.0.0.0 where the _v2 is deployed` : `change the base's bind host (its line ${base.line})`),
      );
      return;
    }
    const indent = ctx.source.slice(lineStart(ctx.source, first!.startIndex), first!.startIndex);
    const eol = ctx.layout.eol;
    if (os.insert) ctx.edits.insert(os.insert, `import os${eol}`, label);
    // "" is every interface to the legacy's bind but empty to the base (`... or "127.0.0.1"`): spelled 0.0.0.0.
    // A host the caller chooses through a parameter stays the caller's (`host or`: "" is every interface to a bind).
    const value = wide.param ? `${wide.param} or "0.0.0.0"` : '"0.0.0.0"';
    ctx.edits.insert(
      lineStart(ctx.source, first!.startIndex),
      `${indent}# The legacy health server listened on ${wide.param ? `${wide.param} (default ${isWildcardHost(wide.host.host) ? 'every interface' : wide.host.host})` : 'every interface'}; ${ctx.profile.base_class} binds $${base.env} (default ${base.host}).${eol}` +
        `${indent}${os.name}.environ.setdefault("${base.env}", ${value})${eol}`,
      label,
    );
    ctx.warnings.push(
      `${where}: the legacy health server listened on ${legacy}; ${baseSays}: __init__ sets ${base.env} to ${wide.param ? `${value}` : '0.0.0.0'} unless the deployment sets it, so /health stays reachable from other machines`,
    );
  },
};

/** The first bind in removed health code to every interface, or to the host a constructor parameter gives, with its line. */
function legacyWideBind(ctx: PythonTransformContext): { host: BindHost; line: number; param?: string } | null {
  const servers = serverSubclasses(ctx.module.root);
  let found: { host: BindHost; line: number; param?: string } | null = null;
  // The removed code, and the statements setting up a removed health attribute (`self.health_server = HTTPServer(...)`).
  const healthAttrs = new Set([...ctx.resolved!.members].filter(([, p]) => p.finding === 'health' && p.kind === 'attribute').map(([name]) => name));
  const setUps = [...healthAttrs].flatMap((name) => ctx.agent.assignments.filter((a) => a.attr === name).map((a) => a.stmt));
  // A raw socket's bind is a statement of its own (`self.health_socket.bind(("0.0.0.0", port))`), not its assignment.
  walk(ctx.agent.cls.node, (n) => {
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const owner = f?.type === 'attribute' && f.childForFieldName('attribute')?.text === 'bind' ? selfAttribute(f.childForFieldName('object')!) : null;
    if (owner && healthAttrs.has(owner)) setUps.push(n);
  });
  for (const node of [...removedHealthRegions(ctx).map((r) => r.node), ...setUps]) {
    walk(node, (n) => {
      if (found || n.type !== 'call') return;
      const host = hostArgument(n, servers);
      const resolved = host ? resolveHost(ctx, host) : null;
      const param = resolved ? hostParameter(ctx, resolved) : null;
      const value = param?.host ?? bindHostOf(resolved);
      // A parameter's host is the caller's to choose (`--host 0.0.0.0` into a loopback default): carried over whatever its default.
      if (value && (param || isWildcardHost(value.host))) found = { host: value, line: n.startPosition.row + 1, ...(param ? { param: param.name } : {}) };
    });
    if (found) break;
  }
  return found;
}

/** The host node of a bind: the first element of its address tuple, or asyncio's host argument. */
function hostArgument(call: SyntaxNode, servers: ReadonlySet<string>): SyntaxNode | null {
  const arg = bindArgument(call, servers);
  if (arg?.type === 'tuple' && arg.namedChildren.length === 2) return arg.namedChild(0);
  const fn = callee(call) ?? '';
  const at = ASYNC_LISTENER.test(fn) ? 1 : WSGI_SERVER.test(fn) ? 0 : -1;
  if (at < 0) return null;
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'host');
  if (kw) return kw.childForFieldName('value');
  const positional = args.filter((a) => a.type !== 'keyword_argument');
  return positional.length >= at + 2 ? positional[at]! : null;
}

/** What a host written as a name stands for: the agent's attribute, a local, or a module constant assigned once. */
function resolveHost(ctx: PythonTransformContext, node: SyntaxNode): SyntaxNode {
  const attr = selfAttribute(node);
  if (attr) {
    const values = ctx.agent.assignments.filter((a) => a.attr === attr).map((a) => a.value);
    return values.length === 1 && values[0] ? values[0] : node;
  }
  if (node.type !== 'identifier') return node;
  let scope: SyntaxNode | null = node.parent;
  while (scope && scope.type !== 'function_definition') scope = scope.parent;
  for (const s of [scope?.childForFieldName('body'), ctx.module.root]) {
    if (!s) continue;
    const values: SyntaxNode[] = [];
    walk(s, (n) => {
      if (n.type === 'function_definition' && n.id !== scope?.id && s === ctx.module.root) return false;
      if (n.type === 'class_definition') return false;
      if (n.type === 'assignment' && n.childForFieldName('left')?.text === node.text) values.push(n.childForFieldName('right')!);
    });
    if (values.length === 1 && values[0]) return values[0];
    if (values.length) return node;
  }
  return node;
}

/**
 * `host` read in __init__ where it is a parameter with a literal default (`def __init__(self, host="0.0.0.0")`,
 * `self.host = host`), never rebound there: the parameter's name and the host its default binds.
 */
function hostParameter(ctx: PythonTransformContext, node: SyntaxNode): { name: string; host: BindHost } | null {
  const init = ctx.agent.cls.methods.get('__init__');
  if (node.type !== 'identifier' || !init || node.startIndex < init.body.startIndex || node.endIndex > init.body.endIndex) return null;
  const param = init.params.find((p) => p.name === node.text && p.kind === 'default');
  const host = param?.default ? bindHostOf(param.default) : null;
  if (!host || host.env || host.setting) return null;
  let rebound = false;
  walk(init.body, (n) => {
    if (rebound || n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment') && n.childForFieldName('left')?.text === node.text) rebound = true;
  });
  return rebound ? null : { name: node.text, host };
}

/** The module's name for `os` (and where to import it when it has none), or null when it cannot be imported. */
export function osName(ctx: PythonTransformContext): { name: string; insert?: number } | null {
  return moduleImport(ctx, 'os');
}

/** The name the module imports `module` under at its top level, or where `import <module>` can go (null when neither). */
export function moduleImport(ctx: PythonTransformContext, module: string): { name: string; insert?: number } | null {
  for (const [local, imp] of ctx.module.imports) {
    if (imp.module === module && imp.name === null && imp.node.parent?.type === 'module') return { name: local };
  }
  if (ctx.module.imports.has(module) || ctx.refs.of(module).length) return null;
  const anchor = importAnchor(ctx.module.root);
  return anchor ? { name: module, insert: lineEnd(ctx.source, anchor.endIndex) } : null;
}
