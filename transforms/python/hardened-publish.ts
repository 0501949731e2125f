// Concern (seed 001): publishing. `_get_grpc_channel` and `_publish_*` (gRPC channel set-up,
// envelope, manual retry and queue fallback) are what HardenedAgentBase does with its
// eventbus_publisher, circuit breaker and retries. They go with the state only they use,
// unless business code still calls them: then they stay and are reported.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { selfAttribute } from '../../src/lang/python/syntax.js';
import { PUBLISH_METHOD, isTransport, proposeTransport } from './hardened-shapes.js';
import { analyzePublisher, handedQueue } from './hardened-publisher.js';

export const hardenedPublish: PythonTransform = {
  name: 'hardened-publish',
  phase: 'propose',
  run(ctx) {
    // Helpers only the transport uses (named like nothing above) move into EventBusPublisher with it.
    const plan = analyzePublisher(ctx);
    const helpers = plan.ok ? plan.value.moved.map((m) => m.name).filter((m) => !isTransport(ctx, m)) : [];
    proposeTransport(ctx, PUBLISH_METHOD, 'publish', 'publishing with queue fallback (the base publishes through eventbus_publisher, with circuit breaker and retries)', handedQueue(ctx), helpers);
    // `atexit.register(self._close_conn)` in __init__: registered on the publisher once it is built (hardened-publisher).
    for (const h of plan.ok ? plan.value.exitHooks : []) {
      const helper = selfAttribute(h.namedChild(0)!.childForFieldName('arguments')!.namedChild(0)!)!;
      ctx.plan.proposeStatement({ node: h, symbol: `atexit.register(self.${helper})`, finding: 'publish', reason: `${helper}() moves into EventBusPublisher, where the exit hook is registered`, requires: [helper] });
    }
  },
};
