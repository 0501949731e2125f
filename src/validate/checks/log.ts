// Log: ERROR and Traceback lines of the _v2 run that the legacy agent's own
// run did not have. Lines are compared after removing what differs between
// runs (timestamps, numbers, addresses, the _v2 file name).
import type { CheckResult } from '../../core/types.js';
import { clip, lastErrorLine, result } from './common.js';

const ERROR_LINE = /\b(ERROR|CRITICAL|FATAL)\b|^Traceback \(most recent call last\)/;

/** A fresh line as shown in the detail: a traceback header is shown with its exception line. */
function shown(line: string, output: string): string {
  if (!/^Traceback \(most recent call last\)/.test(line)) return line.trim();
  const after = output.slice(output.indexOf(line) + line.length);
  const next = after.split(/\n(?=Traceback \(most recent call last\))/)[0]!;
  const exc = lastErrorLine(`Traceback (most recent call last):${next}`);
  return exc ? `Traceback … ${exc}` : line.trim();
}

export function errorLines(output: string): string[] {
  return output.split('\n').map((l) => l.trimEnd()).filter((l) => ERROR_LINE.test(l));
}

export function normalizeLine(line: string): string {
  return line
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d([.,]\d+)?(Z|[+-]\d\d:?\d\d)?/g, '<time>')
    .replace(/0x[0-9a-f]+/gi, '<addr>')
    .replace(/_v2\b/g, '')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface LogBaseline {
  /** The legacy run's output; undefined when it could not run. */
  output?: string;
  /** Why there is no baseline (or why the legacy run ended early), for the detail. */
  note?: string;
}

/** The lines a reviewer sees next to the verdict (the report shows them). */
function compared(legacy: string[], v2: string[], fresh: string[]): NonNullable<CheckResult['lines']> {
  const some = (ls: string[]) => ls.slice(0, 20).map((l) => clip(l.trim(), 200));
  return { legacy: some(legacy), v2: some(v2), fresh: some(fresh) };
}

/** The _v2's ERROR/Traceback lines the legacy run did not have. */
export function freshLines(v2Output: string, baseline: LogBaseline): string[] {
  const known = new Set(errorLines(baseline.output ?? '').map(normalizeLine));
  return errorLines(v2Output).filter((l) => !known.has(normalizeLine(l)));
}

export function checkLog(v2Output: string, baseline: LogBaseline, ms = 0): CheckResult {
  const legacyLines = errorLines(baseline.output ?? '');
  const fresh = freshLines(v2Output, baseline);
  const lines = compared(legacyLines, errorLines(v2Output), fresh);
  const against = baseline.output === undefined ? `compared against none (${baseline.note ?? 'no legacy run'})` : 'compared with the legacy run';
  if (fresh.length) {
    return { ...result('log', false, ms, `${fresh.length} new ERROR/Traceback line(s), ${against}; first: ${clip(shown(fresh[0]!, v2Output), 160)}`), lines };
  }
  const had = errorLines(v2Output).length;
  return { ...result('log', true, ms, `no new ERROR or Traceback lines${had ? ` (${had} also in the legacy run)` : ''}, ${against}`), lines };
}
