// Ctrl-C, SIGTERM or SIGHUP before a command has a handler of its own: while the CLI loads
// its modules (a second or more: tree-sitter, ts-morph) and while a command that writes
// nothing runs. Before, Node's default action ended the tool silently (no line, no exit
// code a script could tell from a crash). Now the tool says it was interrupted, and that
// nothing was changed, and exits 128 + the signal (130, 143, 129).
//
// The launcher (bin/migrate.js) installs this first, before it loads the CLI. A command that
// starts agents or writes files takes over with its own handler (commands/interrupt.ts,
// promote's) and calls releaseStartupSignals(); this handler also stands aside whenever
// another listener is there, so it never ends a command that is cleaning up.
import { writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { errorJson, jsonRequested } from '../report/error-json.js';
import { InterruptedError } from './errors.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What the tool is doing, for the line a signal prints: undefined while the CLI loads. */
let doing: string | undefined;
/** The command may write (init, report): the line then claims nothing about the files. */
let writes = false;
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  // A command's own handler is there: it cleans up and decides the exit.
  if (process.listenerCount(signal) > 1) return;
  const what = !doing ? 'while it started, before it read or changed anything' : writes ? `during ${doing}` : `during ${doing}, which changes no file`;
  const code = 128 + (osConstants.signals[signal] ?? 2);
  const line = `interrupted (${signal}) ${what}`;
  try {
    process.stderr.write(`migrate: ${line}\n`);
    // --json: the document a script parses, as any refusal gives (synchronous: the exit follows at once).
    if (jsonRequested(process.argv.slice(2))) writeSync(1, errorJson(new InterruptedError(line), code));
  } catch {
    // the terminal is gone (SIGHUP): the exit code still says it
  }
  process.exit(code);
}

/** Install the handler (once); the launcher calls this before it loads anything else. */
export function guardStartupSignals(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
}

/**
 * The CLI is loaded and runs `command`: a signal ends it with a line naming it. A command that
 * may write without a handler of its own (`init` copying the base, `report` writing its file
 * atomically) passes `mayWrite`: the line then does not say that nothing changed.
 */
export function startupCommand(command: string, mayWrite = false): void {
  doing = `\`migrate ${command}\``;
  writes = mayWrite;
}

/** A command that writes or starts agents has its own handler now: this one goes. */
export function releaseStartupSignals(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.off(s, onSignal);
}
