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

export function oneLine(err: unknown): string {
  if (err instanceof MigrateError) return err.oneLine();
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, ' ');
  return String(err).replace(/\s*\n\s*/g, ' ');
}
