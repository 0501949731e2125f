// An agent's helper method that makes a listening socket on the port it is handed and returns it
// (`def _make_listener(self, port): s = socket.socket(); s.bind(("", port)); s.listen(); return s`): what
// `self._health_sock = self._make_listener(self.health_port)` stores is then the socket bound on the health
// port, as surely as a bind written in `__init__`. Followed one level only, and only when its body is that
// socket's set-up and nothing else: a helper that also starts a thread or serves clients does more than
// the health listener, and the step that does it is named.
import type { SyntaxNode } from '../lang/python/parser.js';
import type { PyFunction } from '../lang/python/module-model.js';
import { callee, statements } from '../lang/python/syntax.js';
import { argumentFor, methodBoundParams, type BoundParam } from './port-handoff.js';
import { normPort, type ServerClasses } from './ports.js';

/** What a listener helper does to its socket besides binding it: set-up that serves nobody. */
const SETUP = /^(setsockopt|bind|listen|setblocking|settimeout|set_inheritable)$/;
const LOG = /^(self\.)?_?(logger|log|logging)\.(debug|info|warning|error)$/;

export type ListenerFactory = { param: BoundParam } | { step: SyntaxNode };

/**
 * The helper's one bound parameter when its body only makes the socket, binds the parameter and returns it;
 * else the first statement that does something more (`{ step }`), or null when it binds no parameter at all.
 */
export function listenerFactory(fn: PyFunction, servers: ServerClasses, owner: string): ListenerFactory | null {
  const bound = methodBoundParams(fn, servers, owner);
  if (bound.length !== 1 || fn.isAsync) return null;
  let local: string | null = null;
  let returned = false;
  for (const st of statements(fn.body)) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (e?.type === 'string') continue;
    if (st.type === 'return_statement' && local && !returned && st.namedChild(0)?.text === local) {
      returned = true;
      continue;
    }
    if (returned || !e) return { step: st };
    if (e.type === 'assignment' && !local && e.childForFieldName('left')?.type === 'identifier') {
      const right = e.childForFieldName('right');
      // socket.socket(...), socket.create_server((host, port)): a socket of the standard library, nothing built of the agent's.
      if (right?.type === 'call' && /^(socket\.)?(socket|create_server)$/.test(callee(right) ?? '')) {
        local = e.childForFieldName('left')!.text;
        continue;
      }
      return { step: st };
    }
    if (e.type !== 'call') return { step: st };
    const name = callee(e) ?? '';
    if (LOG.test(name)) continue;
    const m = /^(\w+)\.(\w+)$/.exec(name);
    if (!local || !m || m[1] !== local || !SETUP.test(m[2]!)) return { step: st };
  }
  return returned ? { param: bound[0]! } : null;
}

/** The port (`health_port`, `port+1`) a call of a listener helper hands the bind, or null. */
export function listenerPort(call: SyntaxNode, param: BoundParam): string | null {
  const arg = argumentFor(call, param);
  if (!arg) return null;
  const base = normPort(arg.text);
  if (!/^[A-Za-z_]\w*(\+\d+)?$|^\d+$/.test(base)) return null;
  return param.off ? `${base}+${param.off}` : base;
}
