// Ctrl-C, SIGTERM and SIGHUP during a command that starts agents or writes files: the
// first one aborts (the command stops its agents, puts unfinished files back and
// reports), a second one ends the tool at once (the journal and the watchdog then clean
// up). The exit code is the conventional 128 + signal: 130, 143, 129.
import { setMaxListeners } from 'node:events';
import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { releaseStartupSignals } from '../core/startup-signals.js';
import { io } from '../core/invocation.js';
import { CommandFailure } from '../core/errors.js';
import { errorJson } from '../report/error-json.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Interrupt {
  signal: AbortSignal;
  /** The exit code for the signal received (undefined while none was). */
  exitCode(): number | undefined;
  /** The signal received (undefined while none was). */
  received(): NodeJS.Signals | undefined;
  dispose(): void;
}

/** The line for a command interrupted during its scan, naming the signal: `interrupted (SIGINT) during the scan, ...`. */
export function interruptedLine(interrupt: Interrupt): string {
  return `interrupted${interrupt.received() ? ` (${interrupt.received()})` : ''} during the scan, before anything was written`;
}

// After a hang-up the terminal is gone: a failed write must not end the cleanup.
function ignoreBrokenOutput(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
}

type OutputStream = NodeJS.WritableStream & { writableLength?: number; destroyed?: boolean };
/** The commands using each output stream now: one listener a stream, however many commands. */
const guarded = new WeakMap<OutputStream, { users: number }>();

function guardOutput(stream: OutputStream): void {
  const g = guarded.get(stream);
  if (g) {
    g.users++;
    return;
  }
  guarded.set(stream, { users: 1 });
  stream.on('error', ignoreBrokenOutput);
}

/**
 * Take the broken-output listener off a stream when the last command using it is done (each
 * command added one: in-process runs, the tests', piled them up on process.stdout past the
 * MaxListenersExceededWarning). Not at once: the command's last lines (and the CLI's error line
 * after it) are written just before or after dispose(), and a write to a closed pipe reports
 * EPIPE a tick later, which with no listener left would end the tool with a stack trace. What the
 * stream still queues (an asynchronous stream) is waited for; then one turn of the event loop.
 */
function unguardOutput(stream: OutputStream): void {
  const g = guarded.get(stream);
  if (!g || --g.users > 0) return;
  const release = () => {
    if (g.users > 0 || guarded.get(stream) !== g) return; // another command took it meanwhile
    if (stream.writableLength && !stream.destroyed) {
      setTimeout(release, 50).unref();
      return;
    }
    setImmediate(() => {
      if (g.users > 0 || guarded.get(stream) !== g) return;
      guarded.delete(stream);
      stream.off('error', ignoreBrokenOutput);
    }).unref();
  };
  release();
}

/**
 * `afterSecond`: what still gets cleaned up when a second signal ends the tool at once (said in
 * its one line; before, the tool died without a word and the user could not tell whether
 * anything was left).
 */
export function listenForInterrupt(afterSecond?: string): Interrupt {
  const abort = new AbortController();
  // Every validation check listens on this one signal; a big batch has many at once.
  setMaxListeners(0, abort.signal);
  let received: NodeJS.Signals | undefined;
  // `on`, not `once`: the agents' own handler re-raises the signal when no other
  // listener is left, which killed the tool before it removed unfinished _v2 files.
  const onSignal = (signal: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      received = signal;
      return abort.abort();
    }
    dispose();
    const line = `${signal === received ? `${signal} again` : `${signal} after ${received}`}: exiting at once, before the cleanup ended${afterSecond ? `; ${afterSecond}` : ''}`;
    try {
      // Synchronous: the signal re-raised below ends the process before a queued write lands.
      writeSync(2, `migrate: ${line}\n`);
    } catch {
      // the terminal is gone
    }
    // --json: the command's document will never come; a script still gets the one error document
    // a first interrupt or a refusal gives (before, stdout was left empty).
    if (io.jsonPending()) {
      const code = 128 + (osConstants.signals[signal] ?? 2);
      const doc = errorJson(new CommandFailure(line, code, 'interrupted'), code);
      const out = io.stdout as OutputStream & { fd?: number };
      try {
        if (typeof out.fd === 'number') writeSync(out.fd, doc);
        else out.write(doc);
      } catch {
        // stdout is gone
      }
    }
    process.kill(process.pid, signal);
  };
  // The streams of this invocation (a test's, or the process's), as they are now.
  const streams = [...new Set([io.stdout, io.stderr])];
  let disposed = false;
  const dispose = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
    if (disposed) return;
    disposed = true;
    for (const stream of streams) unguardOutput(stream);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  // From here this command answers the signals: the launcher's (nothing-was-changed) handler goes.
  releaseStartupSignals();
  for (const stream of streams) guardOutput(stream);
  return {
    signal: abort.signal,
    exitCode: () => (received ? 128 + (osConstants.signals[received] ?? 2) : undefined),
    received: () => received,
    dispose,
  };
}
