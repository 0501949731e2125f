// Talking to an agent a test started, robust to a loaded machine (CI's 2 cores, other suites beside):
// a port nobody takes between its choice and the agent's bind, and a question asked again while the
// agent's listener is not bound yet. Neither hides a wrong behaviour: a port never bound, a refused
// connection past the bound, any other failure and every answer still reach the test's assertions.
import { allocatePorts } from '../../src/validate/ports.js';

/**
 * A loopback port for an agent under test to bind later. Not listen(0) and close: that port lies in
 * the kernel's ephemeral range, which the kernel hands again to any listen(0) or outgoing connection
 * (this suite's other forks, other suites, the agents themselves) before the agent binds it
 * (EADDRINUSE at its start). Drawn below that range and claimed machine-wide, as validation draws
 * the agents' ports (src/validate/ports.ts); the claim ends with this test process.
 */
export async function freePort(): Promise<number> {
  return (await allocatePorts(1))[0]!;
}

/** How long a refused connection is asked again: a listener's bind under heavy load, never a slow answer. */
export const BIND_DEADLINE_MS = 15_000;

/** The connection was refused (nothing listens on the port yet): the one failure worth asking again. */
export function refused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors ?? []).some((e) => e?.code === 'ECONNREFUSED');
}

/**
 * fetch(), asked again while the connection is refused, for at most `deadlineMs`. An agent that
 * logs its ready line right after calling listen() (which binds asynchronously) may not be bound
 * when the test reads that line. A refused connection sent nothing, so asking again is safe for a
 * POST too; any other failure (a reset, a timeout) and any HTTP answer are returned at once.
 */
export async function fetchWhenBound(url: string, init?: RequestInit, deadlineMs = BIND_DEADLINE_MS): Promise<Response> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if (!refused(err) || Date.now() >= end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Questions a readiness callback starts and cannot await (stopWhen's `ready` is synchronous): run in
 * the background, `done` once they have ended either way. A failure is kept as `error` for the
 * test to assert on with the agent's log, instead of escaping as vitest's "unhandled error".
 */
export function inBackground(ask: () => Promise<unknown>): { done: boolean; error?: unknown } {
  const state: { done: boolean; error?: unknown } = { done: false };
  ask().then(
    () => (state.done = true),
    (err: unknown) => {
      state.error = err;
      state.done = true;
    },
  );
  return state;
}
