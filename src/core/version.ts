// The tool version recorded in every migration-log record.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string;
    } catch {
      // try the next layout (src/ under vitest, dist/src/ when built)
    }
  }
  return '0.0.0';
}

export const TOOL_VERSION = readVersion();
