// A coarse type for the value assigned to an attribute, enough to tell a reviewer
// that `start_time` is a datetime here but a float in the base.
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee } from '../lang/python/syntax.js';

export function valueType(expr: SyntaxNode | null): string | null {
  if (!expr) return null;
  switch (expr.type) {
    case 'true':
    case 'false':
      return 'bool';
    case 'integer':
      return 'int';
    case 'float':
      return 'float';
    case 'string':
    case 'concatenated_string':
      return 'str';
    case 'none':
      return 'None';
    case 'dictionary':
    case 'dictionary_comprehension':
      return 'dict';
    case 'list':
    case 'list_comprehension':
      return 'list';
    case 'set':
      return 'set';
    case 'parenthesized_expression':
      return valueType(expr.namedChild(0));
    case 'call': {
      const fn = callee(expr) ?? '';
      const last = fn.split('.').pop() ?? '';
      if (/^(time\.)?(time|monotonic|perf_counter)$/.test(fn)) return 'float';
      if (/(^|\.)datetime(\.datetime)?\.(now|utcnow|today|fromtimestamp)$/.test(fn) || /^(datetime\.)?(now|utcnow)$/.test(fn)) return 'datetime';
      if (/(^|\.)Event$/.test(fn)) return 'threading.Event';
      if (/(^|\.)(Lock|RLock)$/.test(fn)) return 'threading.Lock';
      if (/(^|\.)Thread$/.test(fn)) return 'threading.Thread';
      if (/(^|\.)Context(\.instance)?$/.test(fn)) return 'zmq.Context';
      if (last === 'socket' && expr.childForFieldName('arguments')) {
        const kind = /zmq\.(\w+)/.exec(expr.childForFieldName('arguments')!.text)?.[1];
        if (kind) return `zmq socket (${kind})`;
        if (/^socket\.socket$/.test(fn)) return 'socket.socket';
        return 'socket';
      }
      if (/(^|\.)getLogger$/.test(fn)) return 'logging.Logger';
      if (/^(int|float|str|bool|dict|list|set)$/.test(fn)) return fn;
      if (/(^|\.)(HTTPServer|ThreadingHTTPServer|TCPServer)$/.test(fn)) return 'http server';
      // A class constructed here names its own type; any other call's result is unknown.
      return /^[A-Z]/.test(last) ? `${fn}()` : null;
    }
    default:
      return null;
  }
}
