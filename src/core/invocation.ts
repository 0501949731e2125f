// Where a command's output goes, where its input comes from and what it was called with: the
// process's own streams and argv when the tool runs as `migrate` (bin/migrate.js), or the ones
// main() was given when the CLI runs inside another process (the tests' in-process runs,
// src/cli.ts). Code that prints writes to io.stdout / io.stderr, never to process.stdout /
// process.stderr; code that reads (review's answers) reads io.stdin.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Invocation {
  /** The arguments after `migrate` (what process.argv.slice(2) is for the launcher). */
  argv: string[];
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The command's standard input (default: the process's). */
  stdin?: NodeJS.ReadStream;
  /** With --json: true while nothing is on stdout yet (the document a refusal or an interrupt still owes). */
  jsonPending?: () => boolean;
}

/**
 * The invocations running, latest last: what prints writes to the latest one's streams. One run
 * `alongside` others (tests validating several repositories at once in one process) also scopes
 * the async work it starts (AsyncLocalStorage), so each prints to its own streams. Only those pay
 * for the scoping: on Node 20 it hooks every promise of the process from its first use on, and a
 * lone CLI run needs none.
 */
const running: Invocation[] = [];
const scoped = new AsyncLocalStorage<Invocation>();
const current = (): Invocation | undefined => scoped.getStore() ?? running.at(-1);

export const io = {
  get stdout(): NodeJS.WriteStream {
    return current()?.stdout ?? process.stdout;
  },
  get stderr(): NodeJS.WriteStream {
    return current()?.stderr ?? process.stderr;
  },
  get stdin(): NodeJS.ReadStream {
    return current()?.stdin ?? process.stdin;
  },
  get argv(): string[] {
    return current()?.argv ?? process.argv.slice(2);
  },
  /** --json was asked for and no document is on stdout yet (see Invocation.jsonPending). */
  jsonPending(): boolean {
    return current()?.jsonPending?.() ?? false;
  },
};

/** Run `fn` with this invocation's streams and argv; the previous ones come back after. */
export async function withInvocation<T>(inv: Invocation, fn: () => Promise<T>, opts: { alongside?: boolean } = {}): Promise<T> {
  running.push(inv);
  try {
    return await (opts.alongside ? scoped.run(inv, fn) : fn());
  } finally {
    running.splice(running.lastIndexOf(inv), 1);
  }
}

const resets = new Set<() => void>();

/**
 * A module keeping something between commands (a cache, a reserved port) registers how to
 * forget it: an in-process run starts from what a new process would have (resetProcessState).
 */
export function forgetOnReset(fn: () => void): void {
  resets.add(fn);
}

/** Forget every registered cache: the next command sees what a freshly started tool would. */
export function resetProcessState(): void {
  for (const r of resets) r();
}

const closers = new Set<() => Promise<void>>();

/**
 * A module holding something the command may leave open (a child process kept for reuse)
 * registers how to end it: main() awaits every one when the command returns, so nothing
 * started for the command outlives it and the tool's process ends at once.
 */
export function closeAtCommandEnd(fn: () => Promise<void>): void {
  closers.add(fn);
}

/** End what the command left open (see closeAtCommandEnd); failures do not change the command's outcome. */
export async function closeCommandLeftovers(): Promise<void> {
  await Promise.all([...closers].map((c) => c().catch(() => undefined)));
}
