// Concern (seed 001): the local queue. `_queue_*` (enqueue on publish failure) and `_drain_*`
// (re-send the backlog) are the base's local_queue fallback and drain.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { QUEUE_METHOD, proposeTransport } from './hardened-shapes.js';
import { handedQueue } from './hardened-publisher.js';

export const hardenedQueue: PythonTransform = {
  name: 'hardened-queue',
  phase: 'propose',
  run(ctx) {
    proposeTransport(ctx, QUEUE_METHOD, 'queue', 'local queue management (the base queues what it cannot publish and drains it first)', handedQueue(ctx));
  },
};
