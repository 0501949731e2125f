// Concern: code of the agent's own file that talks to the legacy health port in the legacy's own protocol
// (a `ping` subcommand: `socket.create_connection((host, port)).sendall(b"PING")`). The base answers
// HTTP there now, so that caller gets an HTTP error page instead of its reply: each is named (file:line)
// as a review item, beside the general protocol-change warning.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep } from '../../src/lang/python/transform-context.js';
import { callee, walkTypes } from '../../src/lang/python/syntax.js';
import { CALL_NODES } from '../../src/analysis/agent-model.js';
import { normPort } from '../../src/analysis/ports.js';
import { healthPortExpressions } from './remove-health.js';
import { rawPortMentions } from '../../src/analysis/probe-references.js';

/** A raw client connection: `socket.create_connection(addr)`, `sock.connect(addr)`. */
const CONNECT = /(^|\.)(create_connection|connect|connect_ex)$/;

export function reportRawHealthCallers(ctx: PythonTransformContext, legacy: string, now: string): void {
  const ports = healthPortExpressions(ctx);
  const exprs = new Set([...ports, ...constructedWith(ctx, ports)]);
  const literals = healthPortLiterals(ctx, ports);
  const health = (n: SyntaxNode) => reachesHealthPort(n, exprs, literals);
  walkTypes(ctx.module.root, CALL_NODES, (n) => {
    if (!CONNECT.test(callee(n) ?? '') || isRemoved(ctx, n)) return;
    const addr = n.childForFieldName('arguments')?.namedChild(0);
    const port = addr?.type === 'tuple' && addr.namedChildren.length === 2 ? addr.namedChild(1)! : null;
    if (!port) return;
    // The port, or a parameter of the function it is in (`def ping(host, port)`) that a caller gives it.
    const via = health(port) ? [] : givenBy(ctx, port).filter((c) => health(c.arg));
    if (!health(port) && !via.length) return;
    const line = n.startPosition.row + 1;
    const from = via.length ? ` (given the health port at line ${via.map((c) => c.line).join(', ')})` : '';
    const fn = enclosingName(n);
    const sent = sentPayload(n);
    keep(ctx, fn, line,
      `${ctx.file}:${line} connects to the legacy health port${from}, which answered over ${legacy}; ${ctx.profile.base_class} answers ${now} there now, ` +
        `so this caller${sent ? ` (it sends ${sent})` : ''} gets a reply it does not expect. ${decision(ctx, fn === '<module>' ? 'this code' : `${fn}()`, now)}`);
  });
  reportRawProbes(ctx, ports, legacy, now);
}

/** What a person must choose between for a client of the legacy health protocol. */
function decision(ctx: PythonTransformContext, client: string, now: string): string {
  return `Decide which side moves: point ${client} at ${now === 'HTTP' ? 'GET /health' : `${ctx.profile.base_class}'s health port in ${now}`} and accept that it then reads ` +
    `${ctx.profile.base_class}'s health answer, not the legacy's reply, or keep the legacy listener on a port of its own (not the health port ${ctx.profile.base_class} binds) and point ${client} there`;
}

/**
 * Probes in the repository's config and script files (a compose healthcheck, a systemd or cron line) that
 * talk to the legacy's default health port with a raw TCP client: one that sends and reads (`echo PING | nc
 * host 7711`) is a review item naming its file:line; a connect-only check (`nc -z`) passes on the base's
 * server too, and is only said.
 */
function reportRawProbes(ctx: PythonTransformContext, ports: Set<string>, legacy: string, now: string): void {
  if (!ctx.location) return;
  const literals = healthPortLiterals(ctx, ports);
  const agentFile = ctx.location.agentFile;
  for (const m of rawPortMentions(ctx.location.root, [agentFile, agentFile.replace(/\.py$/, '_v2.py')], literals)) {
    const at = `${m.file}:${m.line} (${m.text})`;
    if (m.speaks) {
      keep(ctx, m.file, ctx.agent.cls.line,
        `${at} talks to the legacy health port with a raw TCP client, which the legacy answered over ${legacy}; ${ctx.profile.base_class} answers ${now} there now, ` +
          `so that probe fails on the _v2. ${decision(ctx, 'that probe', now)}`);
    } else {
      ctx.warnings.push(`${at} only connects to the legacy health port (a connect-only check): ${ctx.profile.base_class}'s ${now} server accepts the connection too, so it still passes`);
    }
  }
}

/** The bytes a raw client sends on its connection in the same function (`conn.sendall(b"PING")`), as written. */
function sentPayload(connect: SyntaxNode): string | null {
  let fn: SyntaxNode | null = connect.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'module') fn = fn.parent;
  let out: string | null = null;
  if (fn) {
    walkTypes(fn, CALL_NODES, (c) => {
      if (out || !/\.(sendall|send)$/.test(callee(c) ?? '')) return;
      const arg = c.childForFieldName('arguments')?.namedChild(0);
      if (arg?.type === 'string' || arg?.type === 'concatenated_string') out = arg.text;
    });
  }
  return out;
}

/** `args.health_port`, `self.health_check_port`, the literal the legacy defaulted it to: the health port. */
function reachesHealthPort(port: SyntaxNode, exprs: Set<string>, literals: Set<number>): boolean {
  if (port.type === 'integer') return literals.has(Number(port.text));
  return exprs.has(normPort(port.text));
}

/** What the module hands the agent's constructor as its health port (`Agent(health_check_port=args.health_port)`). */
function constructedWith(ctx: PythonTransformContext, ports: Set<string>): string[] {
  const init = ctx.agent.cls.methods.get('__init__');
  const params = (init?.params ?? []).filter((p) => p.kind === 'plain' || p.kind === 'default').slice(1).map((p) => p.name);
  const out: string[] = [];
  walkTypes(ctx.module.root, CALL_NODES, (n) => {
    if (callee(n) !== ctx.agent.cls.name) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    args.forEach((a, i) => {
      if (a.type === 'keyword_argument') {
        if (ports.has(a.childForFieldName('name')!.text)) out.push(normPort(a.childForFieldName('value')!.text));
      } else if (params[i] && ports.has(params[i]!)) out.push(normPort(a.text));
    });
  });
  return out;
}

/** A parameter of the module function the node is in: what each call of that function gives it, with the call's line. */
function givenBy(ctx: PythonTransformContext, node: SyntaxNode): Array<{ arg: SyntaxNode; line: number }> {
  if (node.type !== 'identifier') return [];
  let fn: SyntaxNode | null = node.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn || fn.parent?.type !== 'module') return [];
  const names = (fn.childForFieldName('parameters')?.namedChildren ?? []).map((p) => (p.type === 'identifier' ? p.text : p.childForFieldName('name')?.text ?? ''));
  const index = names.indexOf(node.text);
  if (index < 0) return [];
  const name = fn.childForFieldName('name')!.text;
  const out: Array<{ arg: SyntaxNode; line: number }> = [];
  walkTypes(ctx.module.root, CALL_NODES, (n) => {
    if (callee(n) !== name) return;
    const args = n.childForFieldName('arguments')?.namedChildren ?? [];
    const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')!.text === node.text);
    const arg = kw ? kw.childForFieldName('value') : args[index]?.type === 'keyword_argument' ? null : args[index];
    if (arg) out.push({ arg, line: n.startPosition.row + 1 });
  });
  return out;
}

/** The legacy's default health port: its __init__'s default for that parameter (or the port's, plus one). */
function healthPortLiterals(ctx: PythonTransformContext, ports: Set<string>): Set<number> {
  const out = new Set<number>();
  const init = ctx.agent.cls.methods.get('__init__');
  for (const p of init?.params ?? []) {
    const d = p.default && /^\d+$/.test(p.default.text) ? Number(p.default.text) : null;
    if (d === null) continue;
    if (ports.has(p.name)) out.add(d);
    if (ports.has(`${p.name}+1`)) out.add(d + 1);
  }
  return out;
}

/** The function a call sits in (`ping`), or `<module>`. */
function enclosingName(n: SyntaxNode): string {
  for (let p: SyntaxNode | null = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return p.childForFieldName('name')!.text;
  }
  return '<module>';
}
