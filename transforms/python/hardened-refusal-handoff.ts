// Concern (seed 001): a cycle whose refused batch goes to a second destination, not to a queue.
// `if not self._post(batch): self._relay(batch)` where _relay() sends the batch over another transport
// (UDP to a syslog relay, a local socket) and keeps nothing the agent reads back: nothing re-sends it, so
// it is no unsent-message queue, and removing it as one silently drops that delivery. The base's refusal
// lands in one place: `_publish_with_retry` hands what it could not publish (retries spent, or the
// breaker open) to `local_queue.enqueue(events)`, once per batch. So the hand-off stays a method of the
// agent and the base's local_queue becomes its own queue behind a front that hands each refused event to
// it first: same destination, same moment (after the bus said no), once per batch. The base does not
// keep it as well: the legacy re-posted nothing, and a re-send when the bus is back would put every
// relayed batch in front of the SOC twice (relay and bus), so the front is told the hand-off took it.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { selfAttribute, walk } from '../../src/lang/python/syntax.js';

export const HANDOFF_CLASS = 'RefusedEventsHandOff';

/** Calls that put something into a store the agent could read back. */
const STORE_CALL = /^(append|appendleft|extend|extendleft|insert|put|put_nowait|enqueue|push|add|update|setdefault|write|writelines|execute|executemany|dump)$/;
/** Calls that hand data to another process: a socket, an HTTP client, a logging handler's emit. */
const SEND_CALL = /^(sendto|sendall|send|sendmsg|urlopen|emit)$/;

/**
 * A one-event method that sends what it is handed somewhere else and keeps nothing: it assigns no
 * attribute of the agent (nor an item of one), calls no store operation on one, opens no file, and the
 * methods of the agent it calls (`self._siem_send(msgid, payload)` formatting one line each) keep nothing
 * either; somewhere on that path it calls a send (`self.relay.sendto(...)`, `sock.sendall(...)`). What it
 * sent is out of the agent's hands, so nothing can re-send it: it is a destination, not a queue.
 */
export function sendsAndKeepsNothing(fn: PyFunction, agentMethods: ReadonlyMap<string, PyFunction>): boolean {
  const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  if (params.length !== 1 || params[0]!.kind !== 'plain') return false;
  const r = sendingPath(fn, agentMethods, new Set());
  return r.sends && !r.keeps;
}

/** What a method and the agent methods it calls do: send somewhere, keep something. */
function sendingPath(fn: PyFunction, agentMethods: ReadonlyMap<string, PyFunction>, seen: Set<string>): { sends: boolean; keeps: boolean } {
  if (fn.isAsync || fn.decorators.length || seen.has(fn.name)) return { sends: false, keeps: true };
  seen.add(fn.name);
  let sends = false;
  let keeps = false;
  walk(fn.body, (n) => {
    if (keeps) return false;
    if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') {
      keeps = true;
      return false;
    }
    if (n.type === 'assignment' || n.type === 'augmented_assignment') {
      let left: SyntaxNode | null = n.childForFieldName('left');
      while (left?.type === 'subscript') left = left.childForFieldName('value');
      if (left && selfAttribute(left)) keeps = true;
      return;
    }
    if (n.type === 'global_statement' || n.type === 'nonlocal_statement') keeps = true;
    if (n.type !== 'call' || isLogCall(n)) return;
    const f = n.childForFieldName('function')!;
    if (f.type === 'identifier' && /^(open|print)$/.test(f.text)) keeps = true;
    if (f.type !== 'attribute') return;
    const name = f.childForFieldName('attribute')!.text;
    const own = selfAttribute(f);
    const helper = own ? agentMethods.get(own) : undefined;
    if (helper) {
      const r = sendingPath(helper, agentMethods, seen);
      sends ||= r.sends;
      keeps ||= r.keeps;
      return;
    }
    const obj = f.childForFieldName('object')!;
    if (selfAttribute(obj) && STORE_CALL.test(name)) keeps = true;
    if (SEND_CALL.test(name)) sends = true;
  });
  // A path, not a set of visited methods: a helper called twice is read twice, a method calling itself keeps.
  seen.delete(fn.name);
  return { sends, keeps };
}

/** `self.X += 1`, `self.X[k] += n`: a count the agent keeps (a number added, nothing else read). */
function countStatement(stmt: SyntaxNode): boolean {
  const e = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
  if (e?.type !== 'augmented_assignment' || e.childForFieldName('operator')?.text !== '+=') return false;
  let left: SyntaxNode | null = e.childForFieldName('left');
  if (left?.type === 'subscript') left = left.childForFieldName('value');
  return !!left && !!selfAttribute(left) && ['integer', 'float'].includes(e.childForFieldName('right')?.type ?? '');
}

/**
 * The agent's own store for a refused event that also counts (`_keep(report)`: `if len(self.backlog) ==
 * self.backlog.maxlen: self.dropped += 1; log`, then `self.backlog.append(report)`): one unconditional
 * store of its one parameter into an attribute of the agent, and besides it only counts, log lines and
 * ifs whose conditions call nothing but len() around such statements. The attribute stored into, else null.
 * Called by the base in place of its own enqueue, it keeps storing and counting as it did (a count read by
 * /health goes on counting what the full backlog drops).
 */
export function countingStore(fn: PyFunction): string | null {
  if (fn.isAsync || fn.decorators.length) return null;
  const params = fn.params.filter((p, i) => i > 0 && p.kind !== 'separator');
  if (params.length !== 1 || params[0]!.kind !== 'plain') return null;
  const param = params[0]!.name;
  let counts = 0;
  const readsOnly = (cond: SyntaxNode) => {
    let ok = true;
    walk(cond, (n) => {
      if (n.type === 'call' && n.childForFieldName('function')?.text !== 'len') ok = false;
      if (n.type === 'named_expression' || n.type === 'lambda' || n.type === 'await') ok = false;
    });
    return ok;
  };
  const allowed = (stmt: SyntaxNode): boolean => {
    if (countStatement(stmt)) return ++counts > 0;
    if (stmt.type === 'expression_statement' && isLogCall(stmt.namedChild(0))) return true;
    if (stmt.type === 'if_statement') {
      const parts = [stmt.childForFieldName('consequence'), ...stmt.namedChildren.filter((c) => c.type === 'elif_clause' || c.type === 'else_clause').map((c) => c.childForFieldName('consequence') ?? c.childForFieldName('body'))];
      const conds = [stmt.childForFieldName('condition'), ...stmt.namedChildren.filter((c) => c.type === 'elif_clause').map((c) => c.childForFieldName('condition'))];
      return conds.every((c) => !!c && readsOnly(c)) && parts.every((b) => !!b && b.namedChildren.filter((x) => x.type !== 'comment').every(allowed));
    }
    return false;
  };
  let store: string | null = null;
  for (const stmt of fn.body.namedChildren.filter((x) => x.type !== 'comment')) {
    const call = stmt.type === 'expression_statement' ? stmt.namedChild(0) : null;
    const f = call?.type === 'call' ? call.childForFieldName('function') : null;
    const args = call?.childForFieldName('arguments')?.namedChildren ?? [];
    const attr = f?.type === 'attribute' ? selfAttribute(f.childForFieldName('object')!) : null;
    if (attr && /^(append|put|put_nowait|enqueue|push)$/.test(f!.childForFieldName('attribute')!.text) && args.length === 1 && args[0]!.text === param) {
      if (store) return null;
      store = attr;
      continue;
    }
    if (!allowed(stmt)) return null;
  }
  return store && counts ? store : null;
}

/**
 * The module class the base receives as local_queue: each refused event handed to the agent's own method
 * once, when the base gives up on it (a second destination, or the agent's counting store), then kept in
 * the queue the base drains, unless that method stored it there itself or the legacy sent it only there
 * (keep=False: a relay the legacy never re-posted from must not be followed by the bus's copy). A drain
 * that fails puts events back in that queue, not through enqueue(): the method sees each event once.
 */
export function handOffClassText(eol: string): string {
  return [
    `class ${HANDOFF_CLASS}:`,
    `    """HardenedAgentBase's local_queue with the agent's own refusal code in front (migrate).`,
    ``,
    `    The base hands what the EventBus refused (retries spent, or its breaker open) to enqueue(), once;`,
    `    each event goes to the agent's own method there, as the legacy sent it. The queue is what the base`,
    `    drains onto the bus when it takes events again. keep=False: the queue does not keep the event, as`,
    `    the agent's method stored it there itself, or the legacy's hand-off was the last word on it (the`,
    `    legacy never re-posted it, so the bus must not get it later as well)."""`,
    ``,
    `    def __init__(self, hand_off, queue, keep=True):`,
    `        self.hand_off = hand_off`,
    `        self.queue = queue`,
    `        self.keep = keep`,
    ``,
    `    def enqueue(self, events):`,
    `        for event in events:`,
    `            self.hand_off(event)`,
    `        if self.keep:`,
    `            self.queue.enqueue(events)`,
    ``,
    `    def drain(self, publish, limit=100):`,
    `        return self.queue.drain(publish, limit)`,
    ``,
    `    def size(self):`,
    `        return self.queue.size()`,
  ].join(eol);
}
