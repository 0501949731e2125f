// A cycle that hands its telemetry to a function of another file of the repository
// (`from amoskys.agents.common import publisher` ... `if publisher.publish(telemetry): return True`,
// its queue fallback beside it): the publish is there, in a module the migration does not follow
// across files, so "publishes nothing the migration recognises" would send the reviewer looking for
// a publish the agent does not have. The review item names that function, its file and line, and
// the wire call that makes it the EventBus publish.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PyFunction } from '../../src/lang/python/module-model.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { walk } from '../../src/lang/python/syntax.js';

const BUS = /EVENT_?BUS/i;
const WIRE = /^(PublishTelemetry|Publish)$/;
const PLAIN = new Set(['integer', 'float', 'string', 'true', 'false', 'none', 'keyword_argument']);

export interface ImportedSender {
  /** How the cycle calls it (`publisher.publish`). */
  callee: string;
  /** Where the call is in the agent's file. */
  line: number;
  /** The function's file (from the root) and line. */
  file: string;
  fnLine: number;
  /** The wire call that sends to the bus (`stub.PublishTelemetry(...)`) and its line there. */
  wire: string;
  wireLine: number;
}

/** The imported function the cycle hands something of its own to and that publishes to the EventBus, or null. */
export function importedBusSender(ctx: PythonTransformContext, cycle: PyFunction): ImportedSender | null {
  let found: ImportedSender | null = null;
  walk(cycle.body, (n) => {
    if (found) return false;
    if (n.type === 'function_definition' || n.type === 'class_definition') return n.id === cycle.node.id ? undefined : false;
    if (n.type !== 'call') return;
    const f = n.childForFieldName('function');
    const target = importedFunction(ctx, f);
    if (!target) return;
    // Something of the cycle's own is handed over (the telemetry), not only the agent or constants.
    const args = n.childForFieldName('arguments')!.namedChildren;
    if (!args.some((a) => !(a.type === 'identifier' && a.text === 'self') && !PLAIN.has(a.type))) return;
    const wire = busWire(target.module, target.fn);
    if (wire) found = { callee: f!.text, line: n.startPosition.row + 1, file: target.file, fnLine: target.fn.line, wire: wire.text, wireLine: wire.line };
  });
  return found;
}

function importedFunction(ctx: PythonTransformContext, f: SyntaxNode | null): { module: import('../../src/lang/python/module-model.js').ModuleModel; file: string; fn: PyFunction } | null {
  if (f?.type === 'identifier') {
    const t = ctx.imported(f.text);
    const fn = t?.name ? t.module.functions.get(t.name) : undefined;
    return t && fn ? { module: t.module, file: t.file, fn } : null;
  }
  const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
  if (obj?.type !== 'identifier') return null;
  const t = ctx.imported(obj.text);
  const fn = t && t.name === null ? t.module.functions.get(f!.childForFieldName('attribute')!.text) : undefined;
  return t && fn ? { module: t.module, file: t.file, fn } : null;
}

/** The call in fn (or a function of its module it calls, one level down) that sends to the EventBus: a bus name and a publish call both there. */
function busWire(module: import('../../src/lang/python/module-model.js').ModuleModel, fn: PyFunction): { text: string; line: number } | null {
  let bus = false;
  let wire: { text: string; line: number } | null = null;
  const visit = (g: PyFunction, depth: number) => walk(g.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'identifier' && BUS.test(n.text)) bus = true;
    if (n.type !== 'call') return;
    const c = n.childForFieldName('function');
    if (c?.type === 'attribute' && WIRE.test(c.childForFieldName('attribute')!.text) && !wire) wire = { text: c.text, line: n.startPosition.row + 1 };
    const local = c?.type === 'identifier' ? module.functions.get(c.text) : undefined;
    if (depth === 0 && local && local !== fn) visit(local, 1);
  });
  visit(fn, 0);
  return bus ? wire : null;
}
