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

/** A usage or configuration problem: the CLI exits with code 2. */
export class UsageError extends MigrateError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
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
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, ' ');
  return String(err).replace(/\s*\n\s*/g, ' ');
}
