// Ctrl-C, SIGTERM and SIGHUP during a command that starts agents or writes files: the
// first one aborts (the command stops its agents, puts unfinished files back and
// reports), a second one ends the tool at once (the journal and the watchdog then clean
// up). The exit code is the conventional 128 + signal: 130, 143, 129.
import { setMaxListeners } from 'node:events';
import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { releaseStartupSignals } from '../core/startup-signals.js';
import { io } from '../core/invocation.js';

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
    try {
      // Synchronous: the signal re-raised below ends the process before a queued write lands.
      writeSync(2, `migrate: ${signal === received ? `${signal} again` : `${signal} after ${received}`}: exiting at once, before the cleanup ended${afterSecond ? `; ${afterSecond}` : ''}\n`);
    } catch {
      // the terminal is gone
    }
    process.kill(process.pid, signal);
  };
  // After a hang-up the terminal is gone: a failed write must not end the cleanup.
  const ignoreBrokenOutput = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
  };
  const dispose = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  // From here this command answers the signals: the launcher's (nothing-was-changed) handler goes.
  releaseStartupSignals();
  io.stdout.on('error', ignoreBrokenOutput);
  io.stderr.on('error', ignoreBrokenOutput);
  return {
    signal: abort.signal,
    exitCode: () => (received ? 128 + (osConstants.signals[received] ?? 2) : undefined),
    received: () => received,
    dispose,
  };
}
