// Shared terminal helpers for printers. Colour follows --color (auto|always|never); in
// auto mode FORCE_COLOR wins (0 off, anything else on), then NO_COLOR, then "is it a terminal".
import pc from 'picocolors';
import { forgetOnReset, io } from '../core/invocation.js';

export type ColorMode = 'auto' | 'always' | 'never';
export const COLOR_MODES: readonly ColorMode[] = ['auto', 'always', 'never'];

let mode: ColorMode = 'auto';
forgetOnReset(() => (mode = 'auto'));

/** Set once by the CLI from --color, before a command prints anything. */
export function setColorMode(m: ColorMode): void {
  mode = m;
}

/** Should output to `stream` be coloured? */
export function useColor(stream: NodeJS.WriteStream = io.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (mode !== 'auto') return mode === 'always';
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false', 'no'].includes(force.toLowerCase());
  if (env.NO_COLOR) return false;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function colours(stream: NodeJS.WriteStream = io.stdout) {
  return pc.createColors(useColor(stream));
}

export function printJson(value: unknown): void {
  io.stdout.write(jsonText(value));
}

/** Every command's JSON: two-space indented, one trailing newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Left-aligned columns for a plain table. */
export function table(rows: string[][], widthOf = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, widthOf(c))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - widthOf(c)))).join('  ')).join('\n');
}
