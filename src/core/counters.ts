// Deterministic work counters (MIGRATE_COUNT=1): how many nodes the engine materialises and how
// many it walks over, per caller, printed as JSON on stderr at exit. On a shared machine wall and
// CPU times are noisy; these counts are the same from run to run, so an optimisation is measured
// by the work it removes. Off (one boolean test per call) unless the variable is set.
import { isMainThread, threadId } from 'node:worker_threads';

export const counting = process.env.MIGRATE_COUNT === '1';

const totals = new Map<string, number>();

export function count(key: string, n = 1): void {
  totals.set(key, (totals.get(key) ?? 0) + n);
}

/** The first frame outside the counted helper's file: "function file:line" (the project caller). */
function callerOf(skipFile: string): string {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 8;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  for (const line of stack.split('\n').slice(2)) {
    if (line.includes(skipFile) || line.includes('counters.js')) continue;
    const m = /at (?:(\S+) )?\(?.*\/(?:dist\/)?((?:src|transforms)\/[^:]+):(\d+)/.exec(line);
    if (m) return `${m[1] ?? '(anonymous)'} ${m[2]}:${m[3]}`;
  }
  return '(unknown)';
}

/** count(key) and count(`key <- caller`), the caller being the first frame outside skipFile. */
export function countByCaller(key: string, skipFile: string, n = 1): void {
  count(key, n);
  count(`${key} <- ${callerOf(skipFile)}`, n);
}

if (counting) {
  process.on('exit', () => {
    const rows = [...totals].sort((a, b) => b[1] - a[1]);
    process.stderr.write(`MIGRATE_COUNT ${isMainThread ? 'main' : `thread ${threadId}`} ${JSON.stringify(Object.fromEntries(rows))}\n`);
  });
}
