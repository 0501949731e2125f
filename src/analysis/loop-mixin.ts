// A loop mixin: a parent class that holds only the agent's main loop (`RetryLoopMixin.run()`, a
// `while self.running:` loop around a hook its subclasses define), no constructor, no server, no
// signal handler and no teardown of its own. Beside the target base (listed before it, as the
// rewrite puts mixins) its run() shadows the base's, as it was the agent's loop before, and
// nothing else of the base is shadowed: the base's __init__, stop() and signal handlers are the
// agent's. Its loop ends when the flag it reads is cleared, which the base's stop() does when it
// clears that attribute (see inherited-loop-mixin).
import type { PyClass } from '../lang/python/module-model.js';
import { baseName } from '../lang/python/module-model.js';
import { isDocstring, selfAttribute, statements, walkTypes } from '../lang/python/syntax.js';

/** Methods that, defined by a parent, would shadow the base's lifecycle (its constructor, stop, teardown, serving). */
const SHADOWS_BASE = new Set(['__init__', 'stop', 'start', 'shutdown', 'cleanup', 'close', 'serve_forever', 'run_forever', '__enter__', '__exit__', '__del__']);

const LOOP_MIXIN_NODES: ReadonlySet<string> = new Set(['class_definition', 'call', 'assignment', 'augmented_assignment']);

/**
 * The flag (`running` for `while self.running:`) the loop of the class's run() reads, when the class is a
 * loop mixin (see the file's head), else null. Its run() is that loop, after statements of no lifecycle
 * (a log line): nothing follows the loop, as nothing of the legacy ran after it once the agent stopped.
 */
export function loopMixinFlag(cls: PyClass): string | null {
  if (cls.bases.some((b) => baseName(b) !== 'object') || cls.keywords.length) return null;
  if ([...cls.methods.keys()].some((m) => SHADOWS_BASE.has(m))) return null;
  const run = cls.methods.get('run');
  if (!run || run.isAsync || run.params.length > 1) return null;
  const body = statements(run.body).filter((s) => !isDocstring(s));
  const loop = body[body.length - 1];
  if (loop?.type !== 'while_statement' || loop.childForFieldName('alternative')) return null;
  if (body.slice(0, -1).some((s) => s.type !== 'expression_statement')) return null;
  const cond = loop.childForFieldName('condition');
  const flag = cond ? selfAttribute(cond) : null;
  if (!flag) return null;
  // The flag is the agent's (or its base's): a mixin setting it would decide when the loop ends itself.
  // A class binding a socket or installing a signal handler owns more than the loop.
  let owned = false;
  walkTypes(cls.body, LOOP_MIXIN_NODES, (n) => {
    if (owned) return false;
    if (n.type === 'class_definition' && n.id !== cls.node.id) return false;
    if (n.type === 'call') {
      const fn = n.childForFieldName('function')?.text.replace(/\s+/g, '') ?? '';
      if (/(^|\.)(signal|bind|listen|HTTPServer|ThreadingHTTPServer|TCPServer|ThreadingTCPServer|UDPServer|start_server|atexit\.register)$/.test(fn)) owned = true;
      return;
    }
    const left = n.childForFieldName('left');
    if (left && (selfAttribute(left) === flag || (left.type === 'pattern_list' || left.type === 'tuple_pattern') && left.namedChildren.some((c) => selfAttribute(c) === flag))) owned = true;
  });
  return owned ? null : flag;
}
