// Errors that reach the user as one line: `file:line: message`.

export class MigrateError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'MigrateError';
  }

  /** The one-line form users see, naming the file and line when known. */
  oneLine(): string {
    const where = this.file ? `${this.file}${this.line ? `:${this.line}` : ''}: ` : '';
    return `${where}${this.message}`.replace(/\s*\n\s*/g, ' ');
  }
}

/**
 * Which kind of refusal a UsageError is, for `--json`'s `error.code` (a script tells a dirty tree
 * from a held lock without reading the sentence). Only ever added to, never renamed.
 */
export type UsageCode = 'usage' | 'bad-flag' | 'dirty-tree' | 'index-lock' | 'run-lock' | 'signing' | 'unknown-agent' | 'not-git' | 'git-missing';

/** A usage or configuration problem: the CLI exits with code 2. */
export class UsageError extends MigrateError {
  constructor(
    message: string,
    readonly code: UsageCode = 'usage',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A command that ends in one line on stderr with an exit code of its own (1: the revert failed;
 * 130: interrupted) and nothing on stdout: thrown, so the CLI prints that line and, with
 * --json, the error document a script parses instead of an empty stdout.
 */
export class CommandFailure extends MigrateError {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code: 'failed' | 'interrupted',
    file?: string,
    line?: number,
  ) {
    super(message, file, line);
    this.name = 'CommandFailure';
  }
}

/**
 * The user interrupted (Ctrl-C, SIGTERM, SIGHUP) before anything was written: the command
 * stops where it is and says so; its exit code is 128 + the signal.
 */
export class InterruptedError extends MigrateError {
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** Throw InterruptedError once `signal` is aborted (a scan stops at its next file, not at its end). */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError('interrupted during the scan, before anything was written');
}

export function oneLine(err: unknown): string {
  if (err instanceof MigrateError) return err.oneLine();
  if (err instanceof Error) return shortenPaths(err, err.message).replace(/\s*\n\s*/g, ' ');
  return String(err).replace(/\s*\n\s*/g, ' ');
}

/** A path longer than `max` characters (300: a name near NAME_MAX in a folder or two stays whole), its middle cut (`/tmp/aaa…zzz/agent_v2.py`): both ends say where it is. */
export function middlePath(p: string, max = 300): string {
  if (p.length <= max) return p;
  const half = Math.floor((max - 1) / 2);
  return `${p.slice(0, half)}…${p.slice(p.length - half)}`;
}

/** A file system error's own paths (`open '<path>'`, `-> '<dest>'`) in its message, each cut in the middle when long (a 4 KB path is one line of its own). */
function shortenPaths(err: Error, message: string): string {
  const e = err as NodeJS.ErrnoException & { dest?: unknown };
  let out = message;
  for (const p of [e.path, e.dest]) if (typeof p === 'string' && p.length > 300) out = out.split(p).join(middlePath(p));
  return out;
}

/**
 * The one line of an error about writing a file the caller's line already names: a file system error on one of
 * `files` (the output and its temporary name) loses its own `, open '<path>'` or `, rename '<tmp>' -> '<dest>'`
 * (the path once, not twice).
 */
export function oneLineAbout(err: unknown, files: readonly string[]): string {
  const e = err as NodeJS.ErrnoException & { dest?: unknown };
  if (!(err instanceof Error) || err instanceof MigrateError || typeof e.path !== 'string' || typeof e.syscall !== 'string') return oneLine(err);
  if (!files.includes(e.path) || (typeof e.dest === 'string' && !files.includes(e.dest))) return oneLine(err);
  const clause = `, ${e.syscall} '${e.path}'${typeof e.dest === 'string' ? ` -> '${e.dest}'` : ''}`;
  return err.message.includes(clause) ? oneLine(Object.assign(new Error(err.message.split(clause).join('')), { code: e.code })) : oneLine(err);
}
