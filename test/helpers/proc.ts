// What the tests read of a process from /proc, independently of the tool's own reading.
import { readFileSync } from 'node:fs';

/** Start time (clock ticks after boot) of a live, non-zombie process, or undefined: a pid with its start time names one process, never a later one given the same pid. */
export function startOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' ? undefined : Number(f[19]);
  } catch {
    return undefined;
  }
}
