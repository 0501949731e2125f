// A child's exit as the tests should wait for it: Node emits 'exit' before the last chunks
// of its stdout/stderr are read, so a test reading the output right after 'exit' can miss
// the lines the agent logged last (seen under load: a cleanup's log line missing while
// the file it wrote was there).
import type { ChildProcess } from 'node:child_process';

/**
 * The exit code (or signal name, with `withSignal`) once the child has exited and its
 * piped streams have ended; a grandchild still holding a pipe open is waited for at
 * most `drainMs` after the exit.
 */
export function exitedWithOutput(child: ChildProcess, drainMs = 2000): Promise<number | null> {
  const streams = [child.stdout, child.stderr].filter((s) => s && !s.readableEnded);
  const ended = Promise.all(streams.map((s) => new Promise<void>((r) => { s!.once('end', r); s!.once('close', r); s!.once('error', () => r()); })));
  const exit = new Promise<number | null>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r(child.exitCode);
    else child.once('exit', (code) => r(code));
  });
  return exit.then((code) => Promise.race([ended, new Promise((r) => setTimeout(r, drainMs).unref())]).then(() => code));
}
