// Deterministic work counters (MIGRATE_COUNT=1): how many nodes the engine materialises and how
// many it walks over, per caller, printed as JSON on stderr at exit. On a shared machine wall and
// CPU times are noisy; these counts are the same from run to run, so an optimisation is measured
// by the work it removes. Off (one boolean test per call) unless the variable is set.
import { isMainThread, threadId } from 'node:worker_threads';

export const counting = process.env.MIGRATE_COUNT === '1';

const totals = new Map<string, number>();
/** The step of the work running now (see step): counters moved during it are also counted under it. */
let current: string | null = null;

export function count(key: string, n = 1): void {
  totals.set(key, (totals.get(key) ?? 0) + n);
  if (current && !key.includes(' <- ')) totals.set(`${key} @ ${current}`, (totals.get(`${key} @ ${current}`) ?? 0) + n);
}

/**
 * fn as a named step of the work (a pass of the Python rewrite, a transform, an analysis): when
 * counting, its calls ("calls <step>"), its wall time on this thread in ms ("ms <step>", nested
 * steps included; the one figure here that is not deterministic, and inflated by the per-caller
 * counting's stack traces) and the counters moved while it was the innermost step running
 * ("<key> @ <step>": nested steps' own are theirs, so these add up to the totals). Nested steps are named by their path ("py rewrite > remove-health"), so
 * the time of a transform is seen per pass (the rewrite, its idempotency pass, rootCauses' second
 * rewrite). Off, it is one boolean test.
 */
export function step<T>(name: string, fn: () => T): T {
  if (!counting) return fn();
  const outer = current;
  const at = (current = outer ? `${outer} > ${name}` : name);
  const started = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - started;
    current = outer;
    totals.set(`ms ${at}`, (totals.get(`ms ${at}`) ?? 0) + ms);
    totals.set(`calls ${at}`, (totals.get(`calls ${at}`) ?? 0) + 1);
  }
}

/** A counter's total so far on this thread (0 when not counting): what a test reads of the work done. */
export function counted(key: string): number {
  return totals.get(key) ?? 0;
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
    const rows = [...totals].map(([k, v]): [string, number] => [k, k.startsWith('ms ') ? Math.round(v) : v]).sort((a, b) => b[1] - a[1]);
    process.stderr.write(`MIGRATE_COUNT ${isMainThread ? 'main' : `thread ${threadId}`} ${JSON.stringify(Object.fromEntries(rows))}\n`);
  });
}
