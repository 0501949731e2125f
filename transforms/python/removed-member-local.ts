// Concern: a local of a method that holds what a removed member built, and is then only torn down
// (`server = self._start_health_server()` ... `finally: server.shutdown()`), or named in a log line. remove-health proposes both
// statements with the member (localHealthEndpoints); run() is read without them, as it is read without
// the statements of removed members themselves, so the loop it leaves is the base's.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';

const TEARDOWN = /^(shutdown|server_close|close)$/;

/**
 * Ids of the statements of `fn` that exist only for a local assigned from a removed member's call with no
 * arguments: that assignment, each `local.shutdown()` / `server_close()` / `close()` statement and each log
 * line naming it (the rewrite drops those with the member; its reads are the removed server's). A local
 * mentioned anywhere else (read, handed on, assigned again) keeps every statement.
 */
export function removedMemberLocalStatements(fn: PyFunction, removed: ReadonlySet<string>): Set<number> {
  const out = new Set<number>();
  if (!removed.size) return out;
  const assigned = new Map<string, SyntaxNode[]>();
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'expression_statement') return;
    const a = n.namedChild(0);
    const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
    const right = a?.childForFieldName('right');
    if (left?.type !== 'identifier' || right?.type !== 'call' || a!.childForFieldName('type')) return;
    const f = right.childForFieldName('function');
    const member = f ? selfAttribute(f) : null;
    if (!member || !removed.has(member) || (right.childForFieldName('arguments')?.namedChildCount ?? 0) !== 0) return;
    assigned.set(left.text, [...(assigned.get(left.text) ?? []), n]);
  });
  for (const [local, [assignment, ...again]] of assigned) {
    if (again.length) continue;
    const group = [assignment!];
    let stray = false;
    walk(fn.body, (n) => {
      if (stray) return false;
      if (n.type !== 'identifier' || n.text !== local) return;
      const left = assignment!.namedChild(0)!.childForFieldName('left')!;
      if (n.id === left.id) return;
      const stmt = teardownStatement(n) ?? logLine(n);
      if (stmt) group.push(stmt);
      else stray = true;
    });
    if (!stray) for (const s of group) out.add(s.id);
  }
  return out;
}

/** The log line a mention of the local sits in (`logger.info("health on %s:%d", *server.server_address)`): it goes too. */
function logLine(name: SyntaxNode): SyntaxNode | null {
  let n: SyntaxNode | null = name;
  while (n && n.type !== 'expression_statement' && n.type !== 'block') n = n.parent;
  return n?.type === 'expression_statement' && isLogCall(n.namedChild(0)) ? n : null;
}

/** `local.shutdown()` as a statement of its own, from the local's identifier. */
function teardownStatement(name: SyntaxNode): SyntaxNode | null {
  const attr = name.parent;
  if (attr?.type !== 'attribute' || attr.childForFieldName('object')?.id !== name.id || !TEARDOWN.test(attr.childForFieldName('attribute')!.text)) return null;
  const call = attr.parent;
  if (call?.type !== 'call' || call.childForFieldName('function')?.id !== attr.id || (call.childForFieldName('arguments')?.namedChildCount ?? 0) !== 0) return null;
  const stmt = call.parent;
  return stmt?.type === 'expression_statement' && stmt.namedChildCount === 1 ? stmt : null;
}
