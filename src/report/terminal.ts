// Shared terminal helpers for printers: colour only on a TTY (picocolors honours NO_COLOR).
import pc from 'picocolors';

export function colours(stream: NodeJS.WriteStream = process.stdout) {
  return pc.createColors(Boolean(stream.isTTY) && !process.env.NO_COLOR);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns for a plain table. */
export function table(rows: string[][], widthOf = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, widthOf(c))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - widthOf(c)))).join('  ')).join('\n');
}
