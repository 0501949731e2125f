// Concern (seed 001): hand-made retry helpers (`_retry_*`, `*_with_retry`, `_backoff*`):
// the base retries publishing with exponential back-off behind its circuit breaker.
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { RETRY_METHOD, proposeTransport } from './hardened-shapes.js';
import { handedQueue } from './hardened-publisher.js';

export const hardenedRetry: PythonTransform = {
  name: 'hardened-retry',
  phase: 'propose',
  run(ctx) {
    proposeTransport(ctx, RETRY_METHOD, 'retry', 'manual retry with back-off (the base retries publishing with exponential back-off)', handedQueue(ctx));
  },
};
