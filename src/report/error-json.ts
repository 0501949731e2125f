// `--json`'s answer when a command refuses or fails before it has a result to print (schemas/error.schema.json):
// a script reads `error.code` and `error.exit_code` instead of meeting an empty stdout. The human line stays on stderr.
// Imports nothing but the errors: the startup signal handler prints it before the CLI is loaded.
import { CommandFailure, MigrateError, UsageError, oneLine } from '../core/errors.js';

export interface ErrorJson {
  error: {
    /** The kind of refusal or failure: a UsageCode for exit 2, `failed` for 1, `interrupted` for 128 + signal. */
    code: string;
    /** The one line stderr says (without `migrate: `). */
    message: string;
    file: string | null;
    line: number | null;
    exit_code: number;
  };
}

/** The error document of a command that ended with `exitCode` because of `err` (undefined: it only returned the code). */
export function errorJson(err: unknown, exitCode: number): string {
  return `${JSON.stringify(errorDocument(err, exitCode), null, 2)}\n`;
}

export function errorDocument(err: unknown, exitCode: number): ErrorJson {
  const code =
    err instanceof UsageError || err instanceof CommandFailure ? err.code
    : isCommanderError(err) ? 'bad-flag'
    : exitCode === 2 ? 'usage'
    : exitCode > 128 ? 'interrupted'
    : 'failed';
  // Commander's message carries its own "error: " prefix, which its stderr line drops too.
  const message = err === undefined ? `exit code ${exitCode}; see standard error` : oneLine(err).replace(/^error: /, '');
  const where = err instanceof MigrateError && err.file ? { file: err.file, line: err.line } : leadingLocation(message);
  return { error: { code, message, file: where?.file ?? null, line: where?.line ?? null, exit_code: exitCode } };
}

/**
 * The `FILE:LINE: ` a message starts with (a configuration error names its place that way:
 * `.migrate/config.yaml:4: promote.mode must be ...`), for a script that wants them apart. A file
 * has an extension and no colon or space, so a URL (`http://host:8080: ...`) is never taken for one.
 */
function leadingLocation(message: string): { file: string; line: number } | undefined {
  const m = /^([^\s:]+\.[A-Za-z0-9]+):(\d+): /.exec(message);
  return m ? { file: m[1]!, line: Number(m[2]) } : undefined;
}

/** Commander's own usage errors (unknown option, missing argument), told by their code without loading commander. */
function isCommanderError(err: unknown): boolean {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('commander.');
}

/** `--json` among the arguments (not after `--`): stdout then carries one JSON document, a refusal's too. */
export function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
