// Concern (seed 001): the log lines of the agent's own queue methods (`_drain_queue()` logging
// "drained %d queued telemetry messages", `_queue_telemetry()` logging "queued, %d waiting"), which go
// with those methods once the base queues and drains. The base logs its own drains in its own words and
// counts what it queues (events_queued) without a line per event, so a log search or alert matching the
// legacy's words would wait in vain: said by line in the warnings, as for a removed signal handler's line,
// not left for a reader of the diff to notice.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { walk } from '../../src/lang/python/syntax.js';
import { isLogCall } from '../../src/analysis/infra.js';
import { isDrain } from './hardened-shapes.js';

export const hardenedQueueLogLines: PythonTransform = {
  name: 'hardened-queue-log-lines',
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls.name;
    const base = ctx.profile.base_class;
    for (const [name, p] of ctx.resolved!.members) {
      if (p.finding !== 'queue' || p.kind !== 'method') continue;
      const fn = ctx.agent.methods.get(name);
      if (!fn) continue;
      const lines: SyntaxNode[] = [];
      walk(fn.body, (n) => {
        if (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
        if (n.type === 'expression_statement' && isLogCall(n.namedChild(0))) {
          lines.push(n);
          return false;
        }
      });
      if (!lines.length) continue;
      const said = lines.map((l) => `${l.text.split('\n')[0]!.trim()} (line ${l.startPosition.row + 1})`).join(', ');
      const many = lines.length > 1;
      ctx.warnings.push(
        isDrain(ctx, name)
          ? `${cls}: ${name}() went with the agent's queue code, and its log line${many ? 's' : ''} ${said} ${many ? 'are' : 'is'} no longer written: ` +
              `${base} logs the drains of its local_queue itself, in its own words: change a log search or alert that matches the legacy's`
          : `${cls}: ${name}() went with the agent's queue code, and its log line${many ? 's' : ''} ${said} ${many ? 'are' : 'is'} no longer written: ` +
              `${base} queues what it could not publish without a line per event (it logs each failed publish attempt and counts events_queued on /health): change a log search or alert that matches it`,
      );
    }
  },
};
